/* lib/watch.c: the state of a cluster read from ZooKeeper, as JSON, for onyx-watch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "status.h"
#include "watch.h"

/* One read pass: the session, the cluster and whether to leave watches. */
struct pass {
	struct onyx_zk *z;
	const char *cluster;
	bool watch;
	char *err;
	size_t errlen;
};

/*
 * The children of the cluster folder rel ("peers", "jobs/x/done").
 * A missing folder is empty (with watch, its creation is watched).
 */
static int
kids(struct pass *p, const char *rel, char ***names, int *n)
{
	char path[1024];
	int st;

	onyx_cluster_path(path, sizeof(path), p->cluster, "%s", rel);
	st = onyx_zk_wchildren(
	    p->z, path, p->watch, names, n, p->err, p->errlen);
	if (st == ONYX_ENOENT) {
		if (p->watch &&
		    (st = onyx_zk_wexists(
		         p->z, path, true, p->err, p->errlen)) == ONYX_OK)
			return kids(p, rel, names, n); /* created meanwhile */
		if (st != ONYX_ENOENT)
			return st;
		*names = calloc(1, sizeof(**names));
		*n = 0;
		return *names ? ONYX_OK : ONYX_ERR;
	}
	return st;
}

/*
 * The JSON record at the cluster path rel, or NULL when it is missing or
 * not JSON (*st says ONYX_OK then; another error in *st otherwise).
 */
static json_t *
record(struct pass *p, const char *rel, int *st)
{
	char path[1024];
	json_t *v = NULL;

	onyx_cluster_path(path, sizeof(path), p->cluster, "%s", rel);
	*st =
	    onyx_cluster_get(p->z, path, p->watch, &v, NULL, p->err, p->errlen);
	if (*st == ONYX_ENOENT && p->watch)
		*st = onyx_zk_wexists(p->z, path, true, p->err, p->errlen);
	if (*st == ONYX_ENOENT || *st == ONYX_EDATA)
		*st = ONYX_OK;
	return v;
}

static const char *
str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* The peer state an assign/<id> record shows. */
static const char *
peer_state(const json_t *assign)
{
	static const char *map[][2] = {{"offered", "acking"},
	    {"acked", "active"}, {"finished", "waiting"}, {"failed", "failed"}};
	const char *s;
	size_t i;

	if (assign == NULL)
		return "idle";
	if ((s = str(assign, "state")) == NULL)
		return "unknown";
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(s, map[i][0]) == 0)
			return map[i][1];
	return s;
}

/* json_object_set_new, but a NULL value becomes null. */
static void
put(json_t *o, const char *key, json_t *v)
{
	json_object_set_new(o, key, v ? v : json_null());
}

static json_t *
copy(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return v ? json_incref(v) : json_null();
}

/* peers: every registered peer with its assignment; *assigns by peer id. */
static int
read_peers(struct pass *p, json_t *peers, json_t *assigns)
{
	char **names, **anames, rel[512];
	int i, n, an, st;

	if ((st = kids(p, "assign", &anames, &an)) != ONYX_OK)
		return st;
	for (i = 0; i < an; i++) {
		json_t *a;

		snprintf(rel, sizeof(rel), "assign/%s", anames[i]);
		a = record(p, rel, &st);
		if (st != ONYX_OK) {
			onyx_zk_free_names(anames);
			return st;
		}
		if (json_is_object(a))
			json_object_set_new(assigns, anames[i], a);
		else
			json_decref(a);
	}
	onyx_zk_free_names(anames);
	if ((st = kids(p, "peers", &names, &n)) != ONYX_OK)
		return st;
	for (i = 0; i < n; i++) {
		json_t *r, *a = json_object_get(assigns, names[i]), *o;

		snprintf(rel, sizeof(rel), "peers/%s", names[i]);
		r = record(p, rel, &st);
		if (st != ONYX_OK)
			break;
		o = json_object();
		put(o, "id", json_string(names[i]));
		put(o, "host", copy(r, "host"));
		put(o, "pid", copy(r, "pid"));
		put(o, "state", json_string(peer_state(a)));
		put(o, "job", copy(a, "job"));
		put(o, "task", copy(a, "task"));
		json_array_append_new(peers, o);
		json_decref(r);
	}
	onyx_zk_free_names(names);
	return st;
}

