/* lib/hopfn.c: a hop's C function, with its retries, and the aggregation state a function holds until its flush. */
#include <stdio.h>
#include <stdlib.h>

#include "fn.h"
#include "hopint.h"
#include "log.h"
#include "state.h"
#include "status.h"

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
		/* keyed state: this call's puts count only if it succeeds */
		if (h->state != NULL)
			onyx_state_call_begin(h->state);
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
				st = onyx_hopgroup_of(h, h->emit.data.p + off,
				    h->emit.len[k], NULL,
				    h->gidv + k * t->negress, why, whylen);
				if (st != ONYX_OK)
					while (k-- > 0)
						onyx_hopgroup_free(h,
						    h->gidv + k * t->negress);
			}
		}
		if (h->state != NULL)
			onyx_state_call_end(h->state, st == ONYX_OK);
		if (st == ONYX_OK || st != ONYX_EDATA)
			return st;
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
			st = onyx_hoppack_send_one(h, h->emit.data.p + off,
			    h->emit.len[k], h->gidv + k * h->t->negress);
		onyx_hopgroup_free(h, h->gidv + k * h->t->negress);
	}
	if (st == ONYX_OK)
		*emitted += h->emit.n;
	return st;
}

/* Apply the C function to one segment; dead-letter it when it keeps failing. */
int
onyx_hopfn_apply(
    struct hop *h, const char *body, size_t len, unsigned long long *emitted)
{
	char why[512];
	const char *key;
	size_t klen;
	int st, tries;

	if ((st = onyx_hopfn_hold(h)) != ONYX_OK)
		return st;
	/* keyed state: the segment's bucket becomes current (restored) */
	if (h->state != NULL &&
	    (st = onyx_hopstate_enter(
	         h, body, len, NULL, &key, &klen, why, sizeof(why))) != ONYX_OK)
		return st == ONYX_EDATA
		    ? onyx_hopdead_letter(h, body, len, true, why, 0)
		    : st;
	st = call_fn(h, body, len, false, &tries, why, sizeof(why));
	if (st == ONYX_EDATA)
		return onyx_hopdead_letter(h, body, len, true, why, tries);
	if (st != ONYX_OK)
		return st;
	return send_emitted(h, emitted);
}

int
onyx_hopfn_end(struct hop *h, void *ctx, unsigned long long *emitted)
{
	char why[512];
	int st, tries;

	(void)ctx;
	st = call_fn(h, NULL, 0, true, &tries, why, sizeof(why));
	if (st == ONYX_EDATA)
		snprintf(h->err, h->errlen,
		    "task '%s': the flush hook failed %d time%s: %s",
		    h->t->name, tries, tries == 1 ? "" : "s", why);
	if (st != ONYX_OK)
		return st;
	return send_emitted(h, emitted);
}

/* Aggregation state */

/* The function is about to see a segment: register as holding state. */
int
onyx_hopfn_hold(struct hop *h)
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
void
onyx_hopfn_unhold(struct hop *h)
{
	char e[512];

	if (!h->fed_any)
		return;
	h->fed_any = false;
	if (h->t->hold != NULL &&
	    h->t->hold(h->t->hold_ctx, false, e, sizeof(e)) != ONYX_OK)
		onyx_log(ONYX_LOG_WARN, "task %s: %s", h->t->name, e);
}

/*
 * This peer has seen the end of every ingress queue: write what its
 * function kept (a C function's flush hook; a program's last lines after
 * the end of its input) in one transaction, then unregister.
 */
int
onyx_hopfn_flush(struct hop *h)
{
	const struct onyx_task_spec *t = h->t;
	unsigned long long emitted = 0;
	char why[512];
	int st, tries;

	if (!h->fed_any)
		return ONYX_OK;
	h->batch_dead = 0;
	if ((st = onyx_amqp_txn_declare(h->a, t->txn_timeout_ms)) != ONYX_OK)
		return onyx_hop_fail(h, st, "declare");
	if (t->exec_argv != NULL && h->state == NULL)
		st = onyx_hopexec_flush(h, &emitted);
	else if (h->state != NULL)
		/* keyed state in memory: the flush hook (a program's end
		 * lines) once per bucket */
		st = onyx_hopstate_flush_all(
		    h, h->state_end, h->state_end_ctx, &emitted);
	else if ((st = call_fn(h, NULL, 0, true, &tries, why, sizeof(why))) ==
	    ONYX_EDATA)
		snprintf(h->err, h->errlen,
		    "task '%s': the flush hook failed %d time%s: %s", t->name,
		    tries, tries == 1 ? "" : "s", why);
	else if (st == ONYX_OK)
		st = send_emitted(h, &emitted);
	if (st == ONYX_OK)
		st = onyx_hoppack_flush(h);
	if (st == ONYX_OK &&
	    (st = onyx_amqp_txn_commit(h->a, t->txn_timeout_ms)) != ONYX_OK)
		return onyx_hop_fail(h, st, "committing the flush");
	if (st != ONYX_OK) {
		onyx_hop_rollback(h);
		return st;
	}
	h->stats->written += emitted;
	h->stats->dead += h->batch_dead;
	h->batch_dead = 0;
	h->flushed = true;
	onyx_log(ONYX_LOG_INFO, "task %s: flushed: %llu segment%s written",
	    t->name, emitted, emitted == 1 ? "" : "s");
	onyx_hopfn_unhold(h);
	return ONYX_OK;
}
