/* lib/amqp.h: one AMQP 1.0 connection to the broker, driven synchronously by one thread. */
#ifndef ONYX_AMQP_H
#define ONYX_AMQP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "txn.h"

struct onyx_amqp;
struct onyx_link;

/* One received message, owned by the connection until accepted or released. */
struct onyx_amqp_msg {
	void *handle;      /* the delivery */
	const char *bytes; /* the encoded message; valid until the next recv */
	size_t size;
	/* the whole message's size: more than size when it is longer than
	 * the link's limit (onyx_amqp_set_max_message), and bytes then holds
	 * only its first size bytes, the rest read and dropped */
	size_t total;
};

/*
 * onyx_amqp_connect: connect to c->broker with SASL PLAIN (c->user,
 * c->password; ANONYMOUS when no user) and open a session. Waits at most
 * timeout_ms. Returns ONYX_OK with *out set, or ONYX_EUNAVAIL (cannot
 * connect: the message names the URL), ONYX_EAUTH (credentials refused),
 * ONYX_ETIMEDOUT, ONYX_ECONFIG (bad URL), with err filled. The caller owns
 * *out and frees it with onyx_amqp_close.
 */
int onyx_amqp_connect(const struct onyx_conf *c, int timeout_ms,
    struct onyx_amqp **out, char *err, size_t errlen);

/*
 * onyx_amqp_close: close links and the connection in order (an open
 * transaction is rolled back by the broker, received but unaccepted
 * messages go back to their queue), then free a. NULL is fine.
 */
void onyx_amqp_close(struct onyx_amqp *a);

/* onyx_amqp_error: the text of the last error on a, never NULL. */
const char *onyx_amqp_error(const struct onyx_amqp *a);

/*
 * onyx_amqp_set_interrupt: once *flag is non-zero, every wait on a ends
 * within about 100 ms even when another thread set the flag: recv, wait,
 * a send waiting for credit, an attach and a declare return ONYX_EINTR at
 * once; a wait for outcomes or for a discharge's answer gets 1 s more,
 * then returns ONYX_EINTR (a commit whose answer did not come is then in
 * doubt: the connection is dropped and onyx_amqp_alive says so); closes
 * wait 100 ms per link, 200 ms for the connection. A flag back at zero
 * restores the normal waits.
 */
void onyx_amqp_set_interrupt(struct onyx_amqp *a, volatile sig_atomic_t *flag);

/*
 * onyx_amqp_set_credit_timeout: how long onyx_amqp_send waits for a
 * sender's credit (>= 1 ms). The default is ONYX_CREDIT_TIMEOUT_MS from the
 * environment at connect time, else 30000.
 */
void onyx_amqp_set_credit_timeout(struct onyx_amqp *a, int timeout_ms);

/*
 * onyx_amqp_starved: the address whose send last got no credit in time
 * (onyx_amqp_send returned ONYX_ETIMEDOUT), until a send to it gets credit;
 * NULL when there is none. The string belongs to a.
 */
const char *onyx_amqp_starved(const struct onyx_amqp *a);

/* onyx_amqp_alive: whether a is usable (not NULL, the connection not dropped). */
bool onyx_amqp_alive(const struct onyx_amqp *a);

/*
 * onyx_amqp_sender: attach a sender to address; with anycast, the link asks
 * for a queue (the broker creates the queue if missing). Returns ONYX_OK,
 * or an error (ONYX_EREJECTED when the broker refused the link) with the
 * reason in onyx_amqp_error(a). The link belongs to a.
 */
int onyx_amqp_sender(struct onyx_amqp *a, const char *address, bool anycast,
    struct onyx_link **out);

/*
 * onyx_amqp_receiver: attach a receiver to queue address with a credit
 * window of window messages (topped up when half is used). A NULL address
 * asks for a dynamic (temporary) queue whose name onyx_amqp_link_address
 * gives. Returns like onyx_amqp_sender.
 */
int onyx_amqp_receiver(struct onyx_amqp *a, const char *address, int window,
    struct onyx_link **out);

