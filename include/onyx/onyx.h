/* include/onyx/onyx.h: the interface a C function task implements (onyx/fn "libname.so:symbol"). */
#ifndef ONYX_ONYX_H
#define ONYX_ONYX_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ONYX_FN_ABI 1

/* Where a function puts its results; opaque. */
struct onyx_emit;

/*
 * onyx_emit_segment: hand one result segment, the JSON object text
 * json[0..len), to the peer (copied; json may be reused at once). Call it
 * zero or more times per input segment. Returns 0, or -1 when out of memory
 * (the function should then return -1).
 */
int onyx_emit_segment(struct onyx_emit *out, const char *json, size_t len);

/*
 * onyx_fn: the signature of a function task. Called once per input segment
 * with the segment's JSON object text seg[0..len) (not NUL-terminated), the
 * task's "onyx/params" as JSON text (or "{}"), and where to emit results.
 * Returns 0 on success. Returns -1 on failure, with a message in
 * err[0..errlen) if it likes: the call is tried again, up to the task's
 * onyx/max-retries times (default 3), then the segment goes to the task's
 * dead-letter queue with the message and the rest of the batch goes on.
 * A function may be called again with the same segment after a crash
 * (replay of an uncommitted batch): keep it idempotent. Calls come from one
 * thread per virtual peer; a function that keeps global state must lock it.
 */
typedef int onyx_fn(const char *seg, size_t len, const char *params,
    struct onyx_emit *out, char *err, size_t errlen);

/*
 * Aggregation: a function "lib.so:SYM" may come with hooks found by name in
 * the same library, each optional:
 *
 * SYM_init: called once when the virtual peer starts on the task, before
 * any segment; *state (NULL on entry) is what onyx_state() returns to SYM.
 * Returns 0, or -1 with err filled: the task fails.
 *
 * SYM_flush: called once when the task is sealing, after every input
 * segment has been processed: what it emits is written before the task's
 * sentinel, in one transaction. Returns 0, or -1 (retried up to
 * onyx/max-retries times, then the task fails).
 *
 * SYM_fini: called when the virtual peer leaves the task, to free state.
 *
 * What SYM_init makes lives in the peer's memory: when a peer dies (or the
 * task is stopped) before its flush has committed, it is lost; onyx(7).
 * For state that survives, use keyed state below.
 */
typedef int
onyx_init_fn(const char *params, void **state, char *err, size_t errlen);
typedef int onyx_flush_fn(void *state, const char *params,
    struct onyx_emit *out, char *err, size_t errlen);
typedef void onyx_fini_fn(void *state);

/*
 * onyx_state: inside SYM or SYM_flush, the state SYM_init made for this
 * virtual peer (out is the emit handle of the call), NULL without init.
 */
void *onyx_state(struct onyx_emit *out);

/*
 * Keyed state (onyx(7), STATE): on a task whose catalog says
 * "onyx/state": "durable" (or "memory"), a function keeps JSON values by
 * key, scoped to the group bucket of the segment being processed (the
 * task must be grouped or sequential). Puts of a call are applied only
 * when the call returns 0: a failed or retried call, a dead-lettered
 * segment change nothing. With "durable", the changes of a batch are
 * written to the broker in the batch's own transaction, so each input
 * segment counts in the state exactly once whatever fails, and a bucket
 * that moves to another peer is restored there first. Keys are UTF-8
 * text; a key and its value stay under 90 KiB of JSON text. out is the
 * emit handle of the call (SYM or SYM_flush). Calls of one virtual peer
 * come from its one thread.
 */

/* onyx_state_enabled: 1 when the task keeps keyed state, else 0. */
int onyx_state_enabled(struct onyx_emit *out);

/*
 * onyx_state_get: the value of key[0..klen): returns 1 found (*val, *vlen:
 * its JSON text, not NUL-terminated, valid until the next state call), 0
 * absent, -1 error (no keyed state on this task, out of memory).
 */
int onyx_state_get(struct onyx_emit *out, const char *key, size_t klen,
    const char **val, size_t *vlen);

/*
 * onyx_state_put: set key[0..klen) to the JSON text val[0..vlen) (any JSON
 * value); val NULL deletes the key. Returns 0, or -1 (no keyed state on
 * this task, val not JSON, a key that is not UTF-8, too long, out of
 * memory).
 */
int onyx_state_put(struct onyx_emit *out, const char *key, size_t klen,
    const char *val, size_t vlen);

/*
 * onyx_state_each: in SYM_flush of a task with keyed state (called once
 * per bucket holding state, at the end of input): cb for each key of that
 * bucket, with its value's JSON text; cb returning non-zero stops the walk
 * and is returned. 0 after the whole walk, -1 without keyed state.
 */
int onyx_state_each(struct onyx_emit *out,
    int (*cb)(
        void *ctx, const char *key, size_t klen, const char *val, size_t vlen),
    void *ctx);

/*
 * onyx_group_fn: the signature of an "onyx/group-by-fn" C function. Given
 * a segment seg[0..len) and the grouped task's onyx/params, it writes the
 * segment's group, a NUL-terminated text, into group[0..grouplen).
 * Segments of one group go to one virtual peer of the grouped task.
 * Returns 0, or -1 with err filled (the segment failed; see
 * onyx/max-retries).
 */
typedef int onyx_group_fn(const char *seg, size_t len, const char *params,
    char *group, size_t grouplen, char *err, size_t errlen);

/*
 * onyx_fold_fn: the fold of an "onyx/window" aggregate {"fn":
 * "lib.so:SYM"} (onyx-plan(1)). Folds the segment seg[0..slen) (JSON
 * object text) into the window's accumulator acc[0..alen) (JSON text,
 * "null" for a new window) and writes the new accumulator, JSON text, to
 * out[0..outlen); params is the task's onyx/params. Returns the length of
 * the new accumulator; when that is outlen or more, nothing usable was
 * written and it is called again with a buffer that large. Returns -1 on
 * failure, with a message in err[0..errlen) if it likes: the segment goes
 * to the task's dead-letter queue and changes no window. The accumulator
 * is the window's result. It must not keep state of its own: windows
 * live in the task's keyed state (durable).
 *
 * SYM_merge, optional, the same signature: merges accumulator seg (a
 * second accumulator, not a segment) into acc, for session windows that
 * a segment joins; a session window needs it.
 */
typedef long
onyx_fold_fn(const char *acc, size_t alen, const char *seg, size_t slen,
    const char *params, char *out, size_t outlen, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
