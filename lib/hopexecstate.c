/* lib/hopexecstate.c: program functions with keyed state: lines with key and state, one line of a key in flight, new states put when the batch is answered, the end lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "clock.h"
#include "exec.h"
#include "hopexecstate.h"
#include "hopint.h"
#include "log.h"
#include "state.h"
#include "status.h"

#define BROKEN_AFTER 10 /* as lib/hopexec.c: failures in a row, no answer */

/* A slot of the batch, as keyed state sees it. */
struct xslot {
	char *key; /* its group: the key (NULL until known) */
	size_t klen;
	int next;  /* the slot of its key written once it is answered, or -1 */
	bool busy; /* written or waiting, and not answered this attempt */
};

/* A key of the batch, this attempt. */
struct xkey {
	int tail;     /* its last slot fed (written or waiting) */
	json_t *v;    /* its state as the next line gets it; NULL: none */
	bool known;   /* v read from the store, or answered */
	bool changed; /* v answered: put at the batch's end */
};

struct onyx_hopexecstate {
	struct xslot *slots; /* as many as h->slots */
	int cap;
	json_t *index; /* key -> its position in keys, this attempt */
	struct xkey *keys;
	size_t nkeys, keycap;
	struct onyx_buf line; /* a line being made */
};

bool
onyx_hopexecstate_on(const struct hop *h)
{
	return h->state != NULL && h->t->exec_argv != NULL;
}

static struct onyx_hopexecstate *
xs_of(struct hop *h)
{
	if (h->xs == NULL && (h->xs = calloc(1, sizeof(*h->xs))) != NULL &&
	    (h->xs->index = json_object()) == NULL) {
		free(h->xs);
		h->xs = NULL;
	}
	return h->xs;
}

/* Room for slot k. */
static int
xslot_room(struct onyx_hopexecstate *xs, int k)
{
	if (k >= xs->cap) {
		int cap = xs->cap ? 2 * xs->cap : 64;
		struct xslot *p;
		while (cap <= k)
			cap *= 2;
		if ((p = reallocarray(xs->slots, cap, sizeof(*p))) == NULL)
			return ONYX_ERR;
		memset(p + xs->cap, 0, (cap - xs->cap) * sizeof(*p));
		xs->slots = p;
		xs->cap = cap;
	}
	return ONYX_OK;
}

/* The entry of key[0..klen), made when absent. NULL: out of memory. */
static struct xkey *
xkey_of(struct onyx_hopexecstate *xs, const char *key, size_t klen)
{
	json_t *at = json_object_getn(xs->index, key, klen);
	struct xkey *e;

	if (at != NULL)
		return &xs->keys[json_integer_value(at)];
	if (xs->nkeys == xs->keycap) {
		size_t cap = xs->keycap ? 2 * xs->keycap : 64;
		struct xkey *p = reallocarray(xs->keys, cap, sizeof(*p));
		if (p == NULL)
			return NULL;
		xs->keys = p;
		xs->keycap = cap;
	}
	if (json_object_setn_new_nocheck(
	        xs->index, key, klen, json_integer((json_int_t)xs->nkeys)) != 0)
		return NULL;
	e = &xs->keys[xs->nkeys++];
	memset(e, 0, sizeof(*e));
	e->tail = -1;
	return e;
}

/* Append the JSON text of v (NULL: null) to b. */
static int
append_json(struct onyx_buf *b, const json_t *v)
{
	size_t n;

	if (v == NULL)
		return onyx_buf_append(b, "null", 4);
	n = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
	if (n == 0 || onyx_buf_reserve(b, n) != 0)
		return -1;
	if (json_dumpb(v, b->p + b->len, n, JSON_COMPACT | JSON_ENCODE_ANY) !=
	    n)
		return -1;
	b->len += n;
	return 0;
}

/*
 * Make {"key": K, "state": V, then tail[0..tlen) in xs->line. ONYX_OK;
 * ONYX_EDATA with why when K is not text JSON can hold (not UTF-8).
 */
