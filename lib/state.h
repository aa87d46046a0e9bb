/* lib/state.h: a task's keyed state, per group bucket: the store, the staging of calls and batches, and its record format (pure; no I/O). */
#ifndef ONYX_STATE_H
#define ONYX_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/*
 * The model (onyx(7), STATE). A task with "onyx/state" keeps, for each of
 * the 64 group buckets of its ingress (lib/hoppack.c), a map of keys to
 * JSON values. One hop run holds a struct onyx_state: the buckets it has
 * restored (its cache, valid while its ingress receiver lives), the bucket
 * current for the segment being processed, the puts of the call in
 * progress, and an undo journal of the batch being built.
 *
 * Durable state goes to the broker as records, one AMQP message each, on
 * the task's state queue, in the batch's own transaction. A record is JSON
 * text (format version ONYX_STATE_FORMAT):
 *
 *	{"v":1,"t":"delta","set":{K:V,...},"del":[K,...]}
 *	{"v":1,"t":"snap","id":S,"part":I,"parts":N,"set":{K:V,...}}
 *
 * each message carrying the application properties onyx_bucket (0..63) and
 * onyx_seq (the bucket's record number, from 1, one more per record). A
 * snapshot is the whole bucket in N parts, each under
 * ONYX_STATE_RECORD_MAX bytes, written in one transaction, S the seq of
 * its first part. Restoring applies a bucket's records in queue order: a
 * delta changes the map, a snapshot's last part replaces it, so anything
 * older than the newest complete snapshot has no effect (and is removed
 * later through management).
 */

#define ONYX_STATE_BUCKETS 64 /* as GROUP_BUCKETS of lib/hoppack.c */
#define ONYX_STATE_FORMAT 1
/* a record's text stays under the broker's large-message threshold
 * (100 KiB): a key and value longer than this fail the put */
#define ONYX_STATE_RECORD_MAX (90 * 1024)
/* compaction: a snapshot once the bucket's records since the last one
 * hold at least as many entries as it has keys, and this many bytes */
#define ONYX_STATE_SNAP_MIN_BYTES (64 * 1024)

enum onyx_state_mode {
	ONYX_STATE_NONE = 0,
	ONYX_STATE_MEMORY = 1,
	ONYX_STATE_DURABLE = 2,
};

struct onyx_state; /* one hop run's view of a task's keyed state */

/*
 * onyx_state_mode_of: the mode named by an "onyx/state" value ("durable",
 * "memory"); ONYX_STATE_NONE for NULL or anything else.
 */
enum onyx_state_mode onyx_state_mode_of(const char *s);

/*
 * onyx_state_mode_of_catalog: the keyed state of a task with catalog cat:
 * its "onyx/state"; absent, durable for a window task ("onyx/window"),
 * else none.
 */
enum onyx_state_mode onyx_state_mode_of_catalog(const json_t *cat);

/*
 * onyx_state_new: an empty store (no bucket restored, bucket 0 current).
 * NULL when out of memory. Free with onyx_state_free.
 */
struct onyx_state *onyx_state_new(enum onyx_state_mode mode);
void onyx_state_free(struct onyx_state *s);
enum onyx_state_mode onyx_state_get_mode(const struct onyx_state *s);

/* onyx_state_loaded: whether bucket b (< ONYX_STATE_BUCKETS) is cached. */
bool onyx_state_loaded(const struct onyx_state *s, unsigned b);

/*
 * onyx_state_select: make bucket b current (created empty and counted as
 * loaded when it is not). Returns 0, or -1 out of memory.
 */
int onyx_state_select(struct onyx_state *s, unsigned b);

/* onyx_state_current: the current bucket. */
unsigned onyx_state_current(const struct onyx_state *s);

/* onyx_state_nkeys: the keys bucket b holds (0 when not loaded). */
size_t onyx_state_nkeys(const struct onyx_state *s, unsigned b);

/*
 * onyx_state_unload: forget bucket b (its records since the last write
 * included); the next select starts it empty, so restore it first.
 */
void onyx_state_unload(struct onyx_state *s, unsigned b);

/* values are jansson json_t (borrowed on get; put steals; NULL deletes) */

/*
 * onyx_state_get_json: key[0..klen) of the current bucket, the puts of
 * the call in progress seen first; NULL when absent.
 */
json_t *onyx_state_get_json(struct onyx_state *s, const char *key, size_t klen);

/*
 * onyx_state_put_json: set key (valid UTF-8, klen + the value's text under
 * ONYX_STATE_RECORD_MAX) to v (stolen, NULL deletes) in the current
 * bucket: staged until onyx_state_call_end when a call is in progress,
 * else applied at once. Returns 0, or -1 (out of memory, a key that is not
 * UTF-8; v is released).
 */
int onyx_state_put_json(
    struct onyx_state *s, const char *key, size_t klen, json_t *v);

/*
 * onyx_state_each_json: the walk of the current bucket (staged puts
 * applied), for a flush: cb for each key; cb returning non-zero stops the
 * walk and is returned. cb must not put.
 */
int onyx_state_each_json(struct onyx_state *s,
    int (*cb)(void *ctx, const char *key, size_t klen, json_t *v), void *ctx);

/*
 * staging of one call: begin, then commit (apply, keep true) or drop. A
 * call's puts reach the bucket only when it ends kept: a failed or retried
 * call, a dead-lettered segment change nothing.
 */
void onyx_state_call_begin(struct onyx_state *s);
void onyx_state_call_end(struct onyx_state *s, bool keep);

/*
 * Batches. Applied puts are journaled until the batch is written
 * (onyx_state_batch_write) or abandoned (onyx_state_batch_abandon: the
 * batch rolled back, its changes undone in the cache).
 */
void onyx_state_batch_abandon(struct onyx_state *s);

/* onyx_state_batch_dirty: whether the open batch changed any bucket. */
bool onyx_state_batch_dirty(const struct onyx_state *s);

/*
 * onyx_state_batch_write: the records of the open batch, for a durable
 * store: for each bucket it changed, in bucket order, a delta (the changed
 * keys' values now; several when over ONYX_STATE_RECORD_MAX) or, when
 * onyx_state_should_snapshot says so, a snapshot in parts; each record
 * handed to send(ctx, bucket, seq, text, len). The journal is then
 * cleared (the batch's changes belong to its transaction: if that fails
 * the whole run ends). A memory store writes nothing and only clears it.
 * Returns 0, a non-zero send result, or -1 out of memory.
 */
int onyx_state_batch_write(struct onyx_state *s,
    int (*send)(void *ctx, unsigned bucket, unsigned long long seq,
        const char *text, size_t len),
    void *ctx);

/*
 * onyx_state_take_snapshots: after the batch that wrote snapshots
 * committed: for each bucket whose snapshot S committed since the last
 * call, cb(ctx, bucket, S) (the records of that bucket below seq S may be
 * removed). Clears the list.
 */
void onyx_state_take_snapshots(struct onyx_state *s,
    void (*cb)(void *ctx, unsigned bucket, unsigned long long snap), void *ctx);

/*
 * onyx_state_batch_forget: the records written last belong to a
 * transaction whose snapshots are not to be reported (a flush at the end
 * of input): forget them.
 */
void onyx_state_batch_forget(struct onyx_state *s);

/*
 * onyx_state_batch_committed: every batch written but the last keep
 * (0 or 1: a commit still in flight) has committed: their snapshots become
 * what onyx_state_take_snapshots reports.
 */
void onyx_state_batch_committed(struct onyx_state *s, size_t keep);

/*
 * onyx_state_get_text: for the C API: key of the current bucket as JSON
 * text in *val, *vlen (valid until the next call on s). Returns 1 found,
 * 0 absent, -1 out of memory.
 */
int onyx_state_get_text(struct onyx_state *s, const char *key, size_t klen,
    const char **val, size_t *vlen);

/* onyx_state_why: why the last call that returned -1 failed. */
const char *onyx_state_why(const struct onyx_state *s);

/* Restore */

/*
 * onyx_state_restore_begin: start bucket b afresh (emptied), to feed it its
 * records in queue order.
 */
int onyx_state_restore_begin(struct onyx_state *s, unsigned b);

/*
 * onyx_state_restore_record: apply record text[0..len) of seq to the
 * bucket being restored. Returns 0; -1 with why filled when the record is
 * not one (another format version, not JSON, a snapshot part out of
 * order), or out of memory.
 */
int onyx_state_restore_record(struct onyx_state *s, unsigned b,
    unsigned long long seq, const char *text, size_t len, char *why,
    size_t whylen);

/* onyx_state_restore_end: the bucket's records are all in. */
void onyx_state_restore_end(struct onyx_state *s, unsigned b);

/* Pure parts, for tests */

/*
 * onyx_state_should_snapshot: compaction: whether a bucket of nkeys keys
 * whose records since its last snapshot hold entries changes in bytes of
 * text should be written whole instead: once the log holds at least as
 * many entries as the bucket has keys (restoring it reads at most about
 * twice the bucket), and min_bytes (small buckets are not rewritten
 * often).
 */
bool onyx_state_should_snapshot(
    size_t entries, size_t bytes, size_t nkeys, size_t min_bytes);

/*
 * onyx_state_set_snapshot_bytes: the min_bytes of the compaction decision
 * (ONYX_STATE_SNAP_MIN_BYTES unless set; 0 keeps it).
 */
void onyx_state_set_snapshot_bytes(struct onyx_state *s, size_t min_bytes);

#endif
