/* lib/coord.c: coordinator decisions, re-derived from ZooKeeper on every pass so any leader can resume. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zookeeper/zookeeper.h>

#include "amqp.h"
#include "clock.h"
#include "cluster.h"
#include "coord.h"
#include "jobs.h"
#include "log.h"
#include "mgmt.h"
#include "names.h"
#include "status.h"

#define MAX_PEERS 1024
#define MAX_JOBS 256
#define MAX_TASKS 256

struct onyx_coord {
	struct onyx_zk *z;
	struct onyx_coord_opts o;
	char me[512]; /* our election node */
	unsigned rr;  /* round-robin position over jobs */
	/* the broker, for fencing and cleanup; connected when needed */
	struct onyx_amqp *a;
	struct onyx_mgmt *m;
	long long next_connect; /* monotonic ms: no attempt before */
	char broker_err[512];   /* the last failure, logged once */
	long long unfenced_at;  /* when a failed fence was last logged */
};

struct peer {
	char *id;
	json_t *assign; /* the record, or NULL when idle */
	int version;
	bool dead; /* gone from peers/, its offer not yet fenced */
};

struct task {
	const char *name;
	int phase;
	int cap; /* most peers it may have; 0: no cap */
	int npeers;
	bool done;
	json_t *rec; /* the tasks/<t> record as last written */
};

struct job {
	char *id;
	json_t *plan;
	json_t *status;
	const char *st; /* status text */
	int status_version;
	long long at;
	struct task tasks[MAX_TASKS];
	int ntasks;
};

struct state {
	struct peer peers[MAX_PEERS];
	int npeers;
	struct job jobs[MAX_JOBS];
	int njobs;
};

struct onyx_coord *
onyx_coord_new(struct onyx_zk *z, const struct onyx_coord_opts *o)
{
	struct onyx_coord *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->z = z;
	c->o = *o;
	return c;
}

static void
broker_drop(struct onyx_coord *c)
{
	onyx_mgmt_close(c->m);
	onyx_amqp_close(c->a);
	c->m = NULL;
	c->a = NULL;
}

void
onyx_coord_free(struct onyx_coord *c)
{
	if (c == NULL)
		return;
	broker_drop(c);
	free(c);
}

/* A management client on the broker, connecting (at most every 2 s). */
static struct onyx_mgmt *
broker(struct onyx_coord *c)
{
	char err[512];
	int st;

	if (c->m != NULL) {
		/* heartbeats and the broker's closing of an idle connection */
		st = onyx_amqp_wait(c->a, 0, -1);
		if (st >= 0)
			return c->m;
		onyx_log(ONYX_LOG_WARN, "broker connection lost: %s",
		    onyx_amqp_error(c->a));
		broker_drop(c);
	}
	if (c->o.broker == NULL || onyx_mono_ms() < c->next_connect)
		return NULL;
	c->next_connect = onyx_mono_ms() + 2000;
	if ((st = onyx_amqp_connect(
	         c->o.broker, 2000, &c->a, err, sizeof(err))) != ONYX_OK) {
		c->a = NULL;
		if (strcmp(err, c->broker_err) != 0)
			onyx_log(ONYX_LOG_WARN,
			    "broker unreachable (fencing and cleanup wait): %s",
			    err);
		snprintf(c->broker_err, sizeof(c->broker_err), "%s", err);
		return NULL;
	}
	if ((st = onyx_mgmt_open(c->a, &c->m)) != ONYX_OK) {
		onyx_log(ONYX_LOG_WARN, "broker management: %s",
		    onyx_amqp_error(c->a));
		broker_drop(c);
		return NULL;
	}
	if (c->broker_err[0] != '\0')
		onyx_log(ONYX_LOG_INFO, "broker reachable again");
	c->broker_err[0] = '\0';
	return c->m;
}

/*
 * Fence dead peer id: close its broker connections and see them gone.
 * Returns ONYX_OK when none is left; an error when it could not be done.
 */
