/* lib/progress.c: pure computations of the live view and the progress line: rates over samples, ETA, sparkline, layout. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "progress.h"

int
onyx_progress_add(struct onyx_progress_hist *h, long long t_ms, long long total,
    long long keep_ms)
{
	size_t drop = 0, i;

	if (h->n > 0 && t_ms < h->s[h->n - 1].t_ms)
		t_ms = h->s[h->n - 1].t_ms;
	/* spaced at least the gap apart, but for the newest */
	if (h->n >= 2 &&
	    t_ms - h->s[h->n - 2].t_ms < ONYX_PROGRESS_MIN_GAP_MS) {
		h->s[h->n - 1].t_ms = t_ms;
		h->s[h->n - 1].total = total;
	} else {
		if (h->n == h->cap) {
			size_t cap = h->cap ? h->cap * 2 : 16;
			struct onyx_progress_sample *s =
			    reallocarray(h->s, cap, sizeof(*s));

			if (s == NULL)
				return -1;
			h->s = s;
			h->cap = cap;
		}
		h->s[h->n].t_ms = t_ms;
		h->s[h->n].total = total;
		h->n++;
	}
	/* keep the newest sample at or before the window's start */
	while (drop + 1 < h->n && h->s[drop + 1].t_ms <= t_ms - keep_ms)
		drop++;
	if (drop > 0) {
		for (i = drop; i < h->n; i++)
			h->s[i - drop] = h->s[i];
		h->n -= drop;
	}
	return 0;
}

void
onyx_progress_free(struct onyx_progress_hist *h)
{
	free(h->s);
	h->s = NULL;
	h->n = h->cap = 0;
}

double
onyx_progress_rate(const struct onyx_progress_hist *h, long long window_ms)
{
	const struct onyx_progress_sample *last, *first;
	size_t i = 0;
	long long dt;

	if (h->n < 2)
		return -1;
	last = &h->s[h->n - 1];
	while (i + 1 < h->n - 1 && h->s[i + 1].t_ms <= last->t_ms - window_ms)
		i++;
	first = &h->s[i];
	dt = last->t_ms - first->t_ms;
	if (dt < 900)
		return -1;
	if (last->total <= first->total)
		return 0;
	return (double)(last->total - first->total) * 1000.0 / (double)dt;
}

/* The total at t (the newest sample at or before it), or -1 before any. */
static long long
total_at(const struct onyx_progress_hist *h, long long t)
{
	long long v = -1;
	size_t i;

	for (i = 0; i < h->n && h->s[i].t_ms <= t; i++)
		v = h->s[i].total;
	return v;
}

void
onyx_progress_buckets(const struct onyx_progress_hist *h, long long now_ms,
    size_t n, long long bucket_ms, double *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		long long a = now_ms - (long long)(n - i) * bucket_ms;
		long long b = a + bucket_ms;
		long long ta = total_at(h, a), tb = total_at(h, b);

		if (ta < 0 || tb < 0)
			out[i] = -1;
		else
			out[i] = tb > ta
			    ? (double)(tb - ta) * 1000.0 / (double)bucket_ms
			    : 0;
	}
}

char *
onyx_progress_spark(const double *v, size_t n, char *buf, size_t len)
{
	static const char *blocks[] = {"\u2581", "\u2582", "\u2583", "\u2584",
	    "\u2585", "\u2586", "\u2587", "\u2588"};
	double max = 0;
	size_t i, at = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	for (i = 0; i < n; i++)
		if (v[i] > max)
			max = v[i];
	for (i = 0; i < n; i++) {
		const char *c = " ";
		size_t cl;

		if (v[i] >= 0) {
			int k = max > 0 ? (int)(v[i] / max * 7 + 0.5) : 0;

			c = blocks[k < 0 ? 0 : k > 7 ? 7 : k];
		}
		cl = strlen(c);
		if (at + cl + 1 > len)
			break;
		memcpy(buf + at, c, cl);
		at += cl;
		buf[at] = '\0';
	}
	return buf;
}

long long
onyx_progress_eta(long long left, double rate)
{
	long long secs;
	double q;

	if (left == 0)
		return 0;
	if (left < 0 || !(rate > 0))
		return -1;
	q = (double)left / rate;
	secs = (long long)q;
	return secs < q ? secs + 1 : secs;
}

