/* lib/plan.c: check a job document (workflow + catalog) and walk it into a plan. */
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sha2.h>

#include "buf.h"
#include "json.h"
#include "names.h"
#include "plan.h"
#include "state.h"
#include "status.h"
#include "window.h"

#define PATHLEN 512
#define NAME_MAX_LEN 64

/* Task types, as bits so a key rule can name several. */
enum {
	T_INPUT = 1,
	T_FUNCTION = 2,
	T_OUTPUT = 4,
	T_ALL = 7,
};

enum rule {
	R_NAME,
	R_TYPE,
	R_POSINT,
	R_NONNEG,
	R_CONSUMPTION,
	R_STRING,
	R_NESTRING,
	R_OBJECT,
	R_MEDIUM,
	R_FN,
	R_ARGV,
	R_SELECTOR,
	R_GROUPFN,
	R_BOOL,
	R_WINDOW,
	R_STATE,
};

struct key_rule {
	const char *key;
	enum rule rule;
	unsigned need;  /* task types that must have the key */
	unsigned allow; /* task types that may have it */
};

/*
 * The largest batch: a peer holds a batch's messages in one transaction and
 * keeps a slot for each (a program's batch), so a batch is bounded like any
 * other memory. Every other number is read into a C int by the runtime.
 */
#define BATCH_SIZE_MAX 1000000

/* The largest value the runtime takes for the number of key. */
static json_int_t
number_max(const char *key)
{
	return strcmp(key, "onyx/batch-size") == 0 ? BATCH_SIZE_MAX : INT_MAX;
}

/* Every key of the onyx/ and artemis/ namespaces: any other is a typo. */
static const struct key_rule rules[] = {
    {"onyx/name", R_NAME, T_ALL, T_ALL},
    {"onyx/type", R_TYPE, T_ALL, T_ALL},
    {"onyx/batch-size", R_POSINT, T_ALL, T_ALL},
    {"onyx/batch-timeout", R_NONNEG, 0, T_ALL},
    {"onyx/consumption", R_CONSUMPTION, 0, T_ALL},
    {"onyx/max-peers", R_POSINT, 0, T_ALL},
    {"onyx/doc", R_STRING, 0, T_ALL},
    {"onyx/params", R_OBJECT, 0, T_ALL},
    {"onyx/medium", R_MEDIUM, T_INPUT | T_OUTPUT, T_INPUT | T_OUTPUT},
    {"artemis/queue-name", R_NESTRING, T_INPUT | T_OUTPUT, T_INPUT | T_OUTPUT},
    {"onyx/fn", R_FN, T_FUNCTION, T_FUNCTION},
    {"onyx/exec", R_ARGV, 0, T_FUNCTION},
    {"onyx/group-by-key", R_SELECTOR, 0, T_FUNCTION | T_OUTPUT},
    {"onyx/group-by-fn", R_GROUPFN, 0, T_FUNCTION | T_OUTPUT},
    {"onyx/max-retries", R_NONNEG, 0, T_ALL},
    {"onyx/packed", R_BOOL, 0, T_OUTPUT},
    {"onyx/window", R_WINDOW, 0, T_FUNCTION},
    {"onyx/state", R_STATE, 0, T_FUNCTION},
};
#define NRULES (sizeof(rules) / sizeof(rules[0]))

/* A catalog entry with a string name. */
struct task {
	const char *name;
	const json_t *entry;
	size_t index;  /* in the catalog */
	unsigned type; /* T_*, 0 when missing or wrong */
	bool used;     /* named in the workflow */
	bool dup;      /* its name is taken by an earlier entry */
};

struct edge {
	const char *from, *to;
	size_t a, b;               /* node indices */
	size_t seq;                /* order in the document */
	int phase;                 /* of from */
	char *path;                /* where the edge is written */
	char *from_path, *to_path; /* where each name is written */
	char *queue;
};

struct node {
	const char *name;
	char *path;        /* where the name is first written */
	struct task *task; /* NULL without a catalog entry */
	size_t in, nin;    /* incoming edges: ctx.in[in .. in+nin) */
	size_t out, nout;  /* outgoing edges: ctx.out[out .. out+nout) */
	int phase;
};

struct ctx {
	struct onyx_plan_problems *probs;
	bool oom;
	json_t *doc;
	bool workflow_ok;   /* present, not empty, every edge well formed */
	bool catalog_ok;    /* an array whose entries all have valid names:
				 * a name missing from it is news */
	struct task *tasks; /* in catalog order */
	size_t ntasks;
	struct task **byname; /* sorted, one per name */
	size_t nbyname;
	struct edge *edges;
	size_t nedges, capedges;
	struct node *nodes;
	size_t nnodes;
	struct edge **byq; /* edges by queue */
	struct edge **in;  /* edges by (to, queue) */
	struct edge **out; /* edges by (from, queue) */
	char id[NAME_MAX_LEN + 1];
};

/* Problems */

static void
unctrl(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static void problem(struct ctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
problem(struct ctx *c, const char *path, const char *fmt, ...)
{
	struct onyx_plan_problems *ps = c->probs;
	struct onyx_plan_problem *p;
	va_list ap;
	char *msg;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0) {
		c->oom = true;
		return;
	}
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 16;

		if ((p = reallocarray(ps->v, cap, sizeof(*p))) == NULL) {
			free(msg);
			c->oom = true;
			return;
		}
		ps->v = p;
		ps->cap = cap;
	}
	p = &ps->v[ps->n];
	if ((p->path = strdup(path)) == NULL) {
		free(msg);
		c->oom = true;
		return;
	}
	/* names and keys come from the user: keep each problem on one line */
	unctrl(p->path);
	unctrl(msg);
	p->msg = msg;
	p->line = p->column = 0;
	ps->n++;
}

void
onyx_plan_problems_free(struct onyx_plan_problems *probs)
{
	size_t i;

	for (i = 0; i < probs->n; i++) {
		free(probs->v[i].path);
		free(probs->v[i].msg);
	}
	free(probs->v);
	memset(probs, 0, sizeof(*probs));
}

char *
onyx_plan_problem_str(const struct onyx_plan_problem *p, const char *source,
    char *buf, size_t len)
{
	if (p->line > 0)
		snprintf(buf, len, "%s:%d:%d: %s", source, p->line, p->column,
		    p->msg);
	else if (p->path[0] == '\0')
		snprintf(buf, len, "%s: %s", source, p->msg);
	else
		snprintf(buf, len, "%s: %s: %s", source, p->path, p->msg);
	return buf;
}

