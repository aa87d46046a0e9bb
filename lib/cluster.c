/* lib/cluster.c: paths and JSON records of the cluster's ZooKeeper tree; task specs from plans. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "cluster.h"
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
	    "jobs", "peers", "assign", "coord/election"};
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

char *
onyx_queue_seal(char *buf, size_t len, const char *job, const char *task)
{
	snprintf(buf, len, "onyx.%s.%s.seal", job, task);
	return buf;
}

char *
onyx_queue_done(char *buf, size_t len, const char *job, const char *task)
{
	snprintf(buf, len, "onyx.%s.%s.done", job, task);
	return buf;
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

static int
strings(json_t *arr, const char **out, int max)
{
	size_t i;
	json_t *v;
	int n = 0;

	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v) || n == max)
			return -1;
		out[n++] = json_string_value(v);
	}
	return n;
}

static int
int_or(json_t *o, const char *key, int dflt)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (int)json_integer_value(v) : dflt;
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
	d->spec.ningress =
	    strings(json_object_get(t, "ingress"), d->ingress, 64);
	d->spec.negress = strings(json_object_get(t, "egress"), d->egress, 64);
	if (d->spec.ningress < 1 || d->spec.negress < 1 ||
	    !json_is_object(cat)) {
		snprintf(err, errlen,
		    "task '%s' of the plan has no queues or "
		    "catalog",
		    task);
		return ONYX_EDATA;
	}
	d->spec.ingress = d->ingress;
	d->spec.egress = d->egress;
	d->spec.seal_queue =
	    onyx_queue_seal(d->seal, sizeof(d->seal), job, task);
	d->spec.done_queue =
	    onyx_queue_done(d->done, sizeof(d->done), job, task);
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
		int n = strings(
		    json_object_get(cat, "onyx/exec"), d->exec_argv, 64);
		if (n < 1) {
			snprintf(err, errlen,
			    "task '%s': onyx/exec must be 1 to 64 strings",
			    task);
			free(d->params);
			d->params = NULL;
			return ONYX_EDATA;
		}
		d->exec_argv[n] = NULL;
		d->spec.exec_argv = d->exec_argv;
	}
	d->type = json_string_value(json_object_get(t, "type"));
	cons = json_string_value(json_object_get(cat, "onyx/consumption"));
	d->sequential = cons != NULL && strcmp(cons, "sequential") == 0;
	d->plan = json_incref(plan);
	return ONYX_OK;
}

void
onyx_task_def_free(struct onyx_task_def *d)
{
	free(d->params);
	json_decref(d->plan);
	memset(d, 0, sizeof(*d));
}
