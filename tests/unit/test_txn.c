/* tests/unit/test_txn.c: the AMQP transaction state machine, without a broker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../lib/txn.h"

static void
declared(struct onyx_txn *t)
{
	onyx_txn_init(t);
	assert_int_equal(onyx_txn_step(t, ONYX_TXN_EV_DECLARE), 0);
	assert_int_equal(t->state, ONYX_TXN_DECLARING);
	assert_int_equal(onyx_txn_set_id(t, "id-1", 4), 0);
	assert_int_equal(onyx_txn_step(t, ONYX_TXN_EV_DECLARED), 0);
	assert_int_equal(t->state, ONYX_TXN_ACTIVE);
}

static void
commit_ok(void **state)
{
	struct onyx_txn t;

	(void)state;
	declared(&t);
	assert_int_equal(onyx_txn_step(&t, ONYX_TXN_EV_COMMIT), 0);
	assert_int_equal(t.state, ONYX_TXN_DISCHARGING);
	assert_int_equal(onyx_txn_step(&t, ONYX_TXN_EV_ACCEPTED), 0);
	assert_int_equal(t.state, ONYX_TXN_IDLE);
	assert_int_equal(t.outcome, ONYX_TXN_COMMITTED);
	assert_int_equal(t.idlen, 0);
}

static void
rollback_ok(void **state)
{
	struct onyx_txn t;

	(void)state;
	declared(&t);
	assert_int_equal(onyx_txn_step(&t, ONYX_TXN_EV_ROLLBACK), 0);
	assert_int_equal(onyx_txn_step(&t, ONYX_TXN_EV_ACCEPTED), 0);
	assert_int_equal(t.outcome, ONYX_TXN_ROLLED_BACK);
}

static void
commit_rejected_rolls_back(void **state)
{
	struct onyx_txn t;

	(void)state;
	declared(&t);
	onyx_txn_step(&t, ONYX_TXN_EV_COMMIT);
	assert_int_equal(onyx_txn_step(&t, ONYX_TXN_EV_REJECTED), 0);
	assert_int_equal(t.state, ONYX_TXN_IDLE);
	assert_int_equal(t.outcome, ONYX_TXN_ROLLED_BACK);
}

static void
lost_while_active_rolls_back(void **state)
{
	struct onyx_txn t;

	(void)state;
	declared(&t);
	assert_int_equal(onyx_txn_step(&t, ONYX_TXN_EV_LOST), 0);
	assert_int_equal(t.state, ONYX_TXN_IDLE);
	assert_int_equal(t.outcome, ONYX_TXN_ROLLED_BACK);
}

static void
lost_while_committing_is_in_doubt(void **state)
{
	struct onyx_txn t;

	(void)state;
	declared(&t);
	onyx_txn_step(&t, ONYX_TXN_EV_COMMIT);
	assert_int_equal(onyx_txn_step(&t, ONYX_TXN_EV_LOST), 0);
	assert_int_equal(t.state, ONYX_TXN_IN_DOUBT);
	assert_int_equal(t.outcome, ONYX_TXN_UNKNOWN);
	/* nothing may join an in-doubt transaction */
	assert_int_equal(onyx_txn_step(&t, ONYX_TXN_EV_DECLARE), -1);
	assert_int_equal(onyx_txn_step(&t, ONYX_TXN_EV_RESET), 0);
	assert_int_equal(t.state, ONYX_TXN_IDLE);
	assert_int_equal(onyx_txn_step(&t, ONYX_TXN_EV_DECLARE), 0);
}

static void
lost_while_rolling_back_is_rolled_back(void **state)
{
	struct onyx_txn t;

	(void)state;
	declared(&t);
	onyx_txn_step(&t, ONYX_TXN_EV_ROLLBACK);
	assert_int_equal(onyx_txn_step(&t, ONYX_TXN_EV_LOST), 0);
	assert_int_equal(t.outcome, ONYX_TXN_ROLLED_BACK);
	assert_int_equal(t.state, ONYX_TXN_IDLE);
}

static void
illegal_transitions(void **state)
{
	struct onyx_txn t;

	(void)state;
	onyx_txn_init(&t);
	assert_int_equal(onyx_txn_step(&t, ONYX_TXN_EV_COMMIT), -1);
	assert_int_equal(onyx_txn_step(&t, ONYX_TXN_EV_DECLARED), -1);
	assert_int_equal(t.state, ONYX_TXN_IDLE);
	onyx_txn_step(&t, ONYX_TXN_EV_DECLARE);
	/* Declared without an id is refused */
	assert_int_equal(onyx_txn_step(&t, ONYX_TXN_EV_DECLARED), -1);
	assert_int_equal(onyx_txn_step(&t, ONYX_TXN_EV_DECLARE), -1);
	assert_int_equal(onyx_txn_step(&t, ONYX_TXN_EV_REJECTED), 0);
	assert_int_equal(t.outcome, ONYX_TXN_ROLLED_BACK);
	declared(&t);
	assert_int_equal(onyx_txn_step(&t, ONYX_TXN_EV_DECLARE), -1);
	assert_int_equal(onyx_txn_step(&t, ONYX_TXN_EV_ACCEPTED), -1);
	assert_int_equal(t.state, ONYX_TXN_ACTIVE);
}

static void
id_bounds(void **state)
{
	struct onyx_txn t;
	char big[65] = {0};

	(void)state;
	onyx_txn_init(&t);
	assert_int_equal(onyx_txn_set_id(&t, big, 0), -1);
	assert_int_equal(onyx_txn_set_id(&t, big, sizeof(big)), -1);
	assert_int_equal(onyx_txn_set_id(&t, big, 64), 0);
	assert_string_equal(onyx_txn_state_name(ONYX_TXN_IN_DOUBT), "in-doubt");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(commit_ok),
	    cmocka_unit_test(rollback_ok),
	    cmocka_unit_test(commit_rejected_rolls_back),
	    cmocka_unit_test(lost_while_active_rolls_back),
	    cmocka_unit_test(lost_while_committing_is_in_doubt),
	    cmocka_unit_test(lost_while_rolling_back_is_rolled_back),
	    cmocka_unit_test(illegal_transitions),
	    cmocka_unit_test(id_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
