/* lib/frame.c: packing segments into frames and reading them back. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "frame.h"
#include "status.h"
#include "wire.h"

static const char magic[3] = {'O', 'N', 'X'};

static void
put32(unsigned char *p, size_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static size_t
get32(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	return (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 |
	    (size_t)p[3];
}

void
onyx_frame_reset(struct onyx_frame *f)
{
	f->b.len = 0;
	f->count = 0;
}

void
onyx_frame_free(struct onyx_frame *f)
{
	onyx_buf_free(&f->b);
	f->count = 0;
}

size_t
onyx_frame_size_with(const struct onyx_frame *f, size_t len)
{
	return (f->count == 0 ? ONYX_FRAME_HEAD : f->b.len) +
	    ONYX_FRAME_RECORD + len;
}

enum onyx_frame_fit
onyx_frame_fit(const struct onyx_frame *f, size_t len, size_t max)
{
	static const struct onyx_frame empty;

	if (onyx_frame_size_with(&empty, len) > max)
		return ONYX_FRAME_ALONE;
	return onyx_frame_size_with(f, len) > max ? ONYX_FRAME_FULL
	                                          : ONYX_FRAME_FITS;
}

int
onyx_frame_add(struct onyx_frame *f, const char *json, size_t len)
{
	unsigned char *p;

	if (len > 0xffffffffu || f->count == 0xffffffffu)
		return -1;
	if (f->count == 0)
		f->b.len = 0;
	if (onyx_buf_reserve(
	        &f->b, ONYX_FRAME_HEAD + ONYX_FRAME_RECORD + len) != 0)
		return -1;
	if (f->count == 0) {
		memcpy(f->b.p, magic, sizeof(magic));
		f->b.p[3] = ONYX_FRAME_VERSION;
		f->b.len = ONYX_FRAME_HEAD;
	}
	p = (unsigned char *)f->b.p + f->b.len;
	put32(p, len);
	memcpy(p + ONYX_FRAME_RECORD, json, len);
	f->b.len += ONYX_FRAME_RECORD + len;
	f->count++;
	put32((unsigned char *)f->b.p + 4, f->count);
	return 0;
}

/*
 * The message around the payload, by hand as a segment's (lib/wire.c):
 * header: durable = true
 * properties: six nulls, content-type (sym8), and with a group three nulls
 *   and group-id (str8)
 * data: vbin32 payload
 */
int
onyx_frame_encode(struct onyx_buf *out, const struct onyx_frame *f,
    const char *group, size_t glen)
{
	return onyx_frame_encode_stamped(out, f, group, glen, NULL);
}

static void
put64(unsigned char *p, unsigned long long v)
{
	put32(p, (size_t)(v >> 32));
	put32(p + 4, (size_t)(v & 0xffffffffu));
}

static unsigned long long
get64(const char *s)
{
	return (unsigned long long)get32(s) << 32 | get32(s + 4);
}

int
onyx_frame_encode_stamped(struct onyx_buf *out, const struct onyx_frame *f,
    const char *group, size_t glen, const struct onyx_frame_stamp *stamp)
{
	static const char ct[] = ONYX_FRAME_CONTENT_TYPE;
	size_t ctlen = sizeof(ct) - 1, props, need;
	unsigned char *p;

	if (f->count == 0 || f->b.len > 0xffffffffu ||
	    (group != NULL && glen > ONYX_WIRE_GROUP_MAX))
		return -1;
	/* the list's fields after its count byte */
	props = 6 + 2 + ctlen + (group != NULL ? 3 + 2 + glen : 0);
	size_t extra = stamp != NULL ? ONYX_FRAME_STAMP : 0;

	need = 7 + 3 + 2 + props + 4 + 4 + f->b.len + extra;
	if (onyx_buf_reserve(out, need) != 0)
		return -1;
	p = (unsigned char *)out->p + out->len;
	/* header */
	memcpy(p, "\x00\x53\x70\xc0\x02\x01\x41", 7);
	p += 7;
	/* properties: list8 of 7 or 11 fields */
	memcpy(p, "\x00\x53\x73\xc0", 4);
	p[4] = (unsigned char)(props + 1);
	p[5] = group != NULL ? 0x0b : 0x07;
	p += 6;
	memset(p, 0x40, 6);
	p += 6;
	p[0] = 0xa3;
	p[1] = (unsigned char)ctlen;
	memcpy(p + 2, ct, ctlen);
	p += 2 + ctlen;
	if (group != NULL) {
		memset(p, 0x40, 3);
		p[3] = 0xa1;
		p[4] = (unsigned char)glen;
		memcpy(p + 5, group, glen);
		p += 5 + glen;
	}
	/* data section */
	memcpy(p, "\x00\x53\x75\xb0", 4);
	put32(p + 4, f->b.len + extra);
	if (stamp == NULL)
		memcpy(p + 8, f->b.p, f->b.len);
	else {
		/* version 2: the head, the stamp, then the same records */
		memcpy(p + 8, f->b.p, ONYX_FRAME_HEAD);
		p[8 + 3] = ONYX_FRAME_VERSION_STAMPED;
		memcpy(p + 8 + ONYX_FRAME_HEAD, stamp->sender, 8);
		put32(p + 8 + ONYX_FRAME_HEAD + 8, stamp->bucket);
		put64(p + 8 + ONYX_FRAME_HEAD + 12, stamp->seq);
		memcpy(p + 8 + ONYX_FRAME_HEAD + extra,
		    f->b.p + ONYX_FRAME_HEAD, f->b.len - ONYX_FRAME_HEAD);
	}
	p += 8 + f->b.len + extra;
	out->len = (size_t)((char *)p - out->p);
	return 0;
}

