/* lib/amqp.c: a blocking AMQP 1.0 client over a proton connection driver and our own socket. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>
#include <proton/codec.h>
#include <proton/condition.h>
#include <proton/connection.h>
#include <proton/connection_driver.h>
#include <proton/delivery.h>
#include <proton/disposition.h>
#include <proton/event.h>
#include <proton/link.h>
#include <proton/message.h>
#include <proton/object.h>
#include <proton/sasl.h>
#include <proton/session.h>
#include <proton/ssl.h>
#include <proton/terminus.h>
#include <proton/transport.h>

#include "errstr.h"
#include "clock.h"
#include "amqp.h"
#include "buf.h"
#include "status.h"

/* Delivery states the 0.37 headers lack (AMQP 1.0 transactions, part 4). */
#define TXN_DECLARE 0x31
#define TXN_DISCHARGE 0x32
#define TXN_DECLARED 0x33
#define TXN_STATE 0x34

#define IDLE_TIMEOUT_MS 60000
/* what is kept of a message over a link's limit: its headers and the start
 * of its body, for a dead letter that says what it was */
#define OVERSIZE_HEAD 32768
#define CREDIT_TIMEOUT_MS 30000 /* default wait for a sender's credit */
/* once the stop flag is up: how long a commit or an outcome may still take
 * (then the connection is dropped), and a link's or connection's close */
#define STOP_GRACE_MS 1000
#define STOP_CLOSE_MS 100
/* a wait that the stop flag can cut short polls at least this often */
#define INTR_SLICE_MS 100

PN_HANDLE(SEEN)

struct onyx_link {
	struct onyx_amqp *a;
	pn_link_t *l;
	char *address;
	int window;
	bool receiver;
	bool browse;         /* a browser: credit only by onyx_amqp_drain */
	bool untxn;          /* its accepts settle outside any transaction */
	struct onyx_buf buf; /* the last received message */
	/* With a limit (max > 0) a message is read as it arrives into inc,
	 * at most max bytes of it kept, and once whole parked (advanced past,
	 * unsettled) until recv hands it over: the engine never holds one
	 * whole, and what waits here is at most the window times max. */
	size_t max;
	pn_delivery_t *cur;  /* the delivery being read into inc */
	struct onyx_buf inc; /* what is kept of it */
	size_t total;        /* its bytes so far, kept or dropped */
	struct parked *park; /* whole messages, oldest at park[phead] */
	size_t phead, pn, pcap;
	struct onyx_link *next;
};

/* A whole message of a limited link, advanced past, waiting for recv. */
struct parked {
	pn_delivery_t *d;
	struct onyx_buf b; /* its first bytes, at most the link's max */
	size_t total;      /* its size */
};

/* One transaction: its state, its control delivery, its accepted messages. */
struct txslot {
	struct onyx_txn txn;
	pn_delivery_t *ctl;  /* declare or discharge in flight */
	pn_delivery_t **acc; /* accepted inside the transaction */
	size_t nacc, capacc;
	char err[512]; /* why it failed */
};

struct onyx_amqp {
	pn_connection_driver_t drv;
	int fd;
	pn_session_t *ssn;
	struct onyx_link *links;
	pn_link_t *coord;
	struct txslot cur;  /* the transaction being built */
	struct txslot prev; /* a commit in flight, when prev_busy */
	bool prev_busy;
	int rr;       /* the receiver served last by recv_any */
	long pending; /* transfers without an outcome */
	long refused; /* transfers refused since the last check */
	uint64_t tag;
	bool dead;
	int status; /* why dead */
	volatile sig_atomic_t *intr;
	int64_t stop_seen; /* when the stop flag was first seen up, or 0 */
	int credit_ms;     /* wait for a sender's credit */
	char starved[300]; /* the sender that last got no credit in time */
	char url[512];     /* redacted, for messages */
	bool tls;          /* amqps:// */
	char err[512];
	struct onyx_buf enc;
};

static void
seterr(struct onyx_amqp *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->err, sizeof(a->err), fmt, ap);
	va_end(ap);
}

static void
die(struct onyx_amqp *a, int st, const char *fmt, ...)
{
	va_list ap;

	if (!a->dead) {
		va_start(ap, fmt);
		vsnprintf(a->err, sizeof(a->err), fmt, ap);
		va_end(ap);
		a->status = st;
	}
	a->dead = true;
	onyx_txn_step(&a->cur.txn, ONYX_TXN_EV_LOST);
	a->cur.ctl = NULL;
	a->cur.nacc = 0;
	if (a->prev_busy) {
		onyx_txn_step(&a->prev.txn, ONYX_TXN_EV_LOST);
		a->prev.ctl = NULL;
		a->prev.nacc = 0;
	}
	a->pending = 0;
}

static const char *
cond_text(pn_condition_t *c, char *buf, size_t len)
{
	const char *n = pn_condition_get_name(c);
	const char *d = pn_condition_get_description(c);

	if (n == NULL && d == NULL)
		snprintf(buf, len, "no reason given");
	else if (d == NULL)
		snprintf(buf, len, "%s", n);
	else if (n == NULL)
		snprintf(buf, len, "%s", d);
	else
		snprintf(buf, len, "%s: %s", n, d);
	return buf;
}

static bool
seen(pn_delivery_t *d)
{
	pn_record_t *r = pn_delivery_attachments(d);

	if (pn_record_get(r, SEEN) != NULL)
		return true;
	pn_record_def(r, SEEN, PN_VOID);
	pn_record_set(r, SEEN, (void *)1);
	return false;
}

/* The outcome inside a transactional state: list[txn-id, outcome]. */
static uint64_t
txn_outcome(pn_data_t *data)
{
	uint64_t o = 0;

	pn_data_rewind(data);
	if (!pn_data_next(data) || pn_data_type(data) != PN_LIST)
		return 0;
	pn_data_enter(data);
	if (pn_data_next(data) && pn_data_next(data) &&
	    pn_data_type(data) == PN_DESCRIBED) {
		pn_data_enter(data);
		if (pn_data_next(data) && pn_data_type(data) == PN_ULONG)
			o = pn_data_get_ulong(data);
		pn_data_exit(data);
	}
	pn_data_exit(data);
	return o;
}

static void
on_send_outcome(struct onyx_amqp *a, pn_delivery_t *d)
{
	uint64_t st = pn_delivery_remote_state(d);
	bool ok;
	char why[256];

	if (st == 0 && !pn_delivery_settled(d))
		return;
	if (seen(d))
		return;
	if (st == TXN_STATE)
		st = txn_outcome(pn_disposition_data(pn_delivery_remote(d)));
	ok = st == PN_ACCEPTED;
	if (!ok) {
		a->refused++;
		seterr(a, "the broker refused a message (state 0x%llx): %s",
		    (unsigned long long)st,
		    cond_text(pn_disposition_condition(pn_delivery_remote(d)),
		        why, sizeof(why)));
	}
	pn_delivery_settle(d);
	if (a->pending > 0)
		a->pending--;
}

