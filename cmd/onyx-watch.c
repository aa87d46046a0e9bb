/* cmd/onyx-watch.c: show the state of a cluster (peers, jobs, tasks) from ZooKeeper, once or following changes. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <bsd/err.h>
#include <bsd/stdlib.h>
#include <jansson.h>

#include "../lib/cli.h"
#include "../lib/clock.h"
#include "../lib/conf.h"
#include "../lib/log.h"
#include "../lib/progress.h"
#include "../lib/status.h"
#include "../lib/watch.h"
#include "../lib/zk.h"

static volatile sig_atomic_t stop;

static const char usage[] =
    "usage: onyx-watch [--json] [-f | --follow] [-n count] [--timeout ms]\n"
    "       onyx-watch tree\n"
    "common: [-v] [-B url] [-u user] [--password-file file]\n"
    "        [-z hosts] [-c cluster] [--zk-secret-file file] [--zk-reader id]\n"
    "        [-h | --help] [-V | --version]\n";

enum {
	OPT_JSON = ONYX_CLI_OPT,
	OPT_TIMEOUT,
};

/* Passes closer than this wait: a burst of changes is one refresh. */
#define MIN_PASS_MS 200

static const struct option longopts[] = {
    {"count", required_argument, NULL, 'n'},
    {"follow", no_argument, NULL, 'f'},
    {"json", no_argument, NULL, OPT_JSON},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {NULL, 0, NULL, 0},
};

/* A JSON scalar as text for the table ("-" for null or missing). */
static const char *
cell(const json_t *v, char *buf, size_t len)
{
	char *s;

	if (v == NULL || json_is_null(v))
		return "-";
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	snprintf(buf, len, "%s", s ? s : "?");
	free(s);
	return buf;
}

/* The state as a table, for a terminal. */
static void
print_table(const json_t *state)
{
	const json_t *leader = json_object_get(state, "leader");
	static const char *pk[] = {"id", "host", "pid", "state", "job", "task"};
	static const char *tk[] = {
	    "name", "phase", "status", "read", "written", "dead", "peers"};
	const char *c[7];
	char b[7][256];
	json_t *p, *j, *t;
	size_t i, k, n;

	printf("cluster %s, leader %s\n",
	    json_string_value(json_object_get(state, "cluster")),
	    cell(json_object_get(leader, "id"), b[0], sizeof(b[0])));
	printf("\n%-24s %-20s %8s %-8s %-24s %s\n", "PEER", "HOST", "PID",
	    "STATE", "JOB", "TASK");
	json_array_foreach(json_object_get(state, "peers"), i, p)
	{
		for (n = 0; n < 6; n++)
			c[n] =
			    cell(json_object_get(p, pk[n]), b[n], sizeof(b[n]));
		printf("%-24s %-20s %8s %-8s %-24s %s\n", c[0], c[1], c[2],
		    c[3], c[4], c[5]);
	}
	json_array_foreach(json_object_get(state, "jobs"), i, j)
	{
		const json_t *why = json_object_get(j, "why");

		printf("\nJOB %s  %s",
		    json_string_value(json_object_get(j, "job")),
		    json_string_value(json_object_get(j, "status")));
		if (json_is_string(why))
			printf("  (%s)", json_string_value(why));
		printf("\n  %-24s %5s %-10s %12s %12s %8s %s\n", "TASK",
		    "PHASE", "STATUS", "READ", "WRITTEN", "DEAD", "PEERS");
		json_array_foreach(json_object_get(j, "tasks"), k, t)
		{
			for (n = 0; n < 7; n++)
				c[n] = cell(json_object_get(t, tk[n]), b[n],
				    sizeof(b[n]));
			printf("  %-24s %5s %-10s %12s %12s %8s %s\n", c[0],
			    c[1], c[2], c[3], c[4], c[5], c[6]);
			if (json_integer_value(json_object_get(t, "dead")) > 0)
				printf("  %-24s dead letters in %s\n", "",
				    json_string_value(
				        json_object_get(t, "dead-letter")));
		}
	}
}

