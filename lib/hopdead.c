/* lib/hopdead.c: dead letters of a hop, and the account of a message too long to be a segment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hopint.h"
#include "log.h"
#include "status.h"
#include "wire.h"

#define LOG_DEAD_FIRST 20 /* dead letters logged one by one, then 1 in 1000 */

/*
 * A message too long to be a segment: why (its size and the limit) and
 * the start of its text (*head, *hlen: at most 200 bytes, cut at a UTF-8
 * boundary; NULL when no text is found).
 */
void
onyx_hopdead_oversize(const struct hop *h, const struct onyx_amqp_msg *m,
    const char *body, size_t len, char *why, size_t whylen, const char **head,
    size_t *hlen)
{
	size_t n;

	if (body == NULL && onyx_wire_peek_body(m->bytes, m->size, &body, &len))
		body = NULL;
	snprintf(why, whylen,
	    "the message is %zu bytes, over the maximum segment size of %zu bytes (ONYX_MAX_SEGMENT, --max-segment); the segment holds its first bytes",
	    m->total, onyx_hop_max_segment(h));
	*head = body;
	n = body != NULL && len > 200 ? 200 : len;
	/* do not cut a UTF-8 sequence in two */
	while (body != NULL && n > 0 && n < len &&
	    ((unsigned char)body[n] & 0xc0) == 0x80)
		n--;
	*hlen = body != NULL ? n : 0;
}

/*
 * Send a dead letter, in the open transaction: {"error", "task",
 * "attempts", "segment"}, the segment as JSON when its text is JSON, as a
 * string when it is other text, null when there is none. Without a
 * dead-letter queue the task fails with the error instead (ONYX_EDATA).
 */
int
onyx_hopdead_letter(struct hop *h, const char *body, size_t len, bool has_body,
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
		return onyx_hop_fail(h, st, "writing the dead-letter queue");
	h->batch_dead++;
	k = h->stats->dead + h->inflight_dead + h->batch_dead;
	if (k <= LOG_DEAD_FIRST || k % 1000 == 0)
		onyx_log(ONYX_LOG_WARN,
		    "task %s: dead letter %llu to %s after %d attempt%s: %s",
		    t->name, k, t->dlq_queue, attempts,
		    attempts == 1 ? "" : "s", error);
	return ONYX_OK;
}
