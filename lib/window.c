/* lib/window.c: time windows, pure: the onyx/window spec, event time, watermark, lateness, the fold of aggregates, triggers and results. */
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "window.h"

#define PATHLEN 512

/* The spec */

static const char *const types[] = {"tumbling", "sliding", "session", "global"};
static const char *const ops[] = {
    "count", "sum", "min", "max", "mean", "distinct", "collect"};

struct check {
	const char *base;
	onyx_window_report *report;
	void *ctx;
	int n;
	int oom;
};

static void say(struct check *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
say(struct check *c, const char *path, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0) {
		c->oom = 1;
		return;
	}
	c->report(c->ctx, path, msg);
	free(msg);
	c->n++;
}

static int
find(const char *s, const char *const *v, size_t n)
{
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (strcmp(s, v[i]) == 0)
			return (int)i;
	return -1;
}

static char *
path_of(char *buf, const char *base, const char *key)
{
	return onyx_json_path_key(buf, PATHLEN, base, key);
}

/* unknown_keys: every key of object v not in keys (NULL-ended). */
static void
unknown_keys(struct check *c, const json_t *v, const char *base,
    const char *const *keys, const char *holds)
{
	const char *key, *const *k;
	char p[PATHLEN];
	json_t *x;

	json_object_foreach((json_t *)v, key, x)
	{
		for (k = keys; *k != NULL && strcmp(*k, key) != 0; k++)
			;
		if (*k == NULL)
			say(c, path_of(p, base, key), "unknown key; %s", holds);
	}
}

/* ms: an integer of milliseconds, >= min; 0 when absent. */
static long long
check_ms(struct check *c, const json_t *v, const char *key, long long min,
    const char *type_name, bool need, bool allowed)
{
	const json_t *x = json_object_get(v, key);
	char p[PATHLEN], d[64];
	long long n;

	path_of(p, c->base, key);
	if (x == NULL) {
		if (need)
			say(c, p, "missing (required for a %s window)",
			    type_name);
		return 0;
	}
	if (!allowed) {
		say(c, p, "not allowed on a %s window", type_name);
		return 0;
	}
	n = json_is_integer(x) ? json_integer_value(x) : LLONG_MIN;
	if (n < min || n > ONYX_WINDOW_MS_MAX) {
		say(c, p, "must be %s (milliseconds), not %s",
		    min > 0 ? "a positive integer" : "an integer >= 0",
		    onyx_json_describe(x, d, sizeof(d)));
		return 0;
	}
	return n;
}

static void
check_selector(struct check *c, const json_t *x, const char *p)
{
	char d[64], why[128];

	if (!json_is_string(x))
		say(c, p,
		    "must be a key name or a path such as \"$.ts\", not %s",
		    onyx_json_describe(x, d, sizeof(d)));
	else if (onyx_json_select_check(
	             json_string_value(x), why, sizeof(why)) != 0)
		say(c, p, "is not a key name or a path: %s", why);
}

static void
check_time(struct check *c, const json_t *v, const char *type_name, bool global)
{
	static const char *const keys[] = {"field", "format", NULL};
	const json_t *t = json_object_get(v, "time"), *f;
	char p[PATHLEN], q[PATHLEN], d[64];

	path_of(p, c->base, "time");
	if (t == NULL) {
		if (!global)
			say(c, p, "missing (required for a %s window)",
			    type_name);
		return;
	}
	if (!json_is_object(t)) {
		say(c, p,
		    "must be a JSON object such as {\"field\": \"ts\", \"format\": \"epoch-ms\"}, not %s",
		    onyx_json_describe(t, d, sizeof(d)));
		return;
	}
	unknown_keys(c, t, p, keys, "a time holds \"field\" and \"format\"");
	path_of(q, p, "field");
	if ((f = json_object_get(t, "field")) == NULL)
		say(c, q, "missing (required)");
	else
		check_selector(c, f, q);
	path_of(q, p, "format");
	f = json_object_get(t, "format");
	if (f != NULL &&
	    (!json_is_string(f) ||
	        (strcmp(json_string_value(f), "epoch-ms") != 0 &&
	            strcmp(json_string_value(f), "rfc3339") != 0)))
		say(c, q, "must be \"epoch-ms\" or \"rfc3339\", not %s",
		    onyx_json_describe(f, d, sizeof(d)));
}

/* fn_spec_valid: "library.so:symbol", no '/' in the library. */
static bool
fn_spec_valid(const char *s)
{
	const char *colon = s != NULL ? strchr(s, ':') : NULL;

	return colon != NULL && colon != s && colon[1] != '\0' &&
	    strchr(colon + 1, ':') == NULL && memchr(s, '/', colon - s) == NULL;
}

/* A problem found by onyx_json_check_argv. */
static void
argv_problem(void *ctx, const char *path, const char *msg)
{
	say(ctx, path, "%s", msg);
}

static void
check_argv(struct check *c, const json_t *x, const char *p)
{
	onyx_json_check_argv(x, p, argv_problem, c);
}

