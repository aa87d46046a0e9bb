/* lib/cli.c: the commands' shared setup, common flags, numbers, usage errors and exit path. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <bsd/err.h>
#include <bsd/stdlib.h>

#include "cli.h"
#include "conf.h"
#include "log.h"
#include "status.h"
#include "zk.h"
#include "zkauth.h"

#ifndef ONYX_VERSION
#define ONYX_VERSION "0.0.0"
#endif

/*
 * The helpers here that end the program (usage errors, -h, -V, a bad
 * environment at start) exist for cmd/ alone: no other lib/ module calls
 * them, and every other lib/ function returns a status.
 */

enum {
	OPT_PASSWORD_FILE = ONYX_CLI_OPT_COMMON,
	OPT_MAX_SEGMENT,
	OPT_BROKER_CA,
	OPT_BROKER_CERT,
	OPT_BROKER_KEY,
	OPT_INSECURE_PLAIN,
	OPT_ZK_SECRET_FILE,
	OPT_ZK_READER,
};

/* The common flags: which programs take each, its letters and long form. */
static const struct {
	unsigned when; /* 0: every program */
	const char *letters;
	struct option opt;
} common[] = {
    {ONYX_CLI_BROKER, "B:", {"broker", required_argument, NULL, 'B'}},
    {ONYX_CLI_BROKER, "",
        {"broker-ca", required_argument, NULL, OPT_BROKER_CA}},
    {ONYX_CLI_BROKER, "",
        {"broker-cert", required_argument, NULL, OPT_BROKER_CERT}},
    {ONYX_CLI_BROKER, "",
        {"broker-key", required_argument, NULL, OPT_BROKER_KEY}},
    {ONYX_CLI_ZK, "c:", {"cluster", required_argument, NULL, 'c'}},
    {0, "h", {"help", no_argument, NULL, 'h'}},
    {ONYX_CLI_BROKER, "",
        {"insecure-plain", no_argument, NULL, OPT_INSECURE_PLAIN}},
    {ONYX_CLI_SEGMENT, "",
        {"max-segment", required_argument, NULL, OPT_MAX_SEGMENT}},
    {ONYX_CLI_BROKER, "",
        {"password-file", required_argument, NULL, OPT_PASSWORD_FILE}},
    {ONYX_CLI_SESSION, "s:", {"session-timeout", required_argument, NULL, 's'}},
    {ONYX_CLI_BROKER, "u:", {"user", required_argument, NULL, 'u'}},
    {0, "V", {"version", no_argument, NULL, 'V'}},
    {0, "v", {"verbose", no_argument, NULL, 'v'}},
    {ONYX_CLI_ZK, "z:", {"zk", required_argument, NULL, 'z'}},
    {ONYX_CLI_ZK, "", {"zk-reader", required_argument, NULL, OPT_ZK_READER}},
    {ONYX_CLI_ZK, "",
        {"zk-secret-file", required_argument, NULL, OPT_ZK_SECRET_FILE}},
};
#define NCOMMON (sizeof(common) / sizeof(common[0]))

static const char *usage_text = "";
/* the program's options and the common ones, for getopt_long */
static char *all_short;
static struct option *all_long;
static volatile sig_atomic_t *stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	if (stop_flag != NULL)
		*stop_flag = 1;
}