/* Names */

int
onyx_plan_name_valid(const char *s)
{
	size_t n;

	n = strspn(s,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");
	return n > 0 && n <= NAME_MAX_LEN && s[n] == '\0';
}

static const char *
type_name(unsigned t)
{
	return t == T_INPUT ? "input" : t == T_FUNCTION ? "function" : "output";
}

static const char *
a_type(unsigned t)
{
	return t == T_INPUT   ? "an input"
	    : t == T_FUNCTION ? "a function"
	                      : "an output";
}

static unsigned
type_of(const json_t *v)
{
	const char *s = json_string_value(v);

	if (s == NULL)
		return 0;
	if (strcmp(s, "input") == 0)
		return T_INPUT;
	if (strcmp(s, "function") == 0)
		return T_FUNCTION;
	if (strcmp(s, "output") == 0)
		return T_OUTPUT;
	return 0;
}

/* Edit distance, to suggest the key a typo meant; SIZE_MAX when too long. */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, prev, up, row[65];

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			up = row[j];
			row[j] = prev + (a[i - 1] != b[j - 1]);
			if (up + 1 < row[j])
				row[j] = up + 1;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			prev = up;
		}
	}
	return row[lb];
}

static const struct key_rule *
find_rule(const char *key)
{
	size_t i;

	for (i = 0; i < NRULES; i++)
		if (strcmp(rules[i].key, key) == 0)
			return &rules[i];
	return NULL;
}

static void
unknown_key(struct ctx *c, const char *path, const char *key)
{
	size_t i, d, best = SIZE_MAX;
	const char *guess = NULL;

	for (i = 0; i < NRULES; i++)
		if ((d = distance(key, rules[i].key)) < best) {
			best = d;
			guess = rules[i].key;
		}
	if (guess != NULL && best <= 3)
		problem(c, path, "unknown key; did you mean \"%s\"?", guess);
	else
		problem(c, path, "unknown key");
}

/* The catalog */

static bool
fn_valid(const char *s)
{
	const char *colon = strchr(s, ':');

	if (*s == '\0')
		return false;
	/* "library.so:symbol": both halves, and one colon only */
	return colon == NULL ||
	    (colon != s && colon[1] != '\0' && strchr(colon + 1, ':') == NULL);
}

/* A problem found by onyx_json_check_argv. */
static void
argv_problem(void *ctx, const char *path, const char *msg)
{
	problem(ctx, path, "%s", msg);
}

static void
check_argv(struct ctx *c, const char *path, const json_t *v)
{
	onyx_json_check_argv(v, path, argv_problem, c);
}

/*
 * want: what rule r asks for, as in "must be <want>", or NULL when v
 * follows it. (onyx/exec is checked on its own: its elements have paths.)
 */
static const char *
want(const struct key_rule *r, const json_t *v, char *buf, size_t len)
{
	const char *s = json_string_value(v);
	json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;

	if ((r->rule == R_POSINT || r->rule == R_NONNEG) &&
	    n > number_max(r->key)) {
		snprintf(buf, len, "an integer from %d to %lld",
		    r->rule == R_POSINT ? 1 : 0, (long long)number_max(r->key));
		return buf;
	}

	switch (r->rule) {
	case R_NAME:
		return s == NULL ? "a string"
		    : onyx_plan_name_valid(s)
		    ? NULL
		    : "1 to 64 characters out of A-Z a-z 0-9 . _ -";
	case R_TYPE:
		return type_of(v) != 0
		    ? NULL
		    : "\"input\", \"function\" or \"output\"";
	case R_POSINT: return n >= 1 ? NULL : "a positive integer";
	case R_NONNEG: return n >= 0 ? NULL : "an integer >= 0";
	case R_CONSUMPTION:
		return s != NULL &&
		        (strcmp(s, "concurrent") == 0 ||
		            strcmp(s, "sequential") == 0)
		    ? NULL
		    : "\"concurrent\" or \"sequential\"";
	case R_STRING: return s != NULL ? NULL : "a string";
	case R_NESTRING:
		return s != NULL && *s != '\0' ? NULL : "a non-empty string";
	case R_OBJECT: return json_is_object(v) ? NULL : "a JSON object";
	case R_MEDIUM:
		return s != NULL && strcmp(s, "artemis") == 0 ? NULL
		                                              : "\"artemis\"";
	case R_FN:
		return s != NULL && fn_valid(s)
		    ? NULL
		    : "a builtin function's name or \"library.so:symbol\"";
	case R_ARGV: return NULL;
	case R_SELECTOR: return NULL;
	case R_GROUPFN:
		return s != NULL && strchr(s, ':') != NULL && fn_valid(s)
		    ? NULL
		    : "\"library.so:symbol\" or an argv array of strings";
	case R_BOOL: return json_is_boolean(v) ? NULL : "true or false";
	case R_WINDOW: return NULL;
	case R_STATE:
		return onyx_state_mode_of(s) != ONYX_STATE_NONE
		    ? NULL
		    : "\"durable\" or \"memory\"";
	}
	return NULL;
}

/* A problem lib/window found in an onyx/window spec. */
static void
window_problem(void *ctx, const char *path, const char *msg)
{
	problem(ctx, path, "%s", msg);
}

/* check_value: whether v follows rule r; reports it when it does not. */
static void
check_value(
    struct ctx *c, const char *path, const struct key_rule *r, const json_t *v)
{
	const char *w;
	char d[64], wb[64];

	if (r->rule == R_ARGV || (r->rule == R_GROUPFN && json_is_array(v)))
		check_argv(c, path, v);
	else if (r->rule == R_WINDOW) {
		if (onyx_window_check(v, path, window_problem, c) < 0)
			c->oom = true;
	} else if (r->rule == R_SELECTOR) {
		char why[128];
		if (!json_is_string(v))
			problem(c, path,
			    "must be a key name or a path such as \"$.user.id\", not %s",
			    onyx_json_describe(v, d, sizeof(d)));
		else if (onyx_json_select_check(
		             json_string_value(v), why, sizeof(why)) != 0)
			problem(
			    c, path, "is not a key name or a path: %s", why);
	} else if ((w = want(r, v, wb, sizeof(wb))) != NULL)
		problem(c, path, "must be %s, not %s", w,
		    onyx_json_describe(v, d, sizeof(d)));
}

