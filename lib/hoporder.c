/* lib/hoporder.c: a task with keyed state processes each bucket's frames in the order their sender sent them, whatever dies. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "frame.h"
#include "hopint.h"
#include "log.h"
#include "order.h"
#include "state.h"
#include "status.h"

/*
 * Why: Artemis (2.40.0) moves a dead consumer's groups to another consumer
 * before that consumer's unacknowledged messages are back at the head of
 * the queue, so the new owner of a bucket may get a later frame first
 * (onyx(7), "Order of a bucket's frames"). The stamp of each frame (lib/
 * frame.h, version 2) says which frame of its sender it is; the bucket's
 * order record (lib/order.h), in its keyed state, says which was processed
 * last; a frame ahead of a gap waits here, acquired but not accepted, until
 * the frames before it arrive.
 */

/* A frame held aside. */
struct held {
	struct onyx_amqp_msg m; /* its delivery; bytes not kept */
	char *payload;
	size_t len;
	char sender[17];
	unsigned bucket;
	unsigned long long seq;
	long long since; /* onyx_mono_ms when held */
};

/* The last frame of a sender noted in this batch, for its commit. */
struct note {
	char sender[17];
	unsigned bucket;
	unsigned long long seq;
};

struct onyx_hoporder {
	struct held *held;
	size_t nheld, capheld;
	struct note *notes;
	size_t nnotes, capnotes;
	char *cur; /* the payload onyx_hoporder_next gave last */
	size_t max_held;
	long long hold_ms, ttl_ms;
};

static long long
env_ll(const char *name, long long dflt)
{
	const char *v = getenv(name);
	char *end;
	long long x;

	if (v == NULL || *v == '\0')
		return dflt;
	x = strtoll(v, &end, 10);
	return *end == '\0' && x > 0 ? x : dflt;
}

static struct onyx_hoporder *
ord_of(struct hop *h)
{
	if (h->ord != NULL)
		return h->ord;
	if ((h->ord = calloc(1, sizeof(*h->ord))) == NULL)
		return NULL;
	h->ord->max_held =
	    (size_t)env_ll("ONYX_ORDER_HOLD_FRAMES", ONYX_ORDER_HOLD_FRAMES);
	h->ord->hold_ms = env_ll("ONYX_ORDER_HOLD_MS", ONYX_ORDER_HOLD_MS);
	h->ord->ttl_ms =
	    env_ll("ONYX_ORDER_SENDER_TTL_MS", ONYX_ORDER_SENDER_TTL_MS);
	return h->ord;
}

static long long
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The note of sender in bucket b this batch, or NULL. */
static struct note *
note_of(struct onyx_hoporder *o, const char *sender, unsigned b)
{
	for (size_t i = o->nnotes; i-- > 0;)
		if (o->notes[i].bucket == b &&
		    strcmp(o->notes[i].sender, sender) == 0)
			return &o->notes[i];
	return NULL;
}

static int
note(struct onyx_hoporder *o, const char *sender, unsigned b,
    unsigned long long seq)
{
	struct note *n = note_of(o, sender, b);

	if (n == NULL) {
		if (o->nnotes == o->capnotes) {
			size_t cap = o->capnotes ? 2 * o->capnotes : 16;
			struct note *p =
			    reallocarray(o->notes, cap, sizeof(*p));
			if (p == NULL)
				return ONYX_ERR;
			o->notes = p;
			o->capnotes = cap;
		}
		n = &o->notes[o->nnotes++];
		memcpy(n->sender, sender, sizeof(n->sender));
		n->bucket = b;
	}
	n->seq = seq;
	return ONYX_OK;
}

/* The last frame of sender processed in bucket b: this batch's, or the
 * record's (restoring the bucket first). */
static int
last_of(struct hop *h, const char *sender, unsigned b, unsigned long long *last,
    bool *known)
{
	struct note *n = note_of(h->ord, sender, b);
	int st;

	if (n != NULL) {
		*last = n->seq;
		*known = true;
		return ONYX_OK;
	}
	if ((st = onyx_hopstate_enter_bucket(h, b)) != ONYX_OK)
		return st;
	*last = onyx_order_last(
	    onyx_state_get_json(h->state, ONYX_ORDER_KEY, ONYX_ORDER_KEYLEN),
	    sender);
	*known = *last > 0;
	return ONYX_OK;
}

