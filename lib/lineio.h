/* lib/lineio.h: a line reader over a file descriptor that never blocks on its own. */
#ifndef ONYX_LINEIO_H
#define ONYX_LINEIO_H

#include <stdbool.h>
#include <stddef.h>

struct onyx_lineio {
	int fd;
	char *buf;
	size_t start, end, cap;
	size_t scanned; /* bytes after start known to hold no newline */
	size_t max;     /* the longest line accepted; 0: no limit */
	bool eof;
	bool toolong;              /* the line lineno is longer than max */
	int err;                   /* errno of a failed read, or 0 */
	unsigned long long lineno; /* number of the line last returned */
};

/* onyx_lineio_next answers */
#define ONYX_LINEIO_LINE 1  /* a line */
#define ONYX_LINEIO_MORE 0  /* read more first (onyx_lineio_fill) */
#define ONYX_LINEIO_END -1  /* end of input */
#define ONYX_LINEIO_LONG -2 /* the next line is longer than max */

/*
 * onyx_lineio_init: read lines from fd, each at most max bytes without its
 * newline (0: no limit). Returns 0, -1 when out of memory.
 */
int onyx_lineio_init(struct onyx_lineio *r, int fd, size_t max);

/* onyx_lineio_free: release the buffer (fd stays open). */
void onyx_lineio_free(struct onyx_lineio *r);

/*
 * onyx_lineio_next: the next complete line already buffered, without its
 * newline, in *line and *len (valid until the next call). At end of input a
 * last line without a newline counts as a line. Returns ONYX_LINEIO_LINE
 * with a line, ONYX_LINEIO_MORE when more input must be read first
 * (onyx_lineio_fill), ONYX_LINEIO_END at end of input, ONYX_LINEIO_LONG
 * when the next line has more than max bytes (r->lineno is its number;
 * the reader is then stuck: every later call answers the same). Each byte
 * is looked at once, whatever the length of the line; the buffer never
 * grows past max + 1 bytes plus one read.
 */
int onyx_lineio_next(struct onyx_lineio *r, const char **line, size_t *len);

/*
 * onyx_lineio_fill: one read(2) into the buffer. Returns 1 when bytes came,
 * 0 when none are ready (EAGAIN), -1 at end of input or on error (r->err).
 */
int onyx_lineio_fill(struct onyx_lineio *r);

#endif
