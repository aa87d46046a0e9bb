/* cmd/onyx-peer.c: host N virtual peers that take task offers from ZooKeeper and run them. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <bsd/err.h>

#include "../lib/admit.h"
#include "../lib/cli.h"
#include "../lib/conf.h"
#include "../lib/log.h"
#include "../lib/metricshttp.h"
#include "../lib/peer.h"
#include "../lib/status.h"

static volatile sig_atomic_t stop;

static const char usage[] =
    "usage: onyx-peer [-v] [-B url] [-c cluster] [-F fnpath] [-n peers]\n"
    "                 [-s session-ms] [-u user] [-z zk]\n"
    "                 [--exec-allow file] [--max-segment size]\n"
    "                 [--metrics host:port] [--password-file file]\n"
    "                 [--broker-ca file] [--broker-cert file] [--broker-key file]\n"
    "                 [--insecure-plain]\n"
    "                 [--zk-reader id] [--zk-secret-file file]\n"
    "       onyx-peer -h | --help\n"
    "       onyx-peer -V | --version\n";

enum {
	OPT_METRICS = ONYX_CLI_OPT,
	OPT_EXEC_ALLOW,
};

static const struct option longopts[] = {
    {"exec-allow", required_argument, NULL, OPT_EXEC_ALLOW},
    {"fn-path", required_argument, NULL, 'F'},
    {"metrics", required_argument, NULL, OPT_METRICS},
    {"peers", required_argument, NULL, 'n'},
    {NULL, 0, NULL, 0},
};

int
main(int argc, char *argv[])
{
	struct onyx_cli cli = {
	    .usage = usage,
	    .common = ONYX_CLI_ZK | ONYX_CLI_BROKER | ONYX_CLI_SESSION |
	        ONYX_CLI_SEGMENT,
	    .shortopts = "F:n:",
	    .longopts = longopts,
	    .level = ONYX_LOG_WARN,
	};
	struct onyx_peer_opts o;
	struct onyx_peers *ps;
	struct onyx_admit *allow = NULL;
	const char *allowfile = getenv("ONYX_EXEC_ALLOW");
	struct onyx_metrics_http *mh;
	char err[1024];
	int ch, st;

	onyx_cli_start(&cli, "onyx-peer");
	memset(&o, 0, sizeof(o));
	o.conf = &cli.conf;
	o.fnpath = getenv("ONYX_FN_PATH");
	o.npeers = 1;
	o.connect_ms = 10000;
	while ((ch = onyx_cli_getopt(&cli, argc, argv)) != -1) {
		switch (ch) {
		case 'F': o.fnpath = optarg; break;
		case 'n':
			o.npeers =
			    (int)onyx_cli_long(optarg, "--peers", 1, 1024);
			break;
		case OPT_EXEC_ALLOW: allowfile = optarg; break;
		case OPT_METRICS:
			onyx_cli_set(&cli.conf, "metrics", "--metrics", optarg);
			break;
		}
	}
	onyx_cli_args(argc, argv, 0);
	o.session_ms = cli.session_ms;
	/* wait for the services at start no longer than a session lasts */
	if (o.session_ms < o.connect_ms)
		o.connect_ms = o.session_ms;

	if (allowfile != NULL && *allowfile != '\0') {
		if ((st = onyx_admit_load(
		         allowfile, &allow, err, sizeof(err))) != ONYX_OK)
			errx(onyx_status_exit(st), "%s", err);
		o.allow = allow;
		onyx_log(ONYX_LOG_INFO, "programs allowed by %s", allowfile);
	} else
		onyx_log(ONYX_LOG_INFO,
		    "no exec allow-list (--exec-allow, ONYX_EXEC_ALLOW): no program (onyx/exec) runs");

	onyx_cli_signals(&stop);
	if ((st = onyx_metrics_http_open(
	         &cli.conf, &o.metrics, &mh, err, sizeof(err))) != ONYX_OK)
		errx(onyx_status_exit(st), "%s", err);

	if ((st = onyx_peer_start(&o, &ps, err, sizeof(err))) != ONYX_OK)
		errx(onyx_status_exit(st), "%s", err);
	onyx_log(ONYX_LOG_INFO, "%d peer%s up in cluster '%s'", o.npeers,
	    o.npeers == 1 ? "" : "s", cli.conf.cluster);
	st = onyx_peer_run(ps, &stop, err, sizeof(err));
	onyx_peer_close(ps);
	onyx_admit_free(allow);
	onyx_metrics_http_close(o.metrics, mh);
	if (st == ONYX_EEXPIRED)
		errx(EX_TEMPFAIL, "%s", err);
	if (st != ONYX_OK)
		errx(onyx_status_exit(st), "%s", err);
	onyx_log(ONYX_LOG_INFO, "stopped");
	return onyx_cli_exit(0);
}
