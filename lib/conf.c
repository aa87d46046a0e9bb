/* lib/conf.c: configuration from the environment and flags, and broker URLs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>

#include "conf.h"
#include "errstr.h"
#include "status.h"
#include "zkauth.h"

void
onyx_conf_defaults(struct onyx_conf *c)
{
	memset(c, 0, sizeof(*c));
	strlcpy(c->zk, ONYX_DEFAULT_ZK, sizeof(c->zk));
	strlcpy(c->cluster, ONYX_DEFAULT_CLUSTER, sizeof(c->cluster));
	strlcpy(c->broker, ONYX_DEFAULT_BROKER, sizeof(c->broker));
	c->max_segment = ONYX_DEFAULT_MAX_SEGMENT;
}

int
onyx_conf_size(const char *s, size_t min, size_t max, size_t *out)
{
	unsigned long long v = 0, mul = 1;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned long long)(*p - '0');
		if (v > (1ULL << 40))
			return -1;
	}
	switch (*p) {
	case '\0': break;
	case 'k':
	case 'K': mul = 1ULL << 10; break;
	case 'M': mul = 1ULL << 20; break;
	case 'G': mul = 1ULL << 30; break;
	default: return -1;
	}
	if (*p != '\0' && p[1] != '\0')
		return -1;
	v *= mul;
	if (v < min || v > max)
		return -1;
	*out = (size_t)v;
	return 0;
}

static int
check_cluster(const char *v, char *err, size_t errlen)
{
	size_t i;

	if (*v == '\0') {
		snprintf(err, errlen, "the cluster name is empty");
		return ONYX_ECONFIG;
	}
	for (i = 0; v[i]; i++) {
		char ch = v[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		        (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
		        ch == '.')) {
			snprintf(err, errlen,
			    "cluster name '%s': only letters, digits, '-', '_' and '.' are allowed",
			    v);
			return ONYX_ECONFIG;
		}
	}
	if (strcmp(v, ".") == 0 || strcmp(v, "..") == 0) {
		snprintf(err, errlen, "cluster name '%s' is reserved", v);
		return ONYX_ECONFIG;
	}
	return ONYX_OK;
}

static int
copy(char *dst, size_t len, const char *v, const char *what, char *err,
    size_t errlen)
{
	if (strlcpy(dst, v, len) >= len) {
		snprintf(err, errlen, "%s is too long (%zu bytes at most)",
		    what, len - 1);
		return ONYX_ECONFIG;
	}
	return ONYX_OK;
}

/* Reads all of fd into *out (NUL-terminated, *n bytes before it). */
static int
read_all(int fd, char **out, size_t *n)
{
	size_t cap = 256, len = 0;
	char *b = malloc(cap), *nb;
	ssize_t r;

	if (b == NULL)
		return -1;
	for (;;) {
		if (len + 1 >= cap) {
			if ((nb = realloc(b, cap * 2)) == NULL)
				goto fail;
			b = nb;
			cap *= 2;
		}
		r = read(fd, b + len, cap - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		len += (size_t)r;
	}
	b[len] = '\0';
	*out = b;
	*n = len;
	return 0;
fail:
	explicit_bzero(b, cap);
	free(b);
	return -1;
}

/* A file setting (a CA, certificate or key): readable now, so a typo is
 * told at start and not at the first connection. */
static int
pem_file(char *dst, size_t len, const char *v, const char *what, char *err,
    size_t errlen)
{
	if (*v == '\0') {
		dst[0] = '\0';
		return ONYX_OK;
	}
	if (access(v, R_OK) != 0) {
		snprintf(
		    err, errlen, "%s %s: %s", what, v, onyx_strerror(errno));
		return ONYX_ECONFIG;
	}
	return copy(dst, len, v, what, err, errlen);
}

int
onyx_conf_read_secret(
    const char *path, char *buf, size_t len, char *err, size_t errlen)
{
	struct stat sb;
	char *all = NULL;
	size_t n = 0;
	int fd, st = ONYX_ECONFIG;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %m", path);
		return ONYX_ECONFIG;
	}
	if (fstat(fd, &sb) != 0) {
		snprintf(err, errlen, "%s: %m", path);
		goto out;
	}
	if ((sb.st_mode & 077) != 0) {
		snprintf(err, errlen,
		    "password file %s has mode %04o: others may read it; make it readable by its owner alone (chmod 600)",
		    path, (unsigned)(sb.st_mode & 07777));
		goto out;
	}
	if (read_all(fd, &all, &n) != 0) {
		snprintf(err, errlen, "%s: %m", path);
		goto out;
	}
	if (strlen(all) != n) {
		snprintf(
		    err, errlen, "password file %s holds a NUL byte", path);
		goto out;
	}
	if (n > 0 && all[n - 1] == '\n')
		all[--n] = '\0';
	if (n > 0 && all[n - 1] == '\r')
		all[--n] = '\0';
	if (n == 0) {
		snprintf(err, errlen, "password file %s is empty", path);
		goto out;
	}
	if (memchr(all, '\n', n) != NULL) {
		snprintf(err, errlen,
		    "password file %s holds more than one line", path);
		goto out;
	}
	if (n >= len) {
		snprintf(err, errlen,
		    "the password in %s is longer than %zu bytes", path,
		    len - 1);
		goto out;
	}
	memcpy(buf, all, n + 1);
	st = ONYX_OK;
out:
	if (all != NULL) {
		explicit_bzero(all, n);
		free(all);
	}
	close(fd);
	return st;
}

