/* tests/unit/test_tap.c: the pure parts of a tap: the multiset of a look, and finding an edge in a plan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../lib/status.h"
#include "../../lib/tap.h"

static void
hash_never_zero(void **state)
{
	(void)state;
	assert_int_not_equal(onyx_tap_hash("", 0), 0);
	assert_int_equal(
	    onyx_tap_hash("{\"n\":1}", 7), onyx_tap_hash("{\"n\":1}", 7));
	assert_int_not_equal(
	    onyx_tap_hash("{\"n\":1}", 7), onyx_tap_hash("{\"n\":2}", 7));
}

static void
counts_repeats(void **state)
{
	struct onyx_tap_seen s = {0};

	(void)state;
	assert_int_equal(onyx_tap_seen_count(&s, 42), 0);
	assert_int_equal(onyx_tap_seen_add(&s, 42), 1);
	assert_int_equal(onyx_tap_seen_add(&s, 42), 2);
	assert_int_equal(onyx_tap_seen_add(&s, 7), 1);
	assert_int_equal(onyx_tap_seen_count(&s, 42), 2);
	assert_int_equal(onyx_tap_seen_count(&s, 7), 1);
	assert_int_equal(onyx_tap_seen_count(&s, 8), 0);
	/* 0 is the empty slot's mark: it stands for 1 */
	assert_int_equal(onyx_tap_seen_add(&s, 0), 1);
	assert_int_equal(onyx_tap_seen_count(&s, 1), 1);
	assert_int_equal(s.total, 4);
	onyx_tap_seen_clear(&s);
	assert_int_equal(onyx_tap_seen_count(&s, 42), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(s.total, 0);
	onyx_tap_seen_free(&s);
}

/* No cap: 100,000 keys, each kept, through many growths. */
static void
grows_without_loss(void **state)
{
	struct onyx_tap_seen s = {0};
	uint64_t i;

	(void)state;
	for (i = 1; i <= 100000; i++)
		assert_int_equal(
		    onyx_tap_seen_add(&s, i * 0x9e3779b97f4a7c15ULL), 1);
	for (i = 1; i <= 100000; i++)
		assert_int_equal(
		    onyx_tap_seen_count(&s, i * 0x9e3779b97f4a7c15ULL), 1);
	assert_int_equal(s.n, 100000);
	onyx_tap_seen_free(&s);
}

/* A look compared with the one before: what is new is what it has more of. */
static void
looks_compared(void **state)
{
	struct onyx_tap_seen prev = {0}, cur = {0};
	int shown = 0;
	uint64_t first[] = {1, 2, 2, 3}, second[] = {2, 2, 2, 3, 4};
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++)
		onyx_tap_seen_add(&prev, first[i]);
	for (i = 0; i < 5; i++)
		if (onyx_tap_seen_add(&cur, second[i]) >
		    onyx_tap_seen_count(&prev, second[i]))
			shown++;
	/* a third 2, and 4: two new; 1 left the queue */
	assert_int_equal(shown, 2);
	onyx_tap_seen_free(&prev);
	onyx_tap_seen_free(&cur);
}

static void
merge_keeps_the_larger(void **state)
{
	struct onyx_tap_seen a = {0}, b = {0};

	(void)state;
	onyx_tap_seen_add(&a, 5);
	onyx_tap_seen_add(&b, 5);
	onyx_tap_seen_add(&b, 5);
	onyx_tap_seen_add(&b, 6);
	onyx_tap_seen_add(&a, 7);
	assert_int_equal(onyx_tap_seen_merge(&a, &b), 0);
	assert_int_equal(onyx_tap_seen_count(&a, 5), 2);
	assert_int_equal(onyx_tap_seen_count(&a, 6), 1);
	assert_int_equal(onyx_tap_seen_count(&a, 7), 1);
	onyx_tap_seen_free(&a);
	onyx_tap_seen_free(&b);
}

static json_t *
plan_of(const char *text)
{
	json_t *p = json_loads(text, 0, NULL);

	assert_non_null(p);
	return p;
}

static void
plan_edges(void **state)
{
	json_t *p = plan_of("{\"job\":\"j.1\",\"workflow\":[[\"in\",\"a.b\"],"
	                    "[\"a.b\",\"out\"]]}");
	char q[256], err[512];

	(void)state;
	assert_int_equal(
	    onyx_tap_plan_edge(p, "in", "a.b", q, sizeof(q), err, sizeof(err)),
	    ONYX_OK);
	assert_string_equal(q, "onyx.edge.j~1.in.a~b");
	assert_int_equal(
	    onyx_tap_plan_edge(p, "a.b", "in", q, sizeof(q), err, sizeof(err)),
	    ONYX_ENOENT);
	assert_string_equal(err,
	    "job 'j.1' has no edge a.b -> in; its edges: in -> a.b, a.b -> "
	    "out");
	assert_int_equal(
	    onyx_tap_plan_edge(p, "in", "out", q, sizeof(q), err, sizeof(err)),
	    ONYX_ENOENT);
	json_decref(p);
	p = plan_of("{\"job\":\"j\",\"workflow\":[]}");
	assert_int_equal(
	    onyx_tap_plan_edge(p, "a", "b", q, sizeof(q), err, sizeof(err)),
	    ONYX_ENOENT);
	assert_string_equal(err, "job 'j' has no edge a -> b; its edges: none");
	json_decref(p);
	p = plan_of("{\"workflow\":[]}");
	assert_int_equal(
	    onyx_tap_plan_edge(p, "a", "b", q, sizeof(q), err, sizeof(err)),
	    ONYX_EDATA);
	assert_string_equal(err, "the plan has no job id");
	json_decref(p);
}

/* A long list of edges is cut at the buffer, never past it. */
static void
plan_edges_long(void **state)
{
	json_t *wf = json_array(), *p;
	char q[256], err[64];
	int i;

	(void)state;
	for (i = 0; i < 100; i++)
		json_array_append_new(
		    wf, json_pack("[s,s]", "task-from", "task-to"));
	p = json_pack("{s:s,s:o}", "job", "j", "workflow", wf);
	assert_int_equal(
	    onyx_tap_plan_edge(p, "a", "b", q, sizeof(q), err, sizeof(err)),
	    ONYX_ENOENT);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	json_decref(p);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
	    cmocka_unit_test(hash_never_zero),
	    cmocka_unit_test(counts_repeats),
	    cmocka_unit_test(grows_without_loss),
	    cmocka_unit_test(looks_compared),
	    cmocka_unit_test(merge_keeps_the_larger),
	    cmocka_unit_test(plan_edges),
	    cmocka_unit_test(plan_edges_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
