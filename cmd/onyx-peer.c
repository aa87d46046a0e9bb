/* cmd/onyx-peer.c: host N virtual peers that take task offers from ZooKeeper and run them. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <bsd/err.h>
#include <bsd/stdlib.h>

#include "../lib/cli.h"
#include "../lib/conf.h"
#include "../lib/log.h"
#include "../lib/metricshttp.h"
#include "../lib/peer.h"
#include "../lib/status.h"

#ifndef ONYX_VERSION
#define ONYX_VERSION "0.0.0"
#endif

static volatile sig_atomic_t stop;

static void __attribute__((noreturn)) usage(int code)
{
	FILE *f = code == 0 ? stdout : stderr;

	fprintf(f,
	    "usage: onyx-peer [-v] [-B url] [-c cluster] [-F fnpath] [-n "
	    "peers]\n"
	    "                 [-s session-ms] [-u user] [-z zk]\n"
	    "                 [--max-segment size] [--metrics host:port]\n"
	    "                 [--password-file file]\n"
	    "       onyx-peer -h | --help\n"
	    "       onyx-peer -V | --version\n");
	exit(code);
}

static int
number(const char *s, const char *what, long min, long max)
{
	long v;

	if (onyx_cli_number(s, min, max, &v) != 0) {
		warnx("%s: '%s' is not a whole number from %ld to %ld", what, s,
		    min, max);
		usage(EX_USAGE);
	}
	return (int)v;
}

enum {
	OPT_PASSWORD_FILE = 256,
	OPT_MAX_SEGMENT,
	OPT_METRICS,
};

static const struct option longopts[] = {
    {"broker", required_argument, NULL, 'B'},
    {"cluster", required_argument, NULL, 'c'},
    {"fn-path", required_argument, NULL, 'F'},
    {"help", no_argument, NULL, 'h'},
    {"max-segment", required_argument, NULL, OPT_MAX_SEGMENT},
    {"metrics", required_argument, NULL, OPT_METRICS},
    {"peers", required_argument, NULL, 'n'},
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
	struct onyx_peer_opts o;
	struct onyx_peers *ps;
	struct onyx_metrics_http *mh;
	char err[1024];
	int ch, st;

	setprogname("onyx-peer");
	onyx_log_init();
	onyx_conf_defaults(&conf);
	if (onyx_conf_from_env(&conf, err, sizeof(err)) != ONYX_OK)
		errx(EX_CONFIG, "%s", err);
	memset(&o, 0, sizeof(o));
	o.conf = &conf;
	o.fnpath = getenv("ONYX_FN_PATH");
	o.npeers = 1;
	o.session_ms = 10000;
	o.connect_ms = 10000;
	while ((ch = getopt_long(
	            argc, argv, "B:c:F:hn:s:u:Vvz:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'B':
			onyx_cli_set(&conf, "broker", "--broker", optarg);
			break;
		case 'c':
			onyx_cli_set(&conf, "cluster", "--cluster", optarg);
			break;
		case 'F': o.fnpath = optarg; break;
		case 'h': usage(0);
		case 'n': o.npeers = number(optarg, "--peers", 1, 1024); break;
		case 's':
			o.session_ms =
			    number(optarg, "--session-timeout", 1, INT_MAX);
			break;
		case 'u': onyx_cli_set(&conf, "user", "--user", optarg); break;
		case 'V': printf("onyx-peer %s\n", ONYX_VERSION); return 0;
		case 'v': onyx_log_set_level(ONYX_LOG_INFO); break;
		case 'z': onyx_cli_set(&conf, "zk", "--zk", optarg); break;
		case OPT_MAX_SEGMENT:
			onyx_cli_set(
			    &conf, "max-segment", "--max-segment", optarg);
			break;
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
	/* wait for the services at start no longer than a session lasts */
	if (o.session_ms < o.connect_ms)
		o.connect_ms = o.session_ms;
	if (optind < argc) {
		warnx("unexpected argument '%s'", argv[optind]);
		usage(EX_USAGE);
	}

	onyx_cli_signals(&stop);
	if ((st = onyx_metrics_http_open(
	         &conf, &o.metrics, &mh, err, sizeof(err))) != ONYX_OK)
		errx(onyx_status_exit(st), "%s", err);

	if ((st = onyx_peer_start(&o, &ps, err, sizeof(err))) != ONYX_OK)
		errx(onyx_status_exit(st), "%s", err);
	onyx_log(ONYX_LOG_INFO, "%d peer%s up in cluster '%s'", o.npeers,
	    o.npeers == 1 ? "" : "s", conf.cluster);
	st = onyx_peer_run(ps, &stop, err, sizeof(err));
	onyx_peer_close(ps);
	onyx_metrics_http_close(o.metrics, mh);
	if (st == ONYX_EEXPIRED)
		errx(EX_TEMPFAIL, "%s", err);
	if (st != ONYX_OK)
		errx(onyx_status_exit(st), "%s", err);
	onyx_log(ONYX_LOG_INFO, "stopped");
	return 0;
}
