/* lib/tap.c: tapping an edge of a running job: repeated browses of its queue, each message shown once. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "errstr.h"
#include "clock.h"
#include "cluster.h"
#include "frame.h"
#include "jobs.h"
#include "json.h"
#include "log.h"
#include "names.h"
#include "queue.h"
#include "status.h"
#include "tap.h"
#include "wire.h"

/* credit of one drain: a look asks for this many messages at a time */
#define LOOK_CREDIT ONYX_FRAME_CREDIT

uint64_t
onyx_tap_hash(const void *p, size_t len)
{
	const unsigned char *b = p;
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h == 0 ? 1 : h;
}

static size_t
slot_of(const uint64_t *keys, size_t cap, uint64_t key)
{
	size_t i = (size_t)(key ^ (key >> 29)) & (cap - 1);

	while (keys[i] != 0 && keys[i] != key)
		i = (i + 1) & (cap - 1);
	return i;
}

/* Double the table of s (or make its first one). 0, or -1. */
static int
grow(struct onyx_tap_seen *s)
{
	size_t cap = s->cap ? s->cap * 2 : 64, i;
	uint64_t *keys = calloc(cap, sizeof(*keys));
	unsigned *counts = calloc(cap, sizeof(*counts));

	if (keys == NULL || counts == NULL) {
		free(keys);
		free(counts);
		return -1;
	}
	for (i = 0; i < s->cap; i++)
		if (s->keys[i] != 0) {
			size_t j = slot_of(keys, cap, s->keys[i]);
			keys[j] = s->keys[i];
			counts[j] = s->counts[i];
		}
	free(s->keys);
	free(s->counts);
	s->keys = keys;
	s->counts = counts;
	s->cap = cap;
	return 0;
}

unsigned
onyx_tap_seen_add(struct onyx_tap_seen *s, uint64_t key)
{
	size_t i;

	if (key == 0)
		key = 1;
	/* at most half full, so a probe ends soon */
	if ((s->n + 1) * 2 > s->cap && grow(s) != 0)
		return 0;
	i = slot_of(s->keys, s->cap, key);
	if (s->keys[i] == 0) {
		s->keys[i] = key;
		s->n++;
	}
	s->total++;
	return ++s->counts[i];
}

unsigned
onyx_tap_seen_count(const struct onyx_tap_seen *s, uint64_t key)
{
	size_t i;

	if (key == 0)
		key = 1;
	if (s->cap == 0)
		return 0;
	i = slot_of(s->keys, s->cap, key);
	return s->keys[i] == key ? s->counts[i] : 0;
}

int
onyx_tap_seen_merge(struct onyx_tap_seen *dst, const struct onyx_tap_seen *src)
{
	size_t i;

	for (i = 0; i < src->cap; i++) {
		unsigned have;
		if (src->keys[i] == 0)
			continue;
		have = onyx_tap_seen_count(dst, src->keys[i]);
		while (have < src->counts[i])
			if ((have = onyx_tap_seen_add(dst, src->keys[i])) == 0)
				return -1;
	}
	return 0;
}

void
onyx_tap_seen_clear(struct onyx_tap_seen *s)
{
	if (s->cap > 0) {
		memset(s->keys, 0, s->cap * sizeof(*s->keys));
		memset(s->counts, 0, s->cap * sizeof(*s->counts));
	}
	s->n = 0;
	s->total = 0;
}

void
onyx_tap_seen_free(struct onyx_tap_seen *s)
{
	free(s->keys);
	free(s->counts);
	memset(s, 0, sizeof(*s));
}

int
onyx_tap_plan_edge(const json_t *plan, const char *from, const char *to,
    char *queue, size_t qlen, char *err, size_t errlen)
{
	const char *job = json_string_value(json_object_get(plan, "job"));
	json_t *wf = json_object_get(plan, "workflow"), *e;
	size_t i, at;

	if (job == NULL || !json_is_array(wf)) {
		snprintf(err, errlen, "the plan has no %s",
		    job == NULL ? "job id" : "workflow");
		return ONYX_EDATA;
	}
	json_array_foreach(wf, i, e)
	{
		const char *f = json_string_value(json_array_get(e, 0));
		const char *t = json_string_value(json_array_get(e, 1));
		if (f != NULL && t != NULL && strcmp(f, from) == 0 &&
		    strcmp(t, to) == 0) {
			if (onyx_names_edge(queue, qlen, job, from, to) ==
			    NULL) {
				snprintf(err, errlen,
				    "job '%s': no queue name for the edge %s -> %s",
				    job, from, to);
				return ONYX_EDATA;
			}
			return ONYX_OK;
		}
	}
	at = (size_t)snprintf(err, errlen,
	    "job '%s' has no edge %s -> %s; its edges: ", job, from, to);
	json_array_foreach(wf, i, e)
	{
		const char *f = json_string_value(json_array_get(e, 0));
		const char *t = json_string_value(json_array_get(e, 1));
		if (at >= errlen || f == NULL || t == NULL)
			continue;
		at += (size_t)snprintf(err + at, errlen - at, "%s%s -> %s",
		    i > 0 ? ", " : "", f, t);
	}
	if (json_array_size(wf) == 0 && at < errlen)
		snprintf(err + at, errlen - at, "none");
	return ONYX_ENOENT;
}

