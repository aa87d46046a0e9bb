/* lib/log.h: diagnostics on stderr, prefixed with the program name, filtered by level. */
#ifndef ONYX_LOG_H
#define ONYX_LOG_H

enum onyx_log_level {
	ONYX_LOG_ERROR = 0,
	ONYX_LOG_WARN = 1,
	ONYX_LOG_INFO = 2,
	ONYX_LOG_DEBUG = 3,
};

/*
 * onyx_log_init: set the threshold from $ONYX_LOG (error, warn, info, debug)
 * or keep the default, warn. Safe to call more than once.
 */
void onyx_log_init(void);

/* onyx_log_set_level: messages above level are dropped. */
void onyx_log_set_level(enum onyx_log_level level);

/* onyx_log_level: the current threshold. */
enum onyx_log_level onyx_log_level(void);

/*
 * onyx_log: write "program: message\n" to stderr when level passes the
 * threshold. One write(2) per line, so lines from threads do not interleave.
 */
void onyx_log(enum onyx_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
