/* tests/tools/zkput.c: read and write znodes at $ONYX_ZK from shell tests: create, set, get, delete, ls, tree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <bsd/err.h>
#include <bsd/stdlib.h>

#include "../../lib/status.h"
#include "../../lib/zk.h"
#include "../../lib/zkauth.h"

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr,
	    "usage: zkput create|set PATH [DATA]\n"
	    "       zkput get|delete|ls|tree PATH\n");
	exit(EX_USAGE);
}

/* The parent folders of path, created when missing. */
static int
parents(struct onyx_zk *z, const char *path, char *err, size_t errlen)
{
	char p[1024];
	char *slash;

	snprintf(p, sizeof(p), "%s", path);
	if ((slash = strrchr(p, '/')) == NULL || slash == p)
		return ONYX_OK;
	*slash = '\0';
	return onyx_zk_ensure_path(z, p, err, errlen);
}

/* Print path and every node below it, one path a line, parents first. */
static int
tree(struct onyx_zk *z, const char *path, char *err, size_t errlen)
{
	char **names, child[2048];
	int st, n, i;

	if ((st = onyx_zk_children(z, path, &names, &n, err, errlen)) !=
	    ONYX_OK)
		return st;
	printf("%s\n", path);
	for (i = 0; i < n && st == ONYX_OK; i++) {
		snprintf(child, sizeof(child), "%s/%s",
		    strcmp(path, "/") == 0 ? "" : path, names[i]);
		st = tree(z, child, err, errlen);
		/* gone while we walked: not an error */
		if (st == ONYX_ENOENT)
			st = ONYX_OK;
	}
	onyx_zk_free_names(names);
	return st;
}

/*
 * Exit codes: 0; 1 when the node does not exist (get, delete, ls) or
 * exists already (create); otherwise the status's sysexits code.
 */
int
main(int argc, char *argv[])
{
	const char *zk = getenv("ONYX_ZK"), *cmd, *path, *data;
	struct onyx_zk *z;
	char err[1024], *buf, **names;
	int st, len, n, i;

	setprogname("zkput");
	if (argc < 3 || argc > 4)
		usage();
	cmd = argv[1];
	path = argv[2];
	data = argc == 4 ? argv[3] : NULL;
	if (zk == NULL)
		errx(EX_CONFIG, "ONYX_ZK is not set");
	/* the identity of the sandbox (ONYX_ZK_SECRET_FILE), as the programs */
	if (onyx_zkauth_setup(getenv("ONYX_ZK_SECRET_FILE"),
	        getenv("ONYX_ZK_READER"), err, sizeof(err)) != ONYX_OK)
		errx(EX_CONFIG, "%s", err);
	if ((st = onyx_zk_connect(zk, 10000, 10000, &z, err, sizeof(err))) !=
	    ONYX_OK)
		errx(onyx_status_exit(st), "%s", err);
	if (strcmp(cmd, "create") == 0) {
		st = parents(z, path, err, sizeof(err));
		if (st == ONYX_OK)
			st = onyx_zk_create(z, path, data,
			    data ? (int)strlen(data) : 0, 0, NULL, 0, err,
			    sizeof(err));
	} else if (strcmp(cmd, "set") == 0 && data != NULL)
		st = onyx_zk_set(
		    z, path, data, (int)strlen(data), -1, err, sizeof(err));
	else if (strcmp(cmd, "get") == 0 && data == NULL) {
		if ((st = onyx_zk_get(z, path, &buf, &len, NULL, err,
		         sizeof(err))) == ONYX_OK) {
			printf("%s\n", buf);
			free(buf);
		}
	} else if (strcmp(cmd, "delete") == 0 && data == NULL)
		st = onyx_zk_delete(z, path, -1, err, sizeof(err));
	else if (strcmp(cmd, "ls") == 0 && data == NULL) {
		if ((st = onyx_zk_children(
		         z, path, &names, &n, err, sizeof(err))) == ONYX_OK) {
			for (i = 0; i < n; i++)
				printf("%s\n", names[i]);
			onyx_zk_free_names(names);
		}
	} else if (strcmp(cmd, "tree") == 0 && data == NULL)
		st = tree(z, path, err, sizeof(err));
	else {
		onyx_zk_close(z);
		usage();
	}
	onyx_zk_close(z);
	if (st != ONYX_OK) {
		warnx("%s", err);
		return st == ONYX_ENOENT || st == ONYX_EEXIST
		    ? 1
		    : onyx_status_exit(st);
	}
	return fclose(stdout) == 0 ? 0 : EX_IOERR;
}
