/* lib/state.c: a task's keyed state per group bucket: maps, call staging, the batch journal, records and their restore (pure; no I/O). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "order.h"
#include "state.h"

/* a record's room for what is not its entries */
#define RECORD_SLACK 128

struct bucket {
	json_t *map;            /* key -> value; NULL: not loaded */
	unsigned long long seq; /* the last record's seq (written or read) */
	/* the records since the last snapshot: entries and text bytes */
	size_t log_entries, log_bytes;
	json_t *touched; /* keys the open batch changed, or NULL */
	/* restore: a snapshot being read */
	json_t *pend;
	unsigned long long pend_id;
	long long pend_next, pend_parts;
};

/* the value a key had before the open batch first changed it */
struct undo {
	unsigned b;
	char *key;
	size_t klen;
	json_t *old; /* NULL: absent */
};

/* the snapshots one written batch holds, until it commits */
struct snaps {
	unsigned n;
	unsigned b[ONYX_STATE_BUCKETS];
	unsigned long long id[ONYX_STATE_BUCKETS];
};

struct onyx_state {
	enum onyx_state_mode mode;
	struct bucket bk[ONYX_STATE_BUCKETS];
	unsigned cur;
	bool in_call;
	json_t *staged; /* the call's puts: key -> [v], or [] to delete */
	struct undo *j;
	size_t nj, capj;
	/* written batches not yet committed (at most two: pipelining) */
	struct snaps *wq;
	size_t nwq, capwq;
	struct snaps done; /* committed, for onyx_state_take_snapshots */
	char *text;        /* onyx_state_get_text's */
	size_t snap_min;   /* the compaction's min_bytes */
	char why[256];
};

static void batch_committed_one(struct onyx_state *s);

enum onyx_state_mode
onyx_state_mode_of(const char *s)
{
	if (s == NULL)
		return ONYX_STATE_NONE;
	if (strcmp(s, "durable") == 0)
		return ONYX_STATE_DURABLE;
	if (strcmp(s, "memory") == 0)
		return ONYX_STATE_MEMORY;
	return ONYX_STATE_NONE;
}

enum onyx_state_mode
onyx_state_mode_of_catalog(const json_t *cat)
{
	json_t *v = json_object_get(cat, "onyx/state");

	if (v != NULL)
		return onyx_state_mode_of(json_string_value(v));
	return json_object_get(cat, "onyx/window") != NULL ? ONYX_STATE_DURABLE
	                                                   : ONYX_STATE_NONE;
}

struct onyx_state *
onyx_state_new(enum onyx_state_mode mode)
{
	struct onyx_state *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->mode = mode;
	s->snap_min = ONYX_STATE_SNAP_MIN_BYTES;
	return s;
}

static void
undo_clear(struct onyx_state *s)
{
	for (size_t i = 0; i < s->nj; i++) {
		free(s->j[i].key);
		json_decref(s->j[i].old);
	}
	s->nj = 0;
	for (unsigned b = 0; b < ONYX_STATE_BUCKETS; b++) {
		json_decref(s->bk[b].touched);
		s->bk[b].touched = NULL;
	}
}

void
onyx_state_free(struct onyx_state *s)
{
	if (s == NULL)
		return;
	undo_clear(s);
	free(s->j);
	for (unsigned b = 0; b < ONYX_STATE_BUCKETS; b++) {
		json_decref(s->bk[b].map);
		json_decref(s->bk[b].pend);
	}
	json_decref(s->staged);
	free(s->wq);
	free(s->text);
	free(s);
}

enum onyx_state_mode
onyx_state_get_mode(const struct onyx_state *s)
{
	return s->mode;
}

bool
onyx_state_loaded(const struct onyx_state *s, unsigned b)
{
	return b < ONYX_STATE_BUCKETS && s->bk[b].map != NULL;
}

int
onyx_state_select(struct onyx_state *s, unsigned b)
{
	if (b >= ONYX_STATE_BUCKETS)
		return -1;
	if (s->bk[b].map == NULL && (s->bk[b].map = json_object()) == NULL)
		return -1;
	s->cur = b;
	return 0;
}

unsigned
onyx_state_current(const struct onyx_state *s)
{
	return s->cur;
}

size_t
onyx_state_nkeys(const struct onyx_state *s, unsigned b)
{
	return b < ONYX_STATE_BUCKETS ? json_object_size(s->bk[b].map) : 0;
}

