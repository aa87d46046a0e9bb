/* examples/plugins/windowfold.c: an example C fold of an onyx/window aggregate: the sum and count of the segments' "v". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <onyx/onyx.h>

/*
 * The accumulator {"sum": S, "n": N}. Named in a window spec as
 * "aggregate": {"fn": "libonyx_examples.so:vsum"}; session windows use
 * vsum_merge too. A segment without an integer "v" fails (it goes to the
 * task's dead-letter queue with the message).
 */
static long
answer(json_t *acc, char *out, size_t outlen)
{
	char *text = json_dumps(acc, JSON_COMPACT);
	long n;

	json_decref(acc);
	if (text == NULL)
		return -1;
	n = (long)strlen(text);
	if ((size_t)n < outlen)
		memcpy(out, text, (size_t)n + 1);
	free(text);
	return n;
}

static json_t *
load(const char *text, size_t len)
{
	json_t *v = json_loadb(text, len, JSON_DECODE_ANY, NULL);

	if (json_is_null(v)) {
		json_decref(v);
		v = json_pack("{s:i,s:i}", "sum", 0, "n", 0);
	}
	return v;
}

long
vsum(const char *acc, size_t alen, const char *seg, size_t slen,
    const char *params, char *out, size_t outlen, char *err, size_t errlen)
{
	json_t *a = load(acc, alen), *s = json_loadb(seg, slen, 0, NULL);
	json_t *v = json_object_get(s, "v");
	long r;

	(void)params;
	if (a == NULL || !json_is_integer(v)) {
		snprintf(err, errlen, "\"v\" is not an integer");
		json_decref(a);
		json_decref(s);
		return -1;
	}
	json_object_set_new(a, "sum",
	    json_integer(json_integer_value(json_object_get(a, "sum")) +
	        json_integer_value(v)));
	json_object_set_new(a, "n",
	    json_integer(json_integer_value(json_object_get(a, "n")) + 1));
	json_decref(s);
	r = answer(a, out, outlen);
	return r;
}

long
vsum_merge(const char *acc, size_t alen, const char *other, size_t olen,
    const char *params, char *out, size_t outlen, char *err, size_t errlen)
{
	json_t *a = load(acc, alen), *b = load(other, olen);
	const char *k;
	json_t *x;

	(void)params;
	if (a == NULL || b == NULL) {
		snprintf(err, errlen, "an accumulator is not JSON");
		json_decref(a);
		json_decref(b);
		return -1;
	}
	json_object_foreach(b, k, x)
	{
		json_int_t n = json_integer_value(json_object_get(a, k));
		json_object_set_new(
		    a, k, json_integer(n + json_integer_value(x)));
	}
	json_decref(b);
	return answer(a, out, outlen);
}
