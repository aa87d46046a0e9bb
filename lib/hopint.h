/* lib/hopint.h: the state shared by the hop's modules; internal to them. */
#ifndef ONYX_HOPINT_H
#define ONYX_HOPINT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "amqp.h"
#include "buf.h"
#include "exec.h"
#include "fn.h"
#include "frame.h"
#include "hop.h"
#include "mgmt.h"
#include "wire.h"

/*
 * One hop (lib/hop.h, onyx_hop_run) is split by concern:
 *   lib/hop.c       the hop loop: read a batch, apply, write, commit
 *   lib/hopseal.c   the sealing protocol (lib/hop.h)
 *   lib/hopfn.c     C functions, and the aggregation state of every function
 *   lib/hopexec.c   program functions (onyx/exec): a batch of slots
 *   lib/hopexecstate.c  programs with keyed state: key and state per line
 *   lib/hopgroup.c  the group of a segment, for grouped egress
 *   lib/hoppack.c   writing egress: plain messages, or packed frames
 *   lib/hopdead.c   dead letters, and messages over the segment limit
 *   lib/hopstate.c  keyed state (lib/state.h): buckets, restore, writes
 *   lib/hopwindow.c a window task (onyx/window) over the keyed state
 * Unless said otherwise, a function below works in the transaction that is
 * open, fills h->err when it returns an error other than ONYX_ERR (no
 * memory, an encoding that failed), and frees nothing it was given.
 */

#define EXEC_TIMEOUT_MS 10000 /* a program's answers to a batch */

/* One segment of a program's batch, kept until the batch commits. */
struct slot {
	int msg;         /* its message in hop.msgs (a frame holds several) */
	size_t off, len; /* its text in hop.bodies */
	bool has_body;
	int tries;   /* attempts that failed on it */
	char *dead;  /* why it goes to the dead-letter queue, or NULL */
	char *error; /* what it answered {"onyx/error": ...} this attempt */
};

struct hop {
	struct onyx_amqp *a;
	const struct onyx_task_spec *t;
	struct onyx_mgmt *m;
	struct onyx_link **in;  /* ningress */
	struct onyx_link **out; /* negress */
	struct onyx_link *seal_out;
	struct onyx_link *done_out;
	struct onyx_link *dlq_out;
	struct onyx_wire *w;
	struct onyx_buf enc, genc;
	/* packed egress: frames[i][bucket] fill until the commit or the limit */
	struct onyx_frame *
	    *frames; /* negress, each GROUP_BUCKETS (lib/hoppack.c) or 1 */
	size_t frame_max;
	/* grouped packed egress: the stamps of its frames (lib/hoppack.c):
	 * this run's sender id, and per egress and bucket the last sequence
	 * number stamped, and that as of the last flush before a commit */
	unsigned char sender_id[8];
	unsigned long long **seq, **seq_mark;
	/* a task with keyed state: its ingress frames held aside until
	 * their turn (lib/hoporder.c) */
	struct onyx_hoporder *ord;
	struct onyx_emit emit;
	char **gidv; /* groups of h->emit's segments, negress each */
	size_t gidcap;
	struct onyx_hop_stats *stats;
	unsigned long long inflight_read, inflight_written,
	    inflight_dead;             /* commit in flight */
	unsigned long long batch_dead; /* dead letters of the open batch */
	/* for t->batch: the open batch's time in the function, and the commit
	 * in flight's start and time in the function (us) */
	long long batch_fn_us, inflight_commit_us, inflight_fn_us;
	long long last_progress;
	long long last_read;    /* when a message last arrived */
	long long last_undeliv; /* the last look for undelivered messages */
	bool undelivered_said;
	/* onyx/group-by-fn programs, by egress */
	struct onyx_exec **gx; /* negress */
	char **gids;           /* negress: onyx_hoppack_out_segment's groups */
	/* onyx/exec */
	struct onyx_exec *x;
	struct slot *slots; /* the batch */
	int nslots, slotcap;
	struct onyx_amqp_msg
	    *msgs; /* the batch's messages, settled at the end */
	int nmsgs, msgcap;
	int *fed; /* the slots fed to the program, in order */
	int nfed, nans;
	struct onyx_buf bodies;
	int broken_run; /* lines dead-lettered in a row, no good answer */
	struct onyx_hopexecstate *xs; /* with keyed state: lib/hopexecstate.c */
	char xwhy[512];               /* why the program failed */
	/* aggregation */
	bool stateful; /* the function keeps state (flush hook, program) */
	bool fed_any;  /* it has seen a segment: registered as holding */
	bool flushed;
	bool inited;
	/* keyed state (lib/hopstate.c) */
	struct onyx_state *state;    /* NULL: the task keeps no keyed state */
	struct onyx_link *state_out; /* durable: the state queue */
	struct onyx_exec *own_gx;    /* the task's own group-by-fn program */
	char *skey;                  /* onyx_hopstate_enter's key */
	/*
	 * The end of a bucket, for a flush of every bucket holding state
	 * (onyx_hopstate_flush_all): set by the task's kind when it starts
	 * (lib/hopfn.c for a C function with a flush hook; programs and
	 * windows set their own); NULL: nothing to write at the end.
	 */
	int (*state_end)(struct hop *h, void *ctx, unsigned long long *emitted);
	void *state_end_ctx;
	struct onyx_hopwindow *win; /* a window task's, or NULL */
	char *err;
	size_t errlen;
};

