/* lib/hop.c: the hop loop (read a batch, apply the function, write, commit), dead letters, grouping, aggregation flushes and the sealing protocol. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sha2.h>

#include "clock.h"
#include "conf.h"
#include "buf.h"
#include "exec.h"
#include "fn.h"
#include "frame.h"
#include "hop.h"
#include "jscan.h"
#include "json.h"
#include "log.h"
#include "mgmt.h"
#include "status.h"
#include "wire.h"

#define CHECK_EVERY_MS 1000    /* idle peers look at SEAL and DONE */
#define HOLD_MS 300            /* how long a sentinel waits for count 1 */
#define EXEC_TIMEOUT_MS 10000  /* a program's answers to a batch */
#define EXEC_WRITE_AHEAD 32768 /* input queued for a program before a write */
#define BROKEN_AFTER 10   /* program failures in a row that mean it is broken */
#define GROUP_SHORT 128   /* a longer group value travels as its SHA-256 */
#define LOG_DEAD_FIRST 20 /* dead letters logged one by one, then 1 in 1000 */
/* an idle peer looks this often whether its ingress holds messages nobody
 * is given, and says so once they have waited UNDELIVERED_MS */
#define UNDELIVERED_EVERY_MS 10000
#define UNDELIVERED_MS 30000
/* a grouped packed edge hashes each group to one of this many buckets, each
 * bucket one AMQP group-id: the unit the broker pins to one consumer */
#define GROUP_BUCKETS 64
/* the credit of a receiver on a packed edge, in frames (each at most the
 * frame limit): enough to fill batches, bounded memory */
#define FRAME_CREDIT 64

/* One segment of a program's batch, kept until the batch commits. */
struct slot {
	int msg;         /* its message in hop.msgs (a frame holds several) */
	size_t off, len; /* its text in hop.bodies */
	bool has_body;
	int tries;   /* attempts that failed on it */
	char *dead;  /* why it goes to the dead-letter queue, or NULL */
	char *error; /* what it answered {"onyx/error": ...} this attempt */
};

struct hop {
	struct onyx_amqp *a;
	const struct onyx_task_spec *t;
	struct onyx_mgmt *m;
	struct onyx_link **in;  /* ningress */
	struct onyx_link **out; /* negress */
	struct onyx_link *seal_out;
	struct onyx_link *done_out;
	struct onyx_link *dlq_out;
	struct onyx_wire *w;
	struct onyx_buf enc, genc;
	/* packed egress: frames[i][bucket] fill until the commit or the limit */
	struct onyx_frame **frames; /* negress, each GROUP_BUCKETS or 1 */
	size_t frame_max;
	struct onyx_emit emit;
	char **gidv; /* groups of h->emit's segments, negress each */
	size_t gidcap;
	struct onyx_hop_stats *stats;
	unsigned long long inflight_read, inflight_written,
	    inflight_dead;             /* commit in flight */
	unsigned long long batch_dead; /* dead letters of the open batch */
	long long last_progress;
	long long last_read;    /* when a message last arrived */
	long long last_undeliv; /* the last look for undelivered messages */
	bool undelivered_said;
	/* onyx/group-by-fn programs, by egress */
	struct onyx_exec **gx; /* negress */
	char **gids;           /* negress: out_segment's groups */
	/* onyx/exec */
	struct onyx_exec *x;
	struct slot *slots; /* the batch */
	int nslots, slotcap;
	struct onyx_amqp_msg
	    *msgs; /* the batch's messages, settled at the end */
	int nmsgs, msgcap;
	int *fed; /* the slots fed to the program, in order */
	int nfed, nans;
	struct onyx_buf bodies;
	int broken_run; /* lines dead-lettered in a row, no good answer */
	char xwhy[512]; /* why the program failed */
	/* aggregation */
	bool stateful; /* the function keeps state (flush hook, program) */
	bool fed_any;  /* it has seen a segment: registered as holding */
	bool flushed;
	bool inited;
	char *err;
	size_t errlen;
};

static size_t
max_segment(const struct hop *h)
{
	return h->t->max_segment > 0 ? h->t->max_segment
	                             : ONYX_DEFAULT_MAX_SEGMENT;
}

/*
 * A message too long to be a segment: why (its size and the limit) and
 * the start of its text (*head, *hlen: at most 200 bytes, cut at a UTF-8
 * boundary; NULL when no text is found).
 */
static void
oversize(const struct hop *h, const struct onyx_amqp_msg *m, const char *body,
    size_t len, char *why, size_t whylen, const char **head, size_t *hlen)
{
	size_t n;

	if (body == NULL && onyx_wire_peek_body(m->bytes, m->size, &body, &len))
		body = NULL;
	snprintf(why, whylen,
	    "the message is %zu bytes, over the maximum segment size of %zu "
	    "bytes (ONYX_MAX_SEGMENT, --max-segment); the segment holds its "
	    "first bytes",
	    m->total, max_segment(h));
	*head = body;
	n = body != NULL && len > 200 ? 200 : len;
	/* do not cut a UTF-8 sequence in two */
	while (body != NULL && n > 0 && n < len &&
	    ((unsigned char)body[n] & 0xc0) == 0x80)
		n--;
	*hlen = body != NULL ? n : 0;
}

static int
fail(struct hop *h, int st, const char *what)
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

static int flush(struct hop *h);

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
	/* every input is in: state kept by functions goes out first */
	if ((st = flush(h)) != ONYX_OK)
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

/* Dead letters */

/*
 * Send a dead letter, in the open transaction: {"error", "task",
 * "attempts", "segment"}, the segment as JSON when its text is JSON, as a
 * string when it is other text, null when there is none. Without a
 * dead-letter queue the task fails with the error instead (ONYX_EDATA).
 */