/* The sums of "read", "written" and "dead" of the stats records, by task. */
static int
read_stats(struct pass *p, const char *job, json_t *stats)
{
	char **names, rel[1024];
	int i, n, st;

	snprintf(rel, sizeof(rel), "jobs/%s/stats", job);
	if ((st = kids(p, rel, &names, &n)) != ONYX_OK)
		return st;
	for (i = 0; i < n; i++) {
		json_t *r, *sum;
		const char *task;

		snprintf(rel, sizeof(rel), "jobs/%s/stats/%s", job, names[i]);
		r = record(p, rel, &st);
		if (st != ONYX_OK)
			break;
		if ((task = str(r, "task")) != NULL) {
			static const char *keys[] = {"read", "written", "dead"};
			if ((sum = json_object_get(stats, task)) == NULL) {
				sum = json_object();
				json_object_set_new(stats, task, sum);
			}
			for (size_t k = 0; k < 3; k++)
				json_object_set_new(sum, keys[k],
				    json_integer(
				        json_integer_value(
				            json_object_get(r, keys[k])) +
				        json_integer_value(
				            json_object_get(sum, keys[k]))));
		}
		json_decref(r);
	}
	onyx_zk_free_names(names);
	return st;
}

/* The ids of the peers assign says work on job's task. */
static json_t *
assigned(const json_t *assigns, const char *job, const char *task)
{
	json_t *ids = json_array(), *a;
	const char *id;

	json_object_foreach((json_t *)assigns, id, a)
	{
		const char *s = str(a, "state");

		if (str(a, "job") && str(a, "task") &&
		    strcmp(str(a, "job"), job) == 0 &&
		    strcmp(str(a, "task"), task) == 0 && s != NULL &&
		    (strcmp(s, "offered") == 0 || strcmp(s, "acked") == 0))
			json_array_append_new(ids, json_string(id));
	}
	return ids;
}

static int
read_job(struct pass *p, const char *job, const json_t *peers,
    const json_t *assigns, json_t **out)
{
	char rel[1024], **done;
	json_t *plan, *status, *o, *tasks, *stats, *t, *reason;
	const char *s, *why_task = NULL;
	size_t i;
	int st, ndone, idle = 0;

	*out = NULL;
	snprintf(rel, sizeof(rel), "jobs/%s", job);
	plan = record(p, rel, &st);
	if (st != ONYX_OK)
		return st;
	snprintf(rel, sizeof(rel), "jobs/%s/status", job);
	status = record(p, rel, &st);
	if (st != ONYX_OK) {
		json_decref(plan);
		return st;
	}
	snprintf(rel, sizeof(rel), "jobs/%s/done", job);
	if ((st = kids(p, rel, &done, &ndone)) != ONYX_OK) {
		json_decref(plan);
		json_decref(status);
		return st;
	}
	stats = json_object();
	if ((st = read_stats(p, job, stats)) != ONYX_OK)
		goto out;
	o = json_object();
	put(o, "job", json_string(job));
	s = str(status, "status") ? str(status, "status") : "unknown";
	put(o, "status", json_string(s));
	reason = json_object_get(status, "reason");
	if (reason != NULL && !json_is_null(reason))
		put(o, "reason", json_incref(reason));
	tasks = json_array();
	json_array_foreach(json_object_get(plan, "tasks"), i, t)
	{
		const char *name = str(t, "name");
		json_t *rec, *to, *ids, *sum;
		bool complete = false;
		int k;

		if (name == NULL)
			continue;
		for (k = 0; k < ndone; k++)
			complete = complete || strcmp(done[k], name) == 0;
		snprintf(rel, sizeof(rel), "jobs/%s/tasks/%s", job, name);
		rec = record(p, rel, &st);
		if (st != ONYX_OK) {
			json_decref(tasks);
			json_decref(o);
			goto out;
		}
		to = json_object();
		put(to, "name", json_string(name));
		put(to, "phase", copy(t, "phase"));
		put(to, "status",
		    json_string(complete         ? "complete"
		            : str(rec, "status") ? str(rec, "status")
		                                 : "waiting"));
		ids = json_object_get(rec, "peers");
		ids = json_is_array(ids) ? json_incref(ids)
		                         : assigned(assigns, job, name);
		if (!complete && json_array_size(ids) == 0 && why_task == NULL)
			why_task = name;
		put(to, "peers", ids);
		sum = json_object_get(stats, name);
		put(to, "read",
		    json_integer(
		        json_integer_value(json_object_get(sum, "read"))));
		put(to, "written",
		    json_integer(
		        json_integer_value(json_object_get(sum, "written"))));
		put(to, "dead",
		    json_integer(
		        json_integer_value(json_object_get(sum, "dead"))));
		put(to, "dead-letter", copy(t, "dead-letter"));
		put(to, "ingress", copy(t, "ingress"));
		put(to, "egress", copy(t, "egress"));
		json_array_append_new(tasks, to);
		json_decref(rec);
	}
	put(o, "tasks", tasks);
	json_array_foreach((json_t *)peers, i, t)
	{
		if (strcmp(str(t, "state"), "idle") == 0)
			idle++;
	}
	if ((strcmp(s, "submitted") == 0 || strcmp(s, "running") == 0) &&
	    why_task != NULL) {
		char why[512];

		snprintf(why, sizeof(why),
		    "task %s needs a peer: %d idle peer%s of %zu", why_task,
		    idle, idle == 1 ? "" : "s", json_array_size(peers));
		put(o, "why", json_string(why));
	} else if (strcmp(s, "failed") == 0 && json_is_string(reason))
		put(o, "why", json_incref(reason));
	*out = o;
out:
	onyx_zk_free_names(done);
	json_decref(stats);
	json_decref(plan);
	json_decref(status);
	return st;
}

