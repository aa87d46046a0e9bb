/* lib/coord.h: the coordinator: leader election, and one reconciliation pass over the cluster's state. */
#ifndef ONYX_COORD_H
#define ONYX_COORD_H

#include <signal.h>
#include <stddef.h>

#include <jansson.h>

#include "conf.h"
#include "zk.h"

/*
 * What the coordinator needs from the broker, wired by its caller (so this
 * module never speaks AMQP). ctx is passed to each.
 */
struct onyx_coord_ops {
	void *ctx;
	/* close every broker connection of peer and see them gone; ONYX_OK
	 * when none is left. NULL: nothing to fence (dead peers' offers are
	 * revoked at once) */
	int (*fence)(void *ctx, const char *peer, char *err, size_t errlen);
	/* delete the internal queues of the ended job of plan (non-empty
	 * dead-letter queues stay); ONYX_OK when done, *deleted counts them.
	 * NULL: queues are left alone */
	int (*clean)(void *ctx, const char *job, const json_t *plan,
	    int *deleted, char *err, size_t errlen);
};

#define ONYX_COORD_HISTORY 1000 /* ended jobs kept when not told */

struct onyx_coord_opts {
	const char *cluster;
	const char *id;       /* this coordinator, for the leader record */
	int offer_timeout_ms; /* an offer not acknowledged by then is revoked */
	/* how many ended (retired) jobs keep their jobs/<job> subtree, for
	 * onyx-watch and onyx-submit --list; older ones are deleted */
	int history;
	struct onyx_coord_ops ops;
	/* where passes and decisions are counted (lib/coordmetrics.h), or
	 * NULL */
	struct onyx_metrics *metrics;
};

struct onyx_coord;

/* onyx_coord_new: a coordinator on session z (borrowed). NULL: no memory. */
struct onyx_coord *
onyx_coord_new(struct onyx_zk *z, const struct onyx_coord_opts *o);
void onyx_coord_free(struct onyx_coord *c);

/*
 * onyx_coord_elect: join the election and block until this coordinator
 * leads (then write coord/leader), *stop is set (ONYX_EINTR) or the session
 * fails (its error). Standbys wait on their predecessor's node.
 */
int onyx_coord_elect(struct onyx_coord *c, volatile sig_atomic_t *stop,
    char *err, size_t errlen);

/*
 * onyx_coord_step: one reconciliation pass (leaving watches on what it
 * read): read peers/, assign/, and the live jobs (live/<job>: their plans
 * cached, their status and done/ markers), decide with onyx_sched_decide
 * (see lib/sched.h for every rule), and perform the actions. Idempotent:
 * everything is re-derived from ZooKeeper, so a standby resumes where a
 * leader stopped. The first pass of a leadership indexes a cluster made
 * before live/ existed (once per cluster: coord/live-index records it) and
 * reads history/. Returns ONYX_OK or the session's error.
 *
 * Fencing: the task of a dead peer (its peers/<id> gone) that had acked
 * its offer is given away only after ops.fence says every broker
 * connection of that peer is gone: whatever it had in flight rolls back
 * and nothing it sends later can commit. Until then the dead peer still
 * counts as the task's peer.
 *
 * Cleanup: once a job is completed or killed and no peer holds an offer of
 * it, ops.clean deletes its own queues (onyx_jobs_own_queues), every
 * task's record says its last status, holders/ and done/ go, and the
 * status record gets "cleaned". Then (and at once for a failed job, whose
 * queues stay) the job is retired: history/h-<seq> (data: the job id) is
 * created and live/<job> deleted; beyond opts.history retired jobs the
 * oldest one's whole jobs/<job> subtree and history node are deleted.
 */
int onyx_coord_step(struct onyx_coord *c, char *err, size_t errlen);

#endif