static void
check_aggregate(struct check *c, const json_t *v)
{
	static const char *const keys[] = {
	    "op", "field", "as", "fn", "exec", NULL};
	const json_t *a = json_object_get(v, "aggregate"), *op, *fn, *ex, *f,
	             *as;
	char p[PATHLEN], q[PATHLEN], d[64];
	int kinds, k = -1;

	path_of(p, c->base, "aggregate");
	if (a == NULL) {
		say(c, p, "missing (required)");
		return;
	}
	if (json_is_string(a)) {
		if (strcmp(json_string_value(a), "count") != 0)
			say(c, p,
			    "must be \"count\" or an object such as {\"op\": \"sum\", \"field\": \"bytes\"}, not %s",
			    onyx_json_describe(a, d, sizeof(d)));
		return;
	}
	if (!json_is_object(a)) {
		say(c, p,
		    "must be \"count\" or an object such as {\"op\": \"sum\", \"field\": \"bytes\"}, not %s",
		    onyx_json_describe(a, d, sizeof(d)));
		return;
	}
	unknown_keys(c, a, p, keys,
	    "an aggregate holds \"op\", \"field\", \"as\", \"fn\" or \"exec\"");
	op = json_object_get(a, "op");
	fn = json_object_get(a, "fn");
	ex = json_object_get(a, "exec");
	f = json_object_get(a, "field");
	as = json_object_get(a, "as");
	kinds = (op != NULL) + (fn != NULL) + (ex != NULL);
	if (kinds == 0)
		say(c, p, "needs one of \"op\", \"fn\" or \"exec\"");
	else if (kinds > 1)
		say(c, p,
		    "holds more than one of \"op\", \"fn\" and \"exec\"; give one");
	if (op != NULL) {
		path_of(q, p, "op");
		k = find(
		    json_string_value(op), ops, sizeof(ops) / sizeof(*ops));
		if (k < 0)
			say(c, q,
			    "must be \"count\", \"sum\", \"min\", \"max\", \"mean\", \"distinct\" or \"collect\", not %s",
			    onyx_json_describe(op, d, sizeof(d)));
	}
	if (fn != NULL && !fn_spec_valid(json_string_value(fn)))
		say(c, path_of(q, p, "fn"),
		    "must be \"library.so:symbol\" (a library without '/', found in the function path), not %s",
		    onyx_json_describe(fn, d, sizeof(d)));
	if (ex != NULL)
		check_argv(c, ex, path_of(q, p, "exec"));
	path_of(q, p, "field");
	if (f != NULL && (fn != NULL || ex != NULL))
		say(c, q, "not allowed with \"%s\"",
		    fn != NULL ? "fn" : "exec");
	else if (f != NULL && k == ONYX_WINDOW_COUNT)
		say(c, q, "not allowed with \"op\": \"count\"");
	else if (f != NULL)
		check_selector(c, f, q);
	else if (k > ONYX_WINDOW_COUNT)
		say(c, q, "missing (required for \"op\": \"%s\")", ops[k]);
	path_of(q, p, "as");
	if (as != NULL && (!json_is_string(as) || json_string_length(as) == 0))
		say(c, q, "must be a non-empty string, not %s",
		    onyx_json_describe(as, d, sizeof(d)));
	else if (as != NULL &&
	    (strcmp(json_string_value(as), "key") == 0 ||
	        strcmp(json_string_value(as), "window") == 0 ||
	        strcmp(json_string_value(as), "final") == 0))
		say(c, q,
		    "must not be \"key\", \"window\" or \"final\" (keys of every result)");
}

static void
check_triggers(struct check *c, const json_t *v)
{
	const json_t *tr = json_object_get(v, "trigger"), *x, *n;
	char p[PATHLEN], q[PATHLEN], d[64];
	const char *s;
	size_t i;

	path_of(p, c->base, "trigger");
	if (tr == NULL)
		return;
	if (!json_is_array(tr) || json_array_size(tr) == 0) {
		say(c, p, "must be a non-empty array of triggers, not %s",
		    onyx_json_describe(tr, d, sizeof(d)));
		return;
	}
	json_array_foreach(tr, i, x)
	{
		onyx_json_path_index(q, sizeof(q), p, i);
		s = json_string_value(x);
		if (s != NULL &&
		    (strcmp(s, "watermark") == 0 || strcmp(s, "end") == 0))
			continue;
		if (json_is_object(x) && json_object_size(x) == 1 &&
		    ((n = json_object_get(x, "segments")) != NULL ||
		        (n = json_object_get(x, "timer")) != NULL)) {
			json_int_t k =
			    json_is_integer(n) ? json_integer_value(n) : 0;
			if (k < 1 || k > ONYX_WINDOW_MS_MAX)
				say(c,
				    path_of(p, q,
				        json_object_get(x, "segments") != NULL
				            ? "segments"
				            : "timer"),
				    "must be a positive integer, not %s",
				    onyx_json_describe(n, d, sizeof(d)));
			continue;
		}
		say(c, q,
		    "must be \"watermark\", \"end\", {\"segments\": N} or {\"timer\": MS}, not %s",
		    onyx_json_describe(x, d, sizeof(d)));
	}
}

