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

static volatile sig_atomic_t stop;

static const char usage[] =
    "usage: onyx-coord [-v] [-B url] [-c cluster] [-H ended-jobs] [-o offer-timeout-ms]\n"
    "                  [-s session-ms] [-u user] [-z zk] [--metrics host:port]\n"
    "                  [--password-file file] [--broker-ca file]\n"
    "                  [--broker-cert file] [--broker-key file] [--insecure-plain]\n"
    "                  [--zk-reader id] [--zk-secret-file file]\n"
    "       onyx-coord -h | --help | -V | --version\n";

enum {
	OPT_METRICS = ONYX_CLI_OPT,
};

static const struct option longopts[] = {
    {"history", required_argument, NULL, 'H'},
    {"metrics", required_argument, NULL, OPT_METRICS},
    {"offer-timeout", required_argument, NULL, 'o'},
    {NULL, 0, NULL, 0},
};

int
main(int argc, char *argv[])
{
	struct onyx_cli cli = {
	    .usage = usage,
	    .common = ONYX_CLI_ZK | ONYX_CLI_BROKER | ONYX_CLI_SESSION,
	    .shortopts = "H:o:",
	    .longopts = longopts,
	    /* decisions are the point of this program's log: info by default */
	    .level = ONYX_LOG_INFO,
	};
	struct onyx_conf *conf = &cli.conf;
	struct onyx_coord_opts o = {0};
	struct onyx_coord *c;
	struct onyx_coordbroker *broker = NULL;
	struct onyx_metrics_http *mh;
	struct onyx_zk *z;
	char err[1024], host[256], id[400];
	const char *history = getenv("ONYX_HISTORY");
	int ch, st, session;

	onyx_cli_start(&cli, "onyx-coord");
	o.offer_timeout_ms = 10000;
	o.history = ONYX_COORD_HISTORY;
	if (history != NULL && *history != '\0')
		o.history =
		    (int)onyx_cli_long(history, "ONYX_HISTORY", 0, INT_MAX);
	while ((ch = onyx_cli_getopt(&cli, argc, argv)) != -1) {
		switch (ch) {
		case 'H':
			o.history =
			    (int)onyx_cli_long(optarg, "--history", 0, INT_MAX);
			break;
		case 'o':
			o.offer_timeout_ms = (int)onyx_cli_long(
			    optarg, "--offer-timeout", 1, INT_MAX);
			break;
		case OPT_METRICS:
			onyx_cli_set(&cli.conf, "metrics", "--metrics", optarg);
			break;
		}
	}
	onyx_cli_args(argc, argv, 0);
	session = cli.session_ms;
	onyx_cli_signals(&stop);
	if ((st = onyx_metrics_http_open(
	         &cli.conf, &o.metrics, &mh, err, sizeof(err))) != ONYX_OK)
		errx(onyx_status_exit(st), "%s", err);
	gethostname(host, sizeof(host));
	host[sizeof(host) - 1] = '\0';
	snprintf(id, sizeof(id), "%s-%ld", host, (long)getpid());
	o.cluster = conf->cluster;
	o.id = id;
	/* fencing and cleanup go through the broker, when one is set */
	if (conf->broker[0] != '\0') {
		if ((broker = onyx_coordbroker_new(conf, &stop)) == NULL)
			errx(EX_SOFTWARE, "out of memory");
		o.ops.ctx = broker;
		o.ops.fence = onyx_coordbroker_fence;
		o.ops.clean = onyx_coordbroker_clean;
	}
	if ((st = onyx_zk_connect(conf->zk, (int)session, 10000, &z, err,
	         sizeof(err))) != ONYX_OK)
		errx(onyx_status_exit(st), "%s", err);
	onyx_log(ONYX_LOG_INFO, "coordinator %s on cluster %s, ZooKeeper %s",
	    id, conf->cluster, conf->zk);
	for (;;) {
		if ((st = onyx_cluster_init(
		         z, conf->cluster, err, sizeof(err))) != ONYX_OK)
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
		    "the ZooKeeper session expired: no longer leader; joining the election again in a new session");
		while (!stop &&
		    (st = onyx_zk_connect(conf->zk, (int)session, 10000, &z,
		         err, sizeof(err))) != ONYX_OK) {
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
	return onyx_cli_exit(0);
}
