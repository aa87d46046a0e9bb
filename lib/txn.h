/* lib/txn.h: the state machine of one AMQP 1.0 local transaction (no I/O here). */
#ifndef ONYX_TXN_H
#define ONYX_TXN_H

#include <stdbool.h>
#include <stddef.h>

enum onyx_txn_state {
	ONYX_TXN_IDLE,        /* no transaction */
	ONYX_TXN_DECLARING,   /* declare sent, waiting for Declared */
	ONYX_TXN_ACTIVE,      /* declared: transfers and accepts join it */
	ONYX_TXN_DISCHARGING, /* discharge sent, waiting for the outcome */
	ONYX_TXN_IN_DOUBT,    /* connection lost while discharging a commit */
};

enum onyx_txn_event {
	ONYX_TXN_EV_DECLARE,  /* we sent a declare */
	ONYX_TXN_EV_DECLARED, /* the broker answered Declared with an id */
	ONYX_TXN_EV_COMMIT,   /* we sent discharge(fail=false) */
	ONYX_TXN_EV_ROLLBACK, /* we sent discharge(fail=true) */
	ONYX_TXN_EV_ACCEPTED, /* the broker accepted the discharge */
	ONYX_TXN_EV_REJECTED, /* the broker rejected the declare or discharge */
	ONYX_TXN_EV_LOST,     /* the connection dropped */
	ONYX_TXN_EV_RESET,    /* forget an in-doubt outcome */
};

enum onyx_txn_outcome {
	ONYX_TXN_NONE, /* nothing ended yet */
	ONYX_TXN_COMMITTED,
	ONYX_TXN_ROLLED_BACK, /* by request, by rejection or by connection loss */
	ONYX_TXN_UNKNOWN, /* in doubt: the commit may or may not have happened */
};

struct onyx_txn {
	enum onyx_txn_state state;
	enum onyx_txn_outcome outcome; /* of the last transaction that ended */
	bool rollback;                 /* the discharge asked for fail=true */
	unsigned char id[64];          /* the broker's txn-id while declared */
	size_t idlen;
};

/* onyx_txn_init: an idle machine with no outcome. */
void onyx_txn_init(struct onyx_txn *t);

/*
 * onyx_txn_step: apply ev to t. Returns 0, or -1 (t unchanged) when ev is
 * not allowed in t's state: a bug in the caller.
 */
int onyx_txn_step(struct onyx_txn *t, enum onyx_txn_event ev);

/* onyx_txn_set_id: record the txn-id of DECLARED. Returns 0, -1 if too long. */
int onyx_txn_set_id(struct onyx_txn *t, const void *id, size_t len);

/* onyx_txn_state_name: "idle", "declaring", ... */
const char *onyx_txn_state_name(enum onyx_txn_state s);

#endif