void
onyx_cli_signals(volatile sig_atomic_t *flag)
{
	struct sigaction sa;

	stop_flag = flag;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int
onyx_cli_number(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

void
onyx_cli_set(
    struct onyx_conf *c, const char *key, const char *flag, const char *v)
{
	char err[1024];

	if (onyx_conf_set(c, key, v, err, sizeof(err)) != ONYX_OK)
		errx(strcmp(key, "password-file") == 0 ||
		            (strcmp(key, "broker") == 0 &&
		                onyx_url_has_password(v)) ||
		            strncmp(key, "broker-", 7) == 0
		        ? EX_CONFIG
		        : EX_USAGE,
		    "%s: %s", flag, err);
}

int
onyx_cli_level(int base, int n)
{
	int level = base;

	if (n == 1 && level < ONYX_LOG_INFO)
		level = ONYX_LOG_INFO;
	else if (n >= 2)
		level = ONYX_LOG_DEBUG;
	return level;
}

void
onyx_cli_usage(int code)
{
	fputs(usage_text, code == 0 ? stdout : stderr);
	exit(code == 0 ? onyx_cli_exit(0) : code);
}

void
onyx_cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
	onyx_cli_usage(EX_USAGE);
}

long
onyx_cli_long(const char *s, const char *flag, long min, long max)
{
	long v;

	if (onyx_cli_number(s, min, max, &v) != 0)
		onyx_cli_usage_error(
		    "%s: '%s' is not a whole number from %ld to %ld", flag, s,
		    min, max);
	return v;
}

int
onyx_cli_args(int argc, char *argv[], int max)
{
	int n = argc - optind;

	if (n > max)
		onyx_cli_usage_error(
		    "unexpected argument '%s'", argv[optind + max]);
	return n;
}

void
onyx_cli_start(struct onyx_cli *c, const char *prog)
{
	char err[1024];
	size_t i, n = 0, k = 0, own = 0;

	setprogname(prog);
	usage_text = c->usage;
	onyx_log_set_level(c->level);
	if (onyx_log_init(err, sizeof(err)) != 0)
		errx(EX_CONFIG, "%s", err);
	/* -v counts from here: ONYX_LOG=debug is not lowered by one -v */
	c->level = onyx_log_level();
	onyx_conf_defaults(&c->conf);
	/* a program without settings is not bothered by bad ones */
	if (c->common != 0 &&
	    onyx_conf_from_env(&c->conf, err, sizeof(err)) != ONYX_OK)
		errx(EX_CONFIG, "%s", err);
	c->session_ms = ONYX_CLI_SESSION_DEFAULT;
	c->verbose = 0;
	while (c->longopts != NULL && c->longopts[own].name != NULL)
		own++;
	all_short =
	    malloc(strlen(c->shortopts ? c->shortopts : "") + 3 * NCOMMON + 2);
	all_long = calloc(own + NCOMMON + 1, sizeof(*all_long));
	if (all_short == NULL || all_long == NULL)
		errx(EX_SOFTWARE, "out of memory");
	/* ':' first: a missing value is told apart from an unknown option */
	all_short[n++] = ':';
	for (i = 0; c->shortopts != NULL && c->shortopts[i] != '\0'; i++)
		all_short[n++] = c->shortopts[i];
	for (i = 0; i < NCOMMON; i++) {
		if (common[i].when != 0 && (common[i].when & c->common) == 0)
			continue;
		memcpy(all_short + n, common[i].letters,
		    strlen(common[i].letters));
		n += strlen(common[i].letters);
		all_long[k++] = common[i].opt;
	}
	all_short[n] = '\0';
	for (i = 0; i < own; i++)
		all_long[k++] = c->longopts[i];
	opterr = 0;
}

/* A usage error for the option getopt refused: unknown, or its value
 * missing. Named as given: "--name" (without "=value") or "-x". */
static void __attribute__((noreturn))
bad_option(int argc, char *argv[], int missing)
{
	const char *arg = optind - 1 < argc ? argv[optind - 1] : "";
	char name[128];

	if (strncmp(arg, "--", 2) == 0)
		snprintf(
		    name, sizeof(name), "%.*s", (int)strcspn(arg, "="), arg);
	else
		snprintf(name, sizeof(name), "-%c", optopt);
	if (missing)
		onyx_cli_usage_error("option '%s' needs a value", name);
	onyx_cli_usage_error("unknown option '%s'", name);
}

/* The ZooKeeper identity of a program that talks to ZooKeeper, once the
 * flags are read (a flag's file wins over the environment's): exit 78
 * naming the file when it cannot serve. */
static void
zk_identity(const struct onyx_cli *c)
{
	char err[4500];

	if ((c->common & ONYX_CLI_ZK) == 0)
		return;
	if (onyx_zkauth_setup(c->conf.zk_secret_file, c->conf.zk_reader, err,
	        sizeof(err)) != ONYX_OK)
		errx(EX_CONFIG, "%s", err);
}

/* At debug level, what the program runs with once the flags are read:
 * "onyx-peer 0.1.0; zk h:2181, cluster c, with an identity (or: open
 * ACLs); broker amqp://h:5672; session timeout 10000 ms" (the settings it
 * takes, the password never). */
static void
log_settings(const struct onyx_cli *c)
{
	char line[1536], broker[512];
	size_t n;

	if (onyx_log_level() < ONYX_LOG_DEBUG)
		return;
	n = (size_t)snprintf(
	    line, sizeof(line), "%s %s", getprogname(), ONYX_VERSION);
	if ((c->common & ONYX_CLI_ZK) != 0 && n < sizeof(line))
		n += (size_t)snprintf(line + n, sizeof(line) - n,
		    "; zk %s, cluster %s, %s", c->conf.zk, c->conf.cluster,
		    onyx_zk_has_identity() ? "with an identity" : "open ACLs");
	if ((c->common & ONYX_CLI_BROKER) != 0 && n < sizeof(line)) {
		onyx_url_redact(c->conf.broker, broker, sizeof(broker));
		n += (size_t)snprintf(
		    line + n, sizeof(line) - n, "; broker %s", broker);
	}
	if ((c->common & ONYX_CLI_SESSION) != 0 && n < sizeof(line))
		snprintf(line + n, sizeof(line) - n, "; session timeout %d ms",
		    c->session_ms);
	onyx_log(ONYX_LOG_DEBUG, "%s", line);
}

int
onyx_cli_getopt(struct onyx_cli *c, int argc, char *argv[])
{
	int ch;

	for (;;) {
		ch = getopt_long(argc, argv, all_short, all_long, NULL);
		switch (ch) {
		case 'B':
			onyx_cli_set(&c->conf, "broker", "--broker", optarg);
			break;
		case 'c':
			onyx_cli_set(&c->conf, "cluster", "--cluster", optarg);
			break;
		case 'h': onyx_cli_usage(0);
		case 's':
			c->session_ms =
			    (int)onyx_cli_long(optarg, "--session-timeout",
			        ONYX_CLI_SESSION_MIN, ONYX_CLI_SESSION_MAX);
			break;
		case 'u':
			onyx_cli_set(&c->conf, "user", "--user", optarg);
			break;
		case 'V':
			printf("%s %s\n", getprogname(), ONYX_VERSION);
			exit(onyx_cli_exit(0));
		case 'v':
			c->verbose++;
			onyx_log_set_level(
			    onyx_cli_level(c->level, c->verbose));
			break;
		case 'z': onyx_cli_set(&c->conf, "zk", "--zk", optarg); break;
		case OPT_MAX_SEGMENT:
			onyx_cli_set(
			    &c->conf, "max-segment", "--max-segment", optarg);
			break;
		case OPT_BROKER_CA:
			onyx_cli_set(
			    &c->conf, "broker-ca", "--broker-ca", optarg);
			break;
		case OPT_BROKER_CERT:
			onyx_cli_set(
			    &c->conf, "broker-cert", "--broker-cert", optarg);
			break;
		case OPT_BROKER_KEY:
			onyx_cli_set(
			    &c->conf, "broker-key", "--broker-key", optarg);
			break;
		case OPT_INSECURE_PLAIN: c->conf.insecure_plain = 1; break;
		case OPT_ZK_READER:
			onyx_cli_set(
			    &c->conf, "zk-reader", "--zk-reader", optarg);
			break;
		case OPT_ZK_SECRET_FILE:
			onyx_cli_set(&c->conf, "zk-secret-file",
			    "--zk-secret-file", optarg);
			break;
		case OPT_PASSWORD_FILE:
			onyx_cli_set(&c->conf, "password-file",
			    "--password-file", optarg);
			break;
		case ':': bad_option(argc, argv, 1);
		case '?': bad_option(argc, argv, 0);
		case -1:
			zk_identity(c);
			log_settings(c);
			return -1;
		default: return ch;
		}
	}
}

int
onyx_cli_exit(int rc)
{
	if (fclose(stdout) != 0 && rc == 0) {
		warn("stdout");
		rc = EX_IOERR;
	}
	return rc;
}