int
onyx_conf_set(struct onyx_conf *c, const char *key, const char *value,
    char *err, size_t errlen)
{
	int st;

	if (strcmp(key, "zk") == 0) {
		if (*value == '\0') {
			snprintf(err, errlen,
			    "the ZooKeeper connect string is empty");
			return ONYX_ECONFIG;
		}
		return copy(c->zk, sizeof(c->zk), value,
		    "ZooKeeper connect string", err, errlen);
	}
	if (strcmp(key, "cluster") == 0) {
		if ((st = check_cluster(value, err, errlen)) != ONYX_OK)
			return st;
		return copy(c->cluster, sizeof(c->cluster), value,
		    "cluster name", err, errlen);
	}
	if (strcmp(key, "broker") == 0) {
		struct onyx_url u;
		if (onyx_url_has_password(value)) {
			char shown[512];
			onyx_url_redact(value, shown, sizeof(shown));
			snprintf(err, errlen,
			    "broker URL '%s': a password in the URL is refused (it would show in ps and in the environment); give it in a file named by ONYX_BROKER_PASSWORD_FILE or --password-file",
			    shown);
			return ONYX_ECONFIG;
		}
		if ((st = onyx_url_parse(value, &u, err, errlen)) != ONYX_OK)
			return st;
		return copy(c->broker, sizeof(c->broker), value, "broker URL",
		    err, errlen);
	}
	if (strcmp(key, "user") == 0)
		return copy(c->user, sizeof(c->user), value, "broker user", err,
		    errlen);
	if (strcmp(key, "password") == 0)
		return copy(c->password, sizeof(c->password), value,
		    "broker password", err, errlen);
	if (strcmp(key, "password-file") == 0)
		return onyx_conf_read_secret(
		    value, c->password, sizeof(c->password), err, errlen);
	if (strcmp(key, "max-segment") == 0) {
		if (onyx_conf_size(value, ONYX_MIN_MAX_SEGMENT,
		        ONYX_MAX_MAX_SEGMENT, &c->max_segment) != 0) {
			snprintf(err, errlen,
			    "maximum segment size '%s' is not a size from 1k to 1G (bytes, or with a k, M or G suffix)",
			    value);
			return ONYX_ECONFIG;
		}
		return ONYX_OK;
	}
	if (strcmp(key, "broker-ca") == 0)
		return pem_file(
		    c->ca, sizeof(c->ca), value, "broker CA file", err, errlen);
	if (strcmp(key, "broker-cert") == 0)
		return pem_file(c->cert, sizeof(c->cert), value,
		    "broker client certificate", err, errlen);
	if (strcmp(key, "broker-key") == 0)
		return pem_file(c->key, sizeof(c->key), value,
		    "broker client key", err, errlen);
	if (strcmp(key, "insecure-plain") == 0) {
		if (strcmp(value, "0") != 0 && strcmp(value, "1") != 0) {
			snprintf(err, errlen,
			    "'%s' is not 0 or 1 (allow a password over cleartext TCP to a non-loopback broker)",
			    value);
			return ONYX_ECONFIG;
		}
		c->insecure_plain = value[0] == '1';
		return ONYX_OK;
	}
	if (strcmp(key, "metrics") == 0)
		return copy(c->metrics, sizeof(c->metrics), value,
		    "metrics address", err, errlen);
	if (strcmp(key, "zk-secret-file") == 0)
		return copy(c->zk_secret_file, sizeof(c->zk_secret_file), value,
		    "ZooKeeper secret file name", err, errlen);
	if (strcmp(key, "zk-reader") == 0) {
		if ((st = onyx_zkauth_check_id(value, err, errlen)) != ONYX_OK)
			return st;
		return copy(c->zk_reader, sizeof(c->zk_reader), value,
		    "ZooKeeper reader id", err, errlen);
	}
	snprintf(err, errlen, "unknown setting '%s'", key);
	return ONYX_ERR;
}

