/* tests/unit/test_metrics.c: the metrics registry: exact exposition text, escaping, histograms, retiring series, the HTTP endpoint's address parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/buf.h"
#include "../../lib/metrics.h"
#include "../../lib/metricshttp.h"
#include "../../lib/status.h"

static const char *const jt[] = {"job", "task", NULL};
static const double buckets[] = {0.1, 1, 2.5};

static const struct onyx_metric_def reads = {"onyx_segments_read_total",
    "Segments read.", ONYX_METRIC_COUNTER, jt, NULL, 0};
static const struct onyx_metric_def up = {
    "onyx_up", "Whether it runs.", ONYX_METRIC_GAUGE, NULL, NULL, 0};
static const struct onyx_metric_def lat = {"onyx_commit_duration_seconds",
    "Commit time.", ONYX_METRIC_HISTOGRAM, jt, buckets, 3};
static const struct onyx_metric_def odd = {"onyx_odd",
    "Help with a \\ backslash\nand a newline.", ONYX_METRIC_GAUGE, jt, NULL, 0};

/* The text of m, a new string. */
static char *
render(struct onyx_metrics *m)
{
	struct onyx_buf b = {0};
	char *s;

	assert_int_equal(onyx_metrics_render(m, &b), 0);
	s = strndup(b.p ? b.p : "", b.len);
	onyx_buf_free(&b);
	return s;
}

static void
counters_and_gauges(void **state)
{
	struct onyx_metrics *m = onyx_metrics_new();
	const char *a[] = {"j1", "in"}, *b[] = {"j1", "out"};
	char *s;

	(void)state;
	/* defined: shown in this order, once they have series */
	assert_int_equal(onyx_metrics_define(m, &up), 0);
	assert_int_equal(onyx_metrics_define(m, &reads), 0);
	s = render(m);
	assert_string_equal(s, "");
	free(s);
	assert_int_equal(onyx_metrics_add(m, &reads, a, 2000), 0);
	assert_int_equal(onyx_metrics_add(m, &reads, b, 1), 0);
	assert_int_equal(onyx_metrics_add(m, &reads, b, 1.5), 0);
	assert_int_equal(onyx_metrics_set(m, &up, NULL, 1), 0);
	/* a counter is not set, a histogram not added to */
	assert_int_equal(onyx_metrics_set(m, &reads, a, 3), -1);
	assert_int_equal(onyx_metrics_add(m, &lat, a, 3), -1);
	assert_int_equal(onyx_metrics_observe(m, &reads, a, 3, 1), -1);
	s = render(m);
	assert_string_equal(s,
	    "# HELP onyx_up Whether it runs.\n"
	    "# TYPE onyx_up gauge\n"
	    "onyx_up 1\n"
	    "# HELP onyx_segments_read_total Segments read.\n"
	    "# TYPE onyx_segments_read_total counter\n"
	    "onyx_segments_read_total{job=\"j1\",task=\"in\"} 2000\n"
	    "onyx_segments_read_total{job=\"j1\",task=\"out\"} 2.5\n");
	free(s);
	assert_int_equal(onyx_metrics_series(m), 3);
	onyx_metrics_free(m);
}

static void
histogram(void **state)
{
	struct onyx_metrics *m = onyx_metrics_new();
	const char *a[] = {"j1", "inc"};
	char *s;

	(void)state;
	assert_int_equal(onyx_metrics_observe(m, &lat, a, 0.05, 1), 0);
	assert_int_equal(onyx_metrics_observe(m, &lat, a, 0.1, 1), 0);
	assert_int_equal(onyx_metrics_observe(m, &lat, a, 2, 2), 0);
	assert_int_equal(onyx_metrics_observe(m, &lat, a, 7, 1), 0);
	s = render(m);
	assert_string_equal(s,
	    "# HELP onyx_commit_duration_seconds Commit time.\n"
	    "# TYPE onyx_commit_duration_seconds histogram\n"
	    "onyx_commit_duration_seconds_bucket{job=\"j1\",task=\"inc\","
	    "le=\"0.1\"} 2\n"
	    "onyx_commit_duration_seconds_bucket{job=\"j1\",task=\"inc\","
	    "le=\"1\"} 2\n"
	    "onyx_commit_duration_seconds_bucket{job=\"j1\",task=\"inc\","
	    "le=\"2.5\"} 4\n"
	    "onyx_commit_duration_seconds_bucket{job=\"j1\",task=\"inc\","
	    "le=\"+Inf\"} 5\n"
	    "onyx_commit_duration_seconds_sum{job=\"j1\",task=\"inc\"} "
	    "11.15\n"
	    "onyx_commit_duration_seconds_count{job=\"j1\",task=\"inc\"} 5\n");
	free(s);
	onyx_metrics_free(m);
}