static void
on_ctl(struct onyx_amqp *a, pn_delivery_t *d)
{
	uint64_t st = pn_delivery_remote_state(d);
	struct txslot *t;
	char why[256];

	if (d == a->cur.ctl)
		t = &a->cur;
	else if (a->prev_busy && d == a->prev.ctl)
		t = &a->prev;
	else
		return;
	if (st == 0 && !pn_delivery_settled(d))
		return;
	t->ctl = NULL;
	if (st == TXN_DECLARED) {
		pn_data_t *data = pn_disposition_data(pn_delivery_remote(d));
		pn_data_rewind(data);
		pn_data_next(data);
		if (pn_data_type(data) == PN_LIST) {
			pn_data_enter(data);
			pn_data_next(data);
		}
		if (pn_data_type(data) == PN_BINARY) {
			pn_bytes_t id = pn_data_get_binary(data);
			if (onyx_txn_set_id(&t->txn, id.start, id.size) == 0 &&
			    onyx_txn_step(&t->txn, ONYX_TXN_EV_DECLARED) == 0) {
				pn_delivery_settle(d);
				return;
			}
		}
		snprintf(t->err, sizeof(t->err),
		    "the broker declared a transaction without a usable id");
		onyx_txn_step(&t->txn, ONYX_TXN_EV_REJECTED);
	} else if (st == PN_ACCEPTED) {
		onyx_txn_step(&t->txn, ONYX_TXN_EV_ACCEPTED);
	} else {
		snprintf(t->err, sizeof(t->err),
		    "the broker rejected the transaction %s: %s",
		    t->txn.state == ONYX_TXN_DECLARING ? "declare"
		                                       : "discharge",
		    cond_text(pn_disposition_condition(pn_delivery_remote(d)),
		        why, sizeof(why)));
		onyx_txn_step(&t->txn, ONYX_TXN_EV_REJECTED);
	}
	pn_delivery_settle(d);
}

/*
 * The connection ended with condition c: a refused login is ONYX_EAUTH (the
 * broker says so at SASL time or when it closes), anything else
 * ONYX_EUNAVAIL, described by what (a format taking the URL) and the reason.
 */
static void
die_by(struct onyx_amqp *a, pn_condition_t *c, const char *what)
{
	const char *name = pn_condition_get_name(c);
	char why[384], head[640];

	cond_text(c, why, sizeof(why));
	if (name != NULL && strcmp(name, "amqp:unauthorized-access") == 0) {
		die(a, ONYX_EAUTH, "%s refused the login: %s", a->url, why);
		return;
	}
	/* a certificate that does not verify: no retry can mend it */
	if (a->tls && strstr(why, "SSL Failure") != NULL) {
		die(a, ONYX_EAUTH,
		    "TLS with the broker at %s failed (is its certificate signed by the CA of ONYX_BROKER_CA, for the host name of the URL?): %s",
		    a->url, why);
		return;
	}
	snprintf(head, sizeof(head), what, a->url);
	die(a, ONYX_EUNAVAIL, "%s: %s", head, why);
}

/*
 * Read what has arrived of delivery d of ol (a link with a limit) into
 * ol->inc, keeping at most ol->max bytes and dropping the rest, so a long
 * message never piles up in the engine. Returns 1 when d is whole, 0 when
 * more is to come, -1 when out of memory.
 */
static int
gulp(struct onyx_link *ol, pn_delivery_t *d)
{
	char sink[16384];

	if (ol->cur != d) {
		ol->cur = d;
		ol->inc.len = 0;
		ol->total = 0;
	}
	for (;;) {
		size_t room = ol->inc.len < ol->max ? ol->max - ol->inc.len : 0;
		char *dst = sink;
		size_t n = sizeof(sink);
		ssize_t got;
		if (room > 0) {
			size_t want = pn_delivery_pending(d);
			if (want == 0 || want > room)
				want = room;
			if (want > 65536)
				want = 65536;
			if (onyx_buf_reserve(&ol->inc, want) != 0)
				return -1;
			dst = ol->inc.p + ol->inc.len;
			n = want;
		}
		got = pn_link_recv(ol->l, dst, n);
		if (got == PN_EOS)
			return 1;
		if (got <= 0)
			return got < 0 ? -1 : 0;
		if (room > 0)
			ol->inc.len += (size_t)got;
		ol->total += (size_t)got;
	}
}

/*
 * Read the arrived messages of limited link ol, parking each whole one
 * (its delivery advanced past, unsettled). Returns 0, -1 out of memory.
 */
static int
drain_limited(struct onyx_link *ol)
{
	pn_delivery_t *d;

	while (
	    (d = pn_link_current(ol->l)) != NULL && pn_delivery_readable(d)) {
		int r = gulp(ol, d);
		struct parked *pk;
		if (r <= 0)
			return r;
		if (ol->phead > 0 && ol->phead == ol->pn)
			ol->phead = ol->pn = 0;
		if (ol->pn == ol->pcap) {
			size_t cap = ol->pcap ? ol->pcap * 2 : 16;
			struct parked *p =
			    reallocarray(ol->park, cap, sizeof(*p));
			if (p == NULL)
				return -1;
			ol->park = p;
			ol->pcap = cap;
		}
		pk = &ol->park[ol->pn++];
		pk->d = d;
		pk->b = ol->inc; /* the parked message owns the bytes */
		pk->total = ol->total;
		/* of a message over the limit only its start is of use */
		if (pk->total > ol->max && pk->b.len > OVERSIZE_HEAD) {
			char *p = realloc(pk->b.p, OVERSIZE_HEAD);
			if (p != NULL) {
				pk->b.p = p;
				pk->b.len = pk->b.cap = OVERSIZE_HEAD;
			}
		}
		memset(&ol->inc, 0, sizeof(ol->inc));
		ol->cur = NULL;
		pn_link_advance(ol->l);
	}
	return 0;
}

static void
on_event(struct onyx_amqp *a, pn_event_t *e)
{
	char why[384];
	pn_link_t *l;
	pn_delivery_t *d;
	pn_condition_t *c;

	switch (pn_event_type(e)) {
	case PN_CONNECTION_REMOTE_CLOSE:
		die_by(a,
		    pn_connection_remote_condition(pn_event_connection(e)),
		    "%s closed the connection");
		pn_connection_close(pn_event_connection(e));
		break;
	case PN_SESSION_REMOTE_CLOSE:
		c = pn_session_remote_condition(pn_event_session(e));
		die(a, ONYX_EUNAVAIL, "%s closed the session: %s", a->url,
		    cond_text(c, why, sizeof(why)));
		pn_session_close(pn_event_session(e));
		break;
	case PN_LINK_REMOTE_CLOSE:
	case PN_LINK_REMOTE_DETACH:
		l = pn_event_link(e);
		/* the answer to our own detach: nothing went wrong */
		if (!(pn_link_state(l) & PN_LOCAL_ACTIVE))
			break;
		c = pn_link_remote_condition(l);
		if (pn_condition_is_set(c))
			cond_text(c, why, sizeof(why));
		else
			snprintf(why, sizeof(why),
			    "the broker detached the link '%s'",
			    pn_link_name(l));
		seterr(a, "%s", why);
		if (l == a->coord)
			die(a, ONYX_EUNAVAIL,
			    "the broker closed the transaction coordinator: %s",
			    why);
		pn_link_close(l);
		break;
	case PN_TRANSPORT_ERROR:
		die_by(a, pn_transport_condition(pn_event_transport(e)),
		    "connection to %s failed");
		break;
	case PN_TRANSPORT_CLOSED:
		die(a, ONYX_EUNAVAIL, "connection to %s closed", a->url);
		break;
	case PN_DELIVERY:
		d = pn_event_delivery(e);
		l = pn_delivery_link(d);
		if (!pn_link_is_sender(l)) {
			/* drain a limited link's message as it comes */
			struct onyx_link *ol = pn_link_get_context(l);
			if (ol != NULL && ol->max > 0)
				(void)drain_limited(ol);
			break;
		}
		if (l == a->coord)
			on_ctl(a, d);
		else if (pn_delivery_updated(d))
			on_send_outcome(a, d);
		break;
	default: break;
	}
}

