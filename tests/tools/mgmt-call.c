/* tests/tools/mgmt-call.c: read one Artemis management attribute (or call an operation) and print the answer as JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <bsd/err.h>
#include <bsd/stdlib.h>

#include "../../lib/amqp.h"
#include "../../lib/conf.h"
#include "../../lib/mgmt.h"
#include "../../lib/status.h"

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr,
	    "usage: mgmt-call RESOURCE ATTRIBUTE\n"
	    "       mgmt-call RESOURCE OPERATION PARAMS-JSON-ARRAY\n");
	exit(EX_USAGE);
}

/*
 * mgmt-call broker queueNames          -> ["q1","q2",...]
 * mgmt-call queue.NAME messageCount    -> 12
 * The broker comes from the environment, as for every program.
 */
int
main(int argc, char *argv[])
{
	struct onyx_conf c;
	struct onyx_amqp *a;
	struct onyx_mgmt *m;
	json_t *result = NULL;
	char msg[1024], *text;
	int st;

	setprogname("mgmt-call");
	if (argc != 3 && argc != 4)
		usage();
	onyx_conf_defaults(&c);
	if (onyx_conf_from_env(&c, msg, sizeof(msg)) != ONYX_OK)
		errx(EX_CONFIG, "%s", msg);
	if ((st = onyx_amqp_connect(&c, 10000, &a, msg, sizeof(msg))) !=
	    ONYX_OK)
		errx(onyx_status_exit(st), "%s", msg);
	if (onyx_mgmt_open(a, &m) != ONYX_OK)
		errx(EX_UNAVAILABLE, "management: %s", onyx_amqp_error(a));
	st = onyx_mgmt_call(m, argv[1], argc == 3 ? argv[2] : NULL,
	    argc == 4 ? argv[2] : NULL, argc == 4 ? argv[3] : "[]", &result,
	    msg, sizeof(msg));
	onyx_mgmt_close(m);
	onyx_amqp_close(a);
	if (st != ONYX_OK)
		errx(onyx_status_exit(st), "%s %s: %s", argv[1], argv[2], msg);
	text = json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(result);
	if (text == NULL)
		errx(EX_SOFTWARE, "out of memory");
	printf("%s\n", text);
	free(text);
	if (fclose(stdout) != 0)
		err(EX_IOERR, "stdout");
	return 0;
}