int
onyx_window_check(
    const json_t *v, const char *base, onyx_window_report *report, void *ctx)
{
	static const char *const keys[] = {"type", "size", "slide", "gap",
	    "time", "lateness", "aggregate", "trigger", NULL};
	struct check c = {base, report, ctx, 0, 0};
	const json_t *ty;
	const char *tn;
	char p[PATHLEN], d[64];
	long long size, slide;
	int type;

	if (!json_is_object(v)) {
		say(&c, base,
		    "must be a JSON object (a window spec such as {\"type\": \"tumbling\", \"size\": 60000, ...}), not %s",
		    onyx_json_describe(v, d, sizeof(d)));
		return c.oom ? -1 : c.n;
	}
	unknown_keys(&c, v, base, keys,
	    "a window holds \"type\", \"size\", \"slide\", \"gap\", \"time\", \"lateness\", \"aggregate\" and \"trigger\"");
	ty = json_object_get(v, "type");
	path_of(p, base, "type");
	type =
	    find(json_string_value(ty), types, sizeof(types) / sizeof(*types));
	if (ty == NULL)
		say(&c, p, "missing (required)");
	else if (type < 0)
		say(&c, p,
		    "must be \"tumbling\", \"sliding\", \"session\" or \"global\", not %s",
		    onyx_json_describe(ty, d, sizeof(d)));
	if (type >= 0) {
		tn = types[type];
		size = check_ms(&c, v, "size", 1, tn,
		    type == ONYX_WINDOW_TUMBLING || type == ONYX_WINDOW_SLIDING,
		    type == ONYX_WINDOW_TUMBLING ||
		        type == ONYX_WINDOW_SLIDING);
		slide = check_ms(&c, v, "slide", 1, tn,
		    type == ONYX_WINDOW_SLIDING, type == ONYX_WINDOW_SLIDING);
		check_ms(&c, v, "gap", 1, tn, type == ONYX_WINDOW_SESSION,
		    type == ONYX_WINDOW_SESSION);
		path_of(p, base, "slide");
		if (size > 0 && slide > size)
			say(&c, p, "must be at most the size (%lld), not %lld",
			    size, slide);
		else if (size > 0 && slide > 0 &&
		    (size + slide - 1) / slide > ONYX_WINDOW_MAX_OVERLAP)
			say(&c, p,
			    "puts each segment in %lld windows (size / slide); at most %d",
			    (size + slide - 1) / slide,
			    ONYX_WINDOW_MAX_OVERLAP);
		check_time(&c, v, tn, type == ONYX_WINDOW_GLOBAL);
	}
	check_ms(&c, v, "lateness", 0, "", false, true);
	check_aggregate(&c, v);
	check_triggers(&c, v);
	return c.oom ? -1 : c.n;
}

struct first {
	char *err;
	size_t errlen;
	int n;
};

static void
first_problem(void *ctx, const char *path, const char *msg)
{
	struct first *f = ctx;

	if (f->n++ == 0)
		snprintf(f->err, f->errlen, "%s: %s", path, msg);
}

static char *
dup_or_null(const json_t *v, bool *oom)
{
	char *s;

	if (!json_is_string(v))
		return NULL;
	if ((s = strdup(json_string_value(v))) == NULL)
		*oom = true;
	return s;
}

