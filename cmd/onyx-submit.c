/* cmd/onyx-submit.c: submit a plan to the cluster, wait for its job, kill or list jobs. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sysexits.h>
#include <unistd.h>

#include <bsd/err.h>
#include <bsd/stdlib.h>
#include <jansson.h>

#include "../lib/cli.h"
#include "../lib/amqp.h"
#include "../lib/buf.h"
#include "../lib/cluster.h"
#include "../lib/conf.h"
#include "../lib/jobs.h"
#include "../lib/log.h"
#include "../lib/mgmt.h"
#include "../lib/status.h"
#include "../lib/watch.h"
#include "../lib/zk.h"

static volatile sig_atomic_t stop;

static const char usage[] =
    "usage: onyx-submit [-w | --wait] [--timeout ms] [file]\n"
    "       onyx-submit --wait --job job [--timeout ms]\n"
    "       onyx-submit --kill job\n"
    "       onyx-submit --list\n"
    "common: [-v] [-B url] [-u user] [--password-file file]\n"
    "        [--broker-ca file] [--broker-cert file] [--broker-key file]\n"
    "        [--insecure-plain]\n"
    "        [-z hosts] [-c cluster] [--zk-secret-file file] [--zk-reader id]\n"
    "        [-h | --help] [-V | --version]\n";

enum {
	OPT_JOB = ONYX_CLI_OPT,
	OPT_KILL,
	OPT_LIST,
	OPT_TIMEOUT,
};

static const struct option longopts[] = {
    {"job", required_argument, NULL, OPT_JOB},
    {"kill", required_argument, NULL, OPT_KILL},
    {"list", no_argument, NULL, OPT_LIST},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"wait", no_argument, NULL, 'w'},
    {NULL, 0, NULL, 0},
};

/* read_plan: the JSON plan in source (a file name, or NULL for stdin). */
static json_t *
read_plan(const char *source)
{
	const char *name = source ? source : "stdin";
	FILE *in = stdin;
	json_error_t je;
	json_t *plan;
	char msg[512];

	if (source != NULL && (in = fopen(source, "r")) == NULL)
		err(EX_NOINPUT, "%s", source);
	plan = json_loadf(in, 0, &je);
	if (ferror(in))
		err(EX_IOERR, "%s", name);
	if (in != stdin)
		fclose(in);
	if (plan == NULL)
		errx(EX_DATAERR, "%s:%d:%d: not JSON: %s", name, je.line,
		    je.column, je.text);
	if (onyx_jobs_check_plan(plan, msg, sizeof(msg)) != ONYX_OK)
		errx(EX_DATAERR, "%s: %s", name, msg);
	return plan;
}

static struct onyx_zk *
zk_open(const struct onyx_conf *c)
{
	struct onyx_zk *z;
	char err[1024];
	int st;

	if ((st = onyx_zk_connect(c->zk, 10000, 5000, &z, err, sizeof(err))) !=
	    ONYX_OK)
		errx(onyx_status_exit(st), "%s", err);
	onyx_zk_set_retry(z, 10000);
	return z;
}

/* create_queues: every queue of plan's job on the broker, or exit 69 (77
 * when the broker refuses the login or its certificate, 78 on a bad setting). */
static void
create_queues(const struct onyx_conf *c, const json_t *plan)
{
	struct onyx_amqp *a;
	struct onyx_mgmt *m;
	char err[1024], q[512] = "";
	int st, n;

	if ((st = onyx_amqp_connect(c, 10000, &a, err, sizeof(err))) != ONYX_OK)
		errx(onyx_status_exit(st), "%s", err);
	/* SIGTERM ends a wait on the broker too */
	onyx_amqp_set_interrupt(a, &stop);
	if ((st = onyx_mgmt_open(a, &m)) != ONYX_OK)
		errx(EX_UNAVAILABLE, "cannot reach the broker's management: %s",
		    onyx_amqp_error(a));
	st = onyx_jobs_create_queues(
	    m, plan, &n, q, sizeof(q), err, sizeof(err));
	onyx_mgmt_close(m);
	onyx_amqp_close(a);
	if (st != ONYX_OK)
		errx(EX_UNAVAILABLE, "cannot create queue '%s': %s", q, err);
	onyx_log(ONYX_LOG_INFO, "%d queues ready", n);
}