static int
make_line(struct onyx_hopexecstate *xs, const char *key, size_t klen,
    const json_t *v, const char *tail, size_t tlen, const char *seg,
    size_t slen, char *why, size_t whylen)
{
	json_t *k = json_stringn(key, klen);
	int rc;

	if (k == NULL) {
		snprintf(why, whylen,
		    "the segment's group is not UTF-8 text, which a program's line cannot hold as its key");
		return ONYX_EDATA;
	}
	xs->line.len = 0;
	rc = onyx_buf_append(&xs->line, "{\"key\":", 7) != 0 ||
	    append_json(&xs->line, k) != 0 ||
	    onyx_buf_append(&xs->line, ",\"state\":", 9) != 0 ||
	    append_json(&xs->line, v) != 0 ||
	    onyx_buf_append(&xs->line, tail, tlen) != 0 ||
	    (seg != NULL && onyx_buf_append(&xs->line, seg, slen) != 0) ||
	    onyx_buf_append(&xs->line, "}", 1) != 0;
	json_decref(k);
	return rc ? ONYX_ERR : ONYX_OK;
}

/*
 * Write slot k's line, with the state of its key e: read from the store
 * first when this attempt has not had it (entered: k's bucket is current).
 */
static int
write_line(struct hop *h, int k, struct xkey *e, bool entered)
{
	struct onyx_hopexecstate *xs = h->xs;
	struct xslot *xl = &xs->slots[k];
	struct slot *s = &h->slots[k];
	const char *body = h->bodies.p + s->off;
	char why[512];
	int st;

	if (!e->known) {
		json_t *v;
		if (!entered) {
			const char *key;
			size_t klen;
			st = onyx_hopstate_enter(h, body, s->len, NULL, &key,
			    &klen, why, sizeof(why));
			if (st != ONYX_OK)
				return st == ONYX_EDATA ? ONYX_ERR : st;
		}
		v = onyx_state_get_json(h->state, xl->key, xl->klen);
		e->v = v != NULL ? json_incref(v) : NULL;
		e->known = true;
	}
	st = make_line(xs, xl->key, xl->klen, e->v, ",\"segment\":", 11, body,
	    s->len, why, sizeof(why));
	if (st == ONYX_EDATA) {
		/* not written: answered at once, so the next one goes */
		xl->busy = false;
		return (s->dead = strdup(why)) == NULL ? ONYX_ERR : ONYX_OK;
	}
	if (st != ONYX_OK)
		return st;
	h->fed[h->nfed++] = k;
	if ((st = onyx_exec_queue(h->x, xs->line.p, xs->line.len, h->xwhy,
	         sizeof(h->xwhy))) != ONYX_OK)
		return st == ONYX_ERR ? ONYX_ERR : ONYX_EDATA;
	return ONYX_OK;
}

int
onyx_hopexecstate_feed(struct hop *h, int k)
{
	struct onyx_hopexecstate *xs = xs_of(h);
	struct slot *s = &h->slots[k];
	struct xslot *xl;
	struct xkey *e;
	bool entered = false;
	char why[512];
	int st;

	if (xs == NULL || xslot_room(xs, k) != ONYX_OK)
		return ONYX_ERR;
	xl = &xs->slots[k];
	if (xl->key == NULL) {
		const char *key;
		size_t klen;
		st = onyx_hopstate_enter(h, h->bodies.p + s->off, s->len, NULL,
		    &key, &klen, why, sizeof(why));
		if (st == ONYX_EDATA)
			return (s->dead = strdup(why)) == NULL ? ONYX_ERR
			                                       : ONYX_OK;
		if (st != ONYX_OK)
			return st;
		if ((xl->key = malloc(klen + 1)) == NULL)
			return ONYX_ERR;
		memcpy(xl->key, key, klen);
		xl->key[klen] = '\0';
		xl->klen = klen;
		entered = true;
	}
	if ((e = xkey_of(xs, xl->key, xl->klen)) == NULL)
		return ONYX_ERR;
	xl->next = -1;
	xl->busy = true;
	if (e->tail >= 0 && xs->slots[e->tail].busy) {
		/* its key has a line unanswered: this one waits behind it */
		xs->slots[e->tail].next = k;
		e->tail = k;
		return ONYX_OK;
	}
	e->tail = k;
	return write_line(h, k, e, entered);
}

