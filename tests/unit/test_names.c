/* tests/unit/test_names.c: the names of a job's own queues: the scheme, its injectivity, and parsing a name back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/names.h"

static void
each_kind(void **state)
{
	char b[ONYX_NAMES_LEN];

	(void)state;
	assert_string_equal(onyx_names_edge(b, sizeof(b), "j", "in", "inc"),
	    "onyx.edge.j.in.inc");
	assert_string_equal(
	    onyx_names_seal(b, sizeof(b), "j", "inc"), "onyx.seal.j.inc");
	assert_string_equal(
	    onyx_names_done(b, sizeof(b), "j", "inc"), "onyx.done.j.inc");
	assert_string_equal(
	    onyx_names_dlq(b, sizeof(b), "j", "inc"), "onyx.dlq.j.inc");
	assert_string_equal(
	    onyx_names_state(b, sizeof(b), "j", "inc"), "onyx.state.j.inc");
	assert_int_equal(onyx_names_kind("onyx.state.j.inc"), ONYX_NAMES_STATE);
	assert_true(onyx_names_of_job("onyx.state.j.inc", "j"));
	/* every '.' of a name becomes '~': one word per component */
	assert_string_equal(
	    onyx_names_edge(b, sizeof(b), "x.y", "a.b", "c.d.e"),
	    "onyx.edge.x~y.a~b.c~d~e");
	assert_string_equal(
	    onyx_names_dlq(b, sizeof(b), "nightly-2024.01_a", "in"),
	    "onyx.dlq.nightly-2024~01_a.in");
}

static void
refused_components(void **state)
{
	char b[ONYX_NAMES_LEN], tiny[16];

	(void)state;
	assert_null(onyx_names_seal(b, sizeof(b), "", "t"));
	assert_string_equal(b, "");
	assert_null(onyx_names_seal(b, sizeof(b), "j", ""));
	assert_null(onyx_names_edge(b, sizeof(b), "j", "a~b", "c"));
	assert_null(onyx_names_done(b, sizeof(b), "j~k", "c"));
	/* "onyx.seal.j.t" fits in 16 bytes, one more character does not */
	assert_non_null(onyx_names_seal(tiny, 14, "j", "t"));
	assert_null(onyx_names_seal(tiny, 13, "j", "t"));
	assert_string_equal(tiny, "");
	assert_null(onyx_names_seal(tiny, 0, "j", "t"));
}

/*
 * Injectivity: over job ids and task names made of the characters that
 * matter ('.', a letter, and the kind words), no two (kind, job, tasks)
 * give the same name.
 */
static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
no_two_alike(void **state)
{
	static const char *w[] = {"a", "b", "a.b", "b.a", "a.b.a", "done",
	    "seal", "dlq", "edge", "x.done", "done.x", "a.done", "seal.dlq"};
	enum { NW = sizeof(w) / sizeof(w[0]) };
	size_t cap = NW * NW * 3 + NW * NW * NW, n = 0, i, j, k;
	char **all = calloc(cap, sizeof(*all)), b[ONYX_NAMES_LEN];
	char *(*const task[])(char *, size_t, const char *, const char *) = {
	    onyx_names_seal, onyx_names_done, onyx_names_dlq};

	(void)state;
	assert_non_null(all);
	for (i = 0; i < NW; i++)
		for (j = 0; j < NW; j++) {
			for (k = 0; k < 3; k++) {
				assert_non_null(
				    task[k](b, sizeof(b), w[i], w[j]));
				all[n++] = strdup(b);
			}
			for (k = 0; k < NW; k++) {
				assert_non_null(onyx_names_edge(
				    b, sizeof(b), w[i], w[j], w[k]));
				all[n++] = strdup(b);
			}
		}
	assert_int_equal(n, cap);
	qsort(all, n, sizeof(*all), cmp_str);
	for (i = 1; i < n; i++)
		if (strcmp(all[i - 1], all[i]) == 0)
			fail_msg("two queues named %s", all[i]);
	for (i = 0; i < n; i++)
		free(all[i]);
	free(all);
}

static void
kinds_and_reserved(void **state)
{
	(void)state;
	assert_int_equal(onyx_names_kind("onyx.edge.j.a.b"), ONYX_NAMES_EDGE);
	assert_int_equal(onyx_names_kind("onyx.seal.j.a"), ONYX_NAMES_SEAL);
	assert_int_equal(onyx_names_kind("onyx.done.j.a"), ONYX_NAMES_DONE);
	assert_int_equal(onyx_names_kind("onyx.dlq.j.a"), ONYX_NAMES_DLQ);
	/* an edge into a task named dlq is an edge, not a dead-letter queue */
	assert_int_equal(onyx_names_kind("onyx.edge.j.a.dlq"), ONYX_NAMES_EDGE);
	assert_int_equal(onyx_names_kind("onyx.dlqx.j.a"), ONYX_NAMES_NONE);
	assert_int_equal(onyx_names_kind("onyx.j.a.dlq"), ONYX_NAMES_NONE);
	assert_int_equal(onyx_names_kind("inc-in"), ONYX_NAMES_NONE);
	assert_int_equal(onyx_names_kind("dlq"), ONYX_NAMES_NONE);
	assert_true(onyx_names_reserved("onyx.foo"));
	assert_true(onyx_names_reserved("onyx."));
	assert_false(onyx_names_reserved("onyx"));
	assert_false(onyx_names_reserved("onyx-in"));
	assert_false(onyx_names_reserved("my.onyx.q"));
}

static void
of_job(void **state)
{
	char b[ONYX_NAMES_LEN];

	(void)state;
	assert_true(onyx_names_of_job(
	    onyx_names_edge(b, sizeof(b), "x", "y.a", "b"), "x"));
	assert_false(onyx_names_of_job(b, "x.y"));
	assert_true(onyx_names_of_job(
	    onyx_names_edge(b, sizeof(b), "x.y", "a", "b"), "x.y"));
	assert_false(onyx_names_of_job(b, "x"));
	assert_true(
	    onyx_names_of_job(onyx_names_dlq(b, sizeof(b), "x.y", "a"), "x.y"));
	assert_false(onyx_names_of_job(b, "x"));
	assert_false(onyx_names_of_job(b, "x.y.a"));
	/* the right number of words after the job */
	assert_false(onyx_names_of_job("onyx.edge.x.a", "x"));
	assert_false(onyx_names_of_job("onyx.edge.x.a.b.c", "x"));
	assert_false(onyx_names_of_job("onyx.seal.x.a.b", "x"));
	assert_false(onyx_names_of_job("onyx.seal.x.", "x"));
	assert_false(onyx_names_of_job("onyx.edge.x..b", "x"));
	assert_false(onyx_names_of_job("onyx.edge.x.a.", "x"));
	assert_false(onyx_names_of_job("onyx.seal.x", "x"));
	assert_false(onyx_names_of_job("onyx.x.a.b", "x"));
	assert_false(onyx_names_of_job("inc-in", "x"));
	assert_true(onyx_names_of_job("onyx.seal.x~.a", "x."));
	assert_false(onyx_names_of_job("onyx.seal.x~.a", "x~"));
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
	    cmocka_unit_test(each_kind),
	    cmocka_unit_test(refused_components),
	    cmocka_unit_test(no_two_alike),
	    cmocka_unit_test(kinds_and_reserved),
	    cmocka_unit_test(of_job),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