/* lib/hop.c */

/*
 * onyx_hop_max_segment: the longest segment the task takes or a program may
 * answer, in bytes of JSON text: the task's max_segment, or
 * ONYX_DEFAULT_MAX_SEGMENT.
 */
size_t onyx_hop_max_segment(const struct hop *h);

/*
 * onyx_hop_fail: fill h->err with "task 'T': what: " and the connection's
 * error (when st is ONYX_ETIMEDOUT for want of credit, with what the broker
 * reports for the starved address). Returns st.
 */
int onyx_hop_fail(struct hop *h, int st, const char *what);

/*
 * onyx_hop_rollback: roll back the open transaction, and drop the packed
 * frames being filled for it. Returns ONYX_OK or the connection's status;
 * h->err is not filled (callers use onyx_hop_fail).
 */
int onyx_hop_rollback(struct hop *h);

/*
 * onyx_hop_settle: wait for the commit in flight, if any, and count it in
 * the stats. Returns ONYX_OK, or the commit's error with h->err filled.
 */
int onyx_hop_settle(struct hop *h);

/* lib/hopseal.c */

/*
 * onyx_hopseal_on_sentinel: the sentinel s of ingress j was taken, the batch
 * before it committed and settled. In a transaction of its own, finish j (a
 * marker to SEAL, then try to seal the task) or move s to j's tail. Returns
 * ONYX_OK with *sealed true when this peer sealed the task; ONYX_OK with s
 * released when *stop cut a wait short; else an error (a count, the flush
 * of aggregation state, the connection).
 */
int onyx_hopseal_on_sentinel(
    struct hop *h, int j, struct onyx_amqp_msg *s, bool *sealed);

/*
 * onyx_hopseal_idle_check: for an idle peer, no transaction open. *end is
 * ONYX_HOP_DONE when DONE holds a marker, ONYX_HOP_SEALED when this peer has
 * now sealed the task, else 0. Returns ONYX_OK or an error.
 */
int onyx_hopseal_idle_check(struct hop *h, int *end);

/*
 * onyx_hopseal_ingress_ended: *ended is whether SEAL or DONE holds a marker,
 * that is whether the sentinel of the task's single ingress was taken (by
 * any peer). Returns ONYX_OK or the error of a count.
 */
int onyx_hopseal_ingress_ended(struct hop *h, bool *ended);

/* lib/hopfn.c */

/*
 * onyx_hopfn_apply: the C function on segment body[0..len), tried
 * 1 + max-retries times; its results go to every egress and are counted in
 * *emitted; a segment it keeps failing on is a dead letter. Returns ONYX_OK;
 * ONYX_EDATA when that dead letter has no queue; ONYX_ERR; or an error of
 * the hold hook or the connection.
 */
int onyx_hopfn_apply(
    struct hop *h, const char *body, size_t len, unsigned long long *emitted);

/*
 * onyx_hopfn_end: the flush hook of the C function for the current bucket
 * of keyed state (an end for onyx_hopstate_flush_all; ctx unused), its
 * results sent and counted in *emitted. Returns ONYX_OK; ONYX_EDATA with
 * h->err filled when the hook failed every time; or an error.
 */
int onyx_hopfn_end(struct hop *h, void *ctx, unsigned long long *emitted);

/*
 * onyx_hopfn_hold: register this peer as holding aggregation state (the
 * task's hold hook) before a stateful function sees its first segment; does
 * nothing after that, or for a function without state. Returns ONYX_OK or
 * the hook's error.
 */
int onyx_hopfn_hold(struct hop *h);

/*
 * onyx_hopfn_unhold: unregister this peer, if it is registered; a failure of
 * the hook is logged.
 */
void onyx_hopfn_unhold(struct hop *h);

