/* lib/conf.c: configuration from the environment and flags, and broker URLs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "conf.h"
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

int
onyx_conf_read_secret(
    const char *path, char *buf, size_t len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ONYX_ECONFIG;
	}
	if (fgets(buf, len, f) == NULL) {
		int e = ferror(f);
		fclose(f);
		if (e) {
			snprintf(err, errlen, "%s: read error", path);
			return ONYX_ECONFIG;
		}
		buf[0] = '\0';
		return ONYX_OK;
	}
	fclose(f);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return ONYX_OK;
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

int
onyx_url_parse(const char *url, struct onyx_url *u, char *err, size_t errlen)
{
	const char *p = url, *at, *hostend, *colon;
	size_t n;

	memset(u, 0, sizeof(*u));
	if (strncmp(p, "amqp://", 7) == 0)
		p += 7;
	else if (strstr(p, "://") != NULL) {
		snprintf(err, errlen,
		    "broker URL '%s': only amqp:// is supported", url);
		return ONYX_ECONFIG;
	}
	hostend = p + strcspn(p, "/?#");
	at = memchr(p, '@', hostend - p);
	if (at != NULL) {
		const char *c = memchr(p, ':', at - p);
		if (c != NULL) {
			n = at - c - 1;
			if (n >= sizeof(u->password))
				goto bad;
			memcpy(u->password, c + 1, n);
		} else
			c = at;
		n = c - p;
		if (n >= sizeof(u->user))
			goto bad;
		memcpy(u->user, p, n);
		p = at + 1;
	}
	if (*p == '[') {
		const char *rb = memchr(p, ']', hostend - p);
		if (rb == NULL)
			goto bad;
		n = rb - p - 1;
		if (n == 0 || n >= sizeof(u->host))
			goto bad;
		memcpy(u->host, p + 1, n);
		colon = rb + 1 < hostend && rb[1] == ':' ? rb + 1 : NULL;
	} else {
		colon = memchr(p, ':', hostend - p);
		n = (colon ? colon : hostend) - p;
		if (n == 0 || n >= sizeof(u->host))
			goto bad;
		memcpy(u->host, p, n);
	}
	if (colon != NULL) {
		n = hostend - colon - 1;
		if (n == 0 || n >= sizeof(u->port) ||
		    strspn(colon + 1, "0123456789") < n)
			goto bad;
		memcpy(u->port, colon + 1, n);
	} else
		strlcpy(u->port, "5672", sizeof(u->port));
	return ONYX_OK;
bad:
	snprintf(err, errlen,
	    "broker URL '%s' is not amqp://[user[:password]@]host[:port]", url);
	return ONYX_ECONFIG;
}

void
onyx_url_redact(const char *url, char *buf, size_t len)
{
	const char *p = strstr(url, "://");
	const char *start = p ? p + 3 : url;
	const char *end = start + strcspn(start, "/?#");
	const char *at = memchr(start, '@', end - start);
	const char *c;

	if (at == NULL || (c = memchr(start, ':', at - start)) == NULL) {
		strlcpy(buf, url, len);
		return;
	}
	snprintf(buf, len, "%.*s***%s", (int)(c + 1 - url), url, at);
}