static int
fence(struct onyx_coord *c, const char *id, char *err, size_t errlen)
{
	struct onyx_mgmt *m;
	int st, closed;

	if (c->o.broker == NULL)
		return ONYX_OK;
	if ((m = broker(c)) == NULL) {
		snprintf(err, errlen, "the broker is unreachable");
		return ONYX_EUNAVAIL;
	}
	st = onyx_mgmt_close_client(m, id, &closed, err, errlen);
	if (st == ONYX_OK)
		onyx_log(ONYX_LOG_INFO,
		    "fence peer=%s: %d broker connection%s closed", id, closed,
		    closed == 1 ? "" : "s");
	else if (st != ONYX_ETIMEDOUT)
		broker_drop(c);
	return st;
}

int
onyx_coord_elect(
    struct onyx_coord *c, volatile sig_atomic_t *stop, char *err, size_t errlen)
{
	char dir[512], p[600], **names;
	const char *mine;
	char waiting[600] = "";
	json_t *rec;
	int st, n, i;

	onyx_cluster_path(dir, sizeof(dir), c->o.cluster, "coord/election");
	snprintf(p, sizeof(p), "%s/n-", dir);
	rec = json_pack("{s:s,s:i,s:I}", "id", c->o.id, "pid", (int)getpid(),
	    "at", (json_int_t)onyx_cluster_now());
	st = onyx_zk_create(c->z, p, NULL, 0, ZOO_EPHEMERAL_SEQUENTIAL, c->me,
	    sizeof(c->me), err, errlen);
	if (st != ONYX_OK) {
		json_decref(rec);
		return st;
	}
	mine = strrchr(c->me, '/') + 1;
	for (;;) {
		const char *pred = NULL;
		struct pollfd pfd;

		if (*stop) {
			json_decref(rec);
			return ONYX_EINTR;
		}
		onyx_zk_drain(c->z);
		if ((st = onyx_zk_children(
		         c->z, dir, &names, &n, err, errlen)) != ONYX_OK) {
			json_decref(rec);
			return st;
		}
		for (i = 0; i < n; i++) {
			if (strcmp(names[i], mine) >= 0)
				break;
			pred = names[i];
		}
		if (pred == NULL) {
			onyx_zk_free_names(names);
			break;
		}
		snprintf(p, sizeof(p), "%s/%s", dir, pred);
		if (strcmp(p, waiting) != 0) {
			onyx_log(
			    ONYX_LOG_INFO, "standby: waiting for %s to go", p);
			snprintf(waiting, sizeof(waiting), "%s", p);
		}
		st = onyx_zk_wexists(c->z, p, true, err, errlen);
		onyx_zk_free_names(names);
		if (st == ONYX_ENOENT)
			continue;
		if (st != ONYX_OK) {
			json_decref(rec);
			return st;
		}
		pfd.fd = onyx_zk_wake_fd(c->z);
		pfd.events = POLLIN;
		poll(&pfd, 1, 1000);
		if (onyx_zk_expired(c->z)) {
			json_decref(rec);
			snprintf(err, errlen, "the ZooKeeper session expired");
			return ONYX_EEXPIRED;
		}
	}
	onyx_cluster_path(p, sizeof(p), c->o.cluster, "coord/leader");
	st = onyx_cluster_create(c->z, p, rec, ZOO_EPHEMERAL, err, errlen);
	if (st == ONYX_EEXIST) {
		/* a leader whose session is ending; we hold the lowest node */
		onyx_zk_delete(c->z, p, -1, err, errlen);
		st = onyx_cluster_create(
		    c->z, p, rec, ZOO_EPHEMERAL, err, errlen);
	}
	json_decref(rec);
	if (st == ONYX_OK)
		onyx_log(ONYX_LOG_INFO, "leader: %s (%s)", c->o.id, c->me);
	return st;
}

static void
state_free(struct state *s)
{
	int i, k;

	for (i = 0; i < s->npeers; i++) {
		free(s->peers[i].id);
		json_decref(s->peers[i].assign);
	}
	for (i = 0; i < s->njobs; i++) {
		free(s->jobs[i].id);
		json_decref(s->jobs[i].plan);
		json_decref(s->jobs[i].status);
		for (k = 0; k < s->jobs[i].ntasks; k++)
			json_decref(s->jobs[i].tasks[k].rec);
	}
	memset(s, 0, sizeof(*s));
}

static const char *
sget(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v ? v : "";
}

