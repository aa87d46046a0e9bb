/* lib/queue.c: the send and receive loops of onyx-queue: JSON lines in and out of a queue, in transactions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "errstr.h"
#include "clock.h"
#include "buf.h"
#include "frame.h"
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
	    " (the broker gives no credit: the address is blocked or full); the open batch of %llu segment%s was rolled back",
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
			    "the commit of the last %llu segments to '%s' is in doubt (%s): they may or may not be on the queue",
			    n, o->queue, onyx_amqp_error(a));
		else
			snprintf(err, errlen,
			    "commit to '%s' failed: %s; the last %llu segments were not sent",
			    o->queue, onyx_amqp_error(a), n);
		*inflight = 0;
		return st;
	}
	return ONYX_OK;
}

/*
 * Send the frame being packed (if it holds any line) as one message in the
 * open transaction, then empty it. inbatch is the batch's line count, for
 * the message when the send fails.
 */
static int
send_packed_frame(struct onyx_amqp *a, struct onyx_link *snd,
    const struct onyx_send_opts *o, struct onyx_frame *fr, struct onyx_buf *enc,
    unsigned long long inbatch, char *err, size_t errlen)
{
	int st;

	if (fr->count == 0)
		return ONYX_OK;
	enc->len = 0;
	if (onyx_frame_encode(enc, fr, NULL, 0) != 0) {
		snprintf(err, errlen, "packing a frame for '%s': out of memory",
		    o->queue);
		return ONYX_ERR;
	}
	if ((st = onyx_amqp_send(snd, enc->p, enc->len, true)) != ONYX_OK)
		return fail_send(
		    a, o, st, inbatch, err, errlen, "sending a packed frame");
	onyx_frame_reset(fr);
	return ONYX_OK;
}

int
onyx_queue_send(struct onyx_amqp *a, const struct onyx_send_opts *o,
    struct onyx_send_result *res, char *err, size_t errlen)
{
	struct onyx_link *snd = NULL;
	struct onyx_lineio in;
	struct onyx_buf enc = {0};
	struct onyx_frame fr = {0};
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
		enum onyx_frame_fit fit;
		const char *line;
		size_t len;

