/* lib/jobs.c: jobs in ZooKeeper: check and submit a plan, create its queues, kill, list, wait. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errstr.h"
#include "clock.h"
#include "cluster.h"
#include "jobs.h"
#include "names.h"
#include "plan.h"
#include "state.h"
#include "status.h"

/* Whether a is an array of non-empty strings. */
static bool
string_array(const json_t *a)
{
	size_t i;
	json_t *v;

	if (!json_is_array(a))
		return false;
	json_array_foreach(a, i, v)
	{
		if (!json_is_string(v) || json_string_length(v) == 0)
			return false;
	}
	return true;
}

int
onyx_jobs_check_plan(const json_t *plan, char *err, size_t errlen)
{
	static const char *keys[] = {"job", "tasks", "queues"};
	const char *missing[3], *job;
	json_t *tasks, *t;
	size_t i, n = 0;

	if (!json_is_object(plan)) {
		snprintf(err, errlen, "not a plan: a JSON object is expected");
		return ONYX_EDATA;
	}
	for (i = 0; i < 3; i++)
		if (json_object_get(plan, keys[i]) == NULL)
			missing[n++] = keys[i];
	if (n > 0) {
		size_t l = (size_t)snprintf(
		    err, errlen, "not a plan (the output of onyx-plan):");

		for (i = 0; i < n && l < errlen; i++)
			l += (size_t)snprintf(err + l, errlen - l,
			    "%s no \"%s\"", i > 0 ? "," : "", missing[i]);
		return ONYX_EDATA;
	}
	job = json_string_value(json_object_get(plan, "job"));
	if (job == NULL || !onyx_plan_name_valid(job)) {
		snprintf(err, errlen,
		    "plan: \"job\" is not a valid job id (1 to 64 of A-Z a-z 0-9 . _ -)");
		return ONYX_EDATA;
	}
	tasks = json_object_get(plan, "tasks");
	if (!json_is_array(tasks) || json_array_size(tasks) == 0) {
		snprintf(
		    err, errlen, "plan: \"tasks\" is not a non-empty array");
		return ONYX_EDATA;
	}
	json_array_foreach(tasks, i, t)
	{
		const char *name =
		    json_string_value(json_object_get(t, "name"));

		if (name == NULL || !onyx_plan_name_valid(name)) {
			snprintf(err, errlen,
			    "plan: tasks[%zu]: no valid \"name\"", i);
			return ONYX_EDATA;
		}
		if (!string_array(json_object_get(t, "ingress")) ||
		    !string_array(json_object_get(t, "egress"))) {
			snprintf(err, errlen,
			    "plan: tasks[%zu] (%s): \"ingress\" and \"egress\" must be arrays of queue names",
			    i, name);
			return ONYX_EDATA;
		}
	}
	if (!string_array(json_object_get(plan, "queues"))) {
		snprintf(err, errlen,
		    "plan: \"queues\" is not an array of queue names");
		return ONYX_EDATA;
	}
	json_array_foreach(json_object_get(plan, "queues"), i, t)
	{
		const char *q = json_string_value(t);

		if (onyx_names_kind(q) != ONYX_NAMES_EDGE ||
		    !onyx_names_of_job(q, job)) {
			snprintf(err, errlen,
			    "plan: queues[%zu]: '%s' is not the queue of an edge of job %s (onyx(7), Queues)",
			    i, q, job);
			return ONYX_EDATA;
		}
	}
	return ONYX_OK;
}

static int
add_all(json_t *set, const json_t *arr)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
	{
		if (json_is_string(v) &&
		    json_object_set_new(
		        set, json_string_value(v), json_null()) != 0)
			return -1;
	}
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * add_own: the queues the job of plan owns, into set: its edge queues (the
 * plan's "queues" that the naming scheme gives this job's edges) and each
 * task's seal, done and dead-letter queues, and the state queue of a task
 * with durable keyed state.
 */