int
onyx_tap_find_edge(struct onyx_zk *z, const char *cluster, const char *job,
    const char *from, const char *to, char *queue, size_t qlen, char *status,
    size_t statuslen, char *err, size_t errlen)
{
	char path[1024], e[512];
	json_t *plan = NULL, *rec = NULL;
	const char *s;
	int st;

	snprintf(status, statuslen, "unknown");
	onyx_cluster_path(path, sizeof(path), cluster, "jobs/%s", job);
	if ((st = onyx_cluster_get(
	         z, path, false, &plan, NULL, e, sizeof(e))) != ONYX_OK) {
		if (st == ONYX_ENOENT)
			snprintf(err, errlen,
			    "no job '%s' in cluster '%s' (%s)", job, cluster,
			    path);
		else
			snprintf(err, errlen,
			    "reading the plan of job '%s': %s", job, e);
		return st;
	}
	st = onyx_tap_plan_edge(plan, from, to, queue, qlen, err, errlen);
	json_decref(plan);
	if (st != ONYX_OK)
		return st;
	if (onyx_jobs_status(z, cluster, job, false, &rec, e, sizeof(e)) ==
	        ONYX_OK &&
	    (s = json_string_value(json_object_get(rec, "status"))) != NULL)
		snprintf(status, statuslen, "%s", s);
	json_decref(rec);
	return ONYX_OK;
}

/* The broker's id of queue: a queue deleted and made again has a new one. */
static int
queue_id(struct onyx_mgmt *m, const char *queue, long long *id, char *err,
    size_t errlen)
{
	char res[600];
	json_t *v;
	int st;

	snprintf(res, sizeof(res), "queue.%s", queue);
	st = onyx_mgmt_call(m, res, "ID", NULL, "[]", &v, err, errlen);
	if (st == ONYX_ENOENT || st == ONYX_EREJECTED) {
		snprintf(err, errlen, "queue '%s' does not exist", queue);
		return ONYX_ENOENT;
	}
	if (st != ONYX_OK)
		return st;
	*id = json_is_integer(v) ? json_integer_value(v) : -1;
	json_decref(v);
	return ONYX_OK;
}

/*
 * After a look the queue has another id: the job's queue was deleted and
 * our browser's attach made a new one. Delete it when it never held a
 * message (a producer of the old job may have written to it since: then
 * it stays for the cleanup of whoever owns it).
 */
static void
drop_remade(struct onyx_mgmt *m, const char *queue)
{
	char res[600], e[512];
	json_t *v = NULL;

	snprintf(res, sizeof(res), "queue.%s", queue);
	if (onyx_mgmt_call(m, res, "messagesAdded", NULL, "[]", &v, e,
	        sizeof(e)) == ONYX_OK &&
	    json_is_integer(v) && json_integer_value(v) == 0)
		(void)onyx_mgmt_queue_delete(m, queue, e, sizeof(e));
	json_decref(v);
}

struct look {
	const struct onyx_tap_opts *o;
	struct onyx_tap_result *res;
	struct onyx_wire *w;
	struct onyx_tap_seen *prev, *cur;
	bool fresh;  /* a new segment was shown in this look */
	bool newmsg; /* a message the look before did not hold */
};

/* Whether segment seg[0..len) may be shown: a JSON object within the limit. */
static bool
showable(const struct onyx_tap_opts *o, const char *seg, size_t len)
{
	char why[256];

	return (o->max_segment == 0 || len <= o->max_segment) &&
	    onyx_json_check_object(seg, len, why, sizeof(why)) == ONYX_OK;
}

/* Write one segment, counting it. ONYX_OK, or ONYX_EIO. */
static int
show(struct look *k, const char *seg, size_t len, char *err, size_t errlen)
{
	if (!showable(k->o, seg, len)) {
		k->res->skipped++;
		return ONYX_OK;
	}
	if (onyx_queue_write_segment(k->o->out, seg, len) != 0) {
		snprintf(err, errlen, "writing the output: %s",
		    onyx_strerror(errno));
		return ONYX_EIO;
	}
	k->res->shown++;
	k->fresh = true;
	return ONYX_OK;
}

