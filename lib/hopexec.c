/* lib/hopexec.c: program functions (onyx/exec) in a hop: a batch of slots fed, answered, retried, settled. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "buf.h"
#include "clock.h"
#include "exec.h"
#include "hopexecstate.h"
#include "hopint.h"
#include "jscan.h"
#include "log.h"
#include "status.h"

#define EXEC_WRITE_AHEAD 8192 /* input queued for a program before a write */
#define BROKEN_AFTER 10 /* program failures in a row that mean it is broken */

int
onyx_hopexec_start(struct hop *h)
{
	char e[512];
	int st = onyx_exec_start(h->t->exec_argv, h->t->params, h->t->name,
	    h->t->peer, &h->x, e, sizeof(e));

	if (st != ONYX_OK)
		snprintf(h->err, h->errlen, "task '%s': %s", h->t->name, e);
	else
		onyx_exec_set_max_answer(h->x, onyx_hop_max_segment(h));
	/* with keyed state, the end of input is the end lines of each key */
	if (h->state != NULL) {
		h->state_end = onyx_hopexecstate_end;
		h->state_end_ctx = NULL;
	}
	return st;
}

static int
garbage(struct hop *h, const char *line, size_t len)
{
	snprintf(h->xwhy, sizeof(h->xwhy),
	    "the program answered a line that is not an object, an array of objects or null: %.*s",
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
		st = onyx_hoppack_out_segment(
		    h, line, len, NULL, h->xwhy, sizeof(h->xwhy));
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
			st = onyx_hopdead_letter(h, NULL, 0, false, msg, 1);
			free(msg);
		}
	} else if (json_is_object(v)) {
		st = onyx_hoppack_out_segment(
		    h, line, len, v, h->xwhy, sizeof(h->xwhy));
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
			st = onyx_hoppack_out_segment(
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
	int st, k;

	while (onyx_exec_answer(h->x, &line, &len)) {
		if (h->nans >= h->nfed) {
			snprintf(h->xwhy, sizeof(h->xwhy),
			    "the program answered more lines than it was given: %.*s",
			    (int)(len < 80 ? len : 80), line);
			return ONYX_EDATA;
		}
		h->xwhy[0] = '\0';
		/* counted first: a keyed answer may write the next line */
		k = h->fed[h->nans++];
		st = onyx_hopexecstate_on(h)
		    ? onyx_hopexecstate_answer(h, k, line, len, emitted)
		    : answer_line(h, line, len, &h->slots[k], emitted);
		if (st != ONYX_OK) {
			h->nans--;
			return st;
		}
	}
	return ONYX_OK;
}

/* Hand slot k to the program. ONYX_EDATA (h->xwhy) when it failed. */
int
onyx_hopexec_feed(struct hop *h, int k, unsigned long long *emitted)
{
	struct slot *s = &h->slots[k];
	int st;

	if ((st = onyx_hopfn_hold(h)) != ONYX_OK)
		return st;
	if (onyx_hopexecstate_on(h)) {
		if ((st = onyx_hopexecstate_feed(h, k)) != ONYX_OK)
			return st;
	} else {
		h->fed[h->nfed++] = k;
		if ((st = onyx_exec_queue(h->x, h->bodies.p + s->off, s->len,
		         h->xwhy, sizeof(h->xwhy))) != ONYX_OK)
			return st == ONYX_ERR ? ONYX_ERR : ONYX_EDATA;
	}
	/* lines go ahead of the answers, in large writes; the answers are
	 * read as they come, in bulk (the batch's end waits for the rest) */
	if (onyx_exec_queued(h->x) < EXEC_WRITE_AHEAD)
		return ONYX_OK;
	if ((st = onyx_exec_pump(h->x, 0, h->xwhy, sizeof(h->xwhy))) != ONYX_OK)
		return st == ONYX_ERR ? ONYX_ERR : ONYX_EDATA;
	return exec_answers(h, emitted);
}

/* answers still to come past which reads wait to be large; the wait */
#define EXEC_BULK_LINES 64
#define EXEC_BULK_NS 200000L
#define EXEC_SERVICE_MS 20 /* the broker connection, while answers come */

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
	long long until = onyx_mono_ms() + tmo, serviced = onyx_mono_ms();
	int st;

	for (;;) {
		long long left;
		int had = h->nans;

		if ((st = exec_answers(h, emitted)) != ONYX_OK)
			return st;
		if (h->nans >= h->nfed)
			return ONYX_OK;
		/*
		 * Many answers to come and some just read: let the program
		 * write a few more before the next read, so that reads are
		 * large and wake-ups few (it writes a line at a time).
		 */
		if (h->nans > had && h->nfed - h->nans > EXEC_BULK_LINES) {
			struct timespec ts = {0, EXEC_BULK_NS};
			nanosleep(&ts, NULL);
		}
		if (*stop)
			return ONYX_EINTR;
		if ((left = until - onyx_mono_ms()) <= 0) {
			snprintf(h->xwhy, sizeof(h->xwhy),
			    "timeout: the program gave %d of %d answers in %d ms",
			    h->nans, h->nfed, tmo);
			return ONYX_EDATA;
		}
		if ((st = onyx_exec_pump(h->x, left < 50 ? (int)left : 50,
		         h->xwhy, sizeof(h->xwhy))) != ONYX_OK)
			return st == ONYX_ERR ? ONYX_ERR : ONYX_EDATA;
		/* the broker connection (heartbeats), not at every answer */
		if (onyx_mono_ms() - serviced < EXEC_SERVICE_MS)
			continue;
		serviced = onyx_mono_ms();
		st = onyx_amqp_wait(h->a, 0, -1);
		if (st < 0 && st != ONYX_EINTR)
			return onyx_hop_fail(h, st, "waiting");
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
	    "task %s: %s; the batch of %d segment%s is rolled back and tried again%s",
	    h->t->name, why, h->nslots, h->nslots == 1 ? "" : "s",
	    s != NULL && s->dead != NULL ? " without the segment it failed on"
	                                 : "");
	onyx_exec_stop(h->x, 0);
	h->x = NULL;
	if (h->broken_run >= BROKEN_AFTER) {
		snprintf(h->err, h->errlen,
		    "task '%s': the program failed on %d segments in a row without one good answer: %s",
		    h->t->name, h->broken_run, why);
		return ONYX_EDATA;
	}
	return onyx_hopexec_start(h);
}

