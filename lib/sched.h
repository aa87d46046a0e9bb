/* lib/sched.h: the coordinator's decisions as a pure function: a snapshot of peers, offers and live jobs in, actions out. */
#ifndef ONYX_SCHED_H
#define ONYX_SCHED_H

#include <stdbool.h>
#include <stddef.h>

/* An assign/<peer> record: the coordinator's offer and the peer's answer. */
struct onyx_sched_offer {
	const char *job, *task;
	const char *state;  /* "offered", "acked", "finished", "failed" */
	const char *reason; /* a failed peer's reason, or NULL */
	long long at;       /* when the record was last written (ms) */
	int version;        /* the znode's version */
};

struct onyx_sched_peer {
	const char *id;
	bool alive;    /* peers/<id> exists */
	bool assigned; /* assign/<id> exists: offer holds the record */
	struct onyx_sched_offer offer;
};

struct onyx_sched_task {
	const char *name;
	int phase;
	int cap; /* most peers it may have: 1 sequential, onyx/max-peers; 0 none */
	bool done; /* jobs/<job>/done/<task> exists */
};

struct onyx_sched_job {
	const char *id;
	const char *status; /* submitted, running, completed, failed, killed */
	bool cleaned;       /* the status record says "cleaned" */
	long long at;       /* submission time (ms) */
	const struct onyx_sched_task *tasks;
	size_t ntasks;
};

/* The snapshot a pass decides on. Borrowed: the caller keeps it alive. */
struct onyx_sched_in {
	const struct onyx_sched_peer *peers; /* in the order to serve them */
	size_t npeers;
	const struct onyx_sched_job *jobs; /* the live jobs, any order */
	size_t njobs;
	long long now;              /* wall clock (ms), as offer.at */
	long long offer_timeout_ms; /* an offer not acked by then is revoked */
	size_t rr; /* round-robin position from the last pass */
};

enum onyx_sched_kind {
	/* a dead peer that had acked: fence it at the broker, then revoke its
	 * offer (reason peer-dead); until fenced it keeps its task */
	ONYX_SCHED_FENCE,
	ONYX_SCHED_REVOKE, /* delete assign/<peer> at version, for reason */
	ONYX_SCHED_OFFER,  /* offer task of job to an idle peer */
	ONYX_SCHED_STATUS, /* set the job's status (reason or NULL) */
	ONYX_SCHED_TASK,   /* the tasks/<task> record: status and peers */
	ONYX_SCHED_CLEAN,  /* an ended job with no offer left: clean it up */
	ONYX_SCHED_RETIRE, /* take an ended job out of the working set */
};

struct onyx_sched_action {
	enum onyx_sched_kind kind;
	size_t peer;        /* FENCE, REVOKE, OFFER: index into in->peers */
	size_t job;         /* OFFER, STATUS, TASK, CLEAN, RETIRE: in->jobs */
	size_t task;        /* OFFER, TASK: index into the job's tasks */
	int version;        /* FENCE, REVOKE: the offer's version */
	const char *status; /* STATUS: the new status; TASK: "waiting",
	                       "running" or "complete" */
	const char *reason; /* REVOKE: why; STATUS: why, or NULL */
	const size_t
	    *peers; /* TASK: the peers on it (indexes into in->peers) */
	size_t npeers;
};

/* The actions of a pass, in the order to perform them. */
struct onyx_sched_out {
	struct onyx_sched_action *v;
	size_t n;
	size_t rr; /* the round-robin position for the next pass */
	/* storage (private) */
	size_t cap;
	size_t *pool;
	char **strs;
	size_t nstrs;
};

/*
 * onyx_sched_decide: every decision in for a pass, appended to out (zeroed
 * by the caller, freed with onyx_sched_out_free):
 *
 * 1. A dead peer's offer: fenced first when it had acked (FENCE, and the
 *    peer keeps counting for its task this pass), else revoked (peer-dead).
 * 2. A live peer's offer is revoked when its job is not live or has ended
 *    ("job-gone" or the status), the peer finished its task
 *    ("task-ended"), failed (the job fails first, with the reason
 *    "task T on peer P: R"; "failed"), the offer was not acked within the
 *    timeout ("offer-timeout"), or its task is done and it never acked
 *    ("task-complete").
 * 3. An ended job that no peer holds: CLEAN (completed or killed, not yet
 *    cleaned) then RETIRE; a failed or cleaned job is only retired (a failed
 *    job keeps its queues). A live job whose tasks are all done: completed.
 * 4. Idle live peers get offers: jobs round-robin in submission order (then
 *    id) from in->rr; inside a job the task with the fewest peers, then the
 *    earliest phase, then plan order; a task at its cap gets no more; a
 *    submitted job that gets its first offer becomes running.
 * 5. Every task of every job still running gets its record (TASK): its
 *    peers in peer order; "complete" when done, else "running" with a peer,
 *    else "waiting".
 * Each revoke takes effect in the decisions after it. No fixed limits:
 * lookups by id are binary searches over sorted indexes, and the choice of
 * a task is a heap per job, so a pass is O((P + T) log(P + T)).
 * Returns 0, or -1 when out of memory (err says so; out is partial).
 */
int onyx_sched_decide(const struct onyx_sched_in *in,
    struct onyx_sched_out *out, char *err, size_t errlen);

/* onyx_sched_out_free: free what out holds and zero it. */
void onyx_sched_out_free(struct onyx_sched_out *out);

/* onyx_sched_finished: whether a job status ends the job. */
bool onyx_sched_finished(const char *status);

#endif