int
onyx_hoporder_admit(struct hop *h, const struct onyx_amqp_msg *m,
    const char *payload, size_t len, bool *process, bool *skip)
{
	struct onyx_frame_reader r;
	struct onyx_hoporder *o;
	unsigned long long last;
	char sender[17], why[256];
	struct held *x;
	bool known;
	int st;

	*process = true;
	*skip = false;
	/* memory state is lost with its peer: a bucket's new owner would know
	 * no sender, and hold every frame the hold time */
	if (h->state == NULL ||
	    onyx_state_get_mode(h->state) != ONYX_STATE_DURABLE ||
	    onyx_frame_open(&r, payload, len, 0, why, sizeof(why)) != ONYX_OK ||
	    r.seq == 0 || r.bucket >= ONYX_STATE_BUCKETS)
		return ONYX_OK;
	if ((o = ord_of(h)) == NULL)
		return ONYX_ERR;
	onyx_order_hex(r.sender, sender);
	if ((st = last_of(h, sender, r.bucket, &last, &known)) != ONYX_OK)
		return st;
	switch (onyx_order_decide(last, r.seq)) {
	case ONYX_ORDER_NEXT: return note(o, sender, r.bucket, r.seq);
	case ONYX_ORDER_PAST:
		onyx_log(ONYX_LOG_WARN,
		    "task %s: bucket %u: frame %llu of sender %s came again after frame %llu was processed; it is accepted and not processed again",
		    h->t->name, r.bucket, r.seq, sender, last);
		*process = false;
		*skip = true;
		return ONYX_OK;
	case ONYX_ORDER_AHEAD: break;
	}
	*process = false;
	if (o->nheld >= o->max_held) {
		snprintf(h->err, h->errlen,
		    "task '%s': bucket %u: frame %llu of sender %s came before frame %llu; %zu frames are held aside waiting for theirs already (ONYX_ORDER_HOLD_FRAMES): the task stops rather than process a bucket out of order",
		    h->t->name, r.bucket, r.seq, sender, last + 1, o->nheld);
		return ONYX_EDATA;
	}
	if (o->nheld == o->capheld) {
		size_t cap = o->capheld ? 2 * o->capheld : 16;
		struct held *p = reallocarray(o->held, cap, sizeof(*p));
		if (p == NULL)
			return ONYX_ERR;
		o->held = p;
		o->capheld = cap;
	}
	x = &o->held[o->nheld];
	if ((x->payload = malloc(len > 0 ? len : 1)) == NULL)
		return ONYX_ERR;
	memcpy(x->payload, payload, len);
	x->len = len;
	x->m = *m;
	x->m.bytes = NULL;
	memcpy(x->sender, sender, sizeof(x->sender));
	x->bucket = r.bucket;
	x->seq = r.seq;
	x->since = onyx_mono_ms();
	o->nheld++;
	onyx_log(ONYX_LOG_INFO,
	    "task %s: bucket %u: frame %llu of sender %s came before frame %llu: held aside until its turn",
	    h->t->name, r.bucket, r.seq, sender, last + 1);
	return ONYX_OK;
}

/* Hand over held frame k, noted as processed. */
static int
take_held(struct hop *h, size_t k, struct onyx_amqp_msg *m,
    const char **payload, size_t *len)
{
	struct onyx_hoporder *o = h->ord;
	struct held x = o->held[k];

	memmove(&o->held[k], &o->held[k + 1],
	    (o->nheld - k - 1) * sizeof(*o->held));
	o->nheld--;
	if (note(o, x.sender, x.bucket, x.seq) != ONYX_OK) {
		free(x.payload);
		return ONYX_ERR;
	}
	free(o->cur);
	o->cur = x.payload;
	*m = x.m;
	m->bytes = NULL;
	*payload = x.payload;
	*len = x.len;
	return 1;
}

int
onyx_hoporder_next(
    struct hop *h, struct onyx_amqp_msg *m, const char **payload, size_t *len)
{
	struct onyx_hoporder *o = h->ord;
	long long now = onyx_mono_ms();
	size_t k, oldest;
	int st;