static void
add_task(struct ctx *c, const json_t *entry, size_t index)
{
	const char *name =
	    json_string_value(json_object_get(entry, "onyx/name"));
	struct task *t;

	if (name == NULL)
		return;
	/* at most one task per entry: the array never grows past the catalog */
	t = &c->tasks[c->ntasks++];
	t->name = name;
	t->entry = entry;
	t->index = index;
	t->type = type_of(json_object_get(entry, "onyx/type"));
}

static int
cmp_name_only(const void *x, const void *y)
{
	return strcmp((*(const struct task *const *)x)->name,
	    (*(const struct task *const *)y)->name);
}

static int
cmp_task(const void *x, const void *y)
{
	const struct task *t = *(const struct task *const *)x;
	const struct task *u = *(const struct task *const *)y;
	int r;

	if ((r = strcmp(t->name, u->name)) != 0)
		return r;
	return t->index < u->index ? -1 : t->index > u->index;
}

/* index_tasks: c->byname, the first entry of each name; reports the others. */
static void
index_tasks(struct ctx *c)
{
	char p[PATHLEN], q[PATHLEN], e[PATHLEN];
	size_t i, n = 0;

	if ((c->byname = calloc(c->ntasks + 1, sizeof(*c->byname))) == NULL) {
		c->oom = true;
		return;
	}
	for (i = 0; i < c->ntasks; i++)
		c->byname[i] = &c->tasks[i];
	qsort(c->byname, c->ntasks, sizeof(*c->byname), cmp_task);
	for (i = 0; i < c->ntasks; i++) {
		struct task *t = c->byname[i];

		if (n == 0 || strcmp(c->byname[n - 1]->name, t->name) != 0) {
			c->byname[n++] = t;
			continue;
		}
		t->dup = true;
		onyx_json_path_index(
		    q, sizeof(q), "catalog", c->byname[n - 1]->index);
		onyx_json_path_index(e, sizeof(e), "catalog", t->index);
		problem(c, onyx_json_path_key(p, sizeof(p), e, "onyx/name"),
		    "duplicate task name '%s', first at %s", t->name, q);
	}
	c->nbyname = n;
}

/*
 * check_window_entry: a window task runs no function of its own (that it
 * keeps keyed state, grouped and with one parent, check_state says).
 */
static void
check_window_entry(struct ctx *c, const char *path, const json_t *entry)
{
	char p[PATHLEN];

	if (json_object_get(entry, "onyx/fn") != NULL)
		problem(c, onyx_json_path_key(p, sizeof(p), path, "onyx/fn"),
		    "not allowed with \"onyx/window\": a window task runs no function of its own (its aggregate says what it computes)");
	if (json_object_get(entry, "onyx/exec") != NULL)
		problem(c, onyx_json_path_key(p, sizeof(p), path, "onyx/exec"),
		    "not allowed with \"onyx/window\": a program of a window goes in its aggregate, {\"exec\": [...]}");
}

/* check_missing: keys the entry's type needs, and keys that exclude others. */
static void
check_missing(
    struct ctx *c, const char *path, const json_t *entry, unsigned type)
{
	bool fn = json_object_get(entry, "onyx/fn") != NULL;
	bool exec = json_object_get(entry, "onyx/exec") != NULL;
	bool window = json_object_get(entry, "onyx/window") != NULL;
	char p[PATHLEN];
	size_t i;

	for (i = 0; i < NRULES; i++) {
		const struct key_rule *r = &rules[i];

		if (json_object_get(entry, r->key) != NULL)
			continue;
		onyx_json_path_key(p, sizeof(p), path, r->key);
		if (r->need == T_ALL)
			problem(c, p, "missing (required)");
		else if ((r->need & type) != 0 && r->rule == R_FN && !exec &&
		    !window)
			problem(c, p,
			    "missing (required for a function task without \"onyx/exec\" or \"onyx/window\")");
		else if ((r->need & type) != 0 && r->rule != R_FN)
			problem(c, p, "missing (required for %s task)",
			    a_type(type));
	}
	if (fn && exec && (type == 0 || type == T_FUNCTION))
		problem(c, onyx_json_path_key(p, sizeof(p), path, "onyx/exec"),
		    "not allowed with \"onyx/fn\"; give one or the other");
	if (window && (type == 0 || type == T_FUNCTION))
		check_window_entry(c, path, entry);
	if (json_object_get(entry, "onyx/group-by-key") != NULL &&
	    json_object_get(entry, "onyx/group-by-fn") != NULL)
		problem(c,
		    onyx_json_path_key(p, sizeof(p), path, "onyx/group-by-fn"),
		    "not allowed with \"onyx/group-by-key\"; give one or the other");
}

/*
 * The broker's own queues and addresses (Artemis: the dead-letter and
 * expiry queues of its default address settings, and its management and
 * notification addresses): a job may neither read nor fill them.
 */
static const char *const broker_queues[] = {"DLQ", "ExpiryQueue"};
#define BROKER_PREFIX "activemq."

/*
 * check_reserved: a user's queue may take no name of lib/names and no
 * queue of the broker's own; a library of onyx/fn or onyx/group-by-fn is a
 * file name a peer looks up in its function path, never a path.
 */
static void
check_reserved(
    struct ctx *c, const char *path, const char *key, const json_t *v)
{
	const char *s = json_string_value(v), *colon;
	size_t i;

	if (s == NULL)
		return;
	if (strcmp(key, "artemis/queue-name") == 0) {
		if (onyx_names_reserved(s))
			problem(c, path,
			    "'%s' starts with '%s', which Onyx reserves for the queues it makes for a job",
			    s, ONYX_NAMES_PREFIX);
		else if (strncmp(s, BROKER_PREFIX, strlen(BROKER_PREFIX)) == 0)
			problem(c, path,
			    "'%s' starts with '%s', which the broker reserves for its own addresses",
			    s, BROKER_PREFIX);
		for (i = 0; i < sizeof(broker_queues) / sizeof(*broker_queues);
		     i++)
			if (strcmp(s, broker_queues[i]) == 0)
				problem(c, path,
				    "'%s' is a queue of the broker's own, not a job's",
				    s);
	}
	if ((strcmp(key, "onyx/fn") == 0 ||
	        strcmp(key, "onyx/group-by-fn") == 0) &&
	    (colon = strchr(s, ':')) != NULL &&
	    memchr(s, '/', colon - s) != NULL)
		problem(c, path,
		    "library '%.*s' has a '/': a library is a file name a peer looks up in its function path (ONYX_FN_PATH)",
		    (int)(colon - s), s);
}

