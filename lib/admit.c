/* lib/admit.c: a peer's admission policy: the exec allow-list, program lookup by real path, the plan checked again. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>

#include "admit.h"
#include "errstr.h"
#include "buf.h"
#include "plan.h"
#include "status.h"

struct onyx_admit {
	char **v; /* entries, real paths; a folder's ends in '/' */
	size_t n, cap;
};

/* add: one entry, resolved when it exists; -1 out of memory. */
static int
add(struct onyx_admit *a, const char *entry, size_t len)
{
	char *lit, real[PATH_MAX], *s;
	bool dir = entry[len - 1] == '/';

	if ((lit = strndup(entry, len)) == NULL)
		return -1;
	if (realpath(lit, real) != NULL) {
		/* a folder keeps its '/', so "/opt/a/" never allows "/opt/ab" */
		if (asprintf(&s, "%s%s", strcmp(real, "/") == 0 ? "" : real,
		        dir ? "/" : "") < 0)
			s = NULL;
		free(lit);
	} else
		s = lit;
	if (s == NULL)
		return -1;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 8;
		char **p = reallocarray(a->v, cap, sizeof(*p));
		if (p == NULL) {
			free(s);
			return -1;
		}
		a->v = p;
		a->cap = cap;
	}
	a->v[a->n++] = s;
	return 0;
}

int
onyx_admit_parse(const char *text, size_t len, const char *source,
    struct onyx_admit **out, char *err, size_t errlen)
{
	struct onyx_admit *a;
	const char *p = text, *end = text + len, *nl, *b, *e;
	int line = 0;

	*out = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return ONYX_ERR;
	}
	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', end - p)) == NULL)
			nl = end;
		line++;
		for (b = p; b < nl && (*b == ' ' || *b == '\t'); b++)
			;
		for (e = nl;
		     e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r');
		     e--)
			;
		if (b == e || *b == '#')
			continue;
		if (*b != '/' || memchr(b, '\0', e - b) != NULL) {
			snprintf(err, errlen,
			    "%s:%d: '%.*s' is not an absolute path (an entry is a program such as /usr/bin/jq, or a folder ending in '/')",
			    source, line, (int)(e - b), b);
			onyx_admit_free(a);
			return ONYX_ECONFIG;
		}
		if (add(a, b, e - b) != 0) {
			snprintf(err, errlen, "out of memory");
			onyx_admit_free(a);
			return ONYX_ERR;
		}
	}
	*out = a;
	return ONYX_OK;
}

int
onyx_admit_load(
    const char *path, struct onyx_admit **out, char *err, size_t errlen)
{
	struct onyx_buf b = {0};
	char chunk[4096];
	FILE *f;
	size_t n;
	int st;

	*out = NULL;
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "cannot read the exec allow-list %s: %s",
		    path, onyx_strerror(errno));
		return ONYX_ECONFIG;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (onyx_buf_append(&b, chunk, n) != 0) {
			fclose(f);
			onyx_buf_free(&b);
			snprintf(err, errlen, "out of memory");
			return ONYX_ERR;
		}
	if (ferror(f)) {
		snprintf(err, errlen, "cannot read the exec allow-list %s: %s",
		    path, onyx_strerror(errno));
		fclose(f);
		onyx_buf_free(&b);
		return ONYX_ECONFIG;
	}
	fclose(f);
	st = onyx_admit_parse(b.p, b.len, path, out, err, errlen);
	onyx_buf_free(&b);
	return st;
}

void
onyx_admit_free(struct onyx_admit *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	free(a);
}

bool
onyx_admit_match(const struct onyx_admit *a, const char *real)
{
	size_t i, n;

	if (a == NULL || real == NULL || real[0] != '/')
		return false;
	for (i = 0; i < a->n; i++) {
		n = strlen(a->v[i]);
		if (a->v[i][n - 1] == '/'
		        ? strncmp(real, a->v[i], n) == 0 && real[n] != '\0'
		        : strcmp(real, a->v[i]) == 0)
			return true;
	}
	return false;
}

/* executable: whether path is a regular file this process may execute. */
static bool
executable(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    access(path, X_OK) == 0;
}

/*
 * lookup: the first PATH folder holding an executable name, as execvp(3)
 * finds it, written to buf; empty PATH entries (the current folder) are
 * skipped. Returns 0, or -1 when there is none.
 */
static int
lookup(const char *name, const char *pathenv, char *buf, size_t len)
{
	const char *p = pathenv, *colon;
	size_t n;

	for (; *p != '\0'; p = *colon ? colon + 1 : colon) {
		if ((colon = strchr(p, ':')) == NULL)
			colon = p + strlen(p);
		n = colon - p;
		if (n == 0)
			continue;
		if ((size_t)snprintf(buf, len, "%.*s/%s", (int)n, p, name) >=
		    len)
			continue;
		if (executable(buf))
			return 0;
	}
	return -1;
}

