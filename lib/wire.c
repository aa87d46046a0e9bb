/* lib/wire.c: encoding and decoding segments and the sentinel as AMQP messages. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <proton/codec.h>
#include <proton/message.h>

#include "frame.h"
#include "status.h"
#include "wire.h"

struct onyx_wire {
	pn_message_t *msg;
	struct onyx_buf body; /* joined data sections */
};

struct onyx_wire *
onyx_wire_new(void)
{
	struct onyx_wire *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	if ((w->msg = pn_message()) == NULL) {
		free(w);
		return NULL;
	}
	return w;
}

void
onyx_wire_free(struct onyx_wire *w)
{
	if (w == NULL)
		return;
	pn_message_free(w->msg);
	onyx_buf_free(&w->body);
	free(w);
}

/*
 * A segment is encoded by hand: it is the hot path, and the layout is fixed.
 * header: durable = true
 * properties: six nulls, then content-type (symbol) "application/json"
 * amqp-value: str8 or str32 body
 */
static const unsigned char seg_prefix[] = {
    0x00,
    0x53,
    0x70,
    0xc0,
    0x02,
    0x01,
    0x41,
    0x00,
    0x53,
    0x73,
    0xc0,
    0x19,
    0x07,
    0x40,
    0x40,
    0x40,
    0x40,
    0x40,
    0x40,
    0xa3,
    0x10,
    'a',
    'p',
    'p',
    'l',
    'i',
    'c',
    'a',
    't',
    'i',
    'o',
    'n',
    '/',
    'j',
    's',
    'o',
    'n',
    0x00,
    0x53,
    0x77,
};

int
onyx_wire_encode_segment(struct onyx_buf *out, const char *json, size_t len)
{
	unsigned char hdr[5];
	size_t hl;

	if (len > 0xffffffffu)
		return -1;
	if (len <= 0xff) {
		hdr[0] = 0xa1;
		hdr[1] = (unsigned char)len;
		hl = 2;
	} else {
		hdr[0] = 0xb1;
		hdr[1] = (unsigned char)(len >> 24);
		hdr[2] = (unsigned char)(len >> 16);
		hdr[3] = (unsigned char)(len >> 8);
		hdr[4] = (unsigned char)len;
		hl = 5;
	}
	if (onyx_buf_reserve(out, sizeof(seg_prefix) + hl + len) != 0)
		return -1;
	memcpy(out->p + out->len, seg_prefix, sizeof(seg_prefix));
	out->len += sizeof(seg_prefix);
	memcpy(out->p + out->len, hdr, hl);
	out->len += hl;
	memcpy(out->p + out->len, json, len);
	out->len += len;
	return 0;
}

/*
 * With a group: the properties list grows to eleven fields so that the
 * eleventh, group-id, holds the group (Artemis pins a group to one consumer).
 */
static const unsigned char props_tail[] = {0x40, 0x40, 0x40, 0xa1};

int
onyx_wire_encode_segment_group(struct onyx_buf *out, const char *json,
    size_t len, const char *group, size_t glen)
{
	/* where the properties' list8 size and count are, and where it ends */
	const size_t size_at = 11, count_at = 12,
	             props_end = sizeof(seg_prefix) - 3;
	size_t start = out->len, add = sizeof(props_tail) + 1 + glen;
	unsigned char *p;

	if (group == NULL)
		return onyx_wire_encode_segment(out, json, len);
	if (glen > ONYX_WIRE_GROUP_MAX)
		return -1;
	if (onyx_wire_encode_segment(out, json, len) != 0)
		return -1;
	if (onyx_buf_reserve(out, add) != 0) {
		out->len = start;
		return -1;
	}
	p = (unsigned char *)out->p + start;
	/* room after the content-type for three nulls and the group-id */
	memmove(
	    p + props_end + add, p + props_end, out->len - start - props_end);
	memcpy(p + props_end, props_tail, sizeof(props_tail));
	p[props_end + sizeof(props_tail)] = (unsigned char)glen;
	memcpy(p + props_end + sizeof(props_tail) + 1, group, glen);
	p[size_at] = (unsigned char)(p[size_at] + add);
	p[count_at] = 0x0b; /* eleven fields */
	out->len += add;
	return 0;
}

