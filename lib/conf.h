/* lib/conf.h: the settings every program shares: environment first, flags over it. */
#ifndef ONYX_CONF_H
#define ONYX_CONF_H

#include <stddef.h>

struct onyx_conf {
	char zk[512]; /* ZooKeeper connect string, host:port[,...] */
	char
	    cluster[128]; /* deployment id: znodes live under /onyx/<cluster> */
	char broker[512]; /* AMQP URL of the broker */
	char user[128];   /* broker user */
	char password[256]; /* broker password */
	/* AMQP container id of the connections made with this configuration
	 * (the broker's client id); empty: onyx-<pid>-<ms>. onyx-peer sets
	 * the virtual peer's id, so the coordinator can fence it. */
	char container[320];
	/* the longest segment (its JSON text, in bytes) a program sends,
	 * receives or takes from a function: ONYX_MAX_SEGMENT, --max-segment */
	size_t max_segment;
	/* HOST:PORT where onyx-peer and onyx-coord serve /metrics
	 * (ONYX_METRICS, --metrics; checked when the server starts, see
	 * lib/metricshttp.h); empty: no server */
	char metrics[300];
	/* the ZooKeeper identity (lib/zkauth.h): the file holding this
	 * program's user:password (ONYX_ZK_SECRET_FILE, --zk-secret-file;
	 * read by lib/cli once the flags are parsed), and the ACL id
	 * user:digest given READ on the nodes it creates (ONYX_ZK_READER,
	 * --zk-reader); empty: none */
	char zk_secret_file[4096];
	char zk_reader[256];
};

struct onyx_url {
	char host[256];
	char port[16];
	char user[128];
	char password[256];
};

#define ONYX_DEFAULT_ZK "127.0.0.1:2181"
#define ONYX_DEFAULT_CLUSTER "default"
#define ONYX_DEFAULT_BROKER "amqp://127.0.0.1:5672"
/* 1 MiB: far above a JSON record, small enough that a peer's memory stays
 * bounded (a batch holds at most batch-size of them). Artemis stores a
 * message of 100 KiB and more (amqpMinLargeMessageSize) as a large message,
 * which works, only slower: the default deliberately allows them. */
#define ONYX_DEFAULT_MAX_SEGMENT ((size_t)1 << 20)
#define ONYX_MIN_MAX_SEGMENT ((size_t)1 << 10) /* 1 KiB */
#define ONYX_MAX_MAX_SEGMENT ((size_t)1 << 30) /* 1 GiB */

/* onyx_conf_defaults: fill c with the built-in defaults. */
void onyx_conf_defaults(struct onyx_conf *c);

/*
 * onyx_conf_from_env: override c with ONYX_ZK, ONYX_CLUSTER, ONYX_BROKER,
 * ONYX_BROKER_USER, ONYX_BROKER_PASSWORD, ONYX_BROKER_PASSWORD_FILE (the
 * file wins over the variable), ONYX_MAX_SEGMENT, ONYX_METRICS,
 * ONYX_ZK_SECRET_FILE and ONYX_ZK_READER. Returns
 * ONYX_OK, or ONYX_ECONFIG with err naming the variable or file.
 */
int onyx_conf_from_env(struct onyx_conf *c, char *err, size_t errlen);

/*
 * onyx_conf_set: override one setting from a flag. key is one of "zk",
 * "cluster", "broker", "user", "password-file", "max-segment" (bytes, with
 * an optional k, M or G suffix: 1024, 1024^2, 1024^3), "metrics",
 * "zk-secret-file" (a path, not read here), "zk-reader" (an ACL id). Returns ONYX_OK or
 * ONYX_ECONFIG (bad value or unreadable file) with err filled.
 */
int onyx_conf_set(struct onyx_conf *c, const char *key, const char *value,
    char *err, size_t errlen);

/*
 * onyx_conf_read_secret: read the first line of file path into buf (the
 * newline dropped). Returns ONYX_OK or ONYX_ECONFIG with err naming the file.
 */
int onyx_conf_read_secret(
    const char *path, char *buf, size_t len, char *err, size_t errlen);

/*
 * onyx_url_parse: split amqp://[user[:password]@]host[:port] into u (port
 * defaults to 5672). Returns ONYX_OK or ONYX_ECONFIG with err naming the URL.
 */
int
onyx_url_parse(const char *url, struct onyx_url *u, char *err, size_t errlen);

/*
 * onyx_conf_size: s as a size in bytes, a whole number with an optional
 * suffix k/K (KiB), M (MiB) or G (GiB), in [min, max]. Returns 0 with *out
 * set, or -1 when s is not such a size or out of range.
 */
int onyx_conf_size(const char *s, size_t min, size_t max, size_t *out);

/* onyx_url_redact: copy url to buf with any password replaced by "***". */
void onyx_url_redact(const char *url, char *buf, size_t len);

#endif
