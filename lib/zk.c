/* lib/zk.c: ZooKeeper session handling and calls that retry and honour a stop, over libzookeeper_mt. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zookeeper/zookeeper.h>

#include "errstr.h"
#include "clock.h"
#include "log.h"
#include "status.h"
#include "zk.h"
#include "zkauth.h"

struct onyx_zk {
	zhandle_t *zh;
	int wake[2]; /* a byte is written here when a watch fires */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int state; /* last session state seen by the watcher */
	bool expired;
	bool connected_once; /* for the log: a connection that comes back */
	int auth_rc;         /* under mu: zoo_add_auth's answer, 1 until then */
	int retry_ms;
	volatile sig_atomic_t *intr; /* no more retries once set */
	bool
	    silent; /* under mu: a stop gave up on a call the server left unanswered */
	struct onyx_zk *next; /* on the abandoned list */
	char hosts[512];
};

/*
 * Sessions closed while their server was silent (see onyx_zk_close): their
 * handles stay here, reachable, until the process exits.
 */
static pthread_mutex_t abandoned_mu = PTHREAD_MUTEX_INITIALIZER;
static struct onyx_zk *abandoned;

/*
 * The process's identity (onyx_zk_set_identity): the secret every new
 * session presents, and the ACL of every node created. Without a secret,
 * ZOO_OPEN_ACL_UNSAFE as before.
 */
static char *id_secret;
static char *id_user; /* the user part, for messages */
static char *id_self, *id_reader;
static struct ACL id_acl[2];
static struct ACL_vector id_acls = {0, id_acl};

static const struct ACL_vector *
acls(void)
{
	return id_secret != NULL ? &id_acls : &ZOO_OPEN_ACL_UNSAFE;
}

int
onyx_zk_set_identity(
    const char *secret, const char *reader, char *err, size_t errlen)
{
	char *s = NULL, *self = NULL, *r = NULL, *u = NULL;
	int st;

	if (secret != NULL) {
		if ((st = onyx_zkauth_digest(secret, &self, err, errlen)) !=
		    ONYX_OK)
			return st;
		if (reader != NULL && *reader != '\0' &&
		    (st = onyx_zkauth_check_id(reader, err, errlen)) !=
		        ONYX_OK) {
			free(self);
			return st;
		}
		s = strdup(secret);
		u = strndup(secret, strcspn(secret, ":"));
		if (reader != NULL && *reader != '\0')
			r = strdup(reader);
		if (s == NULL || u == NULL ||
		    (reader != NULL && *reader != '\0' && r == NULL)) {
			free(s);
			free(u);
			free(r);
			free(self);
			return ONYX_ERR;
		}
	}
	if (id_secret != NULL)
		explicit_bzero(id_secret, strlen(id_secret));
	free(id_secret);
	free(id_user);
	free(id_self);
	free(id_reader);
	id_secret = s;
	id_user = u;
	id_self = self;
	id_reader = r;
	id_acls.count = 0;
	if (self != NULL) {
		id_acl[0] = (struct ACL){ZOO_PERM_ALL, {"digest", self}};
		id_acls.count = 1;
		if (r != NULL) {
			id_acl[1] = (struct ACL){ZOO_PERM_READ, {"digest", r}};
			id_acls.count = 2;
		}
	}
	return ONYX_OK;
}

bool
onyx_zk_has_identity(void)
{
	return id_secret != NULL;
}

static void
on_auth(int rc, const void *ctx)
{
	struct onyx_zk *z = (struct onyx_zk *)ctx;

	pthread_mutex_lock(&z->mu);
	/* a connection lost before the answer: the client sends the
	 * identity again, first thing, on its next connection */
	z->auth_rc =
	    rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT ? ZOK : rc;
	pthread_cond_broadcast(&z->cv);
	pthread_mutex_unlock(&z->mu);
}

