/* lib/peer.h: virtual peers: registration, taking offers from ZooKeeper, running tasks, reporting. */
#ifndef ONYX_PEER_H
#define ONYX_PEER_H

#include <signal.h>
#include <stddef.h>

#include "conf.h"

/*
 * The life cycle of one virtual peer (see lib/cluster.h for the records):
 * it registers as the ephemeral peers/<id>, then polls assign/<id>. An
 * offer ("offered") is checked (plan, task, function) and admitted
 * (lib/admit.h: the plan is one onyx-plan makes of its own catalog, every
 * program is on the allow-list, every library in the function path); a
 * bad or refused one is answered "failed" with the reason, before any of
 * the task runs. A good one is answered "acked" and run
 * with onyx_hop_run until the task seals, the offer is revoked (assign/<id>
 * deleted or re-offered) or the job is killed. A task that ends records
 * jobs/<job>/done/<task> and jobs/<job>/stats/<id>, then answers
 * "finished". Every answer is a versioned set; the coordinator deletes the
 * node. Every event is logged through onyx_log, prefixed with the peer id.
 */

struct onyx_peers;
struct onyx_admit;

struct onyx_peer_opts {
	const struct onyx_conf *conf; /* ZooKeeper, cluster, broker */
	const char *fnpath;           /* folders for "lib.so:symbol", or NULL */
	/* the programs (onyx/exec) it may start (lib/admit.h); NULL: none */
	const struct onyx_admit *allow;
	int npeers;     /* virtual peers, >= 1 */
	int session_ms; /* ZooKeeper session timeout */
	int connect_ms; /* wait for ZooKeeper and the broker at start */
	/* where the peers count their work (lib/peermetrics.h), or NULL */
	struct onyx_metrics *metrics;
};

/*
 * onyx_peer_start: open the ZooKeeper session, create the cluster's
 * folders, connect one AMQP connection per virtual peer and register each
 * as peers/<host>-<pid>-<i>. Nothing runs yet. Returns ONYX_OK with *out
 * set (free with onyx_peer_close), or ONYX_EUNAVAIL (ZooKeeper or the
 * broker cannot be reached: err names which), ONYX_EAUTH, ONYX_ECONFIG,
 * ONYX_ERR, with err filled; nothing is left behind on error.
 */
int onyx_peer_start(const struct onyx_peer_opts *o, struct onyx_peers **out,
    char *err, size_t errlen);

/*
 * onyx_peer_run: start one thread per virtual peer and watch over them
 * (revoked offers, killed jobs) until *stop is set; then stop every peer
 * between batches and join them. When the ZooKeeper session expires every
 * peer drops its task the same way, its broker connection is closed (open
 * batches roll back), and all register again under new ids
 * (<host>-<pid>-<i>.<n>) in a new session, retried with backoff. A broken
 * broker connection is reconnected and the task resumed once the offer is
 * confirmed in ZooKeeper after connecting (see onyx(7), GUARANTEES).
 * Returns ONYX_OK after *stop.
 */
int onyx_peer_run(struct onyx_peers *ps, volatile sig_atomic_t *stop, char *err,
    size_t errlen);

/*
 * onyx_peer_close: close the AMQP connections and the ZooKeeper session
 * (the ephemeral nodes go) and free ps. NULL is fine.
 */
void onyx_peer_close(struct onyx_peers *ps);

#endif