static void
process(struct onyx_amqp *a)
{
	pn_event_t *e;

	while ((e = pn_connection_driver_next_event(&a->drv)) != NULL)
		on_event(a, e);
	if (pn_connection_driver_finished(&a->drv))
		die(a, ONYX_EUNAVAIL, "connection to %s closed", a->url);
}

/* Move bytes between the socket and the engine without blocking. */
static int
shovel(struct onyx_amqp *a)
{
	int moved = 0;

	for (;;) {
		pn_rwbytes_t rb = pn_connection_driver_read_buffer(&a->drv);
		ssize_t n;
		if (rb.size == 0)
			break;
		n = read(a->fd, rb.start, rb.size);
		if (n > 0) {
			pn_connection_driver_read_done(&a->drv, n);
			moved = 1;
			if ((size_t)n < rb.size)
				break;
			continue;
		}
		if (n == 0) {
			pn_connection_driver_read_close(&a->drv);
			moved = 1;
		} else if (errno != EAGAIN && errno != EINTR) {
			pn_connection_driver_errorf(&a->drv, "onyx:io",
			    "read from %s: %s", a->url, onyx_strerror(errno));
			pn_connection_driver_close(&a->drv);
			moved = 1;
		}
		break;
	}
	process(a);
	for (;;) {
		pn_bytes_t wb = pn_connection_driver_write_buffer(&a->drv);
		ssize_t n;
		if (wb.size == 0)
			break;
		n = send(a->fd, wb.start, wb.size, MSG_NOSIGNAL);
		if (n > 0) {
			pn_connection_driver_write_done(&a->drv, n);
			moved = 1;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		pn_connection_driver_errorf(&a->drv, "onyx:io",
		    "write to %s: %s", a->url, onyx_strerror(errno));
		pn_connection_driver_close(&a->drv);
		moved = 1;
		break;
	}
	process(a);
	return moved;
}

/*
 * One turn of the I/O loop: move what can move now; if nothing did, sleep in
 * poll until the socket or fd is ready or timeout_ms passes. Returns 1 when
 * fd is readable, 0 otherwise, or an error status.
 */
static int
pump(struct onyx_amqp *a, int timeout_ms, int fd, bool intr)
{
	struct pollfd p[2];
	int64_t now, next;
	int n, t = timeout_ms;

	if (a->dead)
		return a->status;
	if (intr && a->intr != NULL && *a->intr)
		return ONYX_EINTR;
	if (shovel(a) && fd < 0)
		return a->dead ? a->status : 0;
	if (a->dead)
		return a->status;
	now = onyx_mono_ms();
	next = pn_transport_tick(a->drv.transport, now);
	/* The tick may emit frames; anything that moves now must be seen by
	 * the caller before we sleep. */
	if (shovel(a) && fd < 0)
		return a->dead ? a->status : 0;
	if (a->dead)
		return a->status;
	if (next > 0 && (t < 0 || next - now < t))
		t = next - now < 0 ? 0 : (int)(next - now);
	/* the flag is set by another thread, whose signal does not reach
	 * this poll: look at it often */
	if (a->intr != NULL && (t < 0 || t > INTR_SLICE_MS))
		t = INTR_SLICE_MS;
	p[0].fd = a->fd;
	p[0].events = POLLIN;
	if (pn_connection_driver_write_buffer(&a->drv).size > 0)
		p[0].events |= POLLOUT;
	p[1].fd = fd;
	p[1].events = POLLIN;
	p[0].revents = p[1].revents = 0;
	n = poll(p, fd >= 0 ? 2 : 1, t);
	if (n < 0 && errno != EINTR) {
		die(a, ONYX_ERR, "poll: %s", onyx_strerror(errno));
		return a->status;
	}
	if (intr && a->intr != NULL && *a->intr)
		return ONYX_EINTR;
	if (n > 0 && p[0].revents)
		shovel(a);
	if (a->dead)
		return a->status;
	return n > 0 && fd >= 0 && p[1].revents ? 1 : 0;
}

static int
remaining(int64_t deadline)
{
	int64_t r;

	if (deadline < 0)
		return -1;
	r = deadline - onyx_mono_ms();
	return r < 0 ? 0 : (int)r;
}

static int64_t
deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : onyx_mono_ms() + timeout_ms;
}

/* Is the stop flag up? Notes when it was first seen up. */
static bool
stopping(struct onyx_amqp *a)
{
	if (a->intr == NULL || !*a->intr) {
		a->stop_seen = 0;
		return false;
	}
	if (a->stop_seen == 0)
		a->stop_seen = onyx_mono_ms();
	return true;
}

/* What a wait waits for. */
typedef bool wait_done(struct onyx_amqp *a, const void *arg);

/*
 * The one way this file waits: service the connection until done(a, arg),
 * the monotonic deadline (-1: none) or the stop flag. With intr the flag
 * ends the wait at once; without, it cuts the wait to STOP_GRACE_MS after
 * it was first seen (the answer to a commit is worth that much). Returns
 * ONYX_OK when done, ONYX_ETIMEDOUT, ONYX_EINTR, or the connection's error.
 */
static int
wait_for(struct onyx_amqp *a, wait_done *done, const void *arg,
    int64_t deadline, bool intr)
{
	for (;;) {
		int64_t d = deadline;
		bool cut = false;
		int rc;

		if (a->dead)
			return a->status;
		if (done(a, arg))
			return ONYX_OK;
		if (stopping(a)) {
			if (intr)
				return ONYX_EINTR;
			if (d < 0 || a->stop_seen + STOP_GRACE_MS < d) {
				d = a->stop_seen + STOP_GRACE_MS;
				cut = true;
			}
		}
		if (d >= 0 && remaining(d) == 0)
			return cut ? ONYX_EINTR : ONYX_ETIMEDOUT;
		if ((rc = pump(a, remaining(d), -1, false)) < 0)
			return rc;
	}
}

static bool
has_credit(struct onyx_amqp *a, const void *l)
{
	(void)a;
	return pn_link_credit((pn_link_t *)l) > 0;
}

static bool
all_settled(struct onyx_amqp *a, const void *arg)
{
	(void)arg;
	return a->pending <= 0;
}

static bool
ctl_answered(struct onyx_amqp *a, const void *t)
{
	(void)a;
	return ((const struct txslot *)t)->ctl == NULL;
}

static bool
link_answered(struct onyx_amqp *a, const void *l)
{
	(void)a;
	return pn_link_state((pn_link_t *)l) &
	    (PN_REMOTE_ACTIVE | PN_REMOTE_CLOSED);
}

static bool
link_gone(struct onyx_amqp *a, const void *l)
{
	(void)a;
	return pn_link_state((pn_link_t *)l) & PN_REMOTE_CLOSED;
}

static bool
conn_gone(struct onyx_amqp *a, const void *arg)
{
	(void)arg;
	return pn_connection_driver_finished(&a->drv) ||
	    !(pn_connection_state(a->drv.connection) & PN_REMOTE_ACTIVE);
}

