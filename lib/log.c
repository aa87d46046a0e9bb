/* lib/log.c: one-line diagnostics on stderr with the program name, as text or JSON. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <jansson.h>

#include "buf.h"
#include "log.h"

static enum onyx_log_level threshold = ONYX_LOG_WARN;
static enum onyx_log_format format = ONYX_LOG_TEXT;

/* what this thread works for: its JSON lines carry it */
static __thread char ctx_peer[320], ctx_job[128],
    ctx_task
        [128]; /* ids are at most 64 (lib/names.h), peer ids 320 (conf.container) */

static const char *const level_names[] = {"error", "warn", "info", "debug"};

static const char *
progname(void)
{
	const char *p = getprogname();

	return p != NULL ? p : "onyx";
}

/* msg as a JSON string; a byte that is not UTF-8 (a message may quote
 * one from the input) becomes '?'. NULL when out of memory. */
static json_t *
utf8_string(const char *msg)
{
	json_t *v;
	char *copy;
	size_t i;

	if ((v = json_string(msg)) != NULL || (copy = strdup(msg)) == NULL)
		return v;
	for (i = 0; copy[i] != '\0'; i++)
		if ((unsigned char)copy[i] >= 0x80)
			copy[i] = '?';
	v = json_string(copy);
	free(copy);
	return v;
}

char *
onyx_log_json_line(long long ms, const char *program, enum onyx_log_level level,
    const char *peer, const char *job, const char *task, const char *msg)
{
	char when[64];
	struct tm tm;
	time_t s = (time_t)(ms / 1000);
	json_t *o;
	char *text, *line;
	size_t n;

	gmtime_r(&s, &tm);
	n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + n, sizeof(when) - n, ".%03dZ", (int)(ms % 1000));
	o = json_pack("{s:s,s:s,s:s}", "time", when, "program", program,
	    "level", level_names[level]);
	if (o == NULL)
		return NULL;
	if (peer != NULL && *peer != '\0')
		json_object_set_new(o, "peer", json_string(peer));
	if (job != NULL && *job != '\0')
		json_object_set_new(o, "job", json_string(job));
	if (task != NULL && *task != '\0')
		json_object_set_new(o, "task", json_string(task));
	json_object_set_new(o, "message", utf8_string(msg));
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (text == NULL)
		return NULL;
	n = strlen(text);
	if ((line = realloc(text, n + 2)) == NULL) {
		free(text);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	return line;
}

