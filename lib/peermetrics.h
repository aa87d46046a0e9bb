/* lib/peermetrics.h: the metrics of onyx-peer's virtual peers, by job, task and peer. */
#ifndef ONYX_PEERMETRICS_H
#define ONYX_PEERMETRICS_H

#include "hop.h"
#include "metrics.h"

/*
 * The series of a job on a virtual peer stay this long after the peer's
 * run of the job's task ends (unless it runs one again): long enough for
 * scrapes to see the final counts, short enough that a peer running for
 * months holds only its recent jobs (see onyx(7), METRICS).
 */
#define ONYX_PEERMETRICS_RETAIN_MS (10 * 60 * 1000)

/* Every function accepts m NULL and then does nothing. */

/* onyx_peermetrics_define: the families, in the order they are shown. */
void onyx_peermetrics_define(struct onyx_metrics *m);

/*
 * onyx_peermetrics_counts: add what *now counts beyond *shown (the
 * committed counts of the task on peer, and what was added before) to the
 * counters of segments read and written, dead letters and batches; then
 * *shown = *now.
 */
void onyx_peermetrics_counts(struct onyx_metrics *m, const char *job,
    const char *task, const char *peer, const struct onyx_hop_stats *now,
    struct onyx_hop_stats *shown);

/* onyx_peermetrics_batch: one committed batch: histograms, function time. */
void onyx_peermetrics_batch(struct onyx_metrics *m, const char *job,
    const char *task, const char *peer, const struct onyx_hop_batch *b);

/* onyx_peermetrics_credit_wait: the task waited for credit in vain. */
void onyx_peermetrics_credit_wait(struct onyx_metrics *m, const char *job,
    const char *task, const char *peer);

/* onyx_peermetrics_reconnect: peer connected to the broker again. */
void onyx_peermetrics_reconnect(struct onyx_metrics *m, const char *peer);

/*
 * onyx_peermetrics_state: peer is now in state (one of "idle", "running",
 * "reconnecting"): its gauge of that state 1, the others 0.
 */
void onyx_peermetrics_state(
    struct onyx_metrics *m, const char *peer, const char *state);

/*
 * onyx_peermetrics_retire: peer's run of job ended at now (onyx_mono_ms):
 * its series of job go ONYX_PEERMETRICS_RETAIN_MS later; expired ones go
 * now.
 */
void onyx_peermetrics_retire(
    struct onyx_metrics *m, const char *job, const char *peer, long long now);

/* onyx_peermetrics_forget: every series of peer goes now (an id retired). */
void onyx_peermetrics_forget(struct onyx_metrics *m, const char *peer);

#endif
