/* lib/hop.c: the hop loop: read a batch, apply the function, write, commit; the links, the stats, the end of a run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "clock.h"
#include "conf.h"
#include "exec.h"
#include "fn.h"
#include "frame.h"
#include "hop.h"
#include "hopint.h"
#include "json.h"
#include "log.h"
#include "mgmt.h"
#include "state.h"
#include "status.h"
#include "wire.h"

#define CHECK_EVERY_MS 1000 /* idle peers look at SEAL and DONE */
/* an idle peer looks this often whether its ingress holds messages nobody
 * is given, and says so once they have waited UNDELIVERED_MS */
#define UNDELIVERED_EVERY_MS 10000
#define UNDELIVERED_MS 30000
/* the credit of a receiver on a user's queue, in messages, at most: they
 * may be frames too, and a peer holds what it is given */
#define USER_CREDIT 256

size_t
onyx_hop_max_segment(const struct hop *h)
{
	return h->t->max_segment > 0 ? h->t->max_segment
	                             : ONYX_DEFAULT_MAX_SEGMENT;
}

int
onyx_hop_fail(struct hop *h, int st, const char *what)
{
	const char *q = st == ONYX_ETIMEDOUT ? onyx_amqp_starved(h->a) : NULL;
	char why[512], view[512];

	snprintf(why, sizeof(why), "%s", onyx_amqp_error(h->a));
	if (q == NULL || h->m == NULL) {
		snprintf(h->err, h->errlen, "task '%s': %s: %s", h->t->name,
		    what, why);
		return st;
	}
	/* no credit: say what the broker reports for the address */
	onyx_mgmt_address_view(h->m, q, view, sizeof(view));
	snprintf(h->err, h->errlen,
	    "task '%s': %s: %s; the broker reports for the address: %s",
	    h->t->name, what, why, view);
	return st;
}

int
onyx_hop_rollback(struct hop *h)
{
	onyx_hoppack_drop(h);
	onyx_hopstate_abandon(h);
	return onyx_amqp_txn_rollback(h->a, h->t->txn_timeout_ms);
}

static int
open_links(struct hop *h)
{
	const struct onyx_task_spec *t = h->t;
	int i, st;

	if (t->ningress < 1 || t->negress < 1) {
		snprintf(h->err, h->errlen,
		    "task '%s': no ingress or no egress queue", t->name);
		return ONYX_EUSAGE;
	}
	if ((h->in = calloc(t->ningress, sizeof(*h->in))) == NULL ||
	    (h->out = calloc(t->negress, sizeof(*h->out))) == NULL ||
	    (h->gx = calloc(t->negress, sizeof(*h->gx))) == NULL ||
	    (h->gids = calloc(t->negress, sizeof(*h->gids))) == NULL ||
	    (h->frames = calloc(t->negress, sizeof(*h->frames))) == NULL)
		return ONYX_ERR;
	h->frame_max = t->frame_max > 0 ? t->frame_max : ONYX_FRAME_MAX_DEFAULT;
	if ((st = onyx_mgmt_open(h->a, &h->m)) != ONYX_OK)
		return onyx_hop_fail(h, st, "management");
	for (i = 0; i < t->ningress; i++) {
		bool frames = t->ingress_packed != NULL && t->ingress_packed[i];
		if ((st = onyx_amqp_receiver(h->a, t->ingress[i],
		         frames                            ? ONYX_FRAME_CREDIT
		             : t->batch_size < USER_CREDIT ? t->batch_size
		                                           : USER_CREDIT,
		         &h->in[i])) != ONYX_OK)
			return onyx_hop_fail(h, st, "reading");
		/* a frame is at most frame_max; a longer segment travels alone */
		onyx_amqp_set_max_message(h->in[i],
		    (onyx_hop_max_segment(h) > h->frame_max
		            ? onyx_hop_max_segment(h)
		            : h->frame_max) +
		        ONYX_WIRE_SLACK);
	}
	for (i = 0; i < t->negress; i++)
		if ((st = onyx_amqp_sender(
		         h->a, t->egress[i], true, &h->out[i])) != ONYX_OK)
			return onyx_hop_fail(h, st, "writing");
	if ((st = onyx_amqp_sender(h->a, t->seal_queue, true, &h->seal_out)) !=
	        ONYX_OK ||
	    (st = onyx_amqp_sender(h->a, t->done_queue, true, &h->done_out)) !=
	        ONYX_OK)
		return onyx_hop_fail(h, st, "opening the task's queues");
	if (t->dlq_queue != NULL &&
	    (st = onyx_amqp_sender(h->a, t->dlq_queue, true, &h->dlq_out)) !=
	        ONYX_OK)
		return onyx_hop_fail(h, st, "opening the dead-letter queue");
	return ONYX_OK;
}

