/* lib/queue.c: the send and receive loops of onyx-queue: JSON lines in and out of a queue, in transactions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "clock.h"
#include "buf.h"
#include "json.h"
#include "lineio.h"
#include "queue.h"
#include "status.h"
#include "wire.h"

static int
fail_conn(
    struct onyx_amqp *a, int st, char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, onyx_amqp_error(a));
	return st;
}

/*
 * A send of the open batch (of inbatch segments) failed with st. Stopped
 * while waiting for credit, the lines read cannot be sent: roll the batch
 * back and report a temporary failure (ONYX_ETIMEDOUT), not a stop.
 */
static int
fail_send(struct onyx_amqp *a, const struct onyx_send_opts *o, int st,
    unsigned long long inbatch, char *err, size_t errlen, const char *what)
{
	size_t n;

	fail_conn(a, st, err, errlen, what);
	if (st != ONYX_EINTR)
		return st;
	onyx_amqp_txn_rollback(a, o->txn_timeout_ms);
	n = strlen(err);
	snprintf(err + n, errlen - n,
	    " (the broker gives no credit: the address is blocked or full); "
	    "the open batch of %llu segment%s was rolled back",
	    inbatch, inbatch == 1 ? "" : "s");
	return ONYX_ETIMEDOUT;
}

/*
 * Commit the open batch of a send. The discharge goes out at once and its
 * answer is collected by the next commit (or now, with wait), so the next
 * batch is read and sent while the broker writes this one to its journal.
 * res counts what is known to be committed; *inflight is the size of the
 * batch whose answer is still to come.
 */
static int
send_commit(struct onyx_amqp *a, const struct onyx_send_opts *o,
    struct onyx_send_result *res, unsigned long long *inflight,
    unsigned long long inbatch, bool wait, char *err, size_t errlen)
{
	int st = onyx_amqp_txn_commit_begin(a, o->txn_timeout_ms);

	if (st == ONYX_OK) {
		if (*inflight > 0) {
			res->sent += *inflight;
			res->batches++;
		}
		*inflight = inbatch;
		inbatch = 0;
		if (wait)
			st = onyx_amqp_txn_commit_end(a, o->txn_timeout_ms);
		if (st == ONYX_OK && wait) {
			res->sent += *inflight;
			res->batches++;
			*inflight = 0;
		}
	}
	if (st != ONYX_OK) {
		unsigned long long n = *inflight + inbatch;
		if (st == ONYX_EINDOUBT)
			snprintf(err, errlen,
			    "the commit of the last %llu "
			    "segments to '%s' is in doubt (%s): they may or "
			    "may "
			    "not be on the queue",
			    n, o->queue, onyx_amqp_error(a));
		else
			snprintf(err, errlen,
			    "commit to '%s' failed: %s; the "
			    "last %llu segments were not sent",
			    o->queue, onyx_amqp_error(a), n);
		*inflight = 0;
		return st;
	}
	return ONYX_OK;
}

int
onyx_queue_send(struct onyx_amqp *a, const struct onyx_send_opts *o,
    struct onyx_send_result *res, char *err, size_t errlen)
{
	struct onyx_link *snd = NULL;
	struct onyx_lineio in;
	struct onyx_buf enc = {0};
	unsigned long long inbatch = 0, inflight = 0;
	long long batch_start = 0;
	bool open = false;
	int st = ONYX_OK, r;
	char why[256];

