/* tests/unit/test_coordmetrics.c: what onyx-coord counts: jobs by status and peers by state from a pass's snapshot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/buf.h"
#include "../../lib/coordmetrics.h"
#include "../../lib/metrics.h"
#include "../../lib/sched.h"

static void
world(void **state)
{
	struct onyx_metrics *m = onyx_metrics_new();
	struct onyx_sched_job jobs[3] = {
	    {.id = "a", .status = "running"},
	    {.id = "b", .status = "running"},
	    {.id = "c", .status = "completed"},
	};
	struct onyx_sched_peer peers[4] = {
	    {.id = "p0", .alive = true},
	    {.id = "p1", .alive = true, .assigned = true},
	    {.id = "p2", .alive = false, .assigned = true},
	    {.id = "p3", .alive = true, .assigned = true},
	};
	struct onyx_sched_in in = {
	    .peers = peers, .npeers = 4, .jobs = jobs, .njobs = 3};
	struct onyx_buf b = {0};
	char *s;

	(void)state;
	peers[1].offer.state = "acked";
	peers[2].offer.state = "acked";
	peers[3].offer.state = "offered";
	onyx_coordmetrics_define(m);
	onyx_coordmetrics_world(m, &in);
	onyx_coordmetrics_offer(m);
	onyx_coordmetrics_revoke(m, "peer-dead");
	onyx_coordmetrics_status(m, "completed");
	onyx_coordmetrics_pass(m, 0.003);
	assert_int_equal(onyx_metrics_render(m, &b), 0);
	s = strndup(b.p, b.len);
	assert_non_null(strstr(s,
	    "onyx_jobs{status=\"submitted\"} 0\n"
	    "onyx_jobs{status=\"running\"} 2\n"
	    "onyx_jobs{status=\"completed\"} 1\n"
	    "onyx_jobs{status=\"failed\"} 0\n"
	    "onyx_jobs{status=\"killed\"} 0\n"));
	assert_non_null(strstr(s,
	    "onyx_peers{state=\"idle\"} 1\n"
	    "onyx_peers{state=\"offered\"} 1\n"
	    "onyx_peers{state=\"acked\"} 1\n"
	    "onyx_peers{state=\"finished\"} 0\n"
	    "onyx_peers{state=\"failed\"} 0\n"
	    "onyx_peers{state=\"dead\"} 1\n"));
	assert_non_null(strstr(
	    s, "onyx_job_status_changes_total{status=\"completed\"} 1\n"));
	assert_non_null(strstr(s, "onyx_offers_total 1\n"));
	assert_non_null(
	    strstr(s, "onyx_revokes_total{reason=\"peer-dead\"} 1\n"));
	assert_non_null(strstr(s, "onyx_fences_total 0\n"));
	assert_non_null(strstr(s,
	    "onyx_pass_duration_seconds_bucket{le=\"0.0025\"} 0\n"
	    "onyx_pass_duration_seconds_bucket{le=\"0.005\"} 1\n"));
	assert_non_null(strstr(s, "onyx_pass_duration_seconds_count 1\n"));
	free(s);
	onyx_buf_free(&b);
	onyx_metrics_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(world),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
