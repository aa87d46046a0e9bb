/* tests/unit/test_conf.c: configuration precedence (defaults, environment, flags) and URLs. */
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

static void
clear_env(void)
{
	unsetenv("ONYX_ZK");
	unsetenv("ONYX_CLUSTER");
	unsetenv("ONYX_BROKER");
	unsetenv("ONYX_BROKER_USER");
	unsetenv("ONYX_BROKER_PASSWORD");
	unsetenv("ONYX_BROKER_PASSWORD_FILE");
	unsetenv("ONYX_MAX_SEGMENT");
	unsetenv("ONYX_BROKER_CA");
	unsetenv("ONYX_BROKER_CERT");
	unsetenv("ONYX_BROKER_KEY");
	unsetenv("ONYX_BROKER_INSECURE_PLAIN");
}

static void
defaults(void **state)
{
	struct onyx_conf c;
	char err[256];

	(void)state;
	clear_env();
	onyx_conf_defaults(&c);
	assert_int_equal(onyx_conf_from_env(&c, err, sizeof(err)), ONYX_OK);
	assert_string_equal(c.zk, "127.0.0.1:2181");
	assert_string_equal(c.cluster, "default");
	assert_string_equal(c.broker, "amqp://127.0.0.1:5672");
	assert_string_equal(c.user, "");
}

static void
env_then_flags(void **state)
{
	struct onyx_conf c;
	char err[256];

	(void)state;
	clear_env();
	setenv("ONYX_ZK", "zk1:2181,zk2:2181", 1);
	setenv("ONYX_CLUSTER", "prod", 1);
	setenv("ONYX_BROKER", "amqp://b:5673", 1);
	setenv("ONYX_BROKER_USER", "alice", 1);
	setenv("ONYX_BROKER_PASSWORD", "s3cret", 1);
	onyx_conf_defaults(&c);
	assert_int_equal(onyx_conf_from_env(&c, err, sizeof(err)), ONYX_OK);
	assert_string_equal(c.zk, "zk1:2181,zk2:2181");
	assert_string_equal(c.cluster, "prod");
	assert_string_equal(c.broker, "amqp://b:5673");
	assert_string_equal(c.user, "alice");
	assert_string_equal(c.password, "s3cret");
	/* a flag wins over the environment */
	assert_int_equal(
	    onyx_conf_set(&c, "broker", "amqp://other:1", err, sizeof(err)),
	    ONYX_OK);
	assert_string_equal(c.broker, "amqp://other:1");
	assert_int_equal(
	    onyx_conf_set(&c, "cluster", "test-2", err, sizeof(err)), ONYX_OK);
	assert_string_equal(c.cluster, "test-2");
	clear_env();
}

static void
password_file_wins(void **state)
{
	struct onyx_conf c;
	char err[256], path[] = "/tmp/onyx-conf-XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "from-file\n", 10), 10);
	close(fd);
	clear_env();
	setenv("ONYX_BROKER_PASSWORD", "from-env", 1);
	setenv("ONYX_BROKER_PASSWORD_FILE", path, 1);
	onyx_conf_defaults(&c);
	assert_int_equal(onyx_conf_from_env(&c, err, sizeof(err)), ONYX_OK);
	assert_string_equal(c.password, "from-file");
	unlink(path);
	assert_int_equal(
	    onyx_conf_from_env(&c, err, sizeof(err)), ONYX_ECONFIG);
	assert_non_null(strstr(err, "ONYX_BROKER_PASSWORD_FILE: "));
	assert_non_null(strstr(err, path));
	clear_env();
}

static void
bad_values(void **state)
{
	struct onyx_conf c;
	char err[256];

	(void)state;
	clear_env();
	onyx_conf_defaults(&c);
	setenv("ONYX_CLUSTER", "a/b", 1);
	assert_int_equal(
	    onyx_conf_from_env(&c, err, sizeof(err)), ONYX_ECONFIG);
	assert_string_equal(err,
	    "ONYX_CLUSTER: cluster name 'a/b': only "
	    "letters, digits, '-', '_' and '.' are allowed");
	clear_env();
	setenv("ONYX_BROKER", "http://x", 1);
	assert_int_equal(
	    onyx_conf_from_env(&c, err, sizeof(err)), ONYX_ECONFIG);
	assert_non_null(strstr(err, "only amqp:// and amqps:// are supported"));
	clear_env();
	assert_int_equal(
	    onyx_conf_set(&c, "cluster", "..", err, sizeof(err)), ONYX_ECONFIG);
	assert_int_equal(
	    onyx_conf_set(&c, "zk", "", err, sizeof(err)), ONYX_ECONFIG);
}

