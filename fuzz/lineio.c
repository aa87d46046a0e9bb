/* fuzz/lineio.c: libFuzzer harness for the line reader (lib/lineio.c) over a non-blocking pipe fed in pieces. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/lineio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The first byte is the longest line (times 4; 0: no limit); the rest goes
 * through the pipe as fast as it takes it, read between writes. Every line
 * returned must be a piece of the input, within the limit. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct onyx_lineio r;
	const char *line;
	size_t max, off = 1, len, total = 0;
	int p[2], st;

	if (size < 1 || pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0)
		return 0;
	max = (size_t)data[0] * 4;
	if (onyx_lineio_init(&r, p[0], max) != 0)
		goto out;
	for (;;) {
		if (off < size) {
			ssize_t w = write(p[1], data + off, size - off);
			if (w > 0)
				off += (size_t)w;
			if (off == size) {
				close(p[1]);
				p[1] = -1;
			}
		} else if (p[1] >= 0) {
			close(p[1]);
			p[1] = -1;
		}
		st = onyx_lineio_next(&r, &line, &len);
		if (st == ONYX_LINEIO_LINE) {
			if ((max != 0 && len > max) || memchr(line, '\n', len))
				abort();
			total += len + 1;
			if (total > size + 1)
				abort();
			continue;
		}
		if (st == ONYX_LINEIO_MORE) {
			if (onyx_lineio_fill(&r) < 0 && r.err != 0)
				break;
			continue;
		}
		break; /* END or LONG */
	}
	onyx_lineio_free(&r);
out:
	close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	return 0;
}