	memset(res, 0, sizeof(*res));
	if (onyx_lineio_init(&in, o->fd, o->max_segment) != 0)
		return ONYX_ERR;
	if ((st = onyx_amqp_sender(a, o->queue, true, &snd)) != ONYX_OK) {
		fail_conn(a, st, err, errlen, "cannot send");
		goto out;
	}
	for (;;) {
		const char *line;
		size_t len;
		json_t *v;

		r = onyx_lineio_next(&in, &line, &len);
		if (r == ONYX_LINEIO_LONG) {
			res->bad_line = in.lineno;
			snprintf(err, errlen,
			    "%s:%llu: the line is longer than the maximum "
			    "segment size, %zu bytes (ONYX_MAX_SEGMENT, "
			    "--max-segment)",
			    o->name, in.lineno, o->max_segment);
			st = ONYX_EDATA;
			goto partial;
		}
		if (r == ONYX_LINEIO_MORE) {
			int wait = -1;
			if (open) {
				long long left = batch_start +
				    o->batch_timeout_ms - onyx_mono_ms();
				if (left <= 0) {
					if ((st = send_commit(a, o, res,
					         &inflight, inbatch, false, err,
					         errlen)) != ONYX_OK)
						goto out;
					open = false;
					inbatch = 0;
					continue;
				}
				wait = (int)left;
			}
			/* Serve the connection while stdin has nothing for us. */
			st = onyx_amqp_wait(a, wait, o->fd);
			if (st == ONYX_EINTR)
				break;
			if (st < 0) {
				fail_conn(a, st, err, errlen, "sending");
				goto out;
			}
			if (st == 1)
				onyx_lineio_fill(&in);
			st = ONYX_OK;
			continue;
		}
		if (r < 0) {
			if (in.err != 0) {
				snprintf(err, errlen, "%s: %s", o->name,
				    strerror(in.err));
				st = ONYX_EIO;
				/* commit the whole lines read before the error */
				goto partial;
			}
			break;
		}
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (onyx_json_parse_object(line, len, &v, why, sizeof(why)) !=
		    ONYX_OK) {
			res->bad_line = in.lineno;
			snprintf(err, errlen, "%s:%llu: %s", o->name, in.lineno,
			    why);
			st = ONYX_EDATA;
			goto partial;
		}
		json_decref(v);
		if (!open) {
			if ((st = onyx_amqp_txn_declare(
			         a, o->txn_timeout_ms)) != ONYX_OK) {
				fail_conn(a, st, err, errlen,
				    "cannot begin a "
				    "transaction");
				goto out;
			}
			open = true;
			batch_start = onyx_mono_ms();
		}
		enc.len = 0;
		if (onyx_wire_encode_segment(&enc, line, len) != 0) {
			st = ONYX_ERR;
			goto out;
		}
		if ((st = onyx_amqp_send(snd, enc.p, enc.len, true)) !=
		    ONYX_OK) {
			st = fail_send(
			    a, o, st, inbatch + 1, err, errlen, "sending");
			goto out;
		}
		if (++inbatch == (unsigned long long)o->batch) {
			if ((st = send_commit(a, o, res, &inflight, inbatch,
			         false, err, errlen)) != ONYX_OK)
				goto out;
			open = false;
			inbatch = 0;
		}
	}
	/* end of input, or interrupted */
	if (o->done && st != ONYX_EINTR) {
		if (!open) {
			if ((st = onyx_amqp_txn_declare(
			         a, o->txn_timeout_ms)) != ONYX_OK) {
				fail_conn(a, st, err, errlen,
				    "cannot begin a "
				    "transaction");
				goto out;
			}
			open = true;
		}
		enc.len = 0;
		if (onyx_wire_encode_sentinel(&enc) != 0) {
			st = ONYX_ERR;
			goto out;
		}
		if ((st = onyx_amqp_send(snd, enc.p, enc.len, true)) !=
		    ONYX_OK) {
			st = fail_send(a, o, st, inbatch + 1, err, errlen,
			    "sending the sentinel");
			goto out;
		}
	}
	if (open) {
		int cs = send_commit(
		    a, o, res, &inflight, inbatch, true, err, errlen);
		if (cs != ONYX_OK) {
			st = cs;
			goto out;
		}
		res->sentinel = o->done && st != ONYX_EINTR;
	}
	goto out;
partial:
	/* Commit the good lines before a bad one; the caller reports the rest. */
	if (open) {
		char err2[512];
		int cs = send_commit(
		    a, o, res, &inflight, inbatch, true, err2, sizeof(err2));
		if (cs != ONYX_OK) {
			snprintf(err + strlen(err), errlen - strlen(err),
			    "; and %s", err2);
			st = cs;
		}
	}
out:
	/* a commit still in flight: its answer decides what was sent */
	if (inflight > 0 && onyx_amqp_txn_pending(a)) {
		int cs = onyx_amqp_txn_commit_end(a, o->txn_timeout_ms);
		if (cs == ONYX_OK) {
			res->sent += inflight;
			res->batches++;
		} else if (st == ONYX_OK || st == ONYX_EINTR) {
			snprintf(err, errlen,
			    "commit to '%s' failed: %s; the last "
			    "%llu segments were not sent",
			    o->queue, onyx_amqp_error(a), inflight);
			st = cs;
		}
	}
	onyx_buf_free(&enc);
	onyx_lineio_free(&in);
	if (snd != NULL)
		onyx_amqp_link_close(snd);
	return st;
}

