/* lib/progress.h: pure computations of the live view and the progress line: rates over samples, ETA, sparkline, layout. */
#ifndef ONYX_PROGRESS_H
#define ONYX_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* The rate shown: over the last ONYX_PROGRESS_RATE_MS of samples. */
#define ONYX_PROGRESS_RATE_MS 5000
/* The sparkline: ONYX_PROGRESS_BUCKETS rates of ONYX_PROGRESS_BUCKET_MS. */
#define ONYX_PROGRESS_BUCKETS 20
#define ONYX_PROGRESS_BUCKET_MS 3000
/* Samples closer than this to the last one replace it (bounds the history). */
#define ONYX_PROGRESS_MIN_GAP_MS 250

/* One reading of a growing total (segments read) at a monotonic time. */
struct onyx_progress_sample {
	long long t_ms;
	long long total;
};

/* The readings of one total, oldest first; zero-initialise, free with _free. */
struct onyx_progress_hist {
	struct onyx_progress_sample *s;
	size_t n, cap;
};

/*
 * onyx_progress_add: record total at t_ms (t_ms not before the last
 * sample's). A sample within ONYX_PROGRESS_MIN_GAP_MS of the last one
 * replaces it; samples no longer needed for the last keep_ms (the newest
 * one at or before t_ms - keep_ms stays, as the window's start) are
 * dropped, so the history holds at most about keep_ms /
 * ONYX_PROGRESS_MIN_GAP_MS + 2 samples. Returns 0, or -1 when out of
 * memory (the history is unchanged).
 */
int onyx_progress_add(struct onyx_progress_hist *h, long long t_ms,
    long long total, long long keep_ms);

/* onyx_progress_free: the history's memory; h is empty after. */
void onyx_progress_free(struct onyx_progress_hist *h);

/*
 * onyx_progress_rate: units per second over the last window_ms before the
 * newest sample: from the newest sample at or before that window's start
 * (else the oldest) to the newest. Returns -1 (unknown) with fewer than
 * two samples or when they span less than 900 ms; never negative otherwise
 * (a total that went down reads as 0).
 */
double
onyx_progress_rate(const struct onyx_progress_hist *h, long long window_ms);

/*
 * onyx_progress_buckets: the rates (units per second) of the n buckets of
 * bucket_ms that end at now_ms, oldest first, into out[n]: bucket i spans
 * [now - (n - i) * bucket_ms, now - (n - i - 1) * bucket_ms], and the
 * total at a time is that of the newest sample at or before it. A bucket
 * that starts before the first sample is -1 (no data).
 */
void onyx_progress_buckets(const struct onyx_progress_hist *h, long long now_ms,
    size_t n, long long bucket_ms, double *out);

/*
 * onyx_progress_spark: the values v[n] as a sparkline of n characters in
 * buf (len bytes, NUL-terminated; each character is 3 bytes of UTF-8 or a
 * space): a value < 0 (no data) is a space, the others one of the eight
 * blocks U+2581..U+2588 from 0 (lowest) to the largest value (highest),
 * rounded to the nearest; all lowest when the largest is 0. Returns buf;
 * what does not fit in len is cut at a character's end.
 */
char *onyx_progress_spark(const double *v, size_t n, char *buf, size_t len);

/*
 * onyx_progress_eta: the seconds to read left units at rate units per
 * second: 0 when left is 0, -1 (unknown) when left < 0 (unknown) or the
 * rate is not positive while something is left, else ceil(left / rate).
 */
long long onyx_progress_eta(long long left, double rate);

/*
 * onyx_progress_duration: secs as a short duration in buf: "-" when
 * secs < 0, else "45s", "3m05s", "2h03m" or "4d07h". Returns buf.
 */
char *onyx_progress_duration(long long secs, char *buf, size_t len);

/*
 * onyx_progress_rate_text: a rate as text in buf: "-" when rate < 0,
 * "0.0" .. "999.9", then "1.23k" .. "999.9k", then "1.23M" ... (units per
 * second; the caller names the unit). Returns buf.
 */
char *onyx_progress_rate_text(double rate, char *buf, size_t len);

/*
 * onyx_progress_is_input: whether task (an element of "tasks" in
 * onyx_watch_state) is an input task: its "ingress" a non-empty array of
 * queues none of which is Onyx's own (lib/names).
 */
bool onyx_progress_is_input(const json_t *task);

/*
 * The progress of a job, as the task that decides its end shows it: the
 * task with the largest "eta" (one unknown while its backlog is not
 * empty counts as the largest; ties go to the higher phase); for a job
 * that has ended, its task of the highest phase. done is what that task
 * read, left its "backlog" (-1 unknown), total done + left (-1 unknown;
 * done for a completed job), rate its "rate" (-1 unknown), eta the job's
 * "eta" (-1 unknown, 0 for a completed job).
 */
struct onyx_progress_job {
	const char *job, *status, *task;
	long long done, left, total, eta;
	double rate;
};

/*
 * onyx_progress_of_job: the progress of job, an element of the "jobs"
 * array of onyx_watch_state with the fields of onyx_watch_live_add.
 * Strings in *out point into job ("?" when missing).
 */
void onyx_progress_of_job(const json_t *job, struct onyx_progress_job *out);

/*
 * onyx_progress_pending: what the tasks upstream of task t (among tasks,
 * the "tasks" of a job of onyx_watch_state) wrote to its ingress queues
 * (the sum of their "written": each segment goes to every egress) less
 * what t read, in segments, at least 0; -1 when an ingress queue is no
 * task's egress (an input task).
 */
long long onyx_progress_pending(const json_t *tasks, const json_t *t);

/*
 * onyx_progress_settled: whether the counts of job (as for
 * onyx_progress_of_job) are final: it has not completed, or each task
 * but the input ones read exactly what the tasks upstream wrote to it.
 * A job completes once its tasks' ends are on the broker; each peer
 * writes its last counts to ZooKeeper a moment later.
 */
bool onyx_progress_settled(const json_t *job);

/*
 * onyx_progress_line: the one progress line of onyx-submit --wait, e.g.
 * "job J running: task f 1300/3000 segments, backlog 1700, 246.0/s,
 * ETA 7s" (unknowns as "?" or "-"), cut to width columns (width <= 0: no
 * cut), in buf. Returns buf.
 */
char *onyx_progress_line(
    const struct onyx_progress_job *p, int width, char *buf, size_t len);

/*
 * onyx_progress_table: the live view of state (onyx_watch_state with the
 * fields of onyx_watch_live_add; a string "broker" gives a line "no
 * backlog: ...") as lines of text, each cut to width
 * display columns (width <= 0: no cut), with clock (e.g. "12:00:01") in
 * the title, and at most rows lines (rows <= 0: no limit): when more
 * would come, the last line says how many are left out. Returns a new
 * string (caller frees) of lines each ending "\n", NULL when out of
 * memory.
 */
char *onyx_progress_table(
    const json_t *state, const char *clock, int width, int rows);

/*
 * onyx_progress_cut: s cut to width display columns (UTF-8: a column per
 * character), in place. Returns s.
 */
char *onyx_progress_cut(char *s, int width);

#endif