static int
add_own(json_t *set, const json_t *plan)
{
	const char *job = json_string_value(json_object_get(plan, "job"));
	char q[ONYX_NAMES_LEN];
	json_t *t, *v;
	size_t i;

	if (job == NULL)
		return -1;
	json_array_foreach(json_object_get(plan, "queues"), i, v)
	{
		const char *e = json_string_value(v);

		if (e != NULL && onyx_names_kind(e) == ONYX_NAMES_EDGE &&
		    onyx_names_of_job(e, job) &&
		    json_object_set_new(set, e, json_null()) != 0)
			return -1;
	}
	json_array_foreach(json_object_get(plan, "tasks"), i, t)
	{
		const char *name =
		    json_string_value(json_object_get(t, "name"));
		char *(*const kinds[])(
		    char *, size_t, const char *, const char *) = {
		    onyx_names_seal, onyx_names_done, onyx_names_dlq};

		if (name == NULL)
			continue;
		for (size_t k = 0; k < 3; k++)
			if (kinds[k](q, sizeof(q), job, name) != NULL &&
			    json_object_set_new(set, q, json_null()) != 0)
				return -1;
		/* durable keyed state: its queue lives and goes with the job */
		if (onyx_state_mode_of_catalog(json_object_get(t, "catalog")) ==
		        ONYX_STATE_DURABLE &&
		    onyx_names_state(q, sizeof(q), job, name) != NULL &&
		    json_object_set_new(set, q, json_null()) != 0)
			return -1;
	}
	return 0;
}

/* sorted: the keys of set as a new sorted JSON array, NULL out of memory. */
static json_t *
sorted(const json_t *set)
{
	const char **names;
	const char *k;
	json_t *out = NULL, *v;
	size_t i, n = 0;

	if ((names = calloc(json_object_size(set) + 1, sizeof(*names))) == NULL)
		return NULL;
	json_object_foreach((json_t *)set, k, v) names[n++] = k;
	qsort(names, n, sizeof(*names), cmp_str);
	if ((out = json_array()) != NULL)
		for (i = 0; i < n; i++)
			if (json_array_append_new(out, json_string(names[i])) !=
			    0) {
				json_decref(out);
				out = NULL;
				break;
			}
	free(names);
	return out;
}

json_t *
onyx_jobs_queues(const json_t *plan)
{
	json_t *set = json_object(), *out = NULL, *t;
	size_t i;

	if (set == NULL || add_own(set, plan) != 0)
		goto done;
	json_array_foreach(json_object_get(plan, "tasks"), i, t)
	{
		if (add_all(set, json_object_get(t, "ingress")) != 0 ||
		    add_all(set, json_object_get(t, "egress")) != 0)
			goto done;
	}
	out = sorted(set);
done:
	json_decref(set);
	return out;
}

json_t *
onyx_jobs_own_queues(const json_t *plan)
{
	json_t *set = json_object(), *out = NULL;

	if (set != NULL && add_own(set, plan) == 0)
		out = sorted(set);
	json_decref(set);
	return out;
}

int
onyx_jobs_create_queues(struct onyx_mgmt *m, const json_t *plan, int *ncreated,
    char *queue, size_t queuelen, char *err, size_t errlen)
{
	json_t *qs = onyx_jobs_queues(plan), *v;
	const char **names;
	size_t i, failed = 0;
	int st;

	*ncreated = 0;
	if (qs == NULL) {
		snprintf(err, errlen, "out of memory");
		return ONYX_ERR;
	}
	if ((names = calloc(json_array_size(qs) + 1, sizeof(*names))) == NULL) {
		json_decref(qs);
		snprintf(err, errlen, "out of memory");
		return ONYX_ERR;
	}
	json_array_foreach(qs, i, v) names[i] = json_string_value(v);
	/* in one round trip: submitting is on the path of every job */
	st = onyx_mgmt_queue_ensure_all(
	    m, names, json_array_size(qs), &failed, err, errlen);
	if (st == ONYX_OK)
		*ncreated = (int)json_array_size(qs);
	else
		snprintf(queue, queuelen, "%s", names[failed]);
	free(names);
	json_decref(qs);
	return st;
}

/* The "status" string of record r, or dflt. */
static const char *
status_of(const json_t *r, const char *dflt)
{
	const char *s = json_string_value(json_object_get(r, "status"));

	return s ? s : dflt;
}

int
onyx_jobs_status(struct onyx_zk *z, const char *cluster, const char *job,
    bool watch, json_t **out, char *err, size_t errlen)
{
	char p[1024];
	int st;

	*out = NULL;
	onyx_cluster_path(p, sizeof(p), cluster, "jobs/%s/status", job);
	st = onyx_cluster_get(z, p, watch, out, NULL, err, errlen);
	if (st == ONYX_ENOENT) {
		/* a watch on a missing node: exists leaves one */
		if (watch)
			(void)onyx_zk_wexists(z, p, true, err, errlen);
		snprintf(err, errlen, "no job %s", job);
		return st;
	}
	if (st == ONYX_OK && !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		snprintf(err, errlen, "ZooKeeper %s: not a status record", p);
		return ONYX_EDATA;
	}
	return st;
}