static struct job *
find_job(struct state *s, const char *id)
{
	int i;

	for (i = 0; i < s->njobs; i++)
		if (strcmp(s->jobs[i].id, id) == 0)
			return &s->jobs[i];
	return NULL;
}

static struct task *
find_task(struct job *j, const char *name)
{
	int i;

	for (i = 0; j != NULL && i < j->ntasks; i++)
		if (strcmp(j->tasks[i].name, name) == 0)
			return &j->tasks[i];
	return NULL;
}

static int
read_job(struct onyx_coord *c, struct job *j, char *err, size_t errlen)
{
	char p[600], **names;
	json_t *tasks, *t;
	size_t i;
	int st, n, k;

	onyx_cluster_path(p, sizeof(p), c->o.cluster, "jobs/%s", j->id);
	if ((st = onyx_cluster_get(
	         c->z, p, false, &j->plan, NULL, err, errlen)) != ONYX_OK)
		return st;
	onyx_cluster_path(p, sizeof(p), c->o.cluster, "jobs/%s/status", j->id);
	if ((st = onyx_cluster_get(c->z, p, true, &j->status,
	         &j->status_version, err, errlen)) != ONYX_OK)
		return st;
	j->st = sget(j->status, "status");
	j->at = json_integer_value(json_object_get(j->status, "at"));
	tasks = json_object_get(j->plan, "tasks");
	json_array_foreach(tasks, i, t)
	{
		struct task *tk;
		json_t *cat = json_object_get(t, "catalog");
		const char *cons = sget(cat, "onyx/consumption");
		json_t *mp = json_object_get(cat, "onyx/max-peers");

		if (j->ntasks == MAX_TASKS)
			break;
		tk = &j->tasks[j->ntasks++];
		tk->name = sget(t, "name");
		tk->phase =
		    (int)json_integer_value(json_object_get(t, "phase"));
		tk->cap = strcmp(cons, "sequential") == 0 ? 1
		    : json_is_integer(mp) ? (int)json_integer_value(mp)
		                          : 0;
		onyx_cluster_path(p, sizeof(p), c->o.cluster,
		    "jobs/%s/tasks/%s", j->id, tk->name);
		onyx_cluster_get(c->z, p, false, &tk->rec, NULL, err, errlen);
	}
	onyx_cluster_path(p, sizeof(p), c->o.cluster, "jobs/%s/done", j->id);
	st = onyx_zk_wchildren(c->z, p, true, &names, &n, err, errlen);
	if (st == ONYX_ENOENT)
		return ONYX_OK;
	if (st != ONYX_OK)
		return st;
	for (k = 0; k < n; k++) {
		struct task *tk = find_task(j, names[k]);
		if (tk != NULL)
			tk->done = true;
	}
	onyx_zk_free_names(names);
	return ONYX_OK;
}

static int
read_state(struct onyx_coord *c, struct state *s, char *err, size_t errlen)
{
	char p[600], **names;
	int st, n, i;

	/* peers alive */
	onyx_cluster_path(p, sizeof(p), c->o.cluster, "peers");
	if ((st = onyx_zk_wchildren(c->z, p, true, &names, &n, err, errlen)) !=
	    ONYX_OK)
		return st;
	for (i = 0; i < n && s->npeers < MAX_PEERS; i++)
		s->peers[s->npeers++].id = strdup(names[i]);
	onyx_zk_free_names(names);
	/* jobs */
	onyx_cluster_path(p, sizeof(p), c->o.cluster, "jobs");
	if ((st = onyx_zk_wchildren(c->z, p, true, &names, &n, err, errlen)) !=
	    ONYX_OK)
		return st;
	for (i = 0; i < n && s->njobs < MAX_JOBS; i++) {
		struct job *j = &s->jobs[s->njobs];
		j->id = strdup(names[i]);
		s->njobs++;
		st = read_job(c, j, err, errlen);
		if (st == ONYX_ENOENT) {
			/* being submitted: the status node comes in the same
			 * multi, so this is a job being deleted: skip it */
			free(j->id);
			json_decref(j->plan);
			json_decref(j->status);
			memset(j, 0, sizeof(*j));
			s->njobs--;
			continue;
		}
		if (st != ONYX_OK) {
			onyx_zk_free_names(names);
			return st;
		}
	}
	onyx_zk_free_names(names);
	return ONYX_OK;
}