/*
 * Idle for UNDELIVERED_MS while an ingress queue holds messages that no
 * consumer is given (deliveringCount 0): the broker is not delivering them,
 * as Artemis 2.40.0 does after a paged commit failed (onyx(7), Broker flow
 * control). Say so once; only a broker restart delivers them.
 */
static void
check_undelivered(struct hop *h)
{
	long long now = onyx_mono_ms(), n, consumers;
	char res[600], e[512];
	json_t *v;
	int i;

	if (h->undelivered_said || now - h->last_read < UNDELIVERED_MS ||
	    now - h->last_undeliv < UNDELIVERED_EVERY_MS)
		return;
	h->last_undeliv = now;
	for (i = 0; i < h->t->ningress; i++) {
		const char *q = h->t->ingress[i];
		if (onyx_mgmt_queue_stat(
		        h->m, q, &n, &consumers, e, sizeof(e)) != ONYX_OK ||
		    n <= 1)
			continue; /* a sentinel alone may wait for its peers */
		snprintf(res, sizeof(res), "queue.%s", q);
		if (onyx_mgmt_call(h->m, res, "deliveringCount", NULL, "[]", &v,
		        e, sizeof(e)) != ONYX_OK)
			continue;
		if (json_is_integer(v) && json_integer_value(v) == 0) {
			onyx_log(ONYX_LOG_WARN,
			    "task %s: queue '%s' holds %lld messages, none delivered to its %lld consumer%s for %d s: the broker does not deliver them (see onyx(7), Broker flow control)",
			    h->t->name, q, n, consumers,
			    consumers == 1 ? "" : "s", UNDELIVERED_MS / 1000);
			h->undelivered_said = true;
		}
		json_decref(v);
	}
}

/* The commit in flight (if any) is known to be done: count it. */
static void
confirm(struct hop *h)
{
	struct onyx_hop_batch b;

	onyx_hopstate_committed(h);
	if (h->inflight_read == 0 && h->inflight_written == 0)
		return;
	h->stats->read += h->inflight_read;
	h->stats->written += h->inflight_written;
	h->stats->dead += h->inflight_dead;
	h->stats->batches++;
	if (h->t->batch != NULL) {
		b.segments = h->inflight_read;
		b.commit_seconds =
		    (double)(onyx_mono_us() - h->inflight_commit_us) / 1e6;
		b.fn_seconds = (double)h->inflight_fn_us / 1e6;
		h->t->batch(h->t->progress_ctx, h->stats, &b);
	}
	h->inflight_read = h->inflight_written = h->inflight_dead = 0;
	if (h->t->progress != NULL &&
	    onyx_mono_ms() - h->last_progress >= 1000) {
		h->last_progress = onyx_mono_ms();
		h->t->progress(h->t->progress_ctx, h->stats);
	}
}

/* Wait for the commit in flight. */
int
onyx_hop_settle(struct hop *h)
{
	int st;

	if (!onyx_amqp_txn_pending(h->a))
		return ONYX_OK;
	if ((st = onyx_amqp_txn_commit_end(h->a, h->t->txn_timeout_ms)) !=
	    ONYX_OK)
		return onyx_hop_fail(h, st, "commit");
	confirm(h);
	return ONYX_OK;
}

/*
 * One segment of the batch, the text body[0..len) (why: it is a dead
 * letter already, and body may be NULL). A C function applies to it now;
 * a program's segment becomes a slot, fed unless the feeding has failed
 * (*xfailed, set here when it does).
 */
