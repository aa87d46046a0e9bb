/* lib/coordbroker.c: what the coordinator asks of the broker: fence dead peers, delete an ended job's queues. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amqp.h"
#include "clock.h"
#include "coordbroker.h"
#include "jobs.h"
#include "log.h"
#include "mgmt.h"
#include "names.h"
#include "status.h"

struct onyx_coordbroker {
	const struct onyx_conf *conf;
	volatile sig_atomic_t *stop; /* ends every broker wait, or NULL */
	struct onyx_amqp *a;
	struct onyx_mgmt *m;
	long long next_connect; /* monotonic ms: no attempt before */
	char last_err[512];     /* the last failure, logged once */
};

struct onyx_coordbroker *
onyx_coordbroker_new(const struct onyx_conf *conf, volatile sig_atomic_t *stop)
{
	struct onyx_coordbroker *b = calloc(1, sizeof(*b));

	if (b != NULL) {
		b->conf = conf;
		b->stop = stop;
	}
	return b;
}

static void
drop(struct onyx_coordbroker *b)
{
	onyx_mgmt_close(b->m);
	onyx_amqp_close(b->a);
	b->m = NULL;
	b->a = NULL;
}

void
onyx_coordbroker_free(struct onyx_coordbroker *b)
{
	if (b == NULL)
		return;
	drop(b);
	free(b);
}

/* A management client on the broker, connecting (at most every 2 s). */
static struct onyx_mgmt *
mgmt(struct onyx_coordbroker *b)
{
	char err[512];
	int st;

	if (b->m != NULL) {
		/* heartbeats and the broker's closing of an idle connection */
		st = onyx_amqp_wait(b->a, 0, -1);
		if (st >= 0)
			return b->m;
		onyx_log(ONYX_LOG_WARN, "broker connection lost: %s",
		    onyx_amqp_error(b->a));
		drop(b);
	}
	if (onyx_mono_ms() < b->next_connect)
		return NULL;
	b->next_connect = onyx_mono_ms() + 2000;
	if ((st = onyx_amqp_connect(b->conf, 2000, &b->a, err, sizeof(err))) !=
	    ONYX_OK) {
		b->a = NULL;
		if (strcmp(err, b->last_err) != 0)
			onyx_log(ONYX_LOG_WARN,
			    "broker unreachable (fencing and cleanup wait): %s",
			    err);
		snprintf(b->last_err, sizeof(b->last_err), "%s", err);
		return NULL;
	}
	if (b->stop != NULL)
		onyx_amqp_set_interrupt(b->a, b->stop);
	if ((st = onyx_mgmt_open(b->a, &b->m)) != ONYX_OK) {
		onyx_log(ONYX_LOG_WARN, "broker management: %s",
		    onyx_amqp_error(b->a));
		drop(b);
		return NULL;
	}
	if (b->last_err[0] != '\0')
		onyx_log(ONYX_LOG_INFO, "broker reachable again");
	b->last_err[0] = '\0';
	return b->m;
}

int
onyx_coordbroker_fence(void *ctx, const char *id, char *err, size_t errlen)
{
	struct onyx_coordbroker *b = ctx;
	struct onyx_mgmt *m;
	int st, closed;

	if ((m = mgmt(b)) == NULL) {
		snprintf(err, errlen, "the broker is unreachable");
		return ONYX_EUNAVAIL;
	}
	st = onyx_mgmt_close_client(m, id, &closed, err, errlen);
	if (st == ONYX_OK)
		onyx_log(ONYX_LOG_INFO,
		    "fence peer=%s: %d broker connection%s closed", id, closed,
		    closed == 1 ? "" : "s");
	else if (st != ONYX_ETIMEDOUT)
		drop(b);
	return st;
}

int
onyx_coordbroker_clean(void *ctx, const char *job, const json_t *plan,
    int *deleted, char *err, size_t errlen)
{
	struct onyx_coordbroker *b = ctx;
	struct onyx_mgmt *m;
	json_t *queues, *q;
	size_t i;
	int st = ONYX_OK;

	*deleted = 0;
	if ((m = mgmt(b)) == NULL) {
		snprintf(err, errlen, "the broker is unreachable");
		return ONYX_EUNAVAIL;
	}
	/* exactly its own queues, named from its plan (lib/names) */
	if ((queues = onyx_jobs_own_queues(plan)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return ONYX_ERR;
	}
	json_array_foreach(queues, i, q)
	{
		const char *name = json_string_value(q);
		long long msgs = 0, consumers;

		if (name == NULL)
			continue;
		/* a dead-letter queue holding dead letters is the user's */
		if (onyx_names_kind(name) == ONYX_NAMES_DLQ &&
		    onyx_mgmt_queue_stat(
		        m, name, &msgs, &consumers, err, errlen) == ONYX_OK &&
		    msgs > 0) {
			onyx_log(ONYX_LOG_INFO,
			    "job=%s cleanup: %s keeps its %lld dead letter%s",
			    job, name, msgs, msgs == 1 ? "" : "s");
			continue;
		}
		st = onyx_mgmt_queue_delete(m, name, err, errlen);
		if (st == ONYX_OK)
			(*deleted)++;
		else if (st == ONYX_ENOENT)
			st = ONYX_OK;
		else {
			char e2[512];

			snprintf(
			    e2, sizeof(e2), "deleting queue %s: %s", name, err);
			snprintf(err, errlen, "%s", e2);
			if (st != ONYX_EREJECTED)
				drop(b);
			break;
		}
	}
	json_decref(queues);
	return st;
}