		r = onyx_lineio_next(&in, &line, &len);
		if (r == ONYX_LINEIO_LONG) {
			res->bad_line = in.lineno;
			snprintf(err, errlen,
			    "%s:%llu: the line is longer than the maximum segment size, %zu bytes (ONYX_MAX_SEGMENT, --max-segment)",
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
					if ((st = send_packed_frame(a, snd, o,
					         &fr, &enc, inbatch, err,
					         errlen)) != ONYX_OK)
						goto out;
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
				    onyx_strerror(in.err));
				st = ONYX_EIO;
				/* commit the whole lines read before the error */
				goto partial;
			}
			break;
		}
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (onyx_json_check_object(line, len, why, sizeof(why)) !=
		    ONYX_OK) {
			res->bad_line = in.lineno;
			snprintf(err, errlen, "%s:%llu: %s", o->name, in.lineno,
			    why);
			st = ONYX_EDATA;
			goto partial;
		}
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
		fit = o->packed
		    ? onyx_frame_fit(&fr, len, ONYX_FRAME_MAX_DEFAULT)
		    : ONYX_FRAME_ALONE;
		if (fit != ONYX_FRAME_ALONE) {
			/* a full frame goes out, the line starts the next */
			if (fit == ONYX_FRAME_FULL &&
			    (st = send_packed_frame(a, snd, o, &fr, &enc,
			         inbatch, err, errlen)) != ONYX_OK)
				goto out;
			if (onyx_frame_add(&fr, line, len) != 0) {
				st = ONYX_ERR;
				goto out;
			}
		} else {
			/* the lines packed before it go first, in order */
			if ((st = send_packed_frame(a, snd, o, &fr, &enc,
			         inbatch, err, errlen)) != ONYX_OK)
				goto out;
			enc.len = 0;
			if (onyx_wire_encode_segment(&enc, line, len) != 0) {
				st = ONYX_ERR;
				goto out;
			}
			if ((st = onyx_amqp_send(snd, enc.p, enc.len, true)) !=
			    ONYX_OK) {
				st = fail_send(a, o, st, inbatch + 1, err,
				    errlen, "sending");
				goto out;
			}
		}
		if (++inbatch == (unsigned long long)o->batch) {
			if ((st = send_packed_frame(a, snd, o, &fr, &enc,
			         inbatch, err, errlen)) != ONYX_OK)
				goto out;
			if ((st = send_commit(a, o, res, &inflight, inbatch,
			         false, err, errlen)) != ONYX_OK)
				goto out;
			open = false;
			inbatch = 0;
		}
	}
	/* end of input, or interrupted: the last lines packed go first */
	if (open) {
		int fs = send_packed_frame(
		    a, snd, o, &fr, &enc, inbatch, err, errlen);
		if (fs != ONYX_OK) {
			st = fs;
			goto out;
		}
	}
	if (o->done && st != ONYX_EINTR) {
		if (!open) {
			if ((st = onyx_amqp_txn_declare(
			         a, o->txn_timeout_ms)) != ONYX_OK) {
				fail_conn(a, st, err, errlen,
				    "cannot begin a transaction");
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
		int cs = send_packed_frame(
		    a, snd, o, &fr, &enc, inbatch, err2, sizeof(err2));
		if (cs == ONYX_OK)
			cs = send_commit(a, o, res, &inflight, inbatch, true,
			    err2, sizeof(err2));
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
			    "commit to '%s' failed: %s; the last %llu segments were not sent",
			    o->queue, onyx_amqp_error(a), inflight);
			st = cs;
		}
	}
	onyx_buf_free(&enc);
	onyx_frame_free(&fr);
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
		    "writing the output: %s; the last %llu segments stay on '%s'",
		    onyx_strerror(errno), *inbatch, o->queue);
		onyx_amqp_txn_rollback(a, o->txn_timeout_ms);
		return ONYX_EIO;
	}
	st = onyx_amqp_txn_commit(a, o->txn_timeout_ms);
	if (st != ONYX_OK) {
		snprintf(err, errlen,
		    "commit on '%s' failed: %s; the last %llu segments written may be delivered again",
		    o->queue, onyx_amqp_error(a), *inbatch);
		return st;
	}
	res->received += *inbatch;
	*inbatch = 0;
	return ONYX_OK;
}

int
onyx_queue_write_segment(FILE *out, const char *body, size_t len)
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

/*
 * Read a packed frame through before anything of it is written: every
 * record a JSON object within max_segment, the frame whole. ONYX_OK with
 * *nseg its segment count, or ONYX_EDATA with err naming message nmsg.
 */
static int
check_frame(const struct onyx_recv_opts *o, unsigned long long nmsg,
    const char *payload, size_t plen, unsigned *nseg, char *err, size_t errlen)
{
	struct onyx_frame_reader r;
	const char *seg;
	size_t len;
	char why[256];
	int rc;

	if (onyx_frame_open(&r, payload, plen, 0, why, sizeof(why)) != ONYX_OK)
		goto unreadable;
	while ((rc = onyx_frame_next(&r, &seg, &len, why, sizeof(why))) == 1) {
		if (o->max_segment > 0 && len > o->max_segment) {
			snprintf(err, errlen,
			    "message %llu on '%s' is a packed frame whose segment %u of %u is %zu bytes, over the maximum segment size of %zu bytes (ONYX_MAX_SEGMENT, --max-segment); it stays on the queue",
			    nmsg, o->queue, r.seen, r.count, len,
			    o->max_segment);
			return ONYX_EDATA;
		}
		if (onyx_json_check_object(seg, len, why, sizeof(why)) !=
		    ONYX_OK) {
			snprintf(err, errlen,
			    "message %llu on '%s' is a packed frame whose segment %u of %u is not a segment: %s; it stays on the queue",
			    nmsg, o->queue, r.seen, r.count, why);
			return ONYX_EDATA;
		}
	}
	if (rc == 0) {
		*nseg = r.count;
		return ONYX_OK;
	}
unreadable:
	snprintf(err, errlen,
	    "message %llu on '%s' (content-type %s) cannot be read: %s; it stays on the queue",
	    nmsg, o->queue, ONYX_FRAME_CONTENT_TYPE, why);
	return ONYX_EDATA;
}