static void
check_entry(struct ctx *c, const char *path, const json_t *entry, size_t index)
{
	unsigned type = type_of(json_object_get(entry, "onyx/type"));
	const struct key_rule *r;
	const char *key;
	char p[PATHLEN];
	json_t *v;

	json_object_foreach((json_t *)entry, key, v)
	{
		onyx_json_path_key(p, sizeof(p), path, key);
		if ((r = find_rule(key)) != NULL) {
			check_value(c, p, r, v);
			check_reserved(c, p, key, v);
			if (type != 0 && (r->allow & type) == 0)
				problem(c, p, "not allowed on %s task",
				    a_type(type));
		} else if (strncmp(key, "onyx/", 5) == 0 ||
		    strncmp(key, "artemis/", 8) == 0)
			unknown_key(c, p, key);
		/* other namespaces belong to the user and pass through */
	}
	check_missing(c, path, entry, type);
	add_task(c, entry, index);
}

static void
read_catalog(struct ctx *c)
{
	json_t *cat = json_object_get(c->doc, "catalog"), *entry;
	char p[PATHLEN], d[64];
	const char *name;
	size_t i;

	if (cat == NULL) {
		problem(c, "catalog", "missing (required)");
		return;
	}
	if (!json_is_array(cat)) {
		problem(c, "catalog",
		    "must be an array of task entries, not %s",
		    onyx_json_describe(cat, d, sizeof(d)));
		return;
	}
	c->catalog_ok = true;
	if (json_array_size(cat) == 0)
		return;
	c->tasks = calloc(json_array_size(cat), sizeof(*c->tasks));
	if (c->tasks == NULL) {
		c->oom = true;
		return;
	}
	json_array_foreach(cat, i, entry)
	{
		onyx_json_path_index(p, sizeof(p), "catalog", i);
		if (!json_is_object(entry))
			problem(c, p,
			    "must be a JSON object (a task entry), not %s",
			    onyx_json_describe(entry, d, sizeof(d)));
		else
			check_entry(c, p, entry, i);
		name = json_string_value(json_object_get(entry, "onyx/name"));
		if (name == NULL || !onyx_plan_name_valid(name))
			c->catalog_ok = false;
	}
	index_tasks(c);
}

/* The workflow */

static void
add_edge(struct ctx *c, const char *from, const char *to, const char *path,
    const char *from_path, const char *to_path)
{
	struct edge *e;

	if (strcmp(from, to) == 0) {
		problem(c, path, "edge from '%s' to itself", from);
		c->workflow_ok = false;
		return;
	}
	if (c->nedges == c->capedges) {
		size_t cap = c->capedges ? c->capedges * 2 : 16;

		if ((e = reallocarray(c->edges, cap, sizeof(*e))) == NULL) {
			c->oom = true;
			return;
		}
		c->edges = e;
		c->capedges = cap;
	}
	e = &c->edges[c->nedges];
	memset(e, 0, sizeof(*e));
	e->from = from;
	e->to = to;
	e->seq = c->nedges;
	e->path = strdup(path);
	e->from_path = strdup(from_path);
	e->to_path = strdup(to_path);
	c->nedges++;
	if (e->path == NULL || e->from_path == NULL || e->to_path == NULL)
		c->oom = true;
}

static void
read_edges(struct ctx *c, const json_t *w)
{
	char p[PATHLEN], p0[PATHLEN], p1[PATHLEN], d[64];
	const json_t *e, *a, *b;
	size_t i;

	json_array_foreach(w, i, e)
	{
		onyx_json_path_index(p, sizeof(p), "workflow", i);
		if (!json_is_array(e) || json_array_size(e) != 2) {
			problem(c, p,
			    "an edge must be an array of two task names, not %s",
			    onyx_json_describe(e, d, sizeof(d)));
			c->workflow_ok = false;
			continue;
		}
		a = json_array_get(e, 0);
		b = json_array_get(e, 1);
		onyx_json_path_index(p0, sizeof(p0), p, 0);
		onyx_json_path_index(p1, sizeof(p1), p, 1);
		if (!json_is_string(a))
			problem(c, p0, "must be a task name (a string), not %s",
			    onyx_json_describe(a, d, sizeof(d)));
		if (!json_is_string(b))
			problem(c, p1, "must be a task name (a string), not %s",
			    onyx_json_describe(b, d, sizeof(d)));
		if (json_is_string(a) && json_is_string(b))
			add_edge(c, json_string_value(a), json_string_value(b),
			    p, p0, p1);
		else
			c->workflow_ok = false;
	}
}

/*
 * read_tree: the children of parent (NULL at the top) in node w, written at
 * path. A key is a task; its value is its one child's name or an object of
 * its children, so leaves are always string values.
 */
static void
read_tree(struct ctx *c, const char *parent, const char *parent_path,
    const json_t *w, const char *path)
{
	char p[PATHLEN], d[64];
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)w, key, v)
	{
		onyx_json_path_key(p, sizeof(p), path, key);
		if (parent != NULL)
			add_edge(c, parent, key, p, parent_path, p);
		if (json_is_string(v))
			add_edge(c, key, json_string_value(v), p, p, p);
		else if (json_is_object(v) && json_object_size(v) > 0)
			read_tree(c, key, p, v, p);
		else {
			problem(c, p,
			    "must name a child task (a string) or hold an object of children, not %s",
			    onyx_json_describe(v, d, sizeof(d)));
			c->workflow_ok = false;
		}
	}
}

