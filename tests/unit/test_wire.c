/* tests/unit/test_wire.c: the wire format: our encoding decodes with proton, foreign bodies, the sentinel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <proton/codec.h>
#include <proton/message.h>

#include "../../lib/status.h"
#include "../../lib/wire.h"

static void
segment_round_trip(void **state)
{
	struct onyx_buf b = {0};
	struct onyx_wire *w = onyx_wire_new();
	enum onyx_wire_kind k;
	const char *body;
	size_t len;
	char err[256];
	const char *short_json = "{\"a\":1}";
	char long_json[1000];
	pn_message_t *m = pn_message();

	(void)state;
	assert_int_equal(
	    onyx_wire_encode_segment(&b, short_json, strlen(short_json)), 0);
	/* proton reads our hand encoding as a durable JSON message */
	assert_int_equal(pn_message_decode(m, b.p, b.len), 0);
	assert_true(pn_message_is_durable(m));
	assert_string_equal(pn_message_get_content_type(m), "application/json");
	assert_int_equal(
	    onyx_wire_decode(w, b.p, b.len, &k, &body, &len, err, sizeof(err)),
	    ONYX_OK);
	assert_int_equal(k, ONYX_WIRE_SEGMENT);
	assert_int_equal(len, strlen(short_json));
	assert_memory_equal(body, short_json, len);
	/* a body longer than 255 bytes takes the str32 form */
	memset(long_json, 'x', sizeof(long_json));
	memcpy(long_json, "{\"k\":\"", 6);
	memcpy(long_json + sizeof(long_json) - 2, "\"}", 2);
	b.len = 0;
	assert_int_equal(
	    onyx_wire_encode_segment(&b, long_json, sizeof(long_json)), 0);
	assert_int_equal(
	    onyx_wire_decode(w, b.p, b.len, &k, &body, &len, err, sizeof(err)),
	    ONYX_OK);
	assert_int_equal(len, sizeof(long_json));
	assert_memory_equal(body, long_json, len);
	onyx_buf_free(&b);
	onyx_wire_free(w);
	pn_message_free(m);
}

/* A group-id rides in the properties; proton reads it back, body intact. */
static void
segment_group(void **state)
{
	struct onyx_buf b = {0};
	struct onyx_wire *w = onyx_wire_new();
	enum onyx_wire_kind k;
	const char *body, *json = "{\"word\":\"the\"}";
	char big[300], err[256];
	size_t len;
	pn_message_t *m = pn_message();

	(void)state;
	assert_int_equal(
	    onyx_wire_encode_segment_group(&b, json, strlen(json), "the", 3),
	    0);
	assert_int_equal(pn_message_decode(m, b.p, b.len), 0);
	assert_true(pn_message_is_durable(m));
	assert_string_equal(pn_message_get_content_type(m), "application/json");
	assert_string_equal(pn_message_get_group_id(m), "the");
	assert_int_equal(
	    onyx_wire_decode(w, b.p, b.len, &k, &body, &len, err, sizeof(err)),
	    ONYX_OK);
	assert_int_equal(k, ONYX_WIRE_SEGMENT);
	assert_int_equal(len, strlen(json));
	assert_memory_equal(body, json, len);
	/* a long body after a long group */
	memset(big, 'y', sizeof(big));
	memcpy(big, "{\"k\":\"", 6);
	memcpy(big + sizeof(big) - 2, "\"}", 2);
	b.len = 0;
	assert_int_equal(onyx_wire_encode_segment_group(
	                     &b, big, sizeof(big), big, ONYX_WIRE_GROUP_MAX),
	    0);
	assert_int_equal(pn_message_decode(m, b.p, b.len), 0);
	assert_int_equal(
	    strlen(pn_message_get_group_id(m)), ONYX_WIRE_GROUP_MAX);
	assert_int_equal(
	    onyx_wire_decode(w, b.p, b.len, &k, &body, &len, err, sizeof(err)),
	    ONYX_OK);
	assert_int_equal(len, sizeof(big));
	assert_memory_equal(body, big, len);
	/* too long a group is refused, nothing written */
	b.len = 0;
	assert_int_equal(onyx_wire_encode_segment_group(&b, json, strlen(json),
	                     big, ONYX_WIRE_GROUP_MAX + 1),
	    -1);
	assert_int_equal(b.len, 0);
	onyx_buf_free(&b);
	onyx_wire_free(w);
	pn_message_free(m);
}

static void
sentinel(void **state)
{
	struct onyx_buf b = {0};
	struct onyx_wire *w = onyx_wire_new();
	enum onyx_wire_kind k;
	const char *body;
	size_t len;
	char err[256];

	(void)state;
	assert_int_equal(onyx_wire_encode_sentinel(&b), 0);
	assert_int_equal(
	    onyx_wire_decode(w, b.p, b.len, &k, &body, &len, err, sizeof(err)),
	    ONYX_OK);
	assert_int_equal(k, ONYX_WIRE_SENTINEL);
	onyx_buf_free(&b);
	onyx_wire_free(w);
}

