/* lib/buf.h: a growable byte buffer. */
#ifndef ONYX_BUF_H
#define ONYX_BUF_H

#include <stddef.h>

struct onyx_buf {
	char *p;
	size_t len, cap;
};

/* onyx_buf_reserve: make room for n more bytes. Returns 0, -1 on ENOMEM. */
int onyx_buf_reserve(struct onyx_buf *b, size_t n);

/* onyx_buf_append: append n bytes. Returns 0, -1 on ENOMEM. */
int onyx_buf_append(struct onyx_buf *b, const void *data, size_t n);

/* onyx_buf_free: release the memory; b becomes empty and reusable. */
void onyx_buf_free(struct onyx_buf *b);

#endif
