/* lib/window.h: time windows, pure: the onyx/window spec, event time, watermark, lateness, the fold of aggregates, triggers and results. */
#ifndef ONYX_WINDOW_H
#define ONYX_WINDOW_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/*
 * A window task (onyx-plan(1), "onyx/window") keeps, per group key, the
 * key's open windows as one JSON value (the key state), and per bucket of
 * keys a JSON value of its own (the bucket state: the largest event time
 * seen and the watermark), and an index of when keys have windows due.
 * All are plain JSON, so the states live in the keyed state store
 * (lib/state.h) as they are; nothing here does I/O.
 *
 * Key state:    {"w": [{"s": START, "e": END, "a": ACC, "n": N}, ...]}
 *               windows sorted by start; "n" counts the segments folded
 *               in since the window last fired; a global window has
 *               "s" and "e" null.
 * Bucket state: {"max": T, "wm": W}, absent until an event time is seen.
 * Due index:    {"due": {KEY: END, ...}, "next": E}, "due" the earliest
 *               end of each key's windows (null for a global window),
 *               "next" at most the earliest of them: which keys to look
 *               at when the watermark moves. It may live in the bucket
 *               state or apart from it (lib/hopwindow.c keeps it in
 *               memory, built from the keys); the functions below that
 *               take "bs" for it take either.
 */

enum onyx_window_type {
	ONYX_WINDOW_TUMBLING,
	ONYX_WINDOW_SLIDING,
	ONYX_WINDOW_SESSION,
	ONYX_WINDOW_GLOBAL,
};

enum onyx_window_op {
	ONYX_WINDOW_COUNT,
	ONYX_WINDOW_SUM,
	ONYX_WINDOW_MIN,
	ONYX_WINDOW_MAX,
	ONYX_WINDOW_MEAN,
	ONYX_WINDOW_DISTINCT,
	ONYX_WINDOW_COLLECT,
	ONYX_WINDOW_FN,   /* a C fold function, "lib.so:SYM" */
	ONYX_WINDOW_EXEC, /* a program given each window's segments */
};

/* Why windows fire. */
enum onyx_window_fire {
	ONYX_FIRE_WATERMARK, /* final: the watermark reached the end */
	ONYX_FIRE_SEGMENTS,  /* refinement: N segments since the last firing */
	ONYX_FIRE_TIMER,     /* refinement: windows changed since then */
	ONYX_FIRE_END,       /* final: the end of input, every window */
};

/* The most windows a sliding window spec puts one segment in. */
#define ONYX_WINDOW_MAX_OVERLAP 1000

/* The largest number of milliseconds a spec takes (2^53, exact in JSON). */
#define ONYX_WINDOW_MS_MAX 9007199254740992LL

/*
 * A C fold (and merge) for ONYX_WINDOW_FN, given by the hop: fold sets
 * *acc (a reference it owns: replace it, NULL on entry for a new window)
 * to the fold of seg into it; merge folds *other into *acc (session
 * windows joined by a segment). Each returns 0, or -1 with why filled.
 */
struct onyx_window_fold {
	int (*fold)(
	    void *ctx, json_t **acc, json_t *seg, char *why, size_t whylen);
	int (*merge)(
	    void *ctx, json_t **acc, json_t *other, char *why, size_t whylen);
	void *ctx;
};

/* A parsed onyx/window spec. */
struct onyx_window {
	enum onyx_window_type type;
	long long size, slide, gap; /* ms; 0 where the type has none */
	char *time_field;           /* a selector, or NULL (global only) */
	bool rfc3339;               /* else epoch-ms */
	long long lateness;         /* ms */
	enum onyx_window_op op;
	char *field;                  /* the aggregate's selector, or NULL */
	char *as;                     /* the result key of the aggregate */
	char *fn;                     /* ONYX_WINDOW_FN: "lib.so:SYM" */
	char **argv;                  /* ONYX_WINDOW_EXEC: NULL-terminated */
	bool on_watermark;            /* trigger "watermark" */
	long long every_n;            /* trigger {"segments": N}, 0: none */
	long long every_ms;           /* trigger {"timer": MS}, 0: none */
	struct onyx_window_fold fold; /* ONYX_WINDOW_FN, set by the hop */
};

/*
 * A problem found in a spec: path is the JSON path of the value at fault
 * (base.key...), msg what is wrong, without the path.
 */
typedef void onyx_window_report(void *ctx, const char *path, const char *msg);

/*
 * onyx_window_check: check spec v, written at JSON path base, reporting
 * every problem through report(ctx, ...). Returns the number of problems
 * (0: valid), or -1 when out of memory.
 */
