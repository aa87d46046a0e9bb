/* include/onyx/onyx.h: the interface a C function task implements (onyx/fn "libname.so:symbol"). */
#ifndef ONYX_ONYX_H
#define ONYX_ONYX_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ONYX_FN_ABI 1

/* Where a function puts its results; opaque. */
struct onyx_emit;

/*
 * onyx_emit_segment: hand one result segment, the JSON object text
 * json[0..len), to the peer (copied; json may be reused at once). Call it
 * zero or more times per input segment. Returns 0, or -1 when out of memory
 * (the function should then return -1).
 */
int onyx_emit_segment(struct onyx_emit *out, const char *json, size_t len);

/*
 * onyx_fn: the signature of a function task. Called once per input segment
 * with the segment's JSON object text seg[0..len) (not NUL-terminated), the
 * task's "onyx/params" as JSON text (or "{}"), and where to emit results.
 * Returns 0 on success. Returns -1 on failure, with a message in
 * err[0..errlen) if it likes: the batch is then rolled back and retried.
 * A function may be called again with the same segment after a crash
 * (replay of an uncommitted batch): keep it idempotent. Calls come from one
 * thread per virtual peer; a function that keeps global state must lock it.
 */
typedef int onyx_fn(const char *seg, size_t len, const char *params,
    struct onyx_emit *out, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
