/* lib/buf.c: a growable byte buffer. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"

int
onyx_buf_reserve(struct onyx_buf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->len + n <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + n)
		cap *= 2;
	if ((p = realloc(b->p, cap)) == NULL)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

int
onyx_buf_append(struct onyx_buf *b, const void *data, size_t n)
{
	if (onyx_buf_reserve(b, n) != 0)
		return -1;
	memcpy(b->p + b->len, data, n);
	b->len += n;
	return 0;
}

void
onyx_buf_free(struct onyx_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}
