/* lib/conf.h: the settings every program shares: environment first, flags over it. */
#ifndef ONYX_CONF_H
#define ONYX_CONF_H

#include <stdbool.h>
#include <stddef.h>

/* the longest broker password (bytes), from a file or ONYX_BROKER_PASSWORD */
#define ONYX_PASSWORD_MAX 4095

struct onyx_conf {
	char zk[512]; /* ZooKeeper connect string, host:port[,...] */
	char
	    cluster[128]; /* deployment id: znodes live under /onyx/<cluster> */
	char broker[512]; /* AMQP URL of the broker */
	char user[128];   /* broker user */
	char password[ONYX_PASSWORD_MAX + 1]; /* broker password */
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
	/* TLS to the broker (amqps:// URLs): the CA file its certificate is
	 * checked against (ONYX_BROKER_CA, --broker-ca; empty: the system's
	 * CAs), and an optional client certificate and its key, both PEM
	 * (ONYX_BROKER_CERT, --broker-cert; ONYX_BROKER_KEY, --broker-key) */
	char ca[512];
	char cert[512];
	char key[512];
	/* SASL PLAIN over cleartext TCP to an address that is not loopback:
	 * refused unless ONYX_BROKER_INSECURE_PLAIN=1 or --insecure-plain */
	int insecure_plain;
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
	int tls; /* amqps:// */
};

/* How a connection authenticates (onyx_conf_sasl). */
enum onyx_sasl {
	ONYX_SASL_ANONYMOUS,
	ONYX_SASL_PLAIN,
	ONYX_SASL_EXTERNAL, /* the TLS client certificate is the identity */
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
 * file wins over the variable), ONYX_BROKER_CA, ONYX_BROKER_CERT,
 * ONYX_BROKER_KEY, ONYX_BROKER_INSECURE_PLAIN (0 or 1), ONYX_MAX_SEGMENT
 * ONYX_METRICS,
 * ONYX_ZK_SECRET_FILE and ONYX_ZK_READER. Returns
 * ONYX_OK, or ONYX_ECONFIG with err naming the variable or file.
 */
int onyx_conf_from_env(struct onyx_conf *c, char *err, size_t errlen);

/*
 * onyx_conf_set: override one setting from a flag. key is one of "zk",
 * "cluster", "broker", "user", "password-file", "max-segment" (bytes, with
 * an optional k, M or G suffix: 1024, 1024^2, 1024^3), "metrics",
 * "broker-ca", "broker-cert", "broker-key" (file names, checked readable),
 * "insecure-plain" ("0" or "1").
 * "zk-secret-file" (a path, not read here), "zk-reader" (an ACL id).
 * Returns ONYX_OK or
 * ONYX_ECONFIG (bad value or unreadable file) with err filled.
 */
int onyx_conf_set(struct onyx_conf *c, const char *key, const char *value,
    char *err, size_t errlen);

/*
 * onyx_conf_read_secret: read the whole of file path into buf, one trailing
 * newline (or CR LF) dropped. The file must be readable by its owner alone
 * (no group or other permission bits, as ssh asks of a key) and hold one
 * line, not empty, without a NUL byte, shorter than len. Returns ONYX_OK,
 * or ONYX_ECONFIG with err naming the file (and its mode when that is what
 * is wrong); buf is unchanged then.
 */
int onyx_conf_read_secret(
    const char *path, char *buf, size_t len, char *err, size_t errlen);

/*
 * onyx_url_parse: split amqp[s]://[user[:password]@]host[:port] into u
 * (port defaults to 5672, or 5671 for amqps://, which sets u->tls; the
 * user info ends at the last '@'). Returns ONYX_OK or ONYX_ECONFIG with
 * err naming the URL, redacted (onyx_url_redact).
 */
int
onyx_url_parse(const char *url, struct onyx_url *u, char *err, size_t errlen);

/*
 * onyx_conf_size: s as a size in bytes, a whole number with an optional
 * suffix k/K (KiB), M (MiB) or G (GiB), in [min, max]. Returns 0 with *out
 * set, or -1 when s is not such a size or out of range.
 */
int onyx_conf_size(const char *s, size_t min, size_t max, size_t *out);

/*
 * onyx_conf_sasl: the SASL mechanism of a connection to a broker, and
 * whether it may be made. tls: the URL is amqps://; user: a user name is
 * given (URL or setting); cert: a client certificate is set; loopback:
 * every address the host resolves to is a loopback one; insecure: the
 * user allowed PLAIN over cleartext (c->insecure_plain). A user gives
 * PLAIN, else a certificate gives EXTERNAL (TLS only), else ANONYMOUS.
 * Returns the mechanism, or -1 with err filled (a configuration error,
 * exit 78): PLAIN without TLS to an address that is not loopback and not
 * allowed, or a certificate without amqps://. Pure.
 */
int onyx_conf_sasl(bool tls, bool user, bool cert, bool loopback, bool insecure,
    char *err, size_t errlen);

/*
 * onyx_url_redact: copy url to buf as it may be shown in a message: the
 * whole user info (up to the last '@') becomes "***@", a port that is not a
 * number becomes ":***" (in amqp://user:secret the '@' is missing), an
 * unclosed '[' host becomes "***", and what follows the host (path, query)
 * is dropped: amqp://u:p@h:1/x is shown as amqp:// and ***@h:1. Safe on any
 * string; buf is always terminated (truncated to len).
 */
void onyx_url_redact(const char *url, char *buf, size_t len);

/*
 * onyx_url_has_password: whether url's user info (up to its last '@') holds
 * a ':', that is a password, even an empty one.
 */
bool onyx_url_has_password(const char *url);

#endif
