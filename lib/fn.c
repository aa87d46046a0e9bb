/* lib/fn.c: builtin functions, loading C functions with dlopen, and collecting their results. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "fn.h"
#include "order.h"
#include "state.h"
#include "status.h"

static int
fn_identity(const char *seg, size_t len, const char *params,
    struct onyx_emit *out, char *err, size_t errlen)
{
	(void)params;
	(void)err;
	(void)errlen;
	return onyx_emit_segment(out, seg, len);
}

static const struct {
	const char *name;
	onyx_fn *fn;
} builtins[] = {
    {"identity", fn_identity},
};

int
onyx_emit_segment(struct onyx_emit *out, const char *json, size_t len)
{
	if (out->n == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 16;
		size_t *p = reallocarray(out->len, cap, sizeof(*p));
		if (p == NULL)
			return -1;
		out->len = p;
		out->cap = cap;
	}
	if (onyx_buf_append(&out->data, json, len) != 0)
		return -1;
	out->len[out->n++] = len;
	return 0;
}

void
onyx_emit_reset(struct onyx_emit *e)
{
	e->data.len = 0;
	e->n = 0;
}

void
onyx_emit_free(struct onyx_emit *e)
{
	onyx_buf_free(&e->data);
	free(e->len);
	memset(e, 0, sizeof(*e));
}

/*
 * open_lib: load lib from the first folder of path (colon-separated) that
 * holds it. Only from there: a name with '/' is refused, and so is any
 * library when path is empty (never the dynamic linker's own search, which
 * would reach every library of the system, "libc.so.6" included).
 */
