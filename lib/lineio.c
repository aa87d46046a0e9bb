/* lib/lineio.c: buffered line reading that cooperates with poll(2). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lineio.h"

int
onyx_lineio_init(struct onyx_lineio *r, int fd)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->cap = 256 * 1024;
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
	char *nl = memchr(s, '\n', r->end - r->start);

	if (nl != NULL) {
		*line = s;
		*len = nl - s;
		r->start = nl + 1 - r->buf;
		r->lineno++;
		return 1;
	}
	if (!r->eof)
		return 0;
	if (r->start < r->end) {
		*line = s;
		*len = r->end - r->start;
		r->start = r->end;
		r->lineno++;
		return 1;
	}
	return -1;
}

int
onyx_lineio_fill(struct onyx_lineio *r)
{
	ssize_t n;

	if (r->eof)
		return -1;
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->end == r->cap) {
		char *p = realloc(r->buf, r->cap * 2);
		if (p == NULL) {
			r->err = ENOMEM;
			return -1;
		}
		r->buf = p;
		r->cap *= 2;
	}
	n = read(r->fd, r->buf + r->end, r->cap - r->end);
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