static int
cmd_tree(struct onyx_zk *z, const char *cluster)
{
	json_t *arr, *v;
	char err[1024];
	size_t i;
	int st;

	if ((st = onyx_watch_tree(z, cluster, &arr, err, sizeof(err))) !=
	    ONYX_OK) {
		warnx("%s", err);
		return onyx_status_exit(st);
	}
	json_array_foreach(arr, i, v)
	{
		json_dumpf(v, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		putchar('\n');
	}
	json_decref(arr);
	return 0;
}

/*
 * show: print the state when it differs from *last other than by time
 * alone (onyx_watch_live_key): a table or a compact line; *last takes the
 * new key. Returns whether it printed.
 */
static bool
show(json_t *state, bool table, char **last)
{
	char *key = onyx_watch_live_key(state), *text;

	if (key == NULL)
		errx(EX_SOFTWARE, "out of memory");
	if (*last != NULL && strcmp(key, *last) == 0) {
		free(key);
		return false;
	}
	if (table) {
		if (*last != NULL)
			printf("\n");
		print_table(state);
	} else {
		text = json_dumps(state, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (text == NULL)
			errx(EX_SOFTWARE, "out of memory");
		printf("%s\n", text);
		free(text);
	}
	fflush(stdout);
	free(*last);
	*last = key;
	return true;
}

static bool live_screen;

/* The terminal as it was: the cursor shown again, below the table. */
static void
restore_screen(void)
{
	if (live_screen)
		fputs("\033[?25h", stdout);
	live_screen = false;
}

/*
 * redraw: the live view of state in place on the terminal (cursor home,
 * each line erased to its end, the rest of the screen erased), cut to
 * the terminal's size.
 */
static void
redraw(const json_t *state)
{
	struct winsize ws = {0};
	char clock[16], *text, *p;
	time_t now = time(NULL);
	struct tm tm;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0)
		ws.ws_col = ws.ws_row = 0;
	strftime(clock, sizeof(clock), "%H:%M:%S", localtime_r(&now, &tm));
	/* one row short: the last newline must not scroll the screen */
	text = onyx_progress_table(
	    state, clock, ws.ws_col, ws.ws_row > 1 ? ws.ws_row - 1 : 0);
	if (text == NULL)
		errx(EX_SOFTWARE, "out of memory");
	if (!live_screen) {
		live_screen = true;
		atexit(restore_screen);
		fputs("\033[?25l\033[2J", stdout);
	}
	fputs("\033[H", stdout);
	for (p = text; *p != '\0'; p = strchr(p, '\n') + 1)
		printf("%.*s\033[K\n", (int)strcspn(p, "\n"), p);
	fputs("\033[J", stdout);
	fflush(stdout);
	free(text);
}

int
main(int argc, char *argv[])
{
	struct onyx_cli cli = {
	    .usage = usage,
	    .common = ONYX_CLI_ZK | ONYX_CLI_BROKER,
	    .shortopts = "fn:",
	    .longopts = longopts,
	    .level = ONYX_LOG_WARN,
	};
	struct onyx_conf *conf = &cli.conf;
	struct onyx_watch_live *lv = NULL;
	struct onyx_zk *z;
	struct pollfd pfd;
	char err[1024], *last = NULL;
	json_t *state;
	long count = 0, timeout = -1, shown = 0;
	long long deadline = -1, pass_at;
	bool json = false, follow = false, table, said = false;
	int ch, st, rc = 0;

	onyx_cli_start(&cli, "onyx-watch");
	while ((ch = onyx_cli_getopt(&cli, argc, argv)) != -1) {
		switch (ch) {
		case 'f': follow = true; break;
		case 'n':
			count = onyx_cli_long(optarg, "--count", 1, INT_MAX);
			break;
		case OPT_JSON: json = true; break;
		case OPT_TIMEOUT:
			timeout =
			    onyx_cli_long(optarg, "--timeout", 0, INT_MAX);
			break;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc >= 1 && strcmp(argv[0], "tree") != 0)
		onyx_cli_usage_error("unknown command '%s'", argv[0]);
	if (argc > 1)
		onyx_cli_usage_error("unexpected argument '%s'", argv[1]);
	if (argc == 1 && (follow || count > 0 || timeout >= 0))
		errx(EX_USAGE, "tree takes no -f, -n or --timeout");
	if ((count > 0 || timeout >= 0) && !follow)
		errx(EX_USAGE, "-n and --timeout need -f");
	table = !json && isatty(STDOUT_FILENO);

	onyx_cli_signals(&stop);

	if ((st = onyx_zk_connect(
	         conf->zk, 10000, 5000, &z, err, sizeof(err))) != ONYX_OK)
		errx(onyx_status_exit(st), "%s", err);
	onyx_zk_set_retry(z, 10000);

	if (argc == 1) {
		rc = cmd_tree(z, conf->cluster);
		goto out;
	}
	if (timeout >= 0)
		deadline = onyx_mono_ms() + timeout;
	if (follow && (lv = onyx_watch_live_new(conf, &stop)) == NULL)
		errx(EX_SOFTWARE, "out of memory");
	for (;;) {
		/* drain, then read with watches: no change slips between */
		onyx_zk_drain(z);
		pass_at = onyx_mono_ms();
		if ((st = onyx_watch_state(z, conf->cluster, follow, &state,
		         err, sizeof(err))) != ONYX_OK) {
			warnx("%s", err);
			rc = onyx_status_exit(st);
			break;
		}
		if (lv != NULL) {
			onyx_watch_live_add(lv, state, onyx_mono_ms());
			/* said once: the backlog shows "-" meanwhile */
			if (onyx_watch_live_error(lv) != NULL && !said &&
			    !table)
				warnx("no backlog: %s",
				    onyx_watch_live_error(lv));
			said = said || onyx_watch_live_error(lv) != NULL;
		}
		if (table && follow) {
			char *key = onyx_watch_live_key(state);

			if (key == NULL)
				errx(EX_SOFTWARE, "out of memory");
			if (last == NULL || strcmp(key, last) != 0)
				shown++;
			free(last);
			last = key;
			redraw(state);
		} else if (show(state, table, &last))
			shown++;
		json_decref(state);
		if (ferror(stdout) || !follow || (count > 0 && shown >= count))
			break;
		for (;;) {
			int wait_ms = 1000 - (int)(onyx_mono_ms() - pass_at);

			if (stop)
				goto out;
			if (deadline >= 0) {
				long long left = deadline - onyx_mono_ms();

				if (left <= 0) {
					if (count > 0) {
						warnx(
						    "timed out after %ld ms with %ld of %ld states",
						    timeout, shown, count);
						rc = EX_TEMPFAIL;
					}
					goto out;
				}
				if (left < wait_ms)
					wait_ms = (int)left;
			}
			if (lv != NULL && wait_ms <= 0)
				break; /* the live fields: once a second */
			if (wait_ms < 0)
				wait_ms = 1000;
			pfd.fd = onyx_zk_wake_fd(z);
			pfd.events = POLLIN;
			if (poll(&pfd, 1, wait_ms) > 0) {
				long long gap =
				    MIN_PASS_MS - (onyx_mono_ms() - pass_at);

				if (gap > 0)
					poll(NULL, 0, (int)gap);
				break;
			}
			if (onyx_zk_expired(z)) {
				warnx("the ZooKeeper session at %s expired",
				    conf->zk);
				rc = EX_TEMPFAIL;
				goto out;
			}
		}
	}
out:
	restore_screen();
	onyx_watch_live_free(lv);
	free(last);
	onyx_zk_close(z);
	return onyx_cli_exit(rc);
}
