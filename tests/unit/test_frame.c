/* tests/unit/test_frame.c: packed frames: round trip through proton, truncated, wrong version, over the limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <proton/codec.h>
#include <proton/message.h>

#include "../../lib/frame.h"
#include "../../lib/status.h"
#include "../../lib/wire.h"

static const char *segs[] = {"{\"a\":1}", "{}", "{\"s\":\"\\u00e9t\\u00e9\"}"};
#define NSEGS 3

static void
pack(struct onyx_frame *f)
{
	for (int i = 0; i < NSEGS; i++) {
		size_t before = onyx_frame_size_with(f, strlen(segs[i]));
		assert_int_equal(
		    onyx_frame_add(f, segs[i], strlen(segs[i])), 0);
		assert_int_equal(f->b.len, before);
	}
	assert_int_equal(f->count, NSEGS);
}

/* Decode msg[0..n) as a frame; its segments must be segs, in order. */
static void
read_back(const char *msg, size_t n)
{
	struct onyx_wire *w = onyx_wire_new();
	struct onyx_frame_reader r;
	enum onyx_wire_kind k;
	const char *body, *seg;
	size_t len, sl;
	char err[256];
	int i;

	assert_int_equal(
	    onyx_wire_decode(w, msg, n, &k, &body, &len, err, sizeof(err)),
	    ONYX_OK);
	assert_int_equal(k, ONYX_WIRE_FRAME);
	assert_int_equal(onyx_frame_open(&r, body, len, ONYX_FRAME_MAX_DEFAULT,
	                     err, sizeof(err)),
	    ONYX_OK);
	for (i = 0; i < NSEGS; i++) {
		assert_int_equal(
		    onyx_frame_next(&r, &seg, &sl, err, sizeof(err)), 1);
		assert_int_equal(sl, strlen(segs[i]));
		assert_memory_equal(seg, segs[i], sl);
	}
	assert_int_equal(onyx_frame_next(&r, &seg, &sl, err, sizeof(err)), 0);
	onyx_wire_free(w);
}

static void
round_trip(void **state)
{
	struct onyx_frame f = {0};
	struct onyx_buf b = {0};
	pn_message_t *m = pn_message();
	pn_data_t *body;

	(void)state;
	pack(&f);
	assert_int_equal(onyx_frame_encode(&b, &f, NULL, 0), 0);
	/* proton reads our hand encoding: durable, the frame's type, one
	 * data section holding the payload */
	assert_int_equal(pn_message_decode(m, b.p, b.len), 0);
	assert_true(pn_message_is_durable(m));
	assert_string_equal(
	    pn_message_get_content_type(m), ONYX_FRAME_CONTENT_TYPE);
	assert_null(pn_message_get_group_id(m));
	body = pn_message_body(m);
	pn_data_rewind(body);
	assert_true(pn_data_next(body));
	assert_int_equal(pn_data_type(body), PN_BINARY);
	assert_int_equal(pn_data_get_binary(body).size, f.b.len);
	read_back(b.p, b.len);
	/* with a group-id */
	b.len = 0;
	assert_int_equal(onyx_frame_encode(&b, &f, "b17", 3), 0);
	assert_int_equal(pn_message_decode(m, b.p, b.len), 0);
	assert_string_equal(pn_message_get_group_id(m), "b17");
	assert_string_equal(
	    pn_message_get_content_type(m), ONYX_FRAME_CONTENT_TYPE);
	read_back(b.p, b.len);
	/* reset keeps nothing of the last frame */
	onyx_frame_reset(&f);
	assert_int_equal(f.count, 0);
	b.len = 0;
	assert_int_equal(onyx_frame_encode(&b, &f, NULL, 0), -1);
	pack(&f);
	b.len = 0;
	assert_int_equal(onyx_frame_encode(&b, &f, NULL, 0), 0);
	read_back(b.p, b.len);
	onyx_frame_free(&f);
	onyx_buf_free(&b);
	pn_message_free(m);
}

/* A stamped frame (version 2): the same records, and the stamp read back;
 * cut short in the stamp, it is no frame. */
