/* tests/unit/test_order.c: the order of a bucket's frames: the verdict on a frame, the order record (last sequence per sender, pruning). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/order.h"

static void
verdicts(void **state)
{
	(void)state;
	/* an unknown sender: its first frame is the next */
	assert_int_equal(onyx_order_decide(0, 1), ONYX_ORDER_NEXT);
	assert_int_equal(onyx_order_decide(0, 2), ONYX_ORDER_AHEAD);
	assert_int_equal(onyx_order_decide(7, 8), ONYX_ORDER_NEXT);
	assert_int_equal(onyx_order_decide(7, 9), ONYX_ORDER_AHEAD);
	assert_int_equal(onyx_order_decide(7, 7), ONYX_ORDER_PAST);
	assert_int_equal(onyx_order_decide(7, 3), ONYX_ORDER_PAST);
}

static void
hex(void **state)
{
	static const unsigned char id[8] = {
	    0, 1, 0xab, 0xcd, 0xef, 0x10, 0x99, 0xff};
	char out[17];

	(void)state;
	onyx_order_hex(id, out);
	assert_string_equal(out, "0001abcdef1099ff");
}

static void
record(void **state)
{
	json_t *r1, *r2, *r3;
	unsigned pruned = 0;

	(void)state;
	assert_true(onyx_order_last(NULL, "a") == 0);
	r1 = onyx_order_note(NULL, "a", 5, 1000, 500, &pruned);
	assert_non_null(r1);
	assert_true(onyx_order_last(r1, "a") == 5);
	assert_true(onyx_order_last(r1, "b") == 0);
	/* another sender; a is kept (seen 1000, not before 1200 - 500) */
	r2 = onyx_order_note(r1, "b", 1, 1200, 500, &pruned);
	assert_true(onyx_order_last(r2, "a") == 5);
	assert_true(onyx_order_last(r2, "b") == 1);
	assert_int_equal(pruned, 0);
	assert_true(onyx_order_last(r1, "b") == 0); /* r1 unchanged */
	/* b again, later: a (seen 1000) is older than 1600 - 500 */
	r3 = onyx_order_note(r2, "b", 2, 1600, 500, &pruned);
	assert_true(onyx_order_last(r3, "a") == 0);
	assert_true(onyx_order_last(r3, "b") == 2);
	assert_int_equal(pruned, 1);
	assert_int_equal(json_object_size(r3), 1);
	/* not a record */
	assert_true(onyx_order_last(json_array_get(r3, 0), "b") == 0);
	json_decref(r1);
	json_decref(r2);
	json_decref(r3);
}

/* the reserved key cannot be a key of a window (w:...) or its "m" */
static void
reserved(void **state)
{
	(void)state;
	assert_int_equal(strlen(ONYX_ORDER_KEY), ONYX_ORDER_KEYLEN);
	assert_int_equal(ONYX_ORDER_KEY[0], ONYX_ORDER_RESERVED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(verdicts),
	    cmocka_unit_test(hex),
	    cmocka_unit_test(record),
	    cmocka_unit_test(reserved),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
