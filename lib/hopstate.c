/* lib/hopstate.c: a hop's keyed state (lib/state.h): the bucket of each segment, restore from the state queue, writes in the batch's transaction, the flush of every bucket. */
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include <proton/message.h>

#include "clock.h"
#include "hopint.h"
#include "log.h"
#include "state.h"
#include "status.h"
#include "wire.h"

#define PROP_BUCKET "onyx_bucket"
#define PROP_SEQ "onyx_seq"
#define PROP_FENCE "onyx_fence"
/* A restore takes its own fence back once it has come (take_selected);
 * one whose restorer died before that expires from the queue. */
#define FENCE_TTL_MS (10 * 60 * 1000)
/* removing what a snapshot makes old: messages asked for per drain, and
 * the wait for its answer */
#define TAKE_WINDOW 200
#define TAKE_WAIT_MS 5000
#define RESTORE_CREDIT 1000 /* records asked for per drain */
#define RESTORE_MAX_MESSAGE (1024 * 1024)
/* a drain unanswered this long (doubled each time): browse again, at most
 * RESTORE_TRIES times before the hop fails (about two minutes) */
#define DRAIN_MS 2000
#define RESTORE_TRIES 7

int
onyx_hopstate_open(struct hop *h)
{
	const struct onyx_task_spec *t = h->t;
	const char *v;
	int st;

	if (t->state_mode == ONYX_STATE_NONE)
		return ONYX_OK;
	if (t->state_mode == ONYX_STATE_DURABLE && t->state_queue == NULL) {
		snprintf(
		    h->err, h->errlen, "task '%s': no state queue", t->name);
		return ONYX_EUSAGE;
	}
	if ((h->state = onyx_state_new(t->state_mode)) == NULL)
		return ONYX_ERR;
	/* a tuning aid (and the tests' way to compact small buckets) */
	if ((v = getenv("ONYX_STATE_SNAPSHOT_BYTES")) != NULL)
		onyx_state_set_snapshot_bytes(
		    h->state, (size_t)strtoull(v, NULL, 10));
	h->emit.kstate = h->state;
	if (t->state_mode == ONYX_STATE_DURABLE &&
	    (st = onyx_amqp_sender(
	         h->a, t->state_queue, true, &h->state_out)) != ONYX_OK)
		return onyx_hop_fail(h, st, "opening the state queue");
	return ONYX_OK;
}

void
onyx_hopstate_close(struct hop *h)
{
	if (h->state_out != NULL)
		onyx_amqp_link_close(h->state_out);
	h->state_out = NULL;
	onyx_exec_stop(h->own_gx, 0);
	h->own_gx = NULL;
	onyx_state_free(h->state);
	h->state = NULL;
	h->emit.kstate = NULL;
	free(h->skey);
	h->skey = NULL;
}

/* The long integer property name of message m, or -1. */
static long long
int_prop(pn_message_t *m, const char *name)
{
	pn_data_t *p = onyx_wire_prop(m, name);

	switch (p == NULL ? PN_NULL : pn_data_type(p)) {
	case PN_LONG: return pn_data_get_long(p);
	case PN_INT: return pn_data_get_int(p);
	case PN_ULONG: return (long long)pn_data_get_ulong(p);
	case PN_UINT: return pn_data_get_uint(p);
	default: return -1;
	}
}

/* The string property name of message m into out; false when none. */
static bool
str_prop(pn_message_t *m, const char *name, pn_bytes_t *out)
{
	pn_data_t *p = onyx_wire_prop(m, name);

	if (p == NULL || pn_data_type(p) != PN_STRING)
		return false;
	*out = pn_data_get_string(p);
	return true;
}

/* The body text of message m: a string or binary value. */
static bool
body_of(pn_message_t *m, pn_bytes_t *out)
{
	pn_data_t *b = pn_message_body(m);

	pn_data_rewind(b);
	if (!pn_data_next(b))
		return false;
	if (pn_data_type(b) == PN_STRING)
		*out = pn_data_get_string(b);
	else if (pn_data_type(b) == PN_BINARY)
		*out = pn_data_get_binary(b);
	else
		return false;
	return true;
}

