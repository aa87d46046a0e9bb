/* lib/mgmt.h: Artemis management requests over AMQP (queue counts, create, delete, purge). */
#ifndef ONYX_MGMT_H
#define ONYX_MGMT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "amqp.h"

struct onyx_mgmt;

/*
 * onyx_mgmt_open: a management client on connection a (a sender to
 * activemq.management and a temporary reply queue). Returns ONYX_OK or the
 * link error; the message is in onyx_amqp_error(a). Free with
 * onyx_mgmt_close before closing a.
 */
int onyx_mgmt_open(struct onyx_amqp *a, struct onyx_mgmt **out);
void onyx_mgmt_close(struct onyx_mgmt *m);

/*
 * onyx_mgmt_call: read attribute (when attribute is not NULL) or invoke
 * operation on resource ("queue.NAME", "broker", ...) with params, a JSON
 * array text. On ONYX_OK *result is a new reference to the answer's value.
 * Errors: ONYX_ENOENT when the resource does not exist, ONYX_EREJECTED when
 * the broker refused (err holds its text), ONYX_ETIMEDOUT, or the
 * connection's error.
 */
int onyx_mgmt_call(struct onyx_mgmt *m, const char *resource,
    const char *attribute, const char *operation, const char *params,
    json_t **result, char *err, size_t errlen);

/*
 * onyx_mgmt_queue_count: messages held and being delivered (one request).
 * onyx_mgmt_queue_added: messages ever added (committed) since the queue
 * was created; consuming them does not lower it (one request).
 */
int onyx_mgmt_queue_count(struct onyx_mgmt *m, const char *queue,
    long long *messages, char *err, size_t errlen);
int onyx_mgmt_queue_added(struct onyx_mgmt *m, const char *queue,
    long long *added, char *err, size_t errlen);

/* onyx_mgmt_queue_stat: messages (held and being delivered) and consumers. */
int onyx_mgmt_queue_stat(struct onyx_mgmt *m, const char *queue,
    long long *messages, long long *consumers, char *err, size_t errlen);

/*
 * onyx_mgmt_queue_create: create the durable anycast queue (and address)
 * queue; *created says whether it was missing.
 */
int onyx_mgmt_queue_create(struct onyx_mgmt *m, const char *queue,
    bool *created, char *err, size_t errlen);

/*
 * onyx_mgmt_queue_ensure: create the durable anycast queue (and address)
 * queue, or leave it as it is when it exists: one request, where
 * onyx_mgmt_queue_create asks first.
 */
int onyx_mgmt_queue_ensure(
    struct onyx_mgmt *m, const char *queue, char *err, size_t errlen);

/*
 * onyx_mgmt_queue_ensure_all: onyx_mgmt_queue_ensure for the n queues, the
 * requests sent together and the answers read after (one round trip).
 * Returns ONYX_OK, or the first error with *failed the index of its queue.
 */
int onyx_mgmt_queue_ensure_all(struct onyx_mgmt *m, const char *const *queues,
    size_t n, size_t *failed, char *err, size_t errlen);

/* onyx_mgmt_queue_delete: delete queue and its address. ONYX_ENOENT if absent. */
int onyx_mgmt_queue_delete(
    struct onyx_mgmt *m, const char *queue, char *err, size_t errlen);

/* onyx_mgmt_queue_purge: remove every message of queue; *removed counts them. */
int onyx_mgmt_queue_purge(struct onyx_mgmt *m, const char *queue,
    long long *removed, char *err, size_t errlen);

/*
 * onyx_mgmt_address_view: what the broker reports for address (whether it
 * pages, its size in bytes, the share of its limit in use) as one line of
 * text in buf, e.g. "paging: false, size: 1234 bytes, 100% of its limit".
 * Returns ONYX_OK, or the call's error with buf saying why it is unknown.
 */
int onyx_mgmt_address_view(
    struct onyx_mgmt *m, const char *address, char *buf, size_t len);

/*
 * onyx_mgmt_close_client: close every broker connection whose AMQP
 * container id (the broker's client id) is client_id, and list them again
 * until none is left: on return the broker has dropped them, so their open
 * transactions can only roll back and nothing more arrives on them.
 * *closed counts the connections closed. Returns ONYX_OK (none left),
 * ONYX_ETIMEDOUT when some stay open, or the call's error with err filled.
 */
int onyx_mgmt_close_client(struct onyx_mgmt *m, const char *client_id,
    int *closed, char *err, size_t errlen);

#endif
