/* lib/peer.c: virtual peers: registration, taking offers from ZooKeeper, running tasks, reporting. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <zookeeper/zookeeper.h>

#include "admit.h"
#include "errstr.h"
#include "amqp.h"
#include "clock.h"
#include "cluster.h"
#include "fn.h"
#include "hop.h"
#include "log.h"
#include "peer.h"
#include "peermetrics.h"
#include "status.h"
#include "zk.h"

#define POLL_MS 200       /* how often an idle peer reads assign/<id> */
#define WATCH_MS 200      /* how often running offers are checked */
#define BACKOFF_MIN 500   /* first wait after a failure */
#define BACKOFF_MAX 10000 /* longest wait after failures */
/* broker failures in a row, without a commit between, before a task fails */
#define RESUME_ATTEMPTS 30

struct vpeer {
	struct onyx_peers *ps;
	pthread_t th;
	bool started;
	char id[320];
	struct onyx_amqp *a; /* touched by this peer's thread only */
	int backoff;
	volatile sig_atomic_t stop; /* stops the hop loop and broker waits */
	/* a byte here wakes an idle nap: a ZooKeeper watch fired (its offer
	 * may have come); written by the monitoring thread */
	int wake[2];
	/* committed counts of the runs of the current task before the last
	 * reconnection (a resumed run counts from zero) */
	struct onyx_hop_stats base;
	struct onyx_hop_stats shown; /* of base and the run: in the metrics */
	/* the task waits for credit the broker does not give (logged once,
	 * until a batch commits again) */
	bool starved;
	/* under ps->mu: what runs, for the monitor */
	bool running;
	unsigned gen;
	long long offer;
	char job[256], task[256];
};

struct onyx_peers {
	struct onyx_conf conf;
	const char *fnpath;
	const struct onyx_admit *allow;
	int session_ms, connect_ms;
	struct onyx_metrics *metrics;
	char host[256];
	unsigned incarnation; /* sessions before this one: part of every id */
	struct onyx_zk *z;
	pthread_mutex_t mu;
	bool quit; /* under mu */
	int n;
	struct vpeer *p;
};

static bool
quitting(struct onyx_peers *ps)
{
	bool q;

	pthread_mutex_lock(&ps->mu);
	q = ps->quit;
	pthread_mutex_unlock(&ps->mu);
	return q;
}

/* Take the wake-up bytes: true when there were any. */
static bool
woken(struct vpeer *p)
{
	char buf[64];
	bool any = false;

	while (read(p->wake[0], buf, sizeof(buf)) > 0)
		any = true;
	return any;
}

/*
 * Wait ms, servicing the broker connection (heartbeats) when there is one;
 * a watch that fires (the peer's offer may have come) ends it early.
 */
static void
nap(struct vpeer *p, int ms)
{
	long long until = onyx_mono_ms() + ms;
	int st;

	while (!quitting(p->ps)) {
		long long left = until - onyx_mono_ms();
		int slice = left < 100 ? (int)left : 100;
		if (slice <= 0 || woken(p))
			return;
		if (p->a != NULL && !p->stop) {
			st = onyx_amqp_wait(p->a, slice, p->wake[0]);
			if (st < 0 && st != ONYX_EINTR) {
				onyx_log(ONYX_LOG_WARN,
				    "peer %s: broker connection lost: %s",
				    p->id, onyx_amqp_error(p->a));
				onyx_amqp_close(p->a);
				p->a = NULL;
			}
		} else {
			struct pollfd pf = {.fd = p->wake[0], .events = POLLIN};
			poll(&pf, 1, slice < 50 ? slice : 50);
		}
	}
}

/* Wake every idle peer: a watch fired. */
static void
wake_all(struct onyx_peers *ps)
{
	for (int i = 0; i < ps->n; i++)
		(void)!write(ps->p[i].wake[1], "w", 1);
}

static int
backoff(struct vpeer *p)
{
	p->backoff = p->backoff == 0 ? BACKOFF_MIN : p->backoff * 2;
	if (p->backoff > BACKOFF_MAX)
		p->backoff = BACKOFF_MAX;
	return p->backoff;
}

/*
 * Connect to the broker if not connected. The connection's container id is
 * the peer's id: the coordinator fences a dead peer by closing the broker
 * connections of that id before its task goes to another peer.
 */
static int
ensure_broker(struct vpeer *p, bool quiet)
{
	struct onyx_conf c = p->ps->conf;
	char err[1024];
	int st;

	if (p->a != NULL)
		return ONYX_OK;
	snprintf(c.container, sizeof(c.container), "%s", p->id);
	if ((st = onyx_amqp_connect(&c, 10000, &p->a, err, sizeof(err))) !=
	    ONYX_OK) {
		onyx_log(
		    ONYX_LOG_WARN, "peer %s: reconnecting: %s", p->id, err);
		p->a = NULL;
		return st;
	}
	onyx_amqp_set_interrupt(p->a, &p->stop);
	onyx_peermetrics_reconnect(p->ps->metrics, p->id);
	if (!quiet)
		onyx_log(
		    ONYX_LOG_INFO, "peer %s: reconnected to the broker", p->id);
	return ONYX_OK;
}

