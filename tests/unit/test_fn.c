/* tests/unit/test_fn.c: resolving onyx/fn: builtins, and libraries only from the function path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/fn.h"
#include "../../lib/status.h"

static void
builtin_without_path(void **state)
{
	struct onyx_fnref f;
	char err[256];

	(void)state;
	assert_int_equal(
	    onyx_fn_resolve("identity", NULL, &f, err, sizeof(err)), ONYX_OK);
	assert_non_null(f.fn);
	assert_null(f.handle);
	onyx_fn_release(&f);
}

static void
library_by_path_refused(void **state)
{
	struct onyx_fnref f;
	char err[512];

	(void)state;
	assert_int_equal(
	    onyx_fn_resolve("/lib/x86_64-linux-gnu/libc.so.6:system", "/lib",
	        &f, err, sizeof(err)),
	    ONYX_ENOENT);
	assert_null(f.handle);
	assert_string_equal(err,
	    "library '/lib/x86_64-linux-gnu/libc.so.6' not allowed: a library is a file name looked up in the function path (ONYX_FN_PATH), without '/'");
	assert_int_equal(
	    onyx_fn_resolve("../x.so:f", "/tmp", &f, err, sizeof(err)),
	    ONYX_ENOENT);
}

static void
no_system_search(void **state)
{
	struct onyx_fnref f;
	onyx_group_fn *g;
	char err[512];

	(void)state;
	/* without a function path, no library at all: not even libc */
	assert_int_equal(
	    onyx_fn_resolve("libc.so.6:system", NULL, &f, err, sizeof(err)),
	    ONYX_ENOENT);
	assert_string_equal(err,
	    "library 'libc.so.6' not loaded: this peer has no function path (set ONYX_FN_PATH or onyx-peer --fn-path to the folders of allowed libraries)");
	assert_int_equal(
	    onyx_fn_resolve("libc.so.6:system", "", &f, err, sizeof(err)),
	    ONYX_ENOENT);
	assert_int_equal(onyx_group_fn_resolve("libc.so.6:system", NULL, &f, &g,
	                     err, sizeof(err)),
	    ONYX_ENOENT);
	assert_null(g);
	/* with one, only its folders (empty entries skipped, no '.') */
	assert_int_equal(onyx_fn_resolve("libc.so.6:system",
	                     "::/nonexistent:", &f, err, sizeof(err)),
	    ONYX_ENOENT);
	assert_string_equal(
	    err, "no 'libc.so.6' in the function path ::/nonexistent:");
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
	    cmocka_unit_test(builtin_without_path),
	    cmocka_unit_test(library_by_path_refused),
	    cmocka_unit_test(no_system_search),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
