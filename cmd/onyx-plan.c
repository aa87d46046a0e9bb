/* cmd/onyx-plan.c: check a job document and print its plan as one line of JSON. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <bsd/err.h>
#include <bsd/stdlib.h>
#include <jansson.h>

#include "../lib/buf.h"
#include "../lib/cli.h"
#include "../lib/log.h"
#include "../lib/plan.h"
#include "../lib/status.h"

static const char usage[] = "usage: onyx-plan [-v] [--check] [file]\n"
                            "       onyx-plan -h | --help\n"
                            "       onyx-plan -V | --version\n";

enum {
	OPT_CHECK = ONYX_CLI_OPT,
};

static const struct option longopts[] = {
    {"check", no_argument, NULL, OPT_CHECK},
    {NULL, 0, NULL, 0},
};

/* slurp: all of f into b. Returns 0, or -1 with errno set. */
static int
slurp(FILE *f, struct onyx_buf *b)
{
	size_t n;

	for (;;) {
		if (onyx_buf_reserve(b, 1 << 16) != 0) {
			errno = ENOMEM;
			return -1;
		}
		n = fread(b->p + b->len, 1, b->cap - b->len, f);
		b->len += n;
		if (ferror(f))
			return -1;
		if (n == 0 && feof(f))
			return 0;
	}
}

int
main(int argc, char *argv[])
{
	struct onyx_plan_problems probs = {0};
	struct onyx_buf text = {0};
	const char *source = "stdin";
	char line[2048];
	json_t *plan;
	bool check = false;
	FILE *in = stdin;
	size_t i;
	struct onyx_cli cli = {
	    .usage = usage,
	    .longopts = longopts,
	    .level = ONYX_LOG_WARN,
	};
	int ch, st, rc = 0;

	onyx_cli_start(&cli, "onyx-plan");
	while ((ch = onyx_cli_getopt(&cli, argc, argv)) != -1) {
		switch (ch) {
		case OPT_CHECK: check = true; break;
		}
	}
	argc = onyx_cli_args(argc, argv, 1);
	argv += optind;
	if (argc == 1 && strcmp(argv[0], "-") != 0) {
		source = argv[0];
		if ((in = fopen(source, "r")) == NULL)
			err(EX_NOINPUT, "%s", source);
	}

	if (slurp(in, &text) != 0)
		err(EX_IOERR, "%s", source);
	if (in != stdin)
		fclose(in);
	st = onyx_plan_build(text.p, text.len, &plan, &probs);
	onyx_buf_free(&text);
	/* every problem, so that one run fixes the whole document */
	for (i = 0; i < probs.n; i++)
		warnx("%s",
		    onyx_plan_problem_str(
		        &probs.v[i], source, line, sizeof(line)));
	onyx_plan_problems_free(&probs);
	if (st != ONYX_OK) {
		if (st != ONYX_EDATA)
			warnx("%s: %s", source, onyx_status_str(st));
		rc = onyx_status_exit(st);
	} else if (!check) {
		json_dumpf(plan, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		putchar('\n');
	}
	json_decref(plan);

	return onyx_cli_exit(rc);
}
