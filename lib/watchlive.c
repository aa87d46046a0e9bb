/* lib/watchlive.c: the live fields of onyx-watch: read rates from successive states, ingress backlog from the broker. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amqp.h"
#include "clock.h"
#include "jobs.h"
#include "mgmt.h"
#include "progress.h"
#include "status.h"
#include "watch.h"

#define LIVE_CONNECT_MS 1000
#define LIVE_RETRY_MS 5000
/* what a history keeps: the sparkline's minute and the rate's window */
#define LIVE_KEEP_MS                                                           \
	((long long)ONYX_PROGRESS_BUCKETS * ONYX_PROGRESS_BUCKET_MS +          \
	    ONYX_PROGRESS_RATE_MS)

/* The read totals of one task of a live job. */
struct series {
	char *job, *task;
	struct onyx_progress_hist h;
	bool seen;
};

struct onyx_watch_live {
	const struct onyx_conf *conf;
	volatile sig_atomic_t *stop;
	struct onyx_amqp *a;
	struct onyx_mgmt *m;
	long long retry_at;
	char err[1024];
	bool failed;
	struct series *s;
	size_t n, cap;
};

struct onyx_watch_live *
onyx_watch_live_new(const struct onyx_conf *c, volatile sig_atomic_t *stop)
{
	struct onyx_watch_live *lv = calloc(1, sizeof(*lv));

	if (lv == NULL)
		return NULL;
	lv->conf = c;
	lv->stop = stop;
	return lv;
}

static void
drop_broker(struct onyx_watch_live *lv)
{
	onyx_mgmt_close(lv->m);
	onyx_amqp_close(lv->a);
	lv->m = NULL;
	lv->a = NULL;
}

void
onyx_watch_live_free(struct onyx_watch_live *lv)
{
	size_t i;

	if (lv == NULL)
		return;
	drop_broker(lv);
	for (i = 0; i < lv->n; i++) {
		free(lv->s[i].job);
		free(lv->s[i].task);
		onyx_progress_free(&lv->s[i].h);
	}
	free(lv->s);
	free(lv);
}

const char *
onyx_watch_live_error(const struct onyx_watch_live *lv)
{
	return lv->failed ? lv->err : NULL;
}

/* The management client, connecting when none is open (not before retry_at). */
static struct onyx_mgmt *
broker(struct onyx_watch_live *lv, long long now_ms)
{
	int st;

	if (lv->m != NULL)
		return lv->m;
	if (lv->failed && now_ms < lv->retry_at)
		return NULL;
	st = onyx_amqp_connect(
	    lv->conf, LIVE_CONNECT_MS, &lv->a, lv->err, sizeof(lv->err));
	if (st == ONYX_OK) {
		onyx_amqp_set_interrupt(lv->a, lv->stop);
		if ((st = onyx_mgmt_open(lv->a, &lv->m)) != ONYX_OK)
			snprintf(lv->err, sizeof(lv->err),
			    "cannot reach the broker's management: %s",
			    onyx_amqp_error(lv->a));
	}
	if (st != ONYX_OK) {
		drop_broker(lv);
		lv->failed = true;
		lv->retry_at = now_ms + LIVE_RETRY_MS;
		return NULL;
	}
	lv->failed = false;
	return lv->m;
}

/* The count attr of queue, or -1 when unknown (the connection dropped on
 * an error other than a missing queue). */
static long long
queue_attr(struct onyx_watch_live *lv, const char *queue, const char *attr,
    long long now_ms)
{
	char res[600], err[1024];
	long long v = -1;
	json_t *r;
	int st;

	if (broker(lv, now_ms) == NULL)
		return -1;
	snprintf(res, sizeof(res), "queue.%s", queue);
	st = onyx_mgmt_call(lv->m, res, attr, NULL, "[]", &r, err, sizeof(err));
	if (st == ONYX_OK) {
		if (json_is_integer(r))
			v = json_integer_value(r);
		else if (json_is_real(r))
			v = (long long)json_real_value(r);
		json_decref(r);
	} else if (st != ONYX_ENOENT && st != ONYX_EREJECTED) {
		snprintf(lv->err, sizeof(lv->err), "%s", err);
		drop_broker(lv);
		lv->failed = true;
		lv->retry_at = now_ms + LIVE_RETRY_MS;
	}
	return v;
}

/* The series of job's task, made when missing; NULL when out of memory. */
static struct series *
series_of(struct onyx_watch_live *lv, const char *job, const char *task)
{
	struct series *s;
	size_t i;

	for (i = 0; i < lv->n; i++)
		if (strcmp(lv->s[i].job, job) == 0 &&
		    strcmp(lv->s[i].task, task) == 0)
			return &lv->s[i];
	if (lv->n == lv->cap) {
		size_t cap = lv->cap ? lv->cap * 2 : 8;

		if ((s = reallocarray(lv->s, cap, sizeof(*s))) == NULL)
			return NULL;
		lv->s = s;
		lv->cap = cap;
	}
	s = &lv->s[lv->n];
	memset(s, 0, sizeof(*s));
	s->job = strdup(job);
	s->task = strdup(task);
	if (s->job == NULL || s->task == NULL) {
		free(s->job);
		free(s->task);
		return NULL;
	}
	lv->n++;
	return s;
}

static json_t *
real1(double v)
{
	return json_real((double)(long long)(v * 10 + 0.5) / 10);
}

static json_t *
count_or_null(long long v)
{
	return v < 0 ? json_null() : json_integer(v);
}