static int
take(struct hop *h, const char *body, size_t len, const char *why,
    unsigned long long *emitted, bool *xfailed)
{
	char w[512], pe[400];
	int st;

	if (why == NULL && len > onyx_hop_max_segment(h)) {
		struct onyx_amqp_msg one = {.total = len};
		onyx_hopdead_oversize(
		    h, &one, body, len, w, sizeof(w), &body, &len);
		why = w;
	} else if (why == NULL) {
		if (onyx_json_check_object(body, len, pe, sizeof(pe)) !=
		    ONYX_OK) {
			snprintf(w, sizeof(w),
			    "not a segment (a JSON object): %s", pe);
			why = w;
		}
	}
	if (why != NULL && h->t->exec_argv == NULL)
		return onyx_hopdead_letter(h, body, len, body != NULL, why, 0);
	if (h->t->window != NULL)
		return onyx_hopwindow_apply(h, body, len, emitted);
	if (h->t->exec_argv == NULL)
		return onyx_hopfn_apply(h, body, len, emitted);
	if ((st = onyx_hopexec_slot_add(h, body, len, why)) != ONYX_OK)
		return st;
	if (why != NULL || *xfailed)
		return ONYX_OK;
	st = onyx_hopexec_feed(h, h->nslots - 1, emitted);
	if (st == ONYX_EDATA) {
		*xfailed = true;
		return ONYX_OK;
	}
	return st;
}

/*
 * Every segment of a frame, payload[0..len), counted in *n. What cannot be
 * read of it (another version, a frame cut short) is one dead letter
 * holding those bytes; the whole records before it go on.
 */
static int
take_frame(struct hop *h, const char *payload, size_t len, int *n,
    unsigned long long *emitted, bool *xfailed)
{
	struct onyx_frame_reader r;
	const char *seg;
	char why[512];
	size_t sl;
	int rc, st;

	if (onyx_frame_open(&r, payload, len, 0, why, sizeof(why)) != ONYX_OK) {
		(*n)++;
		return take(h, payload, len, why, emitted, xfailed);
	}
	while ((rc = onyx_frame_next(&r, &seg, &sl, why, sizeof(why))) == 1) {
		(*n)++;
		if ((st = take(h, seg, sl, NULL, emitted, xfailed)) != ONYX_OK)
			return st;
	}
	if (rc == 0)
		return ONYX_OK;
	(*n)++;
	return take(h, r.p, r.left, why, emitted, xfailed);
}

