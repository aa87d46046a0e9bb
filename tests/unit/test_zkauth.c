/* tests/unit/test_zkauth.c: ZooKeeper digest ids against ZooKeeper's own, ACL id checks, secret files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../lib/conf.h"
#include "../../lib/status.h"
#include "../../lib/zk.h"
#include "../../lib/zkauth.h"

/*
 * The vectors come from ZooKeeper 3.8's own computation:
 * the class org.apache.zookeeper.server.auth.DigestAuthenticationProvider
 * run as a program (java, with every jar of /usr/share/java on the class
 * path) on the arguments user:pass onyx:s3cr:et.
 */
static void
digest_vectors(void **state)
{
	char *id, err[256];

	(void)state;
	assert_int_equal(
	    onyx_zkauth_digest("user:pass", &id, err, sizeof(err)), ONYX_OK);
	assert_string_equal(id, "user:smGaoVKd/cQkjm7b88GyorAUz20=");
	free(id);
	/* the password runs to the end, ':' and all */
	assert_int_equal(
	    onyx_zkauth_digest("onyx:s3cr:et", &id, err, sizeof(err)), ONYX_OK);
	assert_string_equal(id, "onyx:+i/+fOeQnx4Iu83ybHWYIqon90s=");
	assert_int_equal(onyx_zkauth_check_id(id, err, sizeof(err)), ONYX_OK);
	free(id);
}

static void
digest_refuses(void **state)
{
	char *id = (char *)1, err[256];

	(void)state;
	assert_int_equal(
	    onyx_zkauth_digest("nocolon", &id, err, sizeof(err)), ONYX_ECONFIG);
	assert_null(id);
	assert_string_equal(err,
	    "a ZooKeeper secret is user:password, with a user name before the first ':'");
	assert_int_equal(
	    onyx_zkauth_digest(":pw", &id, err, sizeof(err)), ONYX_ECONFIG);
	assert_int_equal(
	    onyx_zkauth_digest("u:p\nq", &id, err, sizeof(err)), ONYX_ECONFIG);
	/* an empty password is a password */
	assert_int_equal(
	    onyx_zkauth_digest("u:", &id, err, sizeof(err)), ONYX_OK);
	free(id);
}

