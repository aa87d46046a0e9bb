/* tests/unit/test_jscan.c: the one-pass validator: accepts, refuses, and never accepts what jansson refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../lib/jscan.h"

static bool
jansson_object(const char *t, size_t n)
{
	json_t *v = json_loadb(t, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	bool ok = v != NULL && json_is_object(v);

	json_decref(v);
	return ok;
}

static const char *good[] = {
    "{}",
    " \t\r\n{ } \n",
    "{\"id\":1,\"pad\":\"abc\"}",
    "{\"a\":[1,-2,3.5,-0.25e10,1E+2,0,true,false,null,{},[]]}",
    "{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"}",
    "{\"\xc3\xa9t\xc3\xa9\":\"\xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbd\"}",
    "{\"nul in a value\":\"a\\u0000b\"}",
    "{\"k\":{\"k\":{\"k\":[[[\"deep\"]]]}}}",
    "{\"\":\"\",\"dup\":1,\"dup\":2}",
};

static const char *bad[] = {
    "",
    "[]",
    "\"s\"",
    "1",
    "null",
    "{",
    "}",
    "{\"a\"}",
    "{\"a\":}",
    "{\"a\":1,}",
    "{,}",
    "{\"a\":1 \"b\":2}",
    "{a:1}",
    "{'a':1}",
    "{\"a\":01}",
    "{\"a\":1.}",
    "{\"a\":.5}",
    "{\"a\":-}",
    "{\"a\":1e}",
    "{\"a\":+1}",
    "{\"a\":tru}",
    "{\"a\":True}",
    "{\"a\":nul}",
    "{\"a\":\"\\x\"}",
    "{\"a\":\"\\u12\"}",
    "{\"a\":\"\\ud800\"}",
    "{\"a\":\"\\udc00\"}",
    "{\"a\":\"\\ud800\\u0041\"}",
    "{\"a\":\"tab\there\"}",
    "{\"a\":\"\xc0\xaf\"}",
    "{\"a\":\"\xed\xa0\x80\"}",
    "{\"a\":\"\xf4\x90\x80\x80\"}",
    "{\"a\":\"\xe2\x82\"}",
    "{\"a\":\"\xff\"}",
    "{} {}",
    "{}x",
    "{\"a\":[1,]}",
    "{\"a\":[1 2]}",
    "{\"a\":\"unterminated}",
    /* valid JSON that is left to jansson: ranges, a NUL in a key */
    "{\"big\":12345678901234567890}",
    "{\"e\":1e999}",
    "{\"k\\u0000\":1}",
};

static void
accepts(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_true(onyx_jscan_object(good[i], strlen(good[i])));
		assert_true(jansson_object(good[i], strlen(good[i])));
	}
	/* every byte alone in a string: ASCII from the space on, but the quote
	 * and the backslash; no control, no lone byte >= 0x80 */
	for (int c = 0; c < 256; c++) {
		char t[] = "{\"a\":\"X\"}";
		bool want = c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
		t[6] = (char)c;
		if (onyx_jscan_object(t, sizeof(t) - 1) != want)
			fail_msg("byte 0x%02x in a string", c);
		if (want)
			assert_true(jansson_object(t, sizeof(t) - 1));
	}
	/* a NUL byte inside the text is never valid raw */
	assert_false(onyx_jscan_object("{\"a\":\"x\0y\"}", 11));
}

static void
refuses(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (onyx_jscan_object(bad[i], strlen(bad[i])))
			fail_msg("accepted: %s", bad[i]);
}

static void
depth(void **state)
{
	char buf[2 * 600 + 16];
	size_t n = 0;
	int i;

	(void)state;
	buf[n++] = '{';
	memcpy(buf + n, "\"a\":", 4);
	n += 4;
	for (i = 0; i < 600; i++)
		buf[n++] = '[';
	for (i = 0; i < 600; i++)
		buf[n++] = ']';
	buf[n++] = '}';
	assert_false(onyx_jscan_object(buf, n)); /* past 512: jansson's */
	assert_true(jansson_object(buf, n));
}

/*
 * Mutations of good texts (bytes changed, inserted, deleted, the text cut):
 * whatever the scanner accepts, jansson must read as an object.
 */
static void
never_more_than_jansson(void **state)
{
	static const char alphabet[] = "{}[]\":,\\u0123456789abcdefnrtlse.-+E "
	                               "\t\n\x01\x7f\x80\xbf\xc3\xe2\xed\xf0"
	                               "\xf4\xff";
	unsigned seed = 12345;
	char buf[256];
	size_t i, n, g, trials = 200000, accepted = 0;
	int k, m;

	(void)state;
	for (i = 0; i < trials; i++) {
		g = i % (sizeof(good) / sizeof(good[0]));
		n = strlen(good[g]);
		memcpy(buf, good[g], n);
		m = 1 + (int)(rand_r(&seed) % 3);
		for (k = 0; k < m; k++) {
			size_t at = n ? (size_t)rand_r(&seed) % n : 0;
			char c =
			    alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
			switch (rand_r(&seed) % 4) {
			case 0:
				if (n)
					buf[at] = c;
				break;
			case 1:
				if (n + 1 < sizeof(buf)) {
					memmove(buf + at + 1, buf + at, n - at);
					buf[at] = c;
					n++;
				}
				break;
			case 2:
				if (n) {
					memmove(
					    buf + at, buf + at + 1, n - at - 1);
					n--;
				}
				break;
			default: n = at; break;
			}
		}
		if (onyx_jscan_object(buf, n)) {
			accepted++;
			if (!jansson_object(buf, n))
				fail_msg("scanner accepts, jansson refuses: "
				         "%.*s",
				    (int)n, buf);
		}
	}
	/* the mutations are not all fatal: the property was exercised */
	assert_true(accepted > 1000);
}

/* The group of a key, read without building the object. */
static void
key_string(void **state)
{
	struct {
		const char *text, *key, *want; /* want NULL: not certain */
	} cases[] = {
	    {"{\"word\":\"the\"}", "word", "the"},
	    {" {\"n\":1, \"word\" : \"\xc3\xa9t\xc3\xa9\"} ", "word",
	        "\xc3\xa9t\xc3\xa9"},
	    {"{\"word\":\"a\",\"x\":{\"word\":\"inner\"},\"word\":\"last\"}",
	        "word", "last"},
	    {"{\"word\":\"\"}", "word", ""},
	    {"{\"word\":1}", "word", NULL},
	    {"{\"word\":\"a\\nb\"}", "word", NULL},
	    {"{\"w\\u006frd\":\"x\",\"word\":\"y\"}", "word", NULL},
	    {"{\"other\":\"x\"}", "word", NULL},
	    {"{\"word\":\"x\"", "word", NULL},
	    {"{\"word\":\"x\"} x", "word", NULL},
	    {"[\"word\"]", "word", NULL},
	};
	const char *v;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = onyx_jscan_key_string(
		    cases[i].text, strlen(cases[i].text), cases[i].key, &v, &n);
		if (cases[i].want == NULL) {
			if (got)
				fail_msg("certain of %s", cases[i].text);
			continue;
		}
		if (!got)
			fail_msg("not certain of %s", cases[i].text);
		assert_int_equal(n, strlen(cases[i].want));
		assert_memory_equal(v, cases[i].want, n);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(accepts),
	    cmocka_unit_test(refuses),
	    cmocka_unit_test(depth),
	    cmocka_unit_test(never_more_than_jansson),
	    cmocka_unit_test(key_string),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