/* Read assign/ and handle offers of dead peers; fill each live peer's record. */
static int
read_assign(struct onyx_coord *c, struct state *s, char *err, size_t errlen)
{
	char p[600], **names;
	int st, n, i, k;

	onyx_cluster_path(p, sizeof(p), c->o.cluster, "assign");
	if ((st = onyx_zk_wchildren(c->z, p, true, &names, &n, err, errlen)) !=
	    ONYX_OK)
		return st;
	for (i = 0; i < n; i++) {
		struct peer *pe = NULL;
		json_t *rec;
		int version;

		onyx_cluster_path(
		    p, sizeof(p), c->o.cluster, "assign/%s", names[i]);
		st = onyx_cluster_get(
		    c->z, p, true, &rec, &version, err, errlen);
		if (st == ONYX_ENOENT)
			continue;
		if (st != ONYX_OK && st != ONYX_EDATA)
			break;
		for (k = 0; k < s->npeers; k++)
			if (strcmp(s->peers[k].id, names[i]) == 0)
				pe = &s->peers[k];
		if (pe == NULL && strcmp(sget(rec, "state"), "acked") == 0 &&
		    s->npeers < MAX_PEERS) {
			char ferr[512];
			/* it may still hold a transaction: fence, then revoke */
			if (fence(c, names[i], ferr, sizeof(ferr)) != ONYX_OK) {
				/* not on every pass: at most every 5 s */
				if (onyx_mono_ms() - c->unfenced_at >= 5000) {
					onyx_log(ONYX_LOG_WARN,
					    "peer %s is dead but cannot be "
					    "fenced yet (job=%s task=%s keeps "
					    "it): %s",
					    names[i], sget(rec, "job"),
					    sget(rec, "task"), ferr);
					c->unfenced_at = onyx_mono_ms();
				}
				pe = &s->peers[s->npeers++];
				pe->id = strdup(names[i]);
				pe->dead = true;
				pe->assign = rec;
				pe->version = version;
				st = ONYX_OK;
				continue;
			}
		}
		if (pe == NULL) {
			onyx_log(ONYX_LOG_INFO,
			    "revoke peer=%s job=%s task=%s "
			    "reason=peer-dead",
			    names[i], sget(rec, "job"), sget(rec, "task"));
			onyx_zk_delete(c->z, p, -1, err, errlen);
			json_decref(rec);
			st = ONYX_OK;
			continue;
		}
		pe->assign = rec;
		pe->version = version;
		st = ONYX_OK;
	}
	onyx_zk_free_names(names);
	return st;
}

static void
set_status(
    struct onyx_coord *c, struct job *j, const char *status, const char *reason)
{
	char p[600], err[512];
	json_t *v =
	    json_pack("{s:s,s:I}", "status", status, "at", (json_int_t)j->at);

	if (reason != NULL)
		json_object_set_new(v, "reason", json_string(reason));
	json_object_set_new(v, "changed", json_integer(onyx_cluster_now()));
	onyx_cluster_path(p, sizeof(p), c->o.cluster, "jobs/%s/status", j->id);
	if (onyx_cluster_set(c->z, p, v, j->status_version, err, sizeof(err)) ==
	    ONYX_OK) {
		onyx_log(ONYX_LOG_INFO, "job=%s status=%s%s%s", j->id, status,
		    reason ? " reason=" : "", reason ? reason : "");
		j->st = status;
		j->status_version++;
		/* later decisions of this pass build on the record written */
		json_decref(j->status);
		j->status = json_incref(v);
	}
	json_decref(v);
}

static void
revoke_offer(struct onyx_coord *c, struct peer *pe, const char *why)
{
	char p[600], err[512];

	onyx_cluster_path(p, sizeof(p), c->o.cluster, "assign/%s", pe->id);
	if (onyx_zk_delete(c->z, p, pe->version, err, sizeof(err)) == ONYX_OK)
		onyx_log(ONYX_LOG_INFO,
		    "revoke peer=%s job=%s task=%s reason=%s", pe->id,
		    sget(pe->assign, "job"), sget(pe->assign, "task"), why);
	json_decref(pe->assign);
	pe->assign = NULL;
}

