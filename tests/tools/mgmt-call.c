/* tests/tools/mgmt-call.c: one Artemis management request ($ONYX_BROKER), its answer as JSON on stdout: mgmt-call RESOURCE -a ATTRIBUTE | -o OPERATION [PARAMS]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../lib/amqp.h"
#include "../../lib/conf.h"
#include "../../lib/mgmt.h"
#include "../../lib/status.h"

int
main(int argc, char *argv[])
{
	struct onyx_conf c;
	struct onyx_amqp *a;
	struct onyx_mgmt *m;
	json_t *r;
	char err[1024], *text;
	int st;

	if ((argc != 4 && argc != 5) ||
	    (strcmp(argv[2], "-a") != 0 && strcmp(argv[2], "-o") != 0)) {
		fprintf(stderr,
		    "usage: mgmt-call resource -a attribute | -o "
		    "operation [params]\n");
		return 64;
	}
	onyx_conf_defaults(&c);
	if ((st = onyx_conf_from_env(&c, err, sizeof(err))) != ONYX_OK ||
	    (st = onyx_amqp_connect(&c, 10000, &a, err, sizeof(err))) !=
	        ONYX_OK) {
		fprintf(stderr, "mgmt-call: %s\n", err);
		return onyx_status_exit(st);
	}
	if ((st = onyx_mgmt_open(a, &m)) != ONYX_OK) {
		fprintf(stderr, "mgmt-call: %s\n", onyx_amqp_error(a));
		onyx_amqp_close(a);
		return onyx_status_exit(st);
	}
	st = onyx_mgmt_call(m, argv[1], argv[2][1] == 'a' ? argv[3] : NULL,
	    argv[2][1] == 'o' ? argv[3] : NULL, argc == 5 ? argv[4] : "[]", &r,
	    err, sizeof(err));
	if (st == ONYX_OK) {
		text = json_dumps(r, JSON_COMPACT | JSON_ENCODE_ANY);
		printf("%s\n", text ? text : "null");
		free(text);
		json_decref(r);
	} else
		fprintf(stderr, "mgmt-call: %s\n", err);
	onyx_mgmt_close(m);
	onyx_amqp_close(a);
	return onyx_status_exit(st);
}