void
onyx_state_unload(struct onyx_state *s, unsigned b)
{
	struct bucket *k;

	if (b >= ONYX_STATE_BUCKETS)
		return;
	k = &s->bk[b];
	json_decref(k->map);
	json_decref(k->pend);
	json_decref(k->touched);
	k->map = k->pend = k->touched = NULL;
	k->seq = 0;
	k->log_entries = k->log_bytes = 0;
	/* the journal's entries of b undo nothing any more */
	for (size_t i = 0; i < s->nj; i++)
		if (s->j[i].b == b) {
			json_decref(s->j[i].old);
			s->j[i].old = NULL;
			s->j[i].b = ONYX_STATE_BUCKETS;
		}
}

json_t *
onyx_state_get_json(struct onyx_state *s, const char *key, size_t klen)
{
	json_t *w;

	if (s->in_call && s->staged != NULL &&
	    (w = json_object_getn(s->staged, key, klen)) != NULL)
		return json_array_get(w, 0);
	return json_object_getn(s->bk[s->cur].map, key, klen);
}

/* The length of key's text in a record, quotes and escapes included. */
static size_t
key_text_len(const char *key, size_t klen)
{
	size_t n = 2;

	for (size_t i = 0; i < klen; i++) {
		unsigned char c = (unsigned char)key[i];
		n += c == '"' || c == '\\' ? 2 : c < 0x20 ? 6 : 1;
	}
	return n;
}

/* The length of v's compact text, or 0 out of memory. */
static size_t
value_text_len(const json_t *v)
{
	char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	size_t n = t ? strlen(t) : 0;

	free(t);
	return n;
}

/* Apply a put to bucket b's map, journaling the old value first. */
static int
apply(struct onyx_state *s, unsigned b, const char *key, size_t klen, json_t *v)
{
	struct bucket *k = &s->bk[b];

	if (k->map == NULL && (k->map = json_object()) == NULL) {
		json_decref(v);
		return -1;
	}
	if (k->touched == NULL && (k->touched = json_object()) == NULL) {
		json_decref(v);
		return -1;
	}
	if (json_object_getn(k->touched, key, klen) == NULL) {
		struct undo *u;
		if (s->nj == s->capj) {
			size_t cap = s->capj ? s->capj * 2 : 64;
			if ((u = reallocarray(s->j, cap, sizeof(*u))) == NULL) {
				json_decref(v);
				return -1;
			}
			s->j = u;
			s->capj = cap;
		}
		u = &s->j[s->nj];
		if ((u->key = malloc(klen ? klen : 1)) == NULL ||
		    json_object_setn_new_nocheck(
		        k->touched, key, klen, json_true()) != 0) {
			free(u->key);
			json_decref(v);
			return -1;
		}
		memcpy(u->key, key, klen);
		u->klen = klen;
		u->b = b;
		u->old = json_incref(json_object_getn(k->map, key, klen));
		s->nj++;
	}
	if (v == NULL) {
		json_object_deln(k->map, key, klen);
		return 0;
	}
	return json_object_setn_new_nocheck(k->map, key, klen, v);
}

int
onyx_state_put_json(
    struct onyx_state *s, const char *key, size_t klen, json_t *v)
{
	json_t *w;

	s->why[0] = '\0';
	if (key == NULL) {
		json_decref(v);
		return -1;
	}
	/* a key is a JSON object key in the records: UTF-8 text */
	w = json_stringn(key, klen);
	if (w == NULL) {
		snprintf(
		    s->why, sizeof(s->why), "a state key must be UTF-8 text");
		json_decref(v);
		return -1;
	}
	json_decref(w);
	if (v != NULL && s->mode == ONYX_STATE_DURABLE &&
	    key_text_len(key, klen) + value_text_len(v) + RECORD_SLACK >
	        ONYX_STATE_RECORD_MAX) {
		snprintf(s->why, sizeof(s->why),
		    "a state key and value must be under %d bytes of JSON text",
		    ONYX_STATE_RECORD_MAX - RECORD_SLACK);
		json_decref(v);
		return -1;
	}
	if (!s->in_call)
		return apply(s, s->cur, key, klen, v);
	if (s->staged == NULL && (s->staged = json_object()) == NULL) {
		json_decref(v);
		return -1;
	}
	if ((w = json_array()) == NULL ||
	    (v != NULL && json_array_append_new(w, v) != 0)) {
		if (w == NULL)
			json_decref(v);
		json_decref(w);
		return -1;
	}
	return json_object_setn_new_nocheck(s->staged, key, klen, w);
}