/* Write the segments of a frame check_frame passed, one line each. */
static int
write_frame(FILE *out, const char *payload, size_t plen)
{
	struct onyx_frame_reader r;
	const char *seg;
	size_t len;
	char why[256];

	if (onyx_frame_open(&r, payload, plen, 0, why, sizeof(why)) != ONYX_OK)
		return -1;
	while (onyx_frame_next(&r, &seg, &len, why, sizeof(why)) == 1)
		if (onyx_queue_write_segment(out, seg, len) != 0)
			return -1;
	return 0;
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
	/* a packed frame may be longer than one segment is allowed to be */
	if (o->max_segment > 0)
		onyx_amqp_set_max_message(rcv,
		    (o->max_segment > ONYX_FRAME_MAX_DEFAULT
		            ? o->max_segment
		            : ONYX_FRAME_MAX_DEFAULT) +
		        ONYX_WIRE_SLACK);
	for (;;) {
		struct onyx_amqp_msg m;
		enum onyx_wire_kind kind = ONYX_WIRE_SEGMENT;
		const char *body;
		size_t len;
		int wait = o->timeout_ms, dr;
		unsigned nseg = 1;

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
		dr = ONYX_EDATA;
		if (m.total <= m.size)
			dr = onyx_wire_decode(w, m.bytes, m.size, &kind, &body,
			    &len, why, sizeof(why));
		if (m.total > m.size ||
		    (o->max_segment > 0 && dr == ONYX_OK &&
		        kind == ONYX_WIRE_SEGMENT && len > o->max_segment)) {
			snprintf(err, errlen,
			    "message %llu on '%s' is %zu bytes, over the maximum segment size of %zu bytes (ONYX_MAX_SEGMENT, --max-segment); it stays on the queue",
			    nmsg, o->queue, m.total > m.size ? m.total : len,
			    o->max_segment);
			onyx_amqp_release(a, &m);
			st = ONYX_EDATA;
			goto commit_out;
		}
		if (dr == ONYX_OK && kind == ONYX_WIRE_SENTINEL) {
			res->end = ONYX_RECV_DONE;
			if (o->until_done && !o->keep_done) {
				if (!open) {
					if ((st = onyx_amqp_txn_declare(
					         a, o->txn_timeout_ms)) !=
					    ONYX_OK) {
						fail_conn(a, st, err, errlen,
						    "cannot begin a transaction");
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
		if (dr == ONYX_OK && kind == ONYX_WIRE_FRAME) {
			/* credit in frames from now on: a frame holds many
			 * segments, and what the broker sends ahead is held */
			onyx_amqp_set_window(rcv, ONYX_FRAME_CREDIT);
			/* all of it or nothing: checked whole, then written */
			if ((st = check_frame(o, nmsg, body, len, &nseg, err,
			         errlen)) != ONYX_OK) {
				onyx_amqp_release(a, &m);
				goto commit_out;
			}
		} else if (dr != ONYX_OK || kind != ONYX_WIRE_SEGMENT ||
		    body == NULL ||
		    onyx_json_check_object(body, len, why, sizeof(why)) !=
		        ONYX_OK) {
			snprintf(err, errlen,
			    "message %llu on '%s' is not a segment: %s; it stays on the queue",
			    nmsg, o->queue, why);
			onyx_amqp_release(a, &m);
			st = ONYX_EDATA;
			goto commit_out;
		}
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
		if ((kind == ONYX_WIRE_FRAME ? write_frame(o->out, body, len)
		                             : onyx_queue_write_segment(
		                                   o->out, body, len)) != 0) {
			snprintf(err, errlen, "writing the output: %s",
			    onyx_strerror(errno));
			st = ONYX_EIO;
			goto out;
		}
		/* The accept is void unless the commit after the flush succeeds. */
		if ((st = onyx_amqp_accept(a, &m)) != ONYX_OK) {
			fail_conn(a, st, err, errlen, "accepting");
			goto out;
		}
		/* a frame is taken whole, even past the batch or the count */
		inbatch += nseg;
		if (inbatch >= (unsigned long long)o->batch) {
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