/*
 * onyx_hopfn_flush: at the end of every ingress, with no transaction open:
 * when the function has seen a segment, write what it kept in a transaction
 * of its own, commit, count it, unregister. Returns ONYX_OK (also when there
 * is nothing to write); ONYX_EDATA when the flush hook failed every time or
 * a dead letter has no queue (rolled back); or another error (rolled back,
 * or the commit's).
 */
int onyx_hopfn_flush(struct hop *h);

/* lib/hopexec.c */

/*
 * onyx_hopexec_start: start the task's program into h->x. Returns ONYX_OK
 * or the error of the start.
 */
int onyx_hopexec_start(struct hop *h);

/*
 * onyx_hopexec_feed: hand slot k to the program (registering the hold
 * first); once enough input waits, write it and take the answers given so
 * far, their segments sent and counted in *emitted. Returns ONYX_OK;
 * ONYX_EDATA with h->xwhy (not h->err) when the program failed; ONYX_ERR;
 * or an error of the hold hook or the connection.
 */
int onyx_hopexec_feed(struct hop *h, int k, unsigned long long *emitted);

/*
 * onyx_hopexec_batch: finish the batch in h->slots (failed: its feeding
 * failed), retrying in new transactions, then dead-letter the dead slots
 * and accept its messages. Returns ONYX_OK with the transaction open;
 * ONYX_EINTR when *stop was set (nothing accepted); ONYX_EDATA when the
 * program looks broken or a dead letter has no queue; or another error.
 * The caller undoes a batch that did not return ONYX_OK (onyx_hopexec_undo).
 */
int onyx_hopexec_batch(struct hop *h, volatile sig_atomic_t *stop,
    unsigned long long *emitted, bool failed);

/*
 * onyx_hopexec_undo: settle the commit in flight, release the batch's
 * messages and the sentinel s (when not NULL), roll back, clear the slots.
 * Returns ONYX_OK or the first error.
 */
int onyx_hopexec_undo(struct hop *h, struct onyx_amqp_msg *s);

/*
 * onyx_hopexec_slots_clear: forget the batch's slots and messages (which
 * must be settled or released by then), freeing what the slots hold.
 */
void onyx_hopexec_slots_clear(struct hop *h);

/*
 * onyx_hopexec_msg_add: keep message m (a copy of the struct) in the batch.
 * Returns ONYX_OK or ONYX_ERR (no memory).
 */
int onyx_hopexec_msg_add(struct hop *h, const struct onyx_amqp_msg *m);

/*
 * onyx_hopexec_slot_add: a slot for segment body[0..len) (body copied; NULL:
 * none) of the last message kept, a dead letter already when dead is not
 * NULL (copied). Returns ONYX_OK or ONYX_ERR (no memory).
 */
int onyx_hopexec_slot_add(
    struct hop *h, const char *body, size_t len, const char *dead);

/*
 * onyx_hopexec_flush: end the program's input, send its last answers (one
 * it cannot place is a dead letter) and count them in *emitted, wait for it
 * to exit (killed after the exec timeout), stop it: for a program without
 * keyed state (with it, the end is onyx_hopexecstate_end's end lines).
 * Returns ONYX_OK (also with no program running); or the error of a dead
 * letter or the connection.
 */
int onyx_hopexec_flush(struct hop *h, unsigned long long *emitted);

/* lib/hopgroup.c */

/*
 * onyx_hopgroup_grouped: whether the reader of egress i groups its segments.
 */
bool onyx_hopgroup_grouped(const struct hop *h, int i);

/*
 * onyx_hopgroup_of: the groups of segment text[0..len) into gids[negress]:
 * a new string for each grouped egress, NULL for the others (free with
 * onyx_hopgroup_free). seg is the text parsed, or NULL (parsed here when a
 * key needs it). Returns ONYX_OK; ONYX_EDATA with why filled (not h->err)
 * when a group cannot be had; ONYX_ERR. On an error every gids[i] is NULL.
 */
int onyx_hopgroup_of(struct hop *h, const char *text, size_t len, json_t *seg,
    char **gids, char *why, size_t whylen);

/*
 * onyx_hopgroup_own: the group value of segment text[0..len) under the
 * task's own grouping h->t->group (which must be set), in full (not
 * hashed), a new string in *out. Returns as onyx_hopgroup_of.
 */
int onyx_hopgroup_own(struct hop *h, const char *text, size_t len, json_t *seg,
    char **out, char *why, size_t whylen);

/*
 * onyx_hopgroup_bucket: the bucket (0..63) of group value as a writer
 * hashes it (a long value by its SHA-256 text). ONYX_OK or ONYX_ERR.
 */
int onyx_hopgroup_bucket(const char *value, unsigned *bucket);