static void
escaping_and_numbers(void **state)
{
	struct onyx_metrics *m = onyx_metrics_new();
	const char *a[] = {"a\"b\\c\nd", "t"}, *b[] = {"x", "y"};
	const char *c[] = {"p", "q"}, *d[] = {"n", "n"};
	char *s;

	(void)state;
	onyx_metrics_set(m, &odd, a, 0.1);
	onyx_metrics_set(m, &odd, b, 1.0 / 0.0);
	onyx_metrics_set(m, &odd, c, 123456789012345678.0);
	onyx_metrics_set(m, &odd, d, -0.5);
	s = render(m);
	assert_string_equal(s,
	    "# HELP onyx_odd Help with a \\\\ backslash\\nand a newline.\n"
	    "# TYPE onyx_odd gauge\n"
	    "onyx_odd{job=\"a\\\"b\\\\c\\nd\",task=\"t\"} 0.1\n"
	    "onyx_odd{job=\"x\",task=\"y\"} +Inf\n"
	    "onyx_odd{job=\"p\",task=\"q\"} 1.2345678901234568e+17\n"
	    "onyx_odd{job=\"n\",task=\"n\"} -0.5\n");
	free(s);
	onyx_metrics_free(m);
}

static void
many_series_grow(void **state)
{
	struct onyx_metrics *m = onyx_metrics_new();
	char job[32], *s;
	int i;

	(void)state;
	for (i = 0; i < 5000; i++) {
		const char *v[] = {job, "t"};
		snprintf(job, sizeof(job), "j%d", i);
		assert_int_equal(onyx_metrics_add(m, &reads, v, i), 0);
	}
	assert_int_equal(onyx_metrics_series(m), 5000);
	/* each found again; then all but the last retired and gone */
	for (i = 0; i < 5000; i++) {
		const char *v[] = {job, "t"};
		snprintf(job, sizeof(job), "j%d", i);
		assert_int_equal(onyx_metrics_add(m, &reads, v, 1), 0);
		if (i < 4999) {
			const char *match[] = {"job", job, NULL};
			assert_int_equal(onyx_metrics_retire(m, match, 1), 1);
		}
	}
	assert_int_equal(onyx_metrics_series(m), 5000);
	assert_int_equal(onyx_metrics_expire(m, 1), 4999);
	s = render(m);
	assert_string_equal(s,
	    "# HELP onyx_segments_read_total Segments read.\n"
	    "# TYPE onyx_segments_read_total counter\n"
	    "onyx_segments_read_total{job=\"j4999\",task=\"t\"} 5000\n");
	free(s);
	onyx_metrics_free(m);
}