static void
watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	struct onyx_zk *z = ctx;

	(void)zh;
	(void)path;
	if (type != ZOO_SESSION_EVENT)
		return;
	pthread_mutex_lock(&z->mu);
	/* faults and recoveries, once each, for the operator's log */
	if (state == ZOO_CONNECTING_STATE && z->state == ZOO_CONNECTED_STATE)
		onyx_log(ONYX_LOG_WARN,
		    "ZooKeeper connection lost (%s): reconnecting, the session lives on for its timeout",
		    z->hosts);
	else if (state == ZOO_CONNECTED_STATE && z->connected_once &&
	    z->state != ZOO_CONNECTED_STATE)
		onyx_log(ONYX_LOG_WARN,
		    "ZooKeeper connection back (%s): session kept", z->hosts);
	else if (state == ZOO_EXPIRED_SESSION_STATE && !z->expired)
		onyx_log(
		    ONYX_LOG_WARN, "ZooKeeper session expired (%s)", z->hosts);
	if (state == ZOO_CONNECTED_STATE)
		z->connected_once = true;
	z->state = state;
	if (state == ZOO_EXPIRED_SESSION_STATE)
		z->expired = true;
	pthread_cond_broadcast(&z->cv);
	pthread_mutex_unlock(&z->mu);
	/* session changes matter to whoever waits on the wake fd too */
	(void)!write(z->wake[1], "s", 1);
}

/* Every data and child watch lands here: just wake the owner's loop. */
static void
node_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	struct onyx_zk *z = ctx;

	(void)zh;
	(void)type;
	(void)state;
	(void)path;
	(void)!write(z->wake[1], "w", 1);
}

int
onyx_zk_connect(const char *hosts, int session_ms, int connect_ms,
    struct onyx_zk **out, char *err, size_t errlen)
{
	struct onyx_zk *z;
	struct timespec ts;
	int rc = 0, auth;