/* What the progress line of a wait needs. */
struct progress {
	struct onyx_zk *z;
	const char *cluster, *job;
	struct onyx_watch_live *lv;
	bool shown;
};

/* show_progress: the progress line of the job, redrawn in place on stderr. */
static void
show_progress(void *ctx, const json_t *rec)
{
	struct progress *pr = ctx;
	struct winsize ws = {0};
	char err[1024], line[1024];

	(void)rec;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) != 0)
		ws.ws_col = 0;
	/* a column short: a full line would wrap before the \r */
	if (onyx_watch_live_progress(pr->lv, pr->z, pr->cluster, pr->job,
	        ws.ws_col - 1, line, sizeof(line), err, sizeof(err)) != ONYX_OK)
		return; /* the wait reports ZooKeeper's errors */
	fprintf(stderr, "\r%s\033[K", line);
	fflush(stderr);
	pr->shown = true;
}

/*
 * wait_job: wait for the end of job, with a progress line on stderr when
 * it is a terminal; returns the exit code.
 */
static int
wait_job(struct onyx_zk *z, const struct onyx_conf *conf, const char *job,
    long timeout)
{
	struct progress pr = {z, conf->cluster, job, NULL, false};
	char err[1024];
	json_t *rec = NULL;
	const char *s, *reason;
	int st, rc;

	if (isatty(STDERR_FILENO) &&
	    (pr.lv = onyx_watch_live_new(conf, &stop)) == NULL)
		errx(EX_SOFTWARE, "out of memory");
	st = onyx_jobs_wait_tick(z, conf->cluster, job, (int)timeout, &stop,
	    pr.lv ? show_progress : NULL, &pr, &rec, err, sizeof(err));
	onyx_watch_live_free(pr.lv);
	if (pr.shown)
		fputc('\n', stderr); /* the last line stays */
	s = json_string_value(json_object_get(rec, "status"));
	reason = json_string_value(json_object_get(rec, "reason"));
	if (s == NULL)
		s = "unknown";
	if (st == ONYX_OK && strcmp(s, "completed") == 0)
		rc = 0;
	else if (st == ONYX_OK && strcmp(s, "failed") == 0) {
		warnx("job %s failed: %s", job,
		    reason ? reason : "no reason given");
		rc = EX_SOFTWARE;
	} else if (st == ONYX_OK) {
		warnx("job %s was killed%s%s", job, reason ? ": " : "",
		    reason ? reason : "");
		rc = EX_TEMPFAIL;
	} else if (st == ONYX_ETIMEDOUT) {
		warnx("job %s: still %s after %ld ms", job, s, timeout);
		rc = EX_TEMPFAIL;
	} else if (st == ONYX_EINTR) {
		warnx("stopped waiting for job %s (still %s); it keeps running",
		    job, s);
		rc = EX_TEMPFAIL;
	} else if (st == ONYX_ENOENT && rec != NULL) {
		/* seen before, gone now: pruned from the coordinator's history
		 * (onyx-coord --history) before its end could be read */
		warnx(
		    "job %s ended and was pruned from the history before its end could be read (onyx-coord --history)",
		    job);
		rc = EX_TEMPFAIL;
	} else if (st == ONYX_ENOENT) {
		warnx("%s", err);
		rc = EX_NOINPUT;
	} else {
		warnx("%s", err);
		rc = onyx_status_exit(st);
	}
	json_decref(rec);
	return rc;
}

