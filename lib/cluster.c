/* lib/cluster.c: paths and JSON records of the cluster's ZooKeeper tree; task specs from plans. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "cluster.h"
#include "names.h"
#include "state.h"
#include "status.h"

char *
onyx_cluster_path(
    char *buf, size_t len, const char *cluster, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(buf, len, "/onyx/%s", cluster);

	if (n < 0 || (size_t)n >= len)
		return buf;
	if (fmt != NULL && *fmt != '\0') {
		buf[n++] = '/';
		buf[n] = '\0';
		va_start(ap, fmt);
		vsnprintf(buf + n, len - n, fmt, ap);
		va_end(ap);
	}
	return buf;
}

int
onyx_cluster_init(
    struct onyx_zk *z, const char *cluster, char *err, size_t errlen)
{
	static const char *dirs[] = {
	    "jobs", "live", "history", "peers", "assign", "coord/election"};
	char p[512];
	size_t i;
	int st;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		onyx_cluster_path(p, sizeof(p), cluster, "%s", dirs[i]);
		if ((st = onyx_zk_ensure_path(z, p, err, errlen)) != ONYX_OK)
			return st;
	}
	return ONYX_OK;
}

int
onyx_cluster_get(struct onyx_zk *z, const char *path, bool watch, json_t **out,
    int *version, char *err, size_t errlen)
{
	json_error_t je;
	char *data;
	int len, st;

	*out = NULL;
	if ((st = onyx_zk_wget(
	         z, path, watch, &data, &len, version, err, errlen)) != ONYX_OK)
		return st;
	*out = json_loadb(data, len, JSON_DECODE_ANY, &je);
	free(data);
	if (*out == NULL) {
		snprintf(
		    err, errlen, "ZooKeeper %s: not JSON: %s", path, je.text);
		return ONYX_EDATA;
	}
	return ONYX_OK;
}

int
onyx_cluster_set(struct onyx_zk *z, const char *path, const json_t *v,
    int version, char *err, size_t errlen)
{
	char *text =
	    json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	int st;

	if (text == NULL)
		return ONYX_ERR;
	st =
	    onyx_zk_set(z, path, text, (int)strlen(text), version, err, errlen);
	free(text);
	return st;
}

int
onyx_cluster_create(struct onyx_zk *z, const char *path, const json_t *v,
    int flags, char *err, size_t errlen)
{
	char *text = v
	    ? json_dumps(
	          v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY)
	    : NULL;
	int st;

	if (v != NULL && text == NULL)
		return ONYX_ERR;
	st = onyx_zk_create(z, path, text, text ? (int)strlen(text) : 0, flags,
	    NULL, 0, err, errlen);
	free(text);
	return st;
}

long long
onyx_cluster_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

json_t *
onyx_plan_task(const json_t *plan, const char *task)
{
	json_t *tasks = json_object_get(plan, "tasks"), *t;
	size_t i;

	json_array_foreach(tasks, i, t)
	{
		const char *n = json_string_value(json_object_get(t, "name"));
		if (n != NULL && strcmp(n, task) == 0)
			return t;
	}
	return NULL;
}

/*
 * The strings of array arr in *out, a NULL-terminated array allocated to
 * size (the strings borrowed). Their number, or -1 when arr is not an
 * array of strings (*out NULL), or -2 when out of memory.
 */
static int
strings(json_t *arr, const char ***out)
{
	size_t i, n = json_array_size(arr);
	json_t *v;

	*out = NULL;
	if (!json_is_array(arr) || n > INT_MAX - 1)
		return -1;
	if ((*out = calloc(n + 1, sizeof(**out))) == NULL)
		return -2;
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v)) {
			free(*out);
			*out = NULL;
			return -1;
		}
		(*out)[i] = json_string_value(v);
	}
	return (int)n;
}

static int
int_or(json_t *o, const char *key, int dflt)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (int)json_integer_value(v) : dflt;
}

/* The task of plan reading queue q, or NULL. */
static json_t *
reader_of(json_t *plan, const char *q)
{
	json_t *t, *v;
	size_t i, k;

	json_array_foreach(json_object_get(plan, "tasks"), i, t)
	    json_array_foreach(
	        json_object_get(t, "ingress"), k, v) if (json_is_string(v) &&
	        strcmp(json_string_value(v), q) == 0) return t;
	return NULL;
}

/*
 * The grouping of task r into g (params into *params, a program's argv
 * into *argv, a C function's spec into *fnspec, each for the caller to
 * free or resolve). *grouped is false when r is not grouped. Returns
 * ONYX_OK, or ONYX_EDATA with err filled.
 */