/* The wait for credit, from ONYX_CREDIT_TIMEOUT_MS (ms) or the default. */
static int
credit_timeout(int *ms, char *err, size_t errlen)
{
	const char *e = getenv("ONYX_CREDIT_TIMEOUT_MS");
	char *end;
	long v;

	*ms = CREDIT_TIMEOUT_MS;
	if (e == NULL || *e == '\0')
		return ONYX_OK;
	errno = 0;
	v = strtol(e, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > 86400000) {
		snprintf(err, errlen,
		    "ONYX_CREDIT_TIMEOUT_MS must be milliseconds from 1 to 86400000, not '%s'",
		    e);
		return ONYX_ECONFIG;
	}
	*ms = (int)v;
	return ONYX_OK;
}

static int
tcp_connect(const char *host, const char *port, int timeout_ms, char *err,
    size_t errlen, const char *url)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, rc, e = 0, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve the broker %s: %s", url,
		    gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct pollfd p;
		socklen_t sl = sizeof(e);

		fd = socket(ai->ai_family,
		    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno != EINPROGRESS) {
			e = errno;
			close(fd);
			fd = -1;
			continue;
		}
		p.fd = fd;
		p.events = POLLOUT;
		rc = poll(&p, 1, timeout_ms);
		if (rc == 1 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) == 0 &&
		    e == 0)
			break;
		if (rc == 0)
			e = ETIMEDOUT;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "cannot connect to the broker at %s: %s",
		    url, onyx_strerror(e ? e : ECONNREFUSED));
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Does host resolve to loopback addresses only? (A name that does not
 * resolve is not: the connection fails later with its own message.) */
static bool
loopback_only(const char *host, const char *port)
{
	struct addrinfo hints, *res, *ai;
	bool lo = true;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return false;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET) {
			const struct sockaddr_in *in = (void *)ai->ai_addr;
			if ((ntohl(in->sin_addr.s_addr) >> 24) != 127)
				lo = false;
		} else if (ai->ai_family == AF_INET6) {
			const struct sockaddr_in6 *in6 = (void *)ai->ai_addr;
			if (!IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
				lo = false;
		} else
			lo = false;
	}
	freeaddrinfo(res);
	return lo;
}

/* Put TLS on transport t: the CA, peer name verification, the client
 * certificate. Returns ONYX_OK or ONYX_ECONFIG with err filled. */
static int
setup_tls(pn_transport_t *t, const struct onyx_conf *c, const char *host,
    char *err, size_t errlen)
{
	pn_ssl_domain_t *dom = pn_ssl_domain(PN_SSL_MODE_CLIENT);
	pn_ssl_t *ssl;
	int st = ONYX_ECONFIG;

	if (dom == NULL) {
		snprintf(err, errlen, "TLS is not available in this proton");
		return ONYX_ECONFIG;
	}
	if (c->ca[0] != '\0' &&
	    pn_ssl_domain_set_trusted_ca_db(dom, c->ca) != 0) {
		snprintf(err, errlen,
		    "broker CA file %s: not a PEM file of certificates", c->ca);
		goto out;
	}
	if (pn_ssl_domain_set_peer_authentication(
	        dom, PN_SSL_VERIFY_PEER_NAME, NULL) != 0) {
		snprintf(err, errlen,
		    "cannot verify the broker's certificate (broker CA file %s)",
		    c->ca[0] ? c->ca : "none: the system's");
		goto out;
	}
	if (c->cert[0] != '\0' &&
	    pn_ssl_domain_set_credentials(dom, c->cert,
	        c->key[0] != '\0' ? c->key : c->cert, NULL) != 0) {
		snprintf(err, errlen,
		    "broker client certificate %s with key %s: not a matching PEM certificate and key",
		    c->cert, c->key[0] != '\0' ? c->key : c->cert);
		goto out;
	}
	if ((ssl = pn_ssl(t)) == NULL || pn_ssl_init(ssl, dom, NULL) != 0 ||
	    pn_ssl_set_peer_hostname(ssl, host) != 0) {
		snprintf(err, errlen, "cannot start TLS to the broker");
		goto out;
	}
	st = ONYX_OK;
out:
	pn_ssl_domain_free(dom);
	return st;
}

static void
put_symbol_cap(pn_terminus_t *t, const char *sym)
{
	pn_data_t *caps = pn_terminus_capabilities(t);

	pn_data_put_symbol(caps, pn_bytes(strlen(sym), sym));
}

int
onyx_amqp_connect(const struct onyx_conf *c, int timeout_ms,
    struct onyx_amqp **out, char *err, size_t errlen)
{
	struct onyx_amqp *a;
	struct onyx_url u;
	pn_transport_t *t;
	pn_sasl_t *sasl;
	char cid[320];
	int64_t deadline = deadline_of(timeout_ms);
	int st;
	const char *user, *pass;
	int credit_ms, mech;

	*out = NULL;
	if ((st = onyx_url_parse(c->broker, &u, err, errlen)) != ONYX_OK)
		return st;
	if ((st = credit_timeout(&credit_ms, err, errlen)) != ONYX_OK)
		return st;
	user = u.user[0] ? u.user : c->user;
	pass = u.password[0] ? u.password : c->password;
	/* decided before any byte is sent: a password never crosses the
	 * network in the clear unless the user said so */
	mech = onyx_conf_sasl(u.tls, user[0] != '\0', c->cert[0] != '\0',
	    u.tls || user[0] == '\0' ? true : loopback_only(u.host, u.port),
	    c->insecure_plain, err, errlen);
	if (mech < 0) {
		char why[400], url[512];
		snprintf(why, sizeof(why), "%s", err);
		onyx_url_redact(c->broker, url, sizeof(url));
		snprintf(err, errlen, "broker %s: %s", url, why);
		return ONYX_ECONFIG;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return ONYX_ERR;
	}
	a->credit_ms = credit_ms;
	onyx_txn_init(&a->cur.txn);
	onyx_txn_init(&a->prev.txn);
	onyx_url_redact(c->broker, a->url, sizeof(a->url));
	a->fd = tcp_connect(u.host, u.port, timeout_ms, err, errlen, a->url);
	if (a->fd < 0) {
		free(a);
		return ONYX_EUNAVAIL;
	}
	if (pn_connection_driver_init(&a->drv, NULL, NULL) != 0) {
		close(a->fd);
		free(a);
		snprintf(err, errlen, "out of memory");
		return ONYX_ERR;
	}
	t = a->drv.transport;
	a->tls = u.tls;
	if (u.tls && (st = setup_tls(t, c, u.host, err, errlen)) != ONYX_OK) {
		pn_connection_driver_destroy(&a->drv);
		close(a->fd);
		free(a);
		return st;
	}
	sasl = pn_sasl(t);
	/* cleartext PLAIN passed onyx_conf_sasl: loopback or allowed */
	pn_sasl_set_allow_insecure_mechs(sasl, true);
	if (mech == ONYX_SASL_PLAIN) {
		pn_sasl_allowed_mechs(sasl, "PLAIN");
		pn_connection_set_user(a->drv.connection, user);
		pn_connection_set_password(a->drv.connection, pass);
	} else if (mech == ONYX_SASL_EXTERNAL)
		pn_sasl_allowed_mechs(sasl, "EXTERNAL");
	else
		pn_sasl_allowed_mechs(sasl, "ANONYMOUS");
	pn_transport_set_idle_timeout(t, IDLE_TIMEOUT_MS);
	if (c->container[0] != '\0')
		snprintf(cid, sizeof(cid), "%s", c->container);
	else
		snprintf(cid, sizeof(cid), "onyx-%ld-%lld", (long)getpid(),
		    (long long)onyx_mono_ms());
	pn_connection_set_container(a->drv.connection, cid);
	pn_connection_set_hostname(a->drv.connection, u.host);
	pn_connection_open(a->drv.connection);
	a->ssn = pn_session(a->drv.connection);
	pn_session_set_incoming_capacity(a->ssn, 64 * 1024 * 1024);
	pn_session_open(a->ssn);
	while (!a->dead && !(pn_session_state(a->ssn) & PN_REMOTE_ACTIVE)) {
		if (remaining(deadline) == 0) {
			die(a, ONYX_ETIMEDOUT,
			    "no answer from the broker at %s within %d ms",
			    a->url, timeout_ms);
			break;
		}
		pump(a, remaining(deadline), -1, false);
	}
	if (a->dead) {
		st = a->status;
		snprintf(err, errlen, "%s", a->err);
		onyx_amqp_close(a);
		return st;
	}
	*out = a;
	return ONYX_OK;
}

