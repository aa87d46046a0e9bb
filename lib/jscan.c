/* lib/jscan.c: a one-pass JSON validator, conservative towards jansson. */
#include <string.h>

#include "jscan.h"

#define MAX_DEPTH 512
#define MAX_NUMBER 15 /* characters: a longer number is left to jansson */

/* plain[c]: a byte a string holds as is (not '"', '\\', control, non-ASCII) */
static const unsigned char plain[256] = {
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
    R16(0), R16(0),                                 /* 0x00-0x1f */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x20: '"' */
    R16(1), R16(1),                                 /* 0x30-0x4f */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* '\\' */
    R16(1), R16(1),                                 /* 0x60-0x7f */
    R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0)
#undef R16
};

struct scan {
	const unsigned char *p, *e;
	int depth;
};

static bool value(struct scan *s);

static void
ws(struct scan *s)
{
	while (s->p < s->e &&
	    (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int
hex4(const unsigned char *p)
{
	int v = 0, i, d;

	for (i = 0; i < 4; i++) {
		if (p[i] >= '0' && p[i] <= '9')
			d = p[i] - '0';
		else if (p[i] >= 'a' && p[i] <= 'f')
			d = p[i] - 'a' + 10;
		else if (p[i] >= 'A' && p[i] <= 'F')
			d = p[i] - 'A' + 10;
		else
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/* One UTF-8 sequence starting at s->p (a byte >= 0x80): well-formed, no
 * surrogate, at most U+10FFFF. */
static bool
utf8(struct scan *s)
{
	const unsigned char *p = s->p;
	size_t left = (size_t)(s->e - p);
	unsigned char lo = 0x80, hi = 0xbf;
	int n, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 1;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 2;
		if (p[0] == 0xe0)
			lo = 0xa0;
		else if (p[0] == 0xed)
			hi = 0x9f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 3;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;
	} else
		return false;
	if (left < (size_t)n + 1 || p[1] < lo || p[1] > hi)
		return false;
	for (i = 2; i <= n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return false;
	s->p += n + 1;
	return true;
}

/* A string at s->p (on its quote). A key may not hold U+0000. */
static bool
string(struct scan *s, bool key)
{
	int c, lo;

	s->p++;
	while (s->p < s->e) {
		if (plain[*s->p]) {
			s->p++;
			continue;
		}
		if (*s->p == '"') {
			s->p++;
			return true;
		}
		if (*s->p < 0x20)
			return false;
		if (*s->p >= 0x80) {
			if (!utf8(s))
				return false;
			continue;
		}
		if (*s->p != '\\') {
			s->p++;
			continue;
		}
		if (s->e - s->p < 2)
			return false;
		switch (s->p[1]) {
		case '"':
		case '\\':
		case '/':
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't': s->p += 2; continue;
		case 'u': break;
		default: return false;
		}
		if (s->e - s->p < 6 || (c = hex4(s->p + 2)) < 0)
			return false;
		s->p += 6;
		if (c == 0 && key)
			return false;
		if (c >= 0xdc00 && c <= 0xdfff)
			return false;
		if (c >= 0xd800 && c <= 0xdbff) {
			if (s->e - s->p < 6 || s->p[0] != '\\' ||
			    s->p[1] != 'u' || (lo = hex4(s->p + 2)) < 0xdc00 ||
			    lo > 0xdfff)
				return false;
			s->p += 6;
		}
	}
	return false;
}

static bool
digits(struct scan *s)
{
	const unsigned char *start = s->p;

	while (s->p < s->e && *s->p >= '0' && *s->p <= '9')
		s->p++;
	return s->p > start;
}

static bool
number(struct scan *s)
{
	const unsigned char *start = s->p, *exp;

	if (*s->p == '-')
		s->p++;
	if (s->p < s->e && *s->p == '0')
		s->p++;
	else if (!digits(s))
		return false;
	if (s->p < s->e && *s->p == '.') {
		s->p++;
		if (!digits(s))
			return false;
	}
	if (s->p < s->e && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		if (s->p < s->e && (*s->p == '+' || *s->p == '-'))
			s->p++;
		exp = s->p;
		if (!digits(s) || s->p - exp > 2)
			return false;
	}
	return s->p - start <= MAX_NUMBER;
}

static bool
word(struct scan *s, const char *w, int n)
{
	int i;

	if (s->e - s->p < n)
		return false;
	for (i = 0; i < n; i++)
		if (s->p[i] != (unsigned char)w[i])
			return false;
	s->p += n;
	return true;
}

static bool
members(struct scan *s, bool object)
{
	unsigned char close = object ? '}' : ']';

	if (++s->depth > MAX_DEPTH)
		return false;
	s->p++;
	ws(s);
	if (s->p < s->e && *s->p == close) {
		s->p++;
		s->depth--;
		return true;
	}
	for (;;) {
		if (object) {
			if (s->p >= s->e || *s->p != '"' || !string(s, true))
				return false;
			ws(s);
			if (s->p >= s->e || *s->p != ':')
				return false;
			s->p++;
			ws(s);
		}
		if (!value(s))
			return false;
		ws(s);
		if (s->p >= s->e)
			return false;
		if (*s->p == close) {
			s->p++;
			s->depth--;
			return true;
		}
		if (*s->p != ',')
			return false;
		s->p++;
		ws(s);
	}
}

static bool
value(struct scan *s)
{
	if (s->p >= s->e)
		return false;
	switch (*s->p) {
	case '{': return members(s, true);
	case '[': return members(s, false);
	case '"': return string(s, false);
	case 't': return word(s, "true", 4);
	case 'f': return word(s, "false", 5);
	case 'n': return word(s, "null", 4);
	default:
		return *s->p == '-' || (*s->p >= '0' && *s->p <= '9')
		    ? number(s)
		    : false;
	}
}

bool
onyx_jscan_object(const char *text, size_t len)
{
	struct scan s = {
	    (const unsigned char *)text, (const unsigned char *)text + len, 0};

	ws(&s);
	if (s.p >= s.e || *s.p != '{' || !members(&s, true))
		return false;
	ws(&s);
	return s.p == s.e;
}

/*
 * The object at s->p, as members() reads it, noting the value of the last
 * top-level member named key (klen bytes, no escapes) when it is a string
 * without escapes. *unsure when a top-level name holds an escape (it may
 * spell key).
 */
static bool
find_key(struct scan *s, const char *key, size_t klen, const char **val,
    size_t *vlen, bool *unsure)
{
	s->depth = 1;
	s->p++;
	ws(s);
	if (s->p < s->e && *s->p == '}') {
		s->p++;
		return true;
	}
	for (;;) {
		const unsigned char *k, *v;
		bool match;
		if (s->p >= s->e || *s->p != '"')
			return false;
		k = s->p + 1;
		if (!string(s, true))
			return false;
		match =
		    (size_t)(s->p - 1 - k) == klen && memcmp(k, key, klen) == 0;
		if (memchr(k, '\\', (size_t)(s->p - 1 - k)) != NULL)
			*unsure = true;
		ws(s);
		if (s->p >= s->e || *s->p != ':')
			return false;
		s->p++;
		ws(s);
		v = s->p;
		if (!value(s))
			return false;
		if (match) {
			bool str = *v == '"' &&
			    memchr(v, '\\', (size_t)(s->p - v)) == NULL;
			*val = str ? (const char *)v + 1 : NULL;
			*vlen = str ? (size_t)(s->p - v) - 2 : 0;
		}
		ws(s);
		if (s->p >= s->e)
			return false;
		if (*s->p == '}') {
			s->p++;
			return true;
		}
		if (*s->p != ',')
			return false;
		s->p++;
		ws(s);
	}
}

bool
onyx_jscan_key_string(const char *text, size_t len, const char *key,
    const char **val, size_t *vlen)
{
	struct scan s = {
	    (const unsigned char *)text, (const unsigned char *)text + len, 0};
	bool unsure = false;

	*val = NULL;
	*vlen = 0;
	if (strchr(key, '\\') != NULL || strchr(key, '"') != NULL)
		return false;
	ws(&s);
	if (s.p >= s.e || *s.p != '{' ||
	    !find_key(&s, key, strlen(key), val, vlen, &unsure))
		return false;
	ws(&s);
	if (s.p != s.e || unsure || *val == NULL) {
		*val = NULL;
		return false;
	}
	return true;
}
