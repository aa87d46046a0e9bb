/* lib/admit.h: a peer's admission policy: which programs (onyx/exec) it may start, and a job's plan checked again. */
#ifndef ONYX_ADMIT_H
#define ONYX_ADMIT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/*
 * The exec allow-list: a text file, one entry a line; blank lines and lines
 * starting with '#' are skipped, and so is the space around an entry. An
 * entry is an absolute path: a program ("/usr/bin/jq"), or, ending in '/',
 * a folder whose programs (at any depth) are all allowed ("/opt/onyx/bin/").
 * Each entry is resolved to its real path (symbolic links, "." and ".."
 * taken out) when the list is read; one that does not exist then is kept
 * as written (it matches a program only by that exact real path).
 *
 * A program is matched by its real path: a name with no '/' ("jq") is
 * looked up on the peer's PATH as execvp(3) would (the first executable
 * file), an absolute path is taken as it is, and a relative path with a
 * '/' ("./run") is refused (it would depend on the peer's folder). The
 * result is resolved with realpath(3); it is allowed when it equals a
 * program entry or starts with a folder entry. The peer then executes
 * exactly that real path.
 */
struct onyx_admit;

/*
 * onyx_admit_parse: the allow-list in text[0..len), named source in
 * messages. Returns ONYX_OK with *out set (free with onyx_admit_free; an
 * empty list allows nothing), ONYX_ECONFIG when an entry is not an
 * absolute path (err: "SOURCE:LINE: 'x' is not an absolute path ..."), or
 * ONYX_ERR out of memory.
 */
int onyx_admit_parse(const char *text, size_t len, const char *source,
    struct onyx_admit **out, char *err, size_t errlen);

/*
 * onyx_admit_load: onyx_admit_parse of the file at path. ONYX_ECONFIG too
 * when it cannot be read (err names it and why).
 */
int onyx_admit_load(
    const char *path, struct onyx_admit **out, char *err, size_t errlen);

/* onyx_admit_free: release a. NULL is fine. */
void onyx_admit_free(struct onyx_admit *a);

/*
 * onyx_admit_match: whether the real path real is allowed by a: equal to
 * a program entry, or under a folder entry. A NULL a allows nothing. Pure.
 */
bool onyx_admit_match(const struct onyx_admit *a, const char *real);

/*
 * onyx_admit_program: whether program prog (an argv[0]) may run on this
 * peer: found (pathenv is the PATH to search a bare name on; NULL for the
 * default of execvp(3)), resolved to its real path in exe (exelen bytes)
 * and matched by onyx_admit_match. Returns ONYX_OK with exe set; ONYX_EUSAGE
 * with err saying why not (no list set: how to allow; not found; not
 * allowed), exe "".
 */
int onyx_admit_program(const struct onyx_admit *a, const char *prog,
    const char *pathenv, char *exe, size_t exelen, char *err, size_t errlen);

/*
 * onyx_admit_plan: whether plan, read from jobs/<job>, is exactly the plan
 * onyx-plan makes of its own workflow and catalog (so every check of
 * onyx-plan holds: keys, values, batch sizes, reserved queue names), with
 * "job" equal to job (a plan cannot take another job's queues). Returns
 * ONYX_OK, ONYX_EDATA with err giving the first reason ("catalog[1]..."
 * paths count the plan's tasks in order), or ONYX_ERR out of memory.
 */
int
onyx_admit_plan(const json_t *plan, const char *job, char *err, size_t errlen);

#endif
