/* lib/metrics.c: a registry of counters, gauges and histograms with labels, rendered as Prometheus text. */
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "metrics.h"

struct series {
	char **values;               /* nlabels */
	double v;                    /* counter, gauge; histogram: the sum */
	unsigned long long *buckets; /* histogram: per bucket, not cumulative */
	unsigned long long count;    /* histogram: observations */
	long long due;               /* retired: when it goes */
	bool retired;
};

struct family {
	const struct onyx_metric_def *d;
	size_t nlabels;
	struct series *s;
	size_t n, cap;
	/* an open-addressing index of s by label values: 0 empty, else the
	 * series' index + 1; its size a power of two, over twice n */
	size_t *idx;
	size_t idxcap;
};

struct onyx_metrics {
	pthread_mutex_t mu;
	struct family *f;
	size_t n, cap;
};

struct onyx_metrics *
onyx_metrics_new(void)
{
	struct onyx_metrics *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	pthread_mutex_init(&m->mu, NULL);
	return m;
}

static void
series_free(struct family *f, struct series *s)
{
	size_t i;

	for (i = 0; i < f->nlabels; i++)
		free(s->values[i]);
	free(s->values);
	free(s->buckets);
}

void
onyx_metrics_free(struct onyx_metrics *m)
{
	size_t i, k;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++) {
		for (k = 0; k < m->f[i].n; k++)
			series_free(&m->f[i], &m->f[i].s[k]);
		free(m->f[i].s);
		free(m->f[i].idx);
	}
	free(m->f);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

/* FNV-1a over the label values, each ended by a 0 byte. */
static size_t
hash_values(const struct family *f, const char *const *values)
{
	size_t h = 14695981039346656037ULL, k;
	const char *p;

	for (k = 0; k < f->nlabels; k++) {
		for (p = values[k]; *p != '\0'; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		h = (h ^ 0) * 1099511628211ULL;
	}
	return h;
}

static bool
same_values(
    const struct family *f, const struct series *s, const char *const *values)
{
	size_t k;

	for (k = 0; k < f->nlabels; k++)
		if (strcmp(s->values[k], values[k]) != 0)
			return false;
	return true;
}

/* Put series i in f's index (which has room). */
static void
index_put(struct family *f, size_t i)
{
	size_t mask = f->idxcap - 1,
	       j = hash_values(f, (const char *const *)f->s[i].values) & mask;

	while (f->idx[j] != 0)
		j = (j + 1) & mask;
	f->idx[j] = i + 1;
}

/* Rebuild f's index for at least want series. -1: no memory (unchanged). */
static int
index_rebuild(struct family *f, size_t want)
{
	size_t cap = f->idxcap ? f->idxcap : 16, i;
	size_t *idx;

	while (cap < 2 * want + 2)
		cap *= 2;
	if ((idx = calloc(cap, sizeof(*idx))) == NULL)
		return -1;
	free(f->idx);
	f->idx = idx;
	f->idxcap = cap;
	for (i = 0; i < f->n; i++)
		index_put(f, i);
	return 0;
}

/* The family of d, defined when new; NULL: no memory. Under m->mu. */
static struct family *
family_of(struct onyx_metrics *m, const struct onyx_metric_def *d)
{
	struct family *f;
	size_t i;

	for (i = 0; i < m->n; i++)
		if (m->f[i].d == d)
			return &m->f[i];
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		f = reallocarray(m->f, cap, sizeof(*f));
		if (f == NULL)
			return NULL;
		m->f = f;
		m->cap = cap;
	}
	f = &m->f[m->n++];
	memset(f, 0, sizeof(*f));
	f->d = d;
	while (d->labels != NULL && d->labels[f->nlabels] != NULL)
		f->nlabels++;
	return f;
}

/* The series of values in f, made when new; NULL: no memory. Under m->mu. */
static struct series *
series_of(struct family *f, const char *const *values)
{
	struct series *s;
	size_t j, k;

	if (f->idxcap > 0) {
		size_t mask = f->idxcap - 1;
		for (j = hash_values(f, values) & mask; f->idx[j] != 0;
		     j = (j + 1) & mask) {
			s = &f->s[f->idx[j] - 1];
			if (same_values(f, s, values)) {
				s->retired = false;
				return s;
			}
		}
	}
	if (2 * (f->n + 1) + 2 > f->idxcap && index_rebuild(f, f->n + 1) != 0)
		return NULL;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8;
		s = reallocarray(f->s, cap, sizeof(*s));
		if (s == NULL)
			return NULL;
		f->s = s;
		f->cap = cap;
	}
	s = &f->s[f->n];
	memset(s, 0, sizeof(*s));
	if (f->nlabels > 0 &&
	    (s->values = calloc(f->nlabels, sizeof(*s->values))) == NULL)
		return NULL;
	if (f->d->type == ONYX_METRIC_HISTOGRAM && f->d->nbuckets > 0 &&
	    (s->buckets = calloc(f->d->nbuckets, sizeof(*s->buckets))) == NULL)
		goto fail;
	for (k = 0; k < f->nlabels; k++)
		if ((s->values[k] = strdup(values[k])) == NULL)
			goto fail;
	index_put(f, f->n++);
	return s;