/*
 * The batch in h->slots, fed so far (failed: the feeding failed): get every
 * live slot answered, retrying failed attempts in new transactions; then
 * dead-letter the dead slots and accept every slot. ONYX_OK with the
 * transaction open; ONYX_EINTR when stopped (nothing accepted); or an
 * error.
 */
int
onyx_hopexec_batch(struct hop *h, volatile sig_atomic_t *stop,
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
			    "task %s: the program answered onyx/error for %d segment%s; the batch is tried again (attempt %d)",
			    t->name, nerr, nerr == 1 ? "" : "s", attempt + 1);
		}
		attempt++;
		for (k = 0; k < h->nslots; k++) {
			free(h->slots[k].error);
			h->slots[k].error = NULL;
		}
		if ((st = onyx_hop_rollback(h)) != ONYX_OK)
			return onyx_hop_fail(h, st, "rollback");
		onyx_hopexecstate_reset(h);
		*emitted = 0;
		h->batch_dead = 0;
		if ((st = onyx_amqp_txn_declare(h->a, t->txn_timeout_ms)) !=
		    ONYX_OK)
			return onyx_hop_fail(h, st, "declare");
		h->nfed = h->nans = 0;
		for (k = 0; k < h->nslots && !failed; k++) {
			if (h->slots[k].dead != NULL)
				continue;
			st = onyx_hopexec_feed(h, k, emitted);
			if (st == ONYX_EDATA)
				failed = true;
			else if (st != ONYX_OK)
				return st;
		}
	}
	/* answered for good: the new states of keys go into the store */
	if (onyx_hopexecstate_on(h) &&
	    (st = onyx_hopexecstate_commit(h)) != ONYX_OK)
		return st;
	for (k = 0; k < h->nslots; k++) {
		struct slot *s = &h->slots[k];
		if (s->dead != NULL &&
		    (st = onyx_hopdead_letter(h, h->bodies.p + s->off, s->len,
		         s->has_body, s->dead, s->tries)) != ONYX_OK)
			return st;
	}
	for (k = 0; k < h->nmsgs; k++)
		if ((st = onyx_amqp_accept(h->a, &h->msgs[k])) != ONYX_OK)
			return onyx_hop_fail(h, st, "accepting");
	return ONYX_OK;
}

/* Forget the batch's slots (their messages are settled or released). */
void
onyx_hopexec_slots_clear(struct hop *h)
{
	for (int k = 0; k < h->nslots; k++) {
		free(h->slots[k].dead);
		free(h->slots[k].error);
	}
	onyx_hopexecstate_free(h);
	h->nslots = h->nfed = h->nans = h->nmsgs = 0;
	h->bodies.len = 0;
}

/*
 * Stopped in the middle of a program's batch: give its messages (and the
 * sentinel s, when held) back and roll back; nothing was accepted.
 */
int
onyx_hopexec_undo(struct hop *h, struct onyx_amqp_msg *s)
{
	int k, st;

	if ((st = onyx_hop_settle(h)) != ONYX_OK)
		return st;
	for (k = 0; k < h->nmsgs; k++)
		onyx_amqp_release(h->a, &h->msgs[k]);
	if (s != NULL)
		onyx_amqp_release(h->a, s);
	st = onyx_hop_rollback(h);
	onyx_hopexec_slots_clear(h);
	return st == ONYX_OK ? ONYX_OK : onyx_hop_fail(h, st, "rollback");
}

/* Keep message m, settled once its batch is answered. */
int
onyx_hopexec_msg_add(struct hop *h, const struct onyx_amqp_msg *m)
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
int
onyx_hopexec_slot_add(
    struct hop *h, const char *body, size_t len, const char *dead)
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
int
onyx_hopexec_flush(struct hop *h, unsigned long long *emitted)
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
				st = onyx_hopdead_letter(
				    h, line, len, true, h->xwhy, 1);
			if (st != ONYX_OK)
				return st;
		}
		if (ended)
			break;
		if (onyx_mono_ms() >= until) {
			onyx_log(ONYX_LOG_WARN,
			    "task %s: the program did not end within %d ms of the end of its input: killed",
			    h->t->name, tmo);
			break;
		}
		if (onyx_exec_pump(h->x, 50, e, sizeof(e)) != ONYX_OK)
			ended = true;
		st = onyx_amqp_wait(h->a, 0, -1);
		if (st < 0 && st != ONYX_EINTR)
			return onyx_hop_fail(h, st, "waiting");
	}
	if (ended && onyx_exec_status(h->x) != 0)
		onyx_log(ONYX_LOG_WARN, "task %s: at the end of its input, %s",
		    h->t->name, e);
	onyx_exec_stop(h->x, 0);
	h->x = NULL;
	return ONYX_OK;
}