/* What take_selected takes: a fence (fence set) or bucket b's records
 * before seq below. */
struct take_what {
	unsigned b;
	const char *fence;
	unsigned long long below;
};

/* Whether message m is what w says, by its own properties. */
static bool
take_ok(pn_message_t *m, const struct take_what *w)
{
	pn_bytes_t fid;
	bool fenced = str_prop(m, PROP_FENCE, &fid);
	long long seq;

	if (int_prop(m, PROP_BUCKET) != (long long)w->b)
		return false;
	if (w->fence != NULL)
		return fenced && fid.size == strlen(w->fence) &&
		    memcmp(fid.start, w->fence, fid.size) == 0;
	seq = int_prop(m, PROP_SEQ);
	return !fenced && seq >= 0 && (unsigned long long)seq < w->below;
}

/*
 * Take from the state queue (outside the batch's transaction) what selector
 * sel selects and w confirms on each message itself, at most max messages
 * (-1: no limit), by drains of TAKE_WINDOW, each answered within wait_ms,
 * until one brings fewer than it asked for (a drain answered early leaves
 * the rest for the next removal); a message the broker gives that w does
 * not confirm goes back. *n what was taken.
 *
 * Not management's removeMessages with a filter: on Artemis 2.40 a call
 * whose filter selected one fence (a browse with the same selector gave that
 * one) answered 8 removed, and committed state records of other buckets were
 * gone (tests/0102 lost them in 2 runs of 6).
 */
static int
take_selected(struct hop *h, const char *sel, const struct take_what *w,
    long long max, int wait_ms, long long *n)
{
	struct onyx_link *l = NULL;
	pn_message_t *msg = pn_message();
	struct onyx_amqp_msg m;
	int st;

	*n = 0;
	if (msg == NULL)
		return ONYX_ERR;
	if ((st = onyx_amqp_taker(h->a, h->t->state_queue, sel, &l)) != ONYX_OK)
		goto out;
	onyx_amqp_set_max_message(l, RESTORE_MAX_MESSAGE);
	while (max < 0 || *n < max) {
		int want = max < 0 || max - *n > TAKE_WINDOW ? TAKE_WINDOW
		                                             : (int)(max - *n);
		int got = 0;
		if ((st = onyx_amqp_drain(l, want, wait_ms)) != ONYX_OK)
			break;
		while ((st = onyx_amqp_recv(l, 0, &m)) == ONYX_OK) {
			got++;
			pn_message_clear(msg);
			if (m.total == m.size &&
			    pn_message_decode(msg, m.bytes, m.size) == 0 &&
			    take_ok(msg, w)) {
				if ((st = onyx_amqp_accept(h->a, &m)) !=
				    ONYX_OK)
					goto out;
				(*n)++;
				continue;
			}
			onyx_log(ONYX_LOG_WARN,
			    "task %s: the broker gave a message of '%s' that the selector [%s] does not select; it goes back",
			    h->t->name, h->t->state_queue, sel);
			onyx_amqp_release(h->a, &m);
		}
		if (st != ONYX_ETIMEDOUT)
			break;
		st = ONYX_OK;
		if (got < want)
			break;
	}
out:
	if (l != NULL)
		onyx_amqp_link_close(l);
	pn_message_free(msg);
	return st;
}

/*
 * Encode a message of the state queue for bucket b into *out (malloc'd,
 * *outlen bytes): with fence, a fence of that id (an empty body, expiring
 * after FENCE_TTL_MS), else the record seq holding text. 0 or -1.
 */