static void
max_segment(void **state)
{
	struct onyx_conf c;
	char err[256];
	size_t v;

	(void)state;
	clear_env();
	onyx_conf_defaults(&c);
	assert_int_equal(c.max_segment, 1 << 20);
	assert_int_equal(onyx_conf_size("4096", 1, 1 << 30, &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(onyx_conf_size("64k", 1, 1 << 30, &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(onyx_conf_size("3M", 1, 1 << 30, &v), 0);
	assert_int_equal(v, 3 << 20);
	assert_int_equal(onyx_conf_size("1G", 1, 1 << 30, &v), 0);
	assert_int_equal(v, 1 << 30);
	assert_int_equal(onyx_conf_size("2G", 1, 1 << 30, &v), -1);
	assert_int_equal(onyx_conf_size("", 1, 1 << 30, &v), -1);
	assert_int_equal(onyx_conf_size("k", 1, 1 << 30, &v), -1);
	assert_int_equal(onyx_conf_size("1kb", 1, 1 << 30, &v), -1);
	assert_int_equal(onyx_conf_size("-1", 1, 1 << 30, &v), -1);
	assert_int_equal(
	    onyx_conf_size("99999999999999999999", 1, 1 << 30, &v), -1);
	setenv("ONYX_MAX_SEGMENT", "2M", 1);
	assert_int_equal(onyx_conf_from_env(&c, err, sizeof(err)), ONYX_OK);
	assert_int_equal(c.max_segment, 2 << 20);
	assert_int_equal(
	    onyx_conf_set(&c, "max-segment", "8k", err, sizeof(err)), ONYX_OK);
	assert_int_equal(c.max_segment, 8192);
	setenv("ONYX_MAX_SEGMENT", "100", 1);
	assert_int_equal(
	    onyx_conf_from_env(&c, err, sizeof(err)), ONYX_ECONFIG);
	assert_string_equal(err,
	    "ONYX_MAX_SEGMENT: maximum segment size '100' is not a size from "
	    "1k to 1G (bytes, or with a k, M or G suffix)");
	clear_env();
}

static void
urls(void **state)
{
	struct onyx_url u;
	char err[256], buf[256];

	(void)state;
	assert_int_equal(
	    onyx_url_parse("amqp://h:1234", &u, err, sizeof(err)), ONYX_OK);
	assert_string_equal(u.host, "h");
	assert_string_equal(u.port, "1234");
	assert_int_equal(
	    onyx_url_parse("amqp://u:p@h", &u, err, sizeof(err)), ONYX_OK);
	assert_string_equal(u.user, "u");
	assert_string_equal(u.password, "p");
	assert_string_equal(u.port, "5672");
	assert_int_equal(
	    onyx_url_parse("127.0.0.1:99", &u, err, sizeof(err)), ONYX_OK);
	assert_string_equal(u.host, "127.0.0.1");
	assert_int_equal(
	    onyx_url_parse("amqp://[::1]:5", &u, err, sizeof(err)), ONYX_OK);
	assert_string_equal(u.host, "::1");
	assert_string_equal(u.port, "5");
	assert_int_equal(
	    onyx_url_parse("amqp://h:x", &u, err, sizeof(err)), ONYX_ECONFIG);
	assert_int_equal(
	    onyx_url_parse("amqp://", &u, err, sizeof(err)), ONYX_ECONFIG);
	assert_int_equal(
	    onyx_url_parse("amqp://u:p@ss@h:7", &u, err, sizeof(err)), ONYX_OK);
	assert_string_equal(u.password, "p@ss");
	assert_string_equal(u.host, "h");
	assert_int_equal(onyx_url_parse("amqp://[::1]x", &u, err, sizeof(err)),
	    ONYX_ECONFIG);
	assert_int_equal(
	    onyx_url_parse("amqp://u:zz9secret@h:x", &u, err, sizeof(err)),
	    ONYX_ECONFIG);
	assert_string_equal(err,
	    "broker URL 'amqp://***@h:***' is not amqp[s]://[user@]host[:port]");
	assert_int_equal(
	    onyx_url_parse("tcp://u:zz9secret@h", &u, err, sizeof(err)),
	    ONYX_ECONFIG);
	assert_string_equal(err,
	    "broker URL 'tcp://***@h': only amqp:// and amqps:// are supported");
	onyx_url_redact("amqp://h:1", buf, sizeof(buf));
	assert_string_equal(buf, "amqp://h:1");
}

/* Every form, well-formed or not: the secret never shows, and the exact
 * redaction. */
static void
redaction(void **state)
{
	static const struct {
		const char *url, *shown;
	} t[] = {
	    {"amqp://u:zz9secret@h:1", "amqp://***@h:1"},
	    {"amqp://u:zz9secret@h", "amqp://***@h"},
	    {"amqp://u:zz9secret@h:x", "amqp://***@h:***"},
	    {"amqp://u:zz9@secret@h:1", "amqp://***@h:1"},
	    {"amqp://u:zz9secret@@h:1", "amqp://***@h:1"},
	    {"amqp://u@zz9secret@h:1", "amqp://***@h:1"},
	    {"amqp://u:zz9secret@", "amqp://***@"},
	    {"amqp://u:zz9secret@:5", "amqp://***@:5"},
	    {"amqp://u:zz9secret", "amqp://u:***"},
	    {"amqp://u:zz9/secret", "amqp://u:***"},
	    {"amqp://u:zz9/secret@h:2/p", "amqp://***@h:2"},
	    {"amqp://u:zz9secret@[::1", "amqp://***@***"},
	    {"amqp://[::1:zz9secret", "amqp://***"},
	    {"amqp://u:zz9secret@[::1]:5", "amqp://***@[::1]:5"},
	    {"amqp://u:zz9secret@[::1]zz9", "amqp://***@[::1]:***"},
	    {"http://u:zz9secret@h:1", "http://***@h:1"},
	    {"u:zz9secret@h:1", "***@h:1"},
	    {"u:zz9secret@h://x", "***@h:"},
	    {"amqp:/u:zz9secret@h", "***@h"},
	    {"amqp://u:zz9sec?ret@h#f", "amqp://***@h"},
	    {"amqp://h:1?u=zz9secret", "amqp://h:1"},
	    {"amqp://user@h:1", "amqp://***@h:1"},
	    {"", ""},
	};
	char buf[256], small[8];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		onyx_url_redact(t[i].url, buf, sizeof(buf));
		if (strcmp(buf, t[i].shown) != 0)
			fail_msg("%s shown as %s, not %s", t[i].url, buf,
			    t[i].shown);
		assert_null(strstr(buf, "zz9"));
	}
	onyx_url_redact("amqp://u:zz9secret@h:1", small, sizeof(small));
	assert_string_equal(small, "amqp://");
}

static void
password_in_url(void **state)
{
	struct onyx_conf c;
	char err[512];

	(void)state;
	clear_env();
	onyx_conf_defaults(&c);
	assert_true(onyx_url_has_password("amqp://u:p@h"));
	assert_true(onyx_url_has_password("amqp://u:@h"));
	assert_true(onyx_url_has_password("amqp://u@p:q@h"));
	assert_false(onyx_url_has_password("amqp://u@h:1"));
	assert_false(onyx_url_has_password("amqp://h:1"));
	assert_int_equal(onyx_conf_set(&c, "broker", "amqp://u:zz9secret@h:x",
	                     err, sizeof(err)),
	    ONYX_ECONFIG);
	assert_string_equal(err,
	    "broker URL 'amqp://***@h:***': a password in the URL is refused (it "
	    "would show in ps and in the environment); give it in a file named "
	    "by ONYX_BROKER_PASSWORD_FILE or --password-file");
	assert_string_equal(c.broker, ONYX_DEFAULT_BROKER);
	assert_int_equal(
	    onyx_conf_set(&c, "broker", "amqp://u@h:9", err, sizeof(err)),
	    ONYX_OK);
	assert_string_equal(c.broker, "amqp://u@h:9");
}

/* A file of mode mode holding len bytes of data. */
static void
secret_file(char *path, const char *data, size_t len, mode_t mode)
{
	int fd;

	strcpy(path, "/tmp/onyx-secret-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void
secret_files(void **state)
{
	char path[64], buf[ONYX_PASSWORD_MAX + 1], err[512], want[512];
	static char big[ONYX_PASSWORD_MAX + 2];

	(void)state;
	secret_file(path, "pw\n", 3, 0640);
	assert_int_equal(
	    onyx_conf_read_secret(path, buf, sizeof(buf), err, sizeof(err)),
	    ONYX_ECONFIG);
	snprintf(want, sizeof(want),
	    "password file %s has mode 0640: others may read it; make it "
	    "readable by its owner alone (chmod 600)",
	    path);
	assert_string_equal(err, want);
	chmod(path, 0604);
	assert_int_equal(
	    onyx_conf_read_secret(path, buf, sizeof(buf), err, sizeof(err)),
	    ONYX_ECONFIG);
	assert_non_null(strstr(err, "has mode 0604"));
	chmod(path, 0400);
	assert_int_equal(
	    onyx_conf_read_secret(path, buf, sizeof(buf), err, sizeof(err)),
	    ONYX_OK);
	assert_string_equal(buf, "pw");
	unlink(path);

	/* one trailing newline (or CR LF) goes, nothing else */
	secret_file(path, " a b \r\n", 7, 0600);
	assert_int_equal(
	    onyx_conf_read_secret(path, buf, sizeof(buf), err, sizeof(err)),
	    ONYX_OK);
	assert_string_equal(buf, " a b ");
	unlink(path);

	/* longer than the old 256-byte buffer: read whole */
	memset(big, 'x', ONYX_PASSWORD_MAX);
	big[ONYX_PASSWORD_MAX] = '\n';
	secret_file(path, big, ONYX_PASSWORD_MAX + 1, 0600);
	assert_int_equal(
	    onyx_conf_read_secret(path, buf, sizeof(buf), err, sizeof(err)),
	    ONYX_OK);
	assert_int_equal(strlen(buf), ONYX_PASSWORD_MAX);
	unlink(path);
	big[ONYX_PASSWORD_MAX] = 'x';
	secret_file(path, big, ONYX_PASSWORD_MAX + 1, 0600);
	assert_int_equal(
	    onyx_conf_read_secret(path, buf, sizeof(buf), err, sizeof(err)),
	    ONYX_ECONFIG);
	snprintf(want, sizeof(want),
	    "the password in %s is longer than %d bytes", path,
	    ONYX_PASSWORD_MAX);
	assert_string_equal(err, want);
	unlink(path);

	secret_file(path, "a\0b\n", 4, 0600);
	assert_int_equal(
	    onyx_conf_read_secret(path, buf, sizeof(buf), err, sizeof(err)),
	    ONYX_ECONFIG);
	snprintf(want, sizeof(want), "password file %s holds a NUL byte", path);
	assert_string_equal(err, want);
	unlink(path);
	secret_file(path, "\n", 1, 0600);
	assert_int_equal(
	    onyx_conf_read_secret(path, buf, sizeof(buf), err, sizeof(err)),
	    ONYX_ECONFIG);
	snprintf(want, sizeof(want), "password file %s is empty", path);
	assert_string_equal(err, want);
	unlink(path);
	secret_file(path, "a\nb\n", 4, 0600);
	assert_int_equal(
	    onyx_conf_read_secret(path, buf, sizeof(buf), err, sizeof(err)),
	    ONYX_ECONFIG);
	snprintf(want, sizeof(want),
	    "password file %s holds more than one line", path);
	assert_string_equal(err, want);
	unlink(path);
}

/* amqps:// sets tls and defaults to port 5671; amqp:// stays 5672. */
static void
tls_urls(void **state)
{
	struct onyx_url u;
	char err[256];

	(void)state;
	assert_int_equal(
	    onyx_url_parse("amqps://h.example", &u, err, sizeof(err)), ONYX_OK);
	assert_int_equal(u.tls, 1);
	assert_string_equal(u.host, "h.example");
	assert_string_equal(u.port, "5671");
	assert_int_equal(
	    onyx_url_parse("amqps://u:p@[::1]:6000", &u, err, sizeof(err)),
	    ONYX_OK);
	assert_int_equal(u.tls, 1);
	assert_string_equal(u.host, "::1");
	assert_string_equal(u.port, "6000");
	assert_string_equal(u.user, "u");
	assert_int_equal(
	    onyx_url_parse("amqp://h", &u, err, sizeof(err)), ONYX_OK);
	assert_int_equal(u.tls, 0);
	assert_string_equal(u.port, "5672");
	assert_int_equal(
	    onyx_url_parse("amqps://", &u, err, sizeof(err)), ONYX_ECONFIG);
	assert_string_equal(
	    err, "broker URL 'amqps://' is not amqp[s]://[user@]host[:port]");
}

/* The TLS settings: files checked readable, insecure-plain 0 or 1. */
static void
tls_settings(void **state)
{
	struct onyx_conf c;
	char err[512];

	(void)state;
	clear_env();
	onyx_conf_defaults(&c);
	assert_int_equal(c.insecure_plain, 0);
	assert_string_equal(c.ca, "");
	setenv("ONYX_BROKER_CA", "/etc/hostname", 1);
	setenv("ONYX_BROKER_INSECURE_PLAIN", "1", 1);
	assert_int_equal(onyx_conf_from_env(&c, err, sizeof(err)), ONYX_OK);
	assert_string_equal(c.ca, "/etc/hostname");
	assert_int_equal(c.insecure_plain, 1);
	clear_env();
	setenv("ONYX_BROKER_CERT", "/nonexistent/c.pem", 1);
	assert_int_equal(
	    onyx_conf_from_env(&c, err, sizeof(err)), ONYX_ECONFIG);
	assert_string_equal(err,
	    "ONYX_BROKER_CERT: broker client certificate /nonexistent/c.pem: No such file or directory");
	clear_env();
	setenv("ONYX_BROKER_INSECURE_PLAIN", "yes", 1);
	assert_int_equal(
	    onyx_conf_from_env(&c, err, sizeof(err)), ONYX_ECONFIG);
	assert_non_null(
	    strstr(err, "ONYX_BROKER_INSECURE_PLAIN: 'yes' is not 0 or 1"));
	clear_env();
}

/* Which mechanism, and when a connection is refused before it is made. */
static void
sasl_decisions(void **state)
{
	char err[512];

	(void)state;
	/* tls, user, cert, loopback, insecure */
	assert_int_equal(
	    onyx_conf_sasl(true, true, false, false, false, err, sizeof(err)),
	    ONYX_SASL_PLAIN);
	assert_int_equal(
	    onyx_conf_sasl(false, true, false, true, false, err, sizeof(err)),
	    ONYX_SASL_PLAIN);
	assert_int_equal(
	    onyx_conf_sasl(false, true, false, false, true, err, sizeof(err)),
	    ONYX_SASL_PLAIN);
	assert_int_equal(
	    onyx_conf_sasl(false, true, false, false, false, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "ONYX_BROKER_INSECURE_PLAIN=1"));
	assert_non_null(strstr(err, "--insecure-plain"));
	/* a certificate and no user: EXTERNAL; a user wins over it */
	assert_int_equal(
	    onyx_conf_sasl(true, false, true, false, false, err, sizeof(err)),
	    ONYX_SASL_EXTERNAL);
	assert_int_equal(
	    onyx_conf_sasl(true, true, true, false, false, err, sizeof(err)),
	    ONYX_SASL_PLAIN);
	assert_int_equal(
	    onyx_conf_sasl(false, false, true, true, false, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "needs an amqps:// broker URL"));
	/* no user: ANONYMOUS, over anything (no secret to protect) */
	assert_int_equal(
	    onyx_conf_sasl(false, false, false, false, false, err, sizeof(err)),
	    ONYX_SASL_ANONYMOUS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(defaults),
	    cmocka_unit_test(env_then_flags),
	    cmocka_unit_test(password_file_wins),
	    cmocka_unit_test(bad_values),
	    cmocka_unit_test(max_segment),
	    cmocka_unit_test(urls),
	    cmocka_unit_test(redaction),
	    cmocka_unit_test(password_in_url),
	    cmocka_unit_test(secret_files),
	    cmocka_unit_test(tls_urls),
	    cmocka_unit_test(tls_settings),
	    cmocka_unit_test(sasl_decisions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
