/* lib/watch.h: the state of a cluster read from ZooKeeper, as JSON, for onyx-watch. */
#ifndef ONYX_WATCH_H
#define ONYX_WATCH_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "zk.h"

/*
 * onyx_watch_state: read the state of cluster into a new JSON object
 * (*out, caller decrefs):
 *   {"cluster": C, "leader": coord/leader record or null,
 *    "peers": [{"id","host","pid","state","job","task"}],
 *    "jobs": [{"job","status","reason"?,"tasks":[{"name","phase",
 *              "status","peers","read","written"}],"why"?}]}
 * A peer's state comes from assign/<id>: none "idle", "offered" "acking",
 * "acked" "active", "finished" "waiting", "failed" "failed" (others as
 * written). A task's status is "complete" when jobs/<job>/done/<task>
 * exists, else the coordinator's record, else "waiting"; its peers are
 * the record's, else those assigned to it; read and written sum
 * the records in jobs/<job>/stats. "why" explains a submitted or running job with a
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
 * onyx_watch_tree: every znode under /onyx/<cluster> (not the root itself),
 * depth-first, children sorted by name, as a new JSON array (*out, caller
 * decrefs) of {"path": absolute path, "data": its data parsed as JSON, or
 * the text when it is not JSON, or null when empty}. Returns ONYX_OK (an
 * empty array when the cluster does not exist) or the ZooKeeper error.
 */
int onyx_watch_tree(struct onyx_zk *z, const char *cluster, json_t **out,
    char *err, size_t errlen);

#endif
