/* lib/hopexecstate.h: program functions with keyed state (onyx/exec with onyx/state); internal to the hop. */
#ifndef ONYX_HOPEXECSTATE_H
#define ONYX_HOPEXECSTATE_H

#include <stdbool.h>
#include <stddef.h>

#include "hopint.h"

/*
 * The line protocol of a program whose task keeps keyed state (onyx(7),
 * Program functions): each line in is {"key": K, "state": V, "segment":
 * S}, K the segment's group and V the key's state (null when it has none);
 * each answer is {"state": V2, "emit": X} (X: an object, an array of
 * objects, or null, as a program without state answers; absent: null).
 * At the end of input, one line {"key": K, "state": V, "end": true} per
 * key holding state, answered by X.
 *
 * Two lines of one key are never in flight together: a segment whose key
 * has a line unanswered waits behind it and is written once that line is
 * answered, with the new state. New states are kept aside for the attempt
 * and put into the store (lib/state.h) only when the batch is answered
 * for good (onyx_hopexecstate_commit), so an attempt that fails, a line
 * answered {"onyx/error": ...} and a dead letter change no state.
 *
 * Unless said otherwise, a function works in the open transaction, on the
 * batch of lib/hopexec.c (h->slots), fills h->err on an error other than
 * ONYX_EDATA and ONYX_ERR, and frees nothing it was given.
 */

/* onyx_hopexecstate_on: whether the task's program gets keyed state. */
bool onyx_hopexecstate_on(const struct hop *h);

/*
 * onyx_hopexecstate_feed: hand slot k to the program with its key's state,
 * or queue it behind the line of its key in flight. A slot whose group
 * cannot be had becomes a dead letter (s->dead), not fed. Returns ONYX_OK;
 * ONYX_EDATA with h->xwhy when the program failed; ONYX_ERR; or an error
 * of the store (a restore).
 */
int onyx_hopexecstate_feed(struct hop *h, int k);

/*
 * onyx_hopexecstate_answer: line[0..len) is the program's answer to slot
 * k. A good answer's state is kept for the attempt and its segments go
 * out (counted in *emitted); {"onyx/error": E} or an answer without
 * "state", not an object, or with a bad "emit" marks the slot failed
 * (s->error). Then the next slot of its key is written. Returns ONYX_OK;
 * ONYX_EDATA with h->xwhy for garbage (not JSON) or a result whose group
 * cannot be had (the attempt fails); or another error.
 */
int onyx_hopexecstate_answer(struct hop *h, int k, const char *line, size_t len,
    unsigned long long *emitted);

/*
 * onyx_hopexecstate_reset: a new attempt of the batch: forget the lines in
 * flight, the queues behind them and the states answered.
 */
void onyx_hopexecstate_reset(struct hop *h);

/*
 * onyx_hopexecstate_commit: the batch is answered for good: put each new
 * state into the store, in its bucket. Returns ONYX_OK, ONYX_ERR, or an
 * error of the store.
 */
int onyx_hopexecstate_commit(struct hop *h);

/*
 * onyx_hopexecstate_end: the flush of one bucket (the current one, by
 * onyx_hopstate_flush_all): one end line per key holding state, answered
 * by X, sent and counted in *emitted once every line is answered. A line
 * answered {"onyx/error": E} is a dead letter; a program that fails (exits,
 * answers garbage, times out) is started again and the bucket's lines fed
 * again, the line it failed on a dead letter after onyx/max-retries
 * failures. Returns ONYX_OK; ONYX_EDATA with h->err when the program looks
 * broken or a dead letter has no queue; ONYX_EINTR on the stop flag; or
 * another error.
 */
int
onyx_hopexecstate_end(struct hop *h, void *ctx, unsigned long long *emitted);

/*
 * onyx_hopexecstate_free: free what the batch's keyed state holds (at the
 * batch's end: lib/hopexec.c onyx_hopexec_slots_clear).
 */
void onyx_hopexecstate_free(struct hop *h);

#endif