/* onyx_hopgroup_free: free the negress groups in gids, and set them NULL. */
void onyx_hopgroup_free(struct hop *h, char **gids);

/* lib/hoppack.c */

/*
 * onyx_hoppack_send_one: send segment text[0..len) to every egress, with
 * its group gids[i] where set (gids NULL: none): on a packed egress into the
 * frame of its bucket, sent when full. Returns ONYX_OK, ONYX_ERR, or the
 * connection's error.
 */
int onyx_hoppack_send_one(
    struct hop *h, const char *text, size_t len, char *const *gids);

/*
 * onyx_hoppack_out_segment: the groups of a result segment (seg: parsed, or
 * NULL), then onyx_hoppack_send_one. Returns as onyx_hoppack_send_one, or
 * ONYX_EDATA with why filled (not h->err) when a group cannot be had.
 */
int onyx_hoppack_out_segment(struct hop *h, const char *text, size_t len,
    json_t *seg, char *why, size_t whylen);

/*
 * onyx_hoppack_flush: before a commit, send every frame not yet sent.
 * Returns ONYX_OK, ONYX_ERR, or the connection's error.
 */
int onyx_hoppack_flush(struct hop *h);

/* onyx_hoppack_drop: empty the frames being filled, sending nothing. */
void onyx_hoppack_drop(struct hop *h);

/* onyx_hoppack_bucket: the bucket of group-id gid: FNV-1a % 64. */
unsigned onyx_hoppack_bucket(const char *gid);

/* onyx_hoppack_free: free the frames and h->frames, at the hop's end. */
void onyx_hoppack_free(struct hop *h);

/* lib/hoporder.c: the order of each bucket's frames into a task with keyed
 * state (onyx(7), "Order of a bucket's frames") */

/*
 * onyx_hoporder_admit: ingress message m holds the frame payload[0..len).
 * Without durable keyed state, or a frame without a stamp: *process true. Else,
 * per the bucket's order record: the next frame of its sender (*process
 * true, noted for the batch's commit); a frame ahead of a gap (held aside,
 * m and a copy of the payload: *process false); a frame processed already
 * (logged; *process false and *skip true: accept it). Returns ONYX_OK;
 * ONYX_EDATA (h->err filled) when more frames would be held than allowed;
 * or a restore's error.
 */
int onyx_hoporder_admit(struct hop *h, const struct onyx_amqp_msg *m,
    const char *payload, size_t len, bool *process, bool *skip);

/*
 * onyx_hoporder_next: a held frame whose turn has come (its message in *m,
 * its payload in *payload and *len, valid until the next call), noted as
 * processed: 1; 0 when none. Frames of a sender with no record (a record
 * pruned) held longer than the hold time are
 * taken in their order then, with a warning. Returns ONYX_EDATA (h->err
 * filled) when a frame of a known sender has waited the hold time for the
 * frames before it.
 */
int onyx_hoporder_next(
    struct hop *h, struct onyx_amqp_msg *m, const char **payload, size_t *len);

/* onyx_hoporder_held: how many frames are held aside. */
size_t onyx_hoporder_held(const struct hop *h);

/*
 * onyx_hoporder_write: before a commit, the batch's order notes into the
 * buckets' order records (written with the rest of the keyed state).
 * ONYX_OK or an error (a restore's, out of memory).
 */
int onyx_hoporder_write(struct hop *h);

/* onyx_hoporder_free: give back every held message; free h->ord. */
void onyx_hoporder_free(struct hop *h);

/* lib/hopstate.c */

/*
 * onyx_hopstate_open: for a task with keyed state, h->state (and the
 * emit handle's) and, durable, the sender to the state queue. Returns
 * ONYX_OK (nothing to do without onyx/state) or an error.
 */
int onyx_hopstate_open(struct hop *h);

/* onyx_hopstate_close: free what onyx_hopstate_open made. */
void onyx_hopstate_close(struct hop *h);

/*
 * onyx_hopstate_enter_bucket: make bucket b (0..63) current, restoring it
 * first if needed. ONYX_OK, or an error (h->err filled).
 */
int onyx_hopstate_enter_bucket(struct hop *h, unsigned b);

/*
 * onyx_hopstate_enter: make the bucket of segment text[0..len) (seg:
 * parsed, or NULL) current, restoring it first if needed, and give its
 * group value (the key) in *key, *klen, valid until the next enter ("" for
 * a sequential task). Returns ONYX_OK; ONYX_EDATA with why filled when the
 * group cannot be had (the caller dead-letters the segment); or an error
 * (h->err filled): no keyed state on the task, a restore that failed.
 */