int
onyx_conf_from_env(struct onyx_conf *c, char *err, size_t errlen)
{
	static const struct {
		const char *var, *key;
	} map[] = {
	    {"ONYX_ZK", "zk"},
	    {"ONYX_CLUSTER", "cluster"},
	    {"ONYX_BROKER", "broker"},
	    {"ONYX_BROKER_USER", "user"},
	    {"ONYX_BROKER_PASSWORD", "password"},
	    {"ONYX_BROKER_PASSWORD_FILE", "password-file"},
	    {"ONYX_BROKER_CA", "broker-ca"},
	    {"ONYX_BROKER_CERT", "broker-cert"},
	    {"ONYX_BROKER_KEY", "broker-key"},
	    {"ONYX_BROKER_INSECURE_PLAIN", "insecure-plain"},
	    {"ONYX_MAX_SEGMENT", "max-segment"},
	    {"ONYX_METRICS", "metrics"},
	    {"ONYX_ZK_SECRET_FILE", "zk-secret-file"},
	    {"ONYX_ZK_READER", "zk-reader"},
	};
	size_t i;
	char sub[384];

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		const char *v = getenv(map[i].var);
		if (v == NULL ||
		    (*v == '\0' && strcmp(map[i].key, "user") != 0 &&
		        strcmp(map[i].key, "password") != 0))
			continue;
		if (onyx_conf_set(c, map[i].key, v, sub, sizeof(sub)) !=
		    ONYX_OK) {
			snprintf(err, errlen, "%s: %s", map[i].var, sub);
			return ONYX_ECONFIG;
		}
	}
	return ONYX_OK;
}

