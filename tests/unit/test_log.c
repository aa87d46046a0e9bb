/* tests/unit/test_log.c: the JSON form of a log line (fields, time, escaping) and ONYX_LOG_FORMAT. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/log.h"

static void
fields_in_order(void **state)
{
	char *s;

	(void)state;
	/* 2026-12-01T21:16:05.007Z */
	s = onyx_log_json_line(1796159765007LL, "onyx-peer", ONYX_LOG_INFO,
	    "p-1", "j1", "double", "task double of job j1: sealed");
	assert_non_null(s);
	assert_string_equal(s,
	    "{\"time\":\"2026-12-01T21:16:05.007Z\",\"program\":\"onyx-peer\",\"level\":\"info\",\"peer\":\"p-1\",\"job\":\"j1\",\"task\":\"double\",\"message\":\"task double of job j1: sealed\"}\n");
	free(s);
}

static void
unknown_fields_left_out(void **state)
{
	char *s;

	(void)state;
	s = onyx_log_json_line(0, "onyx-coord", ONYX_LOG_WARN, NULL, "", NULL,
	    "a \"quoted\"\tline\\");
	assert_non_null(s);
	assert_string_equal(s,
	    "{\"time\":\"1970-01-01T00:00:00.000Z\",\"program\":\"onyx-coord\",\"level\":\"warn\",\"message\":\"a \\\"quoted\\\"\\tline\\\\\"}\n");
	free(s);
}

static void
not_utf8(void **state)
{
	char *s;

	(void)state;
	s = onyx_log_json_line(
	    0, "onyx-queue", ONYX_LOG_ERROR, NULL, NULL, NULL, "bad \xff byte");
	assert_non_null(s);
	assert_non_null(
	    strstr(s, "\"level\":\"error\",\"message\":\"bad ? byte\"}"));
	free(s);
}

static void
format_from_env(void **state)
{
	char err[256];

	(void)state;
	unsetenv("ONYX_LOG");
	setenv("ONYX_LOG_FORMAT", "text", 1);
	assert_int_equal(onyx_log_init(err, sizeof(err)), 0);
	assert_int_equal(onyx_log_format(), ONYX_LOG_TEXT);
	setenv("ONYX_LOG_FORMAT", "yaml", 1);
	assert_int_equal(onyx_log_init(err, sizeof(err)), -1);
	assert_string_equal(
	    err, "ONYX_LOG_FORMAT: 'yaml' is not a log format (text or json)");
	unsetenv("ONYX_LOG_FORMAT");
	setenv("ONYX_LOG", "verbose", 1);
	assert_int_equal(onyx_log_init(err, sizeof(err)), -1);
	assert_string_equal(err,
	    "ONYX_LOG: 'verbose' is not a log level (error, warn, info or debug)");
	setenv("ONYX_LOG", "debug", 1);
	assert_int_equal(onyx_log_init(err, sizeof(err)), 0);
	assert_int_equal(onyx_log_level(), ONYX_LOG_DEBUG);
	assert_int_equal(onyx_log_format(), ONYX_LOG_TEXT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(fields_in_order),
	    cmocka_unit_test(unknown_fields_left_out),
	    cmocka_unit_test(not_utf8),
	    cmocka_unit_test(format_from_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
