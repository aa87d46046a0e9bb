/* tests/unit/test_cli.c: what -v means, and whole numbers of options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>

#include <cmocka.h>

#include "../../lib/cli.h"
#include "../../lib/log.h"

static void
verbose_levels(void **state)
{
	static const struct {
		int base, n, want;
	} t[] = {
	    {ONYX_LOG_WARN, 0, ONYX_LOG_WARN},
	    {ONYX_LOG_WARN, 1, ONYX_LOG_INFO},
	    {ONYX_LOG_WARN, 2, ONYX_LOG_DEBUG},
	    {ONYX_LOG_WARN, 5, ONYX_LOG_DEBUG},
	    /* onyx-coord logs at info already: -v keeps it, -vv debug */
	    {ONYX_LOG_INFO, 0, ONYX_LOG_INFO},
	    {ONYX_LOG_INFO, 1, ONYX_LOG_INFO},
	    {ONYX_LOG_INFO, 2, ONYX_LOG_DEBUG},
	    /* ONYX_LOG=debug is not lowered by one -v */
	    {ONYX_LOG_DEBUG, 1, ONYX_LOG_DEBUG},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(onyx_cli_level(t[i].base, t[i].n), t[i].want);
}

static void
numbers(void **state)
{
	long v = 7;

	(void)state;
	assert_int_equal(onyx_cli_number("1000", 1000, 600000, &v), 0);
	assert_int_equal(v, 1000);
	assert_int_equal(onyx_cli_number("999", 1000, 600000, &v), -1);
	assert_int_equal(onyx_cli_number("600001", 1000, 600000, &v), -1);
	assert_int_equal(onyx_cli_number("", 0, 10, &v), -1);
	assert_int_equal(onyx_cli_number("12x", 0, 100, &v), -1);
	assert_int_equal(
	    onyx_cli_number("99999999999999999999", 0, LONG_MAX, &v), -1);
	assert_int_equal(v, 1000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(verbose_levels),
	    cmocka_unit_test(numbers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