int onyx_hopstate_enter(struct hop *h, const char *text, size_t len,
    json_t *seg, const char **key, size_t *klen, char *why, size_t whylen);

/*
 * onyx_hopstate_flush_all: at the end of input, in the open transaction:
 * for each bucket holding state, make it current and call end(h, ctx,
 * emitted) (the flush of the task's kind: C flush hook, program end
 * lines, window end trigger); then write what the ends changed. Durable:
 * every bucket is restored from the broker (one at a time: memory holds
 * one bucket); memory: the buckets this peer holds. Returns ONYX_OK, the
 * first error of end (the caller rolls back), or a restore's.
 */
int onyx_hopstate_flush_all(struct hop *h,
    int (*end)(struct hop *h, void *ctx, unsigned long long *emitted),
    void *ctx, unsigned long long *emitted);

/*
 * onyx_hopstate_write: before a commit: the open batch's state changes to
 * the state queue in the open transaction (durable; memory: its journal
 * is cleared). Returns ONYX_OK or an error with h->err filled.
 */
int onyx_hopstate_write(struct hop *h);

/*
 * onyx_hopstate_committed: a commit is known done (every batch written
 * but the one whose commit is pending, if any): remove through management
 * the records their snapshots made obsolete (a failure is logged: restore
 * ignores them anyway).
 */
void onyx_hopstate_committed(struct hop *h);

/* onyx_hopstate_abandon: the open batch rolled back: undo its changes. */
void onyx_hopstate_abandon(struct hop *h);

/* lib/hopdead.c */

/*
 * onyx_hopdead_letter: send a dead letter for segment body[0..len) (has_body
 * false: none) that failed attempts times with error. Returns ONYX_OK,
 * counted in h->batch_dead; ONYX_EDATA with h->err set to error when the
 * task has no dead-letter queue; ONYX_ERR; or the connection's error.
 */
int onyx_hopdead_letter(struct hop *h, const char *body, size_t len,
    bool has_body, const char *error, int attempts);

/*
 * onyx_hopdead_oversize: for message m of m->total bytes, over the segment
 * limit: fill why, and point *head, *hlen at the start of its text (body, or
 * when body is NULL what m's bytes hold; *head NULL when none). Never fails.
 */
void onyx_hopdead_oversize(const struct hop *h, const struct onyx_amqp_msg *m,
    const char *body, size_t len, char *why, size_t whylen, const char **head,
    size_t *hlen);

/* lib/hopwindow.c */

/*
 * onyx_hopwindow_start: for a window task (t->window set), its spec parsed
 * into h->win, its fold or program checked; waits for the aggregate's
 * program end with ONYX_EINTR once *stop is set. Returns ONYX_OK, or
 * ONYX_EDATA (the spec, a session fold without merge, no keyed state) or
 * ONYX_ERR.
 */
int onyx_hopwindow_start(struct hop *h, volatile sig_atomic_t *stop);

/* onyx_hopwindow_free: release h->win (and stop its program), if any. */
void onyx_hopwindow_free(struct hop *h);

/*
 * onyx_hopwindow_apply: segment body[0..len) into its key's windows, in
 * one call of the keyed state: late, without a time or a value the
 * aggregate takes, it is a dead letter; else what fires (watermark,
 * segments) is sent and counted in *emitted, final windows removed from
 * the state. Returns ONYX_OK; ONYX_EDATA when a dead letter has no queue
 * or the aggregate's program failed (h->err); ONYX_ERR; or the
 * connection's error.
 */
int onyx_hopwindow_apply(
    struct hop *h, const char *body, size_t len, unsigned long long *emitted);

/*
 * onyx_hopwindow_wait: wait, shortened to the time left before the next
 * timer trigger (a task with none: wait as given).
 * onyx_hopwindow_timer_due: whether that time has come and this run holds
 * windows (when it holds none, the timer starts again).
 */
int onyx_hopwindow_wait(const struct hop *h, int wait);
bool onyx_hopwindow_timer_due(struct hop *h);

/*
 * onyx_hopwindow_timer: in the open transaction, when the timer is due,
 * every window of this run's buckets that took segments since it last
 * fired fires, not final. Returns as onyx_hopwindow_apply.
 */
int onyx_hopwindow_timer(struct hop *h, unsigned long long *emitted);

/*
 * onyx_hopwindow_end: the end-of-input flush of the current bucket (an
 * end callback of onyx_hopstate_flush_all): every window fires final and
 * the bucket's window state is deleted. Returns as onyx_hopwindow_apply.
 */
int onyx_hopwindow_end(struct hop *h, void *ctx, unsigned long long *emitted);

#endif
