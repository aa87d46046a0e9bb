/* lib/exec.c: program functions (onyx/exec): a coprocess speaking JSON lines. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "errstr.h"
#include "clock.h"
#include "buf.h"
#include "exec.h"
#include "log.h"
#include "status.h"

#define ERRLINE_MAX 4096 /* a stderr line longer than this is cut */

extern char **environ;

struct onyx_exec {
	pid_t pid;
	int in, out, errfd; /* our ends: its stdin, stdout, stderr */
	struct onyx_buf w;  /* input not yet written */
	size_t wpos;
	struct onyx_buf r; /* stdout read, answers from rpos */
	size_t rpos;
	struct onyx_buf e; /* stderr read, not yet a whole line */
	size_t max;        /* the longest answer line; 0: no limit */
	char *task;
	int ended;  /* stdout closed or a write failed */
	int status; /* exit status, 128 + signal, or -1 while unknown */
};

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Log the whole lines of stderr (all of it when flush). */
static void
log_err(struct onyx_exec *x, int flush)
{
	size_t start = 0, i;

	for (i = 0; i < x->e.len; i++) {
		if (x->e.p[i] != '\n' && i - start < ERRLINE_MAX)
			continue;
		onyx_log(ONYX_LOG_WARN, "task %s: %.*s", x->task,
		    (int)(i - start), x->e.p + start);
		start = x->e.p[i] == '\n' ? i + 1 : i;
	}
	if (flush && start < x->e.len) {
		onyx_log(ONYX_LOG_WARN, "task %s: %.*s", x->task,
		    (int)(x->e.len - start), x->e.p + start);
		start = x->e.len;
	}
	memmove(x->e.p, x->e.p + start, x->e.len - start);
	x->e.len -= start;
}

/*
 * Read what fd has now into b, while b holds less than limit bytes (0: no
 * limit). 1 at end of file, 0 otherwise, -1 on error.
 */
static int
drain(int fd, struct onyx_buf *b, size_t limit)
{
	for (;;) {
		ssize_t n;

		if (limit > 0 && b->len >= limit)
			return 0;
		if (onyx_buf_reserve(b, 65536) != 0)
			return -1;
		n = read(fd, b->p + b->len,
		    limit > 0 && limit - b->len < b->cap - b->len
		        ? limit - b->len
		        : b->cap - b->len);
		if (n > 0) {
			b->len += (size_t)n;
			continue;
		}
		if (n == 0)
			return 1;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	}
}

/* How far stdout is read: the answers unread and one line of max bytes. */
static size_t
read_limit(const struct onyx_exec *x)
{
	return x->max > 0 ? x->rpos + x->max + 2 : 0;
}

/* The unread answers end in a line longer than max, without its newline. */
static bool
too_long(const struct onyx_exec *x)
{
	const char *s, *nl;
	size_t left;

	if (x->max == 0 || x->rpos >= x->r.len)
		return false;
	s = x->r.p + x->rpos;
	left = x->r.len - x->rpos;
	/* the last newline: only the line after it can be too long */
	nl = memrchr(s, '\n', left);
	if (nl != NULL) {
		left -= (size_t)(nl + 1 - s);
	}
	return left > x->max + 1;
}

void
onyx_exec_set_max_answer(struct onyx_exec *x, size_t max)
{
	x->max = max;
}

static void
read_stderr(struct onyx_exec *x)
{
	int rc;

	if (x->errfd < 0)
		return;
	rc = drain(x->errfd, &x->e, 0);
	log_err(x, rc != 0);
	if (rc != 0)
		close_fd(&x->errfd);
}