static bool
count_reached(const struct look *k)
{
	return k->o->count > 0 && k->res->shown >= k->o->count;
}

/*
 * One browsed message: counted in this look, and shown when the look
 * before held fewer of it. ONYX_OK, or ONYX_EIO.
 */
static int
take_message(
    struct look *k, const struct onyx_amqp_msg *m, char *err, size_t errlen)
{
	enum onyx_wire_kind kind;
	const char *body;
	size_t len;
	uint64_t key;
	unsigned n;
	char why[256];
	int st = ONYX_OK;

	if (m->total > m->size ||
	    onyx_wire_decode(k->w, m->bytes, m->size, &kind, &body, &len, why,
	        sizeof(why)) != ONYX_OK) {
		/* over the limit, or not ours: known by its bytes */
		key = onyx_tap_hash(m->bytes, m->size);
		if ((n = onyx_tap_seen_add(k->cur, key)) == 0)
			goto nomem;
		if (n > onyx_tap_seen_count(k->prev, key)) {
			k->res->skipped++;
			k->newmsg = true;
		}
		return ONYX_OK;
	}
	if (kind == ONYX_WIRE_SENTINEL)
		return ONYX_OK;
	key = onyx_tap_hash(body != NULL ? body : "", body != NULL ? len : 0);
	if ((n = onyx_tap_seen_add(k->cur, key)) == 0)
		goto nomem;
	if (n <= onyx_tap_seen_count(k->prev, key))
		return ONYX_OK; /* the look before showed it */
	k->newmsg = true;
	if (kind == ONYX_WIRE_FRAME) {
		struct onyx_frame_reader r;
		const char *seg;
		size_t slen;

		if (onyx_frame_open(&r, body, len, 0, why, sizeof(why)) !=
		    ONYX_OK) {
			k->res->skipped++;
			return ONYX_OK;
		}
		while (st == ONYX_OK && !count_reached(k) &&
		    onyx_frame_next(&r, &seg, &slen, why, sizeof(why)) == 1)
			st = show(k, seg, slen, err, errlen);
	} else if (body != NULL)
		st = show(k, body, len, err, errlen);
	else
		k->res->skipped++;
	if (st == ONYX_OK && fflush(k->o->out) != 0) {
		snprintf(err, errlen, "writing the output: %s",
		    onyx_strerror(errno));
		st = ONYX_EIO;
	}
	return st;
nomem:
	snprintf(err, errlen, "browsing '%s': out of memory", k->o->queue);
	return ONYX_ERR;
}

/*
 * One look: browse the queue from head to end (drain by drain, until a
 * drain brings fewer messages than its credit), k->cur filled. ONYX_OK,
 * ONYX_EINTR, ONYX_EIO or the connection's error.
 */
static int
look(struct onyx_amqp *a, struct look *k, char *err, size_t errlen)
{
	struct onyx_link *l = NULL;
	int st, got;

	if ((st = onyx_amqp_browser(a, k->o->queue, &l)) != ONYX_OK) {
		snprintf(err, errlen, "cannot browse '%s': %s", k->o->queue,
		    onyx_amqp_error(a));
		return st;
	}
	/* a frame may be longer than one segment is allowed to be */
	if (k->o->max_segment > 0)
		onyx_amqp_set_max_message(l,
		    (k->o->max_segment > ONYX_FRAME_MAX_DEFAULT
		            ? k->o->max_segment
		            : ONYX_FRAME_MAX_DEFAULT) +
		        ONYX_WIRE_SLACK);
	do {
		struct onyx_amqp_msg m;

		if ((st = onyx_amqp_drain(l, LOOK_CREDIT, k->o->answer_ms)) !=
		    ONYX_OK) {
			if (st != ONYX_EINTR)
				snprintf(err, errlen, "browsing '%s': %s",
				    k->o->queue, onyx_amqp_error(a));
			break;
		}
		for (got = 0; (st = onyx_amqp_recv(l, 0, &m)) == ONYX_OK;
		     got++) {
			/* settled at once, outside a transaction: the queue
			 * keeps the message (the broker only browses it) */
			int ts = take_message(k, &m, err, errlen);
			if (ts == ONYX_OK)
				ts = onyx_amqp_accept(a, &m);
			if (ts != ONYX_OK) {
				st = ts;
				goto out;
			}
			if (count_reached(k))
				goto out;
		}
		if (st != ONYX_ETIMEDOUT) {
			if (st != ONYX_EINTR)
				snprintf(err, errlen, "browsing '%s': %s",
				    k->o->queue, onyx_amqp_error(a));
			break;
		}
		st = ONYX_OK;
	} while (got > 0);
out:
	onyx_log(ONYX_LOG_DEBUG, "tap: look %llu of '%s': %zu messages",
	    k->res->looks + 1, k->o->queue, k->cur->total);
	onyx_amqp_link_close(l);
	return st;
}

