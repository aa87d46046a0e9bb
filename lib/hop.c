/* lib/hop.c: the hop loop (read a batch, apply the function, write, commit) and the sealing protocol. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "clock.h"
#include "buf.h"
#include "exec.h"
#include "fn.h"
#include "hop.h"
#include "json.h"
#include "log.h"
#include "mgmt.h"
#include "status.h"
#include "wire.h"

#define MAX_QUEUES 64
#define CHECK_EVERY_MS 1000   /* idle peers look at SEAL and DONE */
#define HOLD_MS 300           /* how long a sentinel waits for count 1 */
#define EXEC_TIMEOUT_MS 10000 /* a program's answers to a batch */
#define EXEC_ATTEMPTS 3       /* failed batches in a row before giving up */

struct hop {
	struct onyx_amqp *a;
	const struct onyx_task_spec *t;
	struct onyx_mgmt *m;
	struct onyx_link *in[MAX_QUEUES];
	struct onyx_link *out[MAX_QUEUES];
	struct onyx_link *seal_out;
	struct onyx_link *done_out;
	struct onyx_wire *w;
	struct onyx_buf enc;
	struct onyx_emit emit;
	struct onyx_hop_stats *stats;
	unsigned long long inflight_read,
	    inflight_written; /* commit in flight */
	long long last_progress;
	/* onyx/exec */
	struct onyx_exec *x;
	struct onyx_amqp_msg *msgs; /* the batch, accepted once answered */
	int nans;                   /* answers to this batch so far */
	int xfails;                 /* failed batches in a row */
	char xwhy[512];             /* why the program failed */
	char *err;
	size_t errlen;
};

static int
fail(struct hop *h, int st, const char *what)
{
	snprintf(h->err, h->errlen, "task '%s': %s: %s", h->t->name, what,
	    onyx_amqp_error(h->a));
	return st;
}

static int
count(struct hop *h, const char *q, long long *n)
{
	long long consumers;
	char e[512];
	int st = onyx_mgmt_queue_stat(h->m, q, n, &consumers, e, sizeof(e));

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
	long long n;
	int st, got = 0, i;

	*sealed = false;
	if ((st = count(h, t->seal_queue, &n)) != ONYX_OK)
		return st;
	if (n < t->ningress)
		return ONYX_OK;
	if ((st = onyx_amqp_receiver(h->a, t->seal_queue, t->ningress, &r)) !=
	    ONYX_OK)
		return fail(h, st, "reading the seal queue");
	if ((st = onyx_amqp_txn_declare(h->a, t->txn_timeout_ms)) != ONYX_OK) {
		onyx_amqp_link_close(r);
		return fail(h, st, "declare");
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
			return fail(h, st, "reading the seal queue");
		return ONYX_OK;
	}
	for (i = 0; i < t->negress && st == ONYX_OK; i++)
		st = send_sentinel(h, h->out[i]);
	if (st == ONYX_OK)
		st = send_sentinel(h, h->done_out);
	if (st == ONYX_OK)
		st = onyx_amqp_txn_commit(h->a, t->txn_timeout_ms);
	onyx_amqp_link_close(r);
	if (st != ONYX_OK)
		return fail(h, st, "sealing");
	onyx_log(ONYX_LOG_INFO, "task %s: sealed: %d egress sentinel%s written",
	    t->name, t->negress, t->negress == 1 ? "" : "s");
	*sealed = true;
	return ONYX_OK;
}

/*
 * We hold the sentinel s of ingress j, our batch committed. Finish j when
 * nothing else of j is pending anywhere; otherwise move s to j's tail.
 */
static int
on_sentinel(struct hop *h, int j, struct onyx_amqp_msg *s, bool *sealed)
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
			return fail(h, st, "waiting");
	}
	if ((st = onyx_amqp_txn_declare(h->a, t->txn_timeout_ms)) != ONYX_OK)
		return fail(h, st, "declare");
	if ((st = onyx_amqp_accept(h->a, s)) != ONYX_OK)
		return fail(h, st, "accepting the sentinel");
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
				return fail(h, st, "moving the sentinel");
			h->stats->requeues++;
			return ONYX_OK;
		}
	}
	if (st == ONYX_OK)
		st = onyx_amqp_txn_commit(h->a, t->txn_timeout_ms);
	if (st != ONYX_OK)
		return fail(h, st, "finishing an ingress queue");
	onyx_log(ONYX_LOG_INFO, "task %s: ingress %s finished", t->name,
	    t->ingress[j]);
	return try_seal(h, sealed);
}