/* Answer the offer as with state (and reason), versioned. */
static int
answer(struct vpeer *p, const char *path, const json_t *as, int version,
    const char *state, const char *reason)
{
	json_t *v = json_deep_copy(as);
	char err[1024];
	int st;

	if (v == NULL)
		return ONYX_ERR;
	json_object_set_new(v, "state", json_string(state));
	if (reason != NULL)
		json_object_set_new(v, "reason", json_string(reason));
	json_object_set_new(v, "at", json_integer(onyx_cluster_now()));
	st = onyx_cluster_set(p->ps->z, path, v, version, err, sizeof(err));
	json_decref(v);
	if (st != ONYX_OK && st != ONYX_EVERSION && st != ONYX_ENOENT)
		onyx_log(ONYX_LOG_WARN, "peer %s: answering '%s': %s", p->id,
		    state, err);
	return st;
}

/*
 * Record what this peer did on the task, stats/<task>.<id> (always), then,
 * when it sealed or saw it done, the end of the task: done/<task> (once per
 * task). In this order this peer's counts are there when the job
 * completes; another peer of the task writes its own when it sees the end,
 * a moment later (onyx(7): the counts of a completed job may still rise).
 */
static void
record(struct vpeer *p, const char *job, const char *task, int end,
    const struct onyx_hop_stats *s)
{
	struct onyx_peers *ps = p->ps;
	char path[1024], err[1024];
	json_t *v;
	int st;

	if (s->read != 0 || s->written != 0 || s->dead != 0) {
		onyx_cluster_path(path, sizeof(path), ps->conf.cluster,
		    "jobs/%s/stats/%s.%s", job, task, p->id);
		v = json_pack("{s:s,s:I,s:I,s:I,s:I}", "task", task, "read",
		    (json_int_t)s->read, "written", (json_int_t)s->written,
		    "dead", (json_int_t)s->dead, "batches",
		    (json_int_t)s->batches);
		st = onyx_cluster_set(ps->z, path, v, -1, err, sizeof(err));
		if (st == ONYX_ENOENT)
			st = onyx_cluster_create(
			    ps->z, path, v, 0, err, sizeof(err));
		if (st == ONYX_EEXIST)
			st = onyx_cluster_set(
			    ps->z, path, v, -1, err, sizeof(err));
		json_decref(v);
		if (st != ONYX_OK)
			onyx_log(ONYX_LOG_WARN, "peer %s: %s", p->id, err);
	}
	if (end != ONYX_HOP_SEALED && end != ONYX_HOP_DONE)
		return;
	onyx_cluster_path(
	    path, sizeof(path), ps->conf.cluster, "jobs/%s/done/%s", job, task);
	v = json_pack("{s:s,s:s,s:I}", "peer", p->id, "end",
	    end == ONYX_HOP_SEALED ? "sealed" : "done", "at",
	    (json_int_t)onyx_cluster_now());
	st = onyx_cluster_create(ps->z, path, v, 0, err, sizeof(err));
	json_decref(v);
	if (st != ONYX_OK && st != ONYX_EEXIST)
		onyx_log(ONYX_LOG_WARN, "peer %s: %s", p->id, err);
}

/* Live counts while the task runs (lib/hop calls this once a second). */
static void
progress(void *ctx, const struct onyx_hop_stats *s)
{
	struct vpeer *p = ctx;
	struct onyx_hop_stats sum = *s;
	char job[256], task[256];

	pthread_mutex_lock(&p->ps->mu);
	snprintf(job, sizeof(job), "%s", p->job);
	snprintf(task, sizeof(task), "%s", p->task);
	pthread_mutex_unlock(&p->ps->mu);
	sum.read += p->base.read;
	sum.written += p->base.written;
	sum.dead += p->base.dead;
	sum.batches += p->base.batches;
	if (p->starved && s->batches > 0) {
		p->starved = false;
		onyx_log(ONYX_LOG_INFO,
		    "peer %s: task %s of job %s: the broker gives credit again: batches commit",
		    p->id, task, job);
	}
	record(p, job, task, ONYX_HOP_STOPPED, &sum);
}

/* A batch committed: the metrics (lib/hop calls this after each). */
static void
batch(void *ctx, const struct onyx_hop_stats *s, const struct onyx_hop_batch *b)
{
	struct vpeer *p = ctx;
	struct onyx_hop_stats sum = *s;

	/* p->job and p->task change only on this thread */
	sum.read += p->base.read;
	sum.written += p->base.written;
	sum.dead += p->base.dead;
	sum.batches += p->base.batches;
	onyx_peermetrics_counts(
	    p->ps->metrics, p->job, p->task, p->id, &sum, &p->shown);
	onyx_peermetrics_batch(p->ps->metrics, p->job, p->task, p->id, b);
}