static int
group_of_task(json_t *r, struct onyx_group *g, char **params,
    const char ***argvp, const char **fnspec, bool *grouped, char *err,
    size_t errlen)
{
	json_t *cat = json_object_get(r, "catalog"), *key, *fn, *pa;
	const char **argv;
	size_t k, n;

	*grouped = false;
	key = json_object_get(cat, "onyx/group-by-key");
	fn = json_object_get(cat, "onyx/group-by-fn");
	if (r == NULL || (key == NULL && fn == NULL))
		return ONYX_OK;
	g->task = json_string_value(json_object_get(r, "name"));
	pa = json_object_get(cat, "onyx/params");
	*params = pa ? json_dumps(pa, JSON_COMPACT | JSON_PRESERVE_ORDER)
	             : strdup("{}");
	if (*params == NULL)
		goto oom;
	g->params = *params;
	if (json_is_string(key))
		g->key = json_string_value(key);
	else if (json_is_string(fn))
		*fnspec = json_string_value(fn);
	else if (json_is_array(fn) && (n = json_array_size(fn)) > 0) {
		if ((argv = calloc(n + 1, sizeof(*argv))) == NULL)
			goto oom;
		*argvp = argv;
		for (k = 0; k < n; k++)
			if ((argv[k] = json_string_value(
			         json_array_get(fn, k))) == NULL) {
				snprintf(err, errlen,
				    "task '%s': onyx/group-by-fn must be \"lib.so:symbol\" or an argv array",
				    g->task);
				return ONYX_EDATA;
			}
		g->argv = argv;
	} else {
		snprintf(err, errlen,
		    "task '%s': onyx/group-by-key or onyx/group-by-fn is malformed",
		    g->task ? g->task : "?");
		return ONYX_EDATA;
	}
	*grouped = true;
	return ONYX_OK;
oom:
	snprintf(err, errlen, "out of memory");
	return ONYX_EDATA;
}

/* d->groups: how the reader of each egress queue groups its segments. */
static int
egress_groups(json_t *plan, struct onyx_task_def *d, char *err, size_t errlen)
{
	bool grouped;
	int i, st;

	for (i = 0; i < d->spec.negress; i++) {
		json_t *r = reader_of(plan, d->egress[i]);
		if ((st = group_of_task(r, &d->groups[i], &d->gparams[i],
		         &d->gargv[i], &d->group_fn[i], &grouped, err,
		         errlen)) != ONYX_OK)
			return st;
		if (grouped)
			d->egroup[i] = &d->groups[i];
	}
	d->spec.egress_group = d->egroup;
	return ONYX_OK;
}