int
onyx_state_each_json(struct onyx_state *s,
    int (*cb)(void *ctx, const char *key, size_t klen, json_t *v), void *ctx)
{
	const char *key;
	size_t klen;
	json_t *v;
	int rc;

	json_object_keylen_foreach(s->bk[s->cur].map, key, klen, v)
	{
		/* the engine's keys (lib/order.h) are not the task's */
		if (klen > 0 && key[0] == ONYX_ORDER_RESERVED)
			continue;
		if ((rc = cb(ctx, key, klen, v)) != 0)
			return rc;
	}
	return 0;
}

void
onyx_state_call_begin(struct onyx_state *s)
{
	if (s->staged != NULL)
		json_object_clear(s->staged);
	s->in_call = true;
}

void
onyx_state_call_end(struct onyx_state *s, bool keep)
{
	const char *key;
	size_t klen;
	json_t *w;

	s->in_call = false;
	if (s->staged == NULL)
		return;
	if (keep)
		json_object_keylen_foreach(s->staged, key, klen, w)
		{
			json_t *v = json_array_get(w, 0);
			/* out of memory here loses a put: the batch goes on
			 * without it, as a failed call's would */
			apply(s, s->cur, key, klen, json_incref(v));
		}
	json_object_clear(s->staged);
}

void
onyx_state_batch_abandon(struct onyx_state *s)
{
	for (size_t i = s->nj; i-- > 0;) {
		struct undo *u = &s->j[i];
		if (u->b >= ONYX_STATE_BUCKETS || s->bk[u->b].map == NULL)
			continue;
		if (u->old == NULL)
			json_object_deln(s->bk[u->b].map, u->key, u->klen);
		else
			json_object_setn_nocheck(
			    s->bk[u->b].map, u->key, u->klen, u->old);
	}
	undo_clear(s);
	if (s->staged != NULL)
		json_object_clear(s->staged);
	s->in_call = false;
}

bool
onyx_state_batch_dirty(const struct onyx_state *s)
{
	return s->nj > 0;
}

bool
onyx_state_should_snapshot(
    size_t entries, size_t bytes, size_t nkeys, size_t min_bytes)
{
	return bytes >= min_bytes && entries >= nkeys;
}

void
onyx_state_set_snapshot_bytes(struct onyx_state *s, size_t min_bytes)
{
	if (min_bytes > 0)
		s->snap_min = min_bytes;
}

/* One record of bucket b: its text, then send. */
static int
emit_record(struct onyx_state *s, unsigned b, json_t *rec,
    int (*send)(void *, unsigned, unsigned long long, const char *, size_t),
    void *ctx, size_t *bytes)
{
	char *t = json_dumps(rec, JSON_COMPACT);
	int rc;

	if (t == NULL)
		return -1;
	s->bk[b].seq++;
	*bytes += strlen(t);
	rc = send(ctx, b, s->bk[b].seq, t, strlen(t));
	free(t);
	return rc;
}

/* A new delta record, empty. */
static json_t *
new_delta(void)
{
	return json_pack("{s:i,s:s,s:{},s:[]}", "v", ONYX_STATE_FORMAT, "t",
	    "delta", "set", "del");
}

/* The changed keys of bucket b as deltas, each under the record limit. */
static int
write_delta(struct onyx_state *s, unsigned b,
    int (*send)(void *, unsigned, unsigned long long, const char *, size_t),
    void *ctx, size_t *bytes)
{
	struct bucket *k = &s->bk[b];
	json_t *rec = new_delta(), *dummy;
	size_t size = RECORD_SLACK, n = 0;
	const char *key;
	size_t klen;
	int rc = 0;

	if (rec == NULL)
		return -1;
	json_object_keylen_foreach(k->touched, key, klen, dummy)
	{
		json_t *v = json_object_getn(k->map, key, klen);
		size_t es = key_text_len(key, klen) + 2 +
		    (v != NULL ? value_text_len(v) : 0);
		if (n > 0 && size + es > ONYX_STATE_RECORD_MAX) {
			if ((rc = emit_record(s, b, rec, send, ctx, bytes)) !=
			    0)
				break;
			json_decref(rec);
			if ((rec = new_delta()) == NULL)
				return -1;
			size = RECORD_SLACK;
			n = 0;
		}
		if (v != NULL)
			rc = json_object_setn_nocheck(
			    json_object_get(rec, "set"), key, klen, v);
		else
			rc = json_array_append_new(json_object_get(rec, "del"),
			    json_stringn_nocheck(key, klen));
		if (rc != 0)
			break;
		size += es;
		n++;
	}
	if (rc == 0 && n > 0)
		rc = emit_record(s, b, rec, send, ctx, bytes);
	json_decref(rec);
	return rc;
}