/* Flush the output, then commit the accepts of the open batch. */
static int
recv_commit(struct onyx_amqp *a, const struct onyx_recv_opts *o,
    struct onyx_recv_result *res, unsigned long long *inbatch, char *err,
    size_t errlen)
{
	int st;

	if (fflush(o->out) != 0 || ferror(o->out)) {
		snprintf(err, errlen,
		    "writing the output: %s; the last %llu "
		    "segments stay on '%s'",
		    strerror(errno), *inbatch, o->queue);
		onyx_amqp_txn_rollback(a, o->txn_timeout_ms);
		return ONYX_EIO;
	}
	st = onyx_amqp_txn_commit(a, o->txn_timeout_ms);
	if (st != ONYX_OK) {
		snprintf(err, errlen,
		    "commit on '%s' failed: %s; the last %llu "
		    "segments written may be delivered again",
		    o->queue, onyx_amqp_error(a), *inbatch);
		return st;
	}
	res->received += *inbatch;
	*inbatch = 0;
	return ONYX_OK;
}

static int
write_segment(FILE *out, const char *body, size_t len)
{
	if (!onyx_json_has_newline(body, len)) {
		fwrite(body, 1, len, out);
		return putc('\n', out) == EOF ? -1 : 0;
	} else {
		/* pretty-printed JSON from another client: make it one line */
		json_t *v = json_loadb(body, len, JSON_ALLOW_NUL, NULL);
		int rc = -1;
		if (v != NULL) {
			rc = json_dumpf(v, out,
			    JSON_COMPACT | JSON_ENSURE_ASCII |
			        JSON_PRESERVE_ORDER);
			json_decref(v);
		}
		return rc != 0 || putc('\n', out) == EOF ? -1 : 0;
	}
}

int
onyx_queue_recv(struct onyx_amqp *a, const struct onyx_recv_opts *o,
    struct onyx_recv_result *res, char *err, size_t errlen)
{
	struct onyx_link *rcv = NULL;
	struct onyx_wire *w = NULL;
	unsigned long long inbatch = 0, nmsg = 0;
	long long last = onyx_mono_ms(), batch_start = 0;
	int window = o->batch, st = ONYX_OK;
	bool open = false;
	char why[256];

