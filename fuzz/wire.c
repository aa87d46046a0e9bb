/* fuzz/wire.c: libFuzzer harness for the message decoder (lib/wire.c) and the frame reader (lib/frame.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/frame.h"
#include "../lib/status.h"
#include "../lib/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads every record of a frame payload. */
static void
read_frame(const char *p, size_t len, size_t max)
{
	struct onyx_frame_reader r;
	const char *seg;
	size_t n;
	char err[256];

	if (onyx_frame_open(&r, p, len, max, err, sizeof(err)) != ONYX_OK)
		return;
	while (onyx_frame_next(&r, &seg, &n, err, sizeof(err)) == 1)
		if (seg < p || seg + n > p + len)
			abort(); /* a record outside the payload */
}

/* The first byte picks what the rest is: a whole AMQP message (decoded,
 * and its body peeked; a frame's payload read) or a bare frame payload. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *bytes = (const char *)data + 1, *body;
	enum onyx_wire_kind kind;
	struct onyx_wire *w;
	size_t n, len;
	char err[256];

	if (size < 1)
		return 0;
	n = size - 1;
	if (data[0] & 1) {
		read_frame(bytes, n, (data[0] & 2) ? 64 : 0);
		return 0;
	}
	if (onyx_wire_peek_body(bytes, n, &body, &len) == 0 &&
	    (body < bytes || body + len > bytes + n))
		abort();
	if ((w = onyx_wire_new()) == NULL)
		return 0;
	if (onyx_wire_decode(
	        w, bytes, n, &kind, &body, &len, err, sizeof(err)) == ONYX_OK &&
	    kind == ONYX_WIRE_FRAME)
		read_frame(body, len, 0);
	onyx_wire_free(w);
	return 0;
}
