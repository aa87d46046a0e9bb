/* tests/unit/test_jobs.c: the queues of a plan: which a job uses, which it owns (and its cleanup deletes), and plans refused for their queues. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/jobs.h"
#include "../../lib/plan.h"
#include "../../lib/status.h"

/* The plan onyx-plan makes of doc (' for "), built for real. */
static json_t *
plan_of(const char *doc)
{
	struct onyx_plan_problems probs = {0};
	char *d = strdup(doc), *p;
	json_t *plan = NULL;

	for (p = d; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	assert_int_equal(onyx_plan_build(d, strlen(d), &plan, &probs), ONYX_OK);
	onyx_plan_problems_free(&probs);
	free(d);
	return plan;
}

/* Job x.y, tasks in -> a.b -> out: dots in the job id and a task name. */
static const char doc_xy[] =
    "{'id':'x.y','workflow':[['in','a.b'],['a.b','out']],'catalog':["
    "{'onyx/name':'in','onyx/type':'input','onyx/medium':'artemis',"
    "'artemis/queue-name':'q-in','onyx/batch-size':1},"
    "{'onyx/name':'a.b','onyx/type':'function','onyx/fn':'identity',"
    "'onyx/batch-size':1},"
    "{'onyx/name':'out','onyx/type':'output','onyx/medium':'artemis',"
    "'artemis/queue-name':'q-out','onyx/batch-size':1}]}";

static void
expect_list(json_t *got, const char *want)
{
	char *w = strdup(want), *p;
	json_t *exp;

	for (p = w; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	exp = json_loads(w, 0, NULL);
	assert_non_null(exp);
	if (!json_equal(got, exp)) {
		char *s = json_dumps(got, JSON_COMPACT);
		fail_msg("got %s, expected %s", s, w);
	}
	json_decref(exp);
	free(w);
}

static void
own_queues_exactly(void **state)
{
	json_t *plan = plan_of(doc_xy), *own, *all;

	(void)state;
	own = onyx_jobs_own_queues(plan);
	expect_list(own,
	    "['onyx.dlq.x~y.a~b','onyx.dlq.x~y.in','onyx.dlq.x~y.out',"
	    "'onyx.done.x~y.a~b','onyx.done.x~y.in','onyx.done.x~y.out',"
	    "'onyx.edge.x~y.a~b.out','onyx.edge.x~y.in.a~b',"
	    "'onyx.seal.x~y.a~b','onyx.seal.x~y.in','onyx.seal.x~y.out']");
	/* what submit creates: the same and the user's queues */
	all = onyx_jobs_queues(plan);
	expect_list(all,
	    "['onyx.dlq.x~y.a~b','onyx.dlq.x~y.in','onyx.dlq.x~y.out',"
	    "'onyx.done.x~y.a~b','onyx.done.x~y.in','onyx.done.x~y.out',"
	    "'onyx.edge.x~y.a~b.out','onyx.edge.x~y.in.a~b',"
	    "'onyx.seal.x~y.a~b','onyx.seal.x~y.in','onyx.seal.x~y.out',"
	    "'q-in','q-out']");
	json_decref(all);
	json_decref(own);
	json_decref(plan);
}

/* A plan written by hand: its "queues" never make cleanup delete a user's
 * queue or another job's, and submit refuses it. */
static void
foreign_queues_not_owned(void **state)
{
	json_t *plan = plan_of(doc_xy), *own;
	char err[512];

	(void)state;
	assert_int_equal(onyx_jobs_check_plan(plan, err, sizeof(err)), ONYX_OK);
	json_array_append_new(
	    json_object_get(plan, "queues"), json_string("q-in"));
	json_array_append_new(json_object_get(plan, "queues"),
	    json_string("onyx.edge.x.y~a~b.out")); /* job x's */
	json_array_append_new(json_object_get(plan, "queues"),
	    json_string("onyx.seal.x~y.a~b")); /* not an edge */
	own = onyx_jobs_own_queues(plan);
	assert_int_equal(json_array_size(own), 11);
	for (size_t i = 0; i < json_array_size(own); i++) {
		const char *q = json_string_value(json_array_get(own, i));

		assert_string_not_equal(q, "q-in");
		assert_string_not_equal(q, "onyx.edge.x.y~a~b.out");
	}
	json_decref(own);
	assert_int_equal(
	    onyx_jobs_check_plan(plan, err, sizeof(err)), ONYX_EDATA);
	assert_string_equal(err,
	    "plan: queues[2]: 'q-in' is not the queue of an edge of job x.y "
	    "(onyx(7), Queues)");
	json_decref(plan);
}

static void
other_job_refused(void **state)
{
	json_t *plan = plan_of(doc_xy);
	char err[512];

	(void)state;
	/* the same plan under another job id: its queues are x.y's */
	json_object_set_new(plan, "job", json_string("x"));
	assert_int_equal(
	    onyx_jobs_check_plan(plan, err, sizeof(err)), ONYX_EDATA);
	assert_string_equal(err,
	    "plan: queues[0]: 'onyx.edge.x~y.a~b.out' is not the queue of an "
	    "edge of job x (onyx(7), Queues)");
	json_decref(plan);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
	    cmocka_unit_test(own_queues_exactly),
	    cmocka_unit_test(foreign_queues_not_owned),
	    cmocka_unit_test(other_job_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
