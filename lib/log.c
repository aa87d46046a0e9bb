/* lib/log.c: one-line diagnostics on stderr with the program name. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/stdlib.h>

#include "log.h"

static enum onyx_log_level threshold = ONYX_LOG_WARN;

void
onyx_log_init(void)
{
	const char *v = getenv("ONYX_LOG");

	if (v == NULL)
		return;
	if (strcmp(v, "error") == 0)
		threshold = ONYX_LOG_ERROR;
	else if (strcmp(v, "warn") == 0)
		threshold = ONYX_LOG_WARN;
	else if (strcmp(v, "info") == 0)
		threshold = ONYX_LOG_INFO;
	else if (strcmp(v, "debug") == 0)
		threshold = ONYX_LOG_DEBUG;
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
onyx_log(enum onyx_log_level level, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n, m;
	const char *prog = getprogname();

	if (level > threshold)
		return;
	n = snprintf(line, sizeof(line), "%s: ", prog ? prog : "onyx");
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}
