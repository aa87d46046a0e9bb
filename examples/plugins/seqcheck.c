/* examples/plugins/seqcheck.c: a C function on keyed state that checks each group's segments arrive in order (tests/0107-group-order.t). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <onyx/onyx.h>

/*
 * seqcheck: a segment {"user": U, "seq": N, ...} of a task grouped by
 * "user" with "onyx/state". The state of key U is {"last": L, "n": C,
 * "regress": R}: the highest seq seen, how many segments, and how many
 * came with a seq below the highest before them. Nothing is emitted until
 * the flush.
 */
int
seqcheck(const char *seg, size_t len, const char *params, struct onyx_emit *out,
    char *err, size_t errlen)
{
	json_t *v = json_loadb(seg, len, 0, NULL), *s = NULL;
	json_int_t seq, last = 0, n = 0, regress = 0;
	const char *user, *val;
	size_t vl;
	char *text;
	int rc;

	(void)params;
	user = json_string_value(json_object_get(v, "user"));
	if (user == NULL || !json_is_integer(json_object_get(v, "seq"))) {
		snprintf(err, errlen, "no string \"user\" and integer \"seq\"");
		json_decref(v);
		return -1;
	}
	seq = json_integer_value(json_object_get(v, "seq"));
	if ((rc = onyx_state_get(out, user, strlen(user), &val, &vl)) < 0) {
		snprintf(err, errlen, "no keyed state");
		json_decref(v);
		return -1;
	}
	if (rc == 1 && (s = json_loadb(val, vl, 0, NULL)) != NULL) {
		last = json_integer_value(json_object_get(s, "last"));
		n = json_integer_value(json_object_get(s, "n"));
		regress = json_integer_value(json_object_get(s, "regress"));
		json_decref(s);
	}
	if (seq < last)
		regress++;
	s = json_pack("{s:I,s:I,s:I}", "last", seq > last ? seq : last, "n",
	    n + 1, "regress", regress);
	text = s != NULL ? json_dumps(s, JSON_COMPACT) : NULL;
	rc = text != NULL
	    ? onyx_state_put(out, user, strlen(user), text, strlen(text))
	    : -1;
	if (rc != 0)
		snprintf(err, errlen, "out of memory");
	free(text);
	json_decref(s);
	json_decref(v);
	return rc != 0 ? -1 : 0;
}

/* One {"user": U, "last": L, "n": C, "regress": R} per key. */
static int
emit_one(void *ctx, const char *key, size_t klen, const char *val, size_t vl)
{
	struct onyx_emit *out = ctx;
	json_t *s = json_loadb(val, vl, 0, NULL), *r;
	char *text;
	int rc;

	if (s == NULL)
		return -1;
	r = json_pack("{s:s%,s:O,s:O,s:O}", "user", key, klen, "last",
	    json_object_get(s, "last"), "n", json_object_get(s, "n"), "regress",
	    json_object_get(s, "regress"));
	text = r != NULL ? json_dumps(r, JSON_COMPACT) : NULL;
	rc = text != NULL ? onyx_emit_segment(out, text, strlen(text)) : -1;
	free(text);
	json_decref(r);
	json_decref(s);
	return rc;
}

/* seqcheck_flush: at the end of input, each key's record. */
int
seqcheck_flush(void *state, const char *params, struct onyx_emit *out,
    char *err, size_t errlen)
{
	(void)state;
	(void)params;
	if (onyx_state_each(out, emit_one, out) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}
