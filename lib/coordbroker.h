/* lib/coordbroker.h: what the coordinator asks of the broker: fence dead peers, delete an ended job's queues. */
#ifndef ONYX_COORDBROKER_H
#define ONYX_COORDBROKER_H

#include <signal.h>

#include <stddef.h>

#include <jansson.h>

#include "conf.h"

struct onyx_coordbroker;

/*
 * onyx_coordbroker_new: a broker client on the settings of conf (borrowed),
 * connecting when first needed and again (at most every 2 s) after a loss.
 * Once *stop (when not NULL) is set, every wait on the broker ends at once
 * (SIGTERM). NULL: no memory. Free with onyx_coordbroker_free.
 */
struct onyx_coordbroker *
onyx_coordbroker_new(const struct onyx_conf *conf, volatile sig_atomic_t *stop);
void onyx_coordbroker_free(struct onyx_coordbroker *b);

/*
 * onyx_coordbroker_fence: close every broker connection of peer (its AMQP
 * container id) and see them gone: whatever it had in flight rolls back.
 * Returns ONYX_OK when none is left, else the error (ONYX_EUNAVAIL when the
 * broker is unreachable) with err filled. ctx is the onyx_coordbroker.
 */
int
onyx_coordbroker_fence(void *ctx, const char *peer, char *err, size_t errlen);

/*
 * onyx_coordbroker_clean: delete the internal queues of the ended job of
 * plan: exactly its own queues (onyx_jobs_own_queues), except a
 * dead-letter queue that holds dead letters (it is the user's; a line is
 * logged). *deleted counts the queues deleted. Returns ONYX_OK when all
 * are gone, else the error (retry on a later pass) with err filled.
 */
int onyx_coordbroker_clean(void *ctx, const char *job, const json_t *plan,
    int *deleted, char *err, size_t errlen);

#endif
