/* lib/hopwindow.c: a window task in the hop: segments folded into their key's windows in the keyed state, what fires sent, timers, the end of input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "clock.h"
#include "exec.h"
#include "hopint.h"
#include "log.h"
#include "state.h"
#include "status.h"
#include "window.h"

/*
 * In a bucket's keyed state, a group's windows are under "w:" and the
 * group; the bucket's own state (its largest event time and watermark)
 * under "m", which no group's key can be. Which groups have windows due
 * when is an index in memory (lib/window.h's "due" and "next"), built from
 * the bucket's keys the first time this run meets the bucket: it costs no
 * write, and the state a batch writes stays what the batch changed.
 */
#define KEY_PREFIX "w:"
#define BUCKET_KEY "m"
#define FOLD_BUF 4096 /* a C fold's first buffer; it grows on demand */

struct onyx_hopwindow {
	struct onyx_window *w;
	long long next_timer; /* monotonic ms; 0: no timer trigger */
	struct onyx_exec *x;  /* the aggregate's program, once started */
	json_t *due[ONYX_STATE_BUCKETS]; /* each bucket's index, or NULL */
	struct onyx_buf kbuf;
	char *fold_out;
	size_t fold_cap;
};

/* The state key of group key: "w:" and the group, in hw->kbuf. */
static int
state_key(struct onyx_hopwindow *hw, const char *key, size_t klen)
{
	hw->kbuf.len = 0;
	if (onyx_buf_append(&hw->kbuf, KEY_PREFIX, strlen(KEY_PREFIX)) != 0 ||
	    onyx_buf_append(&hw->kbuf, key, klen) != 0)
		return ONYX_ERR;
	return ONYX_OK;
}

/* A copy of what the state holds under k (borrowed: the copy is ours to
 * change and put), or a new empty object. NULL when out of memory. */
static json_t *
state_copy(struct hop *h, const char *k, size_t klen)
{
	json_t *v = onyx_state_get_json(h->state, k, klen);

	return v != NULL ? json_deep_copy(v) : json_object();
}

/* The index of due windows */

static int
index_key(void *ctx, const char *key, size_t klen, json_t *v)
{
	json_t *idx = ctx;
	size_t pl = strlen(KEY_PREFIX);
	char *g;
	int rc;

	if (klen < pl || memcmp(key, KEY_PREFIX, pl) != 0)
		return 0;
	if ((g = strndup(key + pl, klen - pl)) == NULL)
		return -1;
	rc = onyx_window_due_update(idx, g, v);
	free(g);
	return rc;
}

/*
 * The index of the current bucket, built from its keys when this run has
 * none yet; outside a call of the state. NULL when out of memory.
 */
static json_t *
index_of(struct hop *h)
{
	struct onyx_hopwindow *hw = h->win;
	unsigned b = onyx_state_current(h->state);
	json_t *idx;

	if (hw->due[b] != NULL)
		return hw->due[b];
	if ((idx = json_object()) == NULL)
		return NULL;
	if (onyx_state_each_json(h->state, index_key, idx) != 0) {
		json_decref(idx);
		return NULL;
	}
	return hw->due[b] = idx;
}

/* The C fold */

