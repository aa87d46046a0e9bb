/* tests/unit/test_amqp.c: the AMQP client's bounded waits that need no broker (settings, a silent server). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "../../lib/amqp.h"
#include "../../lib/clock.h"
#include "../../lib/conf.h"
#include "../../lib/status.h"

/* A listening socket on 127.0.0.1 that never answers; *url gets its URL. */
static int
silent_server(char *url, size_t len)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	snprintf(url, len, "amqp://127.0.0.1:%d", ntohs(sa.sin_port));
	return fd;
}

static void
bad_credit_timeout(void **state)
{
	static const char *const bad[] = {
	    "0", "-5", "abc", "10ms", "99999999999"};
	struct onyx_conf c;
	struct onyx_amqp *a;
	char err[512];
	size_t i;

	(void)state;
	onyx_conf_defaults(&c);
	/* the setting is checked before any connection is tried */
	snprintf(c.broker, sizeof(c.broker), "amqp://127.0.0.1:1");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("ONYX_CREDIT_TIMEOUT_MS", bad[i], 1);
		assert_int_equal(
		    onyx_amqp_connect(&c, 1000, &a, err, sizeof(err)),
		    ONYX_ECONFIG);
		assert_null(a);
		assert_non_null(strstr(err, "ONYX_CREDIT_TIMEOUT_MS"));
		assert_non_null(strstr(err, bad[i]));
	}
	/* a good value gets past the setting: the broker is what fails */
	setenv("ONYX_CREDIT_TIMEOUT_MS", "2500", 1);
	assert_int_equal(
	    onyx_amqp_connect(&c, 1000, &a, err, sizeof(err)), ONYX_EUNAVAIL);
	unsetenv("ONYX_CREDIT_TIMEOUT_MS");
}

static void
silent_broker_is_bounded(void **state)
{
	struct onyx_conf c;
	struct onyx_amqp *a;
	char err[512];
	int64_t t0, dt;
	int fd;

	(void)state;
	onyx_conf_defaults(&c);
	fd = silent_server(c.broker, sizeof(c.broker));
	t0 = onyx_mono_ms();
	assert_int_equal(
	    onyx_amqp_connect(&c, 300, &a, err, sizeof(err)), ONYX_ETIMEDOUT);
	dt = onyx_mono_ms() - t0;
	assert_true(dt >= 250 && dt < 2000);
	assert_non_null(strstr(err, "within 300 ms"));
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(bad_credit_timeout),
	    cmocka_unit_test(silent_broker_is_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