/* The length of url's scheme and "://" (e.g. 7 for amqp://), 0 without one. */
static size_t
scheme_len(const char *url)
{
	static const char scheme_chars[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-";
	size_t n = strspn(url, scheme_chars);

	return n > 0 && strncmp(url + n, "://", 3) == 0 ? n + 3 : 0;
}

/* The user info of url: its start and the last '@' (NULL when none). */
static const char *
userinfo(const char *url, const char **start)
{
	*start = url + scheme_len(url);
	return strrchr(*start, '@');
}

bool
onyx_url_has_password(const char *url)
{
	const char *start, *at = userinfo(url, &start);

	return at != NULL && memchr(start, ':', (size_t)(at - start)) != NULL;
}

int
onyx_url_parse(const char *url, struct onyx_url *u, char *err, size_t errlen)
{
	const char *p, *at, *hostend, *colon;
	char shown[512];
	size_t n;

	memset(u, 0, sizeof(*u));
	onyx_url_redact(url, shown, sizeof(shown));
	n = scheme_len(url);
	if (n != 0 && strncmp(url, "amqp://", 7) != 0 &&
	    strncmp(url, "amqps://", 8) != 0) {
		snprintf(err, errlen,
		    "broker URL '%s': only amqp:// and amqps:// are supported",
		    shown);
		return ONYX_ECONFIG;
	}
	u->tls = strncmp(url, "amqps://", 8) == 0;
	if (n == 0 && strstr(url, "://") != NULL)
		goto bad;
	/* the last '@': a password may hold '@', '/', '?' or '#' */
	if ((at = userinfo(url, &p)) != NULL) {
		const char *c = memchr(p, ':', (size_t)(at - p));
		if (c != NULL) {
			n = (size_t)(at - c - 1);
			if (n >= sizeof(u->password))
				goto bad;
			memcpy(u->password, c + 1, n);
		} else
			c = at;
		n = (size_t)(c - p);
		if (n >= sizeof(u->user))
			goto bad;
		memcpy(u->user, p, n);
		p = at + 1;
	}
	hostend = p + strcspn(p, "/?#");
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(hostend - p));
		if (rb == NULL)
			goto bad;
		n = (size_t)(rb - p - 1);
		if (n == 0 || n >= sizeof(u->host))
			goto bad;
		memcpy(u->host, p + 1, n);
		if (rb + 1 < hostend && rb[1] != ':')
			goto bad;
		colon = rb + 1 < hostend ? rb + 1 : NULL;
	} else {
		colon = memchr(p, ':', (size_t)(hostend - p));
		n = (size_t)((colon ? colon : hostend) - p);
		if (n == 0 || n >= sizeof(u->host))
			goto bad;
		memcpy(u->host, p, n);
	}
	if (colon != NULL) {
		n = (size_t)(hostend - colon - 1);
		if (n == 0 || n >= sizeof(u->port) ||
		    strspn(colon + 1, "0123456789") < n)
			goto bad;
		memcpy(u->port, colon + 1, n);
	} else
		strlcpy(u->port, u->tls ? "5671" : "5672", sizeof(u->port));
	return ONYX_OK;
bad:
	memset(u, 0, sizeof(*u));
	snprintf(err, errlen,
	    "broker URL '%s' is not amqp[s]://[user@]host[:port]", shown);
	return ONYX_ECONFIG;
}

void
onyx_url_redact(const char *url, char *buf, size_t len)
{
	const char *start, *at = userinfo(url, &start);
	const char *host = at != NULL ? at + 1 : start, *port = NULL;
	size_t hl = strcspn(host, "/?#"), shown = hl, pl = 0;
	const char *mask = "";

	if (*host == '[') {
		const char *rb = memchr(host, ']', hl);
		if (rb == NULL)
			shown = 0; /* unclosed: nothing of it is shown */
		else if (rb + 1 < host + hl) {
			port = rb + 1;
			shown = (size_t)(port - host);
		}
	} else if ((port = memchr(host, ':', hl)) != NULL)
		shown = (size_t)(port - host);
	if (port != NULL) {
		pl = (size_t)(host + hl - port);
		/* only a number is shown: without its '@' a password looks
		 * like a port (amqp://user:secret) */
		if (port[0] != ':' || strspn(port + 1, "0123456789") != pl - 1)
			pl = 0;
	}
	if (port != NULL && pl == 0)
		mask = ":***"; /* a port that is not a number */
	else if (port == NULL && shown < hl)
		mask = "***"; /* an unclosed '[' */
	snprintf(buf, len, "%.*s%s%.*s%.*s%s", (int)(start - url), url,
	    at != NULL ? "***@" : "", (int)shown, host, (int)pl,
	    port != NULL ? port : "", mask);
}

int
onyx_conf_sasl(bool tls, bool user, bool cert, bool loopback, bool insecure,
    char *err, size_t errlen)
{
	if (cert && !tls) {
		snprintf(err, errlen,
		    "a client certificate (ONYX_BROKER_CERT, --broker-cert) needs an amqps:// broker URL");
		return -1;
	}
	if (user) {
		if (!tls && !loopback && !insecure) {
			snprintf(err, errlen,
			    "a password over cleartext TCP to a broker that is not on a loopback address is refused: use amqps://, or allow it with ONYX_BROKER_INSECURE_PLAIN=1 (--insecure-plain)");
			return -1;
		}
		return ONYX_SASL_PLAIN;
	}
	return cert ? ONYX_SASL_EXTERNAL : ONYX_SASL_ANONYMOUS;
}
