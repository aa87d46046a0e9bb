/* lib/cli.h: what every command shares: setup, the common flags, numbers, usage errors, the exit path. */
#ifndef ONYX_CLI_H
#define ONYX_CLI_H

/*
 * The one lib/ module that may end the program: for cmd/ alone, and only
 * where the style would have the command exit anyway (a usage error with
 * its message and the usage, exit 64; -h and -V, exit 0; a bad setting in
 * the environment at start, exit 78). Nothing else in lib/ calls it.
 * Adding an option to a program: one line in its longopts table (and its
 * letter in shortopts), one case in its loop, its usage text, man page and
 * completions.
 */

#include <getopt.h>
#include <signal.h>

#include "conf.h"

/*
 * The common flags, each with one meaning in every program that takes it
 * (onyx_cli.common says which do):
 *   -z/--zk hosts, -c/--cluster id, --zk-secret-file file,
 *   --zk-reader id (the identity, lib/zkauth.h: read once
 *   the flags are parsed, exit 78 when it cannot serve)   ONYX_CLI_ZK
 *   -B/--broker url, -u/--user name, --password-file file ONYX_CLI_BROKER
 *   --broker-ca, --broker-cert, --broker-key file, --insecure-plain
 *   -s/--session-timeout ms                               ONYX_CLI_SESSION
 *   --max-segment size                                    ONYX_CLI_SEGMENT
 * and in every program: -v/--verbose (once: info, twice: debug),
 * -h/--help (the synopsis on stdout, exit 0), -V/--version.
 */
#define ONYX_CLI_ZK 0x01
#define ONYX_CLI_BROKER 0x02
#define ONYX_CLI_SESSION 0x04
#define ONYX_CLI_SEGMENT 0x08

/* The one rule for the ZooKeeper session timeout (ms) of every program that
 * takes -s; the server may bound it further (2 to 20 ticks). */
#define ONYX_CLI_SESSION_MIN 1000
#define ONYX_CLI_SESSION_MAX 600000
#define ONYX_CLI_SESSION_DEFAULT 10000

/* A program's own long-only options take values from here up; lib/cli's
 * own long-only options sit above ONYX_CLI_OPT_COMMON. */
#define ONYX_CLI_OPT 256
#define ONYX_CLI_OPT_COMMON 1000

struct onyx_cli {
	/* set by the program */
	const char *usage;     /* synopsis lines, without the common flags */
	unsigned common;       /* ONYX_CLI_* flags it takes */
	const char *shortopts; /* its own letters, getopt(3) form */
	const struct option *longopts; /* its own, {0}-ended; may be NULL */
	int level; /* log threshold without -v: warn or info */
	/* filled by onyx_cli_start and onyx_cli_getopt */
	struct onyx_conf conf; /* defaults, then environment, then flags */
	int session_ms;        /* -s, ONYX_CLI_SESSION_DEFAULT when not given */
	int verbose;           /* how many -v */
};

/*
 * onyx_cli_start: set the program name to prog, the log threshold to
 * c->level (ONYX_LOG, then -v, override it) and the log format from the
 * environment, and load c->conf from the defaults and the environment
 * (defaults only for a program without common settings).
 * Exits 78 with a message naming the variable when one is bad, 70 out of
 * memory: one of the few lib/ functions that exit, for the commands only.
 */
void onyx_cli_start(struct onyx_cli *c, const char *prog);

/*
 * onyx_cli_getopt: the next option of the program's own, as getopt_long(3)
 * returns it (optarg set), or -1 after the last option (optind at the first
 * argument). The common flags are handled here and never returned: -h
 * prints the usage and exits 0, -V prints "prog version" and exits 0, an
 * unknown option or a bad value is a usage error (exit 64). At the end, at
 * debug level (-vv), one line tells the version and settings.
 */
int onyx_cli_getopt(struct onyx_cli *c, int argc, char *argv[]);

/*
 * onyx_cli_long: s, the value of flag (a name such as "--count"), as a
 * whole number in [min, max]. A usage error (exit 64, "flag: 's' is not a
 * whole number from min to max") when it is not.
 */
long onyx_cli_long(const char *s, const char *flag, long min, long max);

/*
 * onyx_cli_args: the arguments left after the options (argv from optind),
 * at most max of them: the first one past max is a usage error (exit 64,
 * "unexpected argument 'x'"). Returns their count.
 */
int onyx_cli_args(int argc, char *argv[], int max);

/* onyx_cli_usage: the usage (on stdout for code 0, else stderr), then exit
 * code (74 when stdout cannot be written, for code 0). */
void onyx_cli_usage(int code) __attribute__((noreturn));

/* onyx_cli_usage_error: warnx(msg), then the usage, exit 64. */
void onyx_cli_usage_error(const char *fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));

/*
 * onyx_cli_exit: the program's exit code: rc, or 74 with a message when
 * stdout cannot be written to the end (rc 0 only: an earlier error wins).
 */
int onyx_cli_exit(int rc);

/*
 * onyx_cli_number: s as a whole decimal number in [min, max] into *out.
 * Returns 0, or -1 (nothing stored) when s is empty, not a number, or out
 * of range.
 */
int onyx_cli_number(const char *s, long min, long max, long *out);

/*
 * onyx_cli_signals: SIGINT and SIGTERM set *flag (so a program stops in
 * order: the flag is checked between batches and in every wait), and
 * SIGPIPE is ignored (a closed output is an error to report, not a death).
 */
void onyx_cli_signals(volatile sig_atomic_t *flag);

/*
 * onyx_cli_set: a flag's value for the setting key of c (onyx_conf_set);
 * a bad value exits with a message naming flag: EX_CONFIG for a password
 * file that cannot be read or is not private, and for a broker URL holding
 * a password; EX_USAGE otherwise.
 */
void onyx_cli_set(
    struct onyx_conf *c, const char *key, const char *flag, const char *v);

/* onyx_cli_level: the log threshold for n times -v over base: 1 info, 2 or
 * more debug, never below base. Pure. */
int onyx_cli_level(int base, int n);

#endif