static int
loop(struct hop *h, volatile sig_atomic_t *stop)
{
	const struct onyx_task_spec *t = h->t;
	bool exec = t->exec_argv != NULL;
	long long last_check = 0;
	int st, end;

	for (;;) {
		struct onyx_amqp_msg m, held;
		long long deadline = 0;
		int n = 0, j, hj = -1;
		unsigned long long emitted = 0;
		bool open = false, sealed, xfailed = false;

		if (*stop)
			return onyx_hop_settle(h) == ONYX_OK ? ONYX_HOP_STOPPED
			                                     : ONYX_ERR;
		h->batch_dead = 0;
		h->batch_fn_us = 0;
		while (n < t->batch_size) {
			enum onyx_wire_kind kind = ONYX_WIRE_SEGMENT;
			const char *body = NULL;
			size_t len = 0;
			char why[512], pe[400];
			bool bad, big;
			int wait, got;
			long long fn_us;

			/* a frame held aside whose turn has come (lib/hoporder.c)
			 * before anything new */
			got = onyx_hoporder_next(h, &m, &body, &len);
			if (got < 0) {
				if (open)
					onyx_hop_rollback(h);
				return got;
			}
			if (got == 1) {
				/* a task with keyed state has one ingress */
				kind = ONYX_WIRE_FRAME;
				bad = big = false;
				j = 0;
			} else {
				wait = n == 0
				    ? CHECK_EVERY_MS
				    : (int)(deadline - onyx_mono_ms());
				/* a window's timer fires with or without segments */
				wait = onyx_hopwindow_wait(h, wait);
				if (wait < 0)
					wait = 0;
				st = onyx_amqp_recv_any(
				    h->in, t->ningress, wait, &m, &j);
				if (st == ONYX_ETIMEDOUT || st == ONYX_EINTR)
					break;
				if (st != ONYX_OK)
					return onyx_hop_fail(h, st, "reading");
				h->last_read = onyx_mono_ms();
				h->undelivered_said = false;
				big = m.total > m.size;
				bad = big ||
				    onyx_wire_decode(h->w, m.bytes, m.size,
				        &kind, &body, &len, pe,
				        sizeof(pe)) != ONYX_OK;
				if (!bad && kind == ONYX_WIRE_SEGMENT &&
				    len > onyx_hop_max_segment(h)) {
					m.total = len;
					big = true;
				}
				if (big) {
					onyx_hopdead_oversize(h, &m,
					    big && !bad ? body : NULL, len, why,
					    sizeof(why), &body, &len);
					bad = true;
				}
				if (!bad && kind == ONYX_WIRE_SENTINEL &&
				    onyx_hoporder_held(h) > 0) {
					/* frames before it are still to come */
					onyx_amqp_release(h->a, &m);
					continue;
				}
				if (!bad && kind == ONYX_WIRE_SENTINEL) {
					held = m;
					hj = j;
					break;
				}
			}
			if (bad && !big)
				snprintf(why, sizeof(why),
				    "not a segment (a JSON object): %s", pe);
			if (!open) {
				/* the batch's time runs from its first segment:
				 * the declare's round trip is part of it */
				deadline = onyx_mono_ms() + t->batch_timeout_ms;
				if ((st = onyx_amqp_txn_declare(
				         h->a, t->txn_timeout_ms)) != ONYX_OK)
					return onyx_hop_fail(h, st, "declare");
				open = true;
			}
			if (got == 0 && !bad && kind == ONYX_WIRE_FRAME &&
			    h->state != NULL) {
				/* a bucket's frames in their sender's order */
				bool process, skip;
				st = onyx_hoporder_admit(
				    h, &m, body, len, &process, &skip);
				if (st != ONYX_OK) {
					onyx_amqp_release(h->a, &m);
					if (exec)
						onyx_hopexec_undo(h, NULL);
					else
						onyx_hop_rollback(h);
					return st;
				}
				if (skip && exec &&
				    (st = onyx_hopexec_msg_add(h, &m)) !=
				        ONYX_OK)
					return st;
				if (skip && !exec &&
				    (st = onyx_amqp_accept(h->a, &m)) !=
				        ONYX_OK)
					return onyx_hop_fail(
					    h, st, "accepting");
				if (!process)
					continue;
			}
			if (exec && h->x == NULL &&
			    (st = onyx_hopexec_start(h)) != ONYX_OK) {
				/* after a flush, or a restart that failed */
				onyx_amqp_release(h->a, &m);
				onyx_hopexec_undo(h, NULL);
				return st;
			}
			/* a program's batch is accepted once it has answered */
			if (exec &&
			    (st = onyx_hopexec_msg_add(h, &m)) != ONYX_OK)
				return st;
			/* a user's queue of frames (onyx-queue send --packed):
			 * credit in frames from now on, memory bounded */
			fn_us = onyx_mono_us();
			if (!bad && kind == ONYX_WIRE_FRAME) {
				onyx_amqp_set_window(
				    h->in[j], ONYX_FRAME_CREDIT);
				st = take_frame(
				    h, body, len, &n, &emitted, &xfailed);
			} else {
				n++;
				st = take(h, body, len, bad ? why : NULL,
				    &emitted, &xfailed);
			}
			h->batch_fn_us += onyx_mono_us() - fn_us;
			if (exec) {
				if (st != ONYX_OK)
					return st;
				if (xfailed)
					break;
				continue;
			}
			if (st != ONYX_OK) {
				/* without a dead-letter queue: the task fails */
				onyx_amqp_release(h->a, &m);
				onyx_hop_rollback(h);
				return st;
			}
			if ((st = onyx_amqp_accept(h->a, &m)) != ONYX_OK)
				return onyx_hop_fail(h, st, "accepting");
		}
		if (exec && open) {
			long long fn_us = onyx_mono_us();
			st = onyx_hopexec_batch(h, stop, &emitted, xfailed);
			h->batch_fn_us += onyx_mono_us() - fn_us;
			if (st != ONYX_OK) {
				/* stopped, or failed: nothing of it was accepted */
				int ust = onyx_hopexec_undo(
				    h, hj >= 0 ? &held : NULL);
				if (st == ONYX_EINTR)
					return ust == ONYX_OK ? ONYX_HOP_STOPPED
					                      : ust;
				return st;
			}
			onyx_hopexec_slots_clear(h);
		}
		if (h->win != NULL && onyx_hopwindow_timer_due(h)) {
			/* in the batch's transaction, or one of its own */
			if (!open) {
				if ((st = onyx_amqp_txn_declare(
				         h->a, t->txn_timeout_ms)) != ONYX_OK)
					return onyx_hop_fail(h, st, "declare");
				open = true;
			}
			if ((st = onyx_hopwindow_timer(h, &emitted)) !=
			    ONYX_OK) {
				onyx_hop_rollback(h);
				return st;
			}
		}
		if (t->user_ingress && (open || hj >= 0)) {
			/*
			 * The sentinel of this stream went to another peer:
			 * what we hold (segments, even a sentinel) is the next
			 * stream's, for the next job on this queue. It goes
			 * back; the task is done here.
			 */
			bool ended;
			if ((st = onyx_hopseal_ingress_ended(h, &ended)) !=
			    ONYX_OK)
				return st;
			if (ended) {
				if (hj >= 0)
					onyx_amqp_release(h->a, &held);
				if ((st = onyx_hop_settle(h)) != ONYX_OK)
					return st;
				if (open &&
				    (st = onyx_hop_rollback(h)) != ONYX_OK)
					return onyx_hop_fail(h, st, "rollback");
				onyx_log(ONYX_LOG_INFO,
				    "task %s: %d segment%s after the end of the stream on %s went back",
				    t->name, n, n == 1 ? "" : "s",
				    t->ingress[0]);
				return ONYX_HOP_DONE;
			}
		}
		if (open) {
			/*
			 * Pipelining: the discharge goes out and the next batch
			 * is read, applied and written while the broker writes
			 * this one to its journal. Batches still commit in
			 * order, and a failed commit fails the next batch too,
			 * so a sequential task keeps its order.
			 */
			long long commit_us = onyx_mono_us();
			if ((st = onyx_hoppack_flush(h)) != ONYX_OK ||
			    (st = onyx_hoporder_write(h)) != ONYX_OK ||
			    (st = onyx_hopstate_write(h)) != ONYX_OK)
				return st;
			if ((st = onyx_amqp_txn_commit_begin(
			         h->a, t->txn_timeout_ms)) != ONYX_OK)
				return onyx_hop_fail(h, st, "commit");
			if (t->no_pipeline &&
			    (st = onyx_hop_settle(h)) != ONYX_OK)
				return st;
			confirm(h);
			h->inflight_read = n;
			h->inflight_written = emitted;
			h->inflight_dead = h->batch_dead;
			h->batch_dead = 0;
			h->inflight_commit_us = commit_us;
			h->inflight_fn_us = h->batch_fn_us;
		}
		/* Decisions below look at queue counts: settle the commit first. */
		if ((hj >= 0 || n == 0 || *stop) &&
		    (st = onyx_hop_settle(h)) != ONYX_OK)
			return st;
		if (hj >= 0) {
			if ((st = onyx_hopseal_on_sentinel(
			         h, hj, &held, &sealed)) != ONYX_OK)
				return st;
			if (sealed)
				return ONYX_HOP_SEALED;
			continue;
		}
		if (n == 0 && onyx_mono_ms() - last_check >= CHECK_EVERY_MS) {
			last_check = onyx_mono_ms();
			if ((st = onyx_hopseal_idle_check(h, &end)) != ONYX_OK)
				return st;
			if (end)
				return end;
			check_undelivered(h);
		}
	}
}