int
onyx_tap_run(struct onyx_amqp *a, struct onyx_mgmt *m,
    const struct onyx_tap_opts *o, struct onyx_tap_result *res, char *err,
    size_t errlen)
{
	struct onyx_tap_seen s1 = {0}, s2 = {0};
	struct look k = {.o = o, .res = res, .prev = &s1, .cur = &s2};
	long long id0, id, last_new = onyx_mono_ms();
	int st;

	memset(res, 0, sizeof(*res));
	if ((k.w = onyx_wire_new()) == NULL)
		return ONYX_ERR;
	if ((st = queue_id(m, o->queue, &id0, err, errlen)) != ONYX_OK)
		goto out;
	for (;;) {
		long long start = onyx_mono_ms(), took, wait;
		struct onyx_tap_seen *t;

		k.fresh = k.newmsg = false;
		onyx_tap_seen_clear(k.cur);
		st = look(a, &k, err, errlen);
		took = onyx_mono_ms() - start;
		res->looks++;
		if (st == ONYX_EINTR) {
			res->end = ONYX_TAP_INTERRUPTED;
			st = ONYX_OK;
			break;
		}
		/* a look that failed because the queue went (the broker
		 * detached the browser, or no longer answers its drains):
		 * the job ended */
		if (st != ONYX_OK && st != ONYX_EIO && onyx_amqp_alive(a)) {
			char e2[512];
			int qs = queue_id(m, o->queue, &id, e2, sizeof(e2));
			if (qs == ONYX_OK && id != id0)
				drop_remade(m, o->queue);
			if (qs == ONYX_ENOENT || (qs == ONYX_OK && id != id0)) {
				res->end = ONYX_TAP_GONE;
				st = ONYX_OK;
				break;
			}
		}
		if (st != ONYX_OK)
			break;
		if (count_reached(&k)) {
			res->end = ONYX_TAP_COUNT;
			break;
		}
		/* a look with nothing new may have ended early: what it
		 * did not reach stays known */
		if (!k.newmsg && onyx_tap_seen_merge(k.cur, k.prev) != 0) {
			snprintf(err, errlen, "browsing '%s': out of memory",
			    o->queue);
			st = ONYX_ERR;
			break;
		}
		/* this look is the one the next compares with */
		t = k.prev;
		k.prev = k.cur;
		k.cur = t;
		/* gone, or made again by our attach once the job's was gone */
		st = queue_id(m, o->queue, &id, err, errlen);
		if (st == ONYX_OK && id != id0)
			drop_remade(m, o->queue);
		if (st == ONYX_ENOENT || (st == ONYX_OK && id != id0)) {
			res->end = ONYX_TAP_GONE;
			st = ONYX_OK;
			break;
		}
		if (st != ONYX_OK)
			break;
		if (k.fresh)
			last_new = onyx_mono_ms();
		if (o->timeout_ms >= 0 &&
		    onyx_mono_ms() - last_new >= o->timeout_ms) {
			res->end = ONYX_TAP_TIMEOUT;
			break;
		}
		/* the next look: interval_ms after this one began, and at
		 * least as long after it ended as it took (browsing costs
		 * what waits on the edge: at most half the time browsing) */
		wait = start + o->interval_ms - onyx_mono_ms();
		if (wait < took)
			wait = took;
		if (o->timeout_ms >= 0 &&
		    last_new + o->timeout_ms - onyx_mono_ms() < wait)
			wait = last_new + o->timeout_ms - onyx_mono_ms();
		if (wait > 0 && (st = onyx_amqp_wait(a, (int)wait, -1)) < 0) {
			if (st == ONYX_EINTR) {
				res->end = ONYX_TAP_INTERRUPTED;
				st = ONYX_OK;
			} else
				snprintf(err, errlen, "tapping '%s': %s",
				    o->queue, onyx_amqp_error(a));
			break;
		}
		st = ONYX_OK;
		/* the queue still there before the next attach */
		if ((st = queue_id(m, o->queue, &id, err, errlen)) ==
		        ONYX_ENOENT ||
		    (st == ONYX_OK && id != id0)) {
			res->end = ONYX_TAP_GONE;
			st = ONYX_OK;
			break;
		}
		if (st != ONYX_OK)
			break;
	}
out:
	onyx_tap_seen_free(&s1);
	onyx_tap_seen_free(&s2);
	onyx_wire_free(k.w);
	return st;
}
