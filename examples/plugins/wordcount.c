/* examples/plugins/wordcount.c: example functions for a word count: split lines into words, count words with aggregation hooks. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <onyx/onyx.h>

/*
 * A word count job: in -> split -> count -> out, with count grouped by
 * "word" so that each word is counted by one virtual peer:
 *   {"onyx/name": "split", "onyx/fn": "libonyx_examples.so:split", ...}
 *   {"onyx/name": "count", "onyx/fn": "libonyx_examples.so:count",
 *    "onyx/group-by-key": "word", "onyx/state": "durable", ...}
 * With "onyx/state" count keeps its counts as keyed state (onyx(7),
 * STATE): durable, each word counted exactly once whatever fails; without
 * it, in the peer's memory (made by count_init), lost with the peer.
 * See examples/wordcount/.
 */

/* split: {"line": "To be, or not"} gives {"word": "To"}, {"word": "be"}, ...
 * A word is a run of ASCII letters and digits, as tr -cs '[:alnum:]' in the
 * C locale cuts it. Such a word needs no escaping in JSON: each segment is
 * written as text directly. */
int
split(const char *seg, size_t len, const char *params, struct onyx_emit *out,
    char *err, size_t errlen)
{
	json_t *v = json_loadb(seg, len, 0, NULL), *line;
	const char *s;
	size_t i = 0, n;
	char small[256], *buf = small;
	size_t cap = sizeof(small);
	int rc = 0;

	(void)params;
	line = json_object_get(v, "line");
	if (!json_is_string(line)) {
		snprintf(err, errlen, "no string \"line\" in the segment");
		json_decref(v);
		return -1;
	}
	s = json_string_value(line);
	n = json_string_length(line);
	while (i < n && rc == 0) {
		size_t start, wl;

		while (i < n && !isalnum((unsigned char)s[i]))
			i++;
		start = i;
		while (i < n && isalnum((unsigned char)s[i]))
			i++;
		if (i == start)
			break;
		wl = i - start;
		if (wl + 12 > cap) {
			char *p = buf == small ? malloc(wl + 12)
			                       : realloc(buf, wl + 12);
			if (p == NULL) {
				rc = -1;
				break;
			}
			buf = p;
			cap = wl + 12;
		}
		memcpy(buf, "{\"word\":\"", 9);
		memcpy(buf + 9, s + start, wl);
		memcpy(buf + 9 + wl, "\"}", 2);
		rc = onyx_emit_segment(out, buf, wl + 11);
	}
	if (buf != small)
		free(buf);
	json_decref(v);
	return rc;
}