/* Write msg (len bytes) as one line in the current form. */
static void
write_line(enum onyx_log_level level, const char *msg, size_t len)
{
	char line[2048], *j, *m;
	struct timespec ts;
	int n;

	if (format == ONYX_LOG_JSON) {
		if ((m = strndup(msg, len)) == NULL)
			return;
		clock_gettime(CLOCK_REALTIME, &ts);
		j = onyx_log_json_line(
		    (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
		    progname(), level, ctx_peer, ctx_job, ctx_task, m);
		free(m);
		if (j != NULL) {
			(void)!write(STDERR_FILENO, j, strlen(j));
			free(j);
			return;
		}
	}
	n = snprintf(line, sizeof(line), "%s: ", progname());
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	if (len > sizeof(line) - 2 - (size_t)n)
		len = sizeof(line) - 2 - (size_t)n;
	memcpy(line + n, msg, len);
	n += (int)len;
	line[n++] = '\n';
	/* under stderr's stdio lock: warnx(3) writes its "prog: " prefix and
	 * its text as two writes while holding it, and a line from another
	 * thread must not land between them */
	flockfile(stderr);
	(void)!write(STDERR_FILENO, line, n);
	funlockfile(stderr);
}

/*
 * The stream that replaces stderr in the JSON form: whole lines, with the
 * "program: " of err(3) taken off, become log lines.
 */
static pthread_mutex_t pending_mu = PTHREAD_MUTEX_INITIALIZER;
static struct onyx_buf pending;

static void
stderr_line(const char *s, size_t len)
{
	const char *p = progname();
	size_t pl = strlen(p);
	enum onyx_log_level level = ONYX_LOG_ERROR;

	if (len > pl + 1 && memcmp(s, p, pl) == 0 && s[pl] == ':' &&
	    s[pl + 1] == ' ') {
		s += pl + 2;
		len -= pl + 2;
	} else if (memmem(s, len, ":ZOO_WARN@", 10) != NULL)
		level = ONYX_LOG_WARN;
	else if (memmem(s, len, ":ZOO_INFO@", 10) != NULL)
		level = ONYX_LOG_INFO;
	else if (memmem(s, len, ":ZOO_DEBUG@", 11) != NULL)
		level = ONYX_LOG_DEBUG;
	write_line(level, s, len);
}

static ssize_t
stderr_write(void *cookie, const char *buf, size_t n)
{
	size_t start = 0, i;

	(void)cookie;
	pthread_mutex_lock(&pending_mu);
	if (onyx_buf_append(&pending, buf, n) != 0) {
		pthread_mutex_unlock(&pending_mu);
		return -1;
	}
	for (i = 0; i < pending.len; i++)
		if (pending.p[i] == '\n') {
			stderr_line(pending.p + start, i - start);
			start = i + 1;
		}
	memmove(pending.p, pending.p + start, pending.len - start);
	pending.len -= start;
	pthread_mutex_unlock(&pending_mu);
	return (ssize_t)n;
}

static int
stderr_close(void *cookie)
{
	(void)cookie;
	pthread_mutex_lock(&pending_mu);
	if (pending.len > 0)
		stderr_line(pending.p, pending.len);
	onyx_buf_free(&pending);
	pthread_mutex_unlock(&pending_mu);
	return 0;
}

int
onyx_log_init(char *err, size_t errlen)
{
	static const cookie_io_functions_t io = {
	    .write = stderr_write, .close = stderr_close};
	static int redirected;
	const char *v = getenv("ONYX_LOG");
	FILE *f;

	if (v != NULL) {
		if (strcmp(v, "error") == 0)
			threshold = ONYX_LOG_ERROR;
		else if (strcmp(v, "warn") == 0)
			threshold = ONYX_LOG_WARN;
		else if (strcmp(v, "info") == 0)
			threshold = ONYX_LOG_INFO;
		else if (strcmp(v, "debug") == 0)
			threshold = ONYX_LOG_DEBUG;
		else if (*v != '\0') {
			snprintf(err, errlen,
			    "ONYX_LOG: '%s' is not a log level (error, warn, info or debug)",
			    v);
			return -1;
		}
	}
	v = getenv("ONYX_LOG_FORMAT");
	if (v == NULL || *v == '\0' || strcmp(v, "text") == 0)
		return 0;
	if (strcmp(v, "json") != 0) {
		snprintf(err, errlen,
		    "ONYX_LOG_FORMAT: '%s' is not a log format (text or json)",
		    v);
		return -1;
	}
	format = ONYX_LOG_JSON;
	if (!redirected && (f = fopencookie(NULL, "w", io)) != NULL) {
		setvbuf(f, NULL, _IOLBF, 0);
		stderr = f;
		redirected = 1;
	}
	return 0;
}

void
onyx_log_set_level(enum onyx_log_level level)
{
	threshold = level;
}

enum onyx_log_level
onyx_log_level(void)
{
	return threshold;
}

void
onyx_log_set_format(enum onyx_log_format f)
{
	format = f;
}

enum onyx_log_format
onyx_log_format(void)
{
	return format;
}

void
onyx_log_context(const char *peer, const char *job, const char *task)
{
	snprintf(ctx_peer, sizeof(ctx_peer), "%s", peer ? peer : "");
	snprintf(ctx_job, sizeof(ctx_job), "%s", job ? job : "");
	snprintf(ctx_task, sizeof(ctx_task), "%s", task ? task : "");
}

void
onyx_log_emit(enum onyx_log_level level, const char *msg)
{
	write_line(level, msg, strlen(msg));
}

void
onyx_log(enum onyx_log_level level, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	int m;

	if (level > threshold)
		return;
	va_start(ap, fmt);
	m = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	if ((size_t)m >= sizeof(msg))
		m = sizeof(msg) - 1;
	write_line(level, msg, (size_t)m);
}
