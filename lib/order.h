/* lib/order.h: the order of each bucket's frames on a grouped edge into a task with keyed state (pure decisions). */
#ifndef ONYX_ORDER_H
#define ONYX_ORDER_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/*
 * The reserved key of a bucket's keyed state that holds its order record:
 * {"SENDER": [SEQ, SEEN_MS], ...}, per sender (16 hex digits) the sequence
 * number of its last frame processed in this bucket and when (wall-clock
 * ms) it was processed. A key beginning with the byte 0x01 is the
 * engine's: onyx_state_put refuses it, onyx_state_each never shows it.
 */
#define ONYX_ORDER_KEY "\001order"
#define ONYX_ORDER_KEYLEN 6
#define ONYX_ORDER_RESERVED '\001'

/* Defaults (onyx(7), "Order of a bucket's frames"); each has an
 * environment variable of the same name. */
#define ONYX_ORDER_HOLD_FRAMES 256 /* frames held aside, per hop run */
#define ONYX_ORDER_HOLD_MS 30000   /* the longest a frame is held */
#define ONYX_ORDER_SENDER_TTL_MS (24LL * 3600 * 1000) /* a record's life */

enum onyx_order_verdict {
	ONYX_ORDER_NEXT,  /* the next frame of its sender: process it */
	ONYX_ORDER_AHEAD, /* frames before it are missing: hold it */
	ONYX_ORDER_PAST,  /* processed already: accept it, do not process */
};

/*
 * onyx_order_decide: the verdict on frame seq (>= 1) of a sender whose
 * last frame processed in the bucket was last (0: none known).
 */
enum onyx_order_verdict
onyx_order_decide(unsigned long long last, unsigned long long seq);

/* onyx_order_hex: the 16 hex digits (and a NUL) of an 8-byte sender id. */
void onyx_order_hex(const unsigned char id[8], char out[17]);

/*
 * onyx_order_last: the last sequence number of sender (hex) in record rec
 * (an order record, or NULL): 0 when rec holds none.
 */
unsigned long long onyx_order_last(const json_t *rec, const char *sender);

/*
 * onyx_order_note: a new order record: rec (or an empty one when NULL)
 * with sender's last sequence set to seq, seen at now_ms, without the
 * senders not seen since now_ms - ttl_ms (their count added to *pruned
 * when not NULL). NULL when out of memory. rec is not changed.
 */
json_t *
onyx_order_note(const json_t *rec, const char *sender, unsigned long long seq,
    long long now_ms, long long ttl_ms, unsigned *pruned);

#endif