const char *
onyx_amqp_error(const struct onyx_amqp *a)
{
	return a->err;
}

void
onyx_amqp_set_interrupt(struct onyx_amqp *a, volatile sig_atomic_t *flag)
{
	a->intr = flag;
	a->stop_seen = 0;
}

void
onyx_amqp_set_credit_timeout(struct onyx_amqp *a, int timeout_ms)
{
	a->credit_ms = timeout_ms < 1 ? 1 : timeout_ms;
}

const char *
onyx_amqp_starved(const struct onyx_amqp *a)
{
	return a->starved[0] != '\0' ? a->starved : NULL;
}

bool
onyx_amqp_alive(const struct onyx_amqp *a)
{
	return a != NULL && !a->dead;
}

static void
link_free(struct onyx_link *ol)
{
	struct onyx_link **pp;

	for (pp = &ol->a->links; *pp != NULL; pp = &(*pp)->next)
		if (*pp == ol) {
			*pp = ol->next;
			break;
		}
	free(ol->address);
	onyx_buf_free(&ol->buf);
	onyx_buf_free(&ol->inc);
	for (; ol->phead < ol->pn; ol->phead++)
		onyx_buf_free(&ol->park[ol->phead].b);
	free(ol->park);
	free(ol);
}

void
onyx_amqp_close(struct onyx_amqp *a)
{
	int64_t deadline;

	if (a == NULL)
		return;
	while (a->links != NULL)
		onyx_amqp_link_close(a->links);
	if (!a->dead && a->drv.connection != NULL) {
		pn_connection_close(a->drv.connection);
		deadline = deadline_of(stopping(a) ? 2 * STOP_CLOSE_MS : 2000);
		wait_for(a, conn_gone, NULL, deadline, false);
		/* write what is left, the close frame above all */
		shovel(a);
	}
	if (a->fd >= 0)
		close(a->fd);
	pn_connection_driver_destroy(&a->drv);
	free(a->cur.acc);
	free(a->prev.acc);
	onyx_buf_free(&a->enc);
	free(a);
}

static int
attach(
    struct onyx_amqp *a, pn_link_t *l, struct onyx_link **out, const char *what)
{
	struct onyx_link *ol;
	int st;

	pn_link_open(l);
	st = wait_for(a, link_answered, l, deadline_of(30000), true);
	if (st == ONYX_ETIMEDOUT)
		seterr(a, "the broker did not attach %s within 30 s", what);
	else if (st == ONYX_EINTR)
		seterr(a, "stopped while attaching %s", what);
	if (st != ONYX_OK)
		return st;
	/* A refused attach comes as an attach without terminus, then a detach. */
	pump(a, 0, -1, false);
	if (pn_link_state(l) & PN_REMOTE_CLOSED) {
		char why[512];
		strlcpy(why, a->err, sizeof(why));
		seterr(a, "the broker refused %s: %s", what, why);
		pn_link_close(l);
		pn_link_free(l);
		return ONYX_EREJECTED;
	}
	if ((ol = calloc(1, sizeof(*ol))) == NULL)
		return ONYX_ERR;
	ol->a = a;
	ol->l = l;
	ol->next = a->links;
	a->links = ol;
	*out = ol;
	return ONYX_OK;
}

int
onyx_amqp_sender(struct onyx_amqp *a, const char *address, bool anycast,
    struct onyx_link **out)
{
	char name[300], what[320];
	pn_link_t *l;
	int st;

	if (a->dead)
		return a->status;
	snprintf(name, sizeof(name), "send:%s:%llu", address,
	    (unsigned long long)++a->tag);
	l = pn_sender(a->ssn, name);
	pn_terminus_set_address(pn_link_target(l), address);
	if (anycast)
		put_symbol_cap(pn_link_target(l), "queue");
	pn_terminus_set_address(pn_link_source(l), name);
	pn_link_set_snd_settle_mode(l, PN_SND_UNSETTLED);
	pn_link_set_rcv_settle_mode(l, PN_RCV_FIRST);
	snprintf(what, sizeof(what), "a sender to '%s'", address);
	if ((st = attach(a, l, out, what)) != ONYX_OK)
		return st;
	(*out)->address = strdup(address);
	return ONYX_OK;
}

static void
top_up(struct onyx_link *ol)
{
	/* parked messages count as queued: they are not read yet */
	int have = pn_link_credit(ol->l) + pn_link_queued(ol->l) +
	    (int)(ol->pn - ol->phead);

	if (ol->browse || ol->untxn)
		return;
	if (have <= ol->window / 2)
		pn_link_flow(ol->l, ol->window - have);
}

/*
 * A receiver from address (NULL: a dynamic queue); with browse, a browser;
 * with selector, only the messages it selects (the JMS selector source
 * filter Artemis takes on AMQP links).
 */
static int
open_receiver(struct onyx_amqp *a, const char *address, int window, bool browse,
    bool untxn, const char *selector, struct onyx_link **out)
{
	char name[300], what[320];
	pn_link_t *l;
	const char *ra;
	int st;

	if (a->dead)
		return a->status;
	snprintf(name, sizeof(name), "%s:%s:%llu", browse ? "browse" : "recv",
	    address ? address : "dynamic", (unsigned long long)++a->tag);
	l = pn_receiver(a->ssn, name);
	if (address != NULL) {
		pn_terminus_set_address(pn_link_source(l), address);
		put_symbol_cap(pn_link_source(l), "queue");
	} else
		pn_terminus_set_dynamic(pn_link_source(l), true);
	/* a copy of each message: the broker browses, the queue keeps them */
	if (browse)
		pn_terminus_set_distribution_mode(
		    pn_link_source(l), PN_DIST_MODE_COPY);
	if (selector != NULL) {
		static const char fk[] = "apache.org:selector-filter:string";
		pn_data_t *f = pn_terminus_filter(pn_link_source(l));
		pn_data_put_map(f);
		pn_data_enter(f);
		pn_data_put_symbol(f, pn_bytes(strlen(fk), fk));
		pn_data_put_described(f);
		pn_data_enter(f);
		pn_data_put_symbol(f, pn_bytes(strlen(fk), fk));
		pn_data_put_string(f, pn_bytes(strlen(selector), selector));
		pn_data_exit(f);
		pn_data_exit(f);
	}
	pn_terminus_set_address(pn_link_target(l), name);
	pn_link_set_snd_settle_mode(l, PN_SND_UNSETTLED);
	pn_link_set_rcv_settle_mode(l, PN_RCV_FIRST);
	snprintf(what, sizeof(what), "a %s from '%s'",
	    browse ? "browser" : "receiver",
	    address ? address : "a temporary queue");
	if ((st = attach(a, l, out, what)) != ONYX_OK)
		return st;
	ra = address ? address
	             : pn_terminus_get_address(pn_link_remote_source(l));
	(*out)->address = strdup(ra ? ra : "");
	(*out)->receiver = true;
	(*out)->browse = browse;
	(*out)->untxn = untxn;
	(*out)->window = window < 1 ? 1 : window;
	pn_link_set_context(l, *out);
	top_up(*out);
	return ONYX_OK;
}