/*
 * onyx_amqp_browser: attach a browser to queue address: a receiver whose
 * source asks for copies (distribution mode "copy"), so the broker sends
 * what the queue holds and takes nothing from it, and grants no credit of
 * its own: onyx_amqp_drain asks for messages. An Artemis browser sends the
 * messages the queue held when it attached, in order, and none that
 * arrive later: attach again to see them. Settle what it gives with
 * onyx_amqp_accept outside a transaction (the queue keeps it). Beware: the
 * broker creates a queue that is missing when a browser attaches to it.
 * Returns like onyx_amqp_sender.
 */
int onyx_amqp_browser(
    struct onyx_amqp *a, const char *address, struct onyx_link **out);

/*
 * onyx_amqp_browser_select: onyx_amqp_browser, given only the messages
 * the JMS selector selector (NULL: all) selects, by the source filter
 * apache.org:selector-filter:string. onyx_amqp_accept settles a browser's
 * message outside the transaction, even when one is open.
 */
int onyx_amqp_browser_select(struct onyx_amqp *a, const char *address,
    const char *selector, struct onyx_link **out);

/*
 * onyx_amqp_taker: a receiver from queue address given only the messages
 * the JMS selector selector selects, with no credit but what
 * onyx_amqp_drain asks for, whose onyx_amqp_accept takes a message from the
 * queue at once, outside the transaction even when one is open
 * (onyx_amqp_release gives one back). For removing chosen messages:
 * Artemis 2.40's management removeMessages with a filter removed messages
 * its filter does not select (lib/hopstate.c).
 */
int onyx_amqp_taker(struct onyx_amqp *a, const char *address,
    const char *selector, struct onyx_link **out);

/*
 * onyx_amqp_drain: grant browser (or receiver) l credit messages in drain
 * mode and wait, at most timeout_ms, until the broker has used each credit
 * for a message or given it back: then every message it had to send within
 * that credit, and sent before its answer, has arrived (read them with
 * onyx_amqp_recv and timeout 0). Artemis answers a browser's drain before
 * it has sent all it holds when the connection is not writable (a drain
 * may bring fewer than credit, or nothing, while more wait): no drain
 * tells a browse it has reached the queue's end (lib/hopstate.c browses
 * to a fence message of its own). Returns ONYX_OK,
 * ONYX_ETIMEDOUT, ONYX_EINTR or the connection's error.
 */
int onyx_amqp_drain(struct onyx_link *l, int credit, int timeout_ms);

/* onyx_amqp_link_address: the address of l (for a dynamic one, the broker's). */
const char *onyx_amqp_link_address(const struct onyx_link *l);

/* onyx_amqp_set_window: change the credit window of receiver l (>= 1). */
void onyx_amqp_set_window(struct onyx_link *l, int window);

/*
 * onyx_amqp_set_max_message: receiver l keeps at most max bytes of a
 * message (0: no limit, the default): a longer one is read as it arrives
 * and all but its first bytes (32 KiB at most) dropped, so it never sits
 * whole in memory; onyx_amqp_recv hands it over with total > size, to
 * accept (a dead letter) or release like any other. Messages that arrive
 * while the caller is busy elsewhere are read the same way, so what l
 * holds is at most its window of messages of max bytes each.
 */
void onyx_amqp_set_max_message(struct onyx_link *l, size_t max);

/*
 * onyx_amqp_link_close: release the received messages of l not yet accepted
 * (they go back to the queue undelivered), detach and free l.
 */
void onyx_amqp_link_close(struct onyx_link *l);

/*
 * onyx_amqp_send: transfer one encoded message on sender l; with txn, inside
 * the active transaction (which must exist). Waits for credit, at most the
 * credit timeout (onyx_amqp_set_credit_timeout). Returns ONYX_OK once the
 * transfer is queued: its outcome arrives later, see
 * onyx_amqp_settle_sends. Errors: ONYX_ETIMEDOUT when no credit came (the
 * message names the address, onyx_amqp_starved gives it; the connection
 * stays usable, nothing was sent), ONYX_EINTR on the stop flag, or the
 * connection's status.
 */
int
onyx_amqp_send(struct onyx_link *l, const void *bytes, size_t size, bool txn);