static void
retire_and_expire(void **state)
{
	struct onyx_metrics *m = onyx_metrics_new();
	const char *a[] = {"j1", "in"}, *b[] = {"j1", "out"};
	const char *c[] = {"j2", "in"};
	const char *j1[] = {"job", "j1", NULL},
	           *j1in[] = {"job", "j1", "task", "in", NULL};
	const char *nolabel[] = {"peer", "p", NULL};
	char *s;

	(void)state;
	onyx_metrics_add(m, &reads, a, 1);
	onyx_metrics_add(m, &reads, b, 2);
	onyx_metrics_add(m, &reads, c, 3);
	onyx_metrics_observe(m, &lat, a, 1, 1);
	onyx_metrics_set(m, &up, NULL, 1);
	/* no family has a label peer */
	assert_int_equal(onyx_metrics_retire(m, nolabel, 0), 0);
	assert_int_equal(onyx_metrics_retire(m, j1, 100), 3);
	assert_int_equal(onyx_metrics_expire(m, 99), 0);
	/* updated again: live again */
	onyx_metrics_add(m, &reads, b, 1);
	/* an earlier time wins */
	assert_int_equal(onyx_metrics_retire(m, j1in, 50), 2);
	assert_int_equal(onyx_metrics_expire(m, 50), 2);
	assert_int_equal(onyx_metrics_expire(m, 1000), 0);
	/* the series left are found again, not made twice */
	onyx_metrics_add(m, &reads, c, 1);
	s = render(m);
	assert_string_equal(s,
	    "# HELP onyx_segments_read_total Segments read.\n"
	    "# TYPE onyx_segments_read_total counter\n"
	    "onyx_segments_read_total{job=\"j1\",task=\"out\"} 3\n"
	    "onyx_segments_read_total{job=\"j2\",task=\"in\"} 4\n"
	    "# HELP onyx_up Whether it runs.\n"
	    "# TYPE onyx_up gauge\n"
	    "onyx_up 1\n");
	free(s);
	assert_int_equal(onyx_metrics_series(m), 3);
	onyx_metrics_free(m);
}

static void
null_registry(void **state)
{
	const char *a[] = {"j", "t"}, *match[] = {"job", "j", NULL};
	struct onyx_buf b = {0};

	(void)state;
	assert_int_equal(onyx_metrics_add(NULL, &reads, a, 1), 0);
	assert_int_equal(onyx_metrics_retire(NULL, match, 0), 0);
	assert_int_equal(onyx_metrics_render(NULL, &b), 0);
	assert_int_equal(b.len, 0);
	onyx_metrics_free(NULL);
}

static void
bad_addresses(void **state)
{
	static const char *bad[] = {"", "foo", "127.0.0.1",
	    "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:9x", "::1:9100",
	    "[::1:9100", "127.0.0.1:1234567"};
	struct onyx_metrics_http *h = NULL;
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(onyx_metrics_http_start(NULL, bad[i],
		                     "--metrics", &h, err, sizeof(err)),
		    ONYX_ECONFIG);
		assert_non_null(strstr(err, "--metrics '"));
		assert_non_null(strstr(err, "is not HOST:PORT"));
	}
}

static void
listen_port_zero(void **state)
{
	struct onyx_metrics *m = onyx_metrics_new();
	struct onyx_metrics_http *h = NULL, *h2 = NULL;
	char err[512], again[300];

	(void)state;
	assert_int_equal(onyx_metrics_http_start(m, "127.0.0.1:0", "--metrics",
	                     &h, err, sizeof(err)),
	    ONYX_OK);
	assert_non_null(strstr(onyx_metrics_http_addr(h), "127.0.0.1:"));
	assert_string_not_equal(onyx_metrics_http_addr(h), "127.0.0.1:0");
	/* the port in use */
	snprintf(again, sizeof(again), "%s", onyx_metrics_http_addr(h));
	assert_int_equal(onyx_metrics_http_start(
	                     m, again, "--metrics", &h2, err, sizeof(err)),
	    ONYX_EUNAVAIL);
	assert_non_null(strstr(err, "cannot listen: Address already in use"));
	onyx_metrics_http_stop(h);
	onyx_metrics_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(counters_and_gauges),
	    cmocka_unit_test(histogram),
	    cmocka_unit_test(escaping_and_numbers),
	    cmocka_unit_test(many_series_grow),
	    cmocka_unit_test(retire_and_expire),
	    cmocka_unit_test(null_registry),
	    cmocka_unit_test(bad_addresses),
	    cmocka_unit_test(listen_port_zero),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
