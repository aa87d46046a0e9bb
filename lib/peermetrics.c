/* lib/peermetrics.c: the metrics of onyx-peer's virtual peers, by job, task and peer. */
#include <string.h>

#include "hop.h"
#include "metrics.h"
#include "peermetrics.h"

static const char *const jtp[] = {"job", "task", "peer", NULL};
static const char *const peer_only[] = {"peer", NULL};
static const char *const peer_state[] = {"peer", "state", NULL};
static const char *const states[] = {"idle", "running", "reconnecting"};

static const double commit_buckets[] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
static const double size_buckets[] = {
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000};

static const struct onyx_metric_def read_total = {"onyx_segments_read_total",
    "Segments taken from the task's ingress queues, committed.",
    ONYX_METRIC_COUNTER, jtp, NULL, 0};
static const struct onyx_metric_def written_total = {
    "onyx_segments_written_total",
    "Segments sent to the task's egress queues, committed.",
    ONYX_METRIC_COUNTER, jtp, NULL, 0};
static const struct onyx_metric_def dead_total = {"onyx_dead_letters_total",
    "Segments sent to the job's dead-letter queue, committed.",
    ONYX_METRIC_COUNTER, jtp, NULL, 0};
static const struct onyx_metric_def batches_total = {"onyx_batches_total",
    "Batches (broker transactions) committed.", ONYX_METRIC_COUNTER, jtp, NULL,
    0};
static const struct onyx_metric_def commit_seconds = {
    "onyx_commit_duration_seconds",
    "Time from the start of a batch's commit until the peer has its outcome.",
    ONYX_METRIC_HISTOGRAM, jtp, commit_buckets,
    sizeof(commit_buckets) / sizeof(commit_buckets[0])};
static const struct onyx_metric_def batch_segments = {"onyx_batch_segments",
    "Segments taken from ingress per committed batch.", ONYX_METRIC_HISTOGRAM,
    jtp, size_buckets, sizeof(size_buckets) / sizeof(size_buckets[0])};
static const struct onyx_metric_def function_seconds = {
    "onyx_function_seconds_total",
    "Time spent in the task's function, writing its results included.",
    ONYX_METRIC_COUNTER, jtp, NULL, 0};
static const struct onyx_metric_def credit_waits = {"onyx_credit_waits_total",
    "Times a batch rolled back for want of credit from the broker.",
    ONYX_METRIC_COUNTER, jtp, NULL, 0};
static const struct onyx_metric_def reconnects = {
    "onyx_broker_reconnects_total",
    "Broker connections made again after one was lost.", ONYX_METRIC_COUNTER,
    peer_only, NULL, 0};
static const struct onyx_metric_def vpeer_state = {"onyx_virtual_peer_state",
    "1 for the state the virtual peer is in, 0 for the others.",
    ONYX_METRIC_GAUGE, peer_state, NULL, 0};

void
onyx_peermetrics_define(struct onyx_metrics *m)
{
	const struct onyx_metric_def *all[] = {&read_total, &written_total,
	    &dead_total, &batches_total, &commit_seconds, &batch_segments,
	    &function_seconds, &credit_waits, &reconnects, &vpeer_state};
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		onyx_metrics_define(m, all[i]);
}

void
onyx_peermetrics_counts(struct onyx_metrics *m, const char *job,
    const char *task, const char *peer, const struct onyx_hop_stats *now,
    struct onyx_hop_stats *shown)
{
	const char *v[] = {job, task, peer};

	if (m == NULL)
		return;
	/* a series is made at its first count, even of 0: a task that read
	 * nothing shows 0, not nothing */
	onyx_metrics_add(m, &read_total, v, (double)(now->read - shown->read));
	onyx_metrics_add(
	    m, &written_total, v, (double)(now->written - shown->written));
	onyx_metrics_add(m, &dead_total, v, (double)(now->dead - shown->dead));
	onyx_metrics_add(
	    m, &batches_total, v, (double)(now->batches - shown->batches));
	*shown = *now;
}

void
onyx_peermetrics_batch(struct onyx_metrics *m, const char *job,
    const char *task, const char *peer, const struct onyx_hop_batch *b)
{
	const char *v[] = {job, task, peer};

	onyx_metrics_observe(m, &commit_seconds, v, b->commit_seconds, 1);
	onyx_metrics_observe(m, &batch_segments, v, (double)b->segments, 1);
	onyx_metrics_add(m, &function_seconds, v, b->fn_seconds);
}

void
onyx_peermetrics_credit_wait(
    struct onyx_metrics *m, const char *job, const char *task, const char *peer)
{
	const char *v[] = {job, task, peer};

	onyx_metrics_add(m, &credit_waits, v, 1);
}

void
onyx_peermetrics_reconnect(struct onyx_metrics *m, const char *peer)
{
	const char *v[] = {peer};

	onyx_metrics_add(m, &reconnects, v, 1);
}

void
onyx_peermetrics_state(
    struct onyx_metrics *m, const char *peer, const char *state)
{
	size_t i;

	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		const char *v[] = {peer, states[i]};
		onyx_metrics_set(
		    m, &vpeer_state, v, strcmp(states[i], state) == 0);
	}
}

void
onyx_peermetrics_retire(
    struct onyx_metrics *m, const char *job, const char *peer, long long now)
{
	const char *match[] = {"job", job, "peer", peer, NULL};

	onyx_metrics_expire(m, now);
	onyx_metrics_retire(m, match, now + ONYX_PEERMETRICS_RETAIN_MS);
}

void
onyx_peermetrics_forget(struct onyx_metrics *m, const char *peer)
{
	const char *match[] = {"peer", peer, NULL};

	onyx_metrics_retire(m, match, 0);
	onyx_metrics_expire(m, 0);
}