bool
onyx_jobs_final(const char *s)
{
	return s != NULL &&
	    (strcmp(s, "completed") == 0 || strcmp(s, "failed") == 0 ||
	        strcmp(s, "killed") == 0);
}

int
onyx_jobs_submit(struct onyx_zk *z, const char *cluster, const json_t *plan,
    char *status, size_t statuslen, char *err, size_t errlen)
{
	const char *job = json_string_value(json_object_get(plan, "job"));
	char paths[6][1024];
	const char *pp[6], *data[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
	static const char *sub[] = {"", "/status", "/tasks", "/done", "/stats"};
	char *ptext, *stext;
	json_t *rec;
	int i, st;

	snprintf(status, statuslen, "unknown");
	if ((st = onyx_cluster_init(z, cluster, err, errlen)) != ONYX_OK)
		return st;
	ptext = json_dumps(plan, JSON_COMPACT | JSON_PRESERVE_ORDER);
	rec = json_pack("{s:s,s:I}", "status", "submitted", "at",
	    (json_int_t)onyx_cluster_now());
	stext =
	    rec ? json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(rec);
	if (ptext == NULL || stext == NULL) {
		free(ptext);
		free(stext);
		snprintf(err, errlen, "out of memory");
		return ONYX_ERR;
	}
	for (i = 0; i < 5; i++) {
		onyx_cluster_path(paths[i], sizeof(paths[i]), cluster,
		    "jobs/%s%s", job, sub[i]);
		pp[i] = paths[i];
	}
	/* the coordinator's working set: it lists live/, not jobs/ */
	onyx_cluster_path(paths[5], sizeof(paths[5]), cluster, "live/%s", job);
	pp[5] = paths[5];
	data[0] = ptext;
	data[1] = stext;
	st = onyx_zk_multi_create(z, 6, pp, data, err, errlen);
	free(ptext);
	free(stext);
	if (st == ONYX_EEXIST) {
		char e2[256];

		if (onyx_jobs_status(z, cluster, job, false, &rec, e2,
		        sizeof(e2)) == ONYX_OK)
			snprintf(
			    status, statuslen, "%s", status_of(rec, "unknown"));
		json_decref(rec);
		snprintf(err, errlen, "job %s was already submitted", job);
	}
	return st;
}

int
onyx_jobs_kill(struct onyx_zk *z, const char *cluster, const char *job,
    const char *reason, char *status, size_t statuslen, char *err,
    size_t errlen)
{
	char p[1024];
	json_t *rec, *nrec;
	json_int_t at, now;
	int st, version;

	snprintf(status, statuslen, "unknown");
	onyx_cluster_path(p, sizeof(p), cluster, "jobs/%s/status", job);
	for (;;) {
		st = onyx_cluster_get(z, p, false, &rec, &version, err, errlen);
		if (st == ONYX_ENOENT) {
			snprintf(err, errlen, "no job %s", job);
			return st;
		}
		/* an unreadable record is overwritten: killing must work */
		if (st != ONYX_OK && st != ONYX_EDATA)
			return st;
		snprintf(status, statuslen, "%s", status_of(rec, "unknown"));
		if (onyx_jobs_final(status_of(rec, NULL))) {
			json_decref(rec);
			snprintf(err, errlen,
			    "job %s has ended already (status %s)", job,
			    status);
			return ONYX_EDATA;
		}
		/*
		 * "at" stays the submission time (as onyx-coord keeps it);
		 * "changed" says when the status changed.
		 */
		now = onyx_cluster_now();
		at = json_is_integer(json_object_get(rec, "at"))
		    ? json_integer_value(json_object_get(rec, "at"))
		    : now;
		json_decref(rec);
		nrec = json_pack("{s:s,s:s,s:I,s:I}", "status", "killed",
		    "reason", reason, "at", (json_int_t)at, "changed",
		    (json_int_t)now);
		if (nrec == NULL)
			return ONYX_ERR;
		st = onyx_cluster_set(z, p, nrec, version, err, errlen);
		json_decref(nrec);
		if (st != ONYX_EVERSION)
			break;
		/* changed under us (the coordinator): look again */
	}
	if (st == ONYX_ENOENT)
		snprintf(err, errlen, "no job %s", job);
	return st;
}

static int
cmp_job(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	json_int_t tx = json_integer_value(json_object_get(x, "submitted"));
	json_int_t ty = json_integer_value(json_object_get(y, "submitted"));

	if (tx != ty)
		return tx < ty ? -1 : 1;
	return strcmp(json_string_value(json_object_get(x, "job")),
	    json_string_value(json_object_get(y, "job")));
}

int
onyx_jobs_list(struct onyx_zk *z, const char *cluster, json_t **out, char *err,
    size_t errlen)
{
	char p[1024], e2[256], **names;
	json_t **v, *arr;
	int i, n, st;

	*out = NULL;
	onyx_cluster_path(p, sizeof(p), cluster, "jobs");
	st = onyx_zk_children(z, p, &names, &n, err, errlen);
	if (st == ONYX_ENOENT) {
		*out = json_array();
		return *out ? ONYX_OK : ONYX_ERR;
	}
	if (st != ONYX_OK)
		return st;
	if ((v = calloc(n + 1, sizeof(*v))) == NULL) {
		onyx_zk_free_names(names);
		return ONYX_ERR;
	}
	for (i = 0; i < n; i++) {
		json_t *rec = NULL, *reason;

		(void)onyx_jobs_status(
		    z, cluster, names[i], false, &rec, e2, sizeof(e2));
		v[i] = json_pack("{s:s,s:s}", "job", names[i], "status",
		    status_of(rec, "unknown"));
		if ((reason = json_object_get(rec, "reason")) != NULL &&
		    !json_is_null(reason))
			json_object_set(v[i], "reason", reason);
		/* "at" is the submission time: onyx-coord keeps it */
		json_object_set_new(v[i], "submitted",
		    json_integer(
		        json_integer_value(json_object_get(rec, "at"))));
		json_decref(rec);
	}
	onyx_zk_free_names(names);
	qsort(v, n, sizeof(*v), cmp_job);
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	free(v);
	*out = arr;
	return arr ? ONYX_OK : ONYX_ERR;
}

int
onyx_jobs_wait(struct onyx_zk *z, const char *cluster, const char *job,
    int timeout_ms, volatile sig_atomic_t *stop, json_t **out, char *err,
    size_t errlen)
{
	return onyx_jobs_wait_tick(
	    z, cluster, job, timeout_ms, stop, NULL, NULL, out, err, errlen);
}

int
onyx_jobs_wait_tick(struct onyx_zk *z, const char *cluster, const char *job,
    int timeout_ms, volatile sig_atomic_t *stop,
    void (*tick)(void *ctx, const json_t *rec), void *ctx, json_t **out,
    char *err, size_t errlen)
{
	long long deadline = timeout_ms >= 0 ? onyx_mono_ms() + timeout_ms : -1;
	struct pollfd pfd;
	json_t *rec;
	int st, wait_ms;

	*out = NULL;
	for (;;) {
		onyx_zk_drain(z);
		/* re-arm the watch, then read: no change slips between */
		st = onyx_jobs_status(z, cluster, job, true, &rec, err, errlen);
		if (st != ONYX_OK)
			return st;
		json_decref(*out);
		*out = rec;
		if (tick != NULL)
			tick(ctx, rec);
		if (onyx_jobs_final(status_of(rec, NULL)))
			return ONYX_OK;
		if (stop != NULL && *stop)
			return ONYX_EINTR;
		wait_ms = 1000;
		if (deadline >= 0) {
			long long left = deadline - onyx_mono_ms();

			if (left <= 0) {
				snprintf(err, errlen,
				    "job %s: still %s after %d ms", job,
				    status_of(rec, "unknown"), timeout_ms);
				return ONYX_ETIMEDOUT;
			}
			if (left < wait_ms)
				wait_ms = (int)left;
		}
		pfd.fd = onyx_zk_wake_fd(z);
		pfd.events = POLLIN;
		if (poll(&pfd, 1, wait_ms) < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", onyx_strerror(errno));
			return ONYX_ERR;
		}
		if (stop != NULL && *stop)
			return ONYX_EINTR;
		if (onyx_zk_expired(z)) {
			snprintf(err, errlen, "the ZooKeeper session expired");
			return ONYX_EEXPIRED;
		}
	}
}