/*
 * onyx_amqp_settle_sends: wait until every transfer sent so far has its
 * outcome. Returns ONYX_OK when all were accepted, ONYX_EREJECTED when any
 * was refused (the reason in onyx_amqp_error), ONYX_ETIMEDOUT, ONYX_EINTR
 * (the stop flag, after its grace), or the connection's error.
 */
int onyx_amqp_settle_sends(struct onyx_amqp *a, int timeout_ms);

/*
 * onyx_amqp_recv: the next whole message on receiver l, waiting at most
 * timeout_ms (-1: forever). Returns ONYX_OK with *m filled, ONYX_ETIMEDOUT,
 * ONYX_EINTR, or the connection's error.
 */
int
onyx_amqp_recv(struct onyx_link *l, int timeout_ms, struct onyx_amqp_msg *m);

/*
 * onyx_amqp_recv_any: the next whole message on any of the n receivers
 * links (all on one connection), served round-robin; *which (when not
 * NULL) says which link it came from. Returns as onyx_amqp_recv.
 */
int onyx_amqp_recv_any(struct onyx_link **links, int n, int timeout_ms,
    struct onyx_amqp_msg *m, int *which);

/*
 * onyx_amqp_accept: accept m. Inside an active transaction the accept joins
 * it (m is settled when the transaction commits); otherwise m is settled at
 * once. Returns ONYX_OK or an error.
 */
int onyx_amqp_accept(struct onyx_amqp *a, struct onyx_amqp_msg *m);

/*
 * onyx_amqp_release: give m back to its queue undelivered (the delivery
 * count does not grow) and settle it.
 */
void onyx_amqp_release(struct onyx_amqp *a, struct onyx_amqp_msg *m);

/*
 * onyx_amqp_txn_declare: declare a transaction and wait for its id.
 * Returns ONYX_OK, ONYX_EREJECTED, ONYX_ETIMEDOUT or the connection's error.
 */
int onyx_amqp_txn_declare(struct onyx_amqp *a, int timeout_ms);

/*
 * onyx_amqp_txn_commit: wait for the outcomes of the transaction's transfers,
 * then discharge it. Returns ONYX_OK when committed (the accepted messages
 * are settled). When a transfer or the discharge was refused the transaction
 * is rolled back and ONYX_EREJECTED returned; ONYX_EINDOUBT when the
 * connection dropped before the answer (it may or may not have committed);
 * ONYX_ETIMEDOUT when the broker did not answer in time (the connection is
 * then closed: the outcome is in doubt too).
 */
int onyx_amqp_txn_commit(struct onyx_amqp *a, int timeout_ms);

/*
 * onyx_amqp_txn_commit_begin: like onyx_amqp_txn_commit, but return as soon
 * as the discharge is sent, so the next transaction can be declared and
 * filled while the broker commits (one commit in flight at most; a second
 * begin first collects the first). Errors found before the discharge (a
 * refused transfer) roll the transaction back and return ONYX_EREJECTED.
 */
int onyx_amqp_txn_commit_begin(struct onyx_amqp *a, int timeout_ms);

/*
 * onyx_amqp_txn_commit_end: wait for the outcome of the commit in flight
 * (ONYX_OK when there is none). Returns as onyx_amqp_txn_commit.
 */
int onyx_amqp_txn_commit_end(struct onyx_amqp *a, int timeout_ms);

/* onyx_amqp_txn_pending: whether a commit is in flight. */
bool onyx_amqp_txn_pending(const struct onyx_amqp *a);

/*
 * onyx_amqp_txn_rollback: discharge the active transaction with fail=true;
 * its transfers are dropped and its accepted messages released back to
 * their queues. Returns ONYX_OK or an error.
 */
int onyx_amqp_txn_rollback(struct onyx_amqp *a, int timeout_ms);

/* onyx_amqp_txn: the transaction in flight if any, else the current one. */
const struct onyx_txn *onyx_amqp_txn(const struct onyx_amqp *a);

/*
 * onyx_amqp_wait: service the connection (heartbeats, incoming frames) until
 * fd (when >= 0) is readable, timeout_ms passes, or an interrupt. Returns 1
 * when fd is readable, 0 on timeout, ONYX_EINTR or the connection's error.
 */
int onyx_amqp_wait(struct onyx_amqp *a, int timeout_ms, int fd);

#endif