int
onyx_admit_program(const struct onyx_admit *a, const char *prog,
    const char *pathenv, char *exe, size_t exelen, char *err, size_t errlen)
{
	char found[PATH_MAX], real[PATH_MAX];

	exe[0] = '\0';
	if (a == NULL) {
		snprintf(err, errlen,
		    "program '%s' not allowed: this peer allows no programs (onyx/exec); its operator lists the allowed ones in a file given as onyx-peer --exec-allow FILE or ONYX_EXEC_ALLOW",
		    prog);
		return ONYX_EUSAGE;
	}
	if (strchr(prog, '/') == NULL) {
		if (lookup(prog, pathenv ? pathenv : "/bin:/usr/bin", found,
		        sizeof(found)) != 0) {
			snprintf(err, errlen,
			    "program '%s' not found on the PATH of this peer",
			    prog);
			return ONYX_EUSAGE;
		}
	} else if (prog[0] != '/') {
		snprintf(err, errlen,
		    "program '%s' not allowed: a program is a name looked up on the PATH or an absolute path",
		    prog);
		return ONYX_EUSAGE;
	} else
		strlcpy(found, prog, sizeof(found));
	errno = 0;
	if (realpath(found, real) == NULL || !executable(real)) {
		snprintf(err, errlen, "program '%s' cannot be run: %s", prog,
		    errno ? onyx_strerror(errno) : "not an executable file");
		return ONYX_EUSAGE;
	}
	if (!onyx_admit_match(a, real)) {
		snprintf(err, errlen,
		    "program '%s' (%s) is not in the exec allow-list of this peer",
		    prog, real);
		return ONYX_EUSAGE;
	}
	if (strlcpy(exe, real, exelen) >= exelen) {
		exe[0] = '\0';
		snprintf(
		    err, errlen, "program '%s': its path is too long", prog);
		return ONYX_EUSAGE;
	}
	return ONYX_OK;
}

/* The plan's document: its id, workflow and the tasks' catalog entries. */
static json_t *
document(const json_t *plan, const char *job)
{
	json_t *doc, *cat, *t;
	size_t i;

	if ((cat = json_array()) == NULL)
		return NULL;
	json_array_foreach(json_object_get(plan, "tasks"), i, t)
	{
		json_t *e = json_object_get(t, "catalog");
		if (json_array_append(cat, e ? e : json_null()) != 0) {
			json_decref(cat);
			return NULL;
		}
	}
	doc = json_pack("{s:s,s:O?,s:o}", "id", job, "workflow",
	    json_object_get(plan, "workflow"), "catalog", cat);
	return doc;
}

/* differ: the path of the first place a and b differ into buf, or 0. */
static int
differ(
    const json_t *a, const json_t *b, const char *path, char *buf, size_t len)
{
	char p[512];
	const char *key;
	json_t *v;
	size_t i;

	if (json_equal(a, b))
		return 0;
	if (json_is_object(a) && json_is_object(b)) {
		json_object_foreach((json_t *)a, key, v)
		{
			snprintf(p, sizeof(p), "%s%s%s", path, *path ? "." : "",
			    key);
			if (differ(v, json_object_get(b, key), p, buf, len))
				return 1;
		}
		json_object_foreach((json_t *)b, key, v)
		{
			snprintf(p, sizeof(p), "%s%s%s", path, *path ? "." : "",
			    key);
			if (json_object_get(a, key) == NULL) {
				strlcpy(buf, p, len);
				return 1;
			}
		}
	}
	if (json_is_array(a) && json_is_array(b) &&
	    json_array_size(a) == json_array_size(b)) {
		json_array_foreach(a, i, v)
		{
			snprintf(p, sizeof(p), "%s[%zu]", path, i);
			if (differ(v, json_array_get(b, i), p, buf, len))
				return 1;
		}
	}
	strlcpy(buf, *path ? path : "the whole plan", len);
	return 1;
}

int
onyx_admit_plan(const json_t *plan, const char *job, char *err, size_t errlen)
{
	struct onyx_plan_problems probs = {0};
	json_t *doc, *again = NULL;
	const char *id = json_string_value(json_object_get(plan, "job"));
	char *text, where[512], path[600];
	int st;

	if (!json_is_object(plan) || id == NULL || strcmp(id, job) != 0) {
		snprintf(err, errlen,
		    "the plan of job %s is refused: its \"job\" is not %s", job,
		    job);
		return ONYX_EDATA;
	}
	if ((doc = document(plan, job)) == NULL ||
	    (text = json_dumps(doc, JSON_COMPACT)) == NULL) {
		json_decref(doc);
		snprintf(err, errlen, "out of memory");
		return ONYX_ERR;
	}
	json_decref(doc);
	st = onyx_plan_build(text, strlen(text), &again, &probs);
	free(text);
	if (st == ONYX_EDATA) {
		const struct onyx_plan_problem *p = &probs.v[0];
		unsigned long i;
		int off = -1;

		/* catalog[i] of the document is the catalog of tasks[i] */
		if (sscanf(p->path, "catalog[%lu]%n", &i, &off) == 1 &&
		    off > 0) {
			snprintf(path, sizeof(path), "tasks[%lu].catalog%s", i,
			    p->path + off);
			snprintf(err, errlen,
			    "the plan of job %s is refused: %s: %s", job, path,
			    p->msg);
		} else
			snprintf(err, errlen,
			    "the plan of job %s is refused: %s%s%s", job,
			    p->path, *p->path ? ": " : "", p->msg);
	} else if (st != ONYX_OK)
		snprintf(err, errlen, "out of memory");
	else if (differ(plan, again, "", where, sizeof(where))) {
		snprintf(err, errlen,
		    "the plan of job %s is refused: %s is not what onyx-plan makes of its workflow and catalog",
		    job, where);
		st = ONYX_EDATA;
	}
	json_decref(again);
	onyx_plan_problems_free(&probs);
	return st;
}
