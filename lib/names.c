/* lib/names.c: the names of a job's own queues: one injective scheme, onyx.KIND.JOB.TASK[.TASK]. */
#include <string.h>

#include "names.h"

static const char *const kinds[] = {
    [ONYX_NAMES_EDGE] = "edge",
    [ONYX_NAMES_SEAL] = "seal",
    [ONYX_NAMES_DONE] = "done",
    [ONYX_NAMES_DLQ] = "dlq",
    [ONYX_NAMES_STATE] = "state",
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/*
 * put: append s at *at in buf (len bytes), as a word when escape is set
 * ('.' becomes '~'); false when it does not fit, or when a word is empty or
 * holds '~' (the escape would no longer be reversible).
 */
static bool
put(char *buf, size_t len, size_t *at, const char *s, bool escape)
{
	size_t n = strlen(s), i;

	if (escape && (n == 0 || strchr(s, '~') != NULL))
		return false;
	if (n >= len - *at)
		return false;
	for (i = 0; i < n; i++)
		buf[*at + i] = escape && s[i] == '.' ? '~' : s[i];
	*at += n;
	buf[*at] = '\0';
	return true;
}

/* name: onyx.KIND.JOB.A[.B] into buf; b may be NULL. */
static char *
name(char *buf, size_t len, enum onyx_names_kind k, const char *job,
    const char *a, const char *b)
{
	size_t at = 0;

	if (len == 0)
		return NULL;
	buf[0] = '\0';
	if (put(buf, len, &at, ONYX_NAMES_PREFIX, false) &&
	    put(buf, len, &at, kinds[k], false) &&
	    put(buf, len, &at, ".", false) && put(buf, len, &at, job, true) &&
	    put(buf, len, &at, ".", false) && put(buf, len, &at, a, true) &&
	    (b == NULL ||
	        (put(buf, len, &at, ".", false) &&
	            put(buf, len, &at, b, true))))
		return buf;
	buf[0] = '\0';
	return NULL;
}

char *
onyx_names_edge(
    char *buf, size_t len, const char *job, const char *from, const char *to)
{
	return name(buf, len, ONYX_NAMES_EDGE, job, from, to);
}

char *
onyx_names_seal(char *buf, size_t len, const char *job, const char *task)
{
	return name(buf, len, ONYX_NAMES_SEAL, job, task, NULL);
}

char *
onyx_names_done(char *buf, size_t len, const char *job, const char *task)
{
	return name(buf, len, ONYX_NAMES_DONE, job, task, NULL);
}

char *
onyx_names_dlq(char *buf, size_t len, const char *job, const char *task)
{
	return name(buf, len, ONYX_NAMES_DLQ, job, task, NULL);
}

char *
onyx_names_state(char *buf, size_t len, const char *job, const char *task)
{
	return name(buf, len, ONYX_NAMES_STATE, job, task, NULL);
}

bool
onyx_names_reserved(const char *queue)
{
	return strncmp(queue, ONYX_NAMES_PREFIX, strlen(ONYX_NAMES_PREFIX)) ==
	    0;
}

/* The kind of queue, and where the word after the kind starts. */
static enum onyx_names_kind
kind_of(const char *queue, const char **rest)
{
	const char *w;
	size_t k, n;

	if (!onyx_names_reserved(queue))
		return ONYX_NAMES_NONE;
	w = queue + strlen(ONYX_NAMES_PREFIX);
	for (k = 1; k < NKINDS; k++) {
		n = strlen(kinds[k]);
		if (strncmp(w, kinds[k], n) == 0 && w[n] == '.') {
			*rest = w + n + 1;
			return (enum onyx_names_kind)k;
		}
	}
	return ONYX_NAMES_NONE;
}

enum onyx_names_kind
onyx_names_kind(const char *queue)
{
	const char *rest;

	return kind_of(queue, &rest);
}

bool
onyx_names_of_job(const char *queue, const char *job)
{
	enum onyx_names_kind k;
	const char *rest, *p;
	size_t i, n = strlen(job), words = 1;

	if ((k = kind_of(queue, &rest)) == ONYX_NAMES_NONE || n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (rest[i] != (job[i] == '.' ? '~' : job[i]) || job[i] == '~')
			return false;
	if (rest[n] != '.')
		return false;
	/* the task words: non-empty, one for a task's queue, two for an edge */
	for (p = rest + n + 1; *p != '\0'; p++)
		if (*p == '.') {
			if (p[-1] == '.' || p[1] == '\0')
				return false;
			words++;
		}
	return rest[n + 1] != '\0' && rest[n + 1] != '.' &&
	    words == (k == ONYX_NAMES_EDGE ? 2u : 1u);
}
