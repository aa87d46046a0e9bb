/* lib/lineio.c: buffered line reading that cooperates with poll(2). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lineio.h"

#define LINEIO_CHUNK (256 * 1024)

int
onyx_lineio_init(struct onyx_lineio *r, int fd, size_t max)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->max = max;
	r->cap = LINEIO_CHUNK;
	if ((r->buf = malloc(r->cap)) == NULL)
		return -1;
	return 0;
}

void
onyx_lineio_free(struct onyx_lineio *r)
{
	free(r->buf);
	r->buf = NULL;
}

int
onyx_lineio_next(struct onyx_lineio *r, const char **line, size_t *len)
{
	char *s = r->buf + r->start;
	size_t have = r->end - r->start;
	char *nl;

	if (r->toolong)
		return ONYX_LINEIO_LONG;
	/* look only at bytes not seen before: linear in the line's length */
	nl = memchr(s + r->scanned, '\n', have - r->scanned);
	if (nl != NULL && (r->max == 0 || (size_t)(nl - s) <= r->max)) {
		*line = s;
		*len = nl - s;
		r->start = nl + 1 - r->buf;
		r->scanned = 0;
		r->lineno++;
		return ONYX_LINEIO_LINE;
	}
	if (nl != NULL || (r->max > 0 && have > r->max)) {
		r->toolong = true;
		r->lineno++;
		return ONYX_LINEIO_LONG;
	}
	r->scanned = have;
	if (!r->eof)
		return ONYX_LINEIO_MORE;
	if (r->start < r->end) {
		*line = s;
		*len = have;
		r->start = r->end;
		r->scanned = 0;
		r->lineno++;
		return ONYX_LINEIO_LINE;
	}
	return ONYX_LINEIO_END;
}

int
onyx_lineio_fill(struct onyx_lineio *r)
{
	ssize_t n;
	size_t want;

	if (r->eof)
		return -1;
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->end == r->cap) {
		size_t cap = r->cap * 2;
		char *p;
		/* enough for a line of max bytes, its newline, and one read */
		if (r->max > 0 && cap > r->max + 1 + LINEIO_CHUNK)
			cap = r->max + 1 + LINEIO_CHUNK;
		if (cap <= r->cap || (p = realloc(r->buf, cap)) == NULL) {
			r->err = ENOMEM;
			return -1;
		}
		r->buf = p;
		r->cap = cap;
	}
	want = r->cap - r->end;
	n = read(r->fd, r->buf + r->end, want);
	if (n > 0) {
		r->end += n;
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n < 0)
		r->err = errno;
	r->eof = true;
	return -1;
}