/* The live fields of task t of a running job (tasks: all its tasks). */
static long long
add_task(struct onyx_watch_live *lv, const char *job, const json_t *tasks,
    json_t *t, long long now_ms)
{
	const char *name = json_string_value(json_object_get(t, "name"));
	const json_t *in = json_object_get(t, "ingress"), *q;
	double b[ONYX_PROGRESS_BUCKETS], rate = -1;
	long long backlog = 0, inflight = 0, eta;
	bool input = onyx_progress_is_input(t);
	json_t *rates;
	struct series *s;
	size_t i;

	if (name != NULL && (s = series_of(lv, job, name)) != NULL) {
		s->seen = true;
		onyx_progress_add(&s->h, now_ms,
		    json_integer_value(json_object_get(t, "read")),
		    LIVE_KEEP_MS);
		rate = onyx_progress_rate(&s->h, ONYX_PROGRESS_RATE_MS);
		onyx_progress_buckets(&s->h, now_ms, ONYX_PROGRESS_BUCKETS,
		    ONYX_PROGRESS_BUCKET_MS, b);
		rates = json_array();
		for (i = 0; i < ONYX_PROGRESS_BUCKETS; i++)
			json_array_append_new(
			    rates, b[i] < 0 ? json_null() : real1(b[i]));
		json_object_set_new(t, "rates", rates);
	} else
		json_object_set_new(t, "rates", json_null());
	json_object_set_new(t, "rate", rate < 0 ? json_null() : real1(rate));
	if (json_array_size(in) == 0)
		backlog = inflight = -1;
	json_array_foreach(in, i, q)
	{
		const char *qn = json_string_value(q);
		long long held = 0, delivering = -1;

		if (qn != NULL && input)
			held = queue_attr(lv, qn, "messageCount", now_ms);
		if (qn != NULL && held >= 0 && inflight >= 0)
			delivering =
			    queue_attr(lv, qn, "deliveringCount", now_ms);
		backlog = held < 0 || backlog < 0 ? -1 : backlog + held;
		inflight = delivering < 0 ? -1 : inflight + delivering;
	}
	if (!input)
		backlog = onyx_progress_pending(tasks, t);
	json_object_set_new(t, "backlog", count_or_null(backlog));
	json_object_set_new(t, "inflight", count_or_null(inflight));
	eta = onyx_progress_eta(backlog, rate < 0 ? 0 : rate);
	json_object_set_new(t, "eta", count_or_null(eta));
	return eta;
}

void
onyx_watch_live_add(struct onyx_watch_live *lv, json_t *state, long long now_ms)
{
	json_t *j, *t;
	size_t i, k, w;

	lv->failed = lv->failed && lv->m == NULL;
	for (i = 0; i < lv->n; i++)
		lv->s[i].seen = false;
	json_array_foreach(json_object_get(state, "jobs"), i, j)
	{
		const char *job = json_string_value(json_object_get(j, "job"));
		const char *st =
		    json_string_value(json_object_get(j, "status"));
		const json_t *tasks = json_object_get(j, "tasks");
		bool ended = st == NULL || onyx_jobs_final(st) || job == NULL;
		long long eta = json_array_size(tasks) > 0 ? 0 : -1, e;

		json_array_foreach(tasks, k, t)
		{
			if (ended) {
				static const char *keys[] = {"rate", "backlog",
				    "inflight", "eta", "rates"};

				for (w = 0; w < sizeof(keys) / sizeof(keys[0]);
				     w++)
					json_object_set_new(
					    t, keys[w], json_null());
				continue;
			}
			e = add_task(lv, job, tasks, t, now_ms);
			eta = e < 0 || eta < 0 ? -1 : e > eta ? e : eta;
		}
		json_object_set_new(
		    j, "eta", ended ? json_null() : count_or_null(eta));
	}
	json_object_set_new(
	    state, "broker", lv->failed ? json_string(lv->err) : json_null());
	/* the history follows the live tasks */
	for (i = w = 0; i < lv->n; i++) {
		if (lv->s[i].seen) {
			lv->s[w++] = lv->s[i];
			continue;
		}
		free(lv->s[i].job);
		free(lv->s[i].task);
		onyx_progress_free(&lv->s[i].h);
	}
	lv->n = w;
}

/* How long, by steps of how much, the last progress line waits for counts. */
#define SETTLE_MS 5000
#define SETTLE_STEP_MS 100

int
onyx_watch_live_progress(struct onyx_watch_live *lv, struct onyx_zk *z,
    const char *cluster, const char *job, int width, char *buf, size_t len,
    char *err, size_t errlen)
{
	long long end = onyx_mono_ms() + SETTLE_MS;
	struct onyx_progress_job p;
	json_t *state, *j;
	int st;

	for (;;) {
		if ((st = onyx_watch_job(
		         z, cluster, job, &state, err, errlen)) != ONYX_OK)
			return st;
		j = json_array_get(json_object_get(state, "jobs"), 0);
		if (onyx_progress_settled(j) || onyx_mono_ms() >= end ||
		    (lv->stop != NULL && *lv->stop))
			break;
		json_decref(state);
		poll(NULL, 0, SETTLE_STEP_MS);
	}
	onyx_watch_live_add(lv, state, onyx_mono_ms());
	onyx_progress_of_job(j, &p);
	onyx_progress_line(&p, width, buf, len);
	json_decref(state);
	return ONYX_OK;
}

char *
onyx_watch_live_key(const json_t *state)
{
	json_t *c = json_deep_copy(state), *j, *t;
	size_t i, k;
	char *text;

	if (c == NULL)
		return NULL;
	json_array_foreach(json_object_get(c, "jobs"), i, j)
	{
		json_object_del(j, "eta");
		json_array_foreach(json_object_get(j, "tasks"), k, t)
		{
			json_object_del(t, "rate");
			json_object_del(t, "eta");
			json_object_del(t, "rates");
		}
	}
	text = json_dumps(c, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(c);
	return text;
}