/* The segments of X (an object, an array of objects, null) go out. */
static int
send_emit(struct hop *h, json_t *x, unsigned long long *emitted)
{
	size_t i, n = json_is_array(x) ? json_array_size(x) : 1;
	int st = ONYX_OK;

	if (x == NULL || json_is_null(x))
		return ONYX_OK;
	for (i = 0; i < n && st == ONYX_OK; i++) {
		json_t *e = json_is_array(x) ? json_array_get(x, i) : x;
		char *text = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (text == NULL)
			return ONYX_ERR;
		st = onyx_hoppack_out_segment(
		    h, text, strlen(text), e, h->xwhy, sizeof(h->xwhy));
		free(text);
		(*emitted)++;
	}
	return st;
}

/* Whether X is an answer's segments: an object, an array of objects, null. */
static bool
emit_ok(const json_t *x)
{
	size_t i;
	json_t *e;

	if (x == NULL || json_is_null(x) || json_is_object(x))
		return true;
	if (!json_is_array(x))
		return false;
	json_array_foreach(x, i, e)
	{
		if (!json_is_object(e))
			return false;
	}
	return true;
}

/* An answer's {"onyx/error": E} text, or NULL when it is not one. */
static char *
error_of(json_t *v, bool *nomem)
{
	json_t *e;
	char *msg;

	*nomem = false;
	if (!json_is_object(v) ||
	    (e = json_object_get(v, "onyx/error")) == NULL)
		return NULL;
	msg = json_is_string(e) ? strdup(json_string_value(e))
	                        : json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY);
	*nomem = msg == NULL;
	return msg;
}

/* The answer of a line, parsed; NULL with h->xwhy when it is not JSON. */
static json_t *
parse_answer(struct hop *h, const char *line, size_t len)
{
	json_error_t je;
	json_t *v = json_loadb(line, len, JSON_DECODE_ANY, &je);

	if (v == NULL)
		snprintf(h->xwhy, sizeof(h->xwhy),
		    "the program answered a line that is not JSON (%s): %.*s",
		    je.text, (int)(len < 80 ? len : 80), line);
	return v;
}

/*
 * What is wrong with answer v (line[0..len)) to a line of a key klen bytes
 * long: NULL when it is a good {"state": V2, "emit": X}, else a reason
 * (*nomem when it could not be made). Free it.
 */
static char *
answer_problem(
    json_t *v, const char *line, size_t len, size_t klen, bool *nomem)
{
	int cut = (int)(len < 80 ? len : 80);
	json_t *nv;
	char *why = NULL;
	int rc = 0;

	*nomem = false;
	if (!json_is_object(v))
		rc = asprintf(&why,
		    "the program's answer is not an object {\"state\": ..., \"emit\": ...} (its task keeps keyed state): %.*s",
		    cut, line);
	else if ((nv = json_object_get(v, "state")) == NULL)
		rc = asprintf(&why,
		    "the program's answer has no \"state\" (its task keeps keyed state): %.*s",
		    cut, line);
	else if (!emit_ok(json_object_get(v, "emit")))
		rc = asprintf(&why,
		    "the program's answer has an \"emit\" that is not an object, an array of objects or null: %.*s",
		    cut, line);
	else if (!json_is_null(nv) &&
	    klen + json_dumpb(nv, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY) >=
	        ONYX_STATE_RECORD_MAX)
		rc = asprintf(&why,
		    "the program's answer has a \"state\" that is too long: a key and its state must be under %d bytes of JSON text",
		    ONYX_STATE_RECORD_MAX);
	if (rc < 0) {
		*nomem = true;
		return NULL;
	}
	return why;
}