static bool
finished(const char *st)
{
	return strcmp(st, "completed") == 0 || strcmp(st, "failed") == 0 ||
	    strcmp(st, "killed") == 0;
}

/* Offers and answers: dead ends, stale offers, ended tasks, failures. */
static void
settle_assignments(struct onyx_coord *c, struct state *s)
{
	long long now = onyx_cluster_now();
	int i;

	for (i = 0; i < s->npeers; i++) {
		struct peer *pe = &s->peers[i];
		struct job *j;
		const char *st;

		if (pe->assign == NULL || pe->dead)
			continue;
		st = sget(pe->assign, "state");
		j = find_job(s, sget(pe->assign, "job"));
		if (j == NULL || finished(j->st))
			revoke_offer(c, pe, j == NULL ? "job-gone" : j->st);
		else if (strcmp(st, "finished") == 0)
			revoke_offer(c, pe, "task-ended");
		else if (strcmp(st, "failed") == 0) {
			char why[1024];
			snprintf(why, sizeof(why), "task %s on peer %s: %s",
			    sget(pe->assign, "task"), pe->id,
			    sget(pe->assign, "reason"));
			set_status(c, j, "failed", why);
			revoke_offer(c, pe, "failed");
		} else if (strcmp(st, "offered") == 0 &&
		    now -
		            json_integer_value(
		                json_object_get(pe->assign, "at")) >
		        c->o.offer_timeout_ms)
			revoke_offer(c, pe, "offer-timeout");
		else if (find_task(j, sget(pe->assign, "task")) != NULL &&
		    find_task(j, sget(pe->assign, "task"))->done &&
		    strcmp(st, "acked") != 0)
			revoke_offer(c, pe, "task-complete");
	}
}

static void
count_peers(struct state *s)
{
	int i, k;

	for (i = 0; i < s->njobs; i++)
		for (k = 0; k < s->jobs[i].ntasks; k++)
			s->jobs[i].tasks[k].npeers = 0;
	for (i = 0; i < s->npeers; i++) {
		struct peer *pe = &s->peers[i];
		struct task *t;
		if (pe->assign == NULL)
			continue;
		t = find_task(find_job(s, sget(pe->assign, "job")),
		    sget(pe->assign, "task"));
		if (t != NULL)
			t->npeers++;
	}
}

static void cleanup_job(struct onyx_coord *c, struct state *s, struct job *j);

/* Jobs: completion, kills, and the tasks/<t> records watchers read. */
static void
settle_jobs(struct onyx_coord *c, struct state *s)
{
	char p[600], err[512];
	int i, k, n;

	for (i = 0; i < s->njobs; i++) {
		struct job *j = &s->jobs[i];
		bool all = j->ntasks > 0;

		if (finished(j->st)) {
			cleanup_job(c, s, j);
			continue;
		}
		for (k = 0; k < j->ntasks; k++)
			all = all && j->tasks[k].done;
		if (all) {
			set_status(c, j, "completed", NULL);
			continue;
		}
		for (k = 0; k < j->ntasks; k++) {
			struct task *t = &j->tasks[k];
			json_t *peers = json_array(), *rec;
			const char *ts;
			for (n = 0; n < s->npeers; n++) {
				json_t *a = s->peers[n].assign;
				if (a != NULL &&
				    strcmp(sget(a, "job"), j->id) == 0 &&
				    strcmp(sget(a, "task"), t->name) == 0)
					json_array_append_new(
					    peers, json_string(s->peers[n].id));
			}
			ts = t->done                 ? "complete"
			    : json_array_size(peers) ? "running"
			                             : "waiting";
			rec = json_pack(
			    "{s:s,s:o}", "status", ts, "peers", peers);
			if (!json_equal(rec, t->rec)) {
				onyx_cluster_path(p, sizeof(p), c->o.cluster,
				    "jobs/%s/tasks/%s", j->id, t->name);
				if (onyx_cluster_set(c->z, p, rec, -1, err,
				        sizeof(err)) == ONYX_ENOENT)
					onyx_cluster_create(
					    c->z, p, rec, 0, err, sizeof(err));
			}
			json_decref(rec);
		}
	}
}