/* The state of every job, or of the one job named only. */
static int
read_state(struct pass *p, const char *only, json_t **out)
{
	json_t *o, *peers = json_array(), *assigns = json_object(), *jobs;
	char **names;
	int i, n, st;

	*out = NULL;
	o = json_object();
	put(o, "cluster", json_string(p->cluster));
	put(o, "leader", record(p, "coord/leader", &st));
	if (st != ONYX_OK)
		goto fail;
	if ((st = read_peers(p, peers, assigns)) != ONYX_OK)
		goto fail;
	put(o, "peers", json_incref(peers));
	jobs = json_array();
	put(o, "jobs", jobs);
	if (only != NULL) {
		json_t *j;

		if ((st = read_job(p, only, peers, assigns, &j)) != ONYX_OK)
			goto fail;
		if (j != NULL)
			json_array_append_new(jobs, j);
	} else {
		if ((st = kids(p, "jobs", &names, &n)) != ONYX_OK)
			goto fail;
		for (i = 0; i < n; i++) {
			json_t *j;

			if ((st = read_job(p, names[i], peers, assigns, &j)) !=
			    ONYX_OK)
				break;
			if (j != NULL)
				json_array_append_new(jobs, j);
		}
		onyx_zk_free_names(names);
		if (st != ONYX_OK)
			goto fail;
	}
	json_decref(peers);
	json_decref(assigns);
	*out = o;
	return ONYX_OK;
fail:
	json_decref(peers);
	json_decref(assigns);
	json_decref(o);
	return st;
}

int
onyx_watch_state(struct onyx_zk *z, const char *cluster, bool watch,
    json_t **out, char *err, size_t errlen)
{
	struct pass p = {z, cluster, watch, err, errlen};

	return read_state(&p, NULL, out);
}

int
onyx_watch_job(struct onyx_zk *z, const char *cluster, const char *job,
    json_t **out, char *err, size_t errlen)
{
	struct pass p = {z, cluster, false, err, errlen};

	return read_state(&p, job, out);
}

/* Depth-first from path into arr. */
static int
tree(struct onyx_zk *z, const char *path, json_t *arr, char *err, size_t errlen)
{
	char **names, child[1024], *data;
	json_error_t je;
	json_t *v;
	int i, n, len, st;

	st = onyx_zk_children(z, path, &names, &n, err, errlen);
	if (st == ONYX_ENOENT)
		return ONYX_OK; /* gone while we looked (ephemeral) */
	if (st != ONYX_OK)
		return st;
	for (i = 0; i < n; i++) {
		snprintf(child, sizeof(child), "%s/%s", path, names[i]);
		st = onyx_zk_get(z, child, &data, &len, NULL, err, errlen);
		if (st == ONYX_ENOENT) {
			st = ONYX_OK;
			continue;
		}
		if (st != ONYX_OK)
			break;
		if (len == 0)
			v = json_null();
		else if ((v = json_loadb(data, len, JSON_DECODE_ANY, &je)) ==
		    NULL)
			v = json_stringn(data, len);
		free(data);
		json_array_append_new(arr,
		    json_pack("{s:s,s:o}", "path", child, "data",
		        v ? v : json_null()));
		if ((st = tree(z, child, arr, err, errlen)) != ONYX_OK)
			break;
	}
	onyx_zk_free_names(names);
	return st;
}

int
onyx_watch_tree(struct onyx_zk *z, const char *cluster, json_t **out, char *err,
    size_t errlen)
{
	char root[512];
	int st;

	if ((*out = json_array()) == NULL)
		return ONYX_ERR;
	onyx_cluster_path(root, sizeof(root), cluster, NULL);
	if ((st = tree(z, root, *out, err, errlen)) != ONYX_OK) {
		json_decref(*out);
		*out = NULL;
	}
	return st;
}