/*
 * The broker connection broke while the task ran: the open transaction is
 * lost and rolls back on the broker. Reconnect with backoff, then confirm
 * the offer with a versioned write in ZooKeeper *after* connecting: a
 * coordinator that has found this peer dead fences it by closing its
 * connections before it gives the task away, so the write succeeding means
 * the new connection is one a fence would close. Returns ONYX_OK to run
 * again (*version bumped), or ONYX_EINTR when the peer must stop (stopped,
 * offer revoked or replaced). quiet: no log line when it worked (a retry
 * after a wait for credit, already logged once).
 */
static int
resume(struct vpeer *p, const char *path, const json_t *as, int *version,
    const char *job, const char *task, bool quiet)
{
	int st;

	onyx_amqp_close(p->a);
	p->a = NULL;
	onyx_peermetrics_state(p->ps->metrics, p->id, "reconnecting");
	while (!p->stop && !quitting(p->ps)) {
		nap(p, backoff(p));
		if (p->stop || quitting(p->ps))
			break;
		if (ensure_broker(p, quiet) != ONYX_OK)
			continue;
		st = answer(p, path, as, *version, "acked", NULL);
		if (st == ONYX_OK) {
			(*version)++;
			onyx_peermetrics_state(
			    p->ps->metrics, p->id, "running");
			if (quiet)
				return ONYX_OK;
			onyx_log(ONYX_LOG_INFO,
			    "peer %s: task %s of job %s: resumed after the broker connection came back",
			    p->id, task, job);
			return ONYX_OK;
		}
		if (st == ONYX_EVERSION || st == ONYX_ENOENT) {
			onyx_log(ONYX_LOG_INFO,
			    "peer %s: task %s of job %s: the offer was revoked while the broker was away: not resuming",
			    p->id, task, job);
			return ONYX_EINTR;
		}
		/* ZooKeeper unreachable or the session gone: no confirmation,
		 * no work; the monitor stops us if the session expired */
	}
	return ONYX_EINTR;
}

static void
set_running(struct vpeer *p, bool on, const char *job, const char *task,
    long long offer)
{
	pthread_mutex_lock(&p->ps->mu);
	p->running = on;
	if (on) {
		p->gen++;
		p->offer = offer;
		snprintf(p->job, sizeof(p->job), "%s", job);
		snprintf(p->task, sizeof(p->task), "%s", task);
	}
	/* a stop meant for the run just ended must not stop the next one */
	p->stop = p->ps->quit ? 1 : 0;
	pthread_mutex_unlock(&p->ps->mu);
	onyx_peermetrics_state(p->ps->metrics, p->id, on ? "running" : "idle");
}

/* Where a virtual peer says it holds aggregation state for a task. */
struct holdctx {
	struct vpeer *p;
	const char *job, *task;
};

/*
 * jobs/<job>/holders/<task>/<peer>, ephemeral: the task seals only once no
 * peer is left there (lib/hop); a dead peer's node goes with its session.
 */
static int
hold_cb(void *ctx, bool on, char *err, size_t errlen)
{
	struct holdctx *c = ctx;
	struct onyx_peers *ps = c->p->ps;
	char dir[1024], path[1400];
	int st;

	onyx_cluster_path(dir, sizeof(dir), ps->conf.cluster,
	    "jobs/%s/holders/%s", c->job, c->task);
	snprintf(path, sizeof(path), "%s/%s", dir, c->p->id);
	if (!on) {
		st = onyx_zk_delete(ps->z, path, -1, err, errlen);
		return st == ONYX_ENOENT ? ONYX_OK : st;
	}
	if ((st = onyx_zk_ensure_path(ps->z, dir, err, errlen)) != ONYX_OK)
		return st;
	st = onyx_zk_create(
	    ps->z, path, NULL, 0, ZOO_EPHEMERAL, NULL, 0, err, errlen);
	return st == ONYX_EEXIST ? ONYX_OK : st;
}

static int
holders_cb(void *ctx, int *n, char *err, size_t errlen)
{
	struct holdctx *c = ctx;
	struct onyx_peers *ps = c->p->ps;
	char dir[1024], **names;
	int st;

	onyx_cluster_path(dir, sizeof(dir), ps->conf.cluster,
	    "jobs/%s/holders/%s", c->job, c->task);
	st = onyx_zk_children(ps->z, dir, &names, n, err, errlen);
	if (st == ONYX_ENOENT) {
		*n = 0;
		return ONYX_OK;
	}
	if (st == ONYX_OK)
		onyx_zk_free_names(names);
	return st;
}

/* Resolve the C functions that group the task's egress queues. */
static int
group_fns(struct onyx_peers *ps, struct onyx_task_def *d, struct onyx_fnref *gf,
    int *ngf, char *err, size_t errlen)
{
	int i, st;

	*ngf = 0;
	for (i = 0; i < d->spec.negress; i++) {
		if (d->group_fn[i] == NULL)
			continue;
		if ((st = onyx_group_fn_resolve(d->group_fn[i], ps->fnpath,
		         &gf[*ngf], &d->groups[i].fn, err, errlen)) != ONYX_OK)
			return st;
		(*ngf)++;
	}
	/* keyed state: the task's own grouping, to find each bucket */
	if (d->own_fn != NULL) {
		if ((st = onyx_group_fn_resolve(d->own_fn, ps->fnpath,
		         &gf[*ngf], &d->own.fn, err, errlen)) != ONYX_OK)
			return st;
		(*ngf)++;
	}
	return ONYX_OK;
}