static void
check_id(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(
	    onyx_zkauth_check_id(
	        "user:smGaoVKd/cQkjm7b88GyorAUz20=", err, sizeof(err)),
	    ONYX_OK);
	assert_int_equal(
	    onyx_zkauth_check_id("user:pass", err, sizeof(err)), ONYX_ECONFIG);
	assert_string_equal(err,
	    "ZooKeeper ACL id 'user:pass' is not user:digest (the base64 of the SHA-1 of user:password, 28 characters)");
	assert_int_equal(onyx_zkauth_check_id(
	                     ":smGaoVKd/cQkjm7b88GyorAUz20=", err, sizeof(err)),
	    ONYX_ECONFIG);
	assert_int_equal(
	    onyx_zkauth_check_id(
	        "a:b:smGaoVKd/cQkjm7b88GyorAUz20=", err, sizeof(err)),
	    ONYX_ECONFIG);
	assert_int_equal(
	    onyx_zkauth_check_id(
	        "user:smGaoVKd/cQkjm7b88GyorAUz20x", err, sizeof(err)),
	    ONYX_ECONFIG);
	assert_int_equal(
	    onyx_zkauth_check_id(
	        "user:smGaoVKd/cQkjm7b88Gyor!Uz20=", err, sizeof(err)),
	    ONYX_ECONFIG);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void
secret_files(void **state)
{
	char dir[] = "/tmp/test_zkauth.XXXXXX", path[300], want[400], err[600];
	char *s, *big;
	size_t n = 100000;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/secret", dir);

	write_file(path, "user:pass\n", 0600);
	assert_int_equal(
	    onyx_zkauth_read_secret(path, &s, err, sizeof(err)), ONYX_OK);
	assert_string_equal(s, "user:pass");
	free(s);

	write_file(path, "user:pass\r\nsecond line\n", 0400);
	assert_int_equal(
	    onyx_zkauth_read_secret(path, &s, err, sizeof(err)), ONYX_OK);
	assert_string_equal(s, "user:pass");
	free(s);

	/* any length */
	big = malloc(n + 2);
	assert_non_null(big);
	memset(big, 'x', n);
	memcpy(big, "u:", 2);
	big[n] = '\n';
	big[n + 1] = '\0';
	write_file(path, big, 0600);
	assert_int_equal(
	    onyx_zkauth_read_secret(path, &s, err, sizeof(err)), ONYX_OK);
	assert_int_equal(strlen(s), n);
	free(s);
	free(big);

	write_file(path, "user:pass\n", 0644);
	s = (char *)1;
	assert_int_equal(
	    onyx_zkauth_read_secret(path, &s, err, sizeof(err)), ONYX_ECONFIG);
	assert_null(s);
	snprintf(want, sizeof(want),
	    "ZooKeeper secret file %s: permissions 0644 are too open (group or others have access): chmod 600 it",
	    path);
	assert_string_equal(err, want);
	write_file(path, "user:pass\n", 0640);
	assert_int_equal(
	    onyx_zkauth_read_secret(path, &s, err, sizeof(err)), ONYX_ECONFIG);
	write_file(path, "user:pass\n", 0602);
	assert_int_equal(
	    onyx_zkauth_read_secret(path, &s, err, sizeof(err)), ONYX_ECONFIG);

	write_file(path, "\n", 0600);
	assert_int_equal(
	    onyx_zkauth_read_secret(path, &s, err, sizeof(err)), ONYX_ECONFIG);
	snprintf(want, sizeof(want), "ZooKeeper secret file %s is empty", path);
	assert_string_equal(err, want);
	write_file(path, "", 0600);
	assert_int_equal(
	    onyx_zkauth_read_secret(path, &s, err, sizeof(err)), ONYX_ECONFIG);

	write_file(path, "nocolon-s3cret\n", 0600);
	assert_int_equal(
	    onyx_zkauth_read_secret(path, &s, err, sizeof(err)), ONYX_ECONFIG);
	assert_null(strstr(err, "s3cret"));

	unlink(path);
	assert_int_equal(
	    onyx_zkauth_read_secret(path, &s, err, sizeof(err)), ONYX_ECONFIG);
	snprintf(want, sizeof(want),
	    "ZooKeeper secret file %s: No such file or directory", path);
	assert_string_equal(err, want);
	assert_int_equal(
	    onyx_zkauth_read_secret(dir, &s, err, sizeof(err)), ONYX_ECONFIG);
	rmdir(dir);
}

static void
identity(void **state)
{
	char err[256];

	(void)state;
	assert_false(onyx_zk_has_identity());
	assert_int_equal(
	    onyx_zk_set_identity("user:pass",
	        "watch:smGaoVKd/cQkjm7b88GyorAUz20=", err, sizeof(err)),
	    ONYX_OK);
	assert_true(onyx_zk_has_identity());
	assert_int_equal(
	    onyx_zk_set_identity("user:pass", "watch:nope", err, sizeof(err)),
	    ONYX_ECONFIG);
	assert_true(onyx_zk_has_identity()); /* a refused one changes nothing */
	assert_int_equal(
	    onyx_zkauth_setup(NULL, NULL, err, sizeof(err)), ONYX_OK);
	assert_false(onyx_zk_has_identity());
}

static void
settings(void **state)
{
	struct onyx_conf c;
	char err[256];

	(void)state;
	onyx_conf_defaults(&c);
	assert_string_equal(c.zk_secret_file, "");
	assert_string_equal(c.zk_reader, "");
	setenv("ONYX_ZK_SECRET_FILE", "/no/such/file", 1);
	setenv("ONYX_ZK_READER", "watch:smGaoVKd/cQkjm7b88GyorAUz20=", 1);
	/* the file is named here and read once the flags are known */
	assert_int_equal(onyx_conf_from_env(&c, err, sizeof(err)), ONYX_OK);
	assert_string_equal(c.zk_secret_file, "/no/such/file");
	assert_string_equal(c.zk_reader, "watch:smGaoVKd/cQkjm7b88GyorAUz20=");
	setenv("ONYX_ZK_READER", "watch:pass", 1);
	assert_int_equal(
	    onyx_conf_from_env(&c, err, sizeof(err)), ONYX_ECONFIG);
	assert_string_equal(err,
	    "ONYX_ZK_READER: ZooKeeper ACL id 'watch:pass' is not user:digest (the base64 of the SHA-1 of user:password, 28 characters)");
	unsetenv("ONYX_ZK_SECRET_FILE");
	unsetenv("ONYX_ZK_READER");
	assert_int_equal(
	    onyx_conf_set(&c, "zk-secret-file", "/etc/s", err, sizeof(err)),
	    ONYX_OK);
	assert_string_equal(c.zk_secret_file, "/etc/s");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(digest_vectors),
	    cmocka_unit_test(digest_refuses),
	    cmocka_unit_test(check_id),
	    cmocka_unit_test(secret_files),
	    cmocka_unit_test(identity),
	    cmocka_unit_test(settings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