fail:
	series_free(f, s);
	return NULL;
}

int
onyx_metrics_define(struct onyx_metrics *m, const struct onyx_metric_def *d)
{
	int rc;

	if (m == NULL)
		return 0;
	pthread_mutex_lock(&m->mu);
	rc = family_of(m, d) != NULL ? 0 : -1;
	pthread_mutex_unlock(&m->mu);
	return rc;
}

enum op { OP_ADD, OP_SET, OP_OBSERVE };

static int
update(struct onyx_metrics *m, const struct onyx_metric_def *d,
    const char *const *values, enum op op, double v, unsigned long long n)
{
	struct family *f;
	struct series *s;
	size_t i;
	int rc = -1;

	if (m == NULL)
		return 0;
	if ((op == OP_OBSERVE) != (d->type == ONYX_METRIC_HISTOGRAM) ||
	    (op == OP_SET && d->type != ONYX_METRIC_GAUGE))
		return -1;
	pthread_mutex_lock(&m->mu);
	if ((f = family_of(m, d)) == NULL || (s = series_of(f, values)) == NULL)
		goto out;
	switch (op) {
	case OP_ADD: s->v += v; break;
	case OP_SET: s->v = v; break;
	case OP_OBSERVE:
		for (i = 0; i < d->nbuckets; i++)
			if (v <= d->buckets[i]) {
				s->buckets[i] += n;
				break;
			}
		s->v += v * (double)n;
		s->count += n;
		break;
	}
	rc = 0;
out:
	pthread_mutex_unlock(&m->mu);
	return rc;
}

int
onyx_metrics_add(struct onyx_metrics *m, const struct onyx_metric_def *d,
    const char *const *values, double v)
{
	return update(m, d, values, OP_ADD, v, 0);
}

int
onyx_metrics_set(struct onyx_metrics *m, const struct onyx_metric_def *d,
    const char *const *values, double v)
{
	return update(m, d, values, OP_SET, v, 0);
}

int
onyx_metrics_observe(struct onyx_metrics *m, const struct onyx_metric_def *d,
    const char *const *values, double v, unsigned long long n)
{
	return update(m, d, values, OP_OBSERVE, v, n);
}

/* The index of label name in f, or -1. */
static int
label_index(const struct family *f, const char *name)
{
	size_t k;

	for (k = 0; k < f->nlabels; k++)
		if (strcmp(f->d->labels[k], name) == 0)
			return (int)k;
	return -1;
}

size_t
onyx_metrics_retire(
    struct onyx_metrics *m, const char *const *match, long long at)
{
	size_t i, k, hits = 0;

	if (m == NULL)
		return 0;
	pthread_mutex_lock(&m->mu);
	for (i = 0; i < m->n; i++) {
		struct family *f = &m->f[i];
		for (k = 0; k < f->n; k++) {
			struct series *s = &f->s[k];
			const char *const *p;
			for (p = match; *p != NULL && p[1] != NULL; p += 2) {
				int j = label_index(f, p[0]);
				if (j < 0 || strcmp(s->values[j], p[1]) != 0)
					break;
			}
			if (*p != NULL)
				continue;
			if (!s->retired || at < s->due)
				s->due = at;
			s->retired = true;
			hits++;
		}
	}
	pthread_mutex_unlock(&m->mu);
	return hits;
}

size_t
onyx_metrics_expire(struct onyx_metrics *m, long long now)
{
	size_t i, k, n, gone = 0;

	if (m == NULL)
		return 0;
	pthread_mutex_lock(&m->mu);
	for (i = 0; i < m->n; i++) {
		struct family *f = &m->f[i];
		for (k = n = 0; k < f->n; k++) {
			if (f->s[k].retired && f->s[k].due <= now) {
				series_free(f, &f->s[k]);
				gone++;
			} else
				f->s[n++] = f->s[k];
		}
		if (n == f->n)
			continue;
		f->n = n;
		if (f->cap > 16 && n < f->cap / 4) {
			struct series *sh =
			    reallocarray(f->s, f->cap / 2, sizeof(*sh));
			if (sh != NULL) {
				f->s = sh;
				f->cap /= 2;
			}
		}
		/* the index shrinks with the series: cost follows live ones */
		free(f->idx);
		f->idx = NULL;
		f->idxcap = 0;
		if (n > 0 && index_rebuild(f, n) != 0) {
			/* no memory: drop every series rather than lose them
			 * from the index (they would be made twice) */
			for (k = 0; k < f->n; k++)
				series_free(f, &f->s[k]);
			gone += f->n;
			f->n = 0;
		}
	}
	pthread_mutex_unlock(&m->mu);
	return gone;
}

