/* lib/watch.h: the state of a cluster read from ZooKeeper, as JSON, for onyx-watch. */
#ifndef ONYX_WATCH_H
#define ONYX_WATCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "conf.h"
#include "zk.h"

/*
 * onyx_watch_state: read the state of cluster into a new JSON object
 * (*out, caller decrefs):
 *   {"cluster": C, "leader": coord/leader record or null,
 *    "peers": [{"id","host","pid","state","job","task"}],
 *    "jobs": [{"job","status","reason"?,"tasks":[{"name","phase",
 *              "status","peers","read","written","dead","dead-letter",
 *              "ingress","egress"}],"why"?}]}
 * A peer's state comes from assign/<id>: none "idle", "offered" "acking",
 * "acked" "active", "finished" "waiting", "failed" "failed" (others as
 * written). A task's status is "complete" when jobs/<job>/done/<task>
 * exists, else the coordinator's record, else "waiting"; its peers are
 * the record's, else those assigned to it; read and written sum
 * the records in jobs/<job>/stats; ingress and egress are the plan's
 * lists of the task's queues. "why" explains a submitted or running job with a
 * task that has no peer, and gives the reason of a failed one. Folders
 * that do not exist read as empty.
 * With watch, one-shot watches are left on everything read (the folders'
 * children, each record, missing folders' existence), so any change makes
 * onyx_zk_wake_fd readable. Returns ONYX_OK or the ZooKeeper error (err
 * filled); records that vanish while read, or are not JSON, are skipped.
 */
int onyx_watch_state(struct onyx_zk *z, const char *cluster, bool watch,
    json_t **out, char *err, size_t errlen);

/*
 * onyx_watch_job: onyx_watch_state without watches, with only job in
 * "jobs" (an empty array when it has no plan record: use
 * onyx_jobs_status to tell a missing job). Same returns.
 */
int onyx_watch_job(struct onyx_zk *z, const char *cluster, const char *job,
    json_t **out, char *err, size_t errlen);

/*
 * The live fields (lib/watchlive.c): rates from successive states, and
 * the backlog of ingress queues from the broker's management.
 */
struct onyx_watch_live;

/*
 * onyx_watch_live_new: an empty history; the broker of c (kept by
 * pointer: c outlives it) is reached when first needed, each wait on it
 * ending once *stop is non-zero. Returns NULL when out of memory.
 */
struct onyx_watch_live *
onyx_watch_live_new(const struct onyx_conf *c, volatile sig_atomic_t *stop);

/* onyx_watch_live_free: the history and the broker connection. NULL is fine. */
void onyx_watch_live_free(struct onyx_watch_live *lv);

/*
 * onyx_watch_live_add: record the "read" totals of state (onyx_watch_state
 * or onyx_watch_job) at now_ms (monotonic) and add to each task of each
 * job:
 *   "rate": segments read per second over the last
 *       ONYX_PROGRESS_RATE_MS (lib/progress), null until two readings
 *       a second apart;
 *   "backlog": what waits for the task and it has not read yet, in
 *       flight included. For an input task (its ingress all user
 *       queues) the messages its queues hold (messageCount: a message is
 *       a segment, or a frame when its producer packed it; the sentinel
 *       counts as one); for another task, in segments, what the tasks
 *       upstream wrote to its ingress (their "written": each segment
 *       goes to every egress) less what it read, from the same stats
 *       records (written once a second, so a little behind);
 *   "inflight": messages of its ingress queues delivered to its peers and
 *       not yet acknowledged (deliveringCount: the batches being worked
 *       on and the peers' prefetch; on an edge a message is a frame of
 *       up to a batch of segments);
 *   "eta": the seconds to read the backlog at the rate (0 when it is
 *       empty, null when the rate is 0 or unknown while some is left);
 *   "rates": the read rates of the ONYX_PROGRESS_BUCKETS buckets of
 *       ONYX_PROGRESS_BUCKET_MS ending now, oldest first, one decimal,
 *       null for a bucket before the first reading;
 * to state "broker": why the broker could not be reached, or null; and
 * to each job "eta": the largest of its tasks' (null when one is null), the time until its slowest task has read what it has before it.
 * For a batch job whose input (and sentinel) is all sent, that is the
 * time to its end; for a streaming job, the time to catch up. A job that
 * has ended (completed, failed, killed) gets null for each field and its
 * history is dropped, as is that of every task no longer in state: the
 * history follows the live jobs. Broker counts are null when the broker
 * cannot be reached (retried at most every 5 s: see
 * onyx_watch_live_error) or a queue is missing.
 */
void onyx_watch_live_add(
    struct onyx_watch_live *lv, json_t *state, long long now_ms);

/*
 * onyx_watch_live_error: why the broker could not be reached on the last
 * onyx_watch_live_add, or NULL when it was (or was not needed).
 */
const char *onyx_watch_live_error(const struct onyx_watch_live *lv);

/*
 * onyx_watch_live_progress: the progress line of job (lib/progress
 * onyx_progress_line, cut to width) in buf, from onyx_watch_job and
 * onyx_watch_live_add at this moment. A completed job is read again, every
 * 100 ms for 5 s at most (or until the stop flag), until its counts are
 * final (onyx_progress_settled): peers write their last counts a moment
 * after the end. Returns ONYX_OK, or the ZooKeeper error with err filled
 * (buf untouched).
 */
int onyx_watch_live_progress(struct onyx_watch_live *lv, struct onyx_zk *z,
    const char *cluster, const char *job, int width, char *buf, size_t len,
    char *err, size_t errlen);

/*
 * onyx_watch_live_key: the text of state without the fields that follow
 * time alone (each task's "rate", "eta" and "rates", each job's "eta"),
 * so that two states with the same key differ only by the passing of
 * time. Returns a new string (caller frees), NULL when out of memory.
 */
char *onyx_watch_live_key(const json_t *state);

/*
 * onyx_watch_tree: every znode under /onyx/<cluster> (not the root itself),
 * depth-first, children sorted by name, as a new JSON array (*out, caller
 * decrefs) of {"path": absolute path, "data": its data parsed as JSON, or
 * the text when it is not JSON, or null when empty}. Returns ONYX_OK (an
 * empty array when the cluster does not exist) or the ZooKeeper error.
 */
int onyx_watch_tree(struct onyx_zk *z, const char *cluster, json_t **out,
    char *err, size_t errlen);

#endif