static void
read_workflow(struct ctx *c)
{
	json_t *w = json_object_get(c->doc, "workflow");
	char d[64];

	if (w == NULL) {
		problem(c, "workflow", "missing (required)");
		return;
	}
	if (!json_is_array(w) && !json_is_object(w)) {
		problem(c, "workflow",
		    "must be an edge list (an array) or a tree (an object), not %s",
		    onyx_json_describe(w, d, sizeof(d)));
		return;
	}
	if ((json_is_array(w) && json_array_size(w) == 0) ||
	    (json_is_object(w) && json_object_size(w) == 0)) {
		problem(c, "workflow",
		    "empty; a job needs at least an input and an output task");
		return;
	}
	c->workflow_ok = true;
	if (json_is_array(w))
		read_edges(c, w);
	else
		read_tree(c, NULL, NULL, w, "workflow");
}

/* The graph */

static int
cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static int
cmp_node_name(const void *key, const void *n)
{
	return strcmp(key, ((const struct node *)n)->name);
}

static int
cmp_edge_ends(const void *x, const void *y)
{
	const struct edge *e = x, *f = y;

	if (e->a != f->a)
		return e->a < f->a ? -1 : 1;
	if (e->b != f->b)
		return e->b < f->b ? -1 : 1;
	return e->seq < f->seq ? -1 : e->seq > f->seq;
}

static struct task *
find_task(struct ctx *c, const char *name)
{
	struct task key = {.name = name}, *kp = &key, **hit;

	if (c->nbyname == 0)
		return NULL;
	hit = bsearch(
	    &kp, c->byname, c->nbyname, sizeof(*c->byname), cmp_name_only);
	return hit != NULL ? *hit : NULL;
}

/* note_name: the node of name in *idx; edges come in document order, so
 * the first path noted is where the name is first written. */
static void
note_name(struct ctx *c, size_t *idx, const char *name, const char *path)
{
	struct node *n;

	n = bsearch(name, c->nodes, c->nnodes, sizeof(*n), cmp_node_name);
	*idx = (size_t)(n - c->nodes);
	if (n->path == NULL && (n->path = strdup(path)) == NULL)
		c->oom = true;
}