	*out = NULL;
	if ((z = calloc(1, sizeof(*z))) == NULL)
		return ONYX_ERR;
	pthread_mutex_init(&z->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&z->cv, &ca);
	pthread_condattr_destroy(&ca);
	z->retry_ms = 30000;
	z->auth_rc = id_secret != NULL ? 1 : ZOK;
	if (pipe2(z->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		snprintf(err, errlen, "pipe: %s", onyx_strerror(errno));
		free(z);
		return ONYX_ERR;
	}
	snprintf(z->hosts, sizeof(z->hosts), "%s", hosts);
	/* the client's own chatter only when asked for; we report errors ourselves */
	zoo_set_debug_level(onyx_log_level() >= ONYX_LOG_DEBUG
	        ? ZOO_LOG_LEVEL_WARN
	        : (ZooLogLevel)0);
	zoo_set_log_stream(stderr);
	z->zh = zookeeper_init(hosts, watcher, session_ms, NULL, z, 0);
	if (z->zh == NULL) {
		snprintf(err, errlen, "ZooKeeper %s: %s", hosts,
		    onyx_strerror(errno));
		free(z);
		return ONYX_EUNAVAIL;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += connect_ms / 1000;
	ts.tv_nsec += (connect_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&z->mu);
	while (z->state != ZOO_CONNECTED_STATE && !z->expired && rc == 0)
		rc = pthread_cond_timedwait(&z->cv, &z->mu, &ts);
	pthread_mutex_unlock(&z->mu);
	if (z->state != ZOO_CONNECTED_STATE) {
		snprintf(err, errlen,
		    "cannot reach ZooKeeper at %s within %d ms", hosts,
		    connect_ms);
		onyx_zk_close(z);
		return ONYX_EUNAVAIL;
	}
	/*
	 * A new session presents the identity before any call of ours (a
	 * server that enforces authentication closes a session whose first
	 * request is not one). The client sends it again by itself, first
	 * thing, when the same session reconnects; a session after an expiry
	 * is a new onyx_zk_connect, which presents it again here.
	 */
	if (id_secret != NULL &&
	    (rc = zoo_add_auth(z->zh, "digest", id_secret,
	         (int)strlen(id_secret), on_auth, z)) != ZOK) {
		snprintf(err, errlen, "ZooKeeper %s: identity '%s': %s", hosts,
		    id_user, zerror(rc));
		onyx_zk_close(z);
		return ONYX_EUNAVAIL;
	}
	rc = 0;
	pthread_mutex_lock(&z->mu);
	while (z->auth_rc == 1 && !z->expired &&
	    z->state != ZOO_AUTH_FAILED_STATE && rc == 0)
		rc = pthread_cond_timedwait(&z->cv, &z->mu, &ts);
	auth = z->auth_rc;
	pthread_mutex_unlock(&z->mu);
	if (auth == 1) {
		snprintf(err, errlen,
		    "ZooKeeper at %s did not answer the identity '%s' within %d ms",
		    hosts, id_user, connect_ms);
		onyx_zk_close(z);
		return ONYX_EUNAVAIL;
	}
	if (auth != ZOK) {
		snprintf(err, errlen,
		    "ZooKeeper at %s refused the identity '%s': %s", hosts,
		    id_user, zerror(auth));
		onyx_zk_close(z);
		return ONYX_EAUTH;
	}
	if (id_secret == NULL)
		onyx_log(ONYX_LOG_INFO,
		    "ZooKeeper %s: no identity (ONYX_ZK_SECRET_FILE unset): nodes are created open to every client",
		    hosts);
	*out = z;
	return ONYX_OK;
}

void
onyx_zk_close(struct onyx_zk *z)
{
	bool silent;

	if (z == NULL)
		return;
	pthread_mutex_lock(&z->mu);
	silent = z->silent;
	pthread_mutex_unlock(&z->mu);
	/*
	 * zookeeper_close on a connection that looks alive sends a close and
	 * waits for its answer, up to seconds; a server that has just left a
	 * call unanswered will not answer that either. Leave the handle to
	 * the process's exit then: the server ends the session at its
	 * timeout, as it would for a killed process.
	 */
	if (silent && z->zh != NULL &&
	    zoo_state(z->zh) == ZOO_CONNECTED_STATE) {
		onyx_log(ONYX_LOG_DEBUG,
		    "ZooKeeper %s is not answering: the session is left to expire",
		    z->hosts);
		pthread_mutex_lock(&abandoned_mu);
		z->next = abandoned;
		abandoned = z;
		pthread_mutex_unlock(&abandoned_mu);
		return;
	}
	if (z->zh != NULL)
		zookeeper_close(z->zh);
	pthread_cond_destroy(&z->cv);
	pthread_mutex_destroy(&z->mu);
	close(z->wake[0]);
	close(z->wake[1]);
	free(z);
}

bool
onyx_zk_expired(const struct onyx_zk *z)
{
	return z->expired || zoo_state(z->zh) == ZOO_EXPIRED_SESSION_STATE;
}

long long
onyx_zk_session_id(const struct onyx_zk *z)
{
	const clientid_t *c = zoo_client_id(z->zh);

	return c ? (long long)c->client_id : 0;
}

void
onyx_zk_set_retry(struct onyx_zk *z, int retry_ms)
{
	z->retry_ms = retry_ms;
}

void
onyx_zk_set_interrupt(struct onyx_zk *z, volatile sig_atomic_t *flag)
{
	z->intr = flag;
}

/* Map a ZooKeeper code to ours; fill err for failures. */
static int
map(struct onyx_zk *z, int rc, const char *op, const char *path, char *err,
    size_t errlen)
{
	int st;

	switch (rc) {
	case ZOK: return ONYX_OK;
	case ZNONODE: st = ONYX_ENOENT; break;
	case ZNODEEXISTS: st = ONYX_EEXIST; break;
	case ZBADVERSION: st = ONYX_EVERSION; break;
	case ZNOTEMPTY: st = ONYX_ENOTEMPTY; break;
	case ZSESSIONEXPIRED:
		z->expired = true;
		st = ONYX_EEXPIRED;
		break;
	case ZCONNECTIONLOSS:
	case ZOPERATIONTIMEOUT: st = ONYX_EUNAVAIL; break;
	case ZNOAUTH:
	case ZAUTHFAILED:
	case ZSESSIONCLOSEDREQUIRESASLAUTH: st = ONYX_EAUTH; break;
	default: st = ONYX_ERR; break;
	}
	if (rc == ZNOAUTH && id_secret != NULL)
		snprintf(err, errlen,
		    "ZooKeeper %s %s: not authorized (NoAuth): the ACL does not allow it to identity '%s'",
		    op, path, id_user);
	else if (rc == ZNOAUTH)
		snprintf(err, errlen,
		    "ZooKeeper %s %s: not authorized (NoAuth): the ACL does not allow it to a client without identity (set ONYX_ZK_SECRET_FILE)",
		    op, path);
	else if (rc == ZSESSIONCLOSEDREQUIRESASLAUTH)
		snprintf(err, errlen,
		    "ZooKeeper %s %s: the server requires authentication (set ONYX_ZK_SECRET_FILE)",
		    op, path);
	else
		snprintf(
		    err, errlen, "ZooKeeper %s %s: %s", op, path, zerror(rc));
	return st;
}

/* Whether to retry rc, sleeping a little; false once the time is up. */
static bool
retry(struct onyx_zk *z, int rc, long long start, int *delay)
{
	if (rc != ZCONNECTIONLOSS && rc != ZOPERATIONTIMEOUT)
		return false;
	if (onyx_zk_expired(z) || onyx_mono_ms() - start >= z->retry_ms ||
	    (z->intr != NULL && *z->intr))
		return false;
	usleep(*delay * 1000);
	if (*delay < 1000)
		*delay *= 2;
	return true;
}

/*
 * One asynchronous call and its wait. The library's synchronous calls wait
 * for an answer up to two thirds of the session timeout with no way to stop
 * them; ours submit the asynchronous form and wait on its completion in
 * short slices, so a stop (z->intr) ends the wait within STOP_GRACE_MS.
 * The completion may come after the waiter gave up: the call is counted
 * (waiter and completion), and the last of the two frees it.
 */
#define SLICE_MS 100
#define STOP_GRACE_MS 500

struct zcall {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int refs;
	bool done;
	int rc;
	bool cut;   /* the waiter gave up: the results are not for it */
	char *data; /* get: the value, NUL-terminated; create: the path */
	int len;
	struct Stat st;
	char **names; /* children, NULL-terminated */
	int count;
	/* multi: the operations and results the library fills */
	zoo_op_t *ops;
	zoo_op_result_t *res;
	char (*bufs)[512];
};

static struct zcall *
zcall_new(void)
{
	struct zcall *c = calloc(1, sizeof(*c));
	pthread_condattr_t ca;

	if (c == NULL)
		return NULL;
	pthread_mutex_init(&c->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cv, &ca);
	pthread_condattr_destroy(&ca);
	c->refs = 2;
	return c;
}

static void
zcall_unref(struct zcall *c)
{
	bool last;

	pthread_mutex_lock(&c->mu);
	last = --c->refs == 0;
	pthread_mutex_unlock(&c->mu);
	if (!last)
		return;
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c->data);
	onyx_zk_free_names(c->names);
	free(c->ops);
	free(c->res);
	free(c->bufs);
	free(c);
}

/* The completion's side: record rc, wake the waiter, let go. */
static void
zcall_finish(struct zcall *c, int rc)
{
	pthread_mutex_lock(&c->mu);
	c->rc = rc;
	c->done = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	zcall_unref(c);
}

static void
on_void(int rc, const void *ctx)
{
	zcall_finish((struct zcall *)ctx, rc);
}

static void
on_stat(int rc, const struct Stat *st, const void *ctx)
{
	struct zcall *c = (struct zcall *)ctx;

	if (rc == ZOK && st != NULL)
		c->st = *st;
	zcall_finish(c, rc);
}

static void
on_data(
    int rc, const char *value, int len, const struct Stat *st, const void *ctx)
{
	struct zcall *c = (struct zcall *)ctx;

	if (rc == ZOK) {
		if (len < 0 || value == NULL)
			len = 0;
		if ((c->data = malloc((size_t)len + 1)) == NULL)
			rc = ZSYSTEMERROR;
		else {
			if (len > 0) /* value may be NULL for no data */
				memcpy(c->data, value, len);
			c->data[len] = '\0';
			c->len = len;
			if (st != NULL)
				c->st = *st;
		}
	}
	zcall_finish(c, rc);
}

static void
on_string(int rc, const char *value, const void *ctx)
{
	struct zcall *c = (struct zcall *)ctx;

	if (rc == ZOK && value != NULL && (c->data = strdup(value)) == NULL)
		rc = ZSYSTEMERROR;
	zcall_finish(c, rc);
}

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
on_strings(int rc, const struct String_vector *v, const void *ctx)
{
	struct zcall *c = (struct zcall *)ctx;
	int i, n = v != NULL ? v->count : 0;

	if (rc == ZOK) {
		if ((c->names = calloc((size_t)n + 1, sizeof(char *))) == NULL)
			rc = ZSYSTEMERROR;
		for (i = 0; rc == ZOK && i < n; i++)
			if ((c->names[i] = strdup(v->data[i])) == NULL)
				rc = ZSYSTEMERROR;
		if (rc == ZOK) {
			qsort(c->names, n, sizeof(char *), cmp);
			c->count = n;
		}
	}
	zcall_finish(c, rc);
}

/*
 * The waiter's side, after the call was submitted with result submitted
 * (a ZooKeeper code: anything but ZOK means no completion will come).
 * Returns the call's code, or ZOPERATIONTIMEOUT when a stop cut the wait.
 * On ZOK the caller reads the results from c, then zcall_unref(c).
 */
static int
zcall_wait(struct onyx_zk *z, struct zcall *c, int submitted)
{
	long long grace = -1, now;
	struct timespec ts;
	int rc;

	if (submitted != ZOK) {
		c->refs = 1; /* no completion: the waiter's reference alone */
		return submitted;
	}
	pthread_mutex_lock(&c->mu);
	while (!c->done) {
		if (z->intr != NULL && *z->intr) {
			now = onyx_mono_ms();
			if (grace < 0)
				grace = now + STOP_GRACE_MS;
			else if (now >= grace)
				break;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += SLICE_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&c->cv, &c->mu, &ts);
	}
	c->cut = !c->done;
	rc = c->done ? c->rc : ZOPERATIONTIMEOUT;
	pthread_mutex_unlock(&c->mu);
	/* whether the server answers, for onyx_zk_close */
	pthread_mutex_lock(&z->mu);
	z->silent = rc == ZOPERATIONTIMEOUT || rc == ZCONNECTIONLOSS;
	pthread_mutex_unlock(&z->mu);
	return rc;
}

int
onyx_zk_create(struct onyx_zk *z, const char *path, const void *data, int len,
    int flags, char *created, size_t createdlen, char *err, size_t errlen)
{
	long long start = onyx_mono_ms();
	int rc, delay = 50, tries = 0;
	struct zcall *c;

	do {
		if ((c = zcall_new()) == NULL)
			return ONYX_ERR;
		rc = zcall_wait(z, c,
		    zoo_acreate(z->zh, path, data, data ? len : -1, acls(),
		        flags, on_string, c));
		if (rc == ZOK && created != NULL)
			snprintf(created, createdlen, "%s",
			    c->data != NULL ? c->data : path);
		zcall_unref(c);
		/*
		 * A retried plain create that meets its own node: the first try
		 * went through before the connection dropped.
		 */
		if (rc == ZNODEEXISTS && tries > 0 && !(flags & ZOO_SEQUENCE)) {
			if (created != NULL)
				snprintf(created, createdlen, "%s", path);
			rc = ZOK;
		}
		tries++;
	} while (retry(z, rc, start, &delay));
	return map(z, rc, "create", path, err, errlen);
}

int
onyx_zk_ensure_path(
    struct onyx_zk *z, const char *path, char *err, size_t errlen)
{
	char p[1024];
	size_t i, n = strlen(path);
	int st;