int
onyx_task_def_from_plan(json_t *plan, const char *task, struct onyx_task_def *d,
    char *err, size_t errlen)
{
	json_t *t = onyx_plan_task(plan, task), *cat, *params;
	const char *job = json_string_value(json_object_get(plan, "job"));
	const char *cons;

	memset(d, 0, sizeof(*d));
	if (t == NULL || job == NULL) {
		snprintf(err, errlen, "the plan has no task '%s'", task);
		return ONYX_EDATA;
	}
	cat = json_object_get(t, "catalog");
	d->spec.name = json_string_value(json_object_get(t, "name"));
	d->spec.ningress = strings(json_object_get(t, "ingress"), &d->ingress);
	d->spec.negress = strings(json_object_get(t, "egress"), &d->egress);
	if (d->spec.ningress < 1 || d->spec.negress < 1 ||
	    !json_is_object(cat)) {
		snprintf(err, errlen,
		    "task '%s' of the plan has no queues or catalog", task);
		onyx_task_def_free(d);
		return ONYX_EDATA;
	}
	if ((d->groups = calloc(d->spec.negress, sizeof(*d->groups))) == NULL ||
	    (d->egroup = calloc(d->spec.negress, sizeof(*d->egroup))) == NULL ||
	    (d->group_fn = calloc(d->spec.negress, sizeof(*d->group_fn))) ==
	        NULL ||
	    (d->gparams = calloc(d->spec.negress, sizeof(*d->gparams))) ==
	        NULL ||
	    (d->gargv = calloc(d->spec.negress, sizeof(*d->gargv))) == NULL ||
	    (d->epacked = calloc(d->spec.negress, sizeof(bool))) == NULL ||
	    (d->ipacked = calloc(d->spec.ningress, sizeof(bool))) == NULL) {
		snprintf(err, errlen, "out of memory");
		onyx_task_def_free(d);
		return ONYX_ERR;
	}
	d->spec.ingress = d->ingress;
	d->spec.egress = d->egress;
	d->spec.seal_queue =
	    onyx_names_seal(d->seal, sizeof(d->seal), job, task);
	d->spec.done_queue =
	    onyx_names_done(d->done, sizeof(d->done), job, task);
	if (d->spec.seal_queue == NULL || d->spec.done_queue == NULL ||
	    onyx_names_dlq(d->dlq, sizeof(d->dlq), job, task) == NULL) {
		snprintf(err, errlen,
		    "task '%s' of job '%s': no queue names for it", task, job);
		return ONYX_EDATA;
	}
	d->spec.batch_size = int_or(cat, "onyx/batch-size", 1000);
	d->spec.batch_timeout_ms = int_or(cat, "onyx/batch-timeout", 1000);
	d->spec.txn_timeout_ms = 60000;
	params = json_object_get(cat, "onyx/params");
	d->params = params
	    ? json_dumps(params, JSON_COMPACT | JSON_PRESERVE_ORDER)
	    : strdup("{}");
	d->spec.params = d->params;
	d->fn = json_string_value(json_object_get(cat, "onyx/fn"));
	if (json_object_get(cat, "onyx/exec") != NULL) {
		int n =
		    strings(json_object_get(cat, "onyx/exec"), &d->exec_argv);
		if (n < 1) {
			snprintf(err, errlen,
			    "task '%s': onyx/exec must be a non-empty array of strings",
			    task);
			onyx_task_def_free(d);
			return n == -2 ? ONYX_ERR : ONYX_EDATA;
		}
		d->spec.exec_argv = d->exec_argv;
	}
	if ((d->spec.window = json_object_get(cat, "onyx/window")) != NULL) {
		json_t *agg = json_object_get(d->spec.window, "aggregate");
		d->window_fn = json_string_value(json_object_get(agg, "fn"));
		if (json_object_get(agg, "exec") != NULL) {
			int n = strings(
			    json_object_get(agg, "exec"), &d->window_argv);
			if (n < 1) {
				snprintf(err, errlen,
				    "task '%s': onyx/window.aggregate.exec must be a non-empty array of strings",
				    task);
				onyx_task_def_free(d);
				return n == -2 ? ONYX_ERR : ONYX_EDATA;
			}
			d->spec.window_argv = d->window_argv;
		}
	}
	d->spec.dlq_queue = d->dlq;
	d->spec.max_retries = int_or(cat, "onyx/max-retries", ONYX_MAX_RETRIES);
	if (egress_groups(plan, d, err, errlen) != ONYX_OK) {
		onyx_task_def_free(d);
		return ONYX_EDATA;
	}
	d->type = json_string_value(json_object_get(t, "type"));
	d->spec.user_ingress = d->type != NULL && strcmp(d->type, "input") == 0;
	/* frames between tasks always; to a user's queue when asked */
	for (int i = 0; i < d->spec.negress; i++)
		d->epacked[i] =
		    onyx_names_kind(d->egress[i]) == ONYX_NAMES_EDGE ||
		    json_is_true(json_object_get(cat, "onyx/packed"));
	for (int i = 0; i < d->spec.ningress; i++)
		d->ipacked[i] =
		    onyx_names_kind(d->ingress[i]) == ONYX_NAMES_EDGE;
	d->spec.egress_packed = d->epacked;
	d->spec.ingress_packed = d->ipacked;
	cons = json_string_value(json_object_get(cat, "onyx/consumption"));
	d->sequential = cons != NULL && strcmp(cons, "sequential") == 0;
	/* keyed state: the task's own grouping gives each segment's bucket */
	d->spec.state_mode = onyx_state_mode_of_catalog(cat);
	if (d->spec.state_mode != ONYX_STATE_NONE) {
		bool grouped;
		if (onyx_names_state(d->stateq, sizeof(d->stateq), job, task) ==
		        NULL ||
		    group_of_task(t, &d->own, &d->own_params, &d->own_argv,
		        &d->own_fn, &grouped, err, errlen) != ONYX_OK) {
			if (d->stateq[0] == '\0')
				snprintf(err, errlen,
				    "task '%s' of job '%s': no state queue name for it",
				    task, job);
			onyx_task_def_free(d);
			return ONYX_EDATA;
		}
		d->spec.state_queue = d->stateq;
		d->spec.group = grouped ? &d->own : NULL;
	}
	d->plan = json_incref(plan);
	return ONYX_OK;
}

void
onyx_task_def_free(struct onyx_task_def *d)
{
	free(d->params);
	for (int i = 0; i < d->spec.negress; i++) {
		if (d->gparams != NULL)
			free(d->gparams[i]);
		if (d->gargv != NULL)
			free(d->gargv[i]);
	}
	free(d->ingress);
	free(d->egress);
	free(d->exec_argv);
	free(d->window_argv);
	free(d->groups);
	free(d->egroup);
	free(d->group_fn);
	free(d->gparams);
	free(d->gargv);
	free(d->epacked);
	free(d->ipacked);
	free(d->own_params);
	free(d->own_argv);
	json_decref(d->plan);
	memset(d, 0, sizeof(*d));
}