static int
cmd_list(struct onyx_zk *z, const char *cluster)
{
	json_t *jobs, *j;
	char err[1024];
	size_t i;
	int st;

	if ((st = onyx_jobs_list(z, cluster, &jobs, err, sizeof(err))) !=
	    ONYX_OK) {
		warnx("%s", err);
		return onyx_status_exit(st);
	}
	json_array_foreach(jobs, i, j)
	{
		json_dumpf(j, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		putchar('\n');
	}
	json_decref(jobs);
	return 0;
}

static int
cmd_kill(struct onyx_zk *z, const char *cluster, const char *job)
{
	char err[1024], status[64];
	int st;

	st = onyx_jobs_kill(z, cluster, job, "killed by onyx-submit", status,
	    sizeof(status), err, sizeof(err));
	switch (st) {
	case ONYX_OK: return 0;
	case ONYX_ENOENT: warnx("no job %s", job); return EX_NOINPUT;
	case ONYX_EDATA:
		warnx("job %s has ended already: %s", job, status);
		return EX_DATAERR;
	default: warnx("%s", err); return onyx_status_exit(st);
	}
}

int
main(int argc, char *argv[])
{
	struct onyx_cli cli = {
	    .usage = usage,
	    .common = ONYX_CLI_ZK | ONYX_CLI_BROKER,
	    .shortopts = "w",
	    .longopts = longopts,
	    .level = ONYX_LOG_WARN,
	};
	struct onyx_conf *conf = &cli.conf;
	struct onyx_zk *z;
	const char *kill_job = NULL, *wait_for = NULL, *job;
	char err[1024], status[64];
	json_t *plan, *rec = NULL;
	long timeout = -1;
	bool list = false, wait = false;
	int ch, st, rc = 0;

	onyx_cli_start(&cli, "onyx-submit");
	while ((ch = onyx_cli_getopt(&cli, argc, argv)) != -1) {
		switch (ch) {
		case 'w': wait = true; break;
		case OPT_JOB: wait_for = optarg; break;
		case OPT_KILL: kill_job = optarg; break;
		case OPT_LIST: list = true; break;
		case OPT_TIMEOUT:
			timeout =
			    onyx_cli_long(optarg, "--timeout", 0, INT_MAX);
			break;
		}
	}
	argc -= optind;
	argv += optind;
	/* The modes exclude each other. */
	if (kill_job != NULL && list)
		errx(EX_USAGE, "--kill and --list exclude each other");
	if ((kill_job != NULL || list) && (wait || timeout >= 0))
		errx(EX_USAGE, "--wait and --timeout only apply to a submit");
	if ((kill_job != NULL || list) && argc > 0)
		errx(EX_USAGE, "--%s takes no file", list ? "list" : "kill");
	if (timeout >= 0 && !wait)
		errx(EX_USAGE, "--timeout needs --wait");
	if (wait_for != NULL && !wait)
		errx(EX_USAGE, "--job needs --wait");
	if (wait_for != NULL && argc > 0)
		errx(EX_USAGE,
		    "--job waits for a submitted job: it takes no file");
	if (argc > 1)
		onyx_cli_usage_error("unexpected argument '%s'", argv[1]);

	onyx_cli_signals(&stop);

	if (wait_for != NULL) {
		z = zk_open(conf);
		rc = wait_job(z, conf, wait_for, timeout);
		onyx_zk_close(z);
		goto out;
	}
	if (list || kill_job != NULL) {
		z = zk_open(conf);
		rc = list ? cmd_list(z, conf->cluster)
		          : cmd_kill(z, conf->cluster, kill_job);
		onyx_zk_close(z);
		goto out;
	}

	plan =
	    read_plan(argc == 1 && strcmp(argv[0], "-") != 0 ? argv[0] : NULL);
	job = json_string_value(json_object_get(plan, "job"));
	z = zk_open(conf);
	/* Refuse a known job before touching the broker. */
	if (onyx_jobs_status(z, conf->cluster, job, false, &rec, err,
	        sizeof(err)) != ONYX_ENOENT) {
		const char *s =
		    json_string_value(json_object_get(rec, "status"));

		warnx("job %s was already submitted (status %s)", job,
		    s ? s : "unknown");
		json_decref(rec);
		rc = EX_DATAERR;
		goto done;
	}
	create_queues(conf, plan);
	st = onyx_jobs_submit(
	    z, conf->cluster, plan, status, sizeof(status), err, sizeof(err));
	if (st == ONYX_EEXIST) {
		warnx("job %s was already submitted (status %s)", job, status);
		rc = EX_DATAERR;
	} else if (st != ONYX_OK) {
		warnx("%s", err);
		rc = onyx_status_exit(st);
	} else {
		printf("%s\n", job);
		fflush(stdout);
		if (wait)
			rc = wait_job(z, conf, job, timeout);
	}
done:
	onyx_zk_close(z);
	json_decref(plan);
out:
	return onyx_cli_exit(rc);
}