/* count_init: the counts of this virtual peer, a JSON object word -> n. */
int
count_init(const char *params, void **state, char *err, size_t errlen)
{
	(void)params;
	if ((*state = json_object()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * The word of {"word":"W"} as split writes it (no quote or backslash in W):
 * in place, without parsing. NULL for any other text.
 */
static const char *
plain_word(const char *seg, size_t len, size_t *wl)
{
	if (len < 11 || memcmp(seg, "{\"word\":\"", 9) != 0 ||
	    memcmp(seg + len - 2, "\"}", 2) != 0)
		return NULL;
	*wl = len - 11;
	if (memchr(seg + 9, '"', *wl) != NULL ||
	    memchr(seg + 9, '\\', *wl) != NULL)
		return NULL;
	return seg + 9;
}

/* Add one to word's count in the task's keyed state. */
static int
count_keyed(struct onyx_emit *out, const char *word, size_t wl)
{
	const char *val;
	size_t vl;
	long long n = 0;
	char text[32];
	int rc = onyx_state_get(out, word, wl, &val, &vl);

	if (rc < 0)
		return -1;
	if (rc == 1) {
		char num[32];
		if (vl >= sizeof(num))
			return -1;
		memcpy(num, val, vl);
		num[vl] = '\0';
		n = strtoll(num, NULL, 10);
	}
	snprintf(text, sizeof(text), "%lld", n + 1);
	return onyx_state_put(out, word, wl, text, strlen(text));
}

/* count: add one to the segment's word; nothing is emitted until flush. */
int
count(const char *seg, size_t len, const char *params, struct onyx_emit *out,
    char *err, size_t errlen)
{
	json_t *counts = onyx_state(out), *v = NULL, *w, *n;
	const char *word;
	size_t wl;
	int rc = 0;

	(void)params;
	if ((word = plain_word(seg, len, &wl)) == NULL) {
		/* another writer's segment: read it whole */
		v = json_loadb(seg, len, 0, NULL);
		w = json_object_get(v, "word");
		if (!json_is_string(w)) {
			snprintf(
			    err, errlen, "no string \"word\" in the segment");
			json_decref(v);
			return -1;
		}
		word = json_string_value(w);
		wl = json_string_length(w);
	}
	if (onyx_state_enabled(out))
		rc = count_keyed(out, word, wl);
	else if ((n = json_object_getn(counts, word, wl)) != NULL)
		rc = json_integer_set(n, json_integer_value(n) + 1);
	else
		rc = json_object_setn_new(counts, word, wl, json_integer(1));
	if (rc != 0)
		snprintf(err, errlen, "out of memory");
	json_decref(v);
	return rc != 0 ? -1 : 0;
}

/* One {"word": w, "count": n} of keyed state. */
static int
emit_count(void *ctx, const char *word, size_t wl, const char *val, size_t vl)
{
	struct onyx_emit *out = ctx;
	char num[32];
	json_t *r;
	char *text;
	int rc;

	if (vl >= sizeof(num))
		return -1;
	memcpy(num, val, vl);
	num[vl] = '\0';
	r = json_pack("{s:s%,s:I}", "word", word, wl, "count",
	    (json_int_t)strtoll(num, NULL, 10));
	text = r ? json_dumps(r, JSON_COMPACT) : NULL;
	rc = text ? onyx_emit_segment(out, text, strlen(text)) : -1;
	free(text);
	json_decref(r);
	return rc;
}

/*
 * count_flush: at the end of the input, {"word": w, "count": n} each (with
 * keyed state, called once per bucket: the words of that bucket). With
 * "onyx/params" {"flush-sleep-ms": N} it first sleeps N ms per bucket: a
 * test's way to hold the sealing flush open (tests/0100-*.t).
 */
int
count_flush(void *state, const char *params, struct onyx_emit *out, char *err,
    size_t errlen)
{
	json_t *counts = state, *n;
	const char *word;

	if (onyx_state_enabled(out)) {
		json_t *pa = json_loads(params, 0, NULL);
		json_int_t ms =
		    json_integer_value(json_object_get(pa, "flush-sleep-ms"));
		json_decref(pa);
		if (ms > 0)
			usleep((useconds_t)ms * 1000);
		if (onyx_state_each(out, emit_count, out) != 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	}
	json_object_foreach(counts, word, n)
	{
		json_t *r = json_pack("{s:s,s:O}", "word", word, "count", n);
		char *text = r ? json_dumps(r, JSON_COMPACT) : NULL;
		int rc = text ? onyx_emit_segment(out, text, strlen(text)) : -1;

		free(text);
		json_decref(r);
		if (rc != 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

void
count_fini(void *state)
{
	json_decref(state);
}

/* first_letter: an onyx/group-by-fn: a word's group is its first letter. */
int
first_letter(const char *seg, size_t len, const char *params, char *group,
    size_t grouplen, char *err, size_t errlen)
{
	json_t *v = json_loadb(seg, len, 0, NULL);
	const char *w = json_string_value(json_object_get(v, "word"));

	(void)params;
	if (w == NULL || *w == '\0') {
		snprintf(err, errlen, "no \"word\" to group by");
		json_decref(v);
		return -1;
	}
	snprintf(group, grouplen, "%c", tolower((unsigned char)*w));
	json_decref(v);
	return 0;
}
