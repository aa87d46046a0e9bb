/* fuzz/conf.c: libFuzzer harness for the URL and settings parsers (lib/conf.c): parse, redact, and the secret never shown. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/conf.h"
#include "../lib/status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The user info of s: what precedes its last '@' after a scheme. */
static const char *
after_userinfo(const char *s)
{
	const char *at = strrchr(s, '@');

	return at != NULL ? at + 1 : NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = {
	    "zk", "cluster", "broker", "user", "max-segment", "metrics"};
	struct onyx_url u;
	struct onyx_conf c;
	char *s, err[1024], shown[600], tiny[9];
	const char *tail;
	size_t v;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	onyx_url_redact(s, shown, sizeof(shown));
	onyx_url_redact(s, tiny, sizeof(tiny));
	if (onyx_url_parse(s, &u, err, sizeof(err)) == ONYX_OK) {
		/* a password of 3 bytes or more, without '*' and not also in
		 * the host part, never shows in the redacted URL's host part */
		const char *host = shown;
		if (strncmp(host, "amqp://", 7) == 0)
			host += 7;
		else if (strncmp(host, "amqps://", 8) == 0)
			host += 8;
		if (strncmp(host, "***@", 4) == 0)
			host += 4;
		tail = after_userinfo(s);
		if (strlen(u.password) >= 3 && tail != NULL &&
		    strchr(u.password, '*') == NULL &&
		    strstr(tail, u.password) == NULL &&
		    strstr(host, u.password) != NULL)
			abort();
		if (!onyx_url_has_password(s) && u.password[0] != '\0')
			abort();
	} else if (strlen(u.password) != 0 || strlen(u.host) != 0)
		abort(); /* a failed parse leaves u empty */
	onyx_conf_size(s, 1, (size_t)1 << 30, &v);
	onyx_conf_defaults(&c);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		onyx_conf_set(&c, keys[i], s, err, sizeof(err));
	free(s);
	return 0;
}
