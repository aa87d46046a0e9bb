/* lib/cli.c: option numbers and orderly signal handling for the commands. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <bsd/err.h>

#include "cli.h"
#include "conf.h"
#include "status.h"

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
		errx(strcmp(key, "password-file") == 0 ? EX_CONFIG : EX_USAGE,
		    "%s: %s", flag, err);
}