/* make_nodes: one node per name in the workflow, sorted by name. */
static int
make_nodes(struct ctx *c)
{
	const char **names;
	size_t i, n = 0;

	if ((names = calloc(c->nedges * 2, sizeof(*names))) == NULL)
		return -1;
	for (i = 0; i < c->nedges; i++) {
		names[n++] = c->edges[i].from;
		names[n++] = c->edges[i].to;
	}
	qsort(names, n, sizeof(*names), cmp_str);
	if ((c->nodes = calloc(n, sizeof(*c->nodes))) == NULL) {
		free(names);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (c->nnodes == 0 ||
		    strcmp(c->nodes[c->nnodes - 1].name, names[i]) != 0)
			c->nodes[c->nnodes++].name = names[i];
	free(names);
	for (i = 0; i < c->nnodes; i++)
		if ((c->nodes[i].task = find_task(c, c->nodes[i].name)) != NULL)
			c->nodes[i].task->used = true;
	return 0;
}

/* dedupe: edges sorted by ends; the first one written of each pair stays. */
static void
dedupe(struct ctx *c)
{
	size_t i, n = 0;

	qsort(c->edges, c->nedges, sizeof(*c->edges), cmp_edge_ends);
	for (i = 0; i < c->nedges; i++) {
		struct edge *e = &c->edges[i];

		if (n > 0 && c->edges[n - 1].a == e->a &&
		    c->edges[n - 1].b == e->b) {
			free(e->path);
			free(e->from_path);
			free(e->to_path);
			continue;
		}
		c->edges[n++] = *e;
	}
	c->nedges = n;
}

static int
build_graph(struct ctx *c)
{
	size_t i;

	if (make_nodes(c) != 0)
		return -1;
	for (i = 0; i < c->nedges; i++) {
		struct edge *e = &c->edges[i];

		note_name(c, &e->a, e->from, e->from_path);
		note_name(c, &e->b, e->to, e->to_path);
	}
	dedupe(c);
	for (i = 0; i < c->nedges; i++) {
		c->nodes[c->edges[i].a].nout++;
		c->nodes[c->edges[i].b].nin++;
	}
	return 0;
}

static void
check_names(struct ctx *c)
{
	size_t i;
	char p[PATHLEN];

	if (c->catalog_ok)
		for (i = 0; i < c->nnodes; i++)
			if (c->nodes[i].task == NULL)
				problem(c, c->nodes[i].path,
				    "task '%s' has no catalog entry",
				    c->nodes[i].name);
	if (!c->workflow_ok)
		return;
	for (i = 0; i < c->ntasks; i++)
		if (!c->tasks[i].used && !c->tasks[i].dup &&
		    onyx_plan_name_valid(c->tasks[i].name))
			problem(c,
			    onyx_json_path_index(
			        p, sizeof(p), "catalog", c->tasks[i].index),
			    "task '%s' is not in the workflow",
			    c->tasks[i].name);
}

/*
 * edge_offsets: while edges are sorted by their first end, node v's edges
 * are edges[first[v] .. first[v + 1]). Returns a new array or NULL.
 */
static size_t *
edge_offsets(struct ctx *c)
{
	size_t *first, i;

	if ((first = calloc(c->nnodes + 1, sizeof(*first))) == NULL)
		return NULL;
	for (i = 0; i < c->nedges; i++)
		first[c->edges[i].a + 1]++;
	for (i = 0; i < c->nnodes; i++)
		first[i + 1] += first[i];
	return first;
}

/*
 * report_cycle: stack[from..top] is a cycle; name it from its least name.
 * A long one is shortened, its length given, so the message stays a line.
 */
static void
report_cycle(struct ctx *c, const size_t *stack, size_t from, size_t top)
{
	struct onyx_buf b = {0};
	size_t i, k, n = top - from + 1, start = 0;
	char more[64] = "";
	int bad = 0;

	for (i = 1; i < n; i++)
		if (stack[from + i] < stack[from + start])
			start = i;
	for (k = 0; k <= n && !bad; k++) {
		const char *name = c->nodes[stack[from + (start + k) % n]].name;

		if (n > 16 && k == 12)
			bad |= onyx_buf_append(&b, " -> ...", 7);
		if (n > 16 && k >= 12 && k < n - 2)
			continue;
		if (k > 0)
			bad |= onyx_buf_append(&b, " -> ", 4);
		bad |= onyx_buf_append(&b, name, strlen(name));
	}
	if (n > 16)
		snprintf(more, sizeof(more), " (%zu tasks)", n);
	if (bad)
		c->oom = true;
	else
		problem(c, "workflow", "cycle %.*s%s", (int)b.len, b.p, more);
	onyx_buf_free(&b);
}

/* Cycles named one by one; the rest are counted, so the check stays linear. */
#define CYCLES_NAMED 10

/*
 * check_cycles: depth-first, without recursion so that a long chain cannot
 * exhaust the stack; every edge back to a node on the path closes a cycle.
 * The first CYCLES_NAMED are named (each costs its length), the others
 * counted in one last problem: linear in the size of the workflow.
 */
static bool
check_cycles(struct ctx *c)
{
	size_t *stack, *next, *pos, *first, top, s, ncycles = 0;
	unsigned char *color;
	bool cyclic = false;

	stack = calloc(c->nnodes, sizeof(*stack));
	next = calloc(c->nnodes, sizeof(*next));
	pos = calloc(c->nnodes, sizeof(*pos));
	first = edge_offsets(c);
	color = calloc(c->nnodes, 1);
	if (stack == NULL || next == NULL || pos == NULL || first == NULL ||
	    color == NULL) {
		c->oom = true;
		goto out;
	}
	for (s = 0; s < c->nnodes; s++) {
		if (color[s] != 0)
			continue;
		top = 0;
		stack[0] = s;
		pos[s] = 0;
		color[s] = 1;
		for (;;) {
			size_t v = stack[top], w;

			if (first[v] + next[v] == first[v + 1]) {
				color[v] = 2;
				if (top-- == 0)
					break;
				continue;
			}
			w = c->edges[first[v] + next[v]++].b;
			if (color[w] == 1) {
				if (ncycles++ < CYCLES_NAMED)
					report_cycle(c, stack, pos[w], top);
				cyclic = true;
			} else if (color[w] == 0) {
				color[w] = 1;
				stack[++top] = w;
				pos[w] = top;
			}
		}
	}
	if (ncycles > CYCLES_NAMED)
		problem(c, "workflow",
		    "%zu more edges close a cycle (the first %d are named)",
		    ncycles - CYCLES_NAMED, CYCLES_NAMED);
out:
	free(stack);
	free(next);
	free(pos);
	free(first);
	free(color);
	return cyclic;
}

static unsigned
node_type(const struct node *n)
{
	return n->task != NULL ? n->task->type : 0;
}

/* check_roles: inputs are the roots, outputs the leaves, functions between. */
static void
check_roles(struct ctx *c)
{
	size_t i;

	for (i = 0; i < c->nedges; i++) {
		const struct edge *e = &c->edges[i];

		if (node_type(&c->nodes[e->a]) == T_OUTPUT)
			problem(c, e->path,
			    "output task '%s' cannot have a child ('%s' -> '%s')",
			    e->from, e->from, e->to);
		if (node_type(&c->nodes[e->b]) == T_INPUT)
			problem(c, e->path,
			    "input task '%s' cannot have a parent ('%s' -> '%s')",
			    e->to, e->from, e->to);
	}
	for (i = 0; i < c->nnodes; i++) {
		const struct node *n = &c->nodes[i];
		unsigned t = node_type(n);

		if (n->nin == 0 && (t == T_FUNCTION || t == T_OUTPUT))
			problem(c, n->path, "%s task '%s' has no parent",
			    type_name(t), n->name);
		if (n->nout == 0 && (t == T_FUNCTION || t == T_INPUT))
			problem(c, n->path, "%s task '%s' has no child",
			    type_name(t), n->name);
	}
}

/*
 * check_state: a task with keyed state (lib/state.h) has one owner per
 * bucket: it is grouped, or sequential (one bucket), and reads exactly
 * one edge (two edges would give a bucket two consumers).
 */
static void
check_state(struct ctx *c)
{
	char e[PATHLEN], p[PATHLEN];
	size_t i;

	for (i = 0; i < c->nnodes; i++) {
		const struct node *n = &c->nodes[i];
		const json_t *en;
		const char *cons, *key;
		if (n->task == NULL || n->task->type != T_FUNCTION)
			continue;
		en = n->task->entry;
		if (onyx_state_mode_of_catalog(en) == ONYX_STATE_NONE)
			continue;
		key = json_object_get(en, "onyx/state") != NULL ? "onyx/state"
		                                                : "onyx/window";
		onyx_json_path_index(e, sizeof(e), "catalog", n->task->index);
		onyx_json_path_key(p, sizeof(p), e, key);
		cons =
		    json_string_value(json_object_get(en, "onyx/consumption"));
		if (json_object_get(en, "onyx/group-by-key") == NULL &&
		    json_object_get(en, "onyx/group-by-fn") == NULL &&
		    (cons == NULL || strcmp(cons, "sequential") != 0))
			problem(c, p,
			    "task '%s' keeps keyed state: it needs \"onyx/group-by-key\", \"onyx/group-by-fn\" or \"onyx/consumption\": \"sequential\"",
			    n->name);
		if (n->nin > 1)
			problem(c, p,
			    "task '%s' keeps keyed state: it must have exactly one parent, not %zu (a bucket would have two owners)",
			    n->name, n->nin);
	}
}

/* The plan */

/* phases: a node's phase is its longest distance from a root (Kahn's order). */
static int
phases(struct ctx *c)
{
	size_t *queue, *indeg, *first, head = 0, tail = 0, i;

	queue = calloc(c->nnodes, sizeof(*queue));
	indeg = calloc(c->nnodes, sizeof(*indeg));
	first = edge_offsets(c);
	if (queue == NULL || indeg == NULL || first == NULL) {
		free(queue);
		free(indeg);
		free(first);
		return -1;
	}
	for (i = 0; i < c->nnodes; i++)
		if ((indeg[i] = c->nodes[i].nin) == 0)
			queue[tail++] = i;
	while (head < tail) {
		size_t v = queue[head++];

		for (i = first[v]; i < first[v + 1]; i++) {
			struct node *w = &c->nodes[c->edges[i].b];

			if (w->phase < c->nodes[v].phase + 1)
				w->phase = c->nodes[v].phase + 1;
			if (--indeg[c->edges[i].b] == 0)
				queue[tail++] = c->edges[i].b;
		}
	}
	for (i = 0; i < c->nedges; i++)
		c->edges[i].phase = c->nodes[c->edges[i].a].phase;
	free(queue);
	free(indeg);
	free(first);
	return 0;
}

static int
cmp_edge_canon(const void *x, const void *y)
{
	const struct edge *e = x, *f = y;
	int r;

	if (e->phase != f->phase)
		return e->phase < f->phase ? -1 : 1;
	if ((r = strcmp(e->from, f->from)) != 0)
		return r;
	return strcmp(e->to, f->to);
}

static int
cmp_node_canon(const void *x, const void *y)
{
	const struct node *n = *(const struct node *const *)x;
	const struct node *m = *(const struct node *const *)y;

	if (n->phase != m->phase)
		return n->phase < m->phase ? -1 : 1;
	return strcmp(n->name, m->name);
}

static int
cmp_edge_queue(const void *x, const void *y)
{
	const struct edge *e = *(const struct edge *const *)x;
	const struct edge *f = *(const struct edge *const *)y;

	return strcmp(e->queue, f->queue);
}

static int
cmp_edge_in(const void *x, const void *y)
{
	const struct edge *e = *(const struct edge *const *)x;
	const struct edge *f = *(const struct edge *const *)y;

	if (e->b != f->b)
		return e->b < f->b ? -1 : 1;
	return cmp_edge_queue(x, y);
}

static int
cmp_edge_out(const void *x, const void *y)
{
	const struct edge *e = *(const struct edge *const *)x;
	const struct edge *f = *(const struct edge *const *)y;

	if (e->a != f->a)
		return e->a < f->a ? -1 : 1;
	return cmp_edge_queue(x, y);
}

static int
cmp_entry_name(const void *x, const void *y)
{
	const json_t *e = *(const json_t *const *)x;
	const json_t *f = *(const json_t *const *)y;

	return strcmp(json_string_value(json_object_get(e, "onyx/name")),
	    json_string_value(json_object_get(f, "onyx/name")));
}

static json_t *
edge_list(struct ctx *c)
{
	json_t *w = json_array();
	size_t i;

	for (i = 0; w != NULL && i < c->nedges; i++)
		if (json_array_append_new(w,
		        json_pack("[ss]", c->edges[i].from, c->edges[i].to)) !=
		    0) {
			json_decref(w);
			w = NULL;
		}
	return w;
}

/* sorted_catalog: the catalog by task name (unique names by now). */
static json_t *
sorted_catalog(struct ctx *c)
{
	json_t *cat = json_object_get(c->doc, "catalog"), *out, **v;
	size_t i, n = json_array_size(cat);

	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		v[i] = json_array_get(cat, i);
	qsort(v, n, sizeof(*v), cmp_entry_name);
	out = json_array();
	for (i = 0; out != NULL && i < n; i++)
		if (json_array_append(out, v[i]) != 0) {
			json_decref(out);
			out = NULL;
		}
	free(v);
	return out;
}

/*
 * job_id: the explicit id, or "j-" and 16 hex digits of the SHA-256 of the
 * canonical document: {"catalog": the entries sorted by name, "workflow":
 * the normalised edge list}, keys sorted, compact. So both workflow forms of
 * one graph, in any order, give one job and byte for byte one plan.
 */
static int
job_id(struct ctx *c)
{
	json_t *id = json_object_get(c->doc, "id"), *canon;
	char hex[SHA256_DIGEST_STRING_LENGTH], *s;

	if (id != NULL) {
		snprintf(c->id, sizeof(c->id), "%s", json_string_value(id));
		return 0;
	}
	/* "o" steals both references, even when packing fails */
	canon = json_pack("{s:o,s:o}", "catalog", sorted_catalog(c), "workflow",
	    edge_list(c));
	s = canon != NULL ? json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS)
	                  : NULL;
	json_decref(canon);
	if (s == NULL)
		return -1;
	SHA256Data((const uint8_t *)s, strlen(s), hex);
	free(s);
	snprintf(c->id, sizeof(c->id), "j-%.16s", hex);
	return 0;
}