	if (o == NULL || o->nheld == 0)
		return 0;
	for (k = 0; k < o->nheld; k++) {
		struct held *x = &o->held[k];
		unsigned long long last;
		bool known;
		if ((st = last_of(h, x->sender, x->bucket, &last, &known)) !=
		    ONYX_OK)
			return st;
		if (onyx_order_decide(last, x->seq) != ONYX_ORDER_AHEAD)
			return take_held(h, k, m, payload, len);
	}
	/* none is next: the oldest, once it has waited the hold time */
	for (oldest = 0, k = 1; k < o->nheld; k++)
		if (o->held[k].since < o->held[oldest].since)
			oldest = k;
	if (now - o->held[oldest].since < o->hold_ms)
		return 0;
	{
		struct held *x = &o->held[oldest];
		unsigned long long last, low = x->seq;
		bool known;
		if ((st = last_of(h, x->sender, x->bucket, &last, &known)) !=
		    ONYX_OK)
			return st;
		if (known) {
			snprintf(h->err, h->errlen,
			    "task '%s': bucket %u: frame %llu of sender %s has waited %lld ms for frame %llu (ONYX_ORDER_HOLD_MS): the task stops rather than process a bucket out of order",
			    h->t->name, x->bucket, x->seq, x->sender,
			    now - x->since, last + 1);
			return ONYX_EDATA;
		}
		/* a sender this bucket has no record of: its first frame
		 * here is the lowest held */
		for (k = 0; k < o->nheld; k++)
			if (o->held[k].bucket == x->bucket &&
			    strcmp(o->held[k].sender, x->sender) == 0 &&
			    o->held[k].seq < low) {
				low = o->held[k].seq;
				oldest = k;
			}
		x = &o->held[oldest];
		onyx_log(ONYX_LOG_WARN,
		    "task %s: bucket %u: no record of sender %s (state kept in memory, lost, or pruned after ONYX_ORDER_SENDER_TTL_MS): after %lld ms its frames are processed from frame %llu on",
		    h->t->name, x->bucket, x->sender, now - x->since, x->seq);
		return take_held(h, oldest, m, payload, len);
	}
}

size_t
onyx_hoporder_held(const struct hop *h)
{
	return h->ord != NULL ? h->ord->nheld : 0;
}

int
onyx_hoporder_write(struct hop *h)
{
	struct onyx_hoporder *o = h->ord;
	long long now = wall_ms();
	size_t i;
	int st;

	if (o == NULL)
		return ONYX_OK;
	for (i = 0; i < o->nnotes; i++) {
		struct note *n = &o->notes[i];
		unsigned pruned = 0;
		json_t *rec;
		if ((st = onyx_hopstate_enter_bucket(h, n->bucket)) != ONYX_OK)
			return st;
		rec = onyx_order_note(onyx_state_get_json(h->state,
		                          ONYX_ORDER_KEY, ONYX_ORDER_KEYLEN),
		    n->sender, n->seq, now, o->ttl_ms, &pruned);
		if (rec == NULL ||
		    onyx_state_put_json(h->state, ONYX_ORDER_KEY,
		        ONYX_ORDER_KEYLEN, rec) != 0) {
			snprintf(h->err, h->errlen,
			    "task '%s': bucket %u: writing its order record: %s",
			    h->t->name, n->bucket,
			    rec == NULL ? "out of memory"
			                : onyx_state_why(h->state));
			return ONYX_ERR;
		}
		if (pruned > 0)
			onyx_log(ONYX_LOG_DEBUG,
			    "task %s: bucket %u: %u sender%s not seen for %lld ms left its order record",
			    h->t->name, n->bucket, pruned,
			    pruned == 1 ? "" : "s", o->ttl_ms);
	}
	o->nnotes = 0;
	return ONYX_OK;
}

void
onyx_hoporder_free(struct hop *h)
{
	struct onyx_hoporder *o = h->ord;

	if (o == NULL)
		return;
	for (size_t k = 0; k < o->nheld; k++) {
		onyx_amqp_release(h->a, &o->held[k].m);
		free(o->held[k].payload);
	}
	free(o->held);
	free(o->notes);
	free(o->cur);
	free(o);
	h->ord = NULL;
}