/* Apply the function to one segment and send its results to every egress. */
static int
apply(struct hop *h, const char *body, size_t len)
{
	const struct onyx_task_spec *t = h->t;
	char fe[512] = "";
	size_t k, off = 0;
	int i, st;

	onyx_emit_reset(&h->emit);
	if (t->fn(body, len, t->params ? t->params : "{}", &h->emit, fe,
	        sizeof(fe)) != 0) {
		snprintf(h->err, h->errlen,
		    "task '%s': the function failed: %s", t->name,
		    fe[0] ? fe : "no reason given");
		return ONYX_EDATA;
	}
	for (k = 0; k < h->emit.n; k++) {
		size_t l = h->emit.len[k];
		h->enc.len = 0;
		if (onyx_wire_encode_segment(
		        &h->enc, h->emit.data.p + off, l) != 0)
			return ONYX_ERR;
		off += l;
		for (i = 0; i < t->negress; i++)
			if ((st = onyx_amqp_send(h->out[i], h->enc.p,
			         h->enc.len, true)) != ONYX_OK)
				return fail(h, st, "sending");
	}
	return ONYX_OK;
}

static int settle(struct hop *h);

/* Send one segment text to every egress. */
static int
send_segment(struct hop *h, const char *text, size_t len)
{
	int i, st;

	h->enc.len = 0;
	if (onyx_wire_encode_segment(&h->enc, text, len) != 0)
		return ONYX_ERR;
	for (i = 0; i < h->t->negress; i++)
		if ((st = onyx_amqp_send(
		         h->out[i], h->enc.p, h->enc.len, true)) != ONYX_OK)
			return fail(h, st, "sending");
	return ONYX_OK;
}

/*
 * The answers the program has given so far, of the n segments written:
 * send their segments. ONYX_EDATA (h->xwhy) for garbage.
 */
