/* lib/hop.h: one virtual peer's work on one task: hops in broker transactions, and sealing. */
#ifndef ONYX_HOP_H
#define ONYX_HOP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "../include/onyx/onyx.h"
#include "amqp.h"

/*
 * The sealing protocol (see onyx(7)). Each task has two internal queues:
 * SEAL, where a marker stands for each ingress queue found finished, and
 * DONE, where one marker says the task has sealed.
 * 1. A peer that meets the sentinel of ingress queue Q commits its batch
 *    first (without the sentinel), then asks the broker for Q's message
 *    count, which includes messages held in other peers' open transactions.
 *    Count 1 (the sentinel alone): in one transaction it accepts the
 *    sentinel and sends a marker to SEAL; Q is finished, exactly once.
 *    Otherwise, after a short wait, it moves the sentinel to Q's tail in one
 *    transaction (accept it, send it again) and goes on reading.
 * 2. When SEAL holds one marker per ingress queue, a peer takes them all
 *    in one transaction that also sends one sentinel to every egress queue
 *    and a marker to DONE: the task seals exactly once.
 * 3. Idle peers look at DONE and SEAL from time to time, so the death of a
 *    peer at any step leaves work that another peer finishes: an open
 *    transaction rolls back and its messages return to their queues.
 */
struct onyx_hop_stats {
	unsigned long long read;    /* segments taken from ingress, committed */
	unsigned long long written; /* segments sent to egress, committed */
	unsigned long long dead; /* sent to the dead-letter queue, committed */
	unsigned long long batches;
	unsigned long long requeues; /* sentinels moved to the tail */
};

/* One committed batch, for metrics (lib/peermetrics.h). */
struct onyx_hop_batch {
	unsigned long long segments; /* taken from ingress */
	/* from the start of its commit until the peer had the outcome: with
	 * pipelining, collected when the next batch commits or the loop waits */
	double commit_seconds;
	double fn_seconds; /* in the function, writing its results included */
};

/*
 * How the task reading an egress queue groups its segments: every segment
 * sent there carries its group as the AMQP group-id, so that the broker
 * gives one group to one consumer. One of key, fn, argv is set.
 */
struct onyx_group {
	const char *task;        /* the grouped task, for messages */
	const char *key;         /* a selector (lib/json.h) */
	onyx_group_fn *fn;       /* a C function */
	const char *const *argv; /* a program answering each line's group */
	const char *params;      /* the grouped task's onyx/params */
};

struct onyx_task_spec {
	const char *name;           /* task name, for messages */
	const char *const *ingress; /* queues read */
	int ningress;
	const char *const *egress; /* queues written */
	int negress;
	const char *seal_queue;
	const char *done_queue;
	int batch_size;       /* segments per transaction */
	int batch_timeout_ms; /* wait for a batch to fill */
	onyx_fn *fn;
	const char *params; /* JSON text handed to fn */
	/* onyx/exec: a program's argv, NULL-terminated; when set, fn is unused
	 * and a coprocess answers each segment (see onyx(7)) */
	const char *const *exec_argv;
	int exec_timeout_ms; /* answers of a batch; 0: 10000 */
	const char *peer;    /* the virtual peer's id: ONYX_PEER of programs */
	/* a segment the function fails on is tried max_retries more times,
	 * then goes with the reason to dlq_queue; so does a message that is
	 * not a JSON object. dlq_queue NULL: such a segment fails the task. */
	const char *dlq_queue;
	int max_retries;
	/* a message or a program's answer longer than this (bytes of JSON
	 * text) is a dead letter, never read whole; 0: the default 1 MiB */
	size_t max_segment;
	/* the hooks of an aggregating C function (include/onyx/onyx.h) */
	onyx_init_fn *init;
	onyx_flush_fn *flush;
	onyx_fini_fn *fini;
	/*
	 * onyx/window (onyx-plan(1)): the catalog's window spec, or NULL for
	 * a task that is no window task (then fn or exec_argv runs); the C
	 * fold of an aggregate {"fn": ...} and its SYM_merge (NULL when
	 * absent), and the admitted argv of an aggregate {"exec": ...}.
	 */
	const json_t *window;
	onyx_fold_fn *fold;
	onyx_fold_fn *fold_merge;
	const char *const *window_argv;
	/* egress_group[i]: the grouping of egress i's reader, or NULL */
	const struct onyx_group *const *egress_group;
	/*
	 * Aggregation across the task's peers (a C function with a flush
	 * hook, or a program, keeps state): hold(ctx, true) registers this
	 * peer as holding state before its function sees a segment, hold(ctx,
	 * false) once its flush has committed (or its state is lost); holders
	 * counts the registered peers. The task seals only when none is left.
	 * NULL: this peer alone decides.
	 */
	int (*hold)(void *ctx, bool on, char *err, size_t errlen);
	int (*holders)(void *ctx, int *n, char *err, size_t errlen);
	void *hold_ctx;
	int txn_timeout_ms;
	bool no_pipeline; /* commit each batch before the next */
	/*
	 * The ingress is a user's queue (an input task): it may carry the next
	 * stream right after this one's sentinel, so a batch commits only
	 * while the task's sentinel has not been taken by another peer.
	 */
	bool user_ingress;
	/*
	 * Packed frames (lib/frame.h, onyx(7)): egress_packed[i] says egress
	 * i gets frames (an internal edge, or an output told onyx/packed),
	 * ingress_packed[i] that ingress i carries them (its credit counts
	 * frames). NULL: none. Any ingress reads both forms.
	 */
	const bool *egress_packed;
	const bool *ingress_packed;
	size_t
	    frame_max; /* a frame's payload bytes; 0: ONYX_FRAME_MAX_DEFAULT */
	/*
	 * Keyed state (lib/state.h, onyx(7) STATE): state_mode is an enum
	 * onyx_state_mode (0: none); state_queue the durable state's queue;
	 * group the task's own grouping (the one its ingress writer uses),
	 * NULL for a sequential task (one bucket).
	 */
	int state_mode;
	const char *state_queue;
	const struct onyx_group *group;
	/* called with the committed counts at most once a second, if set */
	void (*progress)(void *ctx, const struct onyx_hop_stats *s);
	/* called after each batch has committed and is counted in s, if set */
	void (*batch)(void *ctx, const struct onyx_hop_stats *s,
	    const struct onyx_hop_batch *b);
	void *progress_ctx; /* of progress and batch */
};

enum onyx_hop_end {
	ONYX_HOP_SEALED = 1,  /* this peer sealed the task */
	ONYX_HOP_DONE = 2,    /* the task was sealed by another peer */
	ONYX_HOP_STOPPED = 3, /* *stop was set; nothing left half-done */
};

/*
 * onyx_hop_run: work on task t over connection a until the task is sealed
 * or *stop is set. Returns an onyx_hop_end (> 0), or an error status (< 0)
 * with err filled: a function failure (ONYX_EDATA; the batch was rolled
 * back), or the connection's error (the open transaction is lost and rolls
 * back on the broker). stats counts committed work.
 */
int onyx_hop_run(struct onyx_amqp *a, const struct onyx_task_spec *t,
    volatile sig_atomic_t *stop, struct onyx_hop_stats *stats, char *err,
    size_t errlen);

#endif