int
onyx_hopexecstate_answer(struct hop *h, int k, const char *line, size_t len,
    unsigned long long *emitted)
{
	struct onyx_hopexecstate *xs = h->xs;
	struct xslot *xl = &xs->slots[k];
	struct slot *s = &h->slots[k];
	struct xkey *e = xkey_of(xs, xl->key, xl->klen);
	char *why;
	bool nomem;
	json_t *v;
	int st = ONYX_OK;

	if (e == NULL)
		return ONYX_ERR;
	if ((v = parse_answer(h, line, len)) == NULL)
		return ONYX_EDATA;
	/* {"onyx/error": E}, or an answer that breaks the protocol: the
	 * line failed, and its key's state stays as it was */
	if ((why = error_of(v, &nomem)) == NULL && !nomem)
		why = answer_problem(v, line, len, xl->klen, &nomem);
	if (why == NULL && !nomem) {
		json_t *nv = json_object_get(v, "state");
		st = send_emit(h, json_object_get(v, "emit"), emitted);
		json_decref(e->v);
		e->v = json_is_null(nv) ? NULL : json_incref(nv);
		e->known = e->changed = true;
	}
	json_decref(v);
	if (nomem)
		return ONYX_ERR;
	if (why != NULL) {
		free(s->error);
		s->error = why;
	}
	if (st != ONYX_OK)
		return st;
	h->broken_run = 0;
	xl->busy = false;
	/* a program that has ended fails the attempt at the next pump */
	if (xl->next >= 0 &&
	    (st = write_line(h, xl->next, e, false)) != ONYX_EDATA)
		return st;
	return ONYX_OK;
}

void
onyx_hopexecstate_reset(struct hop *h)
{
	struct onyx_hopexecstate *xs = h->xs;

	if (xs == NULL)
		return;
	for (size_t i = 0; i < xs->nkeys; i++)
		json_decref(xs->keys[i].v);
	xs->nkeys = 0;
	json_object_clear(xs->index);
	for (int k = 0; k < xs->cap; k++) {
		xs->slots[k].busy = false;
		xs->slots[k].next = -1;
	}
}

int
onyx_hopexecstate_commit(struct hop *h)
{
	struct onyx_hopexecstate *xs = h->xs;
	const char *key;
	size_t klen;
	char why[512];
	int st;

	if (xs == NULL)
		return ONYX_OK;
	for (size_t i = 0; i < xs->nkeys; i++) {
		struct xkey *e = &xs->keys[i];
		struct slot *s = &h->slots[e->tail];
		if (!e->changed)
			continue;
		/* the bucket of the key: the one of its last segment */
		st = onyx_hopstate_enter(h, h->bodies.p + s->off, s->len, NULL,
		    &key, &klen, why, sizeof(why));
		if (st == ONYX_EDATA) {
			snprintf(h->err, h->errlen,
			    "task '%s': the group of a segment cannot be had again: %s",
			    h->t->name, why);
			return ONYX_ERR;
		}
		if (st != ONYX_OK)
			return st;
		/* no call in progress: applied at once, journaled for the
		 * batch, written with it */
		if (onyx_state_put_json(h->state, xs->slots[e->tail].key,
		        xs->slots[e->tail].klen,
		        e->v != NULL ? json_incref(e->v) : NULL) != 0) {
			snprintf(h->err, h->errlen,
			    "task '%s': keeping the state of a key: %s",
			    h->t->name, onyx_state_why(h->state));
			return ONYX_ERR;
		}
	}
	return ONYX_OK;
}

void
onyx_hopexecstate_free(struct hop *h)
{
	struct onyx_hopexecstate *xs = h->xs;

	if (xs == NULL)
		return;
	onyx_hopexecstate_reset(h);
	for (int k = 0; k < xs->cap; k++)
		free(xs->slots[k].key);
	free(xs->slots);
	free(xs->keys);
	json_decref(xs->index);
	onyx_buf_free(&xs->line);
	free(xs);
	h->xs = NULL;
}

/* The end of input: the end lines of one bucket. */

struct endline {
	char *key;
	size_t klen;
	json_t *v;
	int tries;  /* attempts that failed on it */
	char *dead; /* why it is a dead letter, or NULL */
	bool answered;
};

struct endset {
	struct endline *l;
	size_t n, cap;
	struct onyx_buf out; /* the answers' segments, NUL-separated */
	int *fed;            /* the lines written, in order */
	size_t nfed, nans;
};

static int
collect(void *ctx, const char *key, size_t klen, json_t *v)
{
	struct endset *es = ctx;
	struct endline *l;

	if (es->n == es->cap) {
		size_t cap = es->cap ? 2 * es->cap : 64;
		struct endline *p = reallocarray(es->l, cap, sizeof(*p));
		if (p == NULL)
			return -1;
		es->l = p;
		es->cap = cap;
	}
	l = &es->l[es->n];
	memset(l, 0, sizeof(*l));
	if ((l->key = malloc(klen + 1)) == NULL)
		return -1;
	memcpy(l->key, key, klen);
	l->key[klen] = '\0';
	l->klen = klen;
	l->v = json_incref(v);
	es->n++;
	return 0;
}

