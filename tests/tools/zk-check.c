/* tests/tools/zk-check.c: lib/zk against a real ZooKeeper ($ONYX_ZK); prints TAP. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <bsd/err.h>

#include <zookeeper/zookeeper.h>

#include "../../lib/status.h"
#include "../../lib/zk.h"
#include "../../lib/zkauth.h"

static int n, failed;

static void
check(int cond, const char *what)
{
	n++;
	printf("%sok %d - %s\n", cond ? "" : "not ", n, what);
	if (!cond)
		failed = 1;
}

int
main(void)
{
	const char *hosts = getenv("ONYX_ZK");
	struct onyx_zk *z, *z2;
	char err[512], root[128], path[256], created[256], *data;
	char **names;
	int len, version, count, st;
	time_t t0;

	if (hosts == NULL) {
		printf("1..0 # ONYX_ZK is not set\n");
		return 1;
	}
	printf("1..17\n");
	/* the identity of the sandbox (ONYX_ZK_SECRET_FILE), as the programs */
	if (onyx_zkauth_setup(getenv("ONYX_ZK_SECRET_FILE"),
	        getenv("ONYX_ZK_READER"), err, sizeof(err)) != ONYX_OK)
		errx(EX_CONFIG, "%s", err);
	st = onyx_zk_connect(hosts, 10000, 10000, &z, err, sizeof(err));
	check(st == ONYX_OK, "connects to the real server");
	if (st != ONYX_OK) {
		printf("# %s\n", err);
		return 1;
	}
	snprintf(root, sizeof(root), "/onyx-zk-check-%ld/a/b", (long)getpid());
	check(onyx_zk_ensure_path(z, root, err, sizeof(err)) == ONYX_OK &&
	        onyx_zk_ensure_path(z, root, err, sizeof(err)) == ONYX_OK,
	    "ensure_path creates parents and is idempotent");
	snprintf(path, sizeof(path), "%s/node", root);
	check(onyx_zk_create(z, path, "v1", 2, 0, created, sizeof(created), err,
	          sizeof(err)) == ONYX_OK &&
	        strcmp(created, path) == 0,
	    "create returns the path");
	check(onyx_zk_create(z, path, "v1", 2, 0, NULL, 0, err, sizeof(err)) ==
	            ONYX_EEXIST &&
	        strstr(err, path) != NULL,
	    "a second create is EEXIST naming the path");
	st = onyx_zk_get(z, path, &data, &len, &version, err, sizeof(err));
	check(st == ONYX_OK && len == 2 && strcmp(data, "v1") == 0 &&
	        version == 0,
	    "get returns data and version");
	free(data);
	check(onyx_zk_set(z, path, "v2", 2, 0, err, sizeof(err)) == ONYX_OK,
	    "set with the right version");
	check(
	    onyx_zk_set(z, path, "v3", 2, 0, err, sizeof(err)) == ONYX_EVERSION,
	    "set with a stale version is EVERSION");
	snprintf(created, sizeof(created), "%s/seq-", root);
	check(onyx_zk_create(z, created, NULL, 0, ZOO_EPHEMERAL_SEQUENTIAL,
	          created, sizeof(created), err, sizeof(err)) == ONYX_OK &&
	        strstr(created, "/seq-0000000") != NULL,
	    "ephemeral sequential create gets a suffix");
	st = onyx_zk_children(z, root, &names, &count, err, sizeof(err));
	check(st == ONYX_OK && count == 2 && strcmp(names[0], "node") == 0 &&
	        strncmp(names[1], "seq-", 4) == 0 && names[2] == NULL,
	    "children are sorted and counted");
	onyx_zk_free_names(names);
	check(onyx_zk_delete(z, root, -1, err, sizeof(err)) == ONYX_ENOTEMPTY,
	    "deleting a parent is ENOTEMPTY");
	check(onyx_zk_delete(z, path, -1, err, sizeof(err)) == ONYX_OK &&
	        onyx_zk_exists(z, path, err, sizeof(err)) == ONYX_ENOENT,
	    "delete, then exists is ENOENT");
	check(onyx_zk_get(z, path, &data, &len, NULL, err, sizeof(err)) ==
	            ONYX_ENOENT &&
	        strstr(err, "get") && strstr(err, path),
	    "get of a missing node is ENOENT naming the path");
	/* ephemeral nodes go with their session */
	st = onyx_zk_connect(hosts, 10000, 10000, &z2, err, sizeof(err));
	snprintf(path, sizeof(path), "%s/eph", root);
	check(st == ONYX_OK &&
	        onyx_zk_create(z2, path, "x", 1, ZOO_EPHEMERAL, NULL, 0, err,
	            sizeof(err)) == ONYX_OK &&
	        onyx_zk_session_id(z2) != 0,
	    "a second session creates an ephemeral node");
	onyx_zk_close(z2);
	check(onyx_zk_exists(z, path, err, sizeof(err)) == ONYX_ENOENT,
	    "closing the session removes its ephemeral node");
	check(!onyx_zk_expired(z), "the first session is not expired");
	/* an unreachable server is reported, and promptly */
	t0 = time(NULL);
	st = onyx_zk_connect("127.0.0.1:1", 4000, 1500, &z2, err, sizeof(err));
	check(st == ONYX_EUNAVAIL && strstr(err, "127.0.0.1:1") != NULL,
	    "an unreachable server is EUNAVAIL naming it");
	check(time(NULL) - t0 <= 5, "within the connect timeout");
	/* clean up */
	onyx_zk_children(z, root, &names, &count, err, sizeof(err));
	for (int i = 0; i < count; i++) {
		snprintf(path, sizeof(path), "%s/%s", root, names[i]);
		onyx_zk_delete(z, path, -1, err, sizeof(err));
	}
	onyx_zk_free_names(names);
	onyx_zk_delete(z, root, -1, err, sizeof(err));
	onyx_zk_close(z);
	return failed;
}
