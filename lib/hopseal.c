/* lib/hopseal.c: the sealing protocol of a task (lib/hop.h): ingress queues finished, the task sealed once. */
#include <stdio.h>

#include "clock.h"
#include "hopint.h"
#include "log.h"
#include "mgmt.h"
#include "state.h"
#include "status.h"
#include "wire.h"

#define HOLD_MS 300 /* how long a sentinel waits for count 1 */

static int
count(struct hop *h, const char *q, long long *n)
{
	char e[512];
	int st = onyx_mgmt_queue_count(h->m, q, n, e, sizeof(e));

	if (st != ONYX_OK)
		snprintf(h->err, h->errlen, "task '%s': count of '%s': %s",
		    h->t->name, q, e);
	return st;
}

static int
send_sentinel(struct hop *h, struct onyx_link *l)
{
	h->enc.len = 0;
	if (onyx_wire_encode_sentinel(&h->enc) != 0)
		return ONYX_ERR;
	return onyx_amqp_send(l, h->enc.p, h->enc.len, true);
}

/* In one transaction: take every SEAL marker, write the egress sentinels. */
static int
try_seal(struct hop *h, bool *sealed)
{
	const struct onyx_task_spec *t = h->t;
	struct onyx_link *r = NULL;
	struct onyx_amqp_msg m;
	unsigned long long emitted = 0;
	long long n;
	int st, got = 0, i;

	*sealed = false;
	if ((st = count(h, t->seal_queue, &n)) != ONYX_OK)
		return st;
	if (n < t->ningress)
		return ONYX_OK;
	/* every input is in: state kept by functions goes out first */
	if ((st = onyx_hopfn_flush(h)) != ONYX_OK)
		return st;
	if (h->stateful && t->holders != NULL) {
		char e[512];
		int k;
		if ((st = t->holders(t->hold_ctx, &k, e, sizeof(e))) !=
		    ONYX_OK) {
			snprintf(h->err, h->errlen,
			    "task '%s': peers holding state: %s", t->name, e);
			return st;
		}
		if (k > 0)
			return ONYX_OK; /* another peer has yet to flush */
	}
	if ((st = onyx_amqp_receiver(h->a, t->seal_queue, t->ningress, &r)) !=
	    ONYX_OK)
		return onyx_hop_fail(h, st, "reading the seal queue");
	if ((st = onyx_amqp_txn_declare(h->a, t->txn_timeout_ms)) != ONYX_OK) {
		onyx_amqp_link_close(r);
		return onyx_hop_fail(h, st, "declare");
	}
	/* Another peer may hold the markers in its own transaction. */
	while (
	    got < t->ningress && (st = onyx_amqp_recv(r, 500, &m)) == ONYX_OK) {
		if ((st = onyx_amqp_accept(h->a, &m)) != ONYX_OK)
			break;
		got++;
	}
	if (got < t->ningress) {
		onyx_amqp_txn_rollback(h->a, t->txn_timeout_ms);
		onyx_amqp_link_close(r);
		/* stopped while waiting (EINTR): the loop sees the flag */
		if (st != ONYX_OK && st != ONYX_ETIMEDOUT && st != ONYX_EINTR)
			return onyx_hop_fail(h, st, "reading the seal queue");
		return ONYX_OK;
	}
	/* durable keyed state: this peer writes every bucket's end results,
	 * restored from the broker, in the sealing transaction */
	if (h->state != NULL &&
	    onyx_state_get_mode(h->state) == ONYX_STATE_DURABLE &&
	    h->state_end != NULL) {
		h->batch_dead = 0;
		if ((st = onyx_hopstate_flush_all(h, h->state_end,
		         h->state_end_ctx, &emitted)) == ONYX_OK)
			st = onyx_hoppack_flush(h);
		if (st != ONYX_OK) {
			onyx_hop_rollback(h);
			onyx_amqp_link_close(r);
			return st;
		}
	}
	for (i = 0; i < t->negress && st == ONYX_OK; i++)
		st = send_sentinel(h, h->out[i]);
	if (st == ONYX_OK)
		st = send_sentinel(h, h->done_out);
	if (st == ONYX_OK)
		st = onyx_amqp_txn_commit(h->a, t->txn_timeout_ms);
	onyx_amqp_link_close(r);
	if (st != ONYX_OK)
		return onyx_hop_fail(h, st, "sealing");
	h->stats->written += emitted;
	h->stats->dead += h->batch_dead;
	h->batch_dead = 0;
	if (emitted > 0)
		onyx_log(ONYX_LOG_INFO,
		    "task %s: flushed every bucket of keyed state: %llu segment%s written",
		    t->name, emitted, emitted == 1 ? "" : "s");
	onyx_log(ONYX_LOG_INFO, "task %s: sealed: %d egress sentinel%s written",
	    t->name, t->negress, t->negress == 1 ? "" : "s");
	*sealed = true;
	return ONYX_OK;
}