	memset(res, 0, sizeof(*res));
	if (o->count > 0 && o->count < (unsigned long long)window)
		window = (int)o->count;
	if ((w = onyx_wire_new()) == NULL)
		return ONYX_ERR;
	if ((st = onyx_amqp_receiver(a, o->queue, window, &rcv)) != ONYX_OK) {
		fail_conn(a, st, err, errlen, "cannot receive");
		goto out;
	}
	if (o->max_segment > 0)
		onyx_amqp_set_max_message(
		    rcv, o->max_segment + ONYX_WIRE_SLACK);
	for (;;) {
		struct onyx_amqp_msg m;
		enum onyx_wire_kind kind;
		const char *body;
		size_t len;
		int wait = o->timeout_ms;
		json_t *v;

		if (o->count > 0 && res->received + inbatch >= o->count) {
			res->end = ONYX_RECV_COUNT;
			break;
		}
		if (o->count > 0) {
			unsigned long long left =
			    o->count - res->received - inbatch;
			onyx_amqp_set_window(rcv,
			    left < (unsigned long long)window ? (int)left
			                                      : window);
		}
		if (wait >= 0) {
			wait -= (int)(onyx_mono_ms() - last);
			if (wait < 0)
				wait = 0;
		}
		if (open) {
			long long left =
			    batch_start + o->batch_timeout_ms - onyx_mono_ms();
			if (left < 0)
				left = 0;
			if (wait < 0 || left < wait)
				wait = (int)left;
		}
		st = onyx_amqp_recv(rcv, wait, &m);
		if (st == ONYX_ETIMEDOUT) {
			if (open &&
			    onyx_mono_ms() >=
			        batch_start + o->batch_timeout_ms) {
				if ((st = recv_commit(a, o, res, &inbatch, err,
				         errlen)) != ONYX_OK)
					goto out;
				open = false;
			}
			if (o->timeout_ms >= 0 &&
			    onyx_mono_ms() - last >= o->timeout_ms) {
				res->end = ONYX_RECV_TIMEOUT;
				st = ONYX_OK;
				break;
			}
			continue;
		}
		if (st == ONYX_EINTR) {
			res->end = ONYX_RECV_INTERRUPTED;
			st = ONYX_OK;
			break;
		}
		if (st != ONYX_OK) {
			fail_conn(a, st, err, errlen, "receiving");
			goto out;
		}
		nmsg++;
		last = onyx_mono_ms();
		if (m.total > m.size ||
		    (o->max_segment > 0 &&
		        onyx_wire_decode(w, m.bytes, m.size, &kind, &body, &len,
		            why, sizeof(why)) == ONYX_OK &&
		        kind == ONYX_WIRE_SEGMENT && len > o->max_segment)) {
			snprintf(err, errlen,
			    "message %llu on '%s' is %zu bytes, over the "
			    "maximum segment size of %zu bytes "
			    "(ONYX_MAX_SEGMENT, "
			    "--max-segment); it stays on the queue",
			    nmsg, o->queue, m.total > m.size ? m.total : len,
			    o->max_segment);
			onyx_amqp_release(a, &m);
			st = ONYX_EDATA;
			goto commit_out;
		}
		if (onyx_wire_decode(w, m.bytes, m.size, &kind, &body, &len,
		        why, sizeof(why)) == ONYX_OK &&
		    kind == ONYX_WIRE_SENTINEL) {
			res->end = ONYX_RECV_DONE;
			if (o->until_done && !o->keep_done) {
				if (!open) {
					if ((st = onyx_amqp_txn_declare(
					         a, o->txn_timeout_ms)) !=
					    ONYX_OK) {
						fail_conn(a, st, err, errlen,
						    "cannot begin a "
						    "transaction");
						goto out;
					}
					open = true;
				}
				if ((st = onyx_amqp_accept(a, &m)) != ONYX_OK) {
					fail_conn(
					    a, st, err, errlen, "accepting");
					goto out;
				}
				res->sentinel_consumed = true;
			} else
				onyx_amqp_release(a, &m);
			break;
		}
		if (kind != ONYX_WIRE_SEGMENT || body == NULL ||
		    onyx_json_parse_object(body, len, &v, why, sizeof(why)) !=
		        ONYX_OK) {
			snprintf(err, errlen,
			    "message %llu on '%s' is not a "
			    "segment: %s; it stays on the queue",
			    nmsg, o->queue, why);
			onyx_amqp_release(a, &m);
			st = ONYX_EDATA;
			goto commit_out;
		}
		json_decref(v);
		if (!open) {
			if ((st = onyx_amqp_txn_declare(
			         a, o->txn_timeout_ms)) != ONYX_OK) {
				fail_conn(a, st, err, errlen,
				    "cannot begin a transaction");
				goto out;
			}
			open = true;
			batch_start = onyx_mono_ms();
		}
		if (write_segment(o->out, body, len) != 0) {
			snprintf(err, errlen, "writing the output: %s",
			    strerror(errno));
			st = ONYX_EIO;
			goto out;
		}
		/* The accept is void unless the commit after the flush succeeds. */
		if ((st = onyx_amqp_accept(a, &m)) != ONYX_OK) {
			fail_conn(a, st, err, errlen, "accepting");
			goto out;
		}
		if (++inbatch == (unsigned long long)o->batch) {
			if ((st = recv_commit(
			         a, o, res, &inbatch, err, errlen)) != ONYX_OK)
				goto out;
			open = false;
		}
	}
	if (open) {
		int cs = recv_commit(a, o, res, &inbatch, err, errlen);
		if (cs != ONYX_OK)
			st = cs;
	}
	goto out;
commit_out:
	if (open) {
		char err2[512];
		int cs = recv_commit(a, o, res, &inbatch, err2, sizeof(err2));
		if (cs != ONYX_OK)
			st = cs;
	}
out:
	if (rcv != NULL)
		onyx_amqp_link_close(rcv);
	onyx_wire_free(w);
	return st;
}
