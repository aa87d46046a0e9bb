/* lib/hop.h: one virtual peer's work on one task: hops in broker transactions, and sealing. */
#ifndef ONYX_HOP_H
#define ONYX_HOP_H

#include <signal.h>
#include <stdbool.h>

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
	unsigned long long batches;
	unsigned long long requeues; /* sentinels moved to the tail */
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
	int txn_timeout_ms;
	bool no_pipeline; /* commit each batch before the next */
	/* called with the committed counts at most once a second, if set */
	void (*progress)(void *ctx, const struct onyx_hop_stats *s);
	void *progress_ctx;
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