/* The whole of bucket b as a snapshot in parts; *id its first seq. */
static int
write_snapshot(struct onyx_state *s, unsigned b,
    int (*send)(void *, unsigned, unsigned long long, const char *, size_t),
    void *ctx, unsigned long long *id)
{
	struct bucket *k = &s->bk[b];
	json_t *parts = json_array(), *part = NULL, *v;
	size_t size = 0, i, bytes = 0;
	const char *key;
	size_t klen;
	int rc = -1;

	if (parts == NULL)
		return -1;
	json_object_keylen_foreach(k->map, key, klen, v)
	{
		size_t es = key_text_len(key, klen) + 2 + value_text_len(v);
		if (part == NULL || size + es > ONYX_STATE_RECORD_MAX) {
			if ((part = json_object()) == NULL ||
			    json_array_append_new(parts, part) != 0)
				goto out;
			size = RECORD_SLACK;
		}
		if (json_object_setn_nocheck(part, key, klen, v) != 0)
			goto out;
		size += es;
	}
	if (json_array_size(parts) == 0 &&
	    json_array_append_new(parts, json_object()) != 0)
		goto out;
	*id = k->seq + 1;
	json_array_foreach(parts, i, part)
	{
		json_t *rec = json_pack("{s:i,s:s,s:I,s:I,s:I,s:O}", "v",
		    ONYX_STATE_FORMAT, "t", "snap", "id", (json_int_t)*id,
		    "part", (json_int_t)i, "parts",
		    (json_int_t)json_array_size(parts), "set", part);
		if (rec == NULL)
			goto out;
		rc = emit_record(s, b, rec, send, ctx, &bytes);
		json_decref(rec);
		if (rc != 0)
			goto out;
	}
	rc = 0;
out:
	json_decref(parts);
	return rc;
}

int
onyx_state_batch_write(struct onyx_state *s,
    int (*send)(void *ctx, unsigned bucket, unsigned long long seq,
        const char *text, size_t len),
    void *ctx)
{
	struct snaps *q = NULL;
	int rc = 0;

	if (s->mode == ONYX_STATE_DURABLE) {
		if (s->nwq == s->capwq) {
			size_t cap = s->capwq ? s->capwq * 2 : 2;
			struct snaps *p = reallocarray(s->wq, cap, sizeof(*p));
			if (p == NULL)
				return -1;
			s->wq = p;
			s->capwq = cap;
		}
		q = &s->wq[s->nwq++];
		q->n = 0;
	}
	for (unsigned b = 0; q != NULL && b < ONYX_STATE_BUCKETS && rc == 0;
	     b++) {
		struct bucket *k = &s->bk[b];
		size_t changed = json_object_size(k->touched), bytes = 0;
		unsigned long long id;
		if (changed == 0 || k->map == NULL)
			continue;
		if (onyx_state_should_snapshot(k->log_entries + changed,
		        k->log_bytes + changed * 16, json_object_size(k->map),
		        s->snap_min)) {
			if ((rc = write_snapshot(s, b, send, ctx, &id)) != 0)
				break;
			k->log_entries = k->log_bytes = 0;
			q->b[q->n] = b;
			q->id[q->n++] = id;
			continue;
		}
		rc = write_delta(s, b, send, ctx, &bytes);
		k->log_entries += changed;
		k->log_bytes += bytes;
	}
	undo_clear(s);
	return rc;
}

void
onyx_state_batch_committed(struct onyx_state *s, size_t keep)
{
	while (s->nwq > keep)
		batch_committed_one(s);
}

/* The oldest batch written has committed. */
static void
batch_committed_one(struct onyx_state *s)
{
	struct snaps *q = &s->wq[0];

	for (unsigned i = 0; i < q->n; i++) {
		unsigned b = q->b[i];
		unsigned d;
		/* one entry per bucket: the newest snapshot wins */
		for (d = 0; d < s->done.n && s->done.b[d] != b; d++)
			;
		s->done.b[d] = b;
		s->done.id[d] = q->id[i];
		if (d == s->done.n)
			s->done.n++;
	}
	memmove(s->wq, s->wq + 1, (s->nwq - 1) * sizeof(*s->wq));
	s->nwq--;
}

void
onyx_state_batch_forget(struct onyx_state *s)
{
	if (s->nwq > 0)
		s->nwq--;
}

void
onyx_state_take_snapshots(struct onyx_state *s,
    void (*cb)(void *ctx, unsigned bucket, unsigned long long snap), void *ctx)
{
	for (unsigned i = 0; i < s->done.n; i++)
		cb(ctx, s->done.b[i], s->done.id[i]);
	s->done.n = 0;
}