	if (n == 0 || n >= sizeof(p) || path[0] != '/') {
		snprintf(
		    err, errlen, "ZooKeeper path '%s' is not absolute", path);
		return ONYX_ERR;
	}
	for (i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		memcpy(p, path, i);
		p[i] = '\0';
		/*
		 * exists needs no permission, create needs CREATE on the
		 * parent: a parent made by another identity (/onyx shared by
		 * clusters) is passed, not created.
		 */
		if ((st = onyx_zk_exists(z, p, err, errlen)) == ONYX_OK)
			continue;
		if (st != ONYX_ENOENT)
			return st;
		st = onyx_zk_create(z, p, NULL, 0, 0, NULL, 0, err, errlen);
		if (st != ONYX_OK && st != ONYX_EEXIST)
			return st;
	}
	return ONYX_OK;
}

int
onyx_zk_wake_fd(const struct onyx_zk *z)
{
	return z->wake[0];
}

void
onyx_zk_drain(struct onyx_zk *z)
{
	char buf[256];

	while (read(z->wake[0], buf, sizeof(buf)) > 0)
		;
}

int
onyx_zk_get(struct onyx_zk *z, const char *path, char **data, int *len,
    int *version, char *err, size_t errlen)
{
	return onyx_zk_wget(z, path, false, data, len, version, err, errlen);
}

int
onyx_zk_wget(struct onyx_zk *z, const char *path, bool watch, char **data,
    int *len, int *version, char *err, size_t errlen)
{
	long long start = onyx_mono_ms();
	int rc, delay = 50;
	struct zcall *c;

	*data = NULL;
	do {
		if ((c = zcall_new()) == NULL)
			return ONYX_ERR;
		rc = zcall_wait(z, c,
		    zoo_awget(z->zh, path, watch ? node_watcher : NULL, z,
		        on_data, c));
		if (rc == ZOK) {
			*data = c->data;
			c->data = NULL;
			if (len)
				*len = c->len;
			if (version)
				*version = c->st.version;
		}
		zcall_unref(c);
	} while (retry(z, rc, start, &delay));
	return map(z, rc, "get", path, err, errlen);
}

int
onyx_zk_set(struct onyx_zk *z, const char *path, const void *data, int len,
    int version, char *err, size_t errlen)
{
	long long start = onyx_mono_ms();
	int rc, delay = 50;
	struct zcall *c;

	do {
		if ((c = zcall_new()) == NULL)
			return ONYX_ERR;
		rc = zcall_wait(z, c,
		    zoo_aset(z->zh, path, data, len, version, on_stat, c));
		zcall_unref(c);
	} while (retry(z, rc, start, &delay));
	return map(z, rc, "set", path, err, errlen);
}

int
onyx_zk_delete(
    struct onyx_zk *z, const char *path, int version, char *err, size_t errlen)
{
	long long start = onyx_mono_ms();
	int rc, delay = 50, tries = 0;
	struct zcall *c;