static int
encode_state(unsigned b, const char *fence, unsigned long long seq,
    const char *text, size_t len, char **out, size_t *outlen)
{
	pn_message_t *m = pn_message();
	pn_data_t *p;
	size_t n = len + 512;
	char *buf = malloc(n);
	int rc = -1;

	if (m == NULL || buf == NULL)
		goto out;
	pn_message_set_durable(m, true);
	if (fence != NULL)
		pn_message_set_ttl(m, FENCE_TTL_MS);
	p = pn_message_properties(m);
	pn_data_put_map(p);
	pn_data_enter(p);
	pn_data_put_string(p, pn_bytes(strlen(PROP_BUCKET), PROP_BUCKET));
	pn_data_put_int(p, (int32_t)b);
	if (fence != NULL) {
		pn_data_put_string(p, pn_bytes(strlen(PROP_FENCE), PROP_FENCE));
		pn_data_put_string(p, pn_bytes(strlen(fence), fence));
	} else {
		pn_data_put_string(p, pn_bytes(strlen(PROP_SEQ), PROP_SEQ));
		pn_data_put_long(p, (int64_t)seq);
	}
	pn_data_exit(p);
	pn_data_put_string(pn_message_body(m),
	    fence != NULL ? pn_bytes(0, "") : pn_bytes(len, text));
	if (pn_message_encode(m, buf, &n) == 0) {
		*out = buf;
		*outlen = n;
		buf = NULL;
		rc = 0;
	}
out:
	free(buf);
	pn_message_free(m);
	return rc;
}

/*
 * Send a fence for bucket b to the state queue: a message outside the
 * transaction, with PROP_BUCKET b and PROP_FENCE id and no PROP_SEQ, and
 * wait until the broker has taken it (then it is in the queue, behind
 * every record committed before). The wait is onyx_amqp_settle_sends, for
 * every transfer of the connection: a refusal of one of the open batch's
 * outputs fails the restore (and so the batch, which is replayed).
 */
static int
send_fence(struct hop *h, unsigned b, const char *id, int timeout_ms)
{
	char *buf;
	size_t n;
	int st;

	if (encode_state(b, id, 0, NULL, 0, &buf, &n) != 0)
		return ONYX_ERR;
	if ((st = onyx_amqp_send(h->state_out, buf, n, false)) == ONYX_OK)
		st = onyx_amqp_settle_sends(h->a, timeout_ms);
	free(buf);
	return st;
}

/*
 * One browse of bucket b's records (a selector on the bucket) from the
 * head to this browse's own fence, drain by drain, each record applied in
 * order; the bucket starts empty.
 *
 * Why a fence: Artemis (2.40, ServerConsumerImpl's BrowserDeliverer)
 * stops delivering to a browser as soon as the connection is not
 * writable, keeps its place, and answers the drain (forceDelivery, run
 * after the deliverer on the queue's executor) with what it sent so far:
 * possibly nothing, while matching records remain. So no drain, empty or
 * not, says the browse has reached the end of the bucket's records, and
 * the restorer cannot know the last onyx_seq either (the old owner wrote
 * it). It can know where the end is by putting it there: before
 * attaching, it sends a fence for the bucket outside the transaction and
 * waits until the broker has taken it; the queue is FIFO (one priority)
 * and a browser sends in queue order, skipping only what the selector
 * does not select, so once the fence has come every record committed
 * before it has come too. Records committed later are not the
 * restorer's: the bucket is its own from the start of the restore.
 * Other restorers' fences (they expire after FENCE_TTL_MS) are not
 * selected. ONYX_ETIMEDOUT when nothing came
 * for drain_ms (the caller browses again, with a new fence); *n the
 * records read.
 */