/*
 * We hold the sentinel s of ingress j, our batch committed. Finish j when
 * nothing else of j is pending anywhere; otherwise move s to j's tail.
 */
int
onyx_hopseal_on_sentinel(
    struct hop *h, int j, struct onyx_amqp_msg *s, bool *sealed)
{
	const struct onyx_task_spec *t = h->t;
	long long n = -1, until = onyx_mono_ms() + HOLD_MS;
	int st;

	*sealed = false;
	for (;;) {
		if ((st = count(h, t->ingress[j], &n)) != ONYX_OK)
			return st;
		if (n <= 1 || onyx_mono_ms() >= until)
			break;
		/* other peers are finishing their batches of j: give them time */
		if ((st = onyx_amqp_wait(h->a, 50, -1)) == ONYX_EINTR) {
			/* stopped: the sentinel goes back for whoever comes next */
			onyx_amqp_release(h->a, s);
			return ONYX_OK;
		}
		if (st < 0)
			return onyx_hop_fail(h, st, "waiting");
	}
	if ((st = onyx_amqp_txn_declare(h->a, t->txn_timeout_ms)) != ONYX_OK)
		return onyx_hop_fail(h, st, "declare");
	if ((st = onyx_amqp_accept(h->a, s)) != ONYX_OK)
		return onyx_hop_fail(h, st, "accepting the sentinel");
	if (n <= 1)
		st = send_sentinel(h, h->seal_out);
	else {
		/* the link to j sends to j: the sentinel goes to the tail */
		struct onyx_link *back;
		if ((st = onyx_amqp_sender(h->a, t->ingress[j], true, &back)) ==
		    ONYX_OK) {
			st = send_sentinel(h, back);
			if (st == ONYX_OK)
				st = onyx_amqp_txn_commit(
				    h->a, t->txn_timeout_ms);
			onyx_amqp_link_close(back);
			if (st != ONYX_OK)
				return onyx_hop_fail(
				    h, st, "moving the sentinel");
			h->stats->requeues++;
			return ONYX_OK;
		}
	}
	if (st == ONYX_OK)
		st = onyx_amqp_txn_commit(h->a, t->txn_timeout_ms);
	if (st != ONYX_OK)
		return onyx_hop_fail(h, st, "finishing an ingress queue");
	onyx_log(ONYX_LOG_INFO, "task %s: ingress %s finished", t->name,
	    t->ingress[j]);
	return try_seal(h, sealed);
}

/* Idle: has the task sealed elsewhere, or is it ready to seal? */
int
onyx_hopseal_idle_check(struct hop *h, int *end)
{
	long long n;
	bool sealed;
	int st;

	*end = 0;
	if ((st = count(h, h->t->done_queue, &n)) != ONYX_OK)
		return st;
	if (n >= 1) {
		*end = ONYX_HOP_DONE;
		return ONYX_OK;
	}
	if ((st = try_seal(h, &sealed)) != ONYX_OK)
		return st;
	if (sealed)
		*end = ONYX_HOP_SEALED;
	return ONYX_OK;
}

/*
 * Has another peer taken the sentinel of this task's (single) ingress? Its
 * SEAL marker is committed with the sentinel's consumption, and SEAL is
 * written nothing else: the queue's count of messages ever added says so
 * in one request, whether the marker is still there or has moved to DONE
 * (a rolled-back marker is never added).
 */
int
onyx_hopseal_ingress_ended(struct hop *h, bool *ended)
{
	long long n;
	char e[512];
	int st;

	*ended = false;
	if ((st = onyx_mgmt_queue_added(
	         h->m, h->t->seal_queue, &n, e, sizeof(e))) != ONYX_OK) {
		snprintf(h->err, h->errlen, "task '%s': count of '%s': %s",
		    h->t->name, h->t->seal_queue, e);
		return st;
	}
	*ended = n > 0;
	return ONYX_OK;
}