/* make_queues: name every edge's queue; index the edges by queue and end. */
static int
make_queues(struct ctx *c)
{
	size_t i, n = c->nedges;

	for (i = 0; i < n; i++) {
		struct edge *e = &c->edges[i];
		char q[ONYX_NAMES_LEN];

		/* injective (lib/names): no two edges, and no task's own
		 * queue, can share a name, and no user queue is one */
		if (onyx_names_edge(q, sizeof(q), c->id, e->from, e->to) ==
		        NULL ||
		    (e->queue = strdup(q)) == NULL)
			return -1;
	}
	c->byq = calloc(n, sizeof(*c->byq));
	c->in = calloc(n, sizeof(*c->in));
	c->out = calloc(n, sizeof(*c->out));
	if (c->byq == NULL || c->in == NULL || c->out == NULL)
		return -1;
	for (i = 0; i < n; i++)
		c->byq[i] = c->in[i] = c->out[i] = &c->edges[i];
	qsort(c->byq, n, sizeof(*c->byq), cmp_edge_queue);
	qsort(c->in, n, sizeof(*c->in), cmp_edge_in);
	qsort(c->out, n, sizeof(*c->out), cmp_edge_out);
	/* backwards, so each node keeps the first of its run */
	for (i = n; i-- > 0;) {
		c->nodes[c->in[i]->b].in = i;
		c->nodes[c->out[i]->a].out = i;
	}
	return 0;
}

static json_t *
queue_list(struct edge *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, json_string(v[i]->queue)) != 0) {
			json_decref(a);
			a = NULL;
		}
	return a;
}

static json_t *
user_queue(const struct node *n)
{
	return json_pack("[s]",
	    json_string_value(
	        json_object_get(n->task->entry, "artemis/queue-name")));
}

static json_t *
task_plan(struct ctx *c, const struct node *n)
{
	unsigned t = n->task->type;
	json_t *in, *out, *v;
	char *id, dlq[ONYX_NAMES_LEN];

	in = t == T_INPUT ? user_queue(n) : queue_list(c->in + n->in, n->nin);
	out = t == T_OUTPUT ? user_queue(n)
	                    : queue_list(c->out + n->out, n->nout);
	if (asprintf(&id, "%s.%s", c->id, n->name) < 0)
		id = NULL;
	/* "o" steals in, out and the copy, even when packing fails */
	v = json_pack("{s:s,s:s?,s:i,s:s,s:o,s:o,s:s?,s:o}", "name", n->name,
	    "id", id, "phase", n->phase, "type", type_name(t), "ingress", in,
	    "egress", out, "dead-letter",
	    onyx_names_dlq(dlq, sizeof(dlq), c->id, n->name), "catalog",
	    json_deep_copy(n->task->entry));
	if (dlq[0] == '\0') {
		json_decref(v);
		v = NULL;
	}
	if (id == NULL) {
		json_decref(v);
		v = NULL;
	}
	free(id);
	return v;
}

