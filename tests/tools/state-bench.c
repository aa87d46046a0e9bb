/* tests/tools/state-bench.c: write one bucket of keyed state to a state queue, or time its restore (bench/state-restore). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <jansson.h>

#include "../../lib/amqp.h"
#include "../../lib/clock.h"
#include "../../lib/conf.h"
#include "../../lib/hopint.h"
#include "../../lib/state.h"
#include "../../lib/status.h"

/*
 *   state-bench write QUEUE KEYS ROUNDS   KEYS keys into bucket 0 of QUEUE,
 *                                          then ROUNDS batches changing a
 *                                          tenth of them each
 *   state-bench restore QUEUE KEYS        restore bucket 0: prints
 *                                          "restore KEYS keys: N ms" and the
 *                                          peak memory; exit 1 unless it
 *                                          holds KEYS keys
 * The broker from the environment (ONYX_BROKER...), as every program.
 */

static int
usage(void)
{
	fprintf(stderr,
	    "usage: state-bench write QUEUE KEYS ROUNDS | "
	    "state-bench restore QUEUE KEYS\n");
	return 64;
}

/* One batch in a transaction of its own: the puts, the records, commit. */
static int
batch(struct hop *h, long keys, long step, long from, long value)
{
	const char *key;
	size_t klen;
	char why[256], k[32];
	int st;

	if ((st = onyx_amqp_txn_declare(h->a, 60000)) != ONYX_OK)
		return st;
	if ((st = onyx_hopstate_enter(
	         h, "{}", 2, NULL, &key, &klen, why, sizeof(why))) != ONYX_OK)
		return st;
	for (long i = from; i < keys; i += step) {
		snprintf(k, sizeof(k), "key-%ld", i);
		if (onyx_state_put_json(
		        h->state, k, strlen(k), json_integer(value + i)) != 0)
			return ONYX_ERR;
	}
	if ((st = onyx_hopstate_write(h)) != ONYX_OK)
		return st;
	if ((st = onyx_amqp_txn_commit(h->a, 60000)) != ONYX_OK)
		return st;
	onyx_hopstate_committed(h);
	return ONYX_OK;
}

int
main(int argc, char **argv)
{
	struct onyx_task_spec t = {0};
	struct onyx_amqp *a = NULL;
	struct onyx_conf c;
	struct hop h;
	struct rusage ru;
	char err[1024] = "";
	const char *key;
	size_t klen;
	long keys, rounds = 0;
	long long t0, ms;
	int st, rc = 1;
	bool write;

	if (argc < 4)
		return usage();
	write = strcmp(argv[1], "write") == 0;
	if ((!write && strcmp(argv[1], "restore") != 0) || (write && argc < 5))
		return usage();
	keys = atol(argv[3]);
	if (write)
		rounds = atol(argv[4]);
	onyx_conf_defaults(&c);
	if (onyx_conf_from_env(&c, err, sizeof(err)) != ONYX_OK ||
	    onyx_amqp_connect(&c, 10000, &a, err, sizeof(err)) != ONYX_OK) {
		fprintf(stderr, "state-bench: %s\n", err);
		return 69;
	}
	t.name = "bench";
	t.state_mode = ONYX_STATE_DURABLE;
	t.state_queue = argv[2];
	t.txn_timeout_ms = 60000;
	memset(&h, 0, sizeof(h));
	h.a = a;
	h.t = &t;
	h.err = err;
	h.errlen = sizeof(err);
	if ((st = onyx_mgmt_open(a, &h.m)) != ONYX_OK ||
	    (st = onyx_hopstate_open(&h)) != ONYX_OK)
		goto out;
	if (write) {
		/* all keys (one snapshot), then rounds of a tenth each */
		if ((st = batch(&h, keys, 1, 0, 0)) != ONYX_OK)
			goto out;
		for (long r = 1; r <= rounds; r++)
			if ((st = batch(&h, keys, 10, r % 10, r * 1000000L)) !=
			    ONYX_OK)
				goto out;
		printf("wrote %ld keys and %ld batches of %ld changes\n", keys,
		    rounds, keys / 10);
		rc = 0;
		goto out;
	}
	t0 = onyx_mono_ms();
	st = onyx_hopstate_enter(
	    &h, "{}", 2, NULL, &key, &klen, err + 512, sizeof(err) - 512);
	ms = onyx_mono_ms() - t0;
	if (st != ONYX_OK)
		goto out;
	getrusage(RUSAGE_SELF, &ru);
	printf("restore %zu keys: %lld ms (peak memory %ld MiB)\n",
	    onyx_state_nkeys(h.state, 0), ms, ru.ru_maxrss / 1024);
	rc = onyx_state_nkeys(h.state, 0) == (size_t)keys ? 0 : 1;
out:
	if (st != ONYX_OK)
		fprintf(stderr, "state-bench: %s\n",
		    err[0] ? err : onyx_amqp_error(a));
	onyx_hopstate_close(&h);
	onyx_mgmt_close(h.m);
	onyx_amqp_close(a);
	return rc;
}
