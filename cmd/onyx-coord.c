/* cmd/onyx-coord.c: the coordinator daemon: elect a leader, then reconcile the cluster on every change. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <bsd/err.h>
#include <bsd/stdlib.h>

#include "../lib/cli.h"
#include "../lib/cluster.h"
#include "../lib/conf.h"
#include "../lib/coord.h"
#include "../lib/coordbroker.h"
#include "../lib/log.h"
#include "../lib/metricshttp.h"
#include "../lib/status.h"
#include "../lib/zk.h"

#ifndef ONYX_VERSION
#define ONYX_VERSION "0.0.0"
#endif

static volatile sig_atomic_t stop;

static void __attribute__((noreturn)) usage(int code)
{
	fprintf(code == 0 ? stdout : stderr,
	    "usage: onyx-coord [-v] [-B url] [-c cluster] [-H ended-jobs] "
	    "[-o offer-timeout-ms]\n"
	    "                  [-s session-ms] [-u user] [-z zk] "
	    "[--metrics host:port]\n"
	    "                  [--password-file file]\n"
	    "       onyx-coord -h | --help | -V | --version\n");
	exit(code);
}

static long
number(const char *s, const char *what, long min)
{
	long v;

	if (onyx_cli_number(s, min, INT_MAX, &v) != 0) {
		warnx("%s: '%s' is not a whole number >= %ld", what, s, min);
		usage(EX_USAGE);
	}
	return v;
}

enum {
	OPT_PASSWORD_FILE = 256,
	OPT_METRICS,
};

static const struct option longopts[] = {
    {"broker", required_argument, NULL, 'B'},
    {"cluster", required_argument, NULL, 'c'},
    {"help", no_argument, NULL, 'h'},
    {"history", required_argument, NULL, 'H'},
    {"metrics", required_argument, NULL, OPT_METRICS},
    {"offer-timeout", required_argument, NULL, 'o'},
    {"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
    {"session-timeout", required_argument, NULL, 's'},
    {"user", required_argument, NULL, 'u'},
    {"verbose", no_argument, NULL, 'v'},
    {"version", no_argument, NULL, 'V'},
    {"zk", required_argument, NULL, 'z'},
    {NULL, 0, NULL, 0},
};

int
main(int argc, char *argv[])
{
	struct onyx_conf conf;
	struct onyx_coord_opts o = {0};
	struct onyx_coord *c;
	struct onyx_coordbroker *broker = NULL;
	struct onyx_metrics_http *mh;
	struct onyx_zk *z;
	char err[1024], host[256], id[400];
	long session = 10000;
	int ch, st;

	setprogname("onyx-coord");
	/* decisions are the point of this program's log: info by default */
	onyx_log_set_level(ONYX_LOG_INFO);
	onyx_log_init();
	onyx_conf_defaults(&conf);
	if (onyx_conf_from_env(&conf, err, sizeof(err)) != ONYX_OK)
		errx(EX_CONFIG, "%s", err);
	o.offer_timeout_ms = 10000;
	o.history = ONYX_COORD_HISTORY;
	if (getenv("ONYX_HISTORY") != NULL && *getenv("ONYX_HISTORY") != '\0')
		o.history =
		    (int)number(getenv("ONYX_HISTORY"), "ONYX_HISTORY", 0);
	while ((ch = getopt_long(
	            argc, argv, "B:c:H:ho:s:u:Vvz:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'B':
			onyx_cli_set(&conf, "broker", "--broker", optarg);
			break;
		case 'c':
			onyx_cli_set(&conf, "cluster", "--cluster", optarg);
			break;
		case 'H':
			o.history = (int)number(optarg, "--history", 0);
			break;
		case 'h': usage(0);
		case 'o':
			o.offer_timeout_ms =
			    (int)number(optarg, "--offer-timeout", 1);
			break;
		case 's':
			session = number(optarg, "--session-timeout", 1000);
			break;
		case 'u': onyx_cli_set(&conf, "user", "--user", optarg); break;
		case 'V': printf("onyx-coord %s\n", ONYX_VERSION); return 0;
		case 'v': onyx_log_set_level(ONYX_LOG_DEBUG); break;
		case 'z': onyx_cli_set(&conf, "zk", "--zk", optarg); break;
		case OPT_METRICS:
			onyx_cli_set(&conf, "metrics", "--metrics", optarg);
			break;
		case OPT_PASSWORD_FILE:
			onyx_cli_set(
			    &conf, "password-file", "--password-file", optarg);
			break;
		default: usage(EX_USAGE);
		}
	}
	if (optind != argc)
		usage(EX_USAGE);
	onyx_cli_signals(&stop);
	if ((st = onyx_metrics_http_open(
	         &conf, &o.metrics, &mh, err, sizeof(err))) != ONYX_OK)
		errx(onyx_status_exit(st), "%s", err);
	gethostname(host, sizeof(host));
	host[sizeof(host) - 1] = '\0';
	snprintf(id, sizeof(id), "%s-%ld", host, (long)getpid());
	o.cluster = conf.cluster;
	o.id = id;
	/* fencing and cleanup go through the broker, when one is set */
	if (conf.broker[0] != '\0') {
		if ((broker = onyx_coordbroker_new(&conf, &stop)) == NULL)
			errx(EX_SOFTWARE, "out of memory");
		o.ops.ctx = broker;
		o.ops.fence = onyx_coordbroker_fence;
		o.ops.clean = onyx_coordbroker_clean;
	}
	if ((st = onyx_zk_connect(conf.zk, (int)session, 10000, &z, err,
	         sizeof(err))) != ONYX_OK)
		errx(onyx_status_exit(st), "%s", err);
	onyx_log(ONYX_LOG_INFO, "coordinator %s on cluster %s, ZooKeeper %s",
	    id, conf.cluster, conf.zk);
	for (;;) {
		if ((st = onyx_cluster_init(
		         z, conf.cluster, err, sizeof(err))) != ONYX_OK)
			errx(onyx_status_exit(st), "%s", err);
		if ((c = onyx_coord_new(z, &o)) == NULL)
			errx(EX_SOFTWARE, "out of memory");
		st = onyx_coord_elect(c, &stop, err, sizeof(err));
		while (st == ONYX_OK && !stop) {
			struct pollfd p = {
			    .fd = onyx_zk_wake_fd(z), .events = POLLIN};
			st = onyx_coord_step(c, err, sizeof(err));
			if (st == ONYX_EUNAVAIL) {
				/* the session may outlive the outage: go on */
				onyx_log(ONYX_LOG_WARN,
				    "ZooKeeper unreachable, retrying: %s", err);
				st = ONYX_OK;
			} else if (st != ONYX_OK)
				break;
			/* changes wake us; the timer catches offers that
			 * time out */
			poll(&p, 1, 500);
		}
		onyx_coord_free(c);
		onyx_zk_close(z);
		if (st != ONYX_EEXPIRED || stop)
			break;
		/* our ephemeral nodes are gone: a standby may lead already */
		onyx_log(ONYX_LOG_WARN,
		    "the ZooKeeper session expired: no longer leader; joining "
		    "the election again in a new session");
		while (!stop &&
		    (st = onyx_zk_connect(conf.zk, (int)session, 10000, &z, err,
		         sizeof(err))) != ONYX_OK) {
			onyx_log(ONYX_LOG_WARN, "reconnecting: %s", err);
			sleep(1);
		}
		if (stop) {
			st = ONYX_EINTR;
			break;
		}
		onyx_log(ONYX_LOG_INFO, "recovered: a new ZooKeeper session");
	}
	if (st != ONYX_OK && st != ONYX_EINTR)
		errx(onyx_status_exit(st), "%s", err);
	onyx_coordbroker_free(broker);
	onyx_metrics_http_close(o.metrics, mh);
	onyx_log(ONYX_LOG_INFO, "stopped");
	return 0;
}