static int
dead_letter(struct hop *h, const char *body, size_t len, bool has_body,
    const char *error, int attempts)
{
	const struct onyx_task_spec *t = h->t;
	json_t *seg = NULL, *rec;
	unsigned long long k;
	char *text;
	int st;

	if (h->dlq_out == NULL) {
		snprintf(h->err, h->errlen, "task '%s': %s", t->name, error);
		return ONYX_EDATA;
	}
	if (has_body &&
	    (seg = json_loadb(body, len, JSON_DECODE_ANY, NULL)) == NULL)
		seg = json_stringn(body, len); /* NULL when not UTF-8 */
	rec = json_pack("{s:s,s:s,s:i,s:o}", "error", error, "task", t->name,
	    "attempts", attempts, "segment", seg != NULL ? seg : json_null());
	if (rec == NULL)
		return ONYX_ERR;
	text = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(rec);
	if (text == NULL)
		return ONYX_ERR;
	h->enc.len = 0;
	st = onyx_wire_encode_segment(&h->enc, text, strlen(text)) != 0
	    ? ONYX_ERR
	    : onyx_amqp_send(h->dlq_out, h->enc.p, h->enc.len, true);
	free(text);
	if (st == ONYX_ERR)
		return st;
	if (st != ONYX_OK)
		return fail(h, st, "writing the dead-letter queue");
	h->batch_dead++;
	k = h->stats->dead + h->inflight_dead + h->batch_dead;
	if (k <= LOG_DEAD_FIRST || k % 1000 == 0)
		onyx_log(ONYX_LOG_WARN,
		    "task %s: dead letter %llu to %s after %d attempt%s: %s",
		    t->name, k, t->dlq_queue, attempts,
		    attempts == 1 ? "" : "s", error);
	return ONYX_OK;
}

/* Grouping */

static bool
grouped(const struct hop *h, int i)
{
	return h->t->egress_group != NULL && h->t->egress_group[i] != NULL;
}