char *
onyx_progress_duration(long long secs, char *buf, size_t len)
{
	if (secs < 0)
		snprintf(buf, len, "-");
	else if (secs < 60)
		snprintf(buf, len, "%llds", secs);
	else if (secs < 3600)
		snprintf(buf, len, "%lldm%02llds", secs / 60, secs % 60);
	else if (secs < 86400)
		snprintf(
		    buf, len, "%lldh%02lldm", secs / 3600, secs % 3600 / 60);
	else
		snprintf(buf, len, "%lldd%02lldh", secs / 86400,
		    secs % 86400 / 3600);
	return buf;
}

char *
onyx_progress_rate_text(double rate, char *buf, size_t len)
{
	static const char units[] = "kMGT";
	size_t u = 0;

	if (rate < 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	if (rate < 999.95) {
		snprintf(buf, len, "%.1f", rate);
		return buf;
	}
	rate /= 1000;
	while (rate >= 999.95 && u + 1 < sizeof(units) - 1) {
		rate /= 1000;
		u++;
	}
	if (rate < 9.995)
		snprintf(buf, len, "%.2f%c", rate, units[u]);
	else
		snprintf(buf, len, "%.1f%c", rate, units[u]);
	return buf;
}

static long long
int_or(const json_t *o, const char *key, long long dflt)
{
	const json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

static double
num_or(const json_t *o, const char *key, double dflt)
{
	const json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : dflt;
}

bool
onyx_progress_is_input(const json_t *task)
{
	const json_t *in = json_object_get(task, "ingress"), *q;
	size_t i;

	if (!json_is_array(in) || json_array_size(in) == 0)
		return false;
	json_array_foreach(in, i, q)
	{
		if (!json_is_string(q) ||
		    onyx_names_reserved(json_string_value(q)))
			return false;
	}
	return true;
}

/* Whether job (of onyx_watch_state) has ended. */
static bool
ended(const json_t *job)
{
	const char *s = json_string_value(json_object_get(job, "status"));

	return s != NULL &&
	    (strcmp(s, "completed") == 0 || strcmp(s, "failed") == 0 ||
	        strcmp(s, "killed") == 0);
}

void
onyx_progress_of_job(const json_t *job, struct onyx_progress_job *out)
{
	const json_t *t, *pick = NULL;
	long long best = -2, phase = -1;
	size_t i;
	bool over;

	memset(out, 0, sizeof(*out));
	out->job = json_string_value(json_object_get(job, "job"));
	out->status = json_string_value(json_object_get(job, "status"));
	if (out->job == NULL)
		out->job = "?";
	if (out->status == NULL)
		out->status = "unknown";
	over = ended(job);
	json_array_foreach(json_object_get(job, "tasks"), i, t)
	{
		long long e = int_or(t, "eta", -1),
		          b = int_or(t, "backlog", -1);
		long long ph = int_or(t, "phase", 0);
		/* unknown while something is (or may be) left: the slowest */
		long long rank = e < 0 && b != 0 ? LLONG_MAX : e < 0 ? 0 : e;

		if (over)
			rank = 0;
		if (rank > best || (rank == best && ph > phase)) {
			best = rank;
			phase = ph;
			pick = t;
		}
	}
	out->task =
	    pick ? json_string_value(json_object_get(pick, "name")) : NULL;
	if (out->task == NULL)
		out->task = "?";
	out->done = int_or(pick, "read", 0);
	out->left = int_or(pick, "backlog", -1);
	out->rate = num_or(pick, "rate", -1);
	out->eta = int_or(job, "eta", -1);
	if (strcmp(out->status, "completed") == 0) {
		out->left = 0;
		out->eta = 0;
	}
	out->total = out->left < 0 ? -1 : out->done + out->left;
}

/* The sum of "written" of the tasks upstream of t, -1 for an input task. */
static long long
upstream_written(const json_t *tasks, const json_t *t)
{
	const json_t *q, *u, *e;
	long long sum = 0;
	size_t i, k, m;

	if (json_array_size(json_object_get(t, "ingress")) == 0)
		return -1;
	json_array_foreach(json_object_get(t, "ingress"), i, q)
	{
		bool found = false;

		json_array_foreach(tasks, k, u)
		{
			json_array_foreach(json_object_get(u, "egress"), m, e)
			{
				if (json_equal(e, q)) {
					found = true;
					sum += int_or(u, "written", 0);
				}
			}
		}
		if (!found)
			return -1;
	}
	return sum;
}

long long
onyx_progress_pending(const json_t *tasks, const json_t *t)
{
	long long w = upstream_written(tasks, t), r = int_or(t, "read", 0);

	if (w < 0)
		return -1;
	return w > r ? w - r : 0;
}

bool
onyx_progress_settled(const json_t *job)
{
	const char *s = json_string_value(json_object_get(job, "status"));
	const json_t *tasks = json_object_get(job, "tasks"), *t;
	size_t i;

	if (s == NULL || strcmp(s, "completed") != 0)
		return true;
	json_array_foreach(tasks, i, t)
	{
		long long w = upstream_written(tasks, t);

		if (w >= 0 && w != int_or(t, "read", 0))
			return false;
	}
	return true;
}

char *
onyx_progress_line(
    const struct onyx_progress_job *p, int width, char *buf, size_t len)
{
	char total[32], left[32], rate[32], eta[32];

	if (p->total < 0)
		snprintf(total, sizeof(total), "?");
	else
		snprintf(total, sizeof(total), "%lld", p->total);
	if (p->left < 0)
		snprintf(left, sizeof(left), "-");
	else
		snprintf(left, sizeof(left), "%lld", p->left);
	onyx_progress_rate_text(p->rate, rate, sizeof(rate));
	onyx_progress_duration(p->eta, eta, sizeof(eta));
	snprintf(buf, len,
	    "job %s %s: task %s %lld/%s segments, backlog %s, %s/s, ETA %s",
	    p->job, p->status, p->task, p->done, total, left, rate, eta);
	return onyx_progress_cut(buf, width);
}

char *
onyx_progress_cut(char *s, int width)
{
	int cols = 0;
	char *p;

	if (width <= 0)
		return s;
	for (p = s; *p; p++) {
		/* a column per character: count the bytes that start one */
		if (((unsigned char)*p & 0xc0) != 0x80 && cols++ == width) {
			*p = '\0';
			break;
		}
	}
	return s;
}

/* A JSON value as a cell: "-" for null or missing. */
static const char *
cell(const json_t *v, char *buf, size_t len)
{
	if (v == NULL || json_is_null(v))
		return "-";
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%.1f", json_real_value(v));
	else if (json_is_array(v))
		snprintf(buf, len, "%zu", json_array_size(v));
	else
		snprintf(buf, len, "?");
	return buf;
}

/* One line into f, cut to width. */
static void line(FILE *f, int width, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
line(FILE *f, int width, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	fprintf(f, "%s\n", onyx_progress_cut(s, width));
	free(s);
}

/* "4: 3 active, 1 idle": the peers by state, in order of first appearance. */
static void
peer_summary(const json_t *peers, char *buf, size_t len)
{
	json_t *seen = json_object(), *p;
	const char *k;
	json_t *v;
	size_t i, at;

	json_array_foreach(peers, i, p)
	{
		const char *s = json_string_value(json_object_get(p, "state"));

		s = s ? s : "unknown";
		json_object_set_new(seen, s,
		    json_integer(
		        json_integer_value(json_object_get(seen, s)) + 1));
	}
	at = (size_t)snprintf(buf, len, "%zu", json_array_size(peers));
	i = 0;
	json_object_foreach(seen, k, v)
	{
		if (at < len)
			at += (size_t)snprintf(buf + at, len - at, "%s%lld %s",
			    i++ ? ", " : ": ", (long long)json_integer_value(v),
			    k);
	}
	json_decref(seen);
}

/* text cut to rows lines, the last saying how many were left out. */
static char *
fit_rows(char *text, int width, int rows)
{
	char *p, *cut = text, *note, *more;
	int n = 0;

	if (rows <= 0)
		return text;
	for (p = text; *p; p++)
		if (*p == '\n' && ++n == rows - 1)
			cut = p + 1;
	if (n <= rows)
		return text;
	*cut = '\0';
	if (asprintf(&note, "(%d more lines: a taller terminal shows them)",
	        n - (rows - 1)) < 0)
		return text;
	onyx_progress_cut(note, width);
	if (asprintf(&more, "%s%s\n", text, note) < 0)
		more = NULL;
	free(note);
	if (more == NULL)
		return text;
	free(text);
	return more;
}

char *
onyx_progress_table(const json_t *state, const char *clock, int width, int rows)
{
	const json_t *leader = json_object_get(state, "leader"), *j, *t;
	char *out = NULL, b[12][64], peers[512],
	     spark[ONYX_PROGRESS_BUCKETS * 3 + 1];
	size_t outlen = 0, i, k;
	FILE *f;

	if ((f = open_memstream(&out, &outlen)) == NULL)
		return NULL;
	peer_summary(json_object_get(state, "peers"), peers, sizeof(peers));
	line(f, width, "cluster %s, leader %s, peers %s, at %s",
	    cell(json_object_get(state, "cluster"), b[0], sizeof(b[0])),
	    cell(json_object_get(leader, "id"), b[1], sizeof(b[1])), peers,
	    clock);
	if (json_is_string(json_object_get(state, "broker")))
		line(f, width, "no backlog: %s",
		    json_string_value(json_object_get(state, "broker")));
	json_array_foreach(json_object_get(state, "jobs"), i, j)
	{
		const json_t *why = json_object_get(j, "why");
		char eta[32], whytext[600] = "";
		long long e = int_or(j, "eta", -1);

		if (json_is_string(why))
			snprintf(whytext, sizeof(whytext), "  (%s)",
			    json_string_value(why));
		if (json_object_get(j, "eta") != NULL && !ended(j))
			snprintf(eta, sizeof(eta), "  ETA %s",
			    onyx_progress_duration(e, b[0], sizeof(b[0])));
		else
			eta[0] = '\0';
		fputc('\n', f);
		line(f, width, "JOB %s  %s%s%s",
		    cell(json_object_get(j, "job"), b[1], sizeof(b[1])),
		    cell(json_object_get(j, "status"), b[2], sizeof(b[2])), eta,
		    whytext);
		line(f, width,
		    "  %-16s %5s %-10s %10s %10s %8s %9s %8s %6s %5s %6s  %s",
		    "TASK", "PHASE", "STATUS", "READ", "WRITTEN", "RATE/s",
		    "BACKLOG", "INFLIGHT", "DEAD", "PEERS", "ETA",
		    "READ RATE, LAST 60 S");
		json_array_foreach(json_object_get(j, "tasks"), k, t)
		{
			const json_t *rates = json_object_get(t, "rates"), *r;
			double v[ONYX_PROGRESS_BUCKETS];
			size_t n = 0, m;

			json_array_foreach(rates, m, r)
			{
				if (n < ONYX_PROGRESS_BUCKETS)
					v[n++] = json_is_number(r)
					    ? json_number_value(r)
					    : -1;
			}
			onyx_progress_spark(v, n, spark, sizeof(spark));
			line(f, width,
			    "  %-16s %5s %-10s %10s %10s %8s %9s %8s %6s %5s %6s  %s",
			    cell(
			        json_object_get(t, "name"), b[0], sizeof(b[0])),
			    cell(json_object_get(t, "phase"), b[1],
			        sizeof(b[1])),
			    cell(json_object_get(t, "status"), b[2],
			        sizeof(b[2])),
			    cell(
			        json_object_get(t, "read"), b[3], sizeof(b[3])),
			    cell(json_object_get(t, "written"), b[4],
			        sizeof(b[4])),
			    onyx_progress_rate_text(
			        num_or(t, "rate", -1), b[5], sizeof(b[5])),
			    cell(json_object_get(t, "backlog"), b[6],
			        sizeof(b[6])),
			    cell(json_object_get(t, "inflight"), b[7],
			        sizeof(b[7])),
			    cell(
			        json_object_get(t, "dead"), b[8], sizeof(b[8])),
			    cell(json_object_get(t, "peers"), b[9],
			        sizeof(b[9])),
			    onyx_progress_duration(
			        int_or(t, "eta", -1), b[10], sizeof(b[10])),
			    spark);
			if (int_or(t, "dead", 0) > 0)
				line(f, width, "  %-16s dead letters in %s", "",
				    cell(json_object_get(t, "dead-letter"),
				        b[0], sizeof(b[0])));
		}
	}
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return fit_rows(out, width, rows);
}