int
onyx_amqp_receiver(struct onyx_amqp *a, const char *address, int window,
    struct onyx_link **out)
{
	return open_receiver(a, address, window, false, false, NULL, out);
}

int
onyx_amqp_browser(
    struct onyx_amqp *a, const char *address, struct onyx_link **out)
{
	return onyx_amqp_browser_select(a, address, NULL, out);
}

int
onyx_amqp_browser_select(struct onyx_amqp *a, const char *address,
    const char *selector, struct onyx_link **out)
{
	if (address == NULL || *address == '\0') {
		seterr(a, "a browser needs a queue");
		return ONYX_ERR;
	}
	return open_receiver(a, address, 1, true, false, selector, out);
}

int
onyx_amqp_taker(struct onyx_amqp *a, const char *address, const char *selector,
    struct onyx_link **out)
{
	if (address == NULL || *address == '\0' || selector == NULL) {
		seterr(a, "a taker needs a queue and a selector");
		return ONYX_ERR;
	}
	return open_receiver(a, address, 1, false, true, selector, out);
}

/* The broker has used or returned the credit, and no message is half in. */
static bool
drained(struct onyx_amqp *a, const void *l)
{
	pn_link_t *pl = (pn_link_t *)l;
	pn_delivery_t *d;

	(void)a;
	if (pn_link_draining(pl))
		return false;
	for (d = pn_unsettled_head(pl); d != NULL; d = pn_unsettled_next(d))
		if (pn_delivery_partial(d))
			return false;
	return true;
}

int
onyx_amqp_drain(struct onyx_link *ol, int credit, int timeout_ms)
{
	struct onyx_amqp *a = ol->a;
	int st;

	if (a->dead)
		return a->status;
	pn_link_drain(ol->l, credit < 1 ? 1 : credit);
	st = wait_for(a, drained, ol->l, deadline_of(timeout_ms), true);
	if (st == ONYX_OK)
		pn_link_set_drain(ol->l, false);
	else if (st == ONYX_ETIMEDOUT)
		seterr(a,
		    "the broker did not answer a drain of '%s' within %d ms",
		    ol->address, timeout_ms);
	else if (st == ONYX_EINTR)
		seterr(a, "stopped while browsing '%s'", ol->address);
	return st;
}

const char *
onyx_amqp_link_address(const struct onyx_link *l)
{
	return l->address ? l->address : "";
}

void
onyx_amqp_set_window(struct onyx_link *l, int window)
{
	l->window = window < 1 ? 1 : window;
}

void
onyx_amqp_set_max_message(struct onyx_link *l, size_t max)
{
	l->max = max;
}

void
onyx_amqp_link_close(struct onyx_link *ol)
{
	struct onyx_amqp *a = ol->a;
	pn_delivery_t *d;
	int64_t deadline;

	for (; ol->phead < ol->pn; ol->phead++) {
		struct parked *pk = &ol->park[ol->phead];
		if (!a->dead) {
			pn_delivery_update(pk->d, PN_RELEASED);
			pn_delivery_settle(pk->d);
		}
		onyx_buf_free(&pk->b);
	}
	if (!a->dead && ol->receiver) {
		/* Hand back what arrived on credit and was never read. */
		while ((d = pn_link_current(ol->l)) != NULL) {
			pn_link_advance(ol->l);
			pn_delivery_update(d, PN_RELEASED);
			pn_delivery_settle(d);
		}
	}
	if (!a->dead) {
		pn_link_close(ol->l);
		deadline = deadline_of(stopping(a) ? STOP_CLOSE_MS : 2000);
		wait_for(a, link_gone, ol->l, deadline, false);
	}
	pn_link_set_context(ol->l, NULL);
	pn_link_free(ol->l);
	link_free(ol);
}

int
onyx_amqp_send(struct onyx_link *ol, const void *bytes, size_t size, bool txn)
{
	struct onyx_amqp *a = ol->a;
	pn_delivery_t *d;
	uint64_t tag;
	int st;

	if (a->dead)
		return a->status;
	if (pn_link_credit(ol->l) <= 0) {
		st = wait_for(
		    a, has_credit, ol->l, deadline_of(a->credit_ms), true);
		if (st == ONYX_ETIMEDOUT) {
			strlcpy(a->starved, ol->address ? ol->address : "",
			    sizeof(a->starved));
			seterr(a,
			    "the broker gave no credit to send to '%s' within %d ms",
			    a->starved, a->credit_ms);
		} else if (st == ONYX_EINTR)
			seterr(a,
			    "stopped while waiting for credit to send to '%s'",
			    ol->address ? ol->address : "");
		if (st != ONYX_OK)
			return st;
	}
	/* that address has credit again */
	if (a->starved[0] != '\0' && ol->address != NULL &&
	    strcmp(a->starved, ol->address) == 0)
		a->starved[0] = '\0';
	if (txn && a->cur.txn.state != ONYX_TXN_ACTIVE) {
		seterr(a, "send inside a transaction that is %s",
		    onyx_txn_state_name(a->cur.txn.state));
		return ONYX_ERR;
	}
	tag = ++a->tag;
	d = pn_delivery(ol->l, pn_dtag((const char *)&tag, sizeof(tag)));
	if (txn) {
		pn_data_t *data = pn_disposition_data(pn_delivery_local(d));
		pn_data_clear(data);
		pn_data_put_list(data);
		pn_data_enter(data);
		pn_data_put_binary(data,
		    pn_bytes(a->cur.txn.idlen, (const char *)a->cur.txn.id));
		pn_data_exit(data);
		pn_delivery_update(d, TXN_STATE);
	}
	pn_link_send(ol->l, bytes, size);
	pn_link_advance(ol->l);
	a->pending++;
	/* Keep the socket busy without waiting for anything. */
	if (pn_connection_driver_write_buffer(&a->drv).size >= 64 * 1024)
		shovel(a);
	return a->dead ? a->status : ONYX_OK;
}

int
onyx_amqp_settle_sends(struct onyx_amqp *a, int timeout_ms)
{
	int st = wait_for(a, all_settled, NULL, deadline_of(timeout_ms), false);

	if (st == ONYX_ETIMEDOUT)
		seterr(a,
		    "the broker did not confirm %ld messages within %d ms",
		    a->pending, timeout_ms);
	else if (st == ONYX_EINTR)
		seterr(a,
		    "stopped while waiting for the broker to confirm %ld messages",
		    a->pending);
	if (st != ONYX_OK)
		return st;
	if (a->refused > 0) {
		a->refused = 0;
		return ONYX_EREJECTED;
	}
	return ONYX_OK;
}

/* Copy the whole delivery d of ol into ol's buffer and advance. */
static int
take(struct onyx_link *ol, pn_delivery_t *d, struct onyx_amqp_msg *m)
{
	ol->buf.len = 0;
	for (;;) {
		size_t n = pn_delivery_pending(d);
		ssize_t got;
		if (n == 0)
			n = 1024;
		if (onyx_buf_reserve(&ol->buf, n) != 0)
			return ONYX_ERR;
		got = pn_link_recv(ol->l, ol->buf.p + ol->buf.len, n);
		if (got == PN_EOS)
			break;
		if (got < 0) {
			seterr(ol->a, "reading a message: error %zd", got);
			return ONYX_ERR;
		}
		ol->buf.len += (size_t)got;
	}
	pn_link_advance(ol->l);
	top_up(ol);
	m->handle = d;
	m->bytes = ol->buf.p;
	m->size = ol->buf.len;
	m->total = ol->buf.len;
	return ONYX_OK;
}

