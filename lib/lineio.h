/* lib/lineio.h: a line reader over a file descriptor that never blocks on its own. */
#ifndef ONYX_LINEIO_H
#define ONYX_LINEIO_H

#include <stdbool.h>
#include <stddef.h>

struct onyx_lineio {
	int fd;
	char *buf;
	size_t start, end, cap;
	bool eof;
	int err;                   /* errno of a failed read, or 0 */
	unsigned long long lineno; /* number of the line last returned */
};

/* onyx_lineio_init: read lines from fd. Returns 0, -1 when out of memory. */
int onyx_lineio_init(struct onyx_lineio *r, int fd);

/* onyx_lineio_free: release the buffer (fd stays open). */
void onyx_lineio_free(struct onyx_lineio *r);

/*
 * onyx_lineio_next: the next complete line already buffered, without its
 * newline, in *line and *len (valid until the next call). At end of input a
 * last line without a newline counts as a line. Returns 1 with a line, 0
 * when more input must be read first (onyx_lineio_fill), -1 at end of input.
 */
int onyx_lineio_next(struct onyx_lineio *r, const char **line, size_t *len);

/*
 * onyx_lineio_fill: one read(2) into the buffer. Returns 1 when bytes came,
 * 0 when none are ready (EAGAIN), -1 at end of input or on error (r->err).
 */
int onyx_lineio_fill(struct onyx_lineio *r);

#endif
