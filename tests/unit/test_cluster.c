/* tests/unit/test_cluster.c: a task spec built from a plan, of any size (no fixed arrays). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../lib/cluster.h"
#include "../../lib/plan.h"
#include "../../lib/status.h"

/*
 * in -> f -> o0 ... o(n-1): f has n egress queues, its onyx/exec nargs
 * arguments; o7 groups by key.
 */
static json_t *
fan_out_plan(int n, int nargs)
{
	struct onyx_plan_problems probs = {0};
	json_t *doc = json_object(), *wf = json_array(), *cat = json_array();
	json_t *argv = json_array(), *plan = NULL;
	char name[32], *text;
	int i;

	json_array_append_new(wf, json_pack("[s,s]", "in", "f"));
	json_array_append_new(cat,
	    json_pack("{s:s,s:s,s:s,s:s,s:i}", "onyx/name", "in", "onyx/type",
	        "input", "onyx/medium", "artemis", "artemis/queue-name", "qin",
	        "onyx/batch-size", 10));
	for (i = 0; i < nargs; i++) {
		snprintf(name, sizeof(name), "arg%d", i);
		json_array_append_new(argv, json_string(name));
	}
	json_array_append_new(cat,
	    json_pack("{s:s,s:s,s:o,s:i}", "onyx/name", "f", "onyx/type",
	        "function", "onyx/exec", argv, "onyx/batch-size", 10));
	for (i = 0; i < n; i++) {
		json_t *e;
		snprintf(name, sizeof(name), "o%d", i);
		json_array_append_new(wf, json_pack("[s,s]", "f", name));
		e = json_pack("{s:s,s:s,s:s,s:s,s:i}", "onyx/name", name,
		    "onyx/type", "output", "onyx/medium", "artemis",
		    "artemis/queue-name", name, "onyx/batch-size", 10);
		if (i == 7)
			json_object_set_new(
			    e, "onyx/group-by-key", json_string("k"));
		json_array_append_new(cat, e);
	}
	json_object_set_new(doc, "id", json_string("big"));
	json_object_set_new(doc, "workflow", wf);
	json_object_set_new(doc, "catalog", cat);
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	assert_int_equal(
	    onyx_plan_build(text, strlen(text), &plan, &probs), ONYX_OK);
	free(text);
	onyx_plan_problems_free(&probs);
	return plan;
}

/* A fan-out of 100 and an argv of 100: past the old fixed 64. */
static void
hundred_egress_and_args(void **state)
{
	json_t *plan = fan_out_plan(100, 100), *t;
	struct onyx_task_def d;
	char err[256];
	int i, grouped = 0;

	(void)state;
	assert_int_equal(
	    onyx_task_def_from_plan(plan, "f", &d, err, sizeof(err)), ONYX_OK);
	assert_int_equal(d.spec.ningress, 1);
	assert_int_equal(d.spec.negress, 100);
	t = onyx_plan_task(plan, "f");
	for (i = 0; i < 100; i++) {
		assert_string_equal(d.spec.egress[i],
		    json_string_value(
		        json_array_get(json_object_get(t, "egress"), i)));
		if (d.spec.egress_group[i] != NULL) {
			grouped++;
			assert_string_equal(d.spec.egress_group[i]->key, "k");
			assert_string_equal(d.spec.egress_group[i]->task, "o7");
		}
	}
	assert_int_equal(grouped, 1);
	assert_non_null(d.spec.exec_argv);
	assert_string_equal(d.spec.exec_argv[0], "arg0");
	assert_string_equal(d.spec.exec_argv[99], "arg99");
	assert_null(d.spec.exec_argv[100]);
	onyx_task_def_free(&d);

	/* a reader of one of them: one ingress */
	assert_int_equal(
	    onyx_task_def_from_plan(plan, "o99", &d, err, sizeof(err)),
	    ONYX_OK);
	assert_int_equal(d.spec.ningress, 1);
	assert_null(d.spec.exec_argv);
	onyx_task_def_free(&d);
	json_decref(plan);
}

static void
unknown_task(void **state)
{
	json_t *plan = fan_out_plan(2, 1);
	struct onyx_task_def d;
	char err[256];

	(void)state;
	assert_int_equal(
	    onyx_task_def_from_plan(plan, "nope", &d, err, sizeof(err)),
	    ONYX_EDATA);
	assert_string_equal(err, "the plan has no task 'nope'");
	onyx_task_def_free(&d);
	json_decref(plan);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(hundred_egress_and_args),
	    cmocka_unit_test(unknown_task),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