static void
endset_free(struct endset *es)
{
	for (size_t i = 0; i < es->n; i++) {
		free(es->l[i].key);
		free(es->l[i].dead);
		json_decref(es->l[i].v);
	}
	free(es->l);
	free(es->fed);
	onyx_buf_free(&es->out);
}

/*
 * The answer to end line i: its segments kept in es->out (sent once every
 * line is answered); {"onyx/error": E} makes it a dead letter. ONYX_EDATA
 * with h->xwhy for garbage.
 */
static int
end_answer(
    struct hop *h, struct endset *es, size_t i, const char *line, size_t len)
{
	json_t *v, *e;
	char *why;
	bool nomem;
	size_t j, n;
	int st = ONYX_OK;

	if ((v = parse_answer(h, line, len)) == NULL)
		return ONYX_EDATA;
	if ((why = error_of(v, &nomem)) != NULL) {
		es->l[i].dead = why;
		es->l[i].tries++;
	} else if (nomem)
		st = ONYX_ERR;
	else if (!emit_ok(v)) {
		snprintf(h->xwhy, sizeof(h->xwhy),
		    "the program answered an end line with a line that is not an object, an array of objects or null: %.*s",
		    (int)(len < 80 ? len : 80), line);
		st = ONYX_EDATA;
	} else if (!json_is_null(v)) {
		n = json_is_array(v) ? json_array_size(v) : 1;
		for (j = 0; j < n && st == ONYX_OK; j++) {
			e = json_is_array(v) ? json_array_get(v, j) : v;
			char *text =
			    json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
			if (text == NULL ||
			    onyx_buf_append(&es->out, text, strlen(text) + 1) !=
			        0)
				st = ONYX_ERR;
			free(text);
		}
	}
	json_decref(v);
	if (st == ONYX_OK) {
		es->l[i].answered = true;
		h->broken_run = 0;
	}
	return st;
}

/*
 * One attempt at the end lines not yet dead: write them, wait for every
 * answer. ONYX_OK; ONYX_EDATA with h->xwhy when the program failed;
 * ONYX_EINTR on the stop flag; or an error.
 */
static int
end_attempt(struct hop *h, struct endset *es)
{
	int tmo =
	    h->t->exec_timeout_ms > 0 ? h->t->exec_timeout_ms : EXEC_TIMEOUT_MS;
	long long until = onyx_mono_ms() + tmo;
	struct onyx_hopexecstate *xs = xs_of(h);
	const char *line;
	size_t len, i;
	char why[512];
	int st;

	if (xs == NULL)
		return ONYX_ERR;
	es->nfed = es->nans = 0;
	es->out.len = 0;
	if (h->x == NULL && (st = onyx_hopexec_start(h)) != ONYX_OK)
		return st;
	for (i = 0; i < es->n; i++) {
		struct endline *l = &es->l[i];
		l->answered = false;
		if (l->dead != NULL)
			continue;
		st = make_line(xs, l->key, l->klen, l->v, ",\"end\":true", 11,
		    NULL, 0, why, sizeof(why));
		if (st == ONYX_EDATA) {
			if ((l->dead = strdup(why)) == NULL)
				return ONYX_ERR;
			continue;
		}
		if (st != ONYX_OK)
			return st;
		es->fed[es->nfed++] = (int)i;
		if ((st = onyx_exec_queue(h->x, xs->line.p, xs->line.len,
		         h->xwhy, sizeof(h->xwhy))) != ONYX_OK)
			return st == ONYX_ERR ? ONYX_ERR : ONYX_EDATA;
	}
	for (;;) {
		long long left;
		while (onyx_exec_answer(h->x, &line, &len)) {
			if (es->nans >= es->nfed) {
				snprintf(h->xwhy, sizeof(h->xwhy),
				    "the program answered more lines than it was given: %.*s",
				    (int)(len < 80 ? len : 80), line);
				return ONYX_EDATA;
			}
			h->xwhy[0] = '\0';
			if ((st = end_answer(h, es, (size_t)es->fed[es->nans],
			         line, len)) != ONYX_OK)
				return st;
			es->nans++;
		}
		if (es->nans >= es->nfed)
			return ONYX_OK;
		if ((left = until - onyx_mono_ms()) <= 0) {
			snprintf(h->xwhy, sizeof(h->xwhy),
			    "timeout: the program gave %zu of %zu answers to the end lines in %d ms",
			    es->nans, es->nfed, tmo);
			return ONYX_EDATA;
		}
		if ((st = onyx_exec_pump(h->x, left < 50 ? (int)left : 50,
		         h->xwhy, sizeof(h->xwhy))) != ONYX_OK)
			return st == ONYX_ERR ? ONYX_ERR : ONYX_EDATA;
		st = onyx_amqp_wait(h->a, 0, -1);
		if (st == ONYX_EINTR)
			return ONYX_EINTR;
		if (st < 0)
			return onyx_hop_fail(h, st, "waiting");
	}
}