static void
stamped(void **state)
{
	static const struct onyx_frame_stamp st = {
	    {1, 2, 3, 4, 5, 6, 7, 0xfe}, 63, 0x0102030405060708ULL};
	struct onyx_frame f = {0};
	struct onyx_buf b = {0};
	struct onyx_wire *w = onyx_wire_new();
	struct onyx_frame_reader r;
	enum onyx_wire_kind k;
	const char *body;
	size_t len;
	char err[256];

	(void)state;
	pack(&f);
	assert_int_equal(
	    onyx_frame_encode_stamped(&b, &f, "onyx-bucket-63", 14, &st), 0);
	read_back(b.p, b.len);
	assert_int_equal(
	    onyx_wire_decode(w, b.p, b.len, &k, &body, &len, err, sizeof(err)),
	    ONYX_OK);
	assert_int_equal(len, f.b.len + ONYX_FRAME_STAMP);
	assert_int_equal((unsigned char)body[3], ONYX_FRAME_VERSION_STAMPED);
	assert_int_equal(
	    onyx_frame_open(&r, body, len, 0, err, sizeof(err)), ONYX_OK);
	assert_memory_equal(r.sender, st.sender, 8);
	assert_int_equal(r.bucket, 63);
	assert_true(r.seq == 0x0102030405060708ULL);
	assert_int_equal(r.count, NSEGS);
	assert_int_equal(
	    onyx_frame_open(&r, body, ONYX_FRAME_HEAD + 5, 0, err, sizeof(err)),
	    ONYX_EDATA);
	assert_non_null(strstr(err, "cut short in its stamp"));
	/* version 1 reads with no stamp */
	assert_int_equal(
	    onyx_frame_open(&r, f.b.p, f.b.len, 0, err, sizeof(err)), ONYX_OK);
	assert_true(r.seq == 0);
	onyx_wire_free(w);
	onyx_frame_free(&f);
	onyx_buf_free(&b);
}

/* A frame another encoder wrote (proton's, with a footer after the body)
 * reads the same. */
static void
foreign_encoding(void **state)
{
	struct onyx_frame f = {0};
	pn_message_t *m = pn_message();
	char buf[4096];
	size_t n = sizeof(buf);
	pn_data_t *d;

	(void)state;
	pack(&f);
	pn_message_set_durable(m, true);
	pn_message_set_content_type(m, ONYX_FRAME_CONTENT_TYPE);
	pn_message_set_group_id(m, "onyx-bucket-3");
	pn_message_set_priority(m, 7);
	d = pn_message_body(m);
	pn_data_put_binary(d, pn_bytes(f.b.len, f.b.p));
	d = pn_message_annotations(m);
	pn_data_put_map(d);
	pn_data_enter(d);
	pn_data_put_symbol(d, pn_bytes(5, "x-opt"));
	pn_data_put_int(d, 1);
	pn_data_exit(d);
	assert_int_equal(pn_message_encode(m, buf, &n), 0);
	read_back(buf, n);
	onyx_frame_free(&f);
	pn_message_free(m);
}

static void
truncated(void **state)
{
	struct onyx_frame f = {0};
	struct onyx_frame_reader r;
	const char *seg;
	size_t sl;
	char err[256];

	(void)state;
	pack(&f);
	/* cut inside the last record: the first two read, then an error */
	assert_int_equal(
	    onyx_frame_open(&r, f.b.p, f.b.len - 3, 0, err, sizeof(err)),
	    ONYX_OK);
	assert_int_equal(onyx_frame_next(&r, &seg, &sl, err, sizeof(err)), 1);
	assert_int_equal(onyx_frame_next(&r, &seg, &sl, err, sizeof(err)), 1);
	assert_int_equal(
	    onyx_frame_next(&r, &seg, &sl, err, sizeof(err)), ONYX_EDATA);
	assert_string_equal(err,
	    "a packed frame cut short: record 3 of 3 is longer than what is "
	    "left");
	assert_int_equal(r.left, 4 + strlen(segs[2]) - 3);
	/* cut inside a length */
	assert_int_equal(onyx_frame_open(&r, f.b.p, ONYX_FRAME_HEAD + 2, 0, err,
	                     sizeof(err)),
	    ONYX_OK);
	assert_int_equal(
	    onyx_frame_next(&r, &seg, &sl, err, sizeof(err)), ONYX_EDATA);
	assert_string_equal(
	    err, "a packed frame cut short: record 1 of 3 has no length");
	/* shorter than the head */
	assert_int_equal(
	    onyx_frame_open(&r, f.b.p, 5, 0, err, sizeof(err)), ONYX_EDATA);
	assert_string_equal(err,
	    "not a packed frame: its body (5 bytes) does not start with the "
	    "frame's head");
	onyx_frame_free(&f);
}