int
onyx_window_parse(
    const json_t *v, struct onyx_window **out, char *err, size_t errlen)
{
	struct first f = {err, errlen, 0};
	struct onyx_window *w;
	const json_t *a, *tr, *x, *t;
	bool oom = false;
	size_t i;
	int n;

	*out = NULL;
	n = onyx_window_check(v, "onyx/window", first_problem, &f);
	if (n != 0) {
		if (n < 0)
			snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	w->type = find(json_string_value(json_object_get(v, "type")), types,
	    sizeof(types) / sizeof(*types));
	w->size = json_integer_value(json_object_get(v, "size"));
	w->slide = json_integer_value(json_object_get(v, "slide"));
	w->gap = json_integer_value(json_object_get(v, "gap"));
	w->lateness = json_integer_value(json_object_get(v, "lateness"));
	if (w->type == ONYX_WINDOW_TUMBLING)
		w->slide = w->size;
	t = json_object_get(v, "time");
	w->time_field = dup_or_null(json_object_get(t, "field"), &oom);
	x = json_object_get(t, "format");
	w->rfc3339 = x != NULL && strcmp(json_string_value(x), "rfc3339") == 0;
	a = json_object_get(v, "aggregate");
	if (json_is_string(a))
		w->op = ONYX_WINDOW_COUNT;
	else if (json_object_get(a, "fn") != NULL)
		w->op = ONYX_WINDOW_FN;
	else if (json_object_get(a, "exec") != NULL)
		w->op = ONYX_WINDOW_EXEC;
	else
		w->op = find(json_string_value(json_object_get(a, "op")), ops,
		    sizeof(ops) / sizeof(*ops));
	w->field = dup_or_null(json_object_get(a, "field"), &oom);
	w->fn = dup_or_null(json_object_get(a, "fn"), &oom);
	w->as = dup_or_null(json_object_get(a, "as"), &oom);
	if (w->as == NULL && !oom &&
	    (w->as = strdup(w->op == ONYX_WINDOW_FN || w->op == ONYX_WINDOW_EXEC
	             ? "value"
	             : ops[w->op])) == NULL)
		oom = true;
	x = json_object_get(a, "exec");
	if (x != NULL && !oom) {
		if ((w->argv = calloc(
		         json_array_size(x) + 1, sizeof(*w->argv))) == NULL)
			oom = true;
		for (i = 0; !oom && i < json_array_size(x); i++)
			w->argv[i] = dup_or_null(json_array_get(x, i), &oom);
	}
	tr = json_object_get(v, "trigger");
	if (tr == NULL)
		w->on_watermark = true;
	json_array_foreach(tr, i, x)
	{
		if (json_is_string(x))
			w->on_watermark |=
			    strcmp(json_string_value(x), "watermark") == 0;
		else if (json_object_get(x, "segments") != NULL)
			w->every_n =
			    json_integer_value(json_object_get(x, "segments"));
		else
			w->every_ms =
			    json_integer_value(json_object_get(x, "timer"));
	}
	if (oom) {
		onyx_window_free(w);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*out = w;
	return 0;
}

void
onyx_window_free(struct onyx_window *w)
{
	size_t i;

	if (w == NULL)
		return;
	free(w->time_field);
	free(w->field);
	free(w->as);
	free(w->fn);
	for (i = 0; w->argv != NULL && w->argv[i] != NULL; i++)
		free(w->argv[i]);
	free(w->argv);
	free(w);
}

/* Event time */

static int
digits(const char **p, int n, int *out)
{
	int v = 0;

	while (n-- > 0) {
		if (!isdigit((unsigned char)**p))
			return -1;
		v = v * 10 + (*(*p)++ - '0');
	}
	*out = v;
	return 0;
}

static int
expect(const char **p, const char *set)
{
	if (**p == '\0' || strchr(set, **p) == NULL)
		return -1;
	(*p)++;
	return 0;
}

int
onyx_window_parse_rfc3339(const char *s, long long *t)
{
	static const int mdays[] = {
	    31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0, ms = 0, scale = 100;
	struct tm tm;
	const char *p = s;
	time_t secs;

	if (digits(&p, 4, &y) || expect(&p, "-") || digits(&p, 2, &mo) ||
	    expect(&p, "-") || digits(&p, 2, &d) || expect(&p, "Tt ") ||
	    digits(&p, 2, &h) || expect(&p, ":") || digits(&p, 2, &mi) ||
	    expect(&p, ":") || digits(&p, 2, &sec))
		return -1;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		for (; isdigit((unsigned char)*p); p++, scale /= 10)
			ms += (*p - '0') * scale;
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (*p == '+' || *p == '-') {
		sign = *p++ == '+' ? 1 : -1;
		if (digits(&p, 2, &oh) || expect(&p, ":") || digits(&p, 2, &om))
			return -1;
	} else
		return -1;
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 &&
	        !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) ||
	    h > 23 || mi > 59 || sec > 60 || oh > 23 || om > 59)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	secs = timegm(&tm);
	*t = ((long long)secs - sign * (oh * 3600LL + om * 60LL)) * 1000 + ms;
	return 0;
}

int
onyx_window_event_time(const struct onyx_window *w, json_t *seg, long long *t,
    char *why, size_t whylen)
{
	const char *f = w->time_field;
	json_t *v;
	char d[64];

	if (f == NULL)
		return 0;
	if ((v = onyx_json_select(seg, f)) == NULL) {
		snprintf(why, whylen, "time field '%s' is missing", f);
		return -1;
	}
	if (w->rfc3339) {
		if (json_is_string(v) &&
		    onyx_window_parse_rfc3339(json_string_value(v), t) == 0)
			return 1;
		snprintf(why, whylen,
		    "time field '%s' is not an RFC 3339 time: %s", f,
		    onyx_json_describe(v, d, sizeof(d)));
		return -1;
	}
	if (json_is_integer(v) &&
	    json_integer_value(v) >= -ONYX_WINDOW_MS_MAX &&
	    json_integer_value(v) <= ONYX_WINDOW_MS_MAX) {
		*t = json_integer_value(v);
		return 1;
	}
	snprintf(why, whylen,
	    "time field '%s' is not epoch milliseconds (an integer): %s", f,
	    onyx_json_describe(v, d, sizeof(d)));
	return -1;
}

/* The watermark */

static int
get_ll(const json_t *o, const char *k, long long *v)
{
	const json_t *x = json_object_get(o, k);

	if (!json_is_integer(x))
		return 0;
	*v = json_integer_value(x);
	return 1;
}

bool
onyx_window_observe(const struct onyx_window *w, json_t *bs, long long t)
{
	long long max, wm;
	bool had = get_ll(bs, "wm", &wm);

	if (get_ll(bs, "max", &max) && max >= t)
		return false;
	json_object_set_new(bs, "max", json_integer(t));
	json_object_set_new(bs, "wm", json_integer(t - w->lateness));
	return !had || t - w->lateness > wm;
}

int
onyx_window_watermark(const json_t *bs, long long *wm)
{
	return get_ll(bs, "wm", wm);
}

bool
onyx_window_late(const json_t *bs, long long t)
{
	long long wm;

	return get_ll(bs, "wm", &wm) && t < wm;
}

/* Aggregates */

/* The value seg gives the aggregate (borrowed), or NULL with why. */
static json_t *
agg_value(const struct onyx_window *w, json_t *seg, char *why, size_t whylen)
{
	json_t *v;
	char d[64];

	if (w->field == NULL)
		return seg;
	if ((v = onyx_json_select(seg, w->field)) == NULL) {
		snprintf(
		    why, whylen, "aggregate field '%s' is missing", w->field);
		return NULL;
	}
	if (w->op != ONYX_WINDOW_DISTINCT && w->op != ONYX_WINDOW_COLLECT &&
	    !json_is_number(v)) {
		snprintf(why, whylen,
		    "aggregate field '%s' is not a number: %s", w->field,
		    onyx_json_describe(v, d, sizeof(d)));
		return NULL;
	}
	return v;
}

static json_t *
add_numbers(const json_t *a, const json_t *b)
{
	if (json_is_integer(a) && json_is_integer(b)) {
		json_int_t x = json_integer_value(a), y = json_integer_value(b),
		           r;
		if (!__builtin_add_overflow(x, y, &r))
			return json_integer(r);
	}
	return json_real(json_number_value(a) + json_number_value(b));
}

/* The text a value is known by in a distinct set. */
static char *
value_key(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

/*
 * fold_builtin: *acc (a reference, NULL for a new window) with value v
 * (from agg_value) folded in. 0, -2 out of memory.
 */
static int
fold_builtin(const struct onyx_window *w, json_t **acc, json_t *v)
{
	json_t *a = *acc, *n = NULL;
	char *k;

	switch (w->op) {
	case ONYX_WINDOW_COUNT:
		n = json_integer(a != NULL ? json_integer_value(a) + 1 : 1);
		break;
	case ONYX_WINDOW_SUM:
		n = a != NULL ? add_numbers(a, v) : json_copy(v);
		break;
	case ONYX_WINDOW_MIN:
		n = a != NULL && json_number_value(a) <= json_number_value(v)
		    ? json_incref(a)
		    : json_copy(v);
		break;
	case ONYX_WINDOW_MAX:
		n = a != NULL && json_number_value(a) >= json_number_value(v)
		    ? json_incref(a)
		    : json_copy(v);
		break;
	case ONYX_WINDOW_MEAN:
		n = a != NULL
		    ? json_pack("{s:o,s:I}", "sum",
		          add_numbers(json_object_get(a, "sum"), v), "n",
		          json_integer_value(json_object_get(a, "n")) + 1)
		    : json_pack("{s:O,s:i}", "sum", v, "n", 1);
		break;
	case ONYX_WINDOW_DISTINCT:
		n = a != NULL ? json_incref(a) : json_object();
		if (n == NULL || (k = value_key(v)) == NULL) {
			json_decref(n);
			return -2;
		}
		if (json_object_set_new(n, k, json_true()) != 0) {
			free(k);
			json_decref(n);
			return -2;
		}
		free(k);
		break;
	case ONYX_WINDOW_COLLECT:
	case ONYX_WINDOW_EXEC:
		n = a != NULL ? json_incref(a) : json_array();
		if (n == NULL || json_array_append(n, v) != 0) {
			json_decref(n);
			return -2;
		}
		break;
	case ONYX_WINDOW_FN: return -2; /* not here */
	}
	if (n == NULL)
		return -2;
	json_decref(a);
	*acc = n;
	return 0;
}

/* merge_builtin: *acc with other merged in. 0, -2 out of memory. */
static int
merge_builtin(const struct onyx_window *w, json_t **acc, json_t *other)
{
	json_t *a = *acc, *n = NULL, *x;
	const char *k;
	size_t i;

	if (other == NULL)
		return 0;
	if (a == NULL) {
		*acc = json_incref(other);
		return 0;
	}
	switch (w->op) {
	case ONYX_WINDOW_COUNT:
	case ONYX_WINDOW_SUM: n = add_numbers(a, other); break;
	case ONYX_WINDOW_MIN:
	case ONYX_WINDOW_MAX:
		n = (json_number_value(other) < json_number_value(a)) ==
		        (w->op == ONYX_WINDOW_MIN)
		    ? json_incref(other)
		    : json_incref(a);
		break;
	case ONYX_WINDOW_MEAN:
		n = json_pack("{s:o,s:I}", "sum",
		    add_numbers(json_object_get(a, "sum"),
		        json_object_get(other, "sum")),
		    "n",
		    json_integer_value(json_object_get(a, "n")) +
		        json_integer_value(json_object_get(other, "n")));
		break;
	case ONYX_WINDOW_DISTINCT:
		if ((n = json_copy(a)) == NULL)
			return -2;
		json_object_foreach(other, k, x)
		{
			if (json_object_set(n, k, x) != 0) {
				json_decref(n);
				return -2;
			}
		}
		break;
	case ONYX_WINDOW_COLLECT:
	case ONYX_WINDOW_EXEC:
		if ((n = json_copy(a)) == NULL)
			return -2;
		json_array_foreach(other, i, x)
		{
			if (json_array_append(n, x) != 0) {
				json_decref(n);
				return -2;
			}
		}
		break;
	case ONYX_WINDOW_FN: return -2;
	}
	if (n == NULL)
		return -2;
	json_decref(a);
	*acc = n;
	return 0;
}

json_t *
onyx_window_result(const struct onyx_window *w, const json_t *acc)
{
	switch (w->op) {
	case ONYX_WINDOW_COUNT:
		return json_integer(acc != NULL ? json_integer_value(acc) : 0);
	case ONYX_WINDOW_MEAN:
		return json_real(
		    json_number_value(json_object_get(acc, "sum")) /
		    (double)json_integer_value(json_object_get(acc, "n")));
	case ONYX_WINDOW_DISTINCT:
		return json_integer((json_int_t)json_object_size(acc));
	case ONYX_WINDOW_COLLECT:
	case ONYX_WINDOW_EXEC:
		return acc != NULL ? json_deep_copy(acc) : json_array();
	default: return acc != NULL ? json_deep_copy(acc) : json_null();
	}
}

/* Windows of a key */

static long long
floor_div(long long a, long long b)
{
	long long q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static long long
win_ll(const json_t *win, const char *k)
{
	return json_integer_value(json_object_get(win, k));
}

/* The window of key state windows ws that starts at s (tumbling and
 * sliding), or where one would go: its index in *at. */
static json_t *
find_window(json_t *ws, long long s, size_t *at)
{
	size_t i, n = json_array_size(ws);

	for (i = 0; i < n; i++) {
		json_t *x = json_array_get(ws, i);
		long long xs = win_ll(x, "s");
		if (xs == s) {
			*at = i;
			return x;
		}
		if (xs > s)
			break;
	}
	*at = i;
	return NULL;
}

static json_t *
new_window(json_t *s, json_t *e)
{
	return json_pack("{s:o,s:o,s:n,s:i}", "s", s, "e", e, "a", "n", 0);
}

/* fold v (or seg, for a C fold) into window x's accumulator; new value in
 * *out (a reference). */
static int
fold_into(const struct onyx_window *w, const json_t *x, json_t *v, json_t *seg,
    json_t **out, char *why, size_t whylen)
{
	json_t *a = json_object_get(x, "a");

	*out = json_is_null(a) ? NULL : json_incref(a);
	if (w->op == ONYX_WINDOW_FN) {
		if (w->fold.fold == NULL) {
			snprintf(why, whylen, "no fold function");
			json_decref(*out);
			return -1;
		}
		if (w->fold.fold(w->fold.ctx, out, seg, why, whylen) != 0) {
			json_decref(*out);
			*out = NULL;
			return -1;
		}
		return 0;
	}
	return fold_builtin(w, out, v);
}

static int
set_acc(json_t *x, json_t *acc)
{
	json_int_t n = json_integer_value(json_object_get(x, "n"));

	if (json_object_set_new(x, "a", acc != NULL ? acc : json_null()) != 0 ||
	    json_object_set_new(x, "n", json_integer(n + 1)) != 0)
		return -2;
	return 0;
}

/* Tumbling, sliding, global: every window t falls in. */
static int
add_fixed(const struct onyx_window *w, json_t *ws, json_t *v, json_t *seg,
    long long t, bool has_t, char *why, size_t whylen)
{
	long long first, last, s, k;
	json_t *accs[ONYX_WINDOW_MAX_OVERLAP + 1], *x;
	size_t at, nw = 0, i;
	int rc = 0;

	if (w->type == ONYX_WINDOW_GLOBAL) {
		first = last = 0;
	} else {
		last = floor_div(t, w->slide);
		first = floor_div(t - w->size, w->slide) + 1;
	}
	(void)has_t;
	/* every new accumulator first: a fold that fails changes nothing */
	for (k = first; k <= last && rc == 0; k++) {
		s = k * w->slide;
		x = w->type == ONYX_WINDOW_GLOBAL ? json_array_get(ws, 0)
		                                  : find_window(ws, s, &at);
		rc = fold_into(w, x, v, seg, &accs[nw], why, whylen);
		if (rc == 0)
			nw++;
	}
	if (rc != 0) {
		for (i = 0; i < nw; i++)
			json_decref(accs[i]);
		return rc;
	}
	for (k = first, i = 0; k <= last; k++, i++) {
		s = k * w->slide;
		if (w->type == ONYX_WINDOW_GLOBAL) {
			at = 0;
			x = json_array_get(ws, 0);
			if (x == NULL)
				x = new_window(json_null(), json_null());
			else
				x = json_incref(x);
		} else if ((x = find_window(ws, s, &at)) != NULL)
			x = json_incref(x);
		else
			x = new_window(
			    json_integer(s), json_integer(s + w->size));
		if (x == NULL || set_acc(x, accs[i]) != 0 ||
		    (json_array_get(ws, at) != x &&
		        json_array_insert(ws, at, x) != 0)) {
			json_decref(x);
			while (++i < nw)
				json_decref(accs[i]);
			return -2;
		}
		json_decref(x);
	}
	return 0;
}

/* Session: [t, t + gap) joins every session it overlaps. */
static int
add_session(const struct onyx_window *w, json_t *ws, json_t *v, json_t *seg,
    long long t, char *why, size_t whylen)
{
	long long s = t, e = t + w->gap;
	size_t i, lo = SIZE_MAX, hi = 0, n = json_array_size(ws);
	json_t *acc = NULL, *x, *nw;
	long long cnt = 0;
	int rc;

	for (i = 0; i < n; i++) {
		x = json_array_get(ws, i);
		if (t < win_ll(x, "e") && t + w->gap > win_ll(x, "s")) {
			if (lo == SIZE_MAX)
				lo = i;
			hi = i;
		}
	}
	/* the merged accumulator, then the segment: on a copy */
	for (i = lo; lo != SIZE_MAX && i <= hi; i++) {
		json_t *a;
		x = json_array_get(ws, i);
		a = json_object_get(x, "a");
		if (win_ll(x, "s") < s)
			s = win_ll(x, "s");
		if (win_ll(x, "e") > e)
			e = win_ll(x, "e");
		cnt += win_ll(x, "n");
		if (json_is_null(a))
			continue;
		if (acc == NULL)
			acc = json_incref(a);
		else if (w->op == ONYX_WINDOW_FN) {
			if (w->fold.merge == NULL) {
				snprintf(why, whylen,
				    "no merge function for session windows");
				json_decref(acc);
				return -1;
			}
			if (w->fold.merge(w->fold.ctx, &acc, a, why, whylen) !=
			    0) {
				json_decref(acc);
				return -1;
			}
		} else if ((rc = merge_builtin(w, &acc, a)) != 0) {
			json_decref(acc);
			return rc;
		}
	}
	nw = new_window(json_integer(s), json_integer(e));
	if (nw == NULL ||
	    json_object_set_new(nw, "a", acc != NULL ? acc : json_null()) !=
	        0) {
		json_decref(nw);
		return -2;
	}
	rc = fold_into(w, nw, v, seg, &acc, why, whylen);
	if (rc != 0 || set_acc(nw, acc) != 0 ||
	    json_object_set_new(nw, "n", json_integer(cnt + 1)) != 0) {
		json_decref(nw);
		return rc != 0 ? rc : -2;
	}
	if (lo != SIZE_MAX) {
		for (i = hi + 1; i-- > lo;)
			json_array_remove(ws, i);
	} else {
		for (lo = 0; lo < n && win_ll(json_array_get(ws, lo), "s") < s;
		     lo++)
			;
	}
	return json_array_insert_new(ws, lo, nw) == 0 ? 0 : -2;
}

int
onyx_window_add(const struct onyx_window *w, json_t *ks, json_t *seg,
    long long t, bool has_t, char *why, size_t whylen)
{
	json_t *ws = json_object_get(ks, "w"), *v = NULL;

	if (w->op != ONYX_WINDOW_FN &&
	    (v = agg_value(w, seg, why, whylen)) == NULL)
		return -1;
	if (w->type != ONYX_WINDOW_GLOBAL && !has_t) {
		snprintf(why, whylen, "no event time");
		return -1;
	}
	if (!json_is_array(ws)) {
		if ((ws = json_array()) == NULL ||
		    json_object_set_new(ks, "w", ws) != 0)
			return -2;
	}
	if (w->type == ONYX_WINDOW_SESSION)
		return add_session(w, ws, v, seg, t, why, whylen);
	return add_fixed(w, ws, v, seg, t, has_t, why, whylen);
}

/* Firing */

static json_t *
result_of(
    const struct onyx_window *w, const char *key, const json_t *x, bool final)
{
	json_t *r, *val = onyx_window_result(w, json_object_get(x, "a"));

	if (val == NULL)
		return NULL;
	r = json_pack("{s:s,s:{s:O,s:O},s:o,s:b}", "key", key, "window",
	    "start", json_object_get(x, "s"), "end", json_object_get(x, "e"),
	    w->as, val, "final", final);
	return r;
}

int
onyx_window_fire_key(const struct onyx_window *w, const char *key, json_t *ks,
    enum onyx_window_fire why, long long wm, json_t *results)
{
	json_t *ws = json_object_get(ks, "w"), *x;
	size_t i = 0;
	int fired = 0;

	while (i < json_array_size(ws)) {
		bool fire, final;
		json_int_t n;

		x = json_array_get(ws, i);
		n = json_integer_value(json_object_get(x, "n"));
		switch (why) {
		case ONYX_FIRE_WATERMARK:
			fire = final =
			    json_is_integer(json_object_get(x, "e")) &&
			    win_ll(x, "e") <= wm;
			break;
		case ONYX_FIRE_SEGMENTS:
			fire = w->every_n > 0 && n >= w->every_n;
			final = false;
			break;
		case ONYX_FIRE_TIMER:
			fire = n > 0;
			final = false;
			break;
		default: fire = final = true;
		}
		if (!fire) {
			i++;
			continue;
		}
		if (json_array_append_new(
		        results, result_of(w, key, x, final)) != 0)
			return -1;
		fired++;
		if (final)
			json_array_remove(ws, i);
		else {
			if (json_object_set_new(x, "n", json_integer(0)) != 0)
				return -1;
			i++;
		}
	}
	return fired;
}

/* Due windows */

int
onyx_window_due_update(json_t *bs, const char *key, const json_t *ks)
{
	json_t *ws = json_object_get(ks, "w"),
	       *due = json_object_get(bs, "due"), *x, *min = NULL;
	size_t i;

	if (!json_is_object(due)) {
		if ((due = json_object()) == NULL ||
		    json_object_set_new(bs, "due", due) != 0)
			return -1;
	}
	if (json_array_size(ws) == 0) {
		json_object_del(due, key);
		return 0;
	}
	json_array_foreach(ws, i, x)
	{
		json_t *e = json_object_get(x, "e");
		if (json_is_integer(e) &&
		    (min == NULL ||
		        json_integer_value(e) < json_integer_value(min)))
			min = e;
	}
	if (json_object_set_new(
	        due, key, min != NULL ? json_copy(min) : json_null()) != 0)
		return -1;
	/* "next": at most the earliest end of all, so a watermark below it
	 * needs no look at every key */
	if (min != NULL &&
	    (!json_is_integer(json_object_get(bs, "next")) ||
	        json_integer_value(min) <
	            json_integer_value(json_object_get(bs, "next"))))
		return json_object_set_new(bs, "next", json_copy(min)) == 0
		    ? 0
		    : -1;
	return 0;
}

static int
cmp_strp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *
onyx_window_due_keys(json_t *bs, long long wm, bool all)
{
	json_t *due = json_object_get(bs, "due"), *x, *out,
	       *next = json_object_get(bs, "next");
	const char *k, **v;
	size_t n = 0, i;
	long long rest = 0;
	bool any = false;

	if (!all && json_is_integer(next) && wm < json_integer_value(next))
		return json_array();
	if ((v = calloc(json_object_size(due) + 1, sizeof(*v))) == NULL)
		return NULL;
	json_object_foreach(due, k, x)
	{
		if (all || (json_is_integer(x) && json_integer_value(x) <= wm))
			v[n++] = k;
		else if (json_is_integer(x) &&
		    (!any || json_integer_value(x) < rest)) {
			rest = json_integer_value(x);
			any = true;
		}
	}
	if (!all) {
		/* the keys returned fire and tell their next ends again */
		if (any)
			json_object_set_new(bs, "next", json_integer(rest));
		else
			json_object_del(bs, "next");
	}
	qsort(v, n, sizeof(*v), cmp_strp);
	out = json_array();
	for (i = 0; out != NULL && i < n; i++)
		if (json_array_append_new(out, json_string(v[i])) != 0) {
			json_decref(out);
			out = NULL;
		}
	free(v);
	return out;
}

/* Restored values */

bool
onyx_window_key_valid(const json_t *ks)
{
	json_t *ws = json_object_get(ks, "w"), *x;
	size_t i;

	if (!json_is_object(ks) || (ws != NULL && !json_is_array(ws)))
		return false;
	json_array_foreach(ws, i, x)
	{
		if (!json_is_object(x) ||
		    !json_is_integer(json_object_get(x, "n")) ||
		    json_object_get(x, "a") == NULL ||
		    json_object_get(x, "s") == NULL ||
		    json_object_get(x, "e") == NULL)
			return false;
	}
	return true;
}

bool
onyx_window_bucket_valid(const json_t *bs)
{
	json_t *due = json_object_get(bs, "due");

	return json_is_object(bs) && (due == NULL || json_is_object(due));
}