/*
 * Hand over the oldest whole message of limited link ol: ONYX_OK with *m
 * set, 1 when none is whole yet, ONYX_ERR when out of memory.
 */
static int
take_limited(struct onyx_link *ol, struct onyx_amqp_msg *m)
{
	struct parked *pk;

	if (drain_limited(ol) != 0) {
		seterr(ol->a, "reading a message: out of memory");
		return ONYX_ERR;
	}
	if (ol->phead == ol->pn)
		return 1;
	pk = &ol->park[ol->phead++];
	/* the bytes handed out last are done with: this message's replace
	 * them, valid until the next recv */
	onyx_buf_free(&ol->buf);
	ol->buf = pk->b;
	m->handle = pk->d;
	m->bytes = ol->buf.p;
	m->size = ol->buf.len;
	m->total = pk->total;
	top_up(ol);
	return ONYX_OK;
}

int
onyx_amqp_recv_any(struct onyx_link **links, int n, int timeout_ms,
    struct onyx_amqp_msg *m, int *which)
{
	struct onyx_amqp *a = links[0]->a;
	int64_t deadline = deadline_of(timeout_ms);
	int i, k;

	for (;;) {
		int rc;
		if (a->dead)
			return a->status;
		/* start after the link served last, so no queue starves */
		for (k = 0; k < n; k++) {
			struct onyx_link *ol;
			pn_delivery_t *d;
			i = (a->rr + 1 + k) % n;
			ol = links[i];
			d = pn_link_current(ol->l);
			if (ol->max > 0) {
				int r = take_limited(ol, m);
				if (r <= 0) {
					a->rr = i;
					if (which != NULL)
						*which = i;
					return r;
				}
			} else if (d != NULL && pn_delivery_readable(d) &&
			    !pn_delivery_partial(d)) {
				a->rr = i;
				if (which != NULL)
					*which = i;
				return take(ol, d, m);
			}
			if (d == NULL || !pn_delivery_partial(d))
				top_up(ol);
		}
		if (timeout_ms >= 0 && remaining(deadline) == 0)
			return ONYX_ETIMEDOUT;
		rc = pump(a, remaining(deadline), -1, true);
		if (rc < 0)
			return rc;
	}
}

int
onyx_amqp_recv(struct onyx_link *ol, int timeout_ms, struct onyx_amqp_msg *m)
{
	return onyx_amqp_recv_any(&ol, 1, timeout_ms, m, NULL);
}

int
onyx_amqp_accept(struct onyx_amqp *a, struct onyx_amqp_msg *m)
{
	pn_delivery_t *d = m->handle;

	struct onyx_link *ol = pn_link_get_context(pn_delivery_link(d));

	if (a->dead)
		return a->status;
	/* a browser's copy, or a taker's message, is settled outside any
	 * transaction */
	if (a->cur.txn.state == ONYX_TXN_ACTIVE &&
	    !(ol != NULL && (ol->browse || ol->untxn))) {
		pn_data_t *data = pn_disposition_data(pn_delivery_local(d));
		if (a->cur.nacc == a->cur.capacc) {
			size_t cap = a->cur.capacc ? a->cur.capacc * 2 : 256;
			pn_delivery_t **p =
			    reallocarray(a->cur.acc, cap, sizeof(*p));
			if (p == NULL)
				return ONYX_ERR;
			a->cur.acc = p;
			a->cur.capacc = cap;
		}
		pn_data_clear(data);
		pn_data_put_list(data);
		pn_data_enter(data);
		pn_data_put_binary(data,
		    pn_bytes(a->cur.txn.idlen, (const char *)a->cur.txn.id));
		pn_data_put_described(data);
		pn_data_enter(data);
		pn_data_put_ulong(data, PN_ACCEPTED);
		pn_data_put_list(data);
		pn_data_exit(data);
		pn_data_exit(data);
		pn_delivery_update(d, TXN_STATE);
		a->cur.acc[a->cur.nacc++] = d;
	} else {
		pn_delivery_update(d, PN_ACCEPTED);
		pn_delivery_settle(d);
	}
	return ONYX_OK;
}

void
onyx_amqp_release(struct onyx_amqp *a, struct onyx_amqp_msg *m)
{
	if (a->dead)
		return;
	pn_delivery_update(m->handle, PN_RELEASED);
	pn_delivery_settle(m->handle);
}

/*
 * A transaction control wait failed with st (a timeout, or the stop flag):
 * drop the connection, so the broker rolls back what it can and nothing
 * half-declared or half-discharged stays on it; the outcome is unknown.
 */
static int
ctl_abandon(struct onyx_amqp *a, int st, const char *what, int timeout_ms)
{
	if (a->dead)
		return a->status;
	if (st == ONYX_EINTR)
		die(a, ONYX_EINTR,
		    "stopped while waiting for the broker's transaction coordinator (%s): the connection is dropped",
		    what);
	else
		die(a, ONYX_ETIMEDOUT,
		    "the broker's transaction coordinator did not answer (%s) within %d ms",
		    what, timeout_ms);
	pn_connection_driver_close(&a->drv);
	shovel(a);
	return st;
}

static int
ctl_send(struct onyx_amqp *a, uint64_t what, bool fail, int timeout_ms)
{
	pn_message_t *msg;
	pn_data_t *body;
	pn_rwbytes_t rw = {0, NULL};
	ssize_t n;
	uint64_t tag;
	int st;

	if (a->coord == NULL) {
		pn_link_t *l = pn_sender(a->ssn, "txn-ctrl");
		struct onyx_link *ol;
		pn_terminus_set_type(pn_link_target(l), PN_COORDINATOR);
		put_symbol_cap(pn_link_target(l), "amqp:local-transactions");
		pn_link_set_snd_settle_mode(l, PN_SND_UNSETTLED);
		if ((st = attach(a, l, &ol, "the transaction coordinator")) !=
		    ONYX_OK)
			return st;
		a->coord = l;
	}
	/* a declare may be cut short by the stop flag, a discharge after a
	 * grace */
	st = wait_for(a, has_credit, a->coord, deadline_of(timeout_ms),
	    what == TXN_DECLARE);
	if (st != ONYX_OK)
		return ctl_abandon(a, st,
		    what == TXN_DECLARE ? "credit for a declare"
		                        : "credit for a discharge",
		    timeout_ms);
	msg = pn_message();
	body = pn_message_body(msg);
	pn_data_put_described(body);
	pn_data_enter(body);
	pn_data_put_ulong(body, what);
	pn_data_put_list(body);
	pn_data_enter(body);
	if (what == TXN_DISCHARGE) {
		pn_data_put_binary(body,
		    pn_bytes(a->cur.txn.idlen, (const char *)a->cur.txn.id));
		pn_data_put_bool(body, fail);
	}
	pn_data_exit(body);
	pn_data_exit(body);
	tag = ++a->tag;
	a->cur.ctl =
	    pn_delivery(a->coord, pn_dtag((const char *)&tag, sizeof(tag)));
	n = pn_message_send(msg, a->coord, &rw);
	free(rw.start);
	pn_message_free(msg);
	if (n < 0) {
		seterr(a, "cannot encode a transaction control message");
		return ONYX_ERR;
	}
	shovel(a);
	return ONYX_OK;
}