static size_t
encode(pn_message_t *m, char *buf, size_t cap)
{
	size_t n = cap;

	assert_int_equal(pn_message_encode(m, buf, &n), 0);
	return n;
}

static void
foreign_messages(void **state)
{
	struct onyx_wire *w = onyx_wire_new();
	pn_message_t *m = pn_message();
	enum onyx_wire_kind k;
	const char *body;
	size_t len, n;
	char buf[1024], err[256];
	pn_data_t *p;

	(void)state;
	/* an empty message is refused, not passed to proton (which aborts:
	 * found by fuzz/wire.c) */
	assert_int_equal(
	    onyx_wire_decode(w, buf, 0, &k, &body, &len, err, sizeof(err)),
	    ONYX_EDATA);
	assert_string_equal(err, "the message is empty (no AMQP sections)");
	/* a data section holding JSON text is a segment */
	pn_message_set_inferred(m, true);
	pn_data_put_binary(pn_message_body(m), pn_bytes(7, "{\"b\":2}"));
	n = encode(m, buf, sizeof(buf));
	assert_int_equal(
	    onyx_wire_decode(w, buf, n, &k, &body, &len, err, sizeof(err)),
	    ONYX_OK);
	assert_int_equal(k, ONYX_WIRE_SEGMENT);
	assert_memory_equal(body, "{\"b\":2}", 7);
	/* a user's JSON with the marker's name inside the body is a segment */
	pn_message_clear(m);
	pn_data_put_string(
	    pn_message_body(m), pn_bytes(22, "{\"onyx_sentinel\":true}"));
	n = encode(m, buf, sizeof(buf));
	assert_int_equal(
	    onyx_wire_decode(w, buf, n, &k, &body, &len, err, sizeof(err)),
	    ONYX_OK);
	assert_int_equal(k, ONYX_WIRE_SEGMENT);
	/* the property set to false is no sentinel */
	pn_message_clear(m);
	p = pn_message_properties(m);
	pn_data_put_map(p);
	pn_data_enter(p);
	pn_data_put_string(p, pn_bytes(13, "onyx_sentinel"));
	pn_data_put_bool(p, false);
	pn_data_exit(p);
	pn_data_put_string(pn_message_body(m), pn_bytes(2, "{}"));
	n = encode(m, buf, sizeof(buf));
	assert_int_equal(
	    onyx_wire_decode(w, buf, n, &k, &body, &len, err, sizeof(err)),
	    ONYX_OK);
	assert_int_equal(k, ONYX_WIRE_SEGMENT);
	/* a map body is not text */
	pn_message_clear(m);
	pn_data_put_map(pn_message_body(m));
	n = encode(m, buf, sizeof(buf));
	assert_int_equal(
	    onyx_wire_decode(w, buf, n, &k, &body, &len, err, sizeof(err)),
	    ONYX_EDATA);
	assert_string_equal(err, "the body is an AMQP map, not JSON text");
	/* garbage bytes */
	assert_int_equal(onyx_wire_decode(w, "\x01\x02\x03", 3, &k, &body, &len,
	                     err, sizeof(err)),
	    ONYX_EDATA);
	pn_message_free(m);
	onyx_wire_free(w);
}

/* The start of a segment cut short: its body text is found. */
static void
peek_body(void **state)
{
	struct onyx_buf b = {0};
	const char *body;
	size_t len, i;
	char big[1000];

	(void)state;
	memset(big, 'x', sizeof(big));
	big[0] = '{';
	assert_int_equal(onyx_wire_encode_segment(&b, big, sizeof(big)), 0);
	/* cut after 300 bytes: the body starts after the str32 header */
	assert_int_equal(onyx_wire_peek_body(b.p, 300, &body, &len), 0);
	assert_int_equal(body[0], '{');
	assert_int_equal(body + len, b.p + 300);
	for (i = 1; i < len; i++)
		assert_int_equal(body[i], 'x');
	b.len = 0;
	assert_int_equal(onyx_wire_encode_segment(&b, "{\"a\":1}", 7), 0);
	assert_int_equal(onyx_wire_peek_body(b.p, b.len, &body, &len), 0);
	assert_int_equal(len, 7);
	assert_memory_equal(body, "{\"a\":1}", 7);
	/* too short to reach the body */
	assert_int_equal(onyx_wire_peek_body(b.p, 10, &body, &len), -1);
	onyx_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(segment_round_trip),
	    cmocka_unit_test(segment_group),
	    cmocka_unit_test(sentinel),
	    cmocka_unit_test(foreign_messages),
	    cmocka_unit_test(peek_body),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