static int
exec_answers(struct hop *h, int n, unsigned long long *emitted)
{
	const char *line;
	size_t len;

	while (onyx_exec_answer(h->x, &line, &len)) {
		json_error_t je;
		json_t *v, *e;
		size_t i;
		int st = ONYX_OK;

		if (h->nans >= n) {
			snprintf(h->xwhy, sizeof(h->xwhy),
			    "the program answered more lines than it was "
			    "given: %.*s",
			    (int)(len < 80 ? len : 80), line);
			return ONYX_EDATA;
		}
		while (len > 0 && (*line == ' ' || *line == '\t')) {
			line++;
			len--;
		}
		while (
		    len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
			len--;
		if ((v = json_loadb(line, len, JSON_DECODE_ANY, &je)) == NULL) {
			snprintf(h->xwhy, sizeof(h->xwhy),
			    "the program answered a line that is not JSON "
			    "(%s): %.*s",
			    je.text, (int)(len < 80 ? len : 80), line);
			return ONYX_EDATA;
		}
		if (json_is_object(v)) {
			st = send_segment(h, line, len);
			(*emitted)++;
		} else if (json_is_array(v)) {
			json_array_foreach(v, i, e) if (!json_is_object(e))
			{
				st = ONYX_EDATA;
				break;
			}
			json_array_foreach(v, i, e)
			{
				char *text;
				if (st != ONYX_OK)
					break;
				text = json_dumps(
				    e, JSON_COMPACT | JSON_PRESERVE_ORDER);
				if (text == NULL) {
					st = ONYX_ERR;
					break;
				}
				st = send_segment(h, text, strlen(text));
				free(text);
				(*emitted)++;
			}
		} else if (!json_is_null(v))
			st = ONYX_EDATA;
		json_decref(v);
		if (st == ONYX_EDATA)
			snprintf(h->xwhy, sizeof(h->xwhy),
			    "the program answered a line that is not an "
			    "object, an array of objects or null: %.*s",
			    (int)(len < 80 ? len : 80), line);
		if (st != ONYX_OK)
			return st;
		h->nans++;
	}
	return ONYX_OK;
}

/* Hand segment n of the batch (m, its text body) to the program. */
static int
exec_in(struct hop *h, int n, const char *body, size_t len,
    unsigned long long *emitted)
{
	int st;

	if ((st = onyx_exec_write(h->x, body, len, h->xwhy, sizeof(h->xwhy))) !=
	    ONYX_OK)
		return st == ONYX_ERR ? ONYX_EDATA : st;
	if ((st = onyx_exec_pump(h->x, 0, h->xwhy, sizeof(h->xwhy))) != ONYX_OK)
		return ONYX_EDATA;
	return exec_answers(h, n + 1, emitted);
}

/*
 * Wait for the answers to the n segments of the batch, servicing the
 * connection. ONYX_OK; ONYX_EDATA (h->xwhy) when the program failed;
 * ONYX_EINTR when *stop was set; or the connection's error.
 */
static int
exec_finish(struct hop *h, int n, unsigned long long *emitted,
    volatile sig_atomic_t *stop)
{
	int tmo =
	    h->t->exec_timeout_ms > 0 ? h->t->exec_timeout_ms : EXEC_TIMEOUT_MS;
	long long until = onyx_mono_ms() + tmo;
	int st;

	for (;;) {
		long long left;

		if ((st = exec_answers(h, n, emitted)) != ONYX_OK)
			return st;
		if (h->nans >= n)
			return ONYX_OK;
		if (*stop)
			return ONYX_EINTR;
		if ((left = until - onyx_mono_ms()) <= 0) {
			snprintf(h->xwhy, sizeof(h->xwhy),
			    "timeout: the program gave %d of %d answers in "
			    "%d ms",
			    h->nans, n, tmo);
			return ONYX_EDATA;
		}
		if (onyx_exec_pump(h->x, left < 50 ? (int)left : 50, h->xwhy,
		        sizeof(h->xwhy)) != ONYX_OK)
			return ONYX_EDATA;
		st = onyx_amqp_wait(h->a, 0, -1);
		if (st < 0 && st != ONYX_EINTR)
			return fail(h, st, "waiting");
	}
}

static int
exec_start(struct hop *h)
{
	char e[512];
	int st = onyx_exec_start(
	    h->t->exec_argv, h->t->params, h->t->name, &h->x, e, sizeof(e));

	if (st != ONYX_OK)
		snprintf(h->err, h->errlen, "task '%s': %s", h->t->name, e);
	return st;
}

/*
 * Undo the batch of n segments (and the sentinel s, when held): nothing
 * was accepted, so its messages go back to their queues and its sends are
 * dropped. The program is killed, and started again unless it failed
 * EXEC_ATTEMPTS batches in a row (ONYX_EDATA).
 */
static int
exec_undo(struct hop *h, int n, struct onyx_amqp_msg *s, bool failed)
{
	int i, st;

	if ((st = settle(h)) != ONYX_OK)
		return st;
	for (i = 0; i < n; i++)
		onyx_amqp_release(h->a, &h->msgs[i]);
	if (s != NULL)
		onyx_amqp_release(h->a, s);
	if (n > 0 &&
	    (st = onyx_amqp_txn_rollback(h->a, h->t->txn_timeout_ms)) !=
	        ONYX_OK)
		return fail(h, st, "rollback");
	if (!failed)
		return ONYX_OK;
	onyx_exec_stop(h->x, 0);
	h->x = NULL;
	h->xfails++;
	onyx_log(ONYX_LOG_WARN,
	    "task %s: %s; the batch of %d segment%s was rolled back "
	    "(failure %d of %d)",
	    h->t->name, h->xwhy, n, n == 1 ? "" : "s", h->xfails,
	    EXEC_ATTEMPTS);
	if (h->xfails >= EXEC_ATTEMPTS) {
		snprintf(h->err, h->errlen,
		    "task '%s': the program failed %d batches in a row: %s",
		    h->t->name, h->xfails, h->xwhy);
		return ONYX_EDATA;
	}
	return exec_start(h);
}

static int
open_links(struct hop *h)
{
	const struct onyx_task_spec *t = h->t;
	int i, st;

	if (t->ningress < 1 || t->ningress > MAX_QUEUES || t->negress < 1 ||
	    t->negress > MAX_QUEUES) {
		snprintf(h->err, h->errlen,
		    "task '%s': 1 to %d ingress and "
		    "egress queues",
		    t->name, MAX_QUEUES);
		return ONYX_EUSAGE;
	}
	if ((st = onyx_mgmt_open(h->a, &h->m)) != ONYX_OK)
		return fail(h, st, "management");
	for (i = 0; i < t->ningress; i++)
		if ((st = onyx_amqp_receiver(h->a, t->ingress[i], t->batch_size,
		         &h->in[i])) != ONYX_OK)
			return fail(h, st, "reading");
	for (i = 0; i < t->negress; i++)
		if ((st = onyx_amqp_sender(
		         h->a, t->egress[i], true, &h->out[i])) != ONYX_OK)
			return fail(h, st, "writing");
	if ((st = onyx_amqp_sender(h->a, t->seal_queue, true, &h->seal_out)) !=
	        ONYX_OK ||
	    (st = onyx_amqp_sender(h->a, t->done_queue, true, &h->done_out)) !=
	        ONYX_OK)
		return fail(h, st, "opening the task's queues");
	return ONYX_OK;
}

/* Idle: has the task sealed elsewhere, or is it ready to seal? */
static int
idle_check(struct hop *h, int *end)
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

/* The commit in flight (if any) is known to be done: count it. */
static void
confirm(struct hop *h)
{
	if (h->inflight_read == 0 && h->inflight_written == 0)
		return;
	h->stats->read += h->inflight_read;
	h->stats->written += h->inflight_written;
	h->stats->batches++;
	h->inflight_read = h->inflight_written = 0;
	if (h->t->progress != NULL &&
	    onyx_mono_ms() - h->last_progress >= 1000) {
		h->last_progress = onyx_mono_ms();
		h->t->progress(h->t->progress_ctx, h->stats);
	}
}

/* Wait for the commit in flight. */
static int
settle(struct hop *h)
{
	int st;

	if (!onyx_amqp_txn_pending(h->a))
		return ONYX_OK;
	if ((st = onyx_amqp_txn_commit_end(h->a, h->t->txn_timeout_ms)) !=
	    ONYX_OK)
		return fail(h, st, "commit");
	confirm(h);
	return ONYX_OK;
}

static int
loop(struct hop *h, volatile sig_atomic_t *stop)
{
	const struct onyx_task_spec *t = h->t;
	long long last_check = 0;
	int st, end;

	for (;;) {
		struct onyx_amqp_msg m, held;
		long long deadline = 0;
		int n = 0, j, hj = -1;
		unsigned long long emitted = 0;
		bool open = false, sealed, xfailed = false;

		if (*stop)
			return settle(h) == ONYX_OK ? ONYX_HOP_STOPPED
			                            : ONYX_ERR;
		while (n < t->batch_size) {
			int wait;
			enum onyx_wire_kind kind;
			const char *body;
			size_t len;
			char why[256];

			wait = n == 0 ? CHECK_EVERY_MS
			              : (int)(deadline - onyx_mono_ms());
			if (wait < 0)
				wait = 0;
			st = onyx_amqp_recv_any(
			    h->in, t->ningress, wait, &m, &j);
			if (st == ONYX_ETIMEDOUT || st == ONYX_EINTR)
				break;
			if (st != ONYX_OK)
				return fail(h, st, "reading");
			if (onyx_wire_decode(h->w, m.bytes, m.size, &kind,
			        &body, &len, why, sizeof(why)) == ONYX_OK &&
			    kind == ONYX_WIRE_SENTINEL) {
				held = m;
				hj = j;
				break;
			}
			if (kind != ONYX_WIRE_SEGMENT || body == NULL) {
				/* not ours to read: keep it for the dead-letter
				 * work to come, and stop */
				snprintf(h->err, h->errlen,
				    "task '%s': a message "
				    "on '%s' is not a segment: %s",
				    t->name, t->ingress[j], why);
				onyx_amqp_release(h->a, &m);
				for (j = 0; t->exec_argv != NULL && j < n; j++)
					onyx_amqp_release(h->a, &h->msgs[j]);
				if (open)
					onyx_amqp_txn_rollback(
					    h->a, t->txn_timeout_ms);
				return ONYX_EDATA;
			}
			if (!open) {
				if ((st = onyx_amqp_txn_declare(
				         h->a, t->txn_timeout_ms)) != ONYX_OK)
					return fail(h, st, "declare");
				open = true;
				deadline = onyx_mono_ms() + t->batch_timeout_ms;
			}
			if (t->exec_argv != NULL) {
				/* accepted once the program has answered */
				h->msgs[n++] = m;
				if ((st = exec_in(h, n - 1, body, len,
				         &emitted)) == ONYX_EDATA) {
					xfailed = true;
					break;
				}
				if (st != ONYX_OK)
					return st;
				continue;
			}
			if ((st = apply(h, body, len)) != ONYX_OK) {
				onyx_amqp_release(h->a, &m);
				onyx_amqp_txn_rollback(h->a, t->txn_timeout_ms);
				return st;
			}
			if ((st = onyx_amqp_accept(h->a, &m)) != ONYX_OK)
				return fail(h, st, "accepting");
			emitted += h->emit.n;
			n++;
		}
		if (t->exec_argv != NULL && open) {
			if (!xfailed) {
				st = exec_finish(h, n, &emitted, stop);
				if (st == ONYX_EINTR) {
					if ((st = exec_undo(h, n,
					         hj >= 0 ? &held : NULL,
					         false)) != ONYX_OK)
						return st;
					return ONYX_HOP_STOPPED;
				}
				if (st != ONYX_OK && st != ONYX_EDATA)
					return st;
				xfailed = st == ONYX_EDATA;
			}
			if (xfailed) {
				if ((st = exec_undo(
				         h, n, hj >= 0 ? &held : NULL, true)) !=
				    ONYX_OK)
					return st;
				h->nans = 0;
				continue;
			}
			for (j = 0; j < n; j++)
				if ((st = onyx_amqp_accept(
				         h->a, &h->msgs[j])) != ONYX_OK)
					return fail(h, st, "accepting");
			h->nans = 0;
			h->xfails = 0;
		}
		if (open) {
			/*
			 * Pipelining: the discharge goes out and the next batch
			 * is read, applied and written while the broker writes
			 * this one to its journal. Batches still commit in
			 * order, and a failed commit fails the next batch too,
			 * so a sequential task keeps its order.
			 */
			if ((st = onyx_amqp_txn_commit_begin(
			         h->a, t->txn_timeout_ms)) != ONYX_OK)
				return fail(h, st, "commit");
			if (t->no_pipeline && (st = settle(h)) != ONYX_OK)
				return st;
			confirm(h);
			h->inflight_read = n;
			h->inflight_written = emitted;
		}
		/* Decisions below look at queue counts: settle the commit first. */
		if ((hj >= 0 || n == 0 || *stop) && (st = settle(h)) != ONYX_OK)
			return st;
		if (hj >= 0) {
			if ((st = on_sentinel(h, hj, &held, &sealed)) !=
			    ONYX_OK)
				return st;
			if (sealed)
				return ONYX_HOP_SEALED;
			continue;
		}
		if (n == 0 && onyx_mono_ms() - last_check >= CHECK_EVERY_MS) {
			last_check = onyx_mono_ms();
			if ((st = idle_check(h, &end)) != ONYX_OK)
				return st;
			if (end)
				return end;
		}
	}
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
	if ((h.w = onyx_wire_new()) == NULL)
		return ONYX_ERR;
	st = open_links(&h);
	if (st == ONYX_OK && t->exec_argv != NULL) {
		if ((h.msgs = calloc(t->batch_size > 0 ? t->batch_size : 1,
		         sizeof(*h.msgs))) == NULL)
			st = ONYX_ERR;
		else
			st = exec_start(&h);
	}
	if (st == ONYX_OK)
		st = loop(&h, stop);
	/* a wait cut short by the stop flag is a stop, not a failure */
	if (st == ONYX_EINTR && *stop)
		st = ONYX_HOP_STOPPED;
	onyx_exec_stop(h.x, 500);
	free(h.msgs);
	for (i = 0; i < MAX_QUEUES; i++) {
		if (h.in[i])
			onyx_amqp_link_close(h.in[i]);
		if (h.out[i])
			onyx_amqp_link_close(h.out[i]);
	}
	if (h.seal_out)
		onyx_amqp_link_close(h.seal_out);
	if (h.done_out)
		onyx_amqp_link_close(h.done_out);
	onyx_mgmt_close(h.m);
	onyx_wire_free(h.w);
	onyx_buf_free(&h.enc);
	onyx_emit_free(&h.emit);
	return st;
}