/* Wait until slot t's control delivery has its answer. */
static int
ctl_wait(struct onyx_amqp *a, struct txslot *t, int timeout_ms)
{
	bool declare = t->txn.state == ONYX_TXN_DECLARING;
	int st;

	/*
	 * A discharge that never answers (ARTEMIS-5694), or a stop while
	 * waiting: drop the connection so the broker rolls back what it can,
	 * and report the outcome as unknown. A declare stops at once, a
	 * discharge gets STOP_GRACE_MS.
	 */
	st = wait_for(a, ctl_answered, t, deadline_of(timeout_ms), declare);
	if (st == ONYX_ETIMEDOUT || st == ONYX_EINTR)
		return ctl_abandon(
		    a, st, declare ? "a declare" : "a discharge", timeout_ms);
	return st;
}

int
onyx_amqp_txn_declare(struct onyx_amqp *a, int timeout_ms)
{
	int st;

	if (a->dead)
		return a->status;
	if (onyx_txn_step(&a->cur.txn, ONYX_TXN_EV_DECLARE) != 0) {
		seterr(a, "declare while a transaction is %s",
		    onyx_txn_state_name(a->cur.txn.state));
		return ONYX_ERR;
	}
	a->cur.nacc = 0;
	a->cur.err[0] = '\0';
	a->refused = 0;
	if ((st = ctl_send(a, TXN_DECLARE, false, timeout_ms)) != ONYX_OK) {
		/* nothing was sent (the coordinator would not attach): no
		 * transaction */
		if (!a->dead)
			onyx_txn_init(&a->cur.txn);
		return st;
	}
	if ((st = ctl_wait(a, &a->cur, timeout_ms)) != ONYX_OK)
		return st;
	if (a->cur.txn.state != ONYX_TXN_ACTIVE) {
		seterr(a, "%s", a->cur.err);
		return ONYX_EREJECTED;
	}
	return ONYX_OK;
}

/* Settle or release the accepted messages of t by its outcome. */
static void
finish_accepts(struct onyx_amqp *a, struct txslot *t)
{
	size_t i;

	if (!a->dead) {
		for (i = 0; i < t->nacc; i++) {
			/* Unsettled deliveries stay with us after a rollback:
			 * hand them back. */
			if (t->txn.outcome != ONYX_TXN_COMMITTED)
				pn_delivery_update(t->acc[i], PN_RELEASED);
			pn_delivery_settle(t->acc[i]);
		}
		shovel(a);
	}
	t->nacc = 0;
}

/* The status of a slot whose discharge has been answered (or lost). */
static int
outcome(struct onyx_amqp *a, struct txslot *t, bool fail, int st)
{
	if (t->txn.state == ONYX_TXN_IN_DOUBT ||
	    (st != ONYX_OK && !fail && t->txn.outcome == ONYX_TXN_UNKNOWN)) {
		onyx_txn_step(&t->txn, ONYX_TXN_EV_RESET);
		t->nacc = 0;
		return ONYX_EINDOUBT;
	}
	if (st != ONYX_OK)
		return st;
	finish_accepts(a, t);
	if (!fail && t->txn.outcome != ONYX_TXN_COMMITTED) {
		seterr(a, "%s", t->err[0] ? t->err : "the commit was refused");
		return ONYX_EREJECTED;
	}
	return ONYX_OK;
}

int
onyx_amqp_txn_commit_end(struct onyx_amqp *a, int timeout_ms)
{
	int st;

	if (!a->prev_busy)
		return a->dead ? a->status : ONYX_OK;
	st = ctl_wait(a, &a->prev, timeout_ms);
	st = outcome(a, &a->prev, false, st);
	a->prev_busy = false;
	return st;
}

static void
swap_slots(struct onyx_amqp *a)
{
	struct txslot t = a->prev;

	a->prev = a->cur;
	a->cur = t;
	/* the new current slot keeps the old array, empty */
	onyx_txn_init(&a->cur.txn);
	a->cur.ctl = NULL;
	a->cur.nacc = 0;
	a->cur.err[0] = '\0';
}

static int
rollback_now(struct onyx_amqp *a, int timeout_ms)
{
	int st;

	if (onyx_txn_step(&a->cur.txn, ONYX_TXN_EV_ROLLBACK) != 0) {
		seterr(a, "rollback while a transaction is %s",
		    onyx_txn_state_name(a->cur.txn.state));
		return ONYX_ERR;
	}
	if ((st = ctl_send(a, TXN_DISCHARGE, true, timeout_ms)) != ONYX_OK)
		return st;
	st = ctl_wait(a, &a->cur, timeout_ms);
	return outcome(a, &a->cur, true, st);
}

int
onyx_amqp_txn_commit_begin(struct onyx_amqp *a, int timeout_ms)
{
	int st;

	if (a->dead)
		return a->status;
	/* only one commit in flight: collect the previous one first */
	if ((st = onyx_amqp_txn_commit_end(a, timeout_ms)) != ONYX_OK) {
		char why[512];
		strlcpy(why, a->err, sizeof(why));
		if (!a->dead)
			rollback_now(a, timeout_ms);
		seterr(a, "%s", why);
		return st;
	}
	st = onyx_amqp_settle_sends(a, timeout_ms);
	if (st == ONYX_EREJECTED) {
		char why[512];
		strlcpy(why, a->err, sizeof(why));
		rollback_now(a, timeout_ms);
		seterr(a, "%s; the transaction was rolled back", why);
		return ONYX_EREJECTED;
	}
	if (st != ONYX_OK)
		return st == ONYX_ETIMEDOUT ? ONYX_EINDOUBT : st;
	if (onyx_txn_step(&a->cur.txn, ONYX_TXN_EV_COMMIT) != 0) {
		seterr(a, "commit while a transaction is %s",
		    onyx_txn_state_name(a->cur.txn.state));
		return ONYX_ERR;
	}
	if ((st = ctl_send(a, TXN_DISCHARGE, false, timeout_ms)) != ONYX_OK)
		return st;
	swap_slots(a);
	a->prev_busy = true;
	return ONYX_OK;
}

int
onyx_amqp_txn_commit(struct onyx_amqp *a, int timeout_ms)
{
	int st = onyx_amqp_txn_commit_begin(a, timeout_ms);

	if (st != ONYX_OK)
		return st;
	return onyx_amqp_txn_commit_end(a, timeout_ms);
}

int
onyx_amqp_txn_rollback(struct onyx_amqp *a, int timeout_ms)
{
	if (a->dead)
		return a->status;
	/* outcomes of the transfers do not matter: they are void either way */
	onyx_amqp_settle_sends(a, timeout_ms);
	a->refused = 0;
	if (a->dead)
		return a->status;
	return rollback_now(a, timeout_ms);
}

const struct onyx_txn *
onyx_amqp_txn(const struct onyx_amqp *a)
{
	return a->prev_busy ? &a->prev.txn : &a->cur.txn;
}

bool
onyx_amqp_txn_pending(const struct onyx_amqp *a)
{
	return a->prev_busy;
}

int
onyx_amqp_wait(struct onyx_amqp *a, int timeout_ms, int fd)
{
	int64_t deadline = deadline_of(timeout_ms);

	for (;;) {
		int rc = pump(a, remaining(deadline), fd, true);
		if (rc != 0)
			return rc;
		if (remaining(deadline) == 0)
			return 0;
	}
}