static void
wrong_version(void **state)
{
	struct onyx_frame f = {0};
	struct onyx_frame_reader r;
	char err[256];

	(void)state;
	pack(&f);
	f.b.p[3] = 3;
	assert_int_equal(
	    onyx_frame_open(&r, f.b.p, f.b.len, 0, err, sizeof(err)),
	    ONYX_EDATA);
	assert_string_equal(err,
	    "a packed frame of version 3: this version reads versions 1 and 2");
	onyx_frame_free(&f);
}

static void
over_limit(void **state)
{
	struct onyx_frame f = {0};
	struct onyx_frame_reader r;
	char err[256], exp[128];
	const char *seg;
	size_t sl;

	(void)state;
	pack(&f);
	assert_int_equal(
	    onyx_frame_open(&r, f.b.p, f.b.len, f.b.len - 1, err, sizeof(err)),
	    ONYX_EDATA);
	snprintf(exp, sizeof(exp),
	    "a packed frame of %zu bytes, over the limit of %zu bytes", f.b.len,
	    f.b.len - 1);
	assert_string_equal(err, exp);
	/* at the limit it reads */
	assert_int_equal(
	    onyx_frame_open(&r, f.b.p, f.b.len, f.b.len, err, sizeof(err)),
	    ONYX_OK);
	assert_int_equal(onyx_frame_next(&r, &seg, &sl, err, sizeof(err)), 1);
	/* more bytes than its count says: an error after the records */
	f.b.p[7] = 1;
	assert_int_equal(
	    onyx_frame_open(&r, f.b.p, f.b.len, 0, err, sizeof(err)), ONYX_OK);
	assert_int_equal(onyx_frame_next(&r, &seg, &sl, err, sizeof(err)), 1);
	assert_int_equal(
	    onyx_frame_next(&r, &seg, &sl, err, sizeof(err)), ONYX_EDATA);
	snprintf(exp, sizeof(exp),
	    "a packed frame holds %zu bytes after its 1 record",
	    f.b.len - ONYX_FRAME_HEAD - 4 - strlen(segs[0]));
	assert_string_equal(err, exp);
	onyx_frame_free(&f);
}

/* Where a segment goes: in, after the frame is sent, or alone. */
static void
fit(void **state)
{
	struct onyx_frame f = {0};
	size_t max = 40;

	(void)state;
	/* 8 head + 4 length + 28 = 40: the most an empty frame takes */
	assert_int_equal(onyx_frame_fit(&f, 28, max), ONYX_FRAME_FITS);
	assert_int_equal(onyx_frame_fit(&f, 29, max), ONYX_FRAME_ALONE);
	assert_int_equal(onyx_frame_add(&f, "{}", 2), 0); /* 14 bytes */
	assert_int_equal(onyx_frame_fit(&f, 22, max), ONYX_FRAME_FITS);
	assert_int_equal(onyx_frame_fit(&f, 23, max), ONYX_FRAME_FULL);
	assert_int_equal(onyx_frame_fit(&f, 29, max), ONYX_FRAME_ALONE);
	onyx_frame_free(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(round_trip),
	    cmocka_unit_test(stamped),
	    cmocka_unit_test(fit),
	    cmocka_unit_test(foreign_encoding),
	    cmocka_unit_test(truncated),
	    cmocka_unit_test(wrong_version),
	    cmocka_unit_test(over_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
