/* lib/exec.h: program functions (onyx/exec): a coprocess speaking JSON lines. */
#ifndef ONYX_EXEC_H
#define ONYX_EXEC_H

#include <stddef.h>

/*
 * A coprocess: argv run directly (no shell), one JSON segment per line on
 * its stdin, exactly one answer line per input line on its stdout: an
 * object, an array of objects, or null. Its stderr lines go to the log.
 */
struct onyx_exec;

/*
 * onyx_exec_start: run argv (NULL-terminated) with the environment without
 * any ONYX_* variable (the broker and ZooKeeper settings and secrets), plus
 * ONYX_PARAMS=params ("{}" when NULL), ONYX_TASK=task and ONYX_PEER=peer
 * (the virtual peer's id). Returns ONYX_OK with *out set, or ONYX_EDATA
 * (cannot run it) / ONYX_ERR with err filled.
 */
int
onyx_exec_start(const char *const *argv, const char *params, const char *task,
    const char *peer, struct onyx_exec **out, char *err, size_t errlen);

/*
 * onyx_exec_set_max_answer: an answer line longer than max bytes (0: no
 * limit, the default) ends the attempt: onyx_exec_pump returns ONYX_EDATA
 * saying so, and no more than about max bytes of it are ever held.
 */
void onyx_exec_set_max_answer(struct onyx_exec *x, size_t max);

/*
 * onyx_exec_write: queue one input line (newlines in it become spaces) and
 * write what the pipe takes now, without blocking. ONYX_OK, or ONYX_EDATA
 * when the program has ended, ONYX_ERR when out of memory, err filled.
 */
int onyx_exec_write(struct onyx_exec *x, const char *line, size_t len,
    char *err, size_t errlen);

/*
 * onyx_exec_queue: queue one input line as onyx_exec_write does, without
 * writing: it goes with the next write, pump or close_input, in one large
 * write with the lines queued with it. onyx_exec_queued: the bytes queued
 * and not yet written.
 */
int onyx_exec_queue(struct onyx_exec *x, const char *line, size_t len,
    char *err, size_t errlen);
size_t onyx_exec_queued(const struct onyx_exec *x);

/*
 * onyx_exec_pump: wait at most timeout_ms (0: do not wait) for the pipes:
 * write queued input, read answers and stderr (logged). ONYX_OK, or
 * ONYX_EDATA with err saying how the program ended.
 */
int
onyx_exec_pump(struct onyx_exec *x, int timeout_ms, char *err, size_t errlen);

/*
 * onyx_exec_answer: the next whole answer line read, without its newline:
 * 1 with *line and *len set (valid until the next call on x), 0 when none.
 */
int onyx_exec_answer(struct onyx_exec *x, const char **line, size_t *len);

/*
 * onyx_exec_drain: read what the program's stdout holds now, without
 * waiting: after a failure, the answers it gave before failing.
 */
void onyx_exec_drain(struct onyx_exec *x);

/*
 * onyx_exec_close_input: end of stream: write the queued input (waiting at
 * most timeout_ms), then close the program's stdin. ONYX_OK, or ONYX_EDATA
 * with err filled. Its last answers then come through onyx_exec_pump and
 * onyx_exec_answer until onyx_exec_pump reports that it ended.
 */
int onyx_exec_close_input(
    struct onyx_exec *x, int timeout_ms, char *err, size_t errlen);

/* onyx_exec_status: exit status (128 + signal when killed), -1 unknown. */
int onyx_exec_status(const struct onyx_exec *x);

/*
 * onyx_exec_stop: close the program's stdin, give it grace_ms to exit, then
 * kill its process group (SIGKILL) and reap it; frees x. NULL is ignored.
 */
void onyx_exec_stop(struct onyx_exec *x, int grace_ms);

#endif
