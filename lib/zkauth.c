/* lib/zkauth.c: ZooKeeper digest identities: secret files and their ACL ids (SHA-1 from libmd). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sha1.h>

#include "errstr.h"
#include "status.h"
#include "zk.h"
#include "zkauth.h"

/* base64 (RFC 4648, padded) of n bytes into out, which holds 4*ceil(n/3)+1 */
static void
base64(const uint8_t *in, size_t n, char *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		out[o++] = tab[in[i] >> 2];
		out[o++] = tab[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		out[o++] = tab[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
		out[o++] = tab[in[i + 2] & 63];
	}
	if (i < n) {
		out[o++] = tab[in[i] >> 2];
		if (i + 1 < n) {
			out[o++] = tab[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
			out[o++] = tab[(in[i + 1] & 15) << 2];
		} else {
			out[o++] = tab[(in[i] & 3) << 4];
			out[o++] = '=';
		}
		out[o++] = '=';
	}
	out[o] = '\0';
}

int
onyx_zkauth_digest(const char *secret, char **id, char *err, size_t errlen)
{
	const char *colon = strchr(secret, ':');
	uint8_t md[SHA1_DIGEST_LENGTH];
	char b64[4 * ((SHA1_DIGEST_LENGTH + 2) / 3) + 1];
	size_t ulen;
	SHA1_CTX ctx;

	*id = NULL;
	if (colon == NULL || colon == secret || strchr(secret, '\n') != NULL) {
		snprintf(err, errlen,
		    "a ZooKeeper secret is user:password, with a user name before the first ':'");
		return ONYX_ECONFIG;
	}
	ulen = (size_t)(colon - secret);
	SHA1Init(&ctx);
	SHA1Update(&ctx, (const uint8_t *)secret, strlen(secret));
	SHA1Final(md, &ctx);
	base64(md, sizeof(md), b64);
	if ((*id = malloc(ulen + 1 + strlen(b64) + 1)) == NULL)
		return ONYX_ERR;
	memcpy(*id, secret, ulen);
	(*id)[ulen] = ':';
	strcpy(*id + ulen + 1, b64);
	explicit_bzero(&ctx, sizeof(ctx));
	return ONYX_OK;
}

int
onyx_zkauth_check_id(const char *id, char *err, size_t errlen)
{
	const char *colon = strrchr(id, ':');
	size_t i;

	if (colon != NULL && colon != id && strlen(colon + 1) == 28 &&
	    colon[28] == '=') {
		for (i = 1; i < 28; i++)
			if (strchr(
			        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
			        colon[i]) == NULL)
				break;
		if (i == 28 && strchr(id, ':') == colon)
			return ONYX_OK;
	}
	snprintf(err, errlen,
	    "ZooKeeper ACL id '%s' is not user:digest (the base64 of the SHA-1 of user:password, 28 characters)",
	    id);
	return ONYX_ECONFIG;
}

int
onyx_zkauth_read_secret(
    const char *path, char **secret, char *err, size_t errlen)
{
	struct stat st;
	char *line = NULL, *id = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int fd, rc;

	*secret = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		snprintf(err, errlen, "ZooKeeper secret file %s: %s", path,
		    onyx_strerror(errno));
		return ONYX_ECONFIG;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen,
		    "ZooKeeper secret file %s: not a regular file", path);
		close(fd);
		return ONYX_ECONFIG;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen,
		    "ZooKeeper secret file %s: permissions %04o are too open (group or others have access): chmod 600 it",
		    path, (unsigned)(st.st_mode & 07777));
		close(fd);
		return ONYX_ECONFIG;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return ONYX_ERR;
	}
	errno = 0;
	n = getline(&line, &cap, f);
	rc = n < 0 && ferror(f);
	fclose(f);
	if (rc) {
		snprintf(
		    err, errlen, "ZooKeeper secret file %s: read error", path);
		free(line);
		return ONYX_ECONFIG;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (n <= 0) {
		snprintf(
		    err, errlen, "ZooKeeper secret file %s is empty", path);
		free(line);
		return ONYX_ECONFIG;
	}
	if ((rc = onyx_zkauth_digest(line, &id, err, errlen)) != ONYX_OK) {
		if (rc == ONYX_ECONFIG)
			snprintf(err, errlen,
			    "ZooKeeper secret file %s: the first line is not user:password",
			    path);
		explicit_bzero(line, (size_t)n);
		free(line);
		return rc;
	}
	free(id);
	*secret = line;
	return ONYX_OK;
}

int
onyx_zkauth_setup(
    const char *secret_file, const char *reader, char *err, size_t errlen)
{
	char *secret = NULL;
	int st;

	if (secret_file != NULL && *secret_file != '\0' &&
	    (st = onyx_zkauth_read_secret(secret_file, &secret, err, errlen)) !=
	        ONYX_OK)
		return st;
	st = onyx_zk_set_identity(secret, reader, err, errlen);
	if (secret != NULL) {
		explicit_bzero(secret, strlen(secret));
		free(secret);
	}
	return st;
}
