/* tests/tools/zkset.c: set the data of a znode ($ONYX_ZK), creating it and its parents if missing: zkset PATH DATA. */
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

#include <bsd/err.h>
#include <string.h>

#include "../../lib/status.h"
#include "../../lib/zk.h"
#include "../../lib/zkauth.h"

int
main(int argc, char *argv[])
{
	const char *hosts = getenv("ONYX_ZK");
	struct onyx_zk *z;
	char err[512];
	int st;

	if (argc != 3 || hosts == NULL) {
		fprintf(stderr, "usage: ONYX_ZK=hosts zkset path data\n");
		return 64;
	}
	/* the identity of the sandbox (ONYX_ZK_SECRET_FILE), as the programs */
	if (onyx_zkauth_setup(getenv("ONYX_ZK_SECRET_FILE"),
	        getenv("ONYX_ZK_READER"), err, sizeof(err)) != ONYX_OK)
		errx(EX_CONFIG, "%s", err);
	if (onyx_zk_connect(hosts, 10000, 10000, &z, err, sizeof(err)) !=
	    ONYX_OK) {
		fprintf(stderr, "zkset: %s\n", err);
		return 69;
	}
	st = onyx_zk_set(
	    z, argv[1], argv[2], (int)strlen(argv[2]), -1, err, sizeof(err));
	if (st == ONYX_ENOENT) {
		char parent[1024], *slash;

		snprintf(parent, sizeof(parent), "%s", argv[1]);
		if ((slash = strrchr(parent, '/')) != NULL && slash != parent)
			*slash = '\0';
		st = onyx_zk_ensure_path(z, parent, err, sizeof(err));
		if (st == ONYX_OK)
			st = onyx_zk_create(z, argv[1], argv[2],
			    (int)strlen(argv[2]), 0, NULL, 0, err, sizeof(err));
	}
	if (st != ONYX_OK)
		fprintf(stderr, "zkset: %s\n", err);
	onyx_zk_close(z);
	return st == ONYX_OK ? 0 : onyx_status_exit(st);
}