/*
 * The program failed on an attempt at the end lines: blame the first line
 * it did not answer, start it again. ONYX_EDATA with h->err when it looks
 * broken.
 */
static int
end_failed(struct hop *h, struct endset *es)
{
	char why[512];
	struct endline *l = NULL;

	snprintf(why, sizeof(why), "%s", h->xwhy);
	if (es->nfed > 0)
		l = &es->l[es->fed[es->nans < es->nfed ? es->nans
		                                       : es->nfed - 1]];
	if (l != NULL && ++l->tries > h->t->max_retries) {
		if ((l->dead = strdup(why)) == NULL)
			return ONYX_ERR;
		h->broken_run++;
	}
	onyx_log(ONYX_LOG_WARN,
	    "task %s: %s; the end lines of a bucket (%zu key%s) are fed again%s",
	    h->t->name, why, es->n, es->n == 1 ? "" : "s",
	    l != NULL && l->dead != NULL ? " without the line it failed on"
	                                 : "");
	onyx_exec_stop(h->x, 0);
	h->x = NULL;
	if (h->broken_run >= BROKEN_AFTER) {
		snprintf(h->err, h->errlen,
		    "task '%s': the program failed on %d end lines in a row without one good answer: %s",
		    h->t->name, h->broken_run, why);
		return ONYX_EDATA;
	}
	return onyx_hopexec_start(h);
}

int
onyx_hopexecstate_end(struct hop *h, void *ctx, unsigned long long *emitted)
{
	struct endset es;
	size_t i, off;
	int st;

	(void)ctx;
	memset(&es, 0, sizeof(es));
	if (onyx_state_each_json(h->state, collect, &es) != 0) {
		endset_free(&es);
		return ONYX_ERR;
	}
	if (es.n == 0) {
		endset_free(&es);
		return ONYX_OK;
	}
	if ((es.fed = calloc(es.n, sizeof(*es.fed))) == NULL) {
		endset_free(&es);
		return ONYX_ERR;
	}
	h->broken_run = 0;
	while ((st = end_attempt(h, &es)) == ONYX_EDATA)
		if ((st = end_failed(h, &es)) != ONYX_OK)
			break;
	for (off = 0; st == ONYX_OK && off < es.out.len;) {
		const char *text = es.out.p + off;
		size_t tl = strlen(text);
		char why[512];
		st = onyx_hoppack_out_segment(
		    h, text, tl, NULL, why, sizeof(why));
		if (st == ONYX_EDATA)
			st = onyx_hopdead_letter(h, text, tl, true, why, 1);
		else if (st == ONYX_OK)
			(*emitted)++;
		off += tl + 1;
	}
	for (i = 0; st == ONYX_OK && i < es.n; i++) {
		struct endline *l = &es.l[i];
		if (l->dead == NULL)
			continue;
		if (make_line(h->xs, l->key, l->klen, l->v, ",\"end\":true", 11,
		        NULL, 0, NULL, 0) != ONYX_OK)
			st = onyx_hopdead_letter(
			    h, NULL, 0, false, l->dead, l->tries);
		else
			st = onyx_hopdead_letter(h, h->xs->line.p,
			    h->xs->line.len, true, l->dead, l->tries);
	}
	endset_free(&es);
	return st;
}