static int
browse_bucket(struct hop *h, unsigned b, pn_message_t *msg, int drain_ms,
    long long *n, char *why, size_t whylen)
{
	static unsigned fences;
	const struct onyx_task_spec *t = h->t;
	struct onyx_link *l = NULL;
	char sel[192], id[96];
	long long last;
	bool fenced = false, empty = false;
	int st, got;

	*n = 0;
	snprintf(id, sizeof(id), "%ld-%u-%u-%lld", (long)getpid(), b, ++fences,
	    onyx_mono_ms());
	if ((st = send_fence(h, b, id, drain_ms)) != ONYX_OK) {
		snprintf(why, whylen, "sending a restore fence: %s",
		    onyx_amqp_error(h->a));
		return st;
	}
	if (onyx_state_restore_begin(h->state, b) != 0) {
		st = ONYX_ERR;
		goto out;
	}
	snprintf(sel, sizeof(sel),
	    PROP_BUCKET " = %u AND (" PROP_FENCE " IS NULL OR " PROP_FENCE
	                " = '%s')",
	    b, id);
	if ((st = onyx_amqp_browser_select(h->a, t->state_queue, sel, &l)) !=
	    ONYX_OK)
		goto out;
	onyx_amqp_set_max_message(l, RESTORE_MAX_MESSAGE);
	last = onyx_mono_ms();
	while (!fenced) {
		struct onyx_amqp_msg m;
		if ((st = onyx_amqp_drain(l, RESTORE_CREDIT, drain_ms)) !=
		    ONYX_OK)
			break;
		for (got = 0;
		     !fenced && (st = onyx_amqp_recv(l, 0, &m)) == ONYX_OK;
		     got++) {
			pn_bytes_t body, fid;
			long long seq;
			last = onyx_mono_ms();
			if (empty) {
				/* what the end of a browse at an empty drain
				 * would have missed */
				onyx_log(ONYX_LOG_DEBUG,
				    "task %s: bucket %u: a drain came back empty before the end (%lld records read)",
				    t->name, b, *n);
				empty = false;
			}
			pn_message_clear(msg);
			if (m.total > m.size ||
			    pn_message_decode(msg, m.bytes, m.size) != 0) {
				snprintf(why, whylen,
				    "a message that is not a state record");
				st = ONYX_EDATA;
			} else if (str_prop(msg, PROP_FENCE, &fid)) {
				/* a fence: this browse's own ends it */
				fenced = fid.size == strlen(id) &&
				    memcmp(fid.start, id, fid.size) == 0;
			} else if (!body_of(msg, &body) ||
			    (seq = int_prop(msg, PROP_SEQ)) < 0) {
				snprintf(why, whylen,
				    "a message that is not a state record");
				st = ONYX_EDATA;
			} else if (onyx_state_restore_record(h->state, b,
			               (unsigned long long)seq, body.start,
			               body.size, why, whylen) != 0)
				st = ONYX_EDATA;
			else
				(*n)++;
			if (st == ONYX_OK)
				st = onyx_amqp_accept(h->a, &m);
			if (st != ONYX_OK)
				goto out;
		}
		if (fenced) {
			st = ONYX_OK;
			break;
		}
		if (st != ONYX_ETIMEDOUT)
			break;
		if (got == 0)
			empty = true;
		/* an early answer (a busy connection): drain on, while
		 * records keep coming */
		if (onyx_mono_ms() - last >= drain_ms) {
			snprintf(why, whylen,
			    "the fence of a browse did not come within %d ms",
			    drain_ms);
			break;
		}
		st = ONYX_OK;
	}
out:
	if (l != NULL)
		onyx_amqp_link_close(l);
	onyx_state_restore_end(h->state, b);
	if (fenced) {
		/* the fence has done its work: take it back (it expires if
		 * this fails) */
		struct take_what w = {.b = b, .fence = id};
		long long took;
		char fsel[160];
		snprintf(fsel, sizeof(fsel), PROP_FENCE " = '%s'", id);
		int r = 0, tst;
		/* a drain answered early brings nothing: once more */
		while ((tst = take_selected(h, fsel, &w, 1, drain_ms, &took)) ==
		        ONYX_OK &&
		    took == 0 && ++r < 2)
			;
		if (tst != ONYX_OK || took != 1)
			onyx_log(ONYX_LOG_DEBUG,
			    "task %s: bucket %u: the restore fence %s was not taken back (%s); it expires",
			    t->name, b, id, onyx_amqp_error(h->a));
	}
	return st;
}

