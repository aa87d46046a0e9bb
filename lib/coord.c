/* lib/coord.c: the coordinator's shell: read the live state from ZooKeeper into a snapshot, decide (lib/sched), perform the actions. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <zookeeper/zookeeper.h>

#include "clock.h"
#include "cluster.h"
#include "coord.h"
#include "coordmetrics.h"
#include "log.h"
#include "sched.h"
#include "status.h"

/* A live job as cached between passes: the plan never changes. */
struct cjob {
	char *id;
	json_t *plan;
	struct onyx_sched_task *tasks;
	json_t **recs; /* each task's tasks/<t> record as last written */
	size_t ntasks;
	/* read every pass */
	json_t *status;
	int status_version;
	bool ok;      /* status read in this pass */
	bool retired; /* taken out of the working set in this pass */
};

struct onyx_coord {
	struct onyx_zk *z;
	struct onyx_coord_opts o;
	char me[512]; /* our election node */
	size_t rr;    /* round-robin position over jobs */
	bool ready; /* this leadership indexed the cluster and read history/ */
	struct cjob **jobs; /* the working set, sorted by id */
	size_t njobs;
	char **hist; /* history/ node names, oldest first, from hist_at */
	size_t nhist, hist_at, hist_cap;
	long long unfenced_at; /* when a failed fence was last logged */
};

struct onyx_coord *
onyx_coord_new(struct onyx_zk *z, const struct onyx_coord_opts *o)
{
	struct onyx_coord *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->z = z;
	c->o = *o;
	if (c->o.history < 0)
		c->o.history = ONYX_COORD_HISTORY;
	onyx_coordmetrics_define(c->o.metrics);
	return c;
}

static void
cjob_free(struct cjob *j)
{
	size_t k;

	if (j == NULL)
		return;
	for (k = 0; k < j->ntasks; k++)
		json_decref(j->recs[k]);
	free(j->recs);
	free(j->tasks);
	json_decref(j->plan);
	json_decref(j->status);
	free(j->id);
	free(j);
}

void
onyx_coord_free(struct onyx_coord *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->njobs; i++)
		cjob_free(c->jobs[i]);
	free(c->jobs);
	for (i = c->hist_at; i < c->nhist; i++)
		free(c->hist[i]);
	free(c->hist);
	free(c);
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