/* How the program ended, as far as we can tell now. */
static void
why_ended(struct onyx_exec *x, char *err, size_t errlen)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	/* give it a moment to finish exiting */
	for (int i = 0; i < 20; i++) {
		if (waitid(P_PID, x->pid, &si, WEXITED | WNOHANG | WNOWAIT) !=
		        0 ||
		    si.si_pid != 0)
			break;
		usleep(5000);
	}
	if (si.si_pid != 0 && si.si_code == CLD_EXITED) {
		x->status = si.si_status;
		snprintf(err, errlen, "the program exited with status %d",
		    si.si_status);
	} else if (si.si_pid != 0) {
		x->status = 128 + si.si_status;
		snprintf(err, errlen, "the program was killed by signal %d",
		    si.si_status);
	} else
		snprintf(err, errlen, "the program closed its output");
}

static int
ended(struct onyx_exec *x, char *err, size_t errlen)
{
	x->ended = 1;
	read_stderr(x);
	why_ended(x, err, errlen);
	return ONYX_EDATA;
}

/* Write queued input until the pipe is full. */
static int
push(struct onyx_exec *x, char *err, size_t errlen)
{
	while (x->wpos < x->w.len) {
		ssize_t n = write(x->in, x->w.p + x->wpos, x->w.len - x->wpos);
		if (n > 0) {
			x->wpos += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return ONYX_OK;
		return ended(x, err, errlen);
	}
	x->w.len = x->wpos = 0;
	return ONYX_OK;
}

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Ours: the variables a program gets from the peer. */
static const char *const ours[] = {"ONYX_PARAMS=", "ONYX_TASK=", "ONYX_PEER="};
#define NOURS (sizeof(ours) / sizeof(ours[0]))

/*
 * Whether var leaves the program's environment: every ONYX_* variable of
 * the peer (broker and ZooKeeper settings and secrets, and any added later,
 * so a new secret cannot leak by being forgotten here), ours among them:
 * they are set again below. The rest of the environment (PATH, HOME, LANG,
 * ...) passes; onyx(7) says so under "Secrets".
 */
static bool
is_dropped(const char *var)
{
	return strncmp(var, "ONYX_", 5) == 0;
}

/* A copy of environ without ONYX_* variables, then ours (the last NOURS). */
static char **
child_env(const char *params, const char *task, const char *peer)
{
	const char *val[NOURS] = {params, task, peer};
	size_t n = 0, k = 0, i;
	char **env;

	while (environ[n] != NULL)
		n++;
	if ((env = calloc(n + NOURS + 1, sizeof(*env))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (!is_dropped(environ[i]))
			env[k++] = environ[i];
	for (i = 0; i < NOURS; i++)
		if (asprintf(&env[k + i], "%s%s", ours[i], val[i]) < 0) {
			while (i-- > 0)
				free(env[k + i]);
			free(env);
			return NULL;
		}
	env[k + NOURS] = NULL;
	return env;
}

static void
free_env(char **env)
{
	size_t n = 0;

	if (env == NULL)
		return;
	while (env[n] != NULL)
		n++;
	for (size_t i = 0; i < NOURS && i < n; i++)
		free(env[n - 1 - i]);
	free(env);
}

int
onyx_exec_start(const char *const *argv, const char *params, const char *task,
    const char *peer, struct onyx_exec **out, char *err, size_t errlen)
{
	int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1},
	    pex[2] = {-1, -1};
	struct onyx_exec *x;
	char **env = NULL;
	int child_errno = 0, st = ONYX_ERR;
	ssize_t n;
	pid_t pid;

	*out = NULL;
	if (argv == NULL || argv[0] == NULL) {
		snprintf(err, errlen, "onyx/exec: no program");
		return ONYX_EDATA;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL ||
	    (x->task = strdup(task ? task : "")) == NULL ||
	    (env = child_env(
	         params ? params : "{}", x->task, peer ? peer : "")) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	x->in = x->out = x->errfd = -1;
	x->status = -1;
	if (pipe2(pin, O_CLOEXEC) != 0 || pipe2(pout, O_CLOEXEC) != 0 ||
	    pipe2(perr, O_CLOEXEC) != 0 || pipe2(pex, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", onyx_strerror(errno));
		goto fail;
	}
	if ((pid = fork()) < 0) {
		snprintf(err, errlen, "fork: %s", onyx_strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		/* the child: only async-signal-safe calls until exec */
		sigset_t none;
		int e;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		setpgid(0, 0);
		if (dup2(pin[0], 0) < 0 || dup2(pout[1], 1) < 0 ||
		    dup2(perr[1], 2) < 0)
			_exit(127);
		environ = env;
		execvp(argv[0], (char *const *)argv);
		e = errno;
		if (write(pex[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	x->pid = pid;
	setpgid(pid, pid); /* either side may win the race */
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	close(pex[1]);
	do
		n = read(pex[0], &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	close(pex[0]);
	x->in = pin[1];
	x->out = pout[0];
	x->errfd = perr[0];
	free_env(env);
	env = NULL;
	if (n == (ssize_t)sizeof(child_errno)) {
		snprintf(err, errlen, "cannot run '%s': %s", argv[0],
		    onyx_strerror(child_errno));
		onyx_exec_stop(x, 0);
		return ONYX_EDATA;
	}
	if (set_nonblock(x->in) != 0 || set_nonblock(x->out) != 0 ||
	    set_nonblock(x->errfd) != 0) {
		snprintf(err, errlen, "fcntl: %s", onyx_strerror(errno));
		onyx_exec_stop(x, 0);
		return ONYX_ERR;
	}
	*out = x;
	return ONYX_OK;
fail:
	free_env(env);
	for (int i = 0; i < 2; i++) {
		if (pin[i] >= 0)
			close(pin[i]);
		if (pout[i] >= 0)
			close(pout[i]);
		if (perr[i] >= 0)
			close(perr[i]);
		if (pex[i] >= 0)
			close(pex[i]);
	}
	if (x != NULL)
		free(x->task);
	free(x);
	return st;
}

int
onyx_exec_write(
    struct onyx_exec *x, const char *line, size_t len, char *err, size_t errlen)
{
	int st = onyx_exec_queue(x, line, len, err, errlen);

	return st != ONYX_OK ? st : push(x, err, errlen);
}

size_t
onyx_exec_queued(const struct onyx_exec *x)
{
	return x->w.len - x->wpos;
}

int
onyx_exec_queue(
    struct onyx_exec *x, const char *line, size_t len, char *err, size_t errlen)
{
	size_t i;
	char *p;

	if (x->ended)
		return ended(x, err, errlen);
	if (onyx_buf_reserve(&x->w, len + 1) != 0) {
		snprintf(err, errlen, "out of memory");
		return ONYX_ERR;
	}
	p = x->w.p + x->w.len;
	/* a raw newline in JSON text is whitespace: one line per segment */
	for (i = 0; i < len; i++)
		p[i] = line[i] == '\n' || line[i] == '\r' ? ' ' : line[i];
	p[len] = '\n';
	x->w.len += len + 1;
	return ONYX_OK;
}

int
onyx_exec_pump(struct onyx_exec *x, int timeout_ms, char *err, size_t errlen)
{
	long long until = onyx_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int st;

	if (x->ended)
		return ended(x, err, errlen);
	for (;;) {
		struct pollfd p[3];
		int np = 0, rc, left, iout = -1, ierr = -1, iin = -1;

		if (x->wpos < x->w.len) {
			iin = np;
			p[np].fd = x->in;
			p[np++].events = POLLOUT;
		}
		iout = np;
		p[np].fd = x->out;
		p[np++].events = POLLIN;
		if (x->errfd >= 0) {
			ierr = np;
			p[np].fd = x->errfd;
			p[np++].events = POLLIN;
		}
		left = (int)(until - onyx_mono_ms());
		if (left < 0)
			left = 0;
		rc = poll(p, np, left);
		if (rc < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", onyx_strerror(errno));
			return ONYX_ERR;
		}
		if (rc <= 0)
			return ONYX_OK;
		if (ierr >= 0 && p[ierr].revents != 0)
			read_stderr(x);
		if (iin >= 0 && p[iin].revents != 0 &&
		    (st = push(x, err, errlen)) != ONYX_OK)
			return st;
		if (p[iout].revents != 0) {
			if (x->rpos > 0) {
				memmove(x->r.p, x->r.p + x->rpos,
				    x->r.len - x->rpos);
				x->r.len -= x->rpos;
				x->rpos = 0;
			}
			rc = drain(x->out, &x->r, read_limit(x));
			if (rc < 0) {
				snprintf(err, errlen, "reading: %s",
				    onyx_strerror(errno));
				return ONYX_ERR;
			}
			if (too_long(x)) {
				snprintf(err, errlen,
				    "the program answered a line longer than the maximum segment size, %zu bytes (ONYX_MAX_SEGMENT, --max-segment)",
				    x->max);
				return ONYX_EDATA;
			}
			if (rc == 1) {
				/* answers already read still count */
				if (memchr(x->r.p, '\n', x->r.len) != NULL) {
					x->ended = 1;
					return ONYX_OK;
				}
				return ended(x, err, errlen);
			}
			/* something to answer: let the caller look */
			return ONYX_OK;
		}
		if (onyx_mono_ms() >= until)
			return ONYX_OK;
	}
}

void
onyx_exec_drain(struct onyx_exec *x)
{
	if (x->out >= 0 && !too_long(x))
		(void)drain(x->out, &x->r, read_limit(x));
	read_stderr(x);
}

int
onyx_exec_close_input(
    struct onyx_exec *x, int timeout_ms, char *err, size_t errlen)
{
	long long until = onyx_mono_ms() + timeout_ms;
	int st;

	while (!x->ended && x->wpos < x->w.len) {
		if (onyx_mono_ms() >= until) {
			snprintf(err, errlen,
			    "timeout: the program read no input for %d ms",
			    timeout_ms);
			return ONYX_EDATA;
		}
		if ((st = onyx_exec_pump(x, 50, err, errlen)) != ONYX_OK)
			return st;
	}
	close_fd(&x->in);
	return ONYX_OK;
}

int
onyx_exec_status(const struct onyx_exec *x)
{
	return x->status;
}

int
onyx_exec_answer(struct onyx_exec *x, const char **line, size_t *len)
{
	char *s = x->r.p + x->rpos, *nl;

	if (x->rpos >= x->r.len ||
	    (nl = memchr(s, '\n', x->r.len - x->rpos)) == NULL)
		return 0;
	*line = s;
	*len = (size_t)(nl - s);
	if (*len > 0 && s[*len - 1] == '\r')
		(*len)--;
	x->rpos += (size_t)(nl - s) + 1;
	return 1;
}

void
onyx_exec_stop(struct onyx_exec *x, int grace_ms)
{
	long long until = onyx_mono_ms() + grace_ms;
	siginfo_t si;

	if (x == NULL)
		return;
	close_fd(&x->in);
	memset(&si, 0, sizeof(si));
	while (grace_ms > 0 && onyx_mono_ms() < until) {
		if (waitid(P_PID, x->pid, &si, WEXITED | WNOHANG | WNOWAIT) !=
		        0 ||
		    si.si_pid != 0)
			break;
		read_stderr(x);
		usleep(10000);
	}
	/* the group: a shell's children too; the leader is not reaped yet */
	kill(-x->pid, SIGKILL);
	kill(x->pid, SIGKILL);
	while (waitpid(x->pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (x->errfd >= 0) {
		/* every writer is gone or dying: take what is left */
		long long stop = onyx_mono_ms() + 200;
		while (x->errfd >= 0 && onyx_mono_ms() < stop) {
			struct pollfd p = {x->errfd, POLLIN, 0};
			if (poll(&p, 1, 50) > 0)
				read_stderr(x);
		}
		log_err(x, 1);
	}
	close_fd(&x->out);
	close_fd(&x->errfd);
	onyx_buf_free(&x->w);
	onyx_buf_free(&x->r);
	onyx_buf_free(&x->e);
	free(x->task);
	free(x);
}
