/* lib/coord.h: the coordinator: leader election, and one reconciliation pass over the cluster's state. */
#ifndef ONYX_COORD_H
#define ONYX_COORD_H

#include <signal.h>
#include <stddef.h>

#include "conf.h"
#include "zk.h"

struct onyx_coord_opts {
	const char *cluster;
	const char *id;       /* this coordinator, for the leader record */
	int offer_timeout_ms; /* an offer not acknowledged by then is revoked */
	/* the broker, for fencing dead peers and deleting the internal queues
	 * of ended jobs; NULL: neither is done (dead peers' offers are revoked
	 * at once, as before) */
	const struct onyx_conf *broker;
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
 * onyx_coord_step: read the whole state (leaving watches) and make every
 * decision it calls for: revoke offers of dead peers and stale offers, free
 * peers whose task ended, mark jobs running, completed, failed, honour
 * kills, offer tasks to idle peers (jobs round-robin, inside a job the task
 * with the fewest peers first, a sequential task never a second peer,
 * onyx/max-peers honoured). Idempotent: everything is re-derived from
 * ZooKeeper. Returns ONYX_OK or the session's error.
 *
 * Fencing: the task of a dead peer (its peers/<id> gone) that had acked
 * its offer is given away only after every broker connection of that peer
 * (AMQP container id = peer id) has been closed through Artemis
 * management and is gone: whatever the dead peer had in flight rolls back
 * and nothing it sends later can commit. Until then the dead peer still
 * counts as the task's peer.
 *
 * Cleanup: once a job is completed or killed and no peer holds an offer of
 * it, its own queues (onyx_jobs_own_queues) are deleted, every task's record
 * says its last status, the done/ markers go, and the status record gets
 * "cleaned". Kept for onyx-watch: jobs/<job>, status, tasks/, stats/.
 */
int onyx_coord_step(struct onyx_coord *c, char *err, size_t errlen);

#endif
