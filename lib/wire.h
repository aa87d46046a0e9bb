/* lib/wire.h: how segments and the sentinel travel as AMQP messages (the wire format). */
#ifndef ONYX_WIRE_H
#define ONYX_WIRE_H

#include <stdbool.h>
#include <stddef.h>

#include <proton/message.h>

#include "buf.h"

/*
 * The format, documented in onyx-queue(1):
 * - a segment is a durable message, content-type application/json, whose
 *   body is an amqp-value string holding the JSON object's text;
 * - on receipt a body that is an amqp-value string or data section(s) of
 *   UTF-8 JSON text is a segment, whatever client sent it;
 * - a message whose content-type is application/x-onyx-frame is a packed
 *   frame of segments (lib/frame.h);
 * - the sentinel is a durable message with subject "onyx-sentinel", the
 *   application property onyx_sentinel = true and an empty (null) body. Its
 *   marker lives outside the body, so no JSON a user sends can look like it.
 */
#define ONYX_WIRE_SENTINEL_PROP "onyx_sentinel"
#define ONYX_WIRE_SENTINEL_SUBJECT "onyx-sentinel"
#define ONYX_WIRE_CONTENT_TYPE "application/json"

enum onyx_wire_kind {
	ONYX_WIRE_SEGMENT,
	ONYX_WIRE_SENTINEL,
	ONYX_WIRE_FRAME, /* a packed frame (lib/frame.h): body is its payload */
};

struct onyx_wire;

/*
 * onyx_wire_prop: the value of message m's application property name (a
 * string or symbol key): m's property data positioned on it, to read with
 * pn_data_type and pn_data_get_*; NULL when m has no such property.
 */
pn_data_t *onyx_wire_prop(pn_message_t *m, const char *name);

/* onyx_wire_new: a decoder. NULL when out of memory. Free with onyx_wire_free. */
struct onyx_wire *onyx_wire_new(void);
void onyx_wire_free(struct onyx_wire *w);

/*
 * onyx_wire_encode_segment: append the encoded message for the JSON text
 * json[0..len) to out. Returns 0, -1 when out of memory.
 */
int
onyx_wire_encode_segment(struct onyx_buf *out, const char *json, size_t len);

/* The longest group-id onyx_wire_encode_segment_group takes. */
#define ONYX_WIRE_GROUP_MAX 200

/*
 * onyx_wire_encode_segment_group: as onyx_wire_encode_segment, with the
 * AMQP group-id group[0..glen) (at most ONYX_WIRE_GROUP_MAX bytes) when
 * group is not NULL. 0, or -1 when out of memory or the group is too long.
 */
int onyx_wire_encode_segment_group(struct onyx_buf *out, const char *json,
    size_t len, const char *group, size_t glen);

/* onyx_wire_encode_sentinel: append the encoded sentinel to out. 0 or -1. */
int onyx_wire_encode_sentinel(struct onyx_buf *out);

/*
 * onyx_wire_decode: decode one message. On ONYX_OK, *kind says what it is
 * and, for a segment, *body and *len point at its text (for a
 * frame, at its payload), valid until the
 * next call on w. ONYX_EDATA when the message is not ours to read (a body
 * that is not text), with err saying what the body is.
 */
int onyx_wire_decode(struct onyx_wire *w, const char *bytes, size_t size,
    enum onyx_wire_kind *kind, const char **body, size_t *len, char *err,
    size_t errlen);

/*
 * Room for what a message carries beside its body (header, properties,
 * group-id): a receiver keeps at most the maximum segment size plus this.
 */
#define ONYX_WIRE_SLACK 16384

/*
 * onyx_wire_peek_body: where the body text starts in the first size bytes
 * of a message that may be cut short (an amqp-value string or a data
 * section; the sections before it are skipped by their section codes).
 * Returns 0 with *body and *len (at most what size holds) set, -1 when no
 * such body start is found in those bytes.
 */
int onyx_wire_peek_body(
    const char *bytes, size_t size, const char **body, size_t *len);

#endif
