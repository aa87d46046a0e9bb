/* lib/coordmetrics.h: the metrics of the coordinator: jobs, peers, its decisions and passes. */
#ifndef ONYX_COORDMETRICS_H
#define ONYX_COORDMETRICS_H

#include "metrics.h"
#include "sched.h"

/* Every function accepts m NULL and then does nothing. */

/* onyx_coordmetrics_define: the families, in the order they are shown. */
void onyx_coordmetrics_define(struct onyx_metrics *m);

/*
 * onyx_coordmetrics_world: the snapshot a pass decides on: the gauges of
 * live jobs by status (submitted, running, completed, failed, killed) and
 * of peers by state (idle, offered, acked, finished, failed: the state of
 * its offer; dead: registration gone, offer still there).
 */
void
onyx_coordmetrics_world(struct onyx_metrics *m, const struct onyx_sched_in *in);

/* onyx_coordmetrics_pass: a pass took seconds. */
void onyx_coordmetrics_pass(struct onyx_metrics *m, double seconds);

/* onyx_coordmetrics_offer: an offer was made. */
void onyx_coordmetrics_offer(struct onyx_metrics *m);

/* onyx_coordmetrics_revoke: an offer was revoked, for reason. */
void onyx_coordmetrics_revoke(struct onyx_metrics *m, const char *reason);

/* onyx_coordmetrics_fence: a dead peer's broker connections were closed. */
void onyx_coordmetrics_fence(struct onyx_metrics *m);

/* onyx_coordmetrics_status: a job's status was set to status. */
void onyx_coordmetrics_status(struct onyx_metrics *m, const char *status);

#endif