/*
 * An ended job (completed or killed) whose offers are all gone: delete its
 * internal queues, leave each task's last status in tasks/<t>, delete the
 * done/ markers, and mark the status "cleaned". A failed job keeps its
 * queues (its segments may be wanted). Retried on the next pass until done.
 */
/*
 * Delete the children of path (the ones that can go), then path: ONYX_OK
 * when path is gone or was never there.
 */
static int
remove_folder(struct onyx_coord *c, const char *path)
{
	char err[512], d[900], **names;
	int k, n, st;

	st = onyx_zk_children(c->z, path, &names, &n, err, sizeof(err));
	if (st == ONYX_ENOENT)
		return ONYX_OK;
	if (st != ONYX_OK)
		return st;
	for (k = 0; k < n; k++) {
		snprintf(d, sizeof(d), "%s/%s", path, names[k]);
		onyx_zk_delete(c->z, d, -1, err, sizeof(err));
	}
	onyx_zk_free_names(names);
	st = onyx_zk_delete(c->z, path, -1, err, sizeof(err));
	return st == ONYX_ENOENT ? ONYX_OK : st;
}

static void
cleanup_job(struct onyx_coord *c, struct state *s, struct job *j)
{
	char p[600], err[512];
	struct onyx_mgmt *m = NULL;
	json_t *queues, *q, *v;
	size_t i;
	int k, deleted = 0, st;

	if (!finished(j->st) || strcmp(j->st, "failed") == 0 ||
	    json_object_get(j->status, "cleaned") != NULL)
		return;
	for (k = 0; k < s->npeers; k++)
		if (s->peers[k].assign != NULL &&
		    strcmp(sget(s->peers[k].assign, "job"), j->id) == 0)
			return; /* its peers are still leaving */
	if (c->o.broker != NULL && (m = broker(c)) == NULL)
		return;
	/* exactly its own queues, named from its plan (lib/names) */
	queues = onyx_jobs_own_queues(j->plan);
	json_array_foreach(queues, i, q)
	{
		const char *name = json_string_value(q);
		long long msgs = 0, consumers;
		if (m == NULL || name == NULL)
			continue;
		/* a dead-letter queue holding dead letters is the user's */
		if (onyx_names_kind(name) == ONYX_NAMES_DLQ &&
		    onyx_mgmt_queue_stat(m, name, &msgs, &consumers, err,
		        sizeof(err)) == ONYX_OK &&
		    msgs > 0) {
			onyx_log(ONYX_LOG_INFO,
			    "job=%s cleanup: %s keeps its %lld dead letter%s",
			    j->id, name, msgs, msgs == 1 ? "" : "s");
			continue;
		}
		st = onyx_mgmt_queue_delete(m, name, err, sizeof(err));
		if (st == ONYX_OK)
			deleted++;
		else if (st != ONYX_ENOENT) {
			onyx_log(ONYX_LOG_WARN,
			    "job=%s cleanup: deleting queue %s: %s (retrying)",
			    j->id, name, err);
			json_decref(queues);
			if (st != ONYX_EREJECTED)
				broker_drop(c);
			return;
		}
	}
	json_decref(queues);
	for (k = 0; k < j->ntasks; k++) {
		struct task *t = &j->tasks[k];
		json_t *rec = json_pack("{s:s,s:[]}", "status",
		    t->done ? "complete" : j->st, "peers");
		onyx_cluster_path(p, sizeof(p), c->o.cluster,
		    "jobs/%s/tasks/%s", j->id, t->name);
		if (!json_equal(rec, t->rec) &&
		    onyx_cluster_set(c->z, p, rec, -1, err, sizeof(err)) ==
		        ONYX_ENOENT)
			onyx_cluster_create(c->z, p, rec, 0, err, sizeof(err));
		json_decref(rec);
	}
	/* holders/<task>/ are empty once every peer flushed or left; a done/
	 * marker may come late: whatever stays is for the next pass */
	onyx_cluster_path(p, sizeof(p), c->o.cluster, "jobs/%s/holders", j->id);
	if (remove_folder(c, p) != ONYX_OK)
		return;
	onyx_cluster_path(p, sizeof(p), c->o.cluster, "jobs/%s/done", j->id);
	if (remove_folder(c, p) != ONYX_OK)
		return;
	v = json_deep_copy(j->status);
	json_object_set_new(v, "cleaned", json_integer(onyx_cluster_now()));
	onyx_cluster_path(p, sizeof(p), c->o.cluster, "jobs/%s/status", j->id);
	if (onyx_cluster_set(c->z, p, v, j->status_version, err, sizeof(err)) ==
	    ONYX_OK) {
		j->status_version++;
		onyx_log(ONYX_LOG_INFO,
		    "job=%s cleaned: %d internal queue%s deleted, done/ "
		    "markers removed",
		    j->id, deleted, deleted == 1 ? "" : "s");
	}
	json_decref(v);
}

