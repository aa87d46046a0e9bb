/* tests/unit/test_lineio.c: the line reader: lines, the last line, linear time on long lines, the line limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../lib/lineio.h"

/* A pipe whose writer (a child) writes n bytes of 'x' after head, then tail. */
static int
feed(const char *head, size_t n, const char *tail, pid_t *pid)
{
	int p[2];

	assert_int_equal(pipe(p), 0);
	if ((*pid = fork()) == 0) {
		static char chunk[65536];
		close(p[0]);
		memset(chunk, 'x', sizeof(chunk));
		if (write(p[1], head, strlen(head)) < 0)
			_exit(1);
		while (n > 0) {
			size_t k = n < sizeof(chunk) ? n : sizeof(chunk);
			ssize_t w = write(p[1], chunk, k);
			if (w <= 0)
				_exit(0); /* the reader stopped: fine */
			n -= (size_t)w;
		}
		if (write(p[1], tail, strlen(tail)) < 0)
			_exit(0);
		_exit(0);
	}
	close(p[1]);
	return p[0];
}

/* Read the next line, filling as needed. */
static int
next(struct onyx_lineio *r, const char **line, size_t *len)
{
	int rc;

	while ((rc = onyx_lineio_next(r, line, len)) == ONYX_LINEIO_MORE)
		(void)onyx_lineio_fill(r);
	return rc;
}

static void
lines_and_last_line(void **state)
{
	struct onyx_lineio r;
	const char *line;
	size_t len;
	pid_t pid;
	int fd = feed("a\n\nbc\n", 0, "last", &pid);

	(void)state;
	assert_int_equal(onyx_lineio_init(&r, fd, 0), 0);
	assert_int_equal(next(&r, &line, &len), ONYX_LINEIO_LINE);
	assert_int_equal(len, 1);
	assert_memory_equal(line, "a", 1);
	assert_int_equal(next(&r, &line, &len), ONYX_LINEIO_LINE);
	assert_int_equal(len, 0);
	assert_int_equal(next(&r, &line, &len), ONYX_LINEIO_LINE);
	assert_int_equal(len, 2);
	assert_memory_equal(line, "bc", 2);
	assert_int_equal(next(&r, &line, &len), ONYX_LINEIO_LINE);
	assert_int_equal(len, 4);
	assert_memory_equal(line, "last", 4);
	assert_int_equal(r.lineno, 4);
	assert_int_equal(next(&r, &line, &len), ONYX_LINEIO_END);
	onyx_lineio_free(&r);
	close(fd);
	waitpid(pid, NULL, 0);
}

/* 64 MB in one line through a pipe: was 1.5 s (rescanned at every read). */
static void
long_line_is_linear(void **state)
{
	struct onyx_lineio r;
	const char *line;
	size_t len, n = (size_t)64 << 20;
	struct timespec t0, t1;
	pid_t pid;
	int fd = feed("{", n, "}\n{}\n", &pid);
	double s;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(onyx_lineio_init(&r, fd, 0), 0);
	assert_int_equal(next(&r, &line, &len), ONYX_LINEIO_LINE);
	assert_int_equal(len, n + 2);
	assert_int_equal(line[0], '{');
	assert_int_equal(line[len - 1], '}');
	assert_int_equal(next(&r, &line, &len), ONYX_LINEIO_LINE);
	assert_int_equal(len, 2);
	assert_int_equal(next(&r, &line, &len), ONYX_LINEIO_END);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* linear: well under a second, even under the sanitizers */
	assert_true(s < 1.0);
	onyx_lineio_free(&r);
	close(fd);
	waitpid(pid, NULL, 0);
}

static void
line_limit(void **state)
{
	struct onyx_lineio r;
	const char *line;
	size_t len, max = 1 << 20;
	pid_t pid;
	int fd;

	(void)state;
	/* a line of exactly max bytes passes */
	fd = feed("", max, "\n", &pid);
	assert_int_equal(onyx_lineio_init(&r, fd, max), 0);
	assert_int_equal(next(&r, &line, &len), ONYX_LINEIO_LINE);
	assert_int_equal(len, max);
	assert_int_equal(next(&r, &line, &len), ONYX_LINEIO_END);
	onyx_lineio_free(&r);
	close(fd);
	waitpid(pid, NULL, 0);

	/* one byte more, and 100 MB more: refused, never read whole */
	fd = feed("{}\n", max + 1, "\n{}\n", &pid);
	assert_int_equal(onyx_lineio_init(&r, fd, max), 0);
	assert_int_equal(next(&r, &line, &len), ONYX_LINEIO_LINE);
	assert_int_equal(next(&r, &line, &len), ONYX_LINEIO_LONG);
	assert_int_equal(r.lineno, 2);
	assert_int_equal(next(&r, &line, &len), ONYX_LINEIO_LONG);
	onyx_lineio_free(&r);
	close(fd);
	waitpid(pid, NULL, 0);

	fd = feed("", (size_t)100 << 20, "\n", &pid);
	assert_int_equal(onyx_lineio_init(&r, fd, max), 0);
	assert_int_equal(next(&r, &line, &len), ONYX_LINEIO_LONG);
	assert_int_equal(r.lineno, 1);
	assert_true(r.cap <= max + 1 + 256 * 1024);
	onyx_lineio_free(&r);
	close(fd);
	waitpid(pid, NULL, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(lines_and_last_line),
	    cmocka_unit_test(long_line_is_linear),
	    cmocka_unit_test(line_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