/* The text of a group value: a string as is, anything else as JSON. */
static char *
value_text(const json_t *v)
{
	if (v == NULL)
		return strdup("null");
	if (json_is_string(v))
		return strndup(json_string_value(v), json_string_length(v));
	return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

/* Ask egress i's group-by-fn program for the group of text. */
static int
group_exec(struct hop *h, int i, const char *text, size_t len, char **out,
    char *why, size_t whylen)
{
	const struct onyx_group *g = h->t->egress_group[i];
	int tmo =
	    h->t->exec_timeout_ms > 0 ? h->t->exec_timeout_ms : EXEC_TIMEOUT_MS;
	long long until = onyx_mono_ms() + tmo;
	const char *line;
	size_t ll;
	char e[512];
	json_t *v;

	*out = NULL;
	if (h->gx[i] == NULL) {
		if (onyx_exec_start(g->argv, g->params, g->task, h->t->peer,
		        &h->gx[i], e, sizeof(e)) != ONYX_OK)
			goto broken;
		onyx_exec_set_max_answer(h->gx[i], max_segment(h));
	}
	if (onyx_exec_write(h->gx[i], text, len, e, sizeof(e)) != ONYX_OK)
		goto broken;
	while (!onyx_exec_answer(h->gx[i], &line, &ll)) {
		if (onyx_mono_ms() >= until) {
			snprintf(
			    e, sizeof(e), "timeout: no answer in %d ms", tmo);
			goto broken;
		}
		if (onyx_exec_pump(h->gx[i], 50, e, sizeof(e)) != ONYX_OK)
			goto broken;
	}
	if ((v = json_loadb(line, ll, JSON_DECODE_ANY, NULL)) == NULL) {
		snprintf(e, sizeof(e), "the answer is not JSON: %.*s",
		    (int)(ll < 80 ? ll : 80), line);
		goto broken;
	}
	*out = value_text(v);
	json_decref(v);
	return *out != NULL ? ONYX_OK : ONYX_ERR;
broken:
	onyx_exec_stop(h->gx[i], 0);
	h->gx[i] = NULL;
	snprintf(why, whylen,
	    "the onyx/group-by-fn program of task '%s': %.400s", g->task, e);
	return ONYX_EDATA;
}

/*
 * The group of segment text for egress i (seg: the text parsed, needed by
 * a key), a new string in *out: long values travel as their SHA-256.
 * ONYX_EDATA with why when there is none.
 */
static int
group_of(struct hop *h, int i, const char *text, size_t len, json_t *seg,
    char **out, char *why, size_t whylen)
{
	const struct onyx_group *g = h->t->egress_group[i];
	char hex[SHA256_DIGEST_STRING_LENGTH], *v = NULL;
	int st = ONYX_OK;

	*out = NULL;
	if (g->key != NULL) {
		v = value_text(onyx_json_select(seg, g->key));
	} else if (g->fn != NULL) {
		char buf[4096] = "";
		why[0] = '\0';
		if (g->fn(text, len, g->params ? g->params : "{}", buf,
		        sizeof(buf), why, whylen) != 0) {
			if (why[0] == '\0')
				snprintf(why, whylen,
				    "the onyx/group-by-fn of task '%s' failed",
				    g->task);
			return ONYX_EDATA;
		}
		buf[sizeof(buf) - 1] = '\0';
		v = strdup(buf);
	} else if ((st = group_exec(h, i, text, len, &v, why, whylen)) !=
	    ONYX_OK)
		return st;
	if (v == NULL)
		return ONYX_ERR;
	if (strlen(v) > GROUP_SHORT) {
		SHA256Data((const uint8_t *)v, strlen(v), hex);
		free(v);
		if (asprintf(&v, "sha256:%s", hex) < 0)
			return ONYX_ERR;
	}
	*out = v;
	return ONYX_OK;
}

static void free_groups(struct hop *h, char **gids);

/*
 * The groups of text for every grouped egress into gids[negress]; seg is
 * the text parsed, or NULL to parse it here (once) when a key needs it.
 */
static int
groups_of(struct hop *h, const char *text, size_t len, json_t *seg, char **gids,
    char *why, size_t whylen)
{
	json_t *own = NULL;
	int i, st = ONYX_OK;

	for (i = 0; i < h->t->negress; i++)
		gids[i] = NULL;
	for (i = 0; i < h->t->negress && st == ONYX_OK; i++) {
		if (!grouped(h, i))
			continue;
		if (seg == NULL && h->t->egress_group[i]->key != NULL) {
			json_error_t je;
			if ((seg = own = json_loadb(text, len, 0, &je)) ==
			    NULL) {
				snprintf(why, whylen,
				    "grouping for task '%s': the segment is "
				    "not JSON: %s",
				    h->t->egress_group[i]->task, je.text);
				st = ONYX_EDATA;
				break;
			}
		}
		st = group_of(h, i, text, len, seg, &gids[i], why, whylen);
	}
	json_decref(own);
	if (st != ONYX_OK)
		free_groups(h, gids);
	return st;
}

static void
free_groups(struct hop *h, char **gids)
{
	for (int i = 0; i < h->t->negress; i++) {
		free(gids[i]);
		gids[i] = NULL;
	}
}

/* Packed egress */

static bool
packed(const struct hop *h, int i)
{
	return h->t->egress_packed != NULL && h->t->egress_packed[i];
}

static int
nbuckets(const struct hop *h, int i)
{
	return grouped(h, i) ? GROUP_BUCKETS : 1;
}

/* The bucket of a group: FNV-1a of its text, so every peer agrees. */
static unsigned
bucket_of(const char *gid)
{
	uint32_t x = 2166136261u;

	for (; *gid != '\0'; gid++)
		x = (x ^ (unsigned char)*gid) * 16777619u;
	return x % GROUP_BUCKETS;
}

static void
bucket_id(char *buf, size_t n, unsigned b)
{
	snprintf(buf, n, "onyx-bucket-%u", b);
}

/* Send frame b of egress i in the open transaction, and empty it. */
static int
frame_send(struct hop *h, int i, unsigned b)
{
	struct onyx_frame *f = &h->frames[i][b];
	char gid[32];
	int st;

	if (f->count == 0)
		return ONYX_OK;
	bucket_id(gid, sizeof(gid), b);
	h->genc.len = 0;
	if (onyx_frame_encode(
	        &h->genc, f, grouped(h, i) ? gid : NULL, strlen(gid)) != 0)
		return ONYX_ERR;
	onyx_frame_reset(f);
	if ((st = onyx_amqp_send(h->out[i], h->genc.p, h->genc.len, true)) !=
	    ONYX_OK)
		return fail(h, st, "sending");
	return ONYX_OK;
}

/* Before a commit: every frame not yet sent goes out. */
static int
frames_flush(struct hop *h)
{
	int i, b, st;

	for (i = 0; h->frames != NULL && i < h->t->negress; i++)
		for (b = 0; h->frames[i] != NULL && b < nbuckets(h, i); b++)
			if ((st = frame_send(h, i, (unsigned)b)) != ONYX_OK)
				return st;
	return ONYX_OK;
}

/* A rollback: the frames being filled belonged to the lost transaction. */
static void
frames_drop(struct hop *h)
{
	int i, b;

	for (i = 0; h->frames != NULL && i < h->t->negress; i++)
		for (b = 0; h->frames[i] != NULL && b < nbuckets(h, i); b++)
			onyx_frame_reset(&h->frames[i][b]);
}

static int
rollback(struct hop *h)
{
	frames_drop(h);
	return onyx_amqp_txn_rollback(h->a, h->t->txn_timeout_ms);
}

/*
 * Segment text into the frame of its bucket (gid: its group, or NULL) on
 * packed egress i. A segment too long for any frame goes alone as a plain
 * message of its bucket, after the frame before it: the order holds.
 */
static int
pack_one(struct hop *h, int i, const char *text, size_t len, const char *gid)
{
	unsigned b = gid != NULL ? bucket_of(gid) : 0;
	struct onyx_frame *f;
	char bid[32];
	int st;

	if (h->frames[i] == NULL &&
	    (h->frames[i] = calloc(nbuckets(h, i), sizeof(**h->frames))) ==
	        NULL)
		return ONYX_ERR;
	f = &h->frames[i][b];
	if (f->count > 0 && onyx_frame_size_with(f, len) > h->frame_max &&
	    (st = frame_send(h, i, b)) != ONYX_OK)
		return st;
	if (onyx_frame_size_with(f, len) <= h->frame_max)
		return onyx_frame_add(f, text, len) == 0 ? ONYX_OK : ONYX_ERR;
	bucket_id(bid, sizeof(bid), b);
	h->genc.len = 0;
	if (onyx_wire_encode_segment_group(&h->genc, text, len,
	        gid != NULL ? bid : NULL, strlen(bid)) != 0)
		return ONYX_ERR;
	if ((st = onyx_amqp_send(h->out[i], h->genc.p, h->genc.len, true)) !=
	    ONYX_OK)
		return fail(h, st, "sending");
	return ONYX_OK;
}

/* Send one result segment to every egress, with its group where set. */
static int
send_one(struct hop *h, const char *text, size_t len, char *const *gids)
{
	bool plain = false;
	int i, st;

	for (i = 0; i < h->t->negress; i++) {
		struct onyx_buf *b = &h->enc;
		if (packed(h, i)) {
			st = pack_one(
			    h, i, text, len, gids != NULL ? gids[i] : NULL);
			if (st != ONYX_OK)
				return st;
			continue;
		}
		if (gids != NULL && gids[i] != NULL) {
			b = &h->genc;
			b->len = 0;
			if (onyx_wire_encode_segment_group(
			        b, text, len, gids[i], strlen(gids[i])) != 0)
				return ONYX_ERR;
		} else if (!plain) {
			b->len = 0;
			if (onyx_wire_encode_segment(b, text, len) != 0)
				return ONYX_ERR;
			plain = true;
		}
		if ((st = onyx_amqp_send(h->out[i], b->p, b->len, true)) !=
		    ONYX_OK)
			return fail(h, st, "sending");
	}
	return ONYX_OK;
}

/* One result segment (seg: parsed, or NULL): its groups, then to every egress. */
static int
out_segment(struct hop *h, const char *text, size_t len, json_t *seg, char *why,
    size_t whylen)
{
	char **gids = h->gids;
	int st;

	if ((st = groups_of(h, text, len, seg, gids, why, whylen)) != ONYX_OK)
		return st;
	st = send_one(h, text, len, gids);
	free_groups(h, gids);
	return st;
}

/* Aggregation state */

/* The function is about to see a segment: register as holding state. */
static int
hold(struct hop *h)
{
	char e[512];
	int st;

	if (h->fed_any || !h->stateful)
		return ONYX_OK;
	if (h->t->hold != NULL &&
	    (st = h->t->hold(h->t->hold_ctx, true, e, sizeof(e))) != ONYX_OK) {
		snprintf(h->err, h->errlen,
		    "task '%s': registering aggregation state: %s", h->t->name,
		    e);
		return st;
	}
	h->fed_any = true;
	h->flushed = false;
	return ONYX_OK;
}

/* This peer's state is written (or lost): unregister. */
static void
unhold(struct hop *h)
{
	char e[512];

	if (!h->fed_any)
		return;
	h->fed_any = false;
	if (h->t->hold != NULL &&
	    h->t->hold(h->t->hold_ctx, false, e, sizeof(e)) != ONYX_OK)
		onyx_log(ONYX_LOG_WARN, "task %s: %s", h->t->name, e);
}

/* C functions */

/*
 * Call the C function (or, with flush, its flush hook) until it succeeds
 * and its results' groups are known, at most 1 + max-retries times;
 * *tries counts the calls. ONYX_OK with the results in h->emit and their
 * groups in h->gidv; ONYX_EDATA with why when every call failed.
 */
static int
call_fn(struct hop *h, const char *body, size_t len, bool flush, int *tries,
    char *why, size_t whylen)
{
	const struct onyx_task_spec *t = h->t;
	const char *params = t->params ? t->params : "{}";
	size_t k, off, need;
	int st;

	for (*tries = 1;; (*tries)++) {
		int rc;
		why[0] = '\0';
		onyx_emit_reset(&h->emit);
		rc = flush
		    ? t->flush(h->emit.state, params, &h->emit, why, whylen)
		    : t->fn(body, len, params, &h->emit, why, whylen);
		if (rc != 0) {
			if (why[0] == '\0')
				snprintf(why, whylen,
				    "the function failed (no reason given)");
			st = ONYX_EDATA;
		} else {
			need = h->emit.n * (size_t)t->negress;
			if (need > h->gidcap) {
				char **p =
				    reallocarray(h->gidv, need, sizeof(*p));
				if (p == NULL)
					return ONYX_ERR;
				h->gidv = p;
				h->gidcap = need;
			}
			st = ONYX_OK;
			for (k = 0, off = 0; k < h->emit.n && st == ONYX_OK;
			     off += h->emit.len[k++]) {
				st = groups_of(h, h->emit.data.p + off,
				    h->emit.len[k], NULL,
				    h->gidv + k * t->negress, why, whylen);
				if (st != ONYX_OK)
					while (k-- > 0)
						free_groups(h,
						    h->gidv + k * t->negress);
			}
			if (st == ONYX_OK)
				return ONYX_OK;
			if (st != ONYX_EDATA)
				return st;
		}
		if (*tries > t->max_retries)
			return ONYX_EDATA;
	}
}

/* Send what call_fn left in h->emit. */
static int
send_emitted(struct hop *h, unsigned long long *emitted)
{
	size_t k, off;
	int st = ONYX_OK;

	for (k = 0, off = 0; k < h->emit.n; off += h->emit.len[k++]) {
		if (st == ONYX_OK)
			st = send_one(h, h->emit.data.p + off, h->emit.len[k],
			    h->gidv + k * h->t->negress);
		free_groups(h, h->gidv + k * h->t->negress);
	}
	if (st == ONYX_OK)
		*emitted += h->emit.n;
	return st;
}

/* Apply the C function to one segment; dead-letter it when it keeps failing. */
static int
apply(struct hop *h, const char *body, size_t len, unsigned long long *emitted)
{
	char why[512];
	int st, tries;

	if ((st = hold(h)) != ONYX_OK)
		return st;
	st = call_fn(h, body, len, false, &tries, why, sizeof(why));
	if (st == ONYX_EDATA)
		return dead_letter(h, body, len, true, why, tries);
	if (st != ONYX_OK)
		return st;
	return send_emitted(h, emitted);
}

/* Program functions (onyx/exec) */

static int settle(struct hop *h);

static int
exec_start(struct hop *h)
{
	char e[512];
	int st = onyx_exec_start(h->t->exec_argv, h->t->params, h->t->name,
	    h->t->peer, &h->x, e, sizeof(e));

	if (st != ONYX_OK)
		snprintf(h->err, h->errlen, "task '%s': %s", h->t->name, e);
	else
		onyx_exec_set_max_answer(h->x, max_segment(h));
	return st;
}

static int
garbage(struct hop *h, const char *line, size_t len)
{
	snprintf(h->xwhy, sizeof(h->xwhy),
	    "the program answered a line that is not an object, an array of "
	    "objects or null: %.*s",
	    (int)(len < 80 ? len : 80), line);
	return ONYX_EDATA;
}

/*
 * One answer line of the program: its segments go out; {"onyx/error": E}
 * marks slot s failed (s NULL, after the end of input: a dead letter).
 * ONYX_EDATA (h->xwhy) for garbage or a group that cannot be found.
 */
static int
answer_line(struct hop *h, const char *line, size_t len, struct slot *s,
    unsigned long long *emitted)
{
	json_error_t je;
	json_t *v, *e;
	size_t i;
	int st = ONYX_OK;

	while (len > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	/*
	 * The common answer, one object that is not an error, goes out as
	 * it is, unparsed; with a backslash (an escaped key could spell
	 * onyx/error) or the word, jansson reads it.
	 */
	if (onyx_jscan_object(line, len) && memchr(line, '\\', len) == NULL &&
	    memmem(line, len, "onyx/error", 10) == NULL) {
		st = out_segment(h, line, len, NULL, h->xwhy, sizeof(h->xwhy));
		(*emitted)++;
		if (st == ONYX_OK)
			h->broken_run = 0;
		return st;
	}
	if ((v = json_loadb(line, len, JSON_DECODE_ANY, &je)) == NULL) {
		snprintf(h->xwhy, sizeof(h->xwhy),
		    "the program answered a line that is not JSON (%s): %.*s",
		    je.text, (int)(len < 80 ? len : 80), line);
		return ONYX_EDATA;
	}
	if (json_is_object(v) &&
	    (e = json_object_get(v, "onyx/error")) != NULL) {
		char *msg = json_is_string(e)
		    ? strdup(json_string_value(e))
		    : json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY);
		if (msg == NULL)
			st = ONYX_ERR;
		else if (s != NULL) {
			free(s->error);
			s->error = msg;
		} else {
			st = dead_letter(h, NULL, 0, false, msg, 1);
			free(msg);
		}
	} else if (json_is_object(v)) {
		st = out_segment(h, line, len, v, h->xwhy, sizeof(h->xwhy));
		(*emitted)++;
	} else if (json_is_array(v)) {
		bool all = true;
		json_array_foreach(v, i, e) all = all && json_is_object(e);
		if (!all)
			st = garbage(h, line, len);
		json_array_foreach(v, i, e)
		{
			char *text;
			if (st != ONYX_OK)
				break;
			text =
			    json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
			if (text == NULL) {
				st = ONYX_ERR;
				break;
			}
			st = out_segment(
			    h, text, strlen(text), e, h->xwhy, sizeof(h->xwhy));
			free(text);
			(*emitted)++;
		}
	} else if (!json_is_null(v))
		st = garbage(h, line, len);
	json_decref(v);
	if (st == ONYX_OK)
		h->broken_run = 0;
	return st;
}

/* The answers the program has given so far to the lines fed. */
static int
exec_answers(struct hop *h, unsigned long long *emitted)
{
	const char *line;
	size_t len;
	int st;

	while (onyx_exec_answer(h->x, &line, &len)) {
		if (h->nans >= h->nfed) {
			snprintf(h->xwhy, sizeof(h->xwhy),
			    "the program answered more lines than it was "
			    "given: %.*s",
			    (int)(len < 80 ? len : 80), line);
			return ONYX_EDATA;
		}
		h->xwhy[0] = '\0';
		st = answer_line(
		    h, line, len, &h->slots[h->fed[h->nans]], emitted);
		if (st != ONYX_OK)
			return st;
		h->nans++;
	}
	return ONYX_OK;
}

/* Hand slot k to the program. ONYX_EDATA (h->xwhy) when it failed. */
static int
exec_feed(struct hop *h, int k, unsigned long long *emitted)
{
	struct slot *s = &h->slots[k];
	int st;

	if ((st = hold(h)) != ONYX_OK)
		return st;
	h->fed[h->nfed++] = k;
	if ((st = onyx_exec_queue(h->x, h->bodies.p + s->off, s->len, h->xwhy,
	         sizeof(h->xwhy))) != ONYX_OK)
		return st == ONYX_ERR ? ONYX_ERR : ONYX_EDATA;
	/* lines go ahead of the answers, in large writes; the answers are
	 * read as they come, in bulk (the batch's end waits for the rest) */
	if (onyx_exec_queued(h->x) < EXEC_WRITE_AHEAD)
		return ONYX_OK;
	if ((st = onyx_exec_pump(h->x, 0, h->xwhy, sizeof(h->xwhy))) != ONYX_OK)
		return st == ONYX_ERR ? ONYX_ERR : ONYX_EDATA;
	return exec_answers(h, emitted);
}

/*
 * Wait for the answers to every line fed, servicing the connection.
 * ONYX_OK; ONYX_EDATA (h->xwhy) when the program failed; ONYX_EINTR when
 * *stop was set; or the connection's error.
 */
static int
exec_finish(
    struct hop *h, unsigned long long *emitted, volatile sig_atomic_t *stop)
{
	int tmo =
	    h->t->exec_timeout_ms > 0 ? h->t->exec_timeout_ms : EXEC_TIMEOUT_MS;
	long long until = onyx_mono_ms() + tmo;
	int st;

	for (;;) {
		long long left;

		if ((st = exec_answers(h, emitted)) != ONYX_OK)
			return st;
		if (h->nans >= h->nfed)
			return ONYX_OK;
		if (*stop)
			return ONYX_EINTR;
		if ((left = until - onyx_mono_ms()) <= 0) {
			snprintf(h->xwhy, sizeof(h->xwhy),
			    "timeout: the program gave %d of %d answers in "
			    "%d ms",
			    h->nans, h->nfed, tmo);
			return ONYX_EDATA;
		}
		if ((st = onyx_exec_pump(h->x, left < 50 ? (int)left : 50,
		         h->xwhy, sizeof(h->xwhy))) != ONYX_OK)
			return st == ONYX_ERR ? ONYX_ERR : ONYX_EDATA;
		st = onyx_amqp_wait(h->a, 0, -1);
		if (st < 0 && st != ONYX_EINTR)
			return fail(h, st, "waiting");
	}
}

/*
 * The program failed on this attempt: blame the first line it did not
 * answer, and start a new program. A line blamed more than max-retries
 * times is dead. ONYX_EDATA when the program looks broken: it failed on
 * BROKEN_AFTER lines in a row without one good answer.
 */
static int
exec_failed(struct hop *h)
{
	unsigned long long ignored = 0;
	struct slot *s = NULL;
	char why[512];

	snprintf(why, sizeof(why), "%s", h->xwhy);
	/* the answers it gave before failing: they place the blame */
	if (h->x != NULL) {
		onyx_exec_drain(h->x);
		(void)exec_answers(h, &ignored);
	}
	if (h->nfed > 0)
		s = &h->slots[h->fed[h->nans < h->nfed ? h->nans
		                                       : h->nfed - 1]];
	if (s != NULL && ++s->tries > h->t->max_retries) {
		if ((s->dead = strdup(why)) == NULL)
			return ONYX_ERR;
		h->broken_run++;
	}
	onyx_log(ONYX_LOG_WARN,
	    "task %s: %s; the batch of %d segment%s is rolled back and tried "
	    "again%s",
	    h->t->name, why, h->nslots, h->nslots == 1 ? "" : "s",
	    s != NULL && s->dead != NULL ? " without the segment it failed on"
	                                 : "");
	onyx_exec_stop(h->x, 0);
	h->x = NULL;
	if (h->broken_run >= BROKEN_AFTER) {
		snprintf(h->err, h->errlen,
		    "task '%s': the program failed on %d segments in a row "
		    "without one good answer: %s",
		    h->t->name, h->broken_run, why);
		return ONYX_EDATA;
	}
	return exec_start(h);
}

/*
 * The batch in h->slots, fed so far (failed: the feeding failed): get every
 * live slot answered, retrying failed attempts in new transactions; then
 * dead-letter the dead slots and accept every slot. ONYX_OK with the
 * transaction open; ONYX_EINTR when stopped (nothing accepted); or an
 * error.
 */
static int
exec_batch(struct hop *h, volatile sig_atomic_t *stop,
    unsigned long long *emitted, bool failed)
{
	const struct onyx_task_spec *t = h->t;
	int st, k, attempt = 1;

	for (;;) {
		bool retry = false;

		st = failed ? ONYX_EDATA : exec_finish(h, emitted, stop);
		failed = false;
		if (st == ONYX_EDATA) {
			if ((st = exec_failed(h)) != ONYX_OK)
				return st;
		} else if (st != ONYX_OK)
			return st;
		else {
			/* answered: slots that answered onyx/error */
			int nerr = 0;
			for (k = 0; k < h->nslots; k++) {
				struct slot *s = &h->slots[k];
				if (s->error == NULL)
					continue;
				nerr++;
				if (++s->tries > t->max_retries) {
					s->dead = s->error;
					s->error = NULL;
				} else
					retry = true;
			}
			if (!retry)
				break;
			onyx_log(ONYX_LOG_INFO,
			    "task %s: the program answered onyx/error for %d "
			    "segment%s; the batch is tried again (attempt %d)",
			    t->name, nerr, nerr == 1 ? "" : "s", attempt + 1);
		}
		attempt++;
		for (k = 0; k < h->nslots; k++) {
			free(h->slots[k].error);
			h->slots[k].error = NULL;
		}
		if ((st = rollback(h)) != ONYX_OK)
			return fail(h, st, "rollback");
		*emitted = 0;
		h->batch_dead = 0;
		if ((st = onyx_amqp_txn_declare(h->a, t->txn_timeout_ms)) !=
		    ONYX_OK)
			return fail(h, st, "declare");
		h->nfed = h->nans = 0;
		for (k = 0; k < h->nslots && !failed; k++) {
			if (h->slots[k].dead != NULL)
				continue;
			st = exec_feed(h, k, emitted);
			if (st == ONYX_EDATA)
				failed = true;
			else if (st != ONYX_OK)
				return st;
		}
	}
	for (k = 0; k < h->nslots; k++) {
		struct slot *s = &h->slots[k];
		if (s->dead != NULL &&
		    (st = dead_letter(h, h->bodies.p + s->off, s->len,
		         s->has_body, s->dead, s->tries)) != ONYX_OK)
			return st;
	}
	for (k = 0; k < h->nmsgs; k++)
		if ((st = onyx_amqp_accept(h->a, &h->msgs[k])) != ONYX_OK)
			return fail(h, st, "accepting");
	return ONYX_OK;
}

/* Forget the batch's slots (their messages are settled or released). */
static void
slots_clear(struct hop *h)
{
	for (int k = 0; k < h->nslots; k++) {
		free(h->slots[k].dead);
		free(h->slots[k].error);
	}
	h->nslots = h->nfed = h->nans = h->nmsgs = 0;
	h->bodies.len = 0;
}

/*
 * Stopped in the middle of a program's batch: give its messages (and the
 * sentinel s, when held) back and roll back; nothing was accepted.
 */
static int
exec_undo(struct hop *h, struct onyx_amqp_msg *s)
{
	int k, st;

	if ((st = settle(h)) != ONYX_OK)
		return st;
	for (k = 0; k < h->nmsgs; k++)
		onyx_amqp_release(h->a, &h->msgs[k]);
	if (s != NULL)
		onyx_amqp_release(h->a, s);
	st = rollback(h);
	slots_clear(h);
	return st == ONYX_OK ? ONYX_OK : fail(h, st, "rollback");
}

/* Keep message m, settled once its batch is answered. */
static int
msg_add(struct hop *h, const struct onyx_amqp_msg *m)
{
	if (h->nmsgs == h->msgcap) {
		int cap = h->msgcap ? 2 * h->msgcap : 64;
		struct onyx_amqp_msg *p =
		    reallocarray(h->msgs, cap, sizeof(*p));
		if (p == NULL)
			return ONYX_ERR;
		h->msgs = p;
		h->msgcap = cap;
	}
	h->msgs[h->nmsgs++] = *m;
	return ONYX_OK;
}

/* Keep a segment of the last message kept (its text body[0..len), or
 * none) as the batch's next slot. */
static int
slot_add(struct hop *h, const char *body, size_t len, const char *dead)
{
	struct slot *s;

	if (h->nslots == h->slotcap) {
		int cap = h->slotcap ? 2 * h->slotcap : 64;
		struct slot *p = reallocarray(h->slots, cap, sizeof(*p));
		int *f;
		if (p == NULL)
			return ONYX_ERR;
		h->slots = p;
		if ((f = reallocarray(h->fed, cap, sizeof(*f))) == NULL)
			return ONYX_ERR;
		h->fed = f;
		h->slotcap = cap;
	}
	s = &h->slots[h->nslots];
	memset(s, 0, sizeof(*s));
	s->msg = h->nmsgs - 1;
	s->off = h->bodies.len;
	s->has_body = body != NULL;
	if (body != NULL) {
		if (onyx_buf_append(&h->bodies, body, len) != 0)
			return ONYX_ERR;
		s->len = len;
	}
	if (dead != NULL && (s->dead = strdup(dead)) == NULL)
		return ONYX_ERR;
	h->nslots++;
	return ONYX_OK;
}

/* The end of input for a program: its last lines, until it exits. */
static int
exec_flush(struct hop *h, unsigned long long *emitted)
{
	int tmo =
	    h->t->exec_timeout_ms > 0 ? h->t->exec_timeout_ms : EXEC_TIMEOUT_MS;
	long long until = onyx_mono_ms() + tmo;
	bool ended = false;
	const char *line;
	size_t len;
	char e[512];
	int st;

	if (h->x == NULL)
		return ONYX_OK;
	if (onyx_exec_close_input(h->x, tmo, e, sizeof(e)) != ONYX_OK)
		ended = true;
	for (;;) {
		while (onyx_exec_answer(h->x, &line, &len)) {
			h->xwhy[0] = '\0';
			st = answer_line(h, line, len, NULL, emitted);
			if (st == ONYX_EDATA)
				st =
				    dead_letter(h, line, len, true, h->xwhy, 1);
			if (st != ONYX_OK)
				return st;
		}
		if (ended)
			break;
		if (onyx_mono_ms() >= until) {
			onyx_log(ONYX_LOG_WARN,
			    "task %s: the program did not end within %d ms "
			    "of the end of its input: killed",
			    h->t->name, tmo);
			break;
		}
		if (onyx_exec_pump(h->x, 50, e, sizeof(e)) != ONYX_OK)
			ended = true;
		st = onyx_amqp_wait(h->a, 0, -1);
		if (st < 0 && st != ONYX_EINTR)
			return fail(h, st, "waiting");
	}
	if (ended && onyx_exec_status(h->x) != 0)
		onyx_log(ONYX_LOG_WARN, "task %s: at the end of its input, %s",
		    h->t->name, e);
	onyx_exec_stop(h->x, 0);
	h->x = NULL;
	return ONYX_OK;
}

/*
 * This peer has seen the end of every ingress queue: write what its
 * function kept (a C function's flush hook; a program's last lines after
 * the end of its input) in one transaction, then unregister.
 */
static int
flush(struct hop *h)
{
	const struct onyx_task_spec *t = h->t;
	unsigned long long emitted = 0;
	char why[512];
	int st, tries;

	if (!h->fed_any)
		return ONYX_OK;
	h->batch_dead = 0;
	if ((st = onyx_amqp_txn_declare(h->a, t->txn_timeout_ms)) != ONYX_OK)
		return fail(h, st, "declare");
	if (t->exec_argv != NULL)
		st = exec_flush(h, &emitted);
	else if ((st = call_fn(h, NULL, 0, true, &tries, why, sizeof(why))) ==
	    ONYX_EDATA)
		snprintf(h->err, h->errlen,
		    "task '%s': the flush hook failed %d time%s: %s", t->name,
		    tries, tries == 1 ? "" : "s", why);
	else if (st == ONYX_OK)
		st = send_emitted(h, &emitted);
	if (st == ONYX_OK)
		st = frames_flush(h);
	if (st == ONYX_OK &&
	    (st = onyx_amqp_txn_commit(h->a, t->txn_timeout_ms)) != ONYX_OK)
		return fail(h, st, "committing the flush");
	if (st != ONYX_OK) {
		rollback(h);
		return st;
	}
	h->stats->written += emitted;
	h->stats->dead += h->batch_dead;
	h->batch_dead = 0;
	h->flushed = true;
	onyx_log(ONYX_LOG_INFO, "task %s: flushed: %llu segment%s written",
	    t->name, emitted, emitted == 1 ? "" : "s");
	unhold(h);
	return ONYX_OK;
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
		return fail(h, st, "management");
	for (i = 0; i < t->ningress; i++) {
		bool frames = t->ingress_packed != NULL && t->ingress_packed[i];
		if ((st = onyx_amqp_receiver(h->a, t->ingress[i],
		         frames ? FRAME_CREDIT : t->batch_size, &h->in[i])) !=
		    ONYX_OK)
			return fail(h, st, "reading");
		/* a frame is at most frame_max; a longer segment travels alone */
		onyx_amqp_set_max_message(h->in[i],
		    (max_segment(h) > h->frame_max ? max_segment(h)
		                                   : h->frame_max) +
		        ONYX_WIRE_SLACK);
	}
	for (i = 0; i < t->negress; i++)
		if ((st = onyx_amqp_sender(
		         h->a, t->egress[i], true, &h->out[i])) != ONYX_OK)
			return fail(h, st, "writing");
	if ((st = onyx_amqp_sender(h->a, t->seal_queue, true, &h->seal_out)) !=
	        ONYX_OK ||
	    (st = onyx_amqp_sender(h->a, t->done_queue, true, &h->done_out)) !=
	        ONYX_OK)
		return fail(h, st, "opening the task's queues");
	if (t->dlq_queue != NULL &&
	    (st = onyx_amqp_sender(h->a, t->dlq_queue, true, &h->dlq_out)) !=
	        ONYX_OK)
		return fail(h, st, "opening the dead-letter queue");
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

/*
 * Has another peer taken the sentinel of this task's (single) ingress? Its
 * SEAL marker is committed with the sentinel's consumption and becomes the
 * DONE marker in one transaction, so SEAL is read first: a marker missed
 * there because it moved is found in DONE.
 */
static int
ingress_ended(struct hop *h, bool *ended)
{
	long long n;
	int st;

	*ended = false;
	if ((st = count(h, h->t->seal_queue, &n)) != ONYX_OK)
		return st;
	if (n == 0 && (st = count(h, h->t->done_queue, &n)) != ONYX_OK)
		return st;
	*ended = n > 0;
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
			    "task %s: queue '%s' holds %lld messages, none "
			    "delivered to its %lld consumer%s for %d s: the "
			    "broker does not deliver them (see onyx(7), Broker "
			    "flow control)",
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
	if (h->inflight_read == 0 && h->inflight_written == 0)
		return;
	h->stats->read += h->inflight_read;
	h->stats->written += h->inflight_written;
	h->stats->dead += h->inflight_dead;
	h->stats->batches++;
	h->inflight_read = h->inflight_written = h->inflight_dead = 0;
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

	if (why == NULL && len > max_segment(h)) {
		struct onyx_amqp_msg one = {.total = len};
		oversize(h, &one, body, len, w, sizeof(w), &body, &len);
		why = w;
	} else if (why == NULL) {
		if (onyx_json_check_object(body, len, pe, sizeof(pe)) !=
		    ONYX_OK) {
			snprintf(w, sizeof(w),
			    "not a segment (a JSON object): %s", pe);
			why = w;
		}
	}
	if (h->t->exec_argv == NULL)
		return why != NULL
		    ? dead_letter(h, body, len, body != NULL, why, 0)
		    : apply(h, body, len, emitted);
	if ((st = slot_add(h, body, len, why)) != ONYX_OK)
		return st;
	if (why != NULL || *xfailed)
		return ONYX_OK;
	st = exec_feed(h, h->nslots - 1, emitted);
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
			return settle(h) == ONYX_OK ? ONYX_HOP_STOPPED
			                            : ONYX_ERR;
		h->batch_dead = 0;
		while (n < t->batch_size) {
			enum onyx_wire_kind kind = ONYX_WIRE_SEGMENT;
			const char *body = NULL;
			size_t len = 0;
			char why[512], pe[400];
			bool bad, big;
			int wait;

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
			h->last_read = onyx_mono_ms();
			h->undelivered_said = false;
			big = m.total > m.size;
			bad = big ||
			    onyx_wire_decode(h->w, m.bytes, m.size, &kind,
			        &body, &len, pe, sizeof(pe)) != ONYX_OK;
			if (!bad && kind == ONYX_WIRE_SEGMENT &&
			    len > max_segment(h)) {
				m.total = len;
				big = true;
			}
			if (big) {
				oversize(h, &m, big && !bad ? body : NULL, len,
				    why, sizeof(why), &body, &len);
				bad = true;
			}
			if (!bad && kind == ONYX_WIRE_SENTINEL) {
				held = m;
				hj = j;
				break;
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
					return fail(h, st, "declare");
				open = true;
			}
			if (exec && h->x == NULL &&
			    (st = exec_start(h)) != ONYX_OK) {
				/* after a flush, or a restart that failed */
				onyx_amqp_release(h->a, &m);
				exec_undo(h, NULL);
				return st;
			}
			/* a program's batch is accepted once it has answered */
			if (exec && (st = msg_add(h, &m)) != ONYX_OK)
				return st;
			if (!bad && kind == ONYX_WIRE_FRAME)
				st = take_frame(
				    h, body, len, &n, &emitted, &xfailed);
			else {
				n++;
				st = take(h, body, len, bad ? why : NULL,
				    &emitted, &xfailed);
			}
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
				rollback(h);
				return st;
			}
			if ((st = onyx_amqp_accept(h->a, &m)) != ONYX_OK)
				return fail(h, st, "accepting");
		}
		if (exec && open) {
			st = exec_batch(h, stop, &emitted, xfailed);
			if (st != ONYX_OK) {
				/* stopped, or failed: nothing of it was accepted */
				int ust = exec_undo(h, hj >= 0 ? &held : NULL);
				if (st == ONYX_EINTR)
					return ust == ONYX_OK ? ONYX_HOP_STOPPED
					                      : ust;
				return st;
			}
			slots_clear(h);
		}
		if (t->user_ingress && (open || hj >= 0)) {
			/*
			 * The sentinel of this stream went to another peer:
			 * what we hold (segments, even a sentinel) is the next
			 * stream's, for the next job on this queue. It goes
			 * back; the task is done here.
			 */
			bool ended;
			if ((st = ingress_ended(h, &ended)) != ONYX_OK)
				return st;
			if (ended) {
				if (hj >= 0)
					onyx_amqp_release(h->a, &held);
				if ((st = settle(h)) != ONYX_OK)
					return st;
				if (open && (st = rollback(h)) != ONYX_OK)
					return fail(h, st, "rollback");
				onyx_log(ONYX_LOG_INFO,
				    "task %s: %d segment%s after the end of "
				    "the "
				    "stream on %s went back",
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
			if ((st = frames_flush(h)) != ONYX_OK)
				return st;
			if ((st = onyx_amqp_txn_commit_begin(
			         h->a, t->txn_timeout_ms)) != ONYX_OK)
				return fail(h, st, "commit");
			if (t->no_pipeline && (st = settle(h)) != ONYX_OK)
				return st;
			confirm(h);
			h->inflight_read = n;
			h->inflight_written = emitted;
			h->inflight_dead = h->batch_dead;
			h->batch_dead = 0;
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
			check_undelivered(h);
		}
	}
}

/* The batch arrays of a program function, and the function's init hook. */
static int
prepare(struct hop *h)
{
	const struct onyx_task_spec *t = h->t;
	char e[512] = "";

	if (t->exec_argv != NULL)
		return exec_start(h);
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
	h.stateful = t->exec_argv != NULL || t->flush != NULL;
	h.last_read = onyx_mono_ms();
	if ((h.w = onyx_wire_new()) == NULL)
		return ONYX_ERR;
	st = open_links(&h);
	if (st == ONYX_OK)
		st = prepare(&h);
	if (st == ONYX_OK)
		st = loop(&h, stop);
	/* a wait cut short by the stop flag is a stop, not a failure */
	if (st == ONYX_EINTR && *stop)
		st = ONYX_HOP_STOPPED;
	if (h.fed_any && !h.flushed) {
		if (t->flush != NULL)
			onyx_log(ONYX_LOG_WARN,
			    "task %s: the aggregation state of this peer is "
			    "dropped: it left the task before its flush",
			    t->name);
		unhold(&h);
	}
	onyx_exec_stop(h.x, 500);
	for (i = 0; h.gx != NULL && i < t->negress; i++)
		onyx_exec_stop(h.gx[i], 0);
	slots_clear(&h);
	free(h.slots);
	free(h.fed);
	free(h.msgs);
	for (i = 0; h.frames != NULL && i < t->negress; i++) {
		for (int b = 0; h.frames[i] != NULL && b < nbuckets(&h, i); b++)
			onyx_frame_free(&h.frames[i][b]);
		free(h.frames[i]);
	}
	free(h.frames);
	onyx_buf_free(&h.bodies);
	if (h.inited && t->fini != NULL)
		t->fini(h.emit.state);
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
