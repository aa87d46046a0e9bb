/* lib/queue.h: moving JSON lines between file descriptors and a broker queue in transactions. */
#ifndef ONYX_QUEUE_H
#define ONYX_QUEUE_H

#include <stdbool.h>
#include <stdio.h>

#include "amqp.h"

struct onyx_send_opts {
	const char *queue;
	int fd;               /* JSON lines come from here */
	const char *name;     /* of the input, for messages ("stdin") */
	int batch;            /* segments per transaction, > 0 */
	int batch_timeout_ms; /* commit a partial batch when input stalls */
	bool done;            /* append the sentinel after the last line */
	int txn_timeout_ms;   /* bound on the broker's answers */
	size_t max_segment;   /* a longer line is refused; 0: no limit */
	bool packed; /* lines go in packed frames (lib/frame.h), not one each */
};

struct onyx_send_result {
	unsigned long long sent;     /* segments committed */
	unsigned long long batches;  /* transactions committed */
	unsigned long long bad_line; /* the line that stopped us, or 0 */
	bool sentinel;               /* the sentinel was committed */
};

/*
 * onyx_queue_send: send every line of opts->fd as one segment, batch lines
 * a transaction. A line that is not a JSON object stops the run: the lines
 * before it are committed, nothing after it is sent, no sentinel; returns
 * ONYX_EDATA with err naming the line. So does a line longer than
 * max_segment, read in at most max_segment bytes of memory, never whole. An interrupt commits what was read
 * and returns ONYX_EINTR (no sentinel). Other errors: the connection's, with
 * only whole batches on the queue. res counts what was committed.
 * With packed, the lines of a batch travel in frames of at most batch lines
 * and ONYX_FRAME_MAX_DEFAULT payload bytes, sent in the batch's transaction;
 * a line too long for a frame alone is sent as a plain segment, in order.
 */
int onyx_queue_send(struct onyx_amqp *a, const struct onyx_send_opts *opts,
    struct onyx_send_result *res, char *err, size_t errlen);

struct onyx_recv_opts {
	const char *queue;
	FILE *out;            /* segments go here, one line each */
	int batch;            /* segments per transaction, > 0 */
	int batch_timeout_ms; /* commit a partial batch after this idle time */
	unsigned long long count; /* stop after this many; 0: no limit */
	bool until_done;          /* stop at the sentinel: success */
	bool keep_done; /* with until_done: leave the sentinel queued */
	int timeout_ms; /* stop after this long without a message; -1 */
	int txn_timeout_ms;
	size_t max_segment; /* a longer message is not read whole; 0: none */
};

enum onyx_recv_end {
	ONYX_RECV_COUNT,   /* count reached */
	ONYX_RECV_DONE,    /* the sentinel was met */
	ONYX_RECV_TIMEOUT, /* --timeout passed without a message */
	ONYX_RECV_INTERRUPTED,
};

struct onyx_recv_result {
	unsigned long long received; /* segments written and committed */
	enum onyx_recv_end end;
	bool sentinel_consumed;
};

/*
 * onyx_queue_recv: write segments of opts->queue to opts->out, accepting
 * them in a transaction only after they are written and flushed. Returns
 * ONYX_OK with res->end saying why it stopped, ONYX_EDATA when a message is
 * not a JSON object or is longer than max_segment (left on the queue, err
 * names it and its size; everything before it committed; a long one is
 * never held whole in memory), ONYX_EIO when the output fails (the unflushed batch is not
 * accepted and goes back to the queue), or the connection's error.
 * A packed frame (lib/frame.h) is written as its segments, in order, and
 * taken whole or not at all: it is checked through first (a frame that
 * cannot be read, or any of its segments that is not a JSON object or is
 * longer than max_segment, gives ONYX_EDATA, the frame left on the queue);
 * count and batch count segments, and a frame is taken whole even when it
 * goes past them, so res->received may exceed count.
 */
int onyx_queue_recv(struct onyx_amqp *a, const struct onyx_recv_opts *opts,
    struct onyx_recv_result *res, char *err, size_t errlen);

/*
 * onyx_queue_write_segment: write the JSON object text body[0..len) to out
 * as one line (a pretty-printed one made compact). 0, or -1 when the
 * write fails.
 */
int onyx_queue_write_segment(FILE *out, const char *body, size_t len);

#endif