int
onyx_state_get_text(struct onyx_state *s, const char *key, size_t klen,
    const char **val, size_t *vlen)
{
	json_t *v = onyx_state_get_json(s, key, klen);

	*val = NULL;
	*vlen = 0;
	if (v == NULL)
		return 0;
	free(s->text);
	if ((s->text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
		return -1;
	*val = s->text;
	*vlen = strlen(s->text);
	return 1;
}

const char *
onyx_state_why(const struct onyx_state *s)
{
	return s->why[0] ? s->why : "out of memory";
}

/* Restore */

int
onyx_state_restore_begin(struct onyx_state *s, unsigned b)
{
	if (b >= ONYX_STATE_BUCKETS)
		return -1;
	onyx_state_unload(s, b);
	return (s->bk[b].map = json_object()) != NULL ? 0 : -1;
}

/* Entries of object set into map. */
static int
merge(json_t *map, json_t *set)
{
	const char *key;
	size_t klen;
	json_t *v;

	json_object_keylen_foreach(set, key, klen, v)
	{
		if (json_object_setn_nocheck(map, key, klen, v) != 0)
			return -1;
	}
	return 0;
}

int
onyx_state_restore_record(struct onyx_state *s, unsigned b,
    unsigned long long seq, const char *text, size_t len, char *why,
    size_t whylen)
{
	struct bucket *k;
	json_error_t je;
	json_t *rec, *set, *del, *v;
	const char *t;
	json_int_t ver;
	size_t i;
	int rc = -1;

	if (b >= ONYX_STATE_BUCKETS || s->bk[b].map == NULL) {
		snprintf(why, whylen, "bucket %u is not being restored", b);
		return -1;
	}
	k = &s->bk[b];
	if ((rec = json_loadb(text, len, 0, &je)) == NULL) {
		snprintf(
		    why, whylen, "a state record is not JSON: %s", je.text);
		return -1;
	}
	ver = json_integer_value(json_object_get(rec, "v"));
	t = json_string_value(json_object_get(rec, "t"));
	set = json_object_get(rec, "set");
	if (ver != ONYX_STATE_FORMAT || t == NULL || !json_is_object(set)) {
		snprintf(why, whylen,
		    "a state record of format %lld, not %d (or not a state record)",
		    (long long)ver, ONYX_STATE_FORMAT);
		goto out;
	}
	if (seq > k->seq)
		k->seq = seq;
	if (strcmp(t, "delta") == 0) {
		del = json_object_get(rec, "del");
		if (merge(k->map, set) != 0)
			goto oom;
		json_array_foreach(del, i, v) if (json_is_string(v))
		    json_object_deln(
		        k->map, json_string_value(v), json_string_length(v));
		k->log_entries += json_object_size(set) + json_array_size(del);
		k->log_bytes += len;
		rc = 0;
		goto out;
	}
	if (strcmp(t, "snap") == 0) {
		json_int_t id = json_integer_value(json_object_get(rec, "id"));
		json_int_t part =
		    json_integer_value(json_object_get(rec, "part"));
		json_int_t parts =
		    json_integer_value(json_object_get(rec, "parts"));
		if (part == 0) {
			json_decref(k->pend);
			if ((k->pend = json_object()) == NULL)
				goto oom;
			k->pend_id = (unsigned long long)id;
			k->pend_next = 0;
			k->pend_parts = parts;
		}
		/* a part of no snapshot begun (the start removed, or an
		 * older one's rest): nothing of it counts */
		if (k->pend == NULL || (unsigned long long)id != k->pend_id ||
		    part != k->pend_next || parts != k->pend_parts) {
			json_decref(k->pend);
			k->pend = NULL;
			rc = 0;
			goto out;
		}
		if (merge(k->pend, set) != 0)
			goto oom;
		k->pend_next++;
		if (k->pend_next == k->pend_parts) {
			json_decref(k->map);
			k->map = k->pend;
			k->pend = NULL;
			k->log_entries = k->log_bytes = 0;
		}
		rc = 0;
		goto out;
	}
	snprintf(why, whylen, "a state record of unknown type '%s'", t);
	goto out;
oom:
	snprintf(why, whylen, "out of memory");
out:
	json_decref(rec);
	return rc;
}

void
onyx_state_restore_end(struct onyx_state *s, unsigned b)
{
	if (b >= ONYX_STATE_BUCKETS)
		return;
	json_decref(s->bk[b].pend);
	s->bk[b].pend = NULL;
}