int
onyx_wire_encode_sentinel(struct onyx_buf *out)
{
	pn_message_t *m = pn_message();
	pn_data_t *props;
	char tmp[512];
	size_t n = sizeof(tmp);
	int rc = -1;

	if (m == NULL)
		return -1;
	pn_message_set_durable(m, true);
	pn_message_set_subject(m, ONYX_WIRE_SENTINEL_SUBJECT);
	props = pn_message_properties(m);
	pn_data_put_map(props);
	pn_data_enter(props);
	pn_data_put_string(props,
	    pn_bytes(strlen(ONYX_WIRE_SENTINEL_PROP), ONYX_WIRE_SENTINEL_PROP));
	pn_data_put_bool(props, true);
	pn_data_exit(props);
	pn_data_put_null(pn_message_body(m));
	if (pn_message_encode(m, tmp, &n) != 0)
		goto done;
	rc = onyx_buf_append(out, tmp, n);
done:
	pn_message_free(m);
	return rc;
}

pn_data_t *
onyx_wire_prop(pn_message_t *m, const char *name)
{
	pn_data_t *p = pn_message_properties(m);
	size_t n, i, len = strlen(name);

	pn_data_rewind(p);
	if (!pn_data_next(p) || pn_data_type(p) != PN_MAP)
		return NULL;
	n = pn_data_get_map(p);
	pn_data_enter(p);
	for (i = 0; i < n; i += 2) {
		pn_bytes_t k = pn_bytes(0, NULL);
		if (!pn_data_next(p))
			break;
		if (pn_data_type(p) == PN_STRING)
			k = pn_data_get_string(p);
		else if (pn_data_type(p) == PN_SYMBOL)
			k = pn_data_get_symbol(p);
		if (!pn_data_next(p))
			break;
		if (k.size == len && memcmp(k.start, name, len) == 0)
			return p;
	}
	return NULL;
}

static bool
is_sentinel(pn_message_t *m)
{
	pn_data_t *p = onyx_wire_prop(m, ONYX_WIRE_SENTINEL_PROP);

	return p != NULL && pn_data_type(p) == PN_BOOL && pn_data_get_bool(p);
}

static const char *
type_desc(pn_type_t t)
{
	switch (t) {
	case PN_NULL: return "empty (null)";
	case PN_MAP: return "an AMQP map";
	case PN_LIST: return "an AMQP list";
	case PN_ARRAY: return "an AMQP array";
	case PN_SYMBOL: return "an AMQP symbol";
	default: return "not text";
	}
}

