/* cmd/onyx-queue.c: move JSON lines between shell pipelines and Artemis queues. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <bsd/err.h>
#include <bsd/stdlib.h>
#include <jansson.h>

#include "../lib/cli.h"
#include "../lib/amqp.h"
#include "../lib/conf.h"
#include "../lib/jobs.h"
#include "../lib/log.h"
#include "../lib/mgmt.h"
#include "../lib/names.h"
#include "../lib/queue.h"
#include "../lib/status.h"
#include "../lib/tap.h"
#include "../lib/zk.h"
#include "../lib/zkauth.h"

static volatile sig_atomic_t stop;

static const char usage[] =
    "usage: onyx-queue send [-b size] [-t ms] [--done] [--packed] queue\n"
    "       onyx-queue recv [-b size] [-n count] [-t ms] [-w ms]\n"
    "                       [--until-done [--keep-done]] queue\n"
    "       onyx-queue tap [-n count] [-w ms] job from to\n"
    "       onyx-queue stat [--json] queue ...\n"
    "       onyx-queue create | delete | purge queue ...\n"
    "common: [-v] [-B url] [-u user] [--password-file file]\n"
    "        [--broker-ca file] [--broker-cert file] [--broker-key file]\n"
    "        [--insecure-plain]\n"
    "        [--max-segment size]\n"
    "        [-h | --help] [-V | --version]\n";

enum {
	OPT_DONE = ONYX_CLI_OPT,
	OPT_UNTIL_DONE,
	OPT_KEEP_DONE,
	OPT_JSON,
	OPT_PACKED,
};

static const struct option longopts[] = {
    {"batch-size", required_argument, NULL, 'b'},
    {"batch-timeout", required_argument, NULL, 't'},
    {"count", required_argument, NULL, 'n'},
    {"done", no_argument, NULL, OPT_DONE},
    {"json", no_argument, NULL, OPT_JSON},
    {"keep-done", no_argument, NULL, OPT_KEEP_DONE},
    {"packed", no_argument, NULL, OPT_PACKED},
    {"timeout", required_argument, NULL, 'w'},
    {"until-done", no_argument, NULL, OPT_UNTIL_DONE},
    {NULL, 0, NULL, 0},
};

static int
cmd_admin(struct onyx_amqp *a, const char *cmd, char **queues, int n, bool json)
{
	struct onyx_mgmt *m;
	char err[1024];
	int i, st, rc = 0;
	bool table = !json && isatty(STDOUT_FILENO);

	if ((st = onyx_mgmt_open(a, &m)) != ONYX_OK) {
		warnx("cannot reach the broker's management: %s",
		    onyx_amqp_error(a));
		return onyx_status_exit(st);
	}
	if (table && strcmp(cmd, "stat") == 0)
		printf("%-40s %12s %10s\n", "QUEUE", "MESSAGES", "CONSUMERS");
	for (i = 0; i < n; i++) {
		const char *q = queues[i];
		json_t *out = NULL;
		long long x, y;
		bool created;

		if (strcmp(cmd, "stat") == 0) {
			if ((st = onyx_mgmt_queue_stat(
			         m, q, &x, &y, err, sizeof(err))) == ONYX_OK) {
				if (table)
					printf(
					    "%-40s %12lld %10lld\n", q, x, y);
				else
					out =
					    json_pack("{s:s,s:I,s:I}", "queue",
					        q, "messages", (json_int_t)x,
					        "consumers", (json_int_t)y);
			}
		} else if (strcmp(cmd, "create") == 0) {
			if ((st = onyx_mgmt_queue_create(
			         m, q, &created, err, sizeof(err))) == ONYX_OK)
				out = json_pack("{s:s,s:b}", "queue", q,
				    "created", created);
		} else if (strcmp(cmd, "delete") == 0) {
			if ((st = onyx_mgmt_queue_delete(
			         m, q, err, sizeof(err))) == ONYX_OK)
				out = json_pack(
				    "{s:s,s:b}", "queue", q, "deleted", 1);
		} else {
			if ((st = onyx_mgmt_queue_purge(
			         m, q, &x, err, sizeof(err))) == ONYX_OK)
				out = json_pack("{s:s,s:I}", "queue", q,
				    "purged", (json_int_t)x);
		}
		if (st != ONYX_OK) {
			warnx("%s %s: %s", cmd, q, err);
			rc = onyx_status_exit(st);
			if (st != ONYX_ENOENT && st != ONYX_EREJECTED)
				break; /* the connection is gone */
			continue;
		}
		if (out != NULL) {
			json_dumpf(
			    out, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
			putchar('\n');
			fflush(stdout);
			json_decref(out);
		}
	}
	onyx_mgmt_close(m);
	return rc;
}