int onyx_window_check(
    const json_t *v, const char *base, onyx_window_report *report, void *ctx);

/*
 * onyx_window_parse: a new spec from v, which onyx_window_check finds
 * valid. Returns 0 with *out set (free with onyx_window_free), or -1 with
 * err filled ("PATH: MSG" of the first problem, or out of memory).
 */
int onyx_window_parse(
    const json_t *v, struct onyx_window **out, char *err, size_t errlen);

/* onyx_window_free: release w (NULL is ignored). */
void onyx_window_free(struct onyx_window *w);

/*
 * onyx_window_event_time: the event time of segment seg in ms since the
 * epoch. Returns 1 with *t set; 0 when w has no time field (a global
 * window without one); -1 with why filled when the field is missing or
 * is not a time of its format: the segment is a dead letter for why.
 */
int onyx_window_event_time(const struct onyx_window *w, json_t *seg,
    long long *t, char *why, size_t whylen);

/*
 * onyx_window_parse_rfc3339: s as an RFC 3339 date-time
 * ("2026-12-02T00:16:03.250Z", "...+01:00"), in ms since the epoch.
 * Returns 0 with *t set, -1 when s is not one.
 */
int onyx_window_parse_rfc3339(const char *s, long long *t);

/*
 * onyx_window_observe: the event time t is seen in the bucket of state
 * bs (an object, updated): the largest time and the watermark (the
 * largest minus the lateness) advance. Returns whether the watermark
 * moved.
 */
bool onyx_window_observe(const struct onyx_window *w, json_t *bs, long long t);

/*
 * onyx_window_watermark: the watermark of bucket state bs: 1 with *wm
 * set, 0 when none is known yet.
 */
int onyx_window_watermark(const json_t *bs, long long *wm);

/*
 * onyx_window_late: whether event time t is late in the bucket of state
 * bs: below its watermark. A late segment changes no window.
 */
bool onyx_window_late(const json_t *bs, long long t);

/*
 * onyx_window_add: fold segment seg, of event time t (has_t false: none,
 * a global window), into key state ks (an object, updated; {} for a key
 * without windows): into each window t belongs to, sessions merged.
 * Returns 0; -1 with why filled and ks unchanged when the aggregate
 * cannot take the segment (its field missing or not a number, a fold
 * that failed): the segment is a dead letter; -2 out of memory.
 */
int onyx_window_add(const struct onyx_window *w, json_t *ks, json_t *seg,
    long long t, bool has_t, char *why, size_t whylen);

/*
 * onyx_window_fire_key: the windows of key state ks (of group key) that
 * fire for why: ONYX_FIRE_WATERMARK those whose end is at most wm (final),
 * ONYX_FIRE_SEGMENTS those with every_n segments since they last fired,
 * ONYX_FIRE_TIMER those with any, ONYX_FIRE_END all (final). Each gives a
 * result segment appended to results (an array), ordered by start:
 * {"key": key, "window": {"start": S, "end": E}, AS: VALUE, "final": B}.
 * Final windows are removed from ks, the others' counts reset. Returns the
 * number of results, -1 out of memory.
 */
int onyx_window_fire_key(const struct onyx_window *w, const char *key,
    json_t *ks, enum onyx_window_fire why, long long wm, json_t *results);

/*
 * onyx_window_due_update: record in bucket state bs when key's windows
 * (key state ks) are next due: the earliest end, null for a global
 * window; the key leaves "due" when it has no window. 0, -1 out of memory.
 */
int onyx_window_due_update(json_t *bs, const char *key, const json_t *ks);

/*
 * onyx_window_due_keys: the keys of bucket state bs whose windows are due
 * at watermark wm (an end at most wm), sorted, at no cost while wm is below
 * "next"; all keys with windows when all is true (timers, the end of
 * input). Without all, "next" becomes the earliest end of the other keys:
 * the caller fires the keys returned and gives each its next end with
 * onyx_window_due_update. A new array of strings, NULL when out of memory.
 */
json_t *onyx_window_due_keys(json_t *bs, long long wm, bool all);

/*
 * onyx_window_result: the result value of accumulator acc (borrowed) for
 * w's aggregate, a new reference (NULL: out of memory).
 */
json_t *onyx_window_result(const struct onyx_window *w, const json_t *acc);

/*
 * onyx_window_key_valid, onyx_window_bucket_valid: whether a restored
 * value has the shape of a key state or a bucket state.
 */
bool onyx_window_key_valid(const json_t *ks);
bool onyx_window_bucket_valid(const json_t *bs);

#endif
