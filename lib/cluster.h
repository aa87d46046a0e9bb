/* lib/cluster.h: the ZooKeeper layout of a cluster and its JSON records: the contract between the programs. */
#ifndef ONYX_CLUSTER_H
#define ONYX_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "hop.h"
#include "zk.h"

/*
 * Everything lives under /onyx/<cluster> (see onyx(7)):
 *
 * jobs/<job>               the plan (onyx-plan's JSON), by onyx-submit
 * jobs/<job>/status        {"status": S, "reason": R, "at": ms}; S is
 *                          "submitted" (onyx-submit), "running",
 *                          "completed", "failed" (onyx-coord), "killed"
 *                          (onyx-submit --kill)
 * jobs/<job>/tasks/<task>  {"status": "waiting"|"running"|"complete",
 *                          "peers": [ids]}, by onyx-coord
 * jobs/<job>/done/<task>   {"peer": id, "end": "sealed"|"done", "at": ms},
 *                          created by the peer that saw the task end
 * jobs/<job>/stats/<task>.<peer>  {"task": T, "read": n, "written": n}, by
 *                          the peer when it leaves the task
 * live/<job>               empty: the coordinator's working set (the jobs
 *                          it reads); by onyx-submit with the plan, deleted
 *                          by onyx-coord once the job ended and was cleaned
 * history/h-<seq>          sequential, data: a job id; the ended jobs kept,
 *                          oldest first; beyond onyx-coord --history the
 *                          oldest one's jobs/<job> subtree is deleted
 * peers/<peer>             ephemeral {"id", "host", "pid", "at"}, a peer's
 *                          pulse
 * assign/<peer>            {"job", "task", "offer": n, "state": S}: the
 *                          coordinator writes S = "offered"; the peer answers
 *                          "acked" when it starts and "finished" when the
 *                          task ended; the coordinator revokes by deleting
 *                          the node. Versioned sets on both sides.
 * coord/election/n-        ephemeral sequential: leader election
 * coord/leader             ephemeral {"id", "host", "pid", "at"}
 * coord/live-index         the jobs of a cluster older than live/ were put
 *                          there (once, by the first leader after it)
 */

/* onyx_cluster_path: "/onyx/<cluster>/<fmt...>" into buf. Returns buf. */
char *onyx_cluster_path(char *buf, size_t len, const char *cluster,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * onyx_cluster_init: create the fixed folders of cluster if missing.
 * Returns ONYX_OK or the ZooKeeper error with err filled.
 */
int onyx_cluster_init(
    struct onyx_zk *z, const char *cluster, char *err, size_t errlen);

/*
 * onyx_cluster_get: read the JSON record at path (a new reference in *out;
 * its version in *version when not NULL); with watch, leave a watch.
 * ONYX_EDATA when the data is not JSON. Errors as onyx_zk_get.
 */
int onyx_cluster_get(struct onyx_zk *z, const char *path, bool watch,
    json_t **out, int *version, char *err, size_t errlen);

/* onyx_cluster_set: write v (compact) at path, version -1 for any. */
int onyx_cluster_set(struct onyx_zk *z, const char *path, const json_t *v,
    int version, char *err, size_t errlen);

/* onyx_cluster_create: create path holding v with ZooKeeper flags. */
int onyx_cluster_create(struct onyx_zk *z, const char *path, const json_t *v,
    int flags, char *err, size_t errlen);

/* onyx_cluster_now: wall-clock milliseconds, for the "at" fields. */
long long onyx_cluster_now(void);

#define ONYX_MAX_RETRIES 3 /* onyx/max-retries when absent */

/* onyx_plan_task: the task object named task in plan, or NULL. */
json_t *onyx_plan_task(const json_t *plan, const char *task);

/*
 * A task spec built from a plan, with the storage its pointers use.
 */
struct onyx_task_def {
	struct onyx_task_spec spec;
	/* every array is allocated to the plan's size: no fixed limit */
	const char **ingress, **egress; /* spec.ningress, spec.negress */
	char seal[512], done[512];
	char *params;   /* malloc'd JSON text */
	const char *fn; /* catalog onyx/fn (borrowed from the plan) */
	/* catalog onyx/exec, NULL-terminated (the strings borrowed from the
	 * plan); when present spec.exec_argv points here */
	const char **exec_argv;
	const char *type; /* input, function, output */
	bool sequential;
	char dlq[512];
	/* the grouping of each egress queue's reader (spec.egress_group);
	 * these arrays have spec.negress entries */
	struct onyx_group *groups;
	const struct onyx_group **egroup;
	/* a grouping by C function: its "lib.so:symbol", for the caller to
	 * resolve into groups[i].fn */
	const char **group_fn;
	char **gparams;      /* each malloc'd */
	const char ***gargv; /* each malloc'd, NULL-terminated */
	/* spec.egress_packed, spec.ingress_packed: internal edges, and the
	 * output queue of an output task told "onyx/packed": true */
	bool *epacked, *ipacked;
	/* keyed state: the state queue, and the task's own grouping
	 * (spec.group points at own when it is grouped; own_fn a C
	 * function's "lib.so:symbol" for the caller to resolve into own.fn,
	 * own_argv a program's argv, malloc'd) */
	char stateq[512];
	struct onyx_group own;
	const char *own_fn;
	char *own_params;
	const char **own_argv;
	/* onyx/window: spec.window (borrowed from the plan); its aggregate's
	 * C fold "lib.so:SYM" (borrowed) for the caller to resolve, and its
	 * program, NULL-terminated (the strings borrowed), for the caller to
	 * admit; spec.window_argv points here */
	const char *window_fn;
	const char **window_argv;
	json_t *plan; /* a reference, kept while the def lives */
};

/*
 * onyx_task_def_from_plan: fill d for task of plan (function left unset).
 * Returns ONYX_OK, or ONYX_EDATA with err naming what is wrong. Free with
 * onyx_task_def_free.
 */
int onyx_task_def_from_plan(json_t *plan, const char *task,
    struct onyx_task_def *d, char *err, size_t errlen);
void onyx_task_def_free(struct onyx_task_def *d);

#endif