/* The next task of job j that may take one more peer, or NULL. */
static struct task *
wanting(struct job *j)
{
	struct task *best = NULL;
	int k;

	for (k = 0; k < j->ntasks; k++) {
		struct task *t = &j->tasks[k];
		if (t->done || (t->cap > 0 && t->npeers >= t->cap))
			continue;
		/* fewest peers first, then the earlier phase: breadth-first */
		if (best == NULL || t->npeers < best->npeers ||
		    (t->npeers == best->npeers && t->phase < best->phase))
			best = t;
	}
	return best;
}

static int
by_submission(const void *a, const void *b)
{
	const struct job *x = *(struct job *const *)a;
	const struct job *y = *(struct job *const *)b;

	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return strcmp(x->id, y->id);
}

static void
schedule(struct onyx_coord *c, struct state *s)
{
	struct job *active[MAX_JOBS];
	char p[600], err[512];
	int na = 0, i, k;

	for (i = 0; i < s->njobs; i++)
		if (!finished(s->jobs[i].st))
			active[na++] = &s->jobs[i];
	if (na == 0)
		return;
	qsort(active, na, sizeof(active[0]), by_submission);
	for (i = 0; i < s->npeers; i++) {
		struct peer *pe = &s->peers[i];
		struct task *t = NULL;
		struct job *j = NULL;
		json_t *rec;

		if (pe->assign != NULL || pe->dead)
			continue;
		/* jobs round-robin: the next job, from where we stopped */
		for (k = 0; k < na && t == NULL; k++) {
			j = active[(c->rr + k) % na];
			t = wanting(j);
		}
		if (t == NULL)
			return;
		c->rr = (c->rr + k) % na;
		rec = json_pack("{s:s,s:s,s:I,s:s,s:I}", "job", j->id, "task",
		    t->name, "offer", (json_int_t)onyx_cluster_now(), "state",
		    "offered", "at", (json_int_t)onyx_cluster_now());
		onyx_cluster_path(
		    p, sizeof(p), c->o.cluster, "assign/%s", pe->id);
		if (onyx_cluster_create(c->z, p, rec, 0, err, sizeof(err)) ==
		    ONYX_OK) {
			onyx_log(ONYX_LOG_INFO, "offer peer=%s job=%s task=%s",
			    pe->id, j->id, t->name);
			pe->assign = rec;
			t->npeers++;
			if (strcmp(j->st, "submitted") == 0)
				set_status(c, j, "running", NULL);
		} else
			json_decref(rec);
	}
}

int
onyx_coord_step(struct onyx_coord *c, char *err, size_t errlen)
{
	struct state *s = calloc(1, sizeof(*s));
	int st;

	if (s == NULL)
		return ONYX_ERR;
	onyx_zk_drain(c->z);
	st = read_state(c, s, err, errlen);
	if (st == ONYX_OK)
		st = read_assign(c, s, err, errlen);
	if (st == ONYX_OK) {
		settle_assignments(c, s);
		count_peers(s);
		settle_jobs(c, s);
		schedule(c, s);
		settle_jobs(c, s);
	}
	state_free(s);
	free(s);
	if (st == ONYX_OK && onyx_zk_expired(c->z)) {
		snprintf(err, errlen, "the ZooKeeper session expired");
		return ONYX_EEXPIRED;
	}
	return st;
}
