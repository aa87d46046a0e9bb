/* lib/jobs.h: jobs in ZooKeeper: check and submit a plan, create its queues, kill, list, wait. */
#ifndef ONYX_JOBS_H
#define ONYX_JOBS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "mgmt.h"
#include "zk.h"

/*
 * onyx_jobs_check_plan: whether plan looks like onyx-plan's output: an
 * object with a string "job" that is a valid name, an array "tasks" whose
 * elements have a "name", "ingress" and "egress", and an array "queues"
 * of the names lib/names gives edges of this job. Returns ONYX_OK, or
 * ONYX_EDATA with err naming what is missing or wrong.
 */
int onyx_jobs_check_plan(const json_t *plan, char *err, size_t errlen);

/*
 * onyx_jobs_queues: every queue the job of plan uses, sorted, each once:
 * the queues of onyx_jobs_own_queues and each task's ingress and egress
 * (the user's input and output queues too). Returns a new JSON array of
 * strings (caller decrefs), NULL when out of memory.
 */
json_t *onyx_jobs_queues(const json_t *plan);

/*
 * onyx_jobs_own_queues: exactly the queues the job of plan owns, sorted:
 * its edge queues (each entry of the plan's "queues" that lib/names gives
 * an edge of this job) and each task's seal, done and dead-letter queues (and state queue),
 * named by lib/names from the plan's job id and task names; never a user's
 * queue, never another job's (the scheme is injective). What an ended
 * job's cleanup deletes. Returns a new JSON array of strings (caller
 * decrefs), NULL when out of memory or the plan has no "job".
 */
json_t *onyx_jobs_own_queues(const json_t *plan);

/*
 * onyx_jobs_create_queues: create every queue of onyx_jobs_queues(plan)
 * through m (durable anycast; one that exists is left as it is), one
 * request a queue. *ncreated counts the queues now there. Returns ONYX_OK, or the error of the first
 * queue that failed, its name in queue and the reason in err; the queues
 * before it stay.
 */
int onyx_jobs_create_queues(struct onyx_mgmt *m, const json_t *plan,
    int *ncreated, char *queue, size_t queuelen, char *err, size_t errlen);

/*
 * onyx_jobs_submit: record the job of plan (checked) in cluster, in one
 * atomic ZooKeeper multi: jobs/<job> holding the compact plan,
 * jobs/<job>/status {"status":"submitted","at":ms}, the empty folders
 * jobs/<job>/tasks, done and stats, and live/<job> (the coordinator's
 * working set). Returns ONYX_OK; ONYX_EEXIST when the
 * job was submitted before (nothing written; its status, or "unknown",
 * goes to status); else the ZooKeeper error with err filled.
 */
int onyx_jobs_submit(struct onyx_zk *z, const char *cluster, const json_t *plan,
    char *status, size_t statuslen, char *err, size_t errlen);

/*
 * onyx_jobs_status: the status record of job (a new reference in *out,
 * caller decrefs); with watch, a one-shot watch is left on it (it wakes
 * onyx_zk_wake_fd). Returns ONYX_OK, ONYX_ENOENT when there is no such job
 * (err says so), ONYX_EDATA when the record is not a JSON object, or the
 * ZooKeeper error.
 */
int onyx_jobs_status(struct onyx_zk *z, const char *cluster, const char *job,
    bool watch, json_t **out, char *err, size_t errlen);

/* onyx_jobs_final: whether status S ends a job: completed, failed, killed. */
bool onyx_jobs_final(const char *status);

/*
 * onyx_jobs_kill: set the status of job to {"status":"killed","reason":
 * reason,"at":ms,"changed":now} with a versioned set (a concurrent change is
 * re-read); "at" keeps the submission time of the old record, as onyx-coord
 * does. Returns ONYX_OK; ONYX_ENOENT when there is no job; ONYX_EDATA when
 * the job has ended already (its status in status); or the ZooKeeper error.
 */
int onyx_jobs_kill(struct onyx_zk *z, const char *cluster, const char *job,
    const char *reason, char *status, size_t statuslen, char *err,
    size_t errlen);

/*
 * onyx_jobs_list: the jobs of cluster as a new JSON array (caller decrefs)
 * of {"job","status","reason" (when the record has one),"submitted":at},
 * sorted by "submitted" then job id. "submitted" is the "at" of the
 * status record, the submission time ("status" is "unknown" and
 * "submitted" 0 when the record is missing or unreadable). Returns
 * ONYX_OK or the ZooKeeper error.
 */
int onyx_jobs_list(struct onyx_zk *z, const char *cluster, json_t **out,
    char *err, size_t errlen);

/*
 * onyx_jobs_wait: wait until job reaches a final status, watching its
 * status record through onyx_zk_wake_fd (re-read at least every second).
 * timeout_ms < 0 waits forever. *out gets a new reference to the last
 * status record read (caller decrefs; may be NULL on errors). Returns
 * ONYX_OK when the status is final, ONYX_ETIMEDOUT when timeout_ms passed,
 * ONYX_EINTR once *stop is non-zero, ONYX_ENOENT when the job is gone, or
 * the ZooKeeper error, with err filled.
 */
int onyx_jobs_wait(struct onyx_zk *z, const char *cluster, const char *job,
    int timeout_ms, volatile sig_atomic_t *stop, json_t **out, char *err,
    size_t errlen);

/*
 * onyx_jobs_wait_tick: onyx_jobs_wait, calling tick(ctx, rec) after each
 * read of the status record rec (at least once a second, and once more
 * with the final status), e.g. to show progress.
 */
int onyx_jobs_wait_tick(struct onyx_zk *z, const char *cluster, const char *job,
    int timeout_ms, volatile sig_atomic_t *stop,
    void (*tick)(void *ctx, const json_t *rec), void *ctx, json_t **out,
    char *err, size_t errlen);

#endif
