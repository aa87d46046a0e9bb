/* lib/zk.c: ZooKeeper session handling and retrying synchronous calls over libzookeeper_mt. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zookeeper/zookeeper.h>

#include "clock.h"
#include "log.h"
#include "status.h"
#include "zk.h"

struct onyx_zk {
	zhandle_t *zh;
	int wake[2]; /* a byte is written here when a watch fires */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int state; /* last session state seen by the watcher */
	bool expired;
	bool connected_once; /* for the log: a connection that comes back */
	int retry_ms;
	volatile sig_atomic_t *intr; /* no more retries once set */
	char hosts[512];
};

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
		    "ZooKeeper connection lost (%s): reconnecting, the session "
		    "lives on for its timeout",
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
	int rc = 0;

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
	if (pipe2(z->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
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
		snprintf(
		    err, errlen, "ZooKeeper %s: %s", hosts, strerror(errno));
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
	*out = z;
	return ONYX_OK;
}

void
onyx_zk_close(struct onyx_zk *z)
{
	if (z == NULL)
		return;
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
	default: st = ONYX_ERR; break;
	}
	snprintf(err, errlen, "ZooKeeper %s %s: %s", op, path, zerror(rc));
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

int
onyx_zk_create(struct onyx_zk *z, const char *path, const void *data, int len,
    int flags, char *created, size_t createdlen, char *err, size_t errlen)
{
	long long start = onyx_mono_ms();
	int rc, delay = 50, tries = 0;
	char buf[1024];

	do {
		rc = zoo_create(z->zh, path, data, data ? len : -1,
		    &ZOO_OPEN_ACL_UNSAFE, flags, buf, sizeof(buf));
		/*
		 * A retried plain create that meets its own node: the first try
		 * went through before the connection dropped.
		 */
		if (rc == ZNODEEXISTS && tries > 0 && !(flags & ZOO_SEQUENCE)) {
			snprintf(buf, sizeof(buf), "%s", path);
			rc = ZOK;
		}
		tries++;
	} while (retry(z, rc, start, &delay));
	if (rc == ZOK && created != NULL)
		snprintf(created, createdlen, "%s", buf);
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
	int rc, delay = 50, cap = 64 * 1024, n;
	struct Stat st;
	char *buf;

	*data = NULL;
	for (;;) {
		if ((buf = malloc(cap + 1)) == NULL)
			return ONYX_ERR;
		do {
			n = cap;
			rc = zoo_wget(z->zh, path, watch ? node_watcher : NULL,
			    z, buf, &n, &st);
		} while (retry(z, rc, start, &delay));
		if (rc == ZOK && st.dataLength > cap) {
			cap = st.dataLength;
			free(buf);
			continue;
		}
		break;
	}
	if (rc != ZOK) {
		free(buf);
		return map(z, rc, "get", path, err, errlen);
	}
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	*data = buf;
	if (len)
		*len = n;
	if (version)
		*version = st.version;
	return ONYX_OK;
}

int
onyx_zk_set(struct onyx_zk *z, const char *path, const void *data, int len,
    int version, char *err, size_t errlen)
{
	long long start = onyx_mono_ms();
	int rc, delay = 50;

	do
		rc = zoo_set(z->zh, path, data, len, version);
	while (retry(z, rc, start, &delay));
	return map(z, rc, "set", path, err, errlen);
}

int
onyx_zk_delete(
    struct onyx_zk *z, const char *path, int version, char *err, size_t errlen)
{
	long long start = onyx_mono_ms();
	int rc, delay = 50, tries = 0;

	do {
		rc = zoo_delete(z->zh, path, version);
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
	struct Stat st;

	do
		rc = zoo_wexists(
		    z->zh, path, watch ? node_watcher : NULL, z, &st);
	while (retry(z, rc, start, &delay));
	return map(z, rc, "exists", path, err, errlen);
}

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
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
	int rc, delay = 50, i;
	struct String_vector v;
	char **out;

	*names = NULL;
	*count = 0;
	memset(&v, 0, sizeof(v));
	do
		rc = zoo_wget_children(
		    z->zh, path, watch ? node_watcher : NULL, z, &v);
	while (retry(z, rc, start, &delay));
	if (rc != ZOK)
		return map(z, rc, "children", path, err, errlen);
	if ((out = calloc(v.count + 1, sizeof(*out))) == NULL) {
		deallocate_String_vector(&v);
		return ONYX_ERR;
	}
	for (i = 0; i < v.count; i++)
		if ((out[i] = strdup(v.data[i])) == NULL) {
			deallocate_String_vector(&v);
			onyx_zk_free_names(out);
			return ONYX_ERR;
		}
	deallocate_String_vector(&v);
	qsort(out, i, sizeof(*out), cmp);
	*names = out;
	*count = i;
	return ONYX_OK;
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
	zoo_op_t ops[64];
	zoo_op_result_t res[64];
	char bufs[64][512];
	int i, rc, delay = 50, tries = 0, bad;

	if (n < 1 || n > 64) {
		snprintf(err, errlen, "ZooKeeper multi: %d operations", n);
		return ONYX_ERR;
	}
	do {
		for (i = 0; i < n; i++)
			zoo_create_op_init(&ops[i], paths[i], datas[i],
			    datas[i] ? (int)strlen(datas[i]) : -1,
			    &ZOO_OPEN_ACL_UNSAFE, 0, bufs[i], sizeof(bufs[i]));
		memset(res, 0, sizeof(res));
		rc = zoo_multi(z->zh, n, ops, res);
		/*
		 * A retried multi that meets its own first node: the first try
		 * went through before the connection dropped (as in create).
		 */
		if (rc == ZNODEEXISTS && tries > 0 && res[0].err == ZNODEEXISTS)
			rc = ZOK;
		tries++;
	} while (retry(z, rc, start, &delay));
	/* name the operation that failed, not the first one */
	for (bad = 0; rc != ZOK && bad < n - 1; bad++)
		if (res[bad].err != ZOK &&
		    res[bad].err != ZRUNTIMEINCONSISTENCY)
			break;
	return map(
	    z, rc, "create", rc == ZOK ? paths[0] : paths[bad], err, errlen);
}