	do {
		if ((c = zcall_new()) == NULL)
			return ONYX_ERR;
		rc = zcall_wait(
		    z, c, zoo_adelete(z->zh, path, version, on_void, c));
		zcall_unref(c);
		if (rc == ZNONODE && tries > 0 && version == -1)
			rc = ZOK; /* our first try went through */
		tries++;
	} while (retry(z, rc, start, &delay));
	return map(z, rc, "delete", path, err, errlen);
}

int
onyx_zk_exists(struct onyx_zk *z, const char *path, char *err, size_t errlen)
{
	return onyx_zk_wexists(z, path, false, err, errlen);
}

int
onyx_zk_wexists(
    struct onyx_zk *z, const char *path, bool watch, char *err, size_t errlen)
{
	long long start = onyx_mono_ms();
	int rc, delay = 50;
	struct zcall *c;

	do {
		if ((c = zcall_new()) == NULL)
			return ONYX_ERR;
		rc = zcall_wait(z, c,
		    zoo_awexists(z->zh, path, watch ? node_watcher : NULL, z,
		        on_stat, c));
		zcall_unref(c);
	} while (retry(z, rc, start, &delay));
	return map(z, rc, "exists", path, err, errlen);
}

int
onyx_zk_children(struct onyx_zk *z, const char *path, char ***names, int *count,
    char *err, size_t errlen)
{
	return onyx_zk_wchildren(z, path, false, names, count, err, errlen);
}

int
onyx_zk_wchildren(struct onyx_zk *z, const char *path, bool watch,
    char ***names, int *count, char *err, size_t errlen)
{
	long long start = onyx_mono_ms();
	int rc, delay = 50;
	struct zcall *c;

	*names = NULL;
	*count = 0;
	do {
		if ((c = zcall_new()) == NULL)
			return ONYX_ERR;
		rc = zcall_wait(z, c,
		    zoo_awget_children(z->zh, path, watch ? node_watcher : NULL,
		        z, on_strings, c));
		if (rc == ZOK) {
			*names = c->names;
			*count = c->count;
			c->names = NULL;
		}
		zcall_unref(c);
	} while (retry(z, rc, start, &delay));
	return map(z, rc, "children", path, err, errlen);
}

void
onyx_zk_free_names(char **names)
{
	char **p;

	if (names == NULL)
		return;
	for (p = names; *p != NULL; p++)
		free(*p);
	free(names);
}

int
onyx_zk_multi_create(struct onyx_zk *z, int n, const char *const *paths,
    const char *const *datas, char *err, size_t errlen)
{
	long long start = onyx_mono_ms();
	int i, rc, delay = 50, tries = 0, bad = 0, first;
	struct zcall *c;

	if (n < 1 || n > 64) {
		snprintf(err, errlen, "ZooKeeper multi: %d operations", n);
		return ONYX_ERR;
	}
	do {
		if ((c = zcall_new()) == NULL)
			return ONYX_ERR;
		c->ops = calloc(n, sizeof(*c->ops));
		c->res = calloc(n, sizeof(*c->res));
		c->bufs = calloc(n, sizeof(*c->bufs));
		if (c->ops == NULL || c->res == NULL || c->bufs == NULL) {
			c->refs = 1;
			zcall_unref(c);
			return ONYX_ERR;
		}
		for (i = 0; i < n; i++)
			zoo_create_op_init(&c->ops[i], paths[i], datas[i],
			    datas[i] ? (int)strlen(datas[i]) : -1, acls(), 0,
			    c->bufs[i], sizeof(c->bufs[i]));
		rc = zcall_wait(
		    z, c, zoo_amulti(z->zh, n, c->ops, c->res, on_void, c));
		/* name the operation that failed, not the first one */
		first = c->cut ? ZOK : c->res[0].err;
		for (bad = 0; !c->cut && rc != ZOK && bad < n - 1; bad++)
			if (c->res[bad].err != ZOK &&
			    c->res[bad].err != ZRUNTIMEINCONSISTENCY)
				break;
		if (c->cut)
			bad = 0;
		zcall_unref(c);
		/*
		 * A retried multi that meets its own first node: the first try
		 * went through before the connection dropped (as in create).
		 */
		if (rc == ZNODEEXISTS && tries > 0 && first == ZNODEEXISTS)
			rc = ZOK;
		tries++;
	} while (retry(z, rc, start, &delay));
	return map(
	    z, rc, "create", rc == ZOK ? paths[0] : paths[bad], err, errlen);
}
