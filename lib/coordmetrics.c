/* lib/coordmetrics.c: the metrics of the coordinator: jobs, peers, its decisions and passes. */
#include <string.h>

#include "coordmetrics.h"
#include "metrics.h"
#include "sched.h"

static const char *const status_label[] = {"status", NULL};
static const char *const state_label[] = {"state", NULL};
static const char *const reason_label[] = {"reason", NULL};
static const char *const job_statuses[] = {
    "submitted", "running", "completed", "failed", "killed"};
static const char *const peer_states[] = {
    "idle", "offered", "acked", "finished", "failed", "dead"};

static const double pass_buckets[] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

static const struct onyx_metric_def jobs = {"onyx_jobs",
    "Live jobs (not yet retired to history/) by status.", ONYX_METRIC_GAUGE,
    status_label, NULL, 0};
static const struct onyx_metric_def peers = {"onyx_peers",
    "Virtual peers by the state of their offer (idle: none; dead: registration gone, offer still there).",
    ONYX_METRIC_GAUGE, state_label, NULL, 0};
static const struct onyx_metric_def statuses = {"onyx_job_status_changes_total",
    "Job statuses set by this coordinator, by the new status.",
    ONYX_METRIC_COUNTER, status_label, NULL, 0};
static const struct onyx_metric_def offers = {"onyx_offers_total",
    "Task offers made to virtual peers.", ONYX_METRIC_COUNTER, NULL, NULL, 0};
static const struct onyx_metric_def revokes = {"onyx_revokes_total",
    "Offers revoked, by reason.", ONYX_METRIC_COUNTER, reason_label, NULL, 0};
static const struct onyx_metric_def fences = {"onyx_fences_total",
    "Dead peers fenced: their broker connections closed before their task went to another peer.",
    ONYX_METRIC_COUNTER, NULL, NULL, 0};
static const struct onyx_metric_def passes = {"onyx_pass_duration_seconds",
    "Time of a reconciliation pass.", ONYX_METRIC_HISTOGRAM, NULL, pass_buckets,
    sizeof(pass_buckets) / sizeof(pass_buckets[0])};

void
onyx_coordmetrics_define(struct onyx_metrics *m)
{
	const struct onyx_metric_def *all[] = {
	    &jobs, &peers, &statuses, &offers, &revokes, &fences, &passes};
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		onyx_metrics_define(m, all[i]);
	/* the counters without labels show 0 from the start */
	onyx_metrics_add(m, &offers, NULL, 0);
	onyx_metrics_add(m, &fences, NULL, 0);
}

/* The state of peer p, as in peer_states. */
static const char *
peer_state(const struct onyx_sched_peer *p)
{
	if (!p->alive)
		return "dead";
	if (!p->assigned || p->offer.state == NULL)
		return "idle";
	return p->offer.state;
}

void
onyx_coordmetrics_world(struct onyx_metrics *m, const struct onyx_sched_in *in)
{
	size_t i, k, n;

	if (m == NULL)
		return;
	for (k = 0; k < sizeof(job_statuses) / sizeof(job_statuses[0]); k++) {
		const char *v[] = {job_statuses[k]};
		for (i = n = 0; i < in->njobs; i++)
			n += in->jobs[i].status != NULL &&
			    strcmp(in->jobs[i].status, job_statuses[k]) == 0;
		onyx_metrics_set(m, &jobs, v, (double)n);
	}
	for (k = 0; k < sizeof(peer_states) / sizeof(peer_states[0]); k++) {
		const char *v[] = {peer_states[k]};
		for (i = n = 0; i < in->npeers; i++)
			n += strcmp(peer_state(&in->peers[i]),
			         peer_states[k]) == 0;
		onyx_metrics_set(m, &peers, v, (double)n);
	}
}

void
onyx_coordmetrics_pass(struct onyx_metrics *m, double seconds)
{
	onyx_metrics_observe(m, &passes, NULL, seconds, 1);
}

void
onyx_coordmetrics_offer(struct onyx_metrics *m)
{
	onyx_metrics_add(m, &offers, NULL, 1);
}

void
onyx_coordmetrics_revoke(struct onyx_metrics *m, const char *reason)
{
	const char *v[] = {reason};

	onyx_metrics_add(m, &revokes, v, 1);
}

void
onyx_coordmetrics_fence(struct onyx_metrics *m)
{
	onyx_metrics_add(m, &fences, NULL, 1);
}

void
onyx_coordmetrics_status(struct onyx_metrics *m, const char *status)
{
	const char *v[] = {status};

	onyx_metrics_add(m, &statuses, v, 1);
}