/*
 * Restore bucket b from the state queue. Artemis 2.40 now and then leaves
 * the drain of a browser with a selector unanswered (and its
 * countMessages with a filter looks at the first
 * management-browse-page-size messages only, so it cannot say how many
 * to expect): a browse whose drain goes unanswered, or whose fence does
 * not come, starts again, afresh, with a new fence.
 */
static int
restore(struct hop *h, unsigned b)
{
	const struct onyx_task_spec *t = h->t;
	pn_message_t *msg = pn_message();
	long long t0 = onyx_mono_ms(), n = 0;
	char why[512] = "";
	int st = ONYX_ERR, tries;

	for (tries = 1; msg != NULL && tries <= RESTORE_TRIES; tries++) {
		/* a busy broker answers late: the wait doubles each time */
		int ms = DRAIN_MS << (tries - 1);
		if (ms > t->txn_timeout_ms)
			ms = t->txn_timeout_ms;
		if ((st = browse_bucket(h, b, msg, ms, &n, why, sizeof(why))) !=
		    ONYX_ETIMEDOUT)
			break;
		onyx_log(ONYX_LOG_DEBUG,
		    "task %s: bucket %u: a drain of '%s' went unanswered for %d ms; browsing again",
		    t->name, b, t->state_queue, ms);
	}
	pn_message_free(msg);
	if (st == ONYX_EDATA) {
		onyx_state_unload(h->state, b);
		snprintf(h->err, h->errlen,
		    "task '%s': restoring bucket %u from '%s': %s", t->name, b,
		    t->state_queue, why);
		return st;
	}
	if (st != ONYX_OK) {
		onyx_state_unload(h->state, b);
		return onyx_hop_fail(h, st, "restoring state");
	}
	onyx_log(ONYX_LOG_DEBUG,
	    "task %s: bucket %u restored: %zu keys from %lld records in %lld ms (%d browse%s)",
	    t->name, b, onyx_state_nkeys(h->state, b), n, onyx_mono_ms() - t0,
	    tries, tries == 1 ? "" : "s");
	return ONYX_OK;
}

int
onyx_hopstate_enter_bucket(struct hop *h, unsigned b)
{
	int st;

	if (h->state == NULL || b >= ONYX_STATE_BUCKETS)
		return ONYX_ERR;
	if (!onyx_state_loaded(h->state, b) &&
	    onyx_state_get_mode(h->state) == ONYX_STATE_DURABLE &&
	    (st = restore(h, b)) != ONYX_OK)
		return st;
	return onyx_state_select(h->state, b) == 0 ? ONYX_OK : ONYX_ERR;
}

int
onyx_hopstate_enter(struct hop *h, const char *text, size_t len, json_t *seg,
    const char **key, size_t *klen, char *why, size_t whylen)
{
	unsigned b = 0;
	int st;

	*key = "";
	*klen = 0;
	if (h->state == NULL) {
		snprintf(h->err, h->errlen,
		    "task '%s' keeps no keyed state (no onyx/state)",
		    h->t->name);
		return ONYX_EUSAGE;
	}
	free(h->skey);
	h->skey = NULL;
	if (h->t->group != NULL) {
		if ((st = onyx_hopgroup_own(
		         h, text, len, seg, &h->skey, why, whylen)) != ONYX_OK)
			return st;
		if (onyx_hopgroup_bucket(h->skey, &b) != ONYX_OK)
			return ONYX_ERR;
		*key = h->skey;
		*klen = strlen(h->skey);
	}
	if (!onyx_state_loaded(h->state, b) &&
	    onyx_state_get_mode(h->state) == ONYX_STATE_DURABLE &&
	    (st = restore(h, b)) != ONYX_OK)
		return st;
	return onyx_state_select(h->state, b) == 0 ? ONYX_OK : ONYX_ERR;
}

