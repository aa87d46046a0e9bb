/* lib/log.h: diagnostics on stderr, one line each, as text or JSON, filtered by level. */
#ifndef ONYX_LOG_H
#define ONYX_LOG_H

#include <stddef.h>

enum onyx_log_level {
	ONYX_LOG_ERROR = 0,
	ONYX_LOG_WARN = 1,
	ONYX_LOG_INFO = 2,
	ONYX_LOG_DEBUG = 3,
};

enum onyx_log_format {
	ONYX_LOG_TEXT = 0, /* "program: message" */
	ONYX_LOG_JSON = 1, /* one JSON object: time, program, level, ... */
};

/*
 * onyx_log_init: set the threshold from $ONYX_LOG (error, warn, info, debug;
 * unset or empty keeps the current one, warn unless set) and the
 * format from $ONYX_LOG_FORMAT (text, the default, or json). In the JSON
 * form, stderr is replaced by a stream that turns each line written to it
 * (err(3), warn(3), a usage text, the ZooKeeper client's log) into a JSON
 * line at level error (or the ZooKeeper client's own level). Returns 0, or
 * -1 with err naming the variable when $ONYX_LOG is another value or
 * $ONYX_LOG_FORMAT is neither.
 */
int onyx_log_init(char *err, size_t errlen);

/* onyx_log_set_level: messages above level are dropped. */
void onyx_log_set_level(enum onyx_log_level level);

/* onyx_log_level: the current threshold. */
enum onyx_log_level onyx_log_level(void);

/* onyx_log_set_format: the form of the lines that follow. */
void onyx_log_set_format(enum onyx_log_format f);

/* onyx_log_format: the current form. */
enum onyx_log_format onyx_log_format(void);

/*
 * onyx_log_context: what the calling thread works for, carried by its JSON
 * lines as peer, job and task (NULL or "": unknown, the field is left out).
 * The strings are copied. A thread sets it where it takes a task and calls
 * onyx_log_context(peer, NULL, NULL) where it leaves it.
 */
void onyx_log_context(const char *peer, const char *job, const char *task);

/*
 * onyx_log: write one line to stderr when level passes the threshold:
 * "program: message\n", or the JSON object. One write(2) per line, so lines
 * from threads do not interleave.
 */
void onyx_log(enum onyx_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* onyx_log_emit: write msg at level whatever the threshold (a message the
 * program always shows, such as its errors). */
void onyx_log_emit(enum onyx_log_level level, const char *msg);

/*
 * onyx_log_json_line: the JSON form of one line into a malloc'd string
 * (newline included) that the caller frees; ms is the time in ms since the
 * epoch. NULL when out of memory. Pure: for the unit test.
 */
char *
onyx_log_json_line(long long ms, const char *program, enum onyx_log_level level,
    const char *peer, const char *job, const char *task, const char *msg);

#endif