/* Call fold on two JSON texts; *acc becomes the new accumulator. */
static int
call_fold(struct hop *h, onyx_fold_fn *fn, json_t **acc, json_t *other,
    char *why, size_t whylen)
{
	struct onyx_hopwindow *hw = h->win;
	const char *params = h->t->params ? h->t->params : "{}";
	char *a = json_dumps(
	    *acc != NULL ? *acc : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
	char *b = json_dumps(other, JSON_COMPACT | JSON_ENCODE_ANY);
	json_t *n = NULL;
	long r = -1;
	int st = -1;

	why[0] = '\0';
	if (a == NULL || b == NULL)
		goto out;
	for (;;) {
		if (hw->fold_cap == 0) {
			if ((hw->fold_out = malloc(FOLD_BUF)) == NULL)
				goto out;
			hw->fold_cap = FOLD_BUF;
		}
		r = fn(a, strlen(a), b, strlen(b), params, hw->fold_out,
		    hw->fold_cap, why, whylen);
		if (r < 0 || (size_t)r < hw->fold_cap)
			break;
		free(hw->fold_out);
		hw->fold_cap = 0;
		if ((hw->fold_out = malloc((size_t)r + 1)) == NULL)
			goto out;
		hw->fold_cap = (size_t)r + 1;
	}
	if (r < 0) {
		if (why[0] == '\0')
			snprintf(why, whylen,
			    "the window's fold failed (no reason given)");
		goto out;
	}
	if ((n = json_loadb(hw->fold_out, (size_t)r, JSON_DECODE_ANY, NULL)) ==
	    NULL) {
		snprintf(why, whylen,
		    "the window's fold answered what is not JSON: %.*s",
		    (int)(r < 80 ? r : 80), hw->fold_out);
		goto out;
	}
	json_decref(*acc);
	*acc = n;
	st = 0;
out:
	free(a);
	free(b);
	return st;
}

static int
fold_cb(void *ctx, json_t **acc, json_t *seg, char *why, size_t whylen)
{
	struct hop *h = ctx;

	return call_fold(h, h->t->fold, acc, seg, why, whylen);
}

static int
merge_cb(void *ctx, json_t **acc, json_t *other, char *why, size_t whylen)
{
	struct hop *h = ctx;

	return call_fold(h, h->t->fold_merge, acc, other, why, whylen);
}

/* Start and end */

int
onyx_hopwindow_start(struct hop *h)
{
	struct onyx_hopwindow *hw;
	char e[512];

	if ((hw = calloc(1, sizeof(*hw))) == NULL)
		return ONYX_ERR;
	h->win = hw;
	if (onyx_window_parse(h->t->window, &hw->w, e, sizeof(e)) != 0) {
		snprintf(h->err, h->errlen, "task '%s': %s", h->t->name, e);
		return ONYX_EDATA;
	}
	if (h->state == NULL) {
		snprintf(h->err, h->errlen,
		    "task '%s': a window task keeps keyed state, and this one has none",
		    h->t->name);
		return ONYX_EDATA;
	}
	if (hw->w->op == ONYX_WINDOW_FN) {
		if (h->t->fold == NULL) {
			snprintf(h->err, h->errlen,
			    "task '%s': no fold function for the window's aggregate",
			    h->t->name);
			return ONYX_EDATA;
		}
		if (hw->w->type == ONYX_WINDOW_SESSION &&
		    h->t->fold_merge == NULL) {
			snprintf(h->err, h->errlen,
			    "task '%s': the fold '%s' of a session window needs its _merge function too, to merge sessions",
			    h->t->name, hw->w->fn);
			return ONYX_EDATA;
		}
		hw->w->fold.fold = fold_cb;
		hw->w->fold.merge = merge_cb;
		hw->w->fold.ctx = h;
	}
	if (hw->w->op == ONYX_WINDOW_EXEC && h->t->window_argv == NULL) {
		snprintf(h->err, h->errlen,
		    "task '%s': no program for the window's aggregate",
		    h->t->name);
		return ONYX_EDATA;
	}
	if (hw->w->every_ms > 0)
		hw->next_timer = onyx_mono_ms() + hw->w->every_ms;
	/* the end of input fires every window of each bucket */
	h->state_end = onyx_hopwindow_end;
	h->state_end_ctx = NULL;
	return ONYX_OK;
}

void
onyx_hopwindow_free(struct hop *h)
{
	struct onyx_hopwindow *hw = h->win;

	if (hw == NULL)
		return;
	onyx_exec_stop(hw->x, 500);
	for (unsigned b = 0; b < ONYX_STATE_BUCKETS; b++)
		json_decref(hw->due[b]);
	onyx_window_free(hw->w);
	onyx_buf_free(&hw->kbuf);
	free(hw->fold_out);
	free(hw);
	h->win = NULL;
}

/* Results */

/*
 * The program of an aggregate {"exec": ...}: the window's segments in, its
 * answer, one JSON value, as the result's value (replacing them in r).
 */
static int
exec_value(struct hop *h, json_t *r)
{
	struct onyx_hopwindow *hw = h->win;
	const char *as = hw->w->as, *line;
	int tmo =
	    h->t->exec_timeout_ms > 0 ? h->t->exec_timeout_ms : EXEC_TIMEOUT_MS;
	long long until = onyx_mono_ms() + tmo;
	char e[512], *text;
	json_t *in, *v;
	size_t ll;
	int st;

	if (hw->x == NULL) {
		if ((st = onyx_exec_start(h->t->window_argv, h->t->params,
		         h->t->name, h->t->peer, &hw->x, e, sizeof(e))) !=
		    ONYX_OK)
			goto broken;
		onyx_exec_set_max_answer(hw->x, onyx_hop_max_segment(h));
	}
	in = json_pack("{s:O,s:O,s:O,s:O}", "key", json_object_get(r, "key"),
	    "window", json_object_get(r, "window"), "segments",
	    json_object_get(r, as), "final", json_object_get(r, "final"));
	text = in != NULL ? json_dumps(in, JSON_COMPACT | JSON_PRESERVE_ORDER)
	                  : NULL;
	json_decref(in);
	if (text == NULL)
		return ONYX_ERR;
	st = onyx_exec_write(hw->x, text, strlen(text), e, sizeof(e));
	free(text);
	if (st != ONYX_OK)
		goto broken;
	while (!onyx_exec_answer(hw->x, &line, &ll)) {
		if (onyx_mono_ms() >= until) {
			snprintf(
			    e, sizeof(e), "timeout: no answer in %d ms", tmo);
			goto broken;
		}
		if (onyx_exec_pump(hw->x, 50, e, sizeof(e)) != ONYX_OK)
			goto broken;
	}
	if ((v = json_loadb(line, ll, JSON_DECODE_ANY, NULL)) == NULL) {
		snprintf(e, sizeof(e), "the answer is not JSON: %.*s",
		    (int)(ll < 80 ? ll : 80), line);
		goto broken;
	}
	return json_object_set_new(r, as, v) == 0 ? ONYX_OK : ONYX_ERR;
broken:
	onyx_exec_stop(hw->x, 0);
	hw->x = NULL;
	snprintf(h->err, h->errlen,
	    "task '%s': the program of the window's aggregate: %s", h->t->name,
	    e);
	return ONYX_EDATA;
}

/*
 * Send each result of results to every egress, counted in *emitted. A
 * result whose group a child cannot have is a dead letter itself.
 */
static int
send_results(struct hop *h, json_t *results, unsigned long long *emitted)
{
	char why[512], *text;
	json_t *r;
	size_t i;
	int st;

	json_array_foreach(results, i, r)
	{
		if (h->win->w->op == ONYX_WINDOW_EXEC &&
		    (st = exec_value(h, r)) != ONYX_OK)
			return st;
		text = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (text == NULL)
			return ONYX_ERR;
		st = onyx_hoppack_out_segment(
		    h, text, strlen(text), r, why, sizeof(why));
		if (st == ONYX_EDATA)
			st = onyx_hopdead_letter(
			    h, text, strlen(text), true, why, 1);
		else if (st == ONYX_OK)
			(*emitted)++;
		free(text);
		if (st != ONYX_OK)
			return st;
	}
	return ONYX_OK;
}

/*
 * put_key: key state ks (taken) under group key, or the key deleted when
 * it has no window left; its due time into the index idx. ONYX_EDATA
 * with why when the store refuses it (over its record limit).
 */
static int
put_key(struct hop *h, json_t *idx, const char *key, json_t *ks, char *why,
    size_t whylen)
{
	struct onyx_hopwindow *hw = h->win;
	bool empty = json_array_size(json_object_get(ks, "w")) == 0;

	if (onyx_window_due_update(idx, key, ks) != 0 ||
	    state_key(hw, key, strlen(key)) != ONYX_OK) {
		json_decref(ks);
		return ONYX_ERR;
	}
	if (empty) {
		json_decref(ks);
		ks = NULL;
	}
	if (onyx_state_put_json(h->state, hw->kbuf.p, hw->kbuf.len, ks) != 0) {
		snprintf(why, whylen,
		    "keeping the windows of group '%.200s': %s", key,
		    onyx_state_why(h->state));
		return ONYX_EDATA;
	}
	return ONYX_OK;
}

/*
 * Fire the windows of every key of keys (of the current bucket, index
 * idx) for why; except key cur, whose state cks the caller holds.
 */
static int
fire_keys(struct hop *h, json_t *idx, json_t *keys, const char *cur,
    json_t *cks, enum onyx_window_fire why, long long wm, json_t *results,
    char *err, size_t errlen)
{
	struct onyx_hopwindow *hw = h->win;
	json_t *k, *ks;
	size_t i;
	int n, st;

	json_array_foreach(keys, i, k)
	{
		const char *key = json_string_value(k);
		if (cur != NULL && strcmp(key, cur) == 0) {
			if (onyx_window_fire_key(
			        hw->w, key, cks, why, wm, results) < 0)
				return ONYX_ERR;
			continue;
		}
		if (state_key(hw, key, strlen(key)) != ONYX_OK ||
		    (ks = state_copy(h, hw->kbuf.p, hw->kbuf.len)) == NULL)
			return ONYX_ERR;
		if ((n = onyx_window_fire_key(
		         hw->w, key, ks, why, wm, results)) < 0) {
			json_decref(ks);
			return ONYX_ERR;
		}
		if (n == 0) {
			/* what the index said may be older than the state (a
			 * call dropped): it learns the truth */
			st = onyx_window_due_update(idx, key, ks);
			json_decref(ks);
			if (st != 0)
				return ONYX_ERR;
			continue;
		}
		if ((st = put_key(h, idx, key, ks, err, errlen)) != ONYX_OK)
			return st;
	}
	return ONYX_OK;
}

static int
put_bucket(struct hop *h, json_t *bs, char *why, size_t whylen)
{
	if (onyx_state_put_json(h->state, BUCKET_KEY, strlen(BUCKET_KEY), bs) !=
	    0) {
		snprintf(why, whylen, "keeping the bucket's watermark: %s",
		    onyx_state_why(h->state));
		return ONYX_EDATA;
	}
	return ONYX_OK;
}

/* Segments */

/*
 * fold: segment seg (of group key, event time t when has_t) into the
 * current bucket, in one call of the state: its windows, the watermark;
 * what fires in *out, a new array. ONYX_EDATA with why when the segment
 * is a dead letter (the caller drops the call).
 */
static int
fold(struct hop *h, json_t *seg, const char *key, long long t, bool has_t,
    json_t **out, char *why, size_t whylen)
{
	struct onyx_hopwindow *hw = h->win;
	json_t *bs, *ks, *keys, *results,
	    *idx = hw->due[onyx_state_current(h->state)];
	long long wm;
	int rc, st = ONYX_ERR;

	if ((bs = state_copy(h, BUCKET_KEY, strlen(BUCKET_KEY))) == NULL)
		return ONYX_ERR;
	if (has_t && onyx_window_late(bs, t)) {
		json_decref(bs);
		snprintf(why, whylen, "late");
		return ONYX_EDATA;
	}
	if (state_key(hw, key, strlen(key)) != ONYX_OK ||
	    (ks = state_copy(h, hw->kbuf.p, hw->kbuf.len)) == NULL) {
		json_decref(bs);
		return ONYX_ERR;
	}
	if ((rc = onyx_window_add(hw->w, ks, seg, t, has_t, why, whylen)) !=
	    0) {
		json_decref(bs);
		json_decref(ks);
		return rc == -1 ? ONYX_EDATA : ONYX_ERR;
	}
	if ((results = json_array()) == NULL)
		goto out;
	if (hw->w->every_n > 0 &&
	    onyx_window_fire_key(
	        hw->w, key, ks, ONYX_FIRE_SEGMENTS, 0, results) < 0)
		goto out;
	if (has_t && onyx_window_observe(hw->w, bs, t) && hw->w->on_watermark &&
	    onyx_window_watermark(bs, &wm) == 1) {
		/* this key's due time first: its new windows count */
		if (onyx_window_due_update(idx, key, ks) != 0 ||
		    (keys = onyx_window_due_keys(idx, wm, false)) == NULL)
			goto out;
		st = fire_keys(h, idx, keys, key, ks, ONYX_FIRE_WATERMARK, wm,
		    results, why, whylen);
		json_decref(keys);
		if (st != ONYX_OK)
			goto out;
	}
	st = put_key(h, idx, key, ks, why, whylen);
	ks = NULL;
	if (st == ONYX_OK) {
		st = put_bucket(h, bs, why, whylen);
		bs = NULL;
	}
	if (st == ONYX_OK) {
		*out = results;
		results = NULL;
	}
out:
	json_decref(results);
	json_decref(ks);
	json_decref(bs);
	return st;
}

int
onyx_hopwindow_apply(
    struct hop *h, const char *body, size_t len, unsigned long long *emitted)
{
	struct onyx_hopwindow *hw = h->win;
	char why[512], *key = NULL;
	const char *k;
	json_t *seg, *results = NULL;
	long long t = 0;
	size_t kl;
	int r, st;

	/* memory state: this peer registers as holding state first */
	if ((st = onyx_hopfn_hold(h)) != ONYX_OK)
		return st;
	if ((seg = json_loadb(body, len, JSON_ALLOW_NUL, NULL)) == NULL)
		return onyx_hopdead_letter(
		    h, body, len, true, "not a segment (a JSON object)", 0);
	st = onyx_hopstate_enter(h, body, len, seg, &k, &kl, why, sizeof(why));
	if (st == ONYX_EDATA)
		goto dead;
	if (st != ONYX_OK)
		goto out;
	if ((key = strndup(k, kl)) == NULL) {
		st = ONYX_ERR;
		goto out;
	}
	if ((r = onyx_window_event_time(hw->w, seg, &t, why, sizeof(why))) < 0)
		goto dead;
	if (index_of(h) == NULL) {
		st = ONYX_ERR;
		goto out;
	}
	onyx_state_call_begin(h->state);
	st = fold(h, seg, key, t, r == 1, &results, why, sizeof(why));
	onyx_state_call_end(h->state, st == ONYX_OK);
	if (st == ONYX_EDATA)
		goto dead;
	/* a program that fails here fails the batch, state and all */
	if (st == ONYX_OK)
		st = send_results(h, results, emitted);
	goto out;
dead:
	st = onyx_hopdead_letter(h, body, len, true, why, 1);
out:
	json_decref(results);
	free(key);
	json_decref(seg);
	return st;
}

/* Timers */

int
onyx_hopwindow_wait(const struct hop *h, int wait)
{
	long long left;

	if (h->win == NULL || h->win->next_timer == 0)
		return wait;
	left = h->win->next_timer - onyx_mono_ms();
	if (left < 0)
		left = 0;
	return left < wait ? (int)left : wait;
}

bool
onyx_hopwindow_timer_due(struct hop *h)
{
	unsigned b;

	if (h->win == NULL || h->win->next_timer == 0 ||
	    onyx_mono_ms() < h->win->next_timer)
		return false;
	for (b = 0; b < ONYX_STATE_BUCKETS; b++)
		if (onyx_state_loaded(h->state, b) &&
		    onyx_state_nkeys(h->state, b) > 0)
			return true;
	/* no window held: nothing to refine, no transaction to open */
	h->win->next_timer = onyx_mono_ms() + h->win->w->every_ms;
	return false;
}

int
onyx_hopwindow_timer(struct hop *h, unsigned long long *emitted)
{
	struct onyx_hopwindow *hw = h->win;
	json_t *results, *keys, *idx;
	char why[512];
	unsigned b;
	int st = ONYX_OK;

	if (hw->next_timer == 0 || onyx_mono_ms() < hw->next_timer)
		return ONYX_OK;
	hw->next_timer = onyx_mono_ms() + hw->w->every_ms;
	if ((results = json_array()) == NULL)
		return ONYX_ERR;
	/* the buckets this run holds: its cache, valid while its receiver
	 * lives (lib/state.h) */
	for (b = 0; b < ONYX_STATE_BUCKETS && st == ONYX_OK; b++) {
		if (!onyx_state_loaded(h->state, b) ||
		    onyx_state_nkeys(h->state, b) == 0)
			continue;
		if (onyx_state_select(h->state, b) != 0 ||
		    (idx = index_of(h)) == NULL ||
		    (keys = onyx_window_due_keys(idx, 0, true)) == NULL) {
			st = ONYX_ERR;
			break;
		}
		onyx_state_call_begin(h->state);
		st = fire_keys(h, idx, keys, NULL, NULL, ONYX_FIRE_TIMER, 0,
		    results, why, sizeof(why));
		onyx_state_call_end(h->state, st == ONYX_OK);
		if (st == ONYX_EDATA)
			snprintf(h->err, h->errlen, "task '%s': %s", h->t->name,
			    why);
		json_decref(keys);
	}
	if (st == ONYX_OK)
		st = send_results(h, results, emitted);
	json_decref(results);
	return st;
}

/* The end of input */

/* Collect the groups of the bucket's window keys into array ctx. */
static int
group_of_key(void *ctx, const char *key, size_t klen, json_t *v)
{
	size_t pl = strlen(KEY_PREFIX);

	(void)v;
	if (klen < pl || memcmp(key, KEY_PREFIX, pl) != 0)
		return 0;
	return json_array_append_new(ctx, json_stringn(key + pl, klen - pl));
}

int
onyx_hopwindow_end(struct hop *h, void *ctx, unsigned long long *emitted)
{
	struct onyx_hopwindow *hw = h->win;
	unsigned b = onyx_state_current(h->state);
	json_t *keys, *results, *k;
	size_t i;
	int st = ONYX_ERR;

	(void)ctx;
	/* the bucket as the store holds it (restored afresh when durable):
	 * every group with windows, whatever this run's index says */
	keys = json_array();
	results = json_array();
	if (keys == NULL || results == NULL ||
	    onyx_state_each_json(h->state, group_of_key, keys) != 0) {
		json_decref(keys);
		json_decref(results);
		return ONYX_ERR;
	}
	onyx_state_call_begin(h->state);
	json_array_foreach(keys, i, k)
	{
		const char *key = json_string_value(k);
		json_t *ks;
		if (state_key(hw, key, strlen(key)) != ONYX_OK ||
		    (ks = state_copy(h, hw->kbuf.p, hw->kbuf.len)) == NULL)
			goto out;
		if (onyx_window_fire_key(
		        hw->w, key, ks, ONYX_FIRE_END, 0, results) < 0) {
			json_decref(ks);
			goto out;
		}
		json_decref(ks);
		if (onyx_state_put_json(
		        h->state, hw->kbuf.p, hw->kbuf.len, NULL) != 0)
			goto out;
	}
	if (onyx_state_put_json(
	        h->state, BUCKET_KEY, strlen(BUCKET_KEY), NULL) != 0)
		goto out;
	st = ONYX_OK;
out:
	onyx_state_call_end(h->state, st == ONYX_OK);
	json_decref(hw->due[b]);
	hw->due[b] = NULL;
	if (st == ONYX_OK)
		st = send_results(h, results, emitted);
	else
		snprintf(h->err, h->errlen,
		    "task '%s': the end of a bucket's windows: %s", h->t->name,
		    onyx_state_why(h->state));
	json_decref(keys);
	json_decref(results);
	return st;
}
