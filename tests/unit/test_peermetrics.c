/* tests/unit/test_peermetrics.c: what onyx-peer counts: deltas of the hop's stats, batches, states, retiring a job's series. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/buf.h"
#include "../../lib/metrics.h"
#include "../../lib/peermetrics.h"

/* The lines of m's text that start with prefix, joined. */
static char *
lines(struct onyx_metrics *m, const char *prefix)
{
	struct onyx_buf b = {0}, o = {0};
	char *s, *line, *save = NULL;

	assert_int_equal(onyx_metrics_render(m, &b), 0);
	onyx_buf_append(&b, "", 1);
	for (line = strtok_r(b.p, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, prefix, strlen(prefix)) == 0) {
			onyx_buf_append(&o, line, strlen(line));
			onyx_buf_append(&o, "\n", 1);
		}
	s = strndup(o.p ? o.p : "", o.len);
	onyx_buf_free(&b);
	onyx_buf_free(&o);
	return s;
}

static void
counts_are_deltas(void **state)
{
	struct onyx_metrics *m = onyx_metrics_new();
	struct onyx_hop_stats shown = {0}, now = {0};
	struct onyx_hop_batch b = {100, 0.02, 0.5};
	char *s;

	(void)state;
	onyx_peermetrics_define(m);
	now.read = 100;
	now.written = 100;
	now.batches = 1;
	onyx_peermetrics_counts(m, "j", "inc", "p-0", &now, &shown);
	onyx_peermetrics_batch(m, "j", "inc", "p-0", &b);
	now.read = 250;
	now.written = 240;
	now.dead = 10;
	now.batches = 2;
	b.segments = 150;
	onyx_peermetrics_counts(m, "j", "inc", "p-0", &now, &shown);
	onyx_peermetrics_batch(m, "j", "inc", "p-0", &b);
	/* the end of the run: nothing new */
	onyx_peermetrics_counts(m, "j", "inc", "p-0", &now, &shown);
	assert_int_equal(shown.read, 250);
	s = lines(m, "onyx_segments_");
	assert_string_equal(s,
	    "onyx_segments_read_total{job=\"j\",task=\"inc\",peer=\"p-0\"} "
	    "250\n"
	    "onyx_segments_written_total{job=\"j\",task=\"inc\",peer=\"p-0\"} "
	    "240\n");
	free(s);
	s = lines(m, "onyx_batch_segments_");
	assert_non_null(strstr(s,
	    "_bucket{job=\"j\",task=\"inc\",peer=\"p-0\","
	    "le=\"100\"} 1\n"));
	assert_non_null(strstr(s,
	    "_bucket{job=\"j\",task=\"inc\",peer=\"p-0\","
	    "le=\"200\"} 2\n"));
	assert_non_null(
	    strstr(s, "_sum{job=\"j\",task=\"inc\",peer=\"p-0\"} 250\n"));
	assert_non_null(
	    strstr(s, "_count{job=\"j\",task=\"inc\",peer=\"p-0\"} 2\n"));
	free(s);
	s = lines(m, "onyx_dead_letters_total");
	assert_string_equal(s,
	    "onyx_dead_letters_total{job=\"j\",task=\"inc\",peer=\"p-0\"} "
	    "10\n");
	free(s);
	s = lines(m, "onyx_function_seconds_total");
	assert_string_equal(s,
	    "onyx_function_seconds_total{job=\"j\",task=\"inc\",peer=\"p-0\"} "
	    "1\n");
	free(s);
	onyx_metrics_free(m);
}

static void
states_and_retiring(void **state)
{
	struct onyx_metrics *m = onyx_metrics_new();
	struct onyx_hop_stats shown = {0}, now = {1, 1, 0, 1, 0};
	char *s;

	(void)state;
	onyx_peermetrics_state(m, "p-0", "idle");
	onyx_peermetrics_state(m, "p-0", "running");
	s = lines(m, "onyx_virtual_peer_state{");
	assert_string_equal(s,
	    "onyx_virtual_peer_state{peer=\"p-0\",state=\"idle\"} 0\n"
	    "onyx_virtual_peer_state{peer=\"p-0\",state=\"running\"} 1\n"
	    "onyx_virtual_peer_state{peer=\"p-0\",state=\"reconnecting\"} 0\n");
	free(s);
	onyx_peermetrics_counts(m, "j1", "in", "p-0", &now, &shown);
	memset(&shown, 0, sizeof(shown));
	onyx_peermetrics_counts(m, "j2", "in", "p-0", &now, &shown);
	onyx_peermetrics_credit_wait(m, "j1", "in", "p-0");
	onyx_peermetrics_reconnect(m, "p-0");
	/* 4 counters of j1 and j2 each, j1's credit waits, reconnects, 3
	 * states */
	assert_int_equal(onyx_metrics_series(m), 13);
	onyx_peermetrics_retire(m, "j1", "p-0", 1000);
	assert_int_equal(
	    onyx_metrics_expire(m, 1000 + ONYX_PEERMETRICS_RETAIN_MS - 1), 0);
	assert_int_equal(
	    onyx_metrics_expire(m, 1000 + ONYX_PEERMETRICS_RETAIN_MS), 5);
	s = lines(m, "onyx_segments_read_total{");
	assert_string_equal(s,
	    "onyx_segments_read_total{job=\"j2\",task=\"in\",peer=\"p-0\"} "
	    "1\n");
	free(s);
	/* an id that goes takes every series of it */
	onyx_peermetrics_forget(m, "p-0");
	assert_int_equal(onyx_metrics_series(m), 0);
	onyx_metrics_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(counts_are_deltas),
	    cmocka_unit_test(states_and_retiring),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