int
onyx_frame_open(struct onyx_frame_reader *r, const char *payload, size_t len,
    size_t max, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	if (len < ONYX_FRAME_HEAD || memcmp(payload, magic, sizeof(magic))) {
		snprintf(err, errlen,
		    "not a packed frame: its body (%zu bytes) does not start with the frame's head",
		    len);
		return ONYX_EDATA;
	}
	if ((unsigned char)payload[3] != ONYX_FRAME_VERSION &&
	    (unsigned char)payload[3] != ONYX_FRAME_VERSION_STAMPED) {
		snprintf(err, errlen,
		    "a packed frame of version %u: this version reads versions %u and %u",
		    (unsigned char)payload[3], ONYX_FRAME_VERSION,
		    ONYX_FRAME_VERSION_STAMPED);
		return ONYX_EDATA;
	}
	if ((unsigned char)payload[3] == ONYX_FRAME_VERSION_STAMPED &&
	    len < ONYX_FRAME_HEAD + ONYX_FRAME_STAMP) {
		snprintf(err, errlen,
		    "a packed frame of version %u cut short in its stamp (%zu bytes)",
		    ONYX_FRAME_VERSION_STAMPED, len);
		return ONYX_EDATA;
	}
	if (max > 0 && len > max) {
		snprintf(err, errlen,
		    "a packed frame of %zu bytes, over the limit of %zu bytes",
		    len, max);
		return ONYX_EDATA;
	}
	r->count = (unsigned)get32(payload + 4);
	r->p = payload + ONYX_FRAME_HEAD;
	r->left = len - ONYX_FRAME_HEAD;
	if ((unsigned char)payload[3] == ONYX_FRAME_VERSION_STAMPED) {
		memcpy(r->sender, r->p, 8);
		r->bucket = (unsigned)get32(r->p + 8);
		r->seq = get64(r->p + 12);
		r->p += ONYX_FRAME_STAMP;
		r->left -= ONYX_FRAME_STAMP;
	}
	return ONYX_OK;
}

int
onyx_frame_next(struct onyx_frame_reader *r, const char **seg, size_t *len,
    char *err, size_t errlen)
{
	size_t n;

	if (r->seen == r->count) {
		if (r->left == 0)
			return 0;
		snprintf(err, errlen,
		    "a packed frame holds %zu bytes after its %u record%s",
		    r->left, r->count, r->count == 1 ? "" : "s");
		return ONYX_EDATA;
	}
	if (r->left < ONYX_FRAME_RECORD ||
	    (n = get32(r->p)) > r->left - ONYX_FRAME_RECORD) {
		snprintf(err, errlen,
		    "a packed frame cut short: record %u of %u %s", r->seen + 1,
		    r->count,
		    r->left < ONYX_FRAME_RECORD
		        ? "has no length"
		        : "is longer than what is left");
		return ONYX_EDATA;
	}
	*seg = r->p + ONYX_FRAME_RECORD;
	*len = n;
	r->p += ONYX_FRAME_RECORD + n;
	r->left -= ONYX_FRAME_RECORD + n;
	r->seen++;
	return 1;
}
