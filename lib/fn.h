/* lib/fn.h: resolving a task's onyx/fn to code: builtins, or a symbol in a shared object. */
#ifndef ONYX_FN_H
#define ONYX_FN_H

#include <stddef.h>

#include "../include/onyx/onyx.h"
#include "buf.h"

/* Results of one call: segment texts laid end to end. */
struct onyx_emit {
	struct onyx_buf data; /* the texts */
	size_t *len;          /* length of each */
	size_t n, cap;
	void *state; /* an aggregating function's (onyx_state) */
	/* the task's keyed state (lib/state.h), NULL without onyx/state */
	struct onyx_state *kstate;
};

struct onyx_fnref {
	onyx_fn *fn;
	/* optional hooks SYM_init, SYM_flush, SYM_fini (NULL when absent) */
	onyx_init_fn *init;
	onyx_flush_fn *flush;
	onyx_fini_fn *fini;
	void *handle; /* dlopen handle, or NULL for a builtin */
	char name[256];
};

/*
 * onyx_fn_resolve: find the code of spec: a builtin name ("identity") or
 * "libname.so:symbol", the library looked up on path (colon-separated
 * folders) and loaded from there only: a libname with '/' is refused, and
 * with path NULL or "" no library is loaded at all (the peer's admission
 * policy: onyx-peer(1)). With its optional hooks symbol_init, symbol_flush
 * and symbol_fini. Returns ONYX_OK, or ONYX_ENOENT with err naming the
 * library or symbol and the reason.
 */
int onyx_fn_resolve(const char *spec, const char *path, struct onyx_fnref *f,
    char *err, size_t errlen);

/*
 * onyx_group_fn_resolve: find the onyx_group_fn of spec
 * "libname.so:symbol" as onyx_fn_resolve does (f->fn stays NULL; the
 * function is in *g). Release with onyx_fn_release.
 */
int onyx_group_fn_resolve(const char *spec, const char *path,
    struct onyx_fnref *f, onyx_group_fn **g, char *err, size_t errlen);

/*
 * onyx_fold_fn_resolve: find the onyx_fold_fn of spec "libname.so:symbol"
 * (an onyx/window aggregate) as onyx_fn_resolve does, into *fold, and its
 * optional symbol_merge into *merge (NULL when absent). Release with
 * onyx_fn_release.
 */
int
onyx_fold_fn_resolve(const char *spec, const char *path, struct onyx_fnref *f,
    onyx_fold_fn **fold, onyx_fold_fn **merge, char *err, size_t errlen);

/* onyx_fn_release: unload what onyx_fn_resolve loaded. */
void onyx_fn_release(struct onyx_fnref *f);

/* onyx_emit_reset: empty e for the next call (memory kept). */
void onyx_emit_reset(struct onyx_emit *e);

/* onyx_emit_free: release e's memory. */
void onyx_emit_free(struct onyx_emit *e);

#endif