/* Send one record to the state queue, in the open transaction. */
static int
send_record(void *ctx, unsigned bucket, unsigned long long seq,
    const char *text, size_t len)
{
	struct hop *h = ctx;
	char *buf;
	size_t n;
	int st;

	if (encode_state(bucket, NULL, seq, text, len, &buf, &n) != 0)
		return ONYX_ERR;
	if ((st = onyx_amqp_send(h->state_out, buf, n, true)) != ONYX_OK)
		st = onyx_hop_fail(h, st, "writing state");
	free(buf);
	return st;
}

int
onyx_hopstate_write(struct hop *h)
{
	int rc;

	if (h->state == NULL)
		return ONYX_OK;
	rc = onyx_state_batch_write(h->state, send_record, h);
	if (rc == -1) {
		snprintf(h->err, h->errlen,
		    "task '%s': encoding state records: out of memory",
		    h->t->name);
		return ONYX_ERR;
	}
	return rc;
}

/* Remove bucket b's records older than its committed snapshot snap. */
static void
remove_older(void *ctx, unsigned b, unsigned long long snap)
{
	struct hop *h = ctx;
	struct take_what w = {.b = b, .below = snap};
	char sel[128];
	long long n;
	int st;

	snprintf(sel, sizeof(sel), PROP_BUCKET " = %u AND " PROP_SEQ " < %llu",
	    b, snap);
	if ((st = take_selected(h, sel, &w, -1, TAKE_WAIT_MS, &n)) != ONYX_OK)
		/* stopping: said once by the hop, not per bucket */
		onyx_log(st == ONYX_EINTR ? ONYX_LOG_DEBUG : ONYX_LOG_WARN,
		    "task %s: removing the state records of bucket %u before its snapshot %llu (%lld removed; the next snapshot removes the rest): %s",
		    h->t->name, b, snap, n, onyx_amqp_error(h->a));
	else
		onyx_log(ONYX_LOG_DEBUG,
		    "task %s: bucket %u: snapshot %llu, %lld older records removed",
		    h->t->name, b, snap, n);
}

void
onyx_hopstate_committed(struct hop *h)
{
	if (h->state == NULL ||
	    onyx_state_get_mode(h->state) != ONYX_STATE_DURABLE)
		return;
	/* a commit still pending is the last batch's: the ones before it
	 * are done (one commit in flight at most) */
	onyx_state_batch_committed(
	    h->state, onyx_amqp_txn_pending(h->a) ? 1 : 0);
	onyx_state_take_snapshots(h->state, remove_older, h);
}

void
onyx_hopstate_abandon(struct hop *h)
{
	if (h->state != NULL)
		onyx_state_batch_abandon(h->state);
}

int
onyx_hopstate_flush_all(struct hop *h,
    int (*end)(struct hop *h, void *ctx, unsigned long long *emitted),
    void *ctx, unsigned long long *emitted)
{
	bool durable;
	unsigned b;
	int st = ONYX_OK;

	if (h->state == NULL || end == NULL)
		return ONYX_OK;
	durable = onyx_state_get_mode(h->state) == ONYX_STATE_DURABLE;
	for (b = 0; b < ONYX_STATE_BUCKETS && st == ONYX_OK; b++) {
		/* durable: what the broker holds, whatever this peer cached */
		if (durable && (st = restore(h, b)) != ONYX_OK)
			break;
		if (!onyx_state_loaded(h->state, b) ||
		    onyx_state_nkeys(h->state, b) == 0) {
			if (durable)
				onyx_state_unload(h->state, b);
			continue;
		}
		if (onyx_state_select(h->state, b) != 0) {
			st = ONYX_ERR;
			break;
		}
		if ((st = end(h, ctx, emitted)) != ONYX_OK)
			break;
		/* what the end changed (a window's state removed as it
		 * fires) goes with the flush's transaction */
		if ((st = onyx_hopstate_write(h)) != ONYX_OK)
			break;
		if (durable) {
			onyx_state_batch_forget(h->state);
			onyx_state_unload(h->state, b);
		}
	}
	if (st != ONYX_OK)
		onyx_state_batch_abandon(h->state);
	return st;
}
