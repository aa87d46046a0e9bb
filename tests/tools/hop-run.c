/* tests/tools/hop-run.c: run P virtual peers on one task with lib/hop, no coordinator; prints one JSON line per peer. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/err.h>
#include <bsd/stdlib.h>

#include "../../lib/amqp.h"
#include "../../lib/conf.h"
#include "../../lib/fn.h"
#include "../../lib/hop.h"
#include "../../lib/log.h"
#include "../../lib/status.h"

static volatile sig_atomic_t stop;
static struct onyx_conf conf;
static struct onyx_task_spec spec;

struct peer {
	pthread_t th;
	int id, rc;
	struct onyx_hop_stats stats;
	char err[1024];
};

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int
split(char *s, const char **out, int max)
{
	int n = 0;
	char *p;

	for (p = strtok(s, ","); p != NULL && n < max; p = strtok(NULL, ","))
		out[n++] = p;
	return n;
}

static void *
run(void *arg)
{
	struct peer *p = arg;
	struct onyx_amqp *a;
	int st;

	st = onyx_amqp_connect(&conf, 10000, &a, p->err, sizeof(p->err));
	if (st != ONYX_OK) {
		p->rc = st;
		return NULL;
	}
	onyx_amqp_set_interrupt(a, &stop);
	p->rc =
	    onyx_hop_run(a, &spec, &stop, &p->stats, p->err, sizeof(p->err));
	onyx_amqp_close(a);
	return NULL;
}

int
main(int argc, char *argv[])
{
	static const char *in[64], *out[64];
	struct onyx_fnref fref;
	struct peer *peers;
	struct sigaction sa;
	const char *fn = "identity", *fnpath = getenv("ONYX_FN_PATH");
	char err[512];
	int ch, np = 1, i, bad = 0;

	setprogname("hop-run");
	{
		char e[256];
		if (onyx_log_init(e, sizeof(e)) != 0)
			errx(78, "%s", e);
	}
	onyx_conf_defaults(&conf);
	if (onyx_conf_from_env(&conf, err, sizeof(err)) != ONYX_OK)
		errx(78, "%s", err);
	spec.batch_size = 100;
	spec.batch_timeout_ms = 100;
	spec.txn_timeout_ms = 60000;
	while ((ch = getopt(argc, argv, "b:D:f:i:o:p:S:t:T:")) != -1) {
		switch (ch) {
		case 'b': spec.batch_size = atoi(optarg); break;
		case 'D': spec.done_queue = optarg; break;
		case 'f': fn = optarg; break;
		case 'i': spec.ningress = split(optarg, in, 64); break;
		case 'o': spec.negress = split(optarg, out, 64); break;
		case 'p': np = atoi(optarg); break;
		case 'S': spec.seal_queue = optarg; break;
		case 't': spec.name = optarg; break;
		case 'T': spec.batch_timeout_ms = atoi(optarg); break;
		default:
			errx(64,
			    "usage: hop-run -t task -i q[,q] -o q[,q] -S seal "
			    "-D done [-f fn] [-b batch] [-T ms] [-p peers]");
		}
	}
	if (spec.name == NULL || spec.seal_queue == NULL ||
	    spec.done_queue == NULL || np < 1)
		errx(64, "-t, -S, -D are required");
	spec.ingress = in;
	spec.egress = out;
	if (onyx_fn_resolve(fn, fnpath, &fref, err, sizeof(err)) != ONYX_OK)
		errx(69, "%s", err);
	spec.fn = fref.fn;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((peers = calloc(np, sizeof(*peers))) == NULL)
		errx(70, "out of memory");
	for (i = 0; i < np; i++) {
		peers[i].id = i;
		pthread_create(&peers[i].th, NULL, run, &peers[i]);
	}
	for (i = 0; i < np; i++) {
		struct peer *p = &peers[i];
		const char *end;
		pthread_join(p->th, NULL);
		end = p->rc == ONYX_HOP_SEALED  ? "sealed"
		    : p->rc == ONYX_HOP_DONE    ? "done"
		    : p->rc == ONYX_HOP_STOPPED ? "stopped"
		                                : "error";
		printf(
		    "{\"task\":\"%s\",\"peer\":%d,\"end\":\"%s\",\"read\":%llu,"
		    "\"written\":%llu,\"batches\":%llu,\"requeues\":%llu}\n",
		    spec.name, i, end, p->stats.read, p->stats.written,
		    p->stats.batches, p->stats.requeues);
		if (p->rc < 0) {
			warnx("peer %d: %s", i, p->err);
			bad = 1;
		}
	}
	onyx_fn_release(&fref);
	free(peers);
	return bad ? 69 : 0;
}