static size_t
get32(const unsigned char *p)
{
	return (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 |
	    (size_t)p[3];
}

/*
 * Our own encodings, read without proton: a plain segment exactly as
 * onyx_wire_encode_segment writes it, or a frame as onyx_frame_encode does
 * (with or without its group-id), each ending at its body. Anything else
 * (another client's message, a header the broker rewrote) is left to
 * proton. Returns whether the message was read.
 */
static bool
decode_own(const char *bytes, size_t size, enum onyx_wire_kind *kind,
    const char **body, size_t *len)
{
	static const char fct[] = ONYX_FRAME_CONTENT_TYPE;
	const unsigned char *p = (const unsigned char *)bytes, *e = p + size;
	size_t n, props;

	if (size > sizeof(seg_prefix) + 5 &&
	    memcmp(p, seg_prefix, sizeof(seg_prefix)) == 0) {
		p += sizeof(seg_prefix);
		if (p[0] == 0xa1) {
			n = p[1];
			p += 2;
		} else if (p[0] == 0xb1) {
			n = get32(p + 1);
			p += 5;
		} else
			return false;
		if ((size_t)(e - p) != n)
			return false;
		*kind = ONYX_WIRE_SEGMENT;
		*body = (const char *)p;
		*len = n;
		return true;
	}
	/* a frame: the header, then properties of 7 or 11 fields */
	if (size < 7 + 6 + 6 + 2 + sizeof(fct) - 1 + 8 ||
	    memcmp(p, seg_prefix, 7 + 4) != 0)
		return false;
	props = p[11];
	if (p[12] != 0x07 && p[12] != 0x0b)
		return false;
	if (memcmp(p + 13, "\x40\x40\x40\x40\x40\x40\xa3", 7) != 0 ||
	    p[20] != sizeof(fct) - 1 ||
	    memcmp(p + 21, fct, sizeof(fct) - 1) != 0)
		return false;
	p += 21 + sizeof(fct) - 1;
	if (bytes[12] == 0x0b) {
		if (e - p < 5 || memcmp(p, "\x40\x40\x40\xa1", 4) != 0 ||
		    e - p < 5 + p[4])
			return false;
		p += 5 + p[4];
	}
	/* the list's size counts from its count byte to its end */
	if (p != (const unsigned char *)bytes + 12 + props || e - p < 8 ||
	    memcmp(p, "\x00\x53\x75\xb0", 4) != 0)
		return false;
	n = get32(p + 4);
	p += 8;
	if ((size_t)(e - p) != n)
		return false;
	*kind = ONYX_WIRE_FRAME;
	*body = (const char *)p;
	*len = n;
	return true;
}

int
onyx_wire_decode(struct onyx_wire *w, const char *bytes, size_t size,
    enum onyx_wire_kind *kind, const char **body, size_t *len, char *err,
    size_t errlen)
{
	const char *ct;
	pn_data_t *b;
	pn_bytes_t s;

	*body = NULL;
	*len = 0;
	if (decode_own(bytes, size, kind, body, len))
		return ONYX_OK;
	/* proton asserts (aborts the program) on an empty message: a transfer
	 * without payload, or one a broker or another client sent */
	if (size == 0 || bytes == NULL) {
		snprintf(
		    err, errlen, "the message is empty (no AMQP sections)");
		return ONYX_EDATA;
	}
	pn_message_clear(w->msg);
	if (pn_message_decode(w->msg, bytes, size) != 0) {
		snprintf(err, errlen,
		    "the message cannot be decoded as AMQP: %s",
		    pn_error_text(pn_message_error(w->msg)));
		return ONYX_EDATA;
	}
	if (is_sentinel(w->msg)) {
		*kind = ONYX_WIRE_SENTINEL;
		return ONYX_OK;
	}
	*kind = ONYX_WIRE_SEGMENT;
	ct = pn_message_get_content_type(w->msg);
	if (ct != NULL && strcmp(ct, ONYX_FRAME_CONTENT_TYPE) == 0)
		*kind = ONYX_WIRE_FRAME;
	b = pn_message_body(w->msg);
	pn_data_rewind(b);
	if (!pn_data_next(b)) {
		snprintf(err, errlen, "the message has no body");
		return ONYX_EDATA;
	}
	switch (pn_data_type(b)) {
	case PN_STRING:
		if (*kind == ONYX_WIRE_FRAME) {
			snprintf(err, errlen,
			    "a packed frame (content-type %s) whose body is text, not a data section",
			    ONYX_FRAME_CONTENT_TYPE);
			return ONYX_EDATA;
		}
		s = pn_data_get_string(b);
		break;
	case PN_BINARY:
		s = pn_data_get_binary(b);
		/* several data sections arrive as consecutive binaries */
		if (pn_data_next(b)) {
			w->body.len = 0;
			if (onyx_buf_append(&w->body, s.start, s.size) != 0)
				return ONYX_ERR;
			do {
				pn_bytes_t more;
				if (pn_data_type(b) != PN_BINARY)
					break;
				more = pn_data_get_binary(b);
				if (onyx_buf_append(
				        &w->body, more.start, more.size) != 0)
					return ONYX_ERR;
			} while (pn_data_next(b));
			s = pn_bytes(w->body.len, w->body.p);
		}
		break;
	default:
		snprintf(err, errlen, "the body is %s, not JSON text",
		    type_desc(pn_data_type(b)));
		return ONYX_EDATA;
	}
	*body = s.start;
	*len = s.size;
	return ONYX_OK;
}

int
onyx_wire_peek_body(
    const char *bytes, size_t size, const char **body, size_t *len)
{
	const unsigned char *p = (const unsigned char *)bytes;
	size_t i, hdr;

	/* a body section: descriptor 0x00 0x53 then 0x77 (amqp-value) or
	 * 0x75 (data), then str8/str32 or vbin8/vbin32 and its length */
	for (i = 0; i + 3 < size; i++) {
		if (p[i] != 0x00 || p[i + 1] != 0x53 ||
		    (p[i + 2] != 0x77 && p[i + 2] != 0x75))
			continue;
		switch (p[i + 3]) {
		case 0xa1:
		case 0xa0: hdr = 2; break; /* str8, vbin8 */
		case 0xb1:
		case 0xb0: hdr = 5; break; /* str32, vbin32 */
		default: continue;
		}
		if (i + 3 + hdr > size)
			return -1;
		*body = bytes + i + 3 + hdr;
		*len = size - (i + 3 + hdr);
		return 0;
	}
	return -1;
}