static json_t *
task_list(struct ctx *c)
{
	const struct node **order;
	json_t *tasks;
	size_t i;

	if ((order = calloc(c->nnodes, sizeof(*order))) == NULL)
		return NULL;
	for (i = 0; i < c->nnodes; i++)
		order[i] = &c->nodes[i];
	qsort(order, c->nnodes, sizeof(*order), cmp_node_canon);
	tasks = json_array();
	for (i = 0; tasks != NULL && i < c->nnodes; i++)
		if (json_array_append_new(tasks, task_plan(c, order[i])) != 0) {
			json_decref(tasks);
			tasks = NULL;
		}
	free(order);
	return tasks;
}

/*
 * make_plan: the plan of a valid graph, or NULL when out of memory (c->oom
 * set). Queue names cannot clash (lib/names), so nothing is checked here.
 */
static json_t *
make_plan(struct ctx *c)
{
	json_t *plan = NULL;

	if (phases(c) != 0)
		goto oom;
	qsort(c->edges, c->nedges, sizeof(*c->edges), cmp_edge_canon);
	if (job_id(c) != 0 || make_queues(c) != 0)
		goto oom;
	plan = json_pack("{s:s,s:o,s:o,s:o}", "job", c->id, "tasks",
	    task_list(c), "queues", queue_list(c->byq, c->nedges), "workflow",
	    edge_list(c));
	if (plan != NULL)
		return plan;
oom:
	c->oom = true;
	return NULL;
}

/* The document */

/* problem_at: a problem at a line and column of the text. */
static void
problem_at(struct ctx *c, int line, int col, const char *msg)
{
	size_t n = c->probs->n;

	problem(c, "", "%s", msg);
	if (c->probs->n > n) {
		c->probs->v[n].line = line;
		c->probs->v[n].column = col;
	}
}

/*
 * parse: the text as JSON. A key given twice in one object is refused too:
 * the parser would keep the last silently, and the typo'd entry that holds
 * both is the one the user is editing.
 */
static int
parse(struct ctx *c, const char *text, size_t len)
{
	json_error_t je;
	json_t *strict;
	char err[512];
	int line, col, off = -1;

	if (onyx_json_parse_doc(text, len, &c->doc, err, sizeof(err)) ==
	    ONYX_OK) {
		strict = json_loadb(
		    text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
		if (strict != NULL) {
			json_decref(strict);
			return 0;
		}
		problem_at(c, je.line, je.column, je.text);
		return -1;
	}
	if (sscanf(err, "line %d, column %d: %n", &line, &col, &off) < 2 ||
	    off < 0)
		problem(c, "", "not JSON: %s", err);
	else
		problem_at(c, line, col, err + off);
	return -1;
}

/* check_top: the document's own keys; returns -1 when it is no object. */
static int
check_top(struct ctx *c)
{
	char p[PATHLEN], d[64];
	const char *key;
	json_t *v, *id;

	if (!json_is_object(c->doc)) {
		problem(c, "", "a job document must be a JSON object, not %s",
		    onyx_json_describe(c->doc, d, sizeof(d)));
		return -1;
	}
	json_object_foreach(c->doc, key, v)
	{
		if (strcmp(key, "workflow") != 0 &&
		    strcmp(key, "catalog") != 0 && strcmp(key, "id") != 0)
			problem(c, onyx_json_path_key(p, sizeof(p), "", key),
			    "unknown key; a job document holds \"workflow\", \"catalog\" and \"id\"");
	}
	id = json_object_get(c->doc, "id");
	if (id != NULL && !json_is_string(id))
		problem(c, "id", "must be a string, not %s",
		    onyx_json_describe(id, d, sizeof(d)));
	else if (id != NULL && !onyx_plan_name_valid(json_string_value(id)))
		problem(c, "id",
		    "must be 1 to 64 characters out of A-Z a-z 0-9 . _ -, not %s",
		    onyx_json_describe(id, d, sizeof(d)));
	return 0;
}

static void
ctx_free(struct ctx *c)
{
	size_t i;

	for (i = 0; i < c->nedges; i++) {
		free(c->edges[i].path);
		free(c->edges[i].from_path);
		free(c->edges[i].to_path);
		free(c->edges[i].queue);
	}
	for (i = 0; i < c->nnodes; i++)
		free(c->nodes[i].path);
	free(c->edges);
	free(c->nodes);
	free(c->tasks);
	free(c->byname);
	free(c->byq);
	free(c->in);
	free(c->out);
	json_decref(c->doc);
}

/*
 * Checks run in the order a reader meets the document, and each later one
 * only where the earlier ones leave it meaningful, so that one mistake
 * gives one message and not a cascade.
 */
int
onyx_plan_build(const char *text, size_t len, json_t **plan,
    struct onyx_plan_problems *probs)
{
	struct ctx c;
	bool cyclic;
	int st;

	*plan = NULL;
	memset(&c, 0, sizeof(c));
	c.probs = probs;
	if (parse(&c, text, len) == 0 && check_top(&c) == 0) {
		read_workflow(&c);
		read_catalog(&c);
		if (!c.oom && c.nedges > 0) {
			if (build_graph(&c) != 0)
				c.oom = true;
			else {
				check_names(&c);
				cyclic = check_cycles(&c);
				if (c.workflow_ok) {
					check_roles(&c);
					check_state(&c);
				}
				if (!cyclic && probs->n == 0 && !c.oom)
					*plan = make_plan(&c);
			}
		}
	}
	if (c.oom)
		st = ONYX_ERR;
	else if (probs->n > 0)
		st = ONYX_EDATA;
	else
		st = *plan != NULL ? ONYX_OK : ONYX_ERR;
	if (st != ONYX_OK) {
		json_decref(*plan);
		*plan = NULL;
	}
	ctx_free(&c);
	return st;
}
