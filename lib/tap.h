/* lib/tap.h: tapping an edge of a running job: its segments shown, nothing taken from it (onyx-queue tap). */
#ifndef ONYX_TAP_H
#define ONYX_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "amqp.h"
#include "mgmt.h"
#include "zk.h"

/*
 * How a tap works. An Artemis browser (lib/amqp.h, onyx_amqp_browser)
 * sends copies of what the queue holds when it attaches, and nothing that
 * arrives later; it takes nothing, and the broker does not count it as a
 * consumer: messageCount, deliveringCount, messagesAdded and consumerCount
 * stay as they are, the job's consumers get every message in order, and no
 * message group is pinned to it. So a tap looks again and again: each look
 * browses the queue from its head to its end (known by a drain), and shows
 * the segments of the messages that the look before did not hold. The
 * end of a look is a drain that brings nothing; a look that still ends
 * early (Artemis answers a drain before the rest when the connection is
 * busy) shows nothing new, and such a look is merged into the one before,
 * so what it did not reach is not shown again by the next. A
 * message is known by the hash of its body (a frame's payload): the looks
 * are compared as multisets, so two equal messages on the queue are two.
 * What the job takes and gives back (a rolled-back batch) may be shown
 * again; a message that comes and goes between two looks is not seen.
 * Cost: a look reads every message waiting on the edge; looks are at least
 * interval_ms apart, and never closer than the last look took.
 */

/* A multiset of message hashes (a look), growable. Zeroed, it is empty. */
struct onyx_tap_seen {
	uint64_t *keys; /* 0: an empty slot */
	unsigned *counts;
	size_t cap, n;
	size_t total; /* the messages counted, with repeats */
};

/* onyx_tap_hash: the key of a message body (never 0). */
uint64_t onyx_tap_hash(const void *p, size_t len);

/*
 * onyx_tap_seen_add: count one more of key in s; returns its count now,
 * 0 when out of memory (s unchanged).
 */
unsigned onyx_tap_seen_add(struct onyx_tap_seen *s, uint64_t key);

/* onyx_tap_seen_count: how many of key s holds. */
unsigned onyx_tap_seen_count(const struct onyx_tap_seen *s, uint64_t key);

/*
 * onyx_tap_seen_merge: make dst hold, of each key, the larger of its count
 * in dst and in src. 0, or -1 when out of memory (dst then partly merged).
 */
int
onyx_tap_seen_merge(struct onyx_tap_seen *dst, const struct onyx_tap_seen *src);

/* onyx_tap_seen_clear: empty s, keeping its memory. */
void onyx_tap_seen_clear(struct onyx_tap_seen *s);
void onyx_tap_seen_free(struct onyx_tap_seen *s);

/*
 * onyx_tap_plan_edge: the queue of the edge from -> to of the job of plan
 * (onyx-plan's JSON), written to queue (qlen bytes). Returns ONYX_OK;
 * ONYX_ENOENT when the plan's workflow has no such edge, err then naming
 * the job and the edge and listing the job's edges ("a -> b, b -> c");
 * ONYX_EDATA when the plan has no job id or workflow.
 */
int onyx_tap_plan_edge(const json_t *plan, const char *from, const char *to,
    char *queue, size_t qlen, char *err, size_t errlen);

/*
 * onyx_tap_find_edge: read the plan of job in cluster from ZooKeeper and
 * put the queue of its edge from -> to in queue (qlen bytes); *status gets
 * the job's status ("running", "completed", ... or "unknown"; statuslen
 * bytes). Returns ONYX_OK (the status may be final: the caller says the
 * job ended); ONYX_ENOENT when there is no such job (err names the job and
 * the cluster) or the plan has no such edge (err lists its edges); or
 * the ZooKeeper error, with err filled.
 */
int onyx_tap_find_edge(struct onyx_zk *z, const char *cluster, const char *job,
    const char *from, const char *to, char *queue, size_t qlen, char *status,
    size_t statuslen, char *err, size_t errlen);

struct onyx_tap_opts {
	const char *queue;        /* the edge's queue */
	FILE *out;                /* segments go here, one line each */
	unsigned long long count; /* stop after this many; 0: no limit */
	int timeout_ms;     /* stop after this long without a new segment; -1 */
	int interval_ms;    /* between two looks, at least (> 0) */
	int answer_ms;      /* bound on the broker's answers */
	size_t max_segment; /* a longer segment is skipped; 0: no limit */
};

enum onyx_tap_end {
	ONYX_TAP_COUNT,   /* count reached */
	ONYX_TAP_TIMEOUT, /* timeout_ms passed without a new segment */
	ONYX_TAP_INTERRUPTED,
	ONYX_TAP_GONE, /* the queue was deleted: the job ended */
};

struct onyx_tap_result {
	unsigned long long shown; /* segments written */
	unsigned long long looks;
	unsigned long long skipped; /* messages or segments not shown: not
	                               segments, or over max_segment */
	enum onyx_tap_end end;
};

/*
 * onyx_tap_run: show the segments passing on opts->queue, one line each
 * on opts->out (flushed after each message), as onyx_queue_recv writes
 * them (a frame's segments in order), taking nothing from the queue, until
 * count, timeout, the stop flag of a (ONYX_TAP_INTERRUPTED) or the queue
 * is gone (ONYX_TAP_GONE). m is a management client on a. Returns ONYX_OK
 * with res->end saying why it stopped; ONYX_ENOENT when the queue does not
 * exist at the start (err names it); ONYX_EIO when the output fails; or
 * the connection's error. A sentinel is not shown. When the queue is gone
 * while a look attaches, the broker makes it again: the tap then deletes
 * that empty queue (it held nothing) and ends with ONYX_TAP_GONE.
 */
int onyx_tap_run(struct onyx_amqp *a, struct onyx_mgmt *m,
    const struct onyx_tap_opts *opts, struct onyx_tap_result *res, char *err,
    size_t errlen);

#endif