static const char *
sget(const json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v ? v : "";
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The index of name in the sorted names[0..n), or -1. */
static int
find_name(char **names, int n, const char *name)
{
	char **hit = bsearch(&name, names, n, sizeof(*names), cmp_name);

	return hit ? (int)(hit - names) : -1;
}

static int
cmp_cjob(const void *a, const void *b)
{
	return strcmp(
	    (*(struct cjob *const *)a)->id, (*(struct cjob *const *)b)->id);
}

/* The cached job id, or NULL. */
static struct cjob *
cached(struct onyx_coord *c, const char *id)
{
	size_t lo = 0, hi = c->njobs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(c->jobs[mid]->id, id);

		if (r == 0)
			return c->jobs[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Read the plan of job id into a new cache entry. */
static int
load_job(struct onyx_coord *c, const char *id, struct cjob **out, char *err,
    size_t errlen)
{
	struct cjob *j = calloc(1, sizeof(*j));
	char p[600];
	json_t *tasks, *t;
	size_t i;
	int st;

	*out = NULL;
	if (j == NULL || (j->id = strdup(id)) == NULL) {
		free(j);
		return ONYX_ERR;
	}
	onyx_cluster_path(p, sizeof(p), c->o.cluster, "jobs/%s", id);
	if ((st = onyx_cluster_get(
	         c->z, p, false, &j->plan, NULL, err, errlen)) != ONYX_OK) {
		cjob_free(j);
		return st;
	}
	tasks = json_object_get(j->plan, "tasks");
	j->ntasks = json_array_size(tasks);
	j->tasks = calloc(j->ntasks + 1, sizeof(*j->tasks));
	j->recs = calloc(j->ntasks + 1, sizeof(*j->recs));
	if (j->tasks == NULL || j->recs == NULL) {
		cjob_free(j);
		return ONYX_ERR;
	}
	json_array_foreach(tasks, i, t)
	{
		struct onyx_sched_task *tk = &j->tasks[i];
		json_t *cat = json_object_get(t, "catalog");
		json_t *mp = json_object_get(cat, "onyx/max-peers");

		tk->name = sget(t, "name");
		tk->phase =
		    (int)json_integer_value(json_object_get(t, "phase"));
		tk->cap =
		    strcmp(sget(cat, "onyx/consumption"), "sequential") == 0 ? 1
		    : json_is_integer(mp) ? (int)json_integer_value(mp)
		                          : 0;
	}
	*out = j;
	return ONYX_OK;
}

/*
 * The working set: live/ (watched), each job's plan from the cache or read
 * once, then its status and done/ markers (watched). A live/ entry whose
 * job is gone is removed.
 */
static int
read_jobs(struct onyx_coord *c, char *err, size_t errlen)
{
	char p[600], **names;
	struct cjob **next;
	size_t i, k, nn = 0;
	int st = ONYX_OK, n;

	onyx_cluster_path(p, sizeof(p), c->o.cluster, "live");
	if ((st = onyx_zk_wchildren(c->z, p, true, &names, &n, err, errlen)) !=
	    ONYX_OK)
		return st;
	if ((next = calloc(n + 1, sizeof(*next))) == NULL) {
		onyx_zk_free_names(names);
		return ONYX_ERR;
	}
	for (i = 0; i < (size_t)n; i++) {
		struct cjob *j = cached(c, names[i]);

		if (j == NULL) {
			st = load_job(c, names[i], &j, err, errlen);
			if (st == ONYX_ENOENT) {
				onyx_log(ONYX_LOG_WARN,
				    "live/%s: no jobs/%s: dropped from the working set",
				    names[i], names[i]);
				onyx_cluster_path(p, sizeof(p), c->o.cluster,
				    "live/%s", names[i]);
				onyx_zk_delete(c->z, p, -1, err, errlen);
				st = ONYX_OK;
				continue;
			}
			if (st != ONYX_OK)
				break;
		}
		next[nn++] = j;
		j->ok = false;
	}
	onyx_zk_free_names(names);
	/* jobs that left live/ leave the cache (after an error the cache
	 * holds those read so far) */
	for (k = 0; k < c->njobs; k++) {
		struct cjob *j = c->jobs[k];
		struct cjob **hit =
		    bsearch(&j, next, nn, sizeof(*next), cmp_cjob);

		if (hit == NULL || *hit != j)
			cjob_free(j);
	}
	free(c->jobs);
	c->jobs = next;
	c->njobs = nn;
	if (st != ONYX_OK)
		return st;
	for (k = 0; k < c->njobs; k++) {
		struct cjob *j = c->jobs[k];
		char **done;
		int nd, d;

		json_decref(j->status);
		j->status = NULL;
		onyx_cluster_path(
		    p, sizeof(p), c->o.cluster, "jobs/%s/status", j->id);
		st = onyx_cluster_get(
		    c->z, p, true, &j->status, &j->status_version, err, errlen);
		if (st == ONYX_ENOENT || st == ONYX_EDATA) {
			/* being deleted, or unreadable: not decided on */
			st = ONYX_OK;
			continue;
		}
		if (st != ONYX_OK)
			return st;
		for (d = 0; d < (int)j->ntasks; d++)
			j->tasks[d].done = false;
		onyx_cluster_path(
		    p, sizeof(p), c->o.cluster, "jobs/%s/done", j->id);
		st = onyx_zk_wchildren(c->z, p, true, &done, &nd, err, errlen);
		if (st == ONYX_OK) {
			for (size_t t = 0; t < j->ntasks; t++)
				j->tasks[t].done =
				    find_name(done, nd, j->tasks[t].name) >= 0;
			onyx_zk_free_names(done);
		} else if (st != ONYX_ENOENT)
			return st;
		st = ONYX_OK;
		j->ok = true;
	}
	return ONYX_OK;
}

/* The peers and their offers, read for a pass. */
struct world {
	char **peers, **assign; /* sorted children of peers/ and assign/ */
	int npeers, nassign;
	json_t **recs; /* assign records, by assign/ index (NULL: none) */
	int *versions; /* their versions */
	struct onyx_sched_peer *sp;
	size_t nsp;
	struct onyx_sched_job *sj;
	struct cjob **jobs; /* by sj index */
	size_t nsj;
};

static void
world_free(struct world *w)
{
	int i;

	for (i = 0; i < w->nassign; i++)
		json_decref(w->recs[i]);
	free(w->recs);
	free(w->versions);
	onyx_zk_free_names(w->peers);
	onyx_zk_free_names(w->assign);
	free(w->sp);
	free(w->sj);
	free(w->jobs);
	memset(w, 0, sizeof(*w));
}

static void
fill_offer(struct onyx_sched_peer *pe, const json_t *rec, int version)
{
	pe->assigned = true;
	pe->offer.job = json_string_value(json_object_get(rec, "job"));
	pe->offer.task = json_string_value(json_object_get(rec, "task"));
	pe->offer.state = json_string_value(json_object_get(rec, "state"));
	pe->offer.reason = json_string_value(json_object_get(rec, "reason"));
	pe->offer.at = json_integer_value(json_object_get(rec, "at"));
	pe->offer.version = version;
}

/* peers/ and assign/ (watched), each assign record (watched). */
static int
read_world(struct onyx_coord *c, struct world *w, char *err, size_t errlen)
{
	char p[600];
	int st, i, k;

	onyx_cluster_path(p, sizeof(p), c->o.cluster, "peers");
	if ((st = onyx_zk_wchildren(
	         c->z, p, true, &w->peers, &w->npeers, err, errlen)) != ONYX_OK)
		return st;
	onyx_cluster_path(p, sizeof(p), c->o.cluster, "assign");
	if ((st = onyx_zk_wchildren(c->z, p, true, &w->assign, &w->nassign, err,
	         errlen)) != ONYX_OK)
		return st;
	w->recs = calloc(w->nassign + 1, sizeof(*w->recs));
	w->versions = calloc(w->nassign + 1, sizeof(*w->versions));
	w->sp = calloc(w->npeers + w->nassign + 1, sizeof(*w->sp));
	if (w->recs == NULL || w->versions == NULL || w->sp == NULL)
		return ONYX_ERR;
	for (i = 0; i < w->nassign; i++) {
		onyx_cluster_path(
		    p, sizeof(p), c->o.cluster, "assign/%s", w->assign[i]);
		st = onyx_cluster_get(
		    c->z, p, true, &w->recs[i], &w->versions[i], err, errlen);
		if (st == ONYX_EDATA)
			w->recs[i] = json_object(); /* revoked as job-gone */
		else if (st == ONYX_ENOENT)
			continue;
		else if (st != ONYX_OK)
			return st;
	}
	/* the live peers in peers/ order, then the dead ones holding offers */
	for (i = 0; i < w->npeers; i++) {
		struct onyx_sched_peer *pe = &w->sp[w->nsp++];

		pe->id = w->peers[i];
		pe->alive = true;
		k = find_name(w->assign, w->nassign, w->peers[i]);
		if (k >= 0 && w->recs[k] != NULL)
			fill_offer(pe, w->recs[k], w->versions[k]);
	}
	for (i = 0; i < w->nassign; i++) {
		struct onyx_sched_peer *pe;

		if (w->recs[i] == NULL ||
		    find_name(w->peers, w->npeers, w->assign[i]) >= 0)
			continue;
		pe = &w->sp[w->nsp++];
		pe->id = w->assign[i];
		fill_offer(pe, w->recs[i], w->versions[i]);
	}
	/* the jobs whose status could be read */
	w->sj = calloc(c->njobs + 1, sizeof(*w->sj));
	w->jobs = calloc(c->njobs + 1, sizeof(*w->jobs));
	if (w->sj == NULL || w->jobs == NULL)
		return ONYX_ERR;
	for (size_t j = 0; j < c->njobs; j++) {
		struct cjob *cj = c->jobs[j];
		struct onyx_sched_job *sj;

		if (!cj->ok)
			continue;
		sj = &w->sj[w->nsj];
		w->jobs[w->nsj++] = cj;
		sj->id = cj->id;
		sj->status = sget(cj->status, "status");
		sj->cleaned = json_object_get(cj->status, "cleaned") != NULL;
		sj->at = json_integer_value(json_object_get(cj->status, "at"));
		sj->tasks = cj->tasks;
		sj->ntasks = cj->ntasks;
	}
	return ONYX_OK;
}

/* A peer's record as the snapshot saw it, for the log. */
static const char *
offer_job(const struct onyx_sched_peer *pe)
{
	return pe->offer.job ? pe->offer.job : "";
}

static const char *
offer_task(const struct onyx_sched_peer *pe)
{
	return pe->offer.task ? pe->offer.task : "";
}

static void
do_fence(struct onyx_coord *c, const struct onyx_sched_peer *pe, int version)
{
	char p[600], err[512];
	int st = ONYX_OK;

	if (c->o.ops.fence != NULL)
		st = c->o.ops.fence(c->o.ops.ctx, pe->id, err, sizeof(err));
	if (st != ONYX_OK) {
		/* not on every pass: at most every 5 s */
		if (onyx_mono_ms() - c->unfenced_at >= 5000) {
			onyx_log(ONYX_LOG_WARN,
			    "peer %s is dead but cannot be fenced yet (job=%s task=%s keeps it): %s",
			    pe->id, offer_job(pe), offer_task(pe), err);
			c->unfenced_at = onyx_mono_ms();
		}
		return;
	}
	onyx_log(ONYX_LOG_INFO,
	    "revoke peer=%s job=%s task=%s reason=peer-dead", pe->id,
	    offer_job(pe), offer_task(pe));
	if (c->o.ops.fence != NULL)
		onyx_coordmetrics_fence(c->o.metrics);
	onyx_cluster_path(p, sizeof(p), c->o.cluster, "assign/%s", pe->id);
	if (onyx_zk_delete(c->z, p, version, err, sizeof(err)) == ONYX_OK)
		onyx_coordmetrics_revoke(c->o.metrics, "peer-dead");
}

static void
do_revoke(struct onyx_coord *c, const struct onyx_sched_peer *pe, int version,
    const char *why)
{
	char p[600], err[512];
	bool dead = strcmp(why, "peer-dead") == 0;

	onyx_cluster_path(p, sizeof(p), c->o.cluster, "assign/%s", pe->id);
	if (dead)
		onyx_log(ONYX_LOG_INFO,
		    "revoke peer=%s job=%s task=%s reason=%s", pe->id,
		    offer_job(pe), offer_task(pe), why);
	if (onyx_zk_delete(c->z, p, dead ? -1 : version, err, sizeof(err)) !=
	    ONYX_OK)
		return;
	onyx_coordmetrics_revoke(c->o.metrics, why);
	if (!dead)
		onyx_log(ONYX_LOG_INFO,
		    "revoke peer=%s job=%s task=%s reason=%s", pe->id,
		    offer_job(pe), offer_task(pe), why);
}

static int
do_offer(struct onyx_coord *c, const struct onyx_sched_peer *pe,
    const struct cjob *j, const struct onyx_sched_task *t)
{
	char p[600], err[512];
	json_int_t now = (json_int_t)onyx_cluster_now();
	json_t *rec = json_pack("{s:s,s:s,s:I,s:s,s:I}", "job", j->id, "task",
	    t->name, "offer", now, "state", "offered", "at", now);
	int st;

	onyx_cluster_path(p, sizeof(p), c->o.cluster, "assign/%s", pe->id);
	st = onyx_cluster_create(c->z, p, rec, 0, err, sizeof(err));
	if (st == ONYX_OK) {
		onyx_log(ONYX_LOG_INFO, "offer peer=%s job=%s task=%s", pe->id,
		    j->id, t->name);
		onyx_coordmetrics_offer(c->o.metrics);
	}
	json_decref(rec);
	return st;
}

static void
do_status(struct onyx_coord *c, struct cjob *j, const char *status,
    const char *reason)
{
	char p[600], err[512];
	json_t *v = json_pack("{s:s,s:I}", "status", status, "at",
	    json_integer_value(json_object_get(j->status, "at")));

	if (reason != NULL)
		json_object_set_new(v, "reason", json_string(reason));
	json_object_set_new(v, "changed", json_integer(onyx_cluster_now()));
	onyx_cluster_path(p, sizeof(p), c->o.cluster, "jobs/%s/status", j->id);
	if (onyx_cluster_set(c->z, p, v, j->status_version, err, sizeof(err)) ==
	    ONYX_OK) {
		onyx_log(ONYX_LOG_INFO, "job=%s status=%s%s%s", j->id, status,
		    reason ? " reason=" : "", reason ? reason : "");
		onyx_coordmetrics_status(c->o.metrics, status);
		j->status_version++;
		/* later actions of this pass build on the record written */
		json_decref(j->status);
		j->status = json_incref(v);
	}
	json_decref(v);
}

/* Write rec at jobs/<job>/tasks/<task> unless it is what was last written. */
static void
put_task(struct onyx_coord *c, struct cjob *j, size_t k, json_t *rec)
{
	char p[600], err[512];
	int st;

	if (json_equal(rec, j->recs[k])) {
		json_decref(rec);
		return;
	}
	onyx_cluster_path(p, sizeof(p), c->o.cluster, "jobs/%s/tasks/%s", j->id,
	    j->tasks[k].name);
	st = onyx_cluster_set(c->z, p, rec, -1, err, sizeof(err));
	if (st == ONYX_ENOENT)
		st = onyx_cluster_create(c->z, p, rec, 0, err, sizeof(err));
	if (st == ONYX_OK) {
		json_decref(j->recs[k]);
		j->recs[k] = rec;
	} else
		json_decref(rec);
}

static void
do_task(struct onyx_coord *c, struct world *w, struct cjob *j,
    const struct onyx_sched_action *a)
{
	json_t *peers = json_array();
	size_t i;

	for (i = 0; i < a->npeers; i++)
		json_array_append_new(
		    peers, json_string(w->sp[a->peers[i]].id));
	put_task(c, j, a->task,
	    json_pack("{s:s,s:o}", "status", a->status, "peers", peers));
}

/*
 * Delete path and everything below it (children first). ONYX_OK when it
 * is gone or was never there.
 */
static int
remove_tree(struct onyx_coord *c, const char *path)
{
	char err[512], d[900], **names;
	int k, n, st;

	st = onyx_zk_children(c->z, path, &names, &n, err, sizeof(err));
	if (st == ONYX_ENOENT)
		return ONYX_OK;
	if (st != ONYX_OK)
		return st;
	for (k = 0; k < n && st == ONYX_OK; k++) {
		snprintf(d, sizeof(d), "%s/%s", path, names[k]);
		st = remove_tree(c, d);
	}
	onyx_zk_free_names(names);
	if (st != ONYX_OK)
		return st;
	st = onyx_zk_delete(c->z, path, -1, err, sizeof(err));
	return st == ONYX_ENOENT ? ONYX_OK : st;
}

/*
 * An ended job (completed or killed) whose offers are all gone: delete its
 * internal queues, leave each task's last status in tasks/<t>, delete
 * holders/ and the done/ markers, and mark the status "cleaned". Returns
 * ONYX_OK when done; otherwise it is retried on the next pass.
 */
static int
do_clean(struct onyx_coord *c, struct cjob *j)
{
	char p[600], err[512];
	const char *st_text = sget(j->status, "status");
	json_t *v;
	size_t k;
	int deleted = 0, st;

	if (c->o.ops.clean != NULL &&
	    (st = c->o.ops.clean(c->o.ops.ctx, j->id, j->plan, &deleted, err,
	         sizeof(err))) != ONYX_OK) {
		/* an unreachable broker is logged once, by whoever reaches it */
		if (st != ONYX_EUNAVAIL)
			onyx_log(ONYX_LOG_WARN, "job=%s cleanup: %s (retrying)",
			    j->id, err);
		return st;
	}
	for (k = 0; k < j->ntasks; k++)
		put_task(c, j, k,
		    json_pack("{s:s,s:[]}", "status",
		        j->tasks[k].done ? "complete" : st_text, "peers"));
	/* holders/<task>/ are empty once every peer flushed or left; a done/
	 * marker may come late: whatever stays is for the next pass */
	onyx_cluster_path(p, sizeof(p), c->o.cluster, "jobs/%s/holders", j->id);
	if ((st = remove_tree(c, p)) != ONYX_OK)
		return st;
	onyx_cluster_path(p, sizeof(p), c->o.cluster, "jobs/%s/done", j->id);
	if ((st = remove_tree(c, p)) != ONYX_OK)
		return st;
	v = json_deep_copy(j->status);
	json_object_set_new(v, "cleaned", json_integer(onyx_cluster_now()));
	onyx_cluster_path(p, sizeof(p), c->o.cluster, "jobs/%s/status", j->id);
	st = onyx_cluster_set(c->z, p, v, j->status_version, err, sizeof(err));
	if (st == ONYX_OK) {
		j->status_version++;
		json_decref(j->status);
		j->status = json_incref(v);
		onyx_log(ONYX_LOG_INFO,
		    "job=%s cleaned: %d internal queue%s deleted, done/ markers removed",
		    j->id, deleted, deleted == 1 ? "" : "s");
	}
	json_decref(v);
	return st;
}

/* Remember history node name (malloc'd) as the newest. */
static int
hist_push(struct onyx_coord *c, char *name)
{
	if (c->hist_at > 0 && c->hist_at * 2 >= c->nhist) {
		/* the pruned front is at least half: slide down */
		memmove(c->hist, c->hist + c->hist_at,
		    (c->nhist - c->hist_at) * sizeof(*c->hist));
		c->nhist -= c->hist_at;
		c->hist_at = 0;
	}
	if (c->nhist == c->hist_cap) {
		size_t cap = c->hist_cap ? c->hist_cap * 2 : 256;
		char **v = reallocarray(c->hist, cap, sizeof(*v));

		if (v == NULL) {
			free(name);
			return ONYX_ERR;
		}
		c->hist = v;
		c->hist_cap = cap;
	}
	c->hist[c->nhist++] = name;
	return ONYX_OK;
}

/* Beyond the retention, delete the oldest retired jobs, whole. */
static void
prune(struct onyx_coord *c)
{
	char p[600], err[512], *job;
	int len, st;

	while (c->nhist - c->hist_at > (size_t)c->o.history) {
		const char *h = c->hist[c->hist_at];

		onyx_cluster_path(p, sizeof(p), c->o.cluster, "history/%s", h);
		st = onyx_zk_get(c->z, p, &job, &len, NULL, err, sizeof(err));
		if (st == ONYX_OK && len > 0 && strchr(job, '/') == NULL &&
		    strcmp(job, "..") != 0 && strcmp(job, ".") != 0) {
			char jp[600];

			onyx_cluster_path(
			    jp, sizeof(jp), c->o.cluster, "jobs/%s", job);
			st = remove_tree(c, jp);
			if (st == ONYX_OK)
				onyx_log(ONYX_LOG_INFO,
				    "job=%s pruned: beyond the %d ended jobs kept",
				    job, c->o.history);
		}
		free(job);
		if (st != ONYX_OK && st != ONYX_ENOENT)
			return; /* the next retirement tries again */
		if ((st = onyx_zk_delete(c->z, p, -1, err, sizeof(err))) !=
		        ONYX_OK &&
		    st != ONYX_ENOENT)
			return;
		free(c->hist[c->hist_at++]);
	}
}

/* Take job j out of the working set, into history/. */
static int
do_retire(struct onyx_coord *c, struct cjob *j)
{
	char p[600], made[700], err[512];
	int st;

	onyx_cluster_path(p, sizeof(p), c->o.cluster, "history/h-");
	if ((st = onyx_zk_create(c->z, p, j->id, (int)strlen(j->id),
	         ZOO_SEQUENCE, made, sizeof(made), err, sizeof(err))) !=
	    ONYX_OK) {
		onyx_log(
		    ONYX_LOG_WARN, "job=%s retire: %s (retrying)", j->id, err);
		return st;
	}
	onyx_cluster_path(p, sizeof(p), c->o.cluster, "live/%s", j->id);
	st = onyx_zk_delete(c->z, p, -1, err, sizeof(err));
	if (st != ONYX_OK && st != ONYX_ENOENT) {
		onyx_log(
		    ONYX_LOG_WARN, "job=%s retire: %s (retrying)", j->id, err);
		return st;
	}
	onyx_log(ONYX_LOG_INFO, "job=%s retired: %s", j->id,
	    strrchr(made, '/') ? strrchr(made, '/') + 1 : made);
	if (strrchr(made, '/') != NULL &&
	    hist_push(c, strdup(strrchr(made, '/') + 1)) == ONYX_OK)
		prune(c);
	return ONYX_OK;
}

static void
perform(struct onyx_coord *c, struct world *w, struct onyx_sched_out *out)
{
	bool *failed_clean = calloc(w->nsj + 1, sizeof(bool));
	bool *retired = calloc(w->nsj + 1, sizeof(bool));
	size_t i;

	for (i = 0; i < out->n; i++) {
		const struct onyx_sched_action *a = &out->v[i];
		const struct onyx_sched_peer *pe =
		    a->peer < w->nsp ? &w->sp[a->peer] : NULL;
		struct cjob *j = a->job < w->nsj ? w->jobs[a->job] : NULL;

		switch (a->kind) {
		case ONYX_SCHED_FENCE: do_fence(c, pe, a->version); break;
		case ONYX_SCHED_REVOKE:
			do_revoke(c, pe, a->version, a->reason);
			break;
		case ONYX_SCHED_OFFER:
			do_offer(c, pe, j, &j->tasks[a->task]);
			break;
		case ONYX_SCHED_STATUS:
			do_status(c, j, a->status, a->reason);
			break;
		case ONYX_SCHED_TASK: do_task(c, w, j, a); break;
		case ONYX_SCHED_CLEAN:
			if (failed_clean == NULL || do_clean(c, j) != ONYX_OK)
				if (failed_clean != NULL)
					failed_clean[a->job] = true;
			break;
		case ONYX_SCHED_RETIRE:
			if (failed_clean != NULL && !failed_clean[a->job] &&
			    retired != NULL && do_retire(c, j) == ONYX_OK)
				retired[a->job] = true;
			break;
		}
	}
	/* retired jobs leave the cache */
	if (retired != NULL) {
		size_t k, n = 0;

		for (i = 0; i < w->nsj; i++)
			if (retired[i])
				w->jobs[i]->retired = true;
		for (k = 0; k < c->njobs; k++) {
			if (c->jobs[k]->retired)
				cjob_free(c->jobs[k]);
			else
				c->jobs[n++] = c->jobs[k];
		}
		c->njobs = n;
	}
	free(failed_clean);
	free(retired);
}

/*
 * Once per leadership: a cluster made before live/ existed has jobs that
 * still need the coordinator but are not in live/: add them (once per
 * cluster: coord/live-index says it was done). Then read history/.
 */
static int
take_over(struct onyx_coord *c, char *err, size_t errlen)
{
	char p[600], **names, **live, **hist;
	int st, n, nl, nh, i;

	onyx_cluster_path(p, sizeof(p), c->o.cluster, "coord/live-index");
	st = onyx_zk_exists(c->z, p, err, errlen);
	if (st == ONYX_ENOENT) {
		onyx_cluster_path(p, sizeof(p), c->o.cluster, "jobs");
		if ((st = onyx_zk_children(c->z, p, &names, &n, err, errlen)) !=
		    ONYX_OK)
			return st;
		onyx_cluster_path(p, sizeof(p), c->o.cluster, "live");
		if ((st = onyx_zk_children(c->z, p, &live, &nl, err, errlen)) !=
		    ONYX_OK) {
			onyx_zk_free_names(names);
			return st;
		}
		for (i = 0; i < n && st == ONYX_OK; i++) {
			json_t *rec;
			const char *s;

			if (find_name(live, nl, names[i]) >= 0)
				continue;
			onyx_cluster_path(p, sizeof(p), c->o.cluster,
			    "jobs/%s/status", names[i]);
			st = onyx_cluster_get(
			    c->z, p, false, &rec, NULL, err, errlen);
			if (st == ONYX_ENOENT || st == ONYX_EDATA) {
				st = ONYX_OK;
				continue;
			}
			if (st != ONYX_OK)
				break;
			s = sget(rec, "status");
			/* failed and cleaned jobs need nothing more */
			if (!onyx_sched_finished(s) ||
			    (strcmp(s, "failed") != 0 &&
			        json_object_get(rec, "cleaned") == NULL)) {
				onyx_cluster_path(p, sizeof(p), c->o.cluster,
				    "live/%s", names[i]);
				st = onyx_zk_create(
				    c->z, p, NULL, 0, 0, NULL, 0, err, errlen);
				if (st == ONYX_EEXIST)
					st = ONYX_OK;
				onyx_log(ONYX_LOG_INFO,
				    "job=%s: into the working set (live/)",
				    names[i]);
			}
			json_decref(rec);
		}
		onyx_zk_free_names(names);
		onyx_zk_free_names(live);
		if (st != ONYX_OK)
			return st;
		onyx_cluster_path(
		    p, sizeof(p), c->o.cluster, "coord/live-index");
		st = onyx_zk_create(c->z, p, NULL, 0, 0, NULL, 0, err, errlen);
		if (st != ONYX_OK && st != ONYX_EEXIST)
			return st;
	} else if (st != ONYX_OK)
		return st;
	onyx_cluster_path(p, sizeof(p), c->o.cluster, "history");
	if ((st = onyx_zk_children(c->z, p, &hist, &nh, err, errlen)) !=
	    ONYX_OK)
		return st;
	for (i = 0; i < nh; i++) {
		if (hist_push(c, hist[i]) != ONYX_OK) {
			hist[i] = NULL; /* freed */
			for (i++; i < nh; i++)
				free(hist[i]);
			free(hist);
			return ONYX_ERR;
		}
		hist[i] = NULL; /* now c->hist's */
	}
	free(hist);
	prune(c);
	c->ready = true;
	return ONYX_OK;
}

int
onyx_coord_step(struct onyx_coord *c, char *err, size_t errlen)
{
	struct world w = {0};
	struct onyx_sched_out out = {0};
	struct onyx_sched_in in;
	long long t0 = onyx_mono_ms(), t0us = onyx_mono_us();
	int st;

	onyx_zk_drain(c->z);
	if (!c->ready && (st = take_over(c, err, errlen)) != ONYX_OK)
		goto out;
	if ((st = read_jobs(c, err, errlen)) != ONYX_OK ||
	    (st = read_world(c, &w, err, errlen)) != ONYX_OK)
		goto out;
	in = (struct onyx_sched_in){.peers = w.sp,
	    .npeers = w.nsp,
	    .jobs = w.sj,
	    .njobs = w.nsj,
	    .now = onyx_cluster_now(),
	    .offer_timeout_ms = c->o.offer_timeout_ms,
	    .rr = c->rr};
	if (onyx_sched_decide(&in, &out, err, errlen) != 0) {
		st = ONYX_ERR;
		goto out;
	}
	c->rr = out.rr;
	/* the snapshot decided on (perform frees parts of it) */
	onyx_coordmetrics_world(c->o.metrics, &in);
	perform(c, &w, &out);
	onyx_coordmetrics_pass(
	    c->o.metrics, (double)(onyx_mono_us() - t0us) / 1e6);
	onyx_log(ONYX_LOG_DEBUG,
	    "pass: %zu live jobs, %zu peers, %zu actions, %lld ms", w.nsj,
	    w.nsp, out.n, onyx_mono_ms() - t0);
out:
	onyx_sched_out_free(&out);
	world_free(&w);
	if ((st == ONYX_OK || st == ONYX_EUNAVAIL) && onyx_zk_expired(c->z)) {
		snprintf(err, errlen, "the ZooKeeper session expired");
		return ONYX_EEXPIRED;
	}
	return st;
}
