/* tests/unit/test_json.c: strict object parsing, error texts and JSON paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/json.h"
#include "../../lib/status.h"

static void
parses_objects(void **state)
{
	json_t *v;
	char err[256];
	const char *s = "{\"a\":1,\"b\":[1,2]}";

	(void)state;
	assert_int_equal(
	    onyx_json_parse_object(s, strlen(s), &v, err, sizeof(err)),
	    ONYX_OK);
	assert_true(json_is_object(v));
	assert_int_equal(json_integer_value(json_object_get(v, "a")), 1);
	json_decref(v);
	/* the length bounds the text: trailing bytes are not read */
	assert_int_equal(
	    onyx_json_parse_object("{}garbage", 2, &v, err, sizeof(err)),
	    ONYX_OK);
	json_decref(v);
}

static void
rejects_non_objects(void **state)
{
	json_t *v = (json_t *)1;
	char err[256];

	(void)state;
	assert_int_equal(
	    onyx_json_parse_object("[1,2]", 5, &v, err, sizeof(err)),
	    ONYX_EDATA);
	assert_null(v);
	assert_string_equal(err, "a JSON array, not an object");
	assert_int_equal(
	    onyx_json_parse_object("\"x\"", 3, &v, err, sizeof(err)),
	    ONYX_EDATA);
	assert_string_equal(err, "a JSON string, not an object");
	assert_int_equal(
	    onyx_json_parse_object("null", 4, &v, err, sizeof(err)),
	    ONYX_EDATA);
	assert_string_equal(err, "JSON null, not an object");
	assert_int_equal(
	    onyx_json_parse_object("", 0, &v, err, sizeof(err)), ONYX_EDATA);
	assert_non_null(strstr(err, "not JSON (column"));
	assert_int_equal(
	    onyx_json_parse_object("{\"a\":", 5, &v, err, sizeof(err)),
	    ONYX_EDATA);
	assert_string_equal(
	    err, "not JSON (column 5: unexpected token near end of file)");
	assert_int_equal(
	    onyx_json_parse_object("{} {}", 5, &v, err, sizeof(err)),
	    ONYX_EDATA);
}

static void
doc_errors_have_lines(void **state)
{
	json_t *v;
	char err[256];
	const char *s = "{\n  \"a\": 1,\n  \"b\": ]\n}";

	(void)state;
	assert_int_equal(
	    onyx_json_parse_doc(s, strlen(s), &v, err, sizeof(err)),
	    ONYX_EDATA);
	assert_non_null(strstr(err, "line 3, column 8:"));
}

static void
paths(void **state)
{
	char buf[128], b2[128];

	(void)state;
	assert_string_equal(
	    onyx_json_path_index(buf, sizeof(buf), "catalog", 2), "catalog[2]");
	assert_string_equal(
	    onyx_json_path_key(b2, sizeof(b2), buf, "onyx/type"),
	    "catalog[2].\"onyx/type\"");
	assert_string_equal(
	    onyx_json_path_key(buf, sizeof(buf), "", "workflow"), "workflow");
	assert_string_equal(
	    onyx_json_path_key(buf, sizeof(buf), "a", "b_1"), "a.b_1");
	assert_string_equal(
	    onyx_json_path_key(buf, sizeof(buf), "a", "1b"), "a.\"1b\"");
}

static void
newlines(void **state)
{
	(void)state;
	assert_false(onyx_json_has_newline("{\"a\":\"\\n\"}", 10));
	assert_true(onyx_json_has_newline("{\n}", 3));
	assert_true(onyx_json_has_newline("{\r}", 3));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parses_objects),
	    cmocka_unit_test(rejects_non_objects),
	    cmocka_unit_test(doc_errors_have_lines),
	    cmocka_unit_test(paths),
	    cmocka_unit_test(newlines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