/* The batch arrays of a program function, and the function's init hook. */
static int
prepare(struct hop *h, volatile sig_atomic_t *stop)
{
	const struct onyx_task_spec *t = h->t;
	char e[512] = "";

	if (t->window != NULL)
		return onyx_hopwindow_start(h, stop);
	if (t->exec_argv != NULL)
		return onyx_hopexec_start(h);
	if (t->flush != NULL) {
		h->state_end = onyx_hopfn_end;
		h->state_end_ctx = NULL;
	}
	if (t->init == NULL)
		return ONYX_OK;
	if (t->init(t->params ? t->params : "{}", &h->emit.state, e,
	        sizeof(e)) != 0) {
		snprintf(h->err, h->errlen,
		    "task '%s': the init hook failed: %s", t->name,
		    e[0] ? e : "no reason given");
		return ONYX_EDATA;
	}
	h->inited = true;
	return ONYX_OK;
}

int
onyx_hop_run(struct onyx_amqp *a, const struct onyx_task_spec *t,
    volatile sig_atomic_t *stop, struct onyx_hop_stats *stats, char *err,
    size_t errlen)
{
	struct hop h;
	int st, i;

	memset(&h, 0, sizeof(h));
	memset(stats, 0, sizeof(*stats));
	h.a = a;
	h.t = t;
	h.stats = stats;
	h.err = err;
	h.errlen = errlen;
	/* durable keyed state is flushed by the peer that seals: no peer
	 * holds state of its own */
	h.stateful =
	    (t->exec_argv != NULL || t->flush != NULL || t->window != NULL) &&
	    t->state_mode != ONYX_STATE_DURABLE;
	h.last_read = onyx_mono_ms();
	if ((h.w = onyx_wire_new()) == NULL)
		return ONYX_ERR;
	st = open_links(&h);
	if (st == ONYX_OK)
		st = onyx_hopstate_open(&h);
	if (st == ONYX_OK)
		st = prepare(&h, stop);
	if (st == ONYX_OK)
		st = loop(&h, stop);
	/* a wait cut short by the stop flag is a stop, not a failure */
	if (st == ONYX_EINTR && *stop)
		st = ONYX_HOP_STOPPED;
	if (h.fed_any && !h.flushed) {
		if (t->flush != NULL)
			onyx_log(ONYX_LOG_WARN,
			    "task %s: the aggregation state of this peer is dropped: it left the task before its flush",
			    t->name);
		onyx_hopfn_unhold(&h);
	}
	onyx_hoporder_free(&h);
	onyx_exec_stop(h.x, 500);
	onyx_hopwindow_free(&h);
	for (i = 0; h.gx != NULL && i < t->negress; i++)
		onyx_exec_stop(h.gx[i], 0);
	onyx_hopexec_slots_clear(&h);
	free(h.slots);
	free(h.fed);
	free(h.msgs);
	onyx_hoppack_free(&h);
	onyx_buf_free(&h.bodies);
	if (h.inited && t->fini != NULL)
		t->fini(h.emit.state);
	onyx_hopstate_close(&h);
	for (i = 0; h.in != NULL && i < t->ningress; i++)
		if (h.in[i])
			onyx_amqp_link_close(h.in[i]);
	for (i = 0; h.out != NULL && i < t->negress; i++)
		if (h.out[i])
			onyx_amqp_link_close(h.out[i]);
	free(h.in);
	free(h.out);
	free(h.gx);
	free(h.gids);
	if (h.seal_out)
		onyx_amqp_link_close(h.seal_out);
	if (h.done_out)
		onyx_amqp_link_close(h.done_out);
	if (h.dlq_out)
		onyx_amqp_link_close(h.dlq_out);
	onyx_mgmt_close(h.m);
	onyx_wire_free(h.w);
	onyx_buf_free(&h.enc);
	onyx_buf_free(&h.genc);
	onyx_emit_free(&h.emit);
	free(h.gidv);
	return st;
}