static void *
open_lib(const char *lib, const char *path, char *err, size_t errlen)
{
	const char *p, *colon;
	char *full;
	void *h;
	size_t n;

	if (strchr(lib, '/') != NULL) {
		snprintf(err, errlen,
		    "library '%s' not allowed: a library is a file name looked up in the function path (ONYX_FN_PATH), without '/'",
		    lib);
		return NULL;
	}
	if (path == NULL || *path == '\0') {
		snprintf(err, errlen,
		    "library '%s' not loaded: this peer has no function path (set ONYX_FN_PATH or onyx-peer --fn-path to the folders of allowed libraries)",
		    lib);
		return NULL;
	}
	/* split without shared state: the peer's threads resolve at once */
	for (p = path; *p != '\0'; p = *colon ? colon + 1 : colon) {
		if ((colon = strchr(p, ':')) == NULL)
			colon = p + strlen(p);
		if ((n = colon - p) == 0)
			continue;
		if (asprintf(&full, "%.*s/%s", (int)n, p, lib) < 0) {
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		if (access(full, F_OK) != 0) {
			free(full);
			continue;
		}
		if ((h = dlopen(full, RTLD_NOW | RTLD_LOCAL)) == NULL)
			snprintf(err, errlen, "cannot load '%s': %s", full,
			    dlerror());
		free(full);
		return h;
	}
	snprintf(err, errlen, "no '%s' in the function path %s", lib, path);
	return NULL;
}

void *
onyx_state(struct onyx_emit *out)
{
	return out->state;
}

int
onyx_state_enabled(struct onyx_emit *out)
{
	return out != NULL && out->kstate != NULL;
}

int
onyx_state_get(struct onyx_emit *out, const char *key, size_t klen,
    const char **val, size_t *vlen)
{
	if (out == NULL || out->kstate == NULL || key == NULL)
		return -1;
	return onyx_state_get_text(out->kstate, key, klen, val, vlen);
}

int
onyx_state_put(struct onyx_emit *out, const char *key, size_t klen,
    const char *val, size_t vlen)
{
	json_t *v = NULL;

	/* a key beginning with 0x01 is the engine's (lib/order.h) */
	if (out == NULL || out->kstate == NULL || key == NULL ||
	    (klen > 0 && key[0] == ONYX_ORDER_RESERVED))
		return -1;
	if (val != NULL &&
	    (v = json_loadb(val, vlen, JSON_DECODE_ANY, NULL)) == NULL)
		return -1;
	return onyx_state_put_json(out->kstate, key, klen, v);
}

struct each_text {
	int (*cb)(void *ctx, const char *key, size_t klen, const char *val,
	    size_t vlen);
	void *ctx;
};

static int
each_text(void *ctx, const char *key, size_t klen, json_t *v)
{
	struct each_text *e = ctx;
	char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	int rc;

	if (t == NULL)
		return -1;
	rc = e->cb(e->ctx, key, klen, t, strlen(t));
	free(t);
	return rc;
}

int
onyx_state_each(struct onyx_emit *out,
    int (*cb)(
        void *ctx, const char *key, size_t klen, const char *val, size_t vlen),
    void *ctx)
{
	struct each_text e = {cb, ctx};

	if (out == NULL || out->kstate == NULL || cb == NULL)
		return -1;
	return onyx_state_each_json(out->kstate, each_text, &e);
}

/* The optional hook SYM_what of f's library, or NULL. */
static void *
hook(struct onyx_fnref *f, const char *sym, const char *what)
{
	char name[512];

	snprintf(name, sizeof(name), "%s_%s", sym, what);
	return dlsym(f->handle, name);
}

int
onyx_fn_resolve(const char *spec, const char *path, struct onyx_fnref *f,
    char *err, size_t errlen)
{
	const char *colon = strrchr(spec, ':');
	char lib[512];
	size_t i;

	memset(f, 0, sizeof(*f));
	strlcpy(f->name, spec, sizeof(f->name));
	if (colon == NULL) {
		for (i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
			if (strcmp(spec, builtins[i].name) == 0) {
				f->fn = builtins[i].fn;
				return ONYX_OK;
			}
		snprintf(err, errlen,
		    "no builtin function '%s' (builtins: identity; or give \"libname.so:symbol\")",
		    spec);
		return ONYX_ENOENT;
	}
	if ((size_t)(colon - spec) >= sizeof(lib) || colon == spec ||
	    colon[1] == '\0') {
		snprintf(
		    err, errlen, "'%s' is not \"libname.so:symbol\"", spec);
		return ONYX_ENOENT;
	}
	memcpy(lib, spec, colon - spec);
	lib[colon - spec] = '\0';
	if ((f->handle = open_lib(lib, path, err, errlen)) == NULL)
		return ONYX_ENOENT;
	dlerror();
	*(void **)&f->fn = dlsym(f->handle, colon + 1);
	if (f->fn == NULL) {
		snprintf(err, errlen, "no symbol '%s' in '%s'", colon + 1, lib);
		dlclose(f->handle);
		f->handle = NULL;
		return ONYX_ENOENT;
	}
	*(void **)&f->init = hook(f, colon + 1, "init");
	*(void **)&f->flush = hook(f, colon + 1, "flush");
	*(void **)&f->fini = hook(f, colon + 1, "fini");
	return ONYX_OK;
}

/*
 * The plain symbol of spec ("lib.so:sym", what names it in messages) into
 * *sym, its library kept open in f with no hooks of a function task.
 */
static int
resolve_plain(const char *spec, const char *path, const char *what,
    struct onyx_fnref *f, void **sym, char *err, size_t errlen)
{
	int st;

	*sym = NULL;
	if (strchr(spec, ':') == NULL) {
		memset(f, 0, sizeof(*f));
		snprintf(err, errlen, "%s '%s' is not \"libname.so:symbol\"",
		    what, spec);
		return ONYX_ENOENT;
	}
	if ((st = onyx_fn_resolve(spec, path, f, err, errlen)) != ONYX_OK)
		return st;
	*sym = (void *)f->fn;
	f->fn = NULL;
	f->init = NULL;
	f->flush = NULL;
	f->fini = NULL;
	return ONYX_OK;
}

int
onyx_group_fn_resolve(const char *spec, const char *path, struct onyx_fnref *f,
    onyx_group_fn **g, char *err, size_t errlen)
{
	void *sym;
	int st =
	    resolve_plain(spec, path, "onyx/group-by-fn", f, &sym, err, errlen);

	*g = (onyx_group_fn *)sym;
	return st;
}

int
onyx_fold_fn_resolve(const char *spec, const char *path, struct onyx_fnref *f,
    onyx_fold_fn **fold, onyx_fold_fn **merge, char *err, size_t errlen)
{
	void *sym;
	int st =
	    resolve_plain(spec, path, "onyx/window fold", f, &sym, err, errlen);

	*fold = (onyx_fold_fn *)sym;
	*merge = NULL;
	if (st == ONYX_OK)
		*(void **)merge = hook(f, strrchr(spec, ':') + 1, "merge");
	return st;
}

void
onyx_fn_release(struct onyx_fnref *f)
{
	if (f->handle != NULL)
		dlclose(f->handle);
	f->handle = NULL;
	f->fn = NULL;
}