/*
 * tap JOB FROM TO: find the edge's queue (in the job's plan when ONYX_ZK
 * is set, else by its name), then show its segments (lib/tap.h).
 */
static int
cmd_tap(struct onyx_amqp *a, const struct onyx_conf *conf, char **args,
    unsigned long long count, long timeout)
{
	const char *job = args[0], *from = args[1], *to = args[2];
	char queue[ONYX_NAMES_LEN], status[64], err[1024];
	struct onyx_tap_opts o = {
	    .queue = queue,
	    .out = stdout,
	    .count = count,
	    .timeout_ms = (int)timeout,
	    .interval_ms = 250,
	    .answer_ms = 10000,
	    .max_segment = conf->max_segment,
	};
	struct onyx_tap_result r;
	struct onyx_mgmt *m;
	bool plan = getenv("ONYX_ZK") != NULL && *getenv("ONYX_ZK") != '\0';
	int st;

	if (plan) {
		struct onyx_zk *z;
		/* the ZooKeeper identity of ONYX_ZK_SECRET_FILE, as -z programs */
		if (onyx_zkauth_setup(conf->zk_secret_file, conf->zk_reader,
		        err, sizeof(err)) != ONYX_OK) {
			warnx("%s", err);
			return EX_CONFIG;
		}
		if ((st = onyx_zk_connect(conf->zk, 10000, 5000, &z, err,
		         sizeof(err))) != ONYX_OK) {
			warnx("%s", err);
			return onyx_status_exit(st);
		}
		onyx_zk_set_interrupt(z, &stop);
		st = onyx_tap_find_edge(z, conf->cluster, job, from, to, queue,
		    sizeof(queue), status, sizeof(status), err, sizeof(err));
		onyx_zk_close(z);
		if (st != ONYX_OK && stop)
			return 0;
		if (st != ONYX_OK) {
			warnx("%s", err);
			return st == ONYX_ENOENT ? EX_NOINPUT
			                         : onyx_status_exit(st);
		}
		if (onyx_jobs_final(status)) {
			warnx(
			    "job '%s' has ended (%s): nothing passes on its edge %s -> %s",
			    job, status, from, to);
			return EX_NOINPUT;
		}
	} else if (onyx_names_edge(queue, sizeof(queue), job, from, to) ==
	    NULL) {
		warnx("tap %s %s %s: not a job id and two task names", job,
		    from, to);
		return EX_USAGE;
	}
	if ((st = onyx_mgmt_open(a, &m)) != ONYX_OK && stop)
		return 0;
	if (st != ONYX_OK) {
		warnx("cannot reach the broker's management: %s",
		    onyx_amqp_error(a));
		return onyx_status_exit(st);
	}
	st = onyx_tap_run(a, m, &o, &r, err, sizeof(err));
	onyx_mgmt_close(m);
	if (st != ONYX_OK && stop)
		return 0; /* stopped before the first look */
	if (st == ONYX_ENOENT && plan) {
		warnx(
		    "job '%s' (%s): the queue of its edge %s -> %s, '%s', is not on the broker: the job has not made it yet, or has ended",
		    job, status, from, to, queue);
		return EX_NOINPUT;
	}
	if (st == ONYX_ENOENT) {
		warnx(
		    "no queue '%s' on the broker: job '%s' has no edge %s -> %s, or has not started, or has ended (with ONYX_ZK set, its plan says which)",
		    queue, job, from, to);
		return EX_NOINPUT;
	}
	if (st != ONYX_OK) {
		warnx("%s", err);
		return onyx_status_exit(st);
	}
	if (r.skipped > 0)
		warnx(
		    "%llu message%s or segment%s on '%s' not shown: not segments, or over the maximum segment size",
		    r.skipped, r.skipped == 1 ? "" : "s",
		    r.skipped == 1 ? "" : "s", queue);
	onyx_log(ONYX_LOG_INFO, "shown %llu segments of '%s' in %llu looks",
	    r.shown, queue, r.looks);
	if (r.end == ONYX_TAP_GONE) {
		warnx(
		    "job '%s' ended: the queue of its edge %s -> %s is gone, %llu segment%s shown",
		    job, from, to, r.shown, r.shown == 1 ? "" : "s");
		return count > 0 ? EX_NOINPUT : 0;
	}
	if (r.end == ONYX_TAP_TIMEOUT && count > 0) {
		warnx(
		    "timed out after %ld ms without a new segment on '%s': %llu segments shown, fewer than asked",
		    timeout, queue, r.shown);
		return EX_TEMPFAIL;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	struct onyx_cli cli = {
	    .usage = usage,
	    .common = ONYX_CLI_BROKER | ONYX_CLI_SEGMENT,
	    .shortopts = "b:n:t:w:",
	    .longopts = longopts,
	    .level = ONYX_LOG_WARN,
	};
	struct onyx_conf *conf = &cli.conf;
	struct onyx_amqp *a = NULL;
	char err[1024];
	const char *cmd;
	long batch = 1000, batch_timeout = 100, timeout = -1;
	unsigned long long count = 0;
	bool done = false, until_done = false, keep_done = false, json = false;
	bool packed = false;
	bool seen_b = false, seen_t = false;
	int ch, st, rc = 0;

	onyx_cli_start(&cli, "onyx-queue");
	while ((ch = onyx_cli_getopt(&cli, argc, argv)) != -1) {
		switch (ch) {
		case 'b':
			batch =
			    onyx_cli_long(optarg, "--batch-size", 1, INT_MAX);
			seen_b = true;
			break;
		case 'n':
			count = (unsigned long long)onyx_cli_long(
			    optarg, "--count", 1, INT_MAX);
			break;
		case 't':
			batch_timeout = onyx_cli_long(
			    optarg, "--batch-timeout", 0, INT_MAX);
			seen_t = true;
			break;
		case 'w':
			timeout =
			    onyx_cli_long(optarg, "--timeout", 0, INT_MAX);
			break;
		case OPT_DONE: done = true; break;
		case OPT_PACKED: packed = true; break;
		case OPT_UNTIL_DONE: until_done = true; break;
		case OPT_KEEP_DONE: keep_done = true; break;
		case OPT_JSON: json = true; break;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		onyx_cli_usage_error("no command given");
	cmd = argv[0];
	argc--;
	argv++;
	if (strcmp(cmd, "send") != 0 && strcmp(cmd, "recv") != 0 &&
	    strcmp(cmd, "stat") != 0 && strcmp(cmd, "create") != 0 &&
	    strcmp(cmd, "delete") != 0 && strcmp(cmd, "purge") != 0 &&
	    strcmp(cmd, "tap") != 0) {
		onyx_cli_usage_error("unknown command '%s'", cmd);
	}
	/* Refuse options that mean nothing for the command. */
	if (done && strcmp(cmd, "send") != 0)
		errx(EX_USAGE, "--done only applies to send");
	if (packed && strcmp(cmd, "send") != 0)
		errx(EX_USAGE, "--packed only applies to send");
	if ((until_done || keep_done) && strcmp(cmd, "recv") != 0)
		errx(EX_USAGE,
		    "--until-done and --keep-done only apply to recv");
	if ((count || timeout >= 0) && strcmp(cmd, "recv") != 0 &&
	    strcmp(cmd, "tap") != 0)
		errx(EX_USAGE,
		    "--count and --timeout only apply to recv and tap");
	if (keep_done && !until_done)
		errx(EX_USAGE, "--keep-done needs --until-done");
	if ((seen_b || seen_t) && strcmp(cmd, "send") != 0 &&
	    strcmp(cmd, "recv") != 0)
		errx(EX_USAGE,
		    "--batch-size and --batch-timeout only apply to send and recv");
	if (json && strcmp(cmd, "stat") != 0)
		errx(EX_USAGE, "--json only applies to stat");
	if (strcmp(cmd, "tap") == 0 && argc != 3)
		errx(EX_USAGE,
		    "tap takes a job and the two tasks of an edge (tap JOB FROM TO), not %d argument%s",
		    argc, argc == 1 ? "" : "s");
	if (argc < 1)
		errx(EX_USAGE, "%s: no queue named", cmd);
	if ((strcmp(cmd, "send") == 0 || strcmp(cmd, "recv") == 0) && argc > 1)
		onyx_cli_usage_error("unexpected argument '%s'", argv[1]);
	for (int i = 0; i < argc; i++)
		if (argv[i][0] == '\0' && strcmp(cmd, "tap") == 0)
			errx(EX_USAGE,
			    "tap: the job id or a task name is empty");
		else if (argv[i][0] == '\0')
			errx(EX_USAGE, "the queue name is empty");

	onyx_cli_signals(&stop);

	if ((st = onyx_amqp_connect(conf, 10000, &a, err, sizeof(err))) !=
	    ONYX_OK)
		errx(onyx_status_exit(st), "%s", err);
	onyx_amqp_set_interrupt(a, &stop);

	if (strcmp(cmd, "send") == 0) {
		struct onyx_send_opts o = {
		    .queue = argv[0],
		    .fd = STDIN_FILENO,
		    .name = "stdin",
		    .batch = (int)batch,
		    .batch_timeout_ms = (int)batch_timeout,
		    .done = done,
		    .txn_timeout_ms = 60000,
		    .max_segment = conf->max_segment,
		    .packed = packed,
		};
		struct onyx_send_result r;

		st = onyx_queue_send(a, &o, &r, err, sizeof(err));
		if (st != ONYX_OK && st != ONYX_EINTR) {
			warnx("%s; %llu segment%s sent to '%s' before it%s",
			    err, r.sent, r.sent == 1 ? " was" : "s were",
			    o.queue, st == ONYX_EDATA ? ", none after" : "");
			rc = onyx_status_exit(st);
		} else
			onyx_log(ONYX_LOG_INFO,
			    "sent %llu segments to '%s' in %llu transactions%s",
			    r.sent, o.queue, r.batches,
			    r.sentinel ? ", then the sentinel" : "");
	} else if (strcmp(cmd, "recv") == 0) {
		struct onyx_recv_opts o = {
		    .queue = argv[0],
		    .out = stdout,
		    .batch = (int)batch,
		    .batch_timeout_ms = (int)batch_timeout,
		    .count = count,
		    .until_done = until_done,
		    .keep_done = keep_done,
		    .timeout_ms = (int)timeout,
		    .txn_timeout_ms = 60000,
		    .max_segment = conf->max_segment,
		};
		struct onyx_recv_result r;
		static char obuf[1 << 16];

		setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
		st = onyx_queue_recv(a, &o, &r, err, sizeof(err));
		if (st != ONYX_OK) {
			warnx("%s", err);
			rc = onyx_status_exit(st);
		} else if (r.end == ONYX_RECV_TIMEOUT &&
		    (until_done || count > 0)) {
			warnx(
			    "timed out after %ld ms without a message on '%s': %llu segments received, %s",
			    timeout, o.queue, r.received,
			    until_done ? "no sentinel" : "fewer than asked");
			rc = EX_TEMPFAIL;
		} else if (r.end == ONYX_RECV_DONE && !until_done)
			onyx_log(ONYX_LOG_INFO,
			    "stopped at the sentinel on '%s' (left on the queue)",
			    o.queue);
		onyx_log(ONYX_LOG_INFO, "received %llu segments from '%s'",
		    r.received, o.queue);
	} else if (strcmp(cmd, "tap") == 0) {
		static char obuf[1 << 16];

		setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
		rc = cmd_tap(a, conf, argv, count, timeout);
	} else
		rc = cmd_admin(a, cmd, argv, argc, json);

	onyx_amqp_close(a);
	return onyx_cli_exit(rc);
}
