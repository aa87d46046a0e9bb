/* lib/names.h: the names of a job's own queues (edges, seal, done, dead letters), one function per kind. */
#ifndef ONYX_NAMES_H
#define ONYX_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Every queue Onyx makes for a job is named
 *
 *	onyx.edge.JOB.FROM.TO	the queue of the workflow edge FROM -> TO
 *	onyx.seal.JOB.TASK	a task's sealing queue
 *	onyx.done.JOB.TASK	a task's "finished" marker queue
 *	onyx.dlq.JOB.TASK	a task's dead-letter queue
 *	onyx.state.JOB.TASK	a task's durable keyed state (lib/state.h)
 *
 * where each component (a job id or a task name, A-Z a-z 0-9 . _ -) is
 * written with every '.' replaced by '~', a character no name holds. Each
 * component is then one dot-free word and the kind is the fixed second
 * word, so the mapping is injective: no two (kind, job, tasks) give the
 * same name, whatever the names; and the Artemis wildcard onyx.*.JOB.#
 * (JOB written the same way) matches exactly one job's queues. The prefix
 * "onyx." is reserved: a user's queue may not start with it.
 */
#define ONYX_NAMES_PREFIX "onyx."

/* Room for any name of a valid job id and task names (64 each), with NUL. */
#define ONYX_NAMES_LEN 256

enum onyx_names_kind {
	ONYX_NAMES_NONE = 0, /* not a name of this scheme */
	ONYX_NAMES_EDGE,
	ONYX_NAMES_SEAL,
	ONYX_NAMES_DONE,
	ONYX_NAMES_DLQ,
	ONYX_NAMES_STATE,
};

/*
 * onyx_names_edge: the queue of the edge from -> to of job, written to buf
 * (len bytes). Returns buf; NULL when a component is empty or holds '~', or
 * the name does not fit (buf then holds "").
 */
char *onyx_names_edge(
    char *buf, size_t len, const char *job, const char *from, const char *to);

/*
 * onyx_names_seal / onyx_names_done / onyx_names_dlq: a task's internal
 * queues and its dead-letter queue, written to buf as onyx_names_edge does,
 * with the same return.
 */
char *onyx_names_seal(char *buf, size_t len, const char *job, const char *task);
char *onyx_names_done(char *buf, size_t len, const char *job, const char *task);
char *onyx_names_dlq(char *buf, size_t len, const char *job, const char *task);
char *
onyx_names_state(char *buf, size_t len, const char *job, const char *task);

/* onyx_names_reserved: whether queue starts with ONYX_NAMES_PREFIX. */
bool onyx_names_reserved(const char *queue);

/*
 * onyx_names_kind: the kind of a name of this scheme, from its second word;
 * ONYX_NAMES_NONE for any other string (a user's queue).
 */
enum onyx_names_kind onyx_names_kind(const char *queue);

/*
 * onyx_names_of_job: whether queue is a name of this scheme for job: a
 * known kind, then job's component as the third word, then the right
 * number of further words.
 */
bool onyx_names_of_job(const char *queue, const char *job);

#endif
