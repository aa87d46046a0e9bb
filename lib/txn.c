/* lib/txn.c: transitions of an AMQP local transaction, kept apart from I/O to test them. */
#include <string.h>

#include "txn.h"

void
onyx_txn_init(struct onyx_txn *t)
{
	memset(t, 0, sizeof(*t));
	t->state = ONYX_TXN_IDLE;
	t->outcome = ONYX_TXN_NONE;
}

static void
end(struct onyx_txn *t, enum onyx_txn_outcome o)
{
	t->state = ONYX_TXN_IDLE;
	t->outcome = o;
	t->idlen = 0;
	t->rollback = false;
}

int
onyx_txn_step(struct onyx_txn *t, enum onyx_txn_event ev)
{
	switch (t->state) {
	case ONYX_TXN_IDLE:
		if (ev == ONYX_TXN_EV_DECLARE) {
			t->state = ONYX_TXN_DECLARING;
			t->outcome = ONYX_TXN_NONE;
			return 0;
		}
		if (ev == ONYX_TXN_EV_LOST || ev == ONYX_TXN_EV_RESET)
			return 0;
		return -1;
	case ONYX_TXN_DECLARING:
		if (ev == ONYX_TXN_EV_DECLARED) {
			if (t->idlen == 0)
				return -1;
			t->state = ONYX_TXN_ACTIVE;
			return 0;
		}
		if (ev == ONYX_TXN_EV_REJECTED || ev == ONYX_TXN_EV_LOST) {
			end(t, ONYX_TXN_ROLLED_BACK);
			return 0;
		}
		return -1;
	case ONYX_TXN_ACTIVE:
		if (ev == ONYX_TXN_EV_COMMIT || ev == ONYX_TXN_EV_ROLLBACK) {
			t->rollback = ev == ONYX_TXN_EV_ROLLBACK;
			t->state = ONYX_TXN_DISCHARGING;
			return 0;
		}
		if (ev == ONYX_TXN_EV_LOST) {
			/* The broker rolls back a transaction whose connection drops. */
			end(t, ONYX_TXN_ROLLED_BACK);
			return 0;
		}
		return -1;
	case ONYX_TXN_DISCHARGING:
		if (ev == ONYX_TXN_EV_ACCEPTED) {
			end(t,
			    t->rollback ? ONYX_TXN_ROLLED_BACK
			                : ONYX_TXN_COMMITTED);
			return 0;
		}
		if (ev == ONYX_TXN_EV_REJECTED) {
			end(t, ONYX_TXN_ROLLED_BACK);
			return 0;
		}
		if (ev == ONYX_TXN_EV_LOST) {
			if (t->rollback) {
				end(t, ONYX_TXN_ROLLED_BACK);
				return 0;
			}
			t->state = ONYX_TXN_IN_DOUBT;
			t->outcome = ONYX_TXN_UNKNOWN;
			t->idlen = 0;
			return 0;
		}
		return -1;
	case ONYX_TXN_IN_DOUBT:
		if (ev == ONYX_TXN_EV_RESET || ev == ONYX_TXN_EV_LOST) {
			t->state = ONYX_TXN_IDLE;
			return 0;
		}
		return -1;
	}
	return -1;
}

int
onyx_txn_set_id(struct onyx_txn *t, const void *id, size_t len)
{
	if (len == 0 || len > sizeof(t->id))
		return -1;
	memcpy(t->id, id, len);
	t->idlen = len;
	return 0;
}

const char *
onyx_txn_state_name(enum onyx_txn_state s)
{
	switch (s) {
	case ONYX_TXN_IDLE: return "idle";
	case ONYX_TXN_DECLARING: return "declaring";
	case ONYX_TXN_ACTIVE: return "active";
	case ONYX_TXN_DISCHARGING: return "discharging";
	case ONYX_TXN_IN_DOUBT: return "in-doubt";
	}
	return "?";
}