size_t
onyx_metrics_series(struct onyx_metrics *m)
{
	size_t i, n = 0;

	if (m == NULL)
		return 0;
	pthread_mutex_lock(&m->mu);
	for (i = 0; i < m->n; i++)
		n += m->f[i].n;
	pthread_mutex_unlock(&m->mu);
	return n;
}

static int
put(struct onyx_buf *b, const char *s)
{
	return onyx_buf_append(b, s, strlen(s));
}

/* s with backslash and newline escaped, and '"' when quoted. */
static int
put_escaped(struct onyx_buf *b, const char *s, bool quoted)
{
	for (; *s != '\0'; s++) {
		const char *e = NULL;
		if (*s == '\\')
			e = "\\\\";
		else if (*s == '\n')
			e = "\\n";
		else if (*s == '"' && quoted)
			e = "\\\"";
		if (e != NULL ? put(b, e) : onyx_buf_append(b, s, 1))
			return -1;
	}
	return 0;
}

/* v as Prometheus reads it: the shortest of %.15g and %.17g that is exact. */
static void
format_number(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "NaN");
	else if (isinf(v))
		snprintf(buf, len, "%s", v > 0 ? "+Inf" : "-Inf");
	else {
		snprintf(buf, len, "%.15g", v);
		if (strtod(buf, NULL) != v)
			snprintf(buf, len, "%.17g", v);
	}
}

/*
 * One sample: name suffix {labels of s, and le when not NULL} value.
 */
static int
put_sample(struct onyx_buf *b, const struct family *f, const struct series *s,
    const char *suffix, const char *le, double v)
{
	char num[64];
	size_t k;
	int rc = put(b, f->d->name) || put(b, suffix);

	if (f->nlabels > 0 || le != NULL) {
		rc = rc || put(b, "{");
		for (k = 0; k < f->nlabels; k++) {
			rc = rc || (k > 0 && put(b, ",")) ||
			    put(b, f->d->labels[k]) || put(b, "=\"") ||
			    put_escaped(b, s->values[k], true) || put(b, "\"");
		}
		if (le != NULL)
			rc = rc || (f->nlabels > 0 && put(b, ",")) ||
			    put(b, "le=\"") || put(b, le) || put(b, "\"");
		rc = rc || put(b, "}");
	}
	format_number(num, sizeof(num), v);
	return rc || put(b, " ") || put(b, num) || put(b, "\n") ? -1 : 0;
}

static int
render_family(struct onyx_buf *b, const struct family *f)
{
	static const char *types[] = {"counter", "gauge", "histogram"};
	char le[64];
	size_t k, i;

	if (put(b, "# HELP ") || put(b, f->d->name) || put(b, " ") ||
	    put_escaped(b, f->d->help, false) || put(b, "\n# TYPE ") ||
	    put(b, f->d->name) || put(b, " ") || put(b, types[f->d->type]) ||
	    put(b, "\n"))
		return -1;
	for (k = 0; k < f->n; k++) {
		const struct series *s = &f->s[k];
		unsigned long long cum = 0;
		if (f->d->type != ONYX_METRIC_HISTOGRAM) {
			if (put_sample(b, f, s, "", NULL, s->v))
				return -1;
			continue;
		}
		for (i = 0; i < f->d->nbuckets; i++) {
			cum += s->buckets[i];
			format_number(le, sizeof(le), f->d->buckets[i]);
			if (put_sample(b, f, s, "_bucket", le, (double)cum))
				return -1;
		}
		if (put_sample(b, f, s, "_bucket", "+Inf", (double)s->count) ||
		    put_sample(b, f, s, "_sum", NULL, s->v) ||
		    put_sample(b, f, s, "_count", NULL, (double)s->count))
			return -1;
	}
	return 0;
}

int
onyx_metrics_render(struct onyx_metrics *m, struct onyx_buf *out)
{
	size_t i;
	int rc = 0;

	if (m == NULL)
		return 0;
	pthread_mutex_lock(&m->mu);
	for (i = 0; i < m->n && rc == 0; i++)
		if (m->f[i].n > 0)
			rc = render_family(out, &m->f[i]);
	pthread_mutex_unlock(&m->mu);
	return rc;
}