/*
 * admit_programs: every program the task would start (its onyx/exec, the
 * programs that group its egress) must be allowed by the peer's list;
 * each argv[0] becomes the real path matched, so exactly that file runs.
 * The paths go to a new array in *exes (NULL-ended, caller frees each and
 * it). Returns ONYX_OK, or an error with err saying which program and why.
 */
static int
admit_programs(struct onyx_peers *ps, struct onyx_task_def *d, char ***exes,
    char *err, size_t errlen)
{
	char exe[PATH_MAX];
	const char **argv;
	int i, n = 0, st;

	if ((*exes = calloc(d->spec.negress + 4, sizeof(**exes))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return ONYX_ERR;
	}
	for (i = -3; i < d->spec.negress; i++) {
		argv = i == -3 ? d->window_argv
		    : i == -2  ? d->own_argv
		    : i < 0    ? d->exec_argv
		               : d->gargv[i];
		if (argv == NULL)
			continue;
		if ((st = onyx_admit_program(ps->allow, argv[0], getenv("PATH"),
		         exe, sizeof(exe), err, errlen)) != ONYX_OK)
			return st;
		if (((*exes)[n] = strdup(exe)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return ONYX_ERR;
		}
		argv[0] = (*exes)[n++];
	}
	return ONYX_OK;
}

/* Run the task of one offer; returns the ms to wait before the next look. */
static int
run_offer(struct vpeer *p, const char *path, json_t *as, int version,
    const char *job, const char *task, long long offer)
{
	struct onyx_peers *ps = p->ps;
	struct onyx_task_def d;
	struct onyx_fnref f, *gf = NULL;
	struct holdctx hc = {p, job, task};
	struct onyx_hop_stats stats;
	int ngf = 0;
	char **exes = NULL;
	size_t i;
	json_t *plan = NULL;
	char ppath[1024], err[1024], herr[1024];
	const char *fn;
	bool have_def = false, have_fn = false;
	int st, end, attempts, wait = POLL_MS;
	bool starved;

	/* this thread's log lines carry the task until it leaves it */
	onyx_log_context(p->id, job, task);
	onyx_log(ONYX_LOG_INFO,
	    "peer %s: task %s of job %s: offered (offer %lld)", p->id, task,
	    job, offer);
	onyx_cluster_path(
	    ppath, sizeof(ppath), ps->conf.cluster, "jobs/%s", job);
	if ((st = onyx_cluster_get(ps->z, ppath, false, &plan, NULL, err,
	         sizeof(err))) != ONYX_OK)
		goto failed;
	/* admission: the plan is one onyx-plan makes, the programs are
	 * allowed, the libraries come from the function path; nothing of
	 * the task runs before all of it passes */
	if ((st = onyx_admit_plan(plan, job, err, sizeof(err))) != ONYX_OK)
		goto failed;
	if ((st = onyx_task_def_from_plan(plan, task, &d, err, sizeof(err))) !=
	    ONYX_OK)
		goto failed;
	have_def = true;
	if ((st = admit_programs(ps, &d, &exes, err, sizeof(err))) != ONYX_OK)
		goto failed;
	if (d.type != NULL && strcmp(d.type, "function") == 0)
		fn = d.fn;
	else {
		fn = "identity"; /* input and output tasks move segments */
		d.spec.exec_argv = NULL;
	}
	if (d.spec.exec_argv != NULL || d.spec.window != NULL)
		fn = NULL; /* a program (onyx/exec), a window: no C function */
	if (d.window_fn != NULL) {
		/* a window's C fold, and its optional SYM_merge */
		if ((st = onyx_fold_fn_resolve(d.window_fn, ps->fnpath, &f,
		         &d.spec.fold, &d.spec.fold_merge, err, sizeof(err))) !=
		    ONYX_OK)
			goto failed;
		have_fn = true;
	} else if (d.spec.exec_argv != NULL || d.spec.window != NULL)
		;
	else if (fn == NULL) {
		snprintf(err, sizeof(err),
		    "task '%s' has neither onyx/fn nor onyx/exec", task);
		goto failed;
	} else {
		if ((st = onyx_fn_resolve(
		         fn, ps->fnpath, &f, err, sizeof(err))) != ONYX_OK)
			goto failed;
		have_fn = true;
		d.spec.fn = f.fn;
		d.spec.init = f.init;
		d.spec.flush = f.flush;
		d.spec.fini = f.fini;
	}
	if ((gf = calloc(d.spec.negress + 1, sizeof(*gf))) == NULL) {
		snprintf(err, sizeof(err), "out of memory");
		goto failed;
	}
	if ((st = group_fns(ps, &d, gf, &ngf, err, sizeof(err))) != ONYX_OK)
		goto failed;
	d.spec.peer = p->id;
	d.spec.max_segment = ps->conf.max_segment;
	d.spec.hold = hold_cb;
	d.spec.holders = holders_cb;
	d.spec.hold_ctx = &hc;
	if (d.spec.exec_argv != NULL && getenv("ONYX_EXEC_TIMEOUT_MS") != NULL)
		d.spec.exec_timeout_ms = atoi(getenv("ONYX_EXEC_TIMEOUT_MS"));
	d.spec.progress = progress;
	d.spec.batch = batch;
	d.spec.progress_ctx = p;
	/* a benchmarking aid: ONYX_PIPELINE=0 commits each batch before the
	 * next is read */
	d.spec.no_pipeline = getenv("ONYX_PIPELINE") != NULL &&
	    strcmp(getenv("ONYX_PIPELINE"), "0") == 0;
	if (ensure_broker(p, false) != ONYX_OK) {
		/* not acked: the coordinator may offer it elsewhere */
		wait = backoff(p);
		goto out;
	}
	st = answer(p, path, as, version, "acked", NULL);
	if (st != ONYX_OK) {
		/* the offer changed under us: read it again at once */
		wait =
		    st == ONYX_EVERSION || st == ONYX_ENOENT ? 0 : backoff(p);
		goto out;
	}
	version++;
	onyx_log(ONYX_LOG_INFO, "peer %s: task %s of job %s: acked", p->id,
	    task, job);
	set_running(p, true, job, task, offer);
	memset(&p->base, 0, sizeof(p->base));
	memset(&p->shown, 0, sizeof(p->shown));
	for (attempts = 0;; attempts++) {
		end = onyx_hop_run(
		    p->a, &d.spec, &p->stop, &stats, herr, sizeof(herr));
		/* no credit in time (lib/amqp): the address is blocked or
		 * full, not the broker broken; retried for as long as it lasts */
		starved = end < 0 && onyx_amqp_alive(p->a) &&
		    onyx_amqp_starved(p->a) != NULL;
		if (stats.batches > 0 || starved)
			attempts = 0;
		p->base.read += stats.read;
		p->base.written += stats.written;
		p->base.dead += stats.dead;
		p->base.batches += stats.batches;
		p->base.requeues += stats.requeues;
		if (starved)
			onyx_peermetrics_credit_wait(
			    ps->metrics, job, task, p->id);
		if (end >= 0 || end == ONYX_EDATA || end == ONYX_EUSAGE ||
		    attempts >= RESUME_ATTEMPTS)
			break;
		if (p->stop) {
			end = ONYX_HOP_STOPPED;
			break;
		}
		if (starved && !p->starved)
			onyx_log(ONYX_LOG_WARN,
			    "peer %s: task %s of job %s: %s; the open batch rolls back and is retried with backoff until the broker gives credit",
			    p->id, task, job, herr);
		else if (!starved)
			onyx_log(ONYX_LOG_WARN,
			    "peer %s: task %s of job %s: broker trouble, the open batch rolls back: %s; reconnecting",
			    p->id, task, job, herr);
		p->starved = p->starved || starved;
		if (resume(p, path, as, &version, job, task, p->starved) !=
		    ONYX_OK) {
			end = ONYX_HOP_STOPPED;
			break;
		}
	}
	stats = p->base;
	p->starved = false;
	/* the last counts (a flush's too), then the job's series retire */
	onyx_peermetrics_counts(
	    ps->metrics, job, task, p->id, &stats, &p->shown);
	onyx_peermetrics_retire(ps->metrics, job, p->id, onyx_mono_ms());
	/* a wait cut short by a stop may have dropped the connection */
	if (p->a != NULL && !onyx_amqp_alive(p->a)) {
		onyx_amqp_close(p->a);
		p->a = NULL;
	}
	set_running(p, false, NULL, NULL, 0);
	if (end == ONYX_HOP_SEALED || end == ONYX_HOP_DONE) {
		onyx_log(ONYX_LOG_INFO,
		    "peer %s: task %s of job %s: %s (%llu read, %llu written in %llu batches)",
		    p->id, task, job,
		    end == ONYX_HOP_SEALED ? "sealed" : "done", stats.read,
		    stats.written, stats.batches);
		record(p, job, task, end, &stats);
		if (answer(p, path, as, version, "finished", NULL) ==
		    ONYX_EVERSION)
			onyx_log(ONYX_LOG_INFO,
			    "peer %s: task %s of job %s: the offer changed before 'finished'",
			    p->id, task, job);
	} else if (end == ONYX_HOP_STOPPED) {
		record(p, job, task, end, &stats);
		onyx_log(ONYX_LOG_INFO,
		    "peer %s: task %s of job %s: stopped (%llu read, %llu written)",
		    p->id, task, job, stats.read, stats.written);
	} else {
		onyx_log(ONYX_LOG_WARN,
		    "peer %s: task %s of job %s: failed: %s", p->id, task, job,
		    herr);
		answer(p, path, as, version, "failed", herr);
		if (end != ONYX_EDATA && end != ONYX_EUSAGE) {
			/* the connection may be broken: start afresh */
			onyx_amqp_close(p->a);
			p->a = NULL;
		}
	}
	p->backoff = 0;
	goto out;
failed:
	onyx_log(ONYX_LOG_WARN, "peer %s: task %s of job %s: failed: %s", p->id,
	    task, job, err);
	if (answer(p, path, as, version, "failed", err) == ONYX_EVERSION)
		wait = 0;
out:
	while (ngf > 0)
		onyx_fn_release(&gf[--ngf]);
	free(gf);
	if (have_fn)
		onyx_fn_release(&f);
	if (have_def)
		onyx_task_def_free(&d);
	for (i = 0; exes != NULL && exes[i] != NULL; i++)
		free(exes[i]);
	free(exes);
	json_decref(plan);
	onyx_log_context(p->id, NULL, NULL);
	return wait;
}

/* One look at assign/<id>; returns the ms to wait before the next. */
static int
step(struct vpeer *p)
{
	struct onyx_peers *ps = p->ps;
	char path[1024], err[1024];
	const char *state, *job, *task;
	json_t *as, *off;
	int st, version, wait;

	onyx_cluster_path(
	    path, sizeof(path), ps->conf.cluster, "assign/%s", p->id);
	/* watched: an offer written there wakes the nap at once */
	st = onyx_cluster_get(
	    ps->z, path, true, &as, &version, err, sizeof(err));
	if (st == ONYX_ENOENT) {
		if (onyx_zk_wexists(ps->z, path, true, err, sizeof(err)) ==
		    ONYX_OK)
			return 0; /* created meanwhile: read it now */
		return POLL_MS;
	}
	if (st != ONYX_OK) {
		if (st != ONYX_EEXPIRED)
			onyx_log(ONYX_LOG_WARN, "peer %s: %s", p->id, err);
		return backoff(p);
	}
	state = json_string_value(json_object_get(as, "state"));
	job = json_string_value(json_object_get(as, "job"));
	task = json_string_value(json_object_get(as, "task"));
	off = json_object_get(as, "offer");
	if (state == NULL || strcmp(state, "offered") != 0) {
		json_decref(as);
		return POLL_MS;
	}
	if (job == NULL || task == NULL || !json_is_integer(off)) {
		onyx_log(ONYX_LOG_WARN,
		    "peer %s: %s: an offer needs \"job\", \"task\" and \"offer\"",
		    p->id, path);
		answer(p, path, as, version, "failed",
		    "the offer lacks \"job\", \"task\" or \"offer\"");
		json_decref(as);
		return POLL_MS;
	}
	wait = run_offer(p, path, as, version, job, task,
	    (long long)json_integer_value(off));
	json_decref(as);
	return wait;
}

static void *
peer_main(void *arg)
{
	struct vpeer *p = arg;

	onyx_log_context(p->id, NULL, NULL);
	while (!quitting(p->ps))
		nap(p, step(p));
	return NULL;
}

/* Should the task p runs (job, offer) stop? Returns why, or NULL. */
static const char *
revoked(struct onyx_peers *ps, const char *id, const char *job, long long offer)
{
	char path[1024], err[1024];
	const char *why = NULL, *s;
	json_t *v;
	int st;

	onyx_cluster_path(
	    path, sizeof(path), ps->conf.cluster, "assign/%s", id);
	st = onyx_cluster_get(ps->z, path, false, &v, NULL, err, sizeof(err));
	if (st == ONYX_ENOENT)
		return "revoked";
	if (st == ONYX_OK) {
		json_t *o = json_object_get(v, "offer");
		if (!json_is_integer(o) || json_integer_value(o) != offer)
			why = "offer replaced";
		json_decref(v);
	}
	if (why != NULL || st != ONYX_OK)
		return why; /* a lost connection is no reason to stop */
	onyx_cluster_path(
	    path, sizeof(path), ps->conf.cluster, "jobs/%s/status", job);
	if (onyx_cluster_get(ps->z, path, false, &v, NULL, err, sizeof(err)) ==
	    ONYX_OK) {
		s = json_string_value(json_object_get(v, "status"));
		if (s != NULL && strcmp(s, "killed") == 0)
			why = "job killed";
		json_decref(v);
	}
	return why;
}

static void
monitor(struct onyx_peers *ps)
{
	int i;

	for (i = 0; i < ps->n; i++) {
		struct vpeer *p = &ps->p[i];
		char job[256];
		long long offer;
		unsigned gen;
		bool running;
		const char *why;

		pthread_mutex_lock(&ps->mu);
		running = p->running;
		gen = p->gen;
		offer = p->offer;
		snprintf(job, sizeof(job), "%s", p->job);
		pthread_mutex_unlock(&ps->mu);
		if (!running || (why = revoked(ps, p->id, job, offer)) == NULL)
			continue;
		pthread_mutex_lock(&ps->mu);
		if (p->running && p->gen == gen && !p->stop) {
			p->stop = 1;
			/* the monitor speaks for the peer: its line carries
			 * the peer's task */
			onyx_log_context(p->id, job, p->task);
			onyx_log(ONYX_LOG_INFO,
			    "peer %s: task %s of job %s: %s: stopping", p->id,
			    p->task, job, why);
			onyx_log_context(NULL, NULL, NULL);
		}
		pthread_mutex_unlock(&ps->mu);
	}
}

/* The ids of this incarnation: <host>-<pid>-<i>, then <host>-<pid>-<i>.<n>. */
static void
set_ids(struct onyx_peers *ps)
{
	int i;

	for (i = 0; i < ps->n; i++) {
		/* the series of the ids of the session that expired go */
		if (ps->p[i].id[0] != '\0')
			onyx_peermetrics_forget(ps->metrics, ps->p[i].id);
		if (ps->incarnation == 0)
			snprintf(ps->p[i].id, sizeof(ps->p[i].id), "%s-%ld-%d",
			    ps->host, (long)getpid(), i);
		else
			snprintf(ps->p[i].id, sizeof(ps->p[i].id),
			    "%s-%ld-%d.%u", ps->host, (long)getpid(), i,
			    ps->incarnation);
	}
}

/* Register every virtual peer as the ephemeral peers/<id>. */
static int
register_all(struct onyx_peers *ps, char *err, size_t errlen)
{
	char path[1024];
	int i, st;

	for (i = 0; i < ps->n; i++) {
		struct vpeer *p = &ps->p[i];
		json_t *v = json_pack("{s:s,s:s,s:I,s:I,s:I}", "id", p->id,
		    "host", ps->host, "pid", (json_int_t)getpid(),
		    "incarnation", (json_int_t)ps->incarnation, "at",
		    (json_int_t)onyx_cluster_now());
		onyx_cluster_path(
		    path, sizeof(path), ps->conf.cluster, "peers/%s", p->id);
		st = onyx_cluster_create(
		    ps->z, path, v, ZOO_EPHEMERAL, err, errlen);
		json_decref(v);
		if (st != ONYX_OK)
			return st;
		onyx_log(ONYX_LOG_INFO, "peer %s: registered", p->id);
		onyx_peermetrics_state(ps->metrics, p->id, "idle");
	}
	return ONYX_OK;
}

/*
 * Open a ZooKeeper session (waiting at most connect_ms) and make sure the
 * cluster's folders exist.
 */
static int
open_session(struct onyx_peers *ps, int connect_ms, char *err, size_t errlen)
{
	int st;

	if ((st = onyx_zk_connect(ps->conf.zk, ps->session_ms, connect_ms,
	         &ps->z, err, errlen)) != ONYX_OK) {
		ps->z = NULL;
		return st;
	}
	/* a call stuck on a lost connection must not outlive the session */
	onyx_zk_set_retry(ps->z, ps->session_ms);
	return onyx_cluster_init(ps->z, ps->conf.cluster, err, errlen);
}

/*
 * The session expired: every claim of the old one is gone and its peers
 * are dead to the coordinator, which fences them at the broker. Drop every
 * broker connection (open batches roll back), then register again under
 * new ids, as new peers, until it works or *stop.
 */
static int
renew(struct onyx_peers *ps, volatile sig_atomic_t *stop, char *err,
    size_t errlen)
{
	struct timespec ts = {0, 100 * 1000000L};
	int i, st, wait = BACKOFF_MIN, t;

	for (i = 0; i < ps->n; i++) {
		onyx_amqp_close(ps->p[i].a);
		ps->p[i].a = NULL;
		ps->p[i].backoff = 0;
	}
	onyx_zk_close(ps->z);
	ps->z = NULL;
	ps->incarnation++;
	set_ids(ps);
	while (!*stop) {
		if ((st = open_session(ps, 1000, err, errlen)) == ONYX_OK &&
		    (st = register_all(ps, err, errlen)) == ONYX_OK) {
			onyx_log(ONYX_LOG_WARN,
			    "recovered: a new ZooKeeper session, %d peer%s registered again as incarnation %u",
			    ps->n, ps->n == 1 ? "" : "s", ps->incarnation);
			return ONYX_OK;
		}
		onyx_log(ONYX_LOG_WARN, "registering again: %s", err);
		onyx_zk_close(ps->z);
		ps->z = NULL;
		for (t = 0; t < wait && !*stop; t += 100)
			nanosleep(&ts, NULL);
		wait = wait * 2 > BACKOFF_MAX ? BACKOFF_MAX : wait * 2;
	}
	snprintf(err, errlen, "stopped while registering again");
	return ONYX_EINTR;
}

int
onyx_peer_run(struct onyx_peers *ps, volatile sig_atomic_t *stop, char *err,
    size_t errlen)
{
	bool expired;
	int i, t;

	for (;;) {
		expired = false;
		/* a stop must not wait for ZooKeeper calls that retry */
		onyx_zk_set_interrupt(ps->z, stop);
		pthread_mutex_lock(&ps->mu);
		ps->quit = false;
		pthread_mutex_unlock(&ps->mu);
		for (i = 0; i < ps->n; i++) {
			ps->p[i].stop = 0;
			if (pthread_create(&ps->p[i].th, NULL, peer_main,
			        &ps->p[i]) != 0) {
				snprintf(
				    err, errlen, "cannot start a peer thread");
				*stop = 1;
				break;
			}
			ps->p[i].started = true;
		}
		while (!*stop) {
			if (onyx_zk_expired(ps->z)) {
				expired = true;
				break;
			}
			monitor(ps);
			/* a watch that fires wakes the idle peers (offers) */
			for (t = 0; t < WATCH_MS && !*stop; t += 50) {
				struct pollfd pf = {
				    .fd = onyx_zk_wake_fd(ps->z),
				    .events = POLLIN};
				if (poll(&pf, 1, 50) > 0) {
					onyx_zk_drain(ps->z);
					wake_all(ps);
				}
			}
		}
		if (expired)
			onyx_log(ONYX_LOG_WARN,
			    "the ZooKeeper session expired: every peer drops its task (open batches roll back) and registers again as a new peer");
		pthread_mutex_lock(&ps->mu);
		ps->quit = true;
		for (i = 0; i < ps->n; i++)
			ps->p[i].stop = 1;
		pthread_mutex_unlock(&ps->mu);
		for (i = 0; i < ps->n; i++)
			if (ps->p[i].started) {
				pthread_join(ps->p[i].th, NULL);
				ps->p[i].started = false;
			}
		if (!expired)
			return ONYX_OK;
		if (renew(ps, stop, err, errlen) != ONYX_OK)
			return *stop ? ONYX_OK : ONYX_EEXPIRED;
	}
}

int
onyx_peer_start(const struct onyx_peer_opts *o, struct onyx_peers **out,
    char *err, size_t errlen)
{
	struct onyx_peers *ps;
	int i, st;

	*out = NULL;
	if (o->npeers < 1) {
		snprintf(err, errlen, "at least one peer");
		return ONYX_EUSAGE;
	}
	if ((ps = calloc(1, sizeof(*ps))) == NULL ||
	    (ps->p = calloc(o->npeers, sizeof(*ps->p))) == NULL) {
		free(ps);
		snprintf(err, errlen, "out of memory");
		return ONYX_ERR;
	}
	ps->conf = *o->conf;
	ps->fnpath = o->fnpath;
	ps->allow = o->allow;
	ps->n = o->npeers;
	ps->session_ms = o->session_ms;
	ps->connect_ms = o->connect_ms;
	ps->metrics = o->metrics;
	onyx_peermetrics_define(ps->metrics);
	pthread_mutex_init(&ps->mu, NULL);
	if (gethostname(ps->host, sizeof(ps->host)) != 0 || ps->host[0] == '\0')
		snprintf(ps->host, sizeof(ps->host), "localhost");
	ps->host[sizeof(ps->host) - 1] = '\0';
	for (i = 0; i < ps->n; i++) {
		ps->p[i].ps = ps;
		ps->p[i].wake[0] = ps->p[i].wake[1] = -1;
	}
	for (i = 0; i < ps->n; i++)
		if (pipe2(ps->p[i].wake, O_CLOEXEC | O_NONBLOCK) != 0) {
			snprintf(err, errlen, "pipe: %s", onyx_strerror(errno));
			st = ONYX_ERR;
			goto fail;
		}
	set_ids(ps);
	if ((st = open_session(ps, ps->connect_ms, err, errlen)) != ONYX_OK)
		goto fail;
	for (i = 0; i < ps->n; i++) {
		struct vpeer *p = &ps->p[i];
		struct onyx_conf c = ps->conf;
		snprintf(c.container, sizeof(c.container), "%s", p->id);
		if ((st = onyx_amqp_connect(
		         &c, o->connect_ms, &p->a, err, errlen)) != ONYX_OK) {
			p->a = NULL;
			goto fail;
		}
		onyx_amqp_set_interrupt(p->a, &p->stop);
	}
	if ((st = register_all(ps, err, errlen)) != ONYX_OK)
		goto fail;
	*out = ps;
	return ONYX_OK;
fail:
	onyx_peer_close(ps);
	return st;
}

void
onyx_peer_close(struct onyx_peers *ps)
{
	int i;

	if (ps == NULL)
		return;
	for (i = 0; i < ps->n; i++) {
		onyx_amqp_close(ps->p[i].a);
		if (ps->p[i].wake[0] >= 0) {
			close(ps->p[i].wake[0]);
			close(ps->p[i].wake[1]);
		}
	}
	onyx_zk_close(ps->z);
	pthread_mutex_destroy(&ps->mu);
	free(ps->p);
	free(ps);
}
