/* lib/metrics.h: a registry of counters, gauges and histograms with labels, rendered as Prometheus text. */
#ifndef ONYX_METRICS_H
#define ONYX_METRICS_H

#include <stddef.h>

#include "buf.h"

/*
 * A family is described once, statically, by a struct onyx_metric_def; its
 * series (one per set of label values) are made on their first update and
 * kept in growable arrays. Every function takes the registry's lock, so
 * any thread may update; callers update per batch, not per segment. A
 * series is dropped only when retired (onyx_metrics_retire) and expired
 * (onyx_metrics_expire): what a long-running program keeps follows its
 * live work. Every function accepts m NULL and then does nothing.
 */

enum onyx_metric_type {
	ONYX_METRIC_COUNTER,
	ONYX_METRIC_GAUGE,
	ONYX_METRIC_HISTOGRAM,
};

struct onyx_metric_def {
	const char *name; /* onyx_..., counters end in _total */
	const char *help;
	enum onyx_metric_type type;
	const char *const
	    *labels; /* label names, NULL-terminated; NULL: none */
	/* a histogram's bucket upper bounds, ascending, +Inf implied */
	const double *buckets;
	size_t nbuckets;
};

/* the HTTP Content-Type of onyx_metrics_render's text */
#define ONYX_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct onyx_metrics;

/* onyx_metrics_new: an empty registry. NULL: no memory. */
struct onyx_metrics *onyx_metrics_new(void);

/* onyx_metrics_free: free m and every series. NULL is fine. */
void onyx_metrics_free(struct onyx_metrics *m);

/*
 * onyx_metrics_define: register family d (borrowed: it must outlive m), so
 * that it is rendered in the order of definition; defining it again does
 * nothing. An update of a family not defined defines it. Returns 0, or -1
 * (no memory).
 */
int
onyx_metrics_define(struct onyx_metrics *m, const struct onyx_metric_def *d);

/*
 * onyx_metrics_add: add v to the series of d with the label values values
 * (as many as d->labels names; copied), made at 0 when new; for a counter
 * v must be >= 0. An update makes a retired series live again. Returns 0,
 * or -1 (no memory, or d is a histogram: nothing changed).
 */
int onyx_metrics_add(struct onyx_metrics *m, const struct onyx_metric_def *d,
    const char *const *values, double v);

/* onyx_metrics_set: set a gauge's series to v. Returns as onyx_metrics_add. */
int onyx_metrics_set(struct onyx_metrics *m, const struct onyx_metric_def *d,
    const char *const *values, double v);

/*
 * onyx_metrics_observe: count n observations of value v in a histogram's
 * series (its buckets, _sum by n * v, _count by n). Returns as
 * onyx_metrics_add (-1 too when d is not a histogram).
 */
int
onyx_metrics_observe(struct onyx_metrics *m, const struct onyx_metric_def *d,
    const char *const *values, double v, unsigned long long n);

/*
 * onyx_metrics_retire: every series, of any family, that has each label
 * named in match (pairs name, value, ..., NULL) with that value is due to
 * go at time at (any clock, as onyx_metrics_expire's now), unless updated
 * before; a series already due keeps the earlier time. A family without
 * one of the labels is not touched. Returns how many series matched.
 */
size_t onyx_metrics_retire(
    struct onyx_metrics *m, const char *const *match, long long at);

/*
 * onyx_metrics_expire: drop the series due at or before now. Returns how
 * many were dropped.
 */
size_t onyx_metrics_expire(struct onyx_metrics *m, long long now);

/*
 * onyx_metrics_series: how many series m holds (a histogram's series
 * counts once). 0 for NULL.
 */
size_t onyx_metrics_series(struct onyx_metrics *m);

/*
 * onyx_metrics_render: append m in the Prometheus text exposition format
 * 0.0.4 to out: families in the order defined (one without series is
 * left out), each with # HELP and # TYPE, series in the order made; label
 * values and help escaped; a histogram's cumulative _bucket{le=...} series
 * up to le="+Inf", then _sum and _count. Returns 0, or -1 (no memory; out
 * may hold part of it).
 */
int onyx_metrics_render(struct onyx_metrics *m, struct onyx_buf *out);

#endif
