/* lib/metricshttp.c: the /metrics endpoint of a registry, over libmicrohttpd. */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bsd/string.h>
#include <microhttpd.h>

#include "errstr.h"
#include "buf.h"
#include "clock.h"
#include "conf.h"
#include "log.h"
#include "metrics.h"
#include "metricshttp.h"
#include "status.h"

#define CONNECTION_TIMEOUT_S 10 /* a client that says nothing is dropped */

struct onyx_metrics_http {
	struct onyx_metrics *m;
	struct MHD_Daemon *d;
	char addr[NI_MAXHOST + NI_MAXSERV + 4];
};

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned code, const char *type, char *body,
    size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r;
	enum MHD_Result rc;

	r = MHD_create_response_from_buffer(len, body, mode);
	if (r == NULL) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	rc = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return rc;
}

/* A short constant text. */
static enum MHD_Result
reply_text(struct MHD_Connection *c, unsigned code, const char *text)
{
	return reply(c, code, "text/plain; charset=utf-8", (char *)text,
	    strlen(text), MHD_RESPMEM_PERSISTENT);
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_len, void **state)
{
	struct onyx_metrics_http *h = cls;
	static int first;
	struct onyx_buf b = {0};

	(void)version;
	(void)upload;
	if (*state == NULL) {
		/* headers only so far: answer once the request is whole */
		*state = &first;
		return MHD_YES;
	}
	if (*upload_len != 0) {
		*upload_len = 0; /* a body is read and ignored */
		return MHD_YES;
	}
	if (strcmp(url, "/metrics") != 0)
		return reply_text(c, MHD_HTTP_NOT_FOUND,
		    "not found: the metrics are at /metrics\n");
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply_text(
		    c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET or HEAD only\n");
	onyx_metrics_expire(h->m, onyx_mono_ms());
	if (onyx_metrics_render(h->m, &b) != 0 ||
	    onyx_buf_append(&b, "", 0) != 0) {
		onyx_buf_free(&b);
		return reply_text(
		    c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	}
	if (b.p == NULL)
		return reply(c, MHD_HTTP_OK, ONYX_METRICS_CONTENT_TYPE,
		    (char *)"", 0, MHD_RESPMEM_PERSISTENT);
	return reply(c, MHD_HTTP_OK, ONYX_METRICS_CONTENT_TYPE, b.p, b.len,
	    MHD_RESPMEM_MUST_FREE);
}

/* Split HOST:PORT ([HOST]:PORT) into host and port. -1: not of that form. */
static int
split(const char *addr, char *host, size_t hlen, char *port, size_t plen)
{
	const char *c = strrchr(addr, ':'), *h = addr;
	size_t n;

	if (c == NULL || c[1] == '\0' ||
	    strspn(c + 1, "0123456789") != strlen(c + 1) || strlen(c + 1) > 5 ||
	    atoi(c + 1) > 65535)
		return -1;
	n = (size_t)(c - addr);
	if (n > 0 && addr[0] == '[') {
		if (addr[n - 1] != ']' || n < 3)
			return -1;
		h = addr + 1;
		n -= 2;
	} else if (memchr(addr, ':', n) != NULL)
		return -1; /* an IPv6 address goes in brackets */
	if (n >= hlen || memchr(h, '[', n) != NULL || memchr(h, ']', n) != NULL)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	strlcpy(port, c + 1, plen);
	return 0;
}

/* A listening socket on host:port; -1 with err filled. */
static int
listen_on(const char *what, const char *addr, const char *host,
    const char *port, int *status, char *bound, size_t blen, char *err,
    size_t errlen)
{
	struct addrinfo hints = {0}, *res, *ai;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char nh[NI_MAXHOST], np[NI_MAXSERV];
	int fd = -1, one = 1, rc, e = 0;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	if ((rc = getaddrinfo(*host ? host : NULL, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s '%s': host '%s': %s", what, addr,
		    host, gai_strerror(rc));
		*status = ONYX_ECONFIG;
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, 64) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "%s '%s': cannot listen: %s", what, addr,
		    onyx_strerror(e));
		*status = ONYX_EUNAVAIL;
		return -1;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
	    getnameinfo((struct sockaddr *)&ss, sl, nh, sizeof(nh), np,
	        sizeof(np), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(bound, blen, "%s", addr);
	else if (ss.ss_family == AF_INET6)
		snprintf(bound, blen, "[%s]:%s", nh, np);
	else
		snprintf(bound, blen, "%s:%s", nh, np);
	return fd;
}

int
onyx_metrics_http_start(struct onyx_metrics *m, const char *addr,
    const char *what, struct onyx_metrics_http **out, char *err, size_t errlen)
{
	struct onyx_metrics_http *h;
	char host[256], port[8];
	sigset_t all, old;
	int fd, st = ONYX_ERR;

	if (split(addr, host, sizeof(host), port, sizeof(port)) != 0) {
		snprintf(err, errlen,
		    "%s '%s' is not HOST:PORT (a port from 0 to 65535; an IPv6 address in brackets)",
		    what, addr);
		return ONYX_ECONFIG;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return ONYX_ERR;
	}
	h->m = m;
	if ((fd = listen_on(what, addr, host, port, &st, h->addr,
	         sizeof(h->addr), err, errlen)) < 0) {
		free(h);
		return st;
	}
	/* the server's thread leaves SIGINT and SIGTERM to the program */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	h->d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, 0, NULL, NULL,
	    handle, h, MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
	    MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (h->d == NULL) {
		close(fd);
		free(h);
		snprintf(err, errlen, "%s '%s': the HTTP server did not start",
		    what, addr);
		return ONYX_ERR;
	}
	onyx_log(ONYX_LOG_INFO, "metrics on http://%s/metrics", h->addr);
	*out = h;
	return ONYX_OK;
}

const char *
onyx_metrics_http_addr(const struct onyx_metrics_http *h)
{
	return h->addr;
}

void
onyx_metrics_http_stop(struct onyx_metrics_http *h)
{
	if (h == NULL)
		return;
	MHD_stop_daemon(h->d); /* closes the listening socket too */
	free(h);
}

int
onyx_metrics_http_open(const struct onyx_conf *c, struct onyx_metrics **m,
    struct onyx_metrics_http **h, char *err, size_t errlen)
{
	int st;

	*m = NULL;
	*h = NULL;
	if (c->metrics[0] == '\0')
		return ONYX_OK;
	if ((*m = onyx_metrics_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return ONYX_ERR;
	}
	if ((st = onyx_metrics_http_start(
	         *m, c->metrics, "--metrics", h, err, errlen)) != ONYX_OK) {
		onyx_metrics_free(*m);
		*m = NULL;
	}
	return st;
}

void
onyx_metrics_http_close(struct onyx_metrics *m, struct onyx_metrics_http *h)
{
	onyx_metrics_http_stop(h);
	onyx_metrics_free(m);
}
