/* lib/json.c: strict JSON parsing with error positions, JSON path strings, and selectors into segments. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "jscan.h"
#include "status.h"

int
onyx_json_parse_object(
    const char *text, size_t len, json_t **out, char *err, size_t errlen)
{
	json_error_t je;
	json_t *v;

	*out = NULL;
	v = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	if (v == NULL) {
		snprintf(err, errlen, "not JSON (column %d: %s)", je.column,
		    je.text);
		return ONYX_EDATA;
	}
	if (!json_is_object(v)) {
		snprintf(
		    err, errlen, "%s, not an object", onyx_json_type_name(v));
		json_decref(v);
		return ONYX_EDATA;
	}
	*out = v;
	return ONYX_OK;
}

int
onyx_json_check_object(const char *text, size_t len, char *err, size_t errlen)
{
	json_t *v;
	int st;

	if (onyx_jscan_object(text, len))
		return ONYX_OK;
	/* not certain: jansson decides, and says why */
	st = onyx_json_parse_object(text, len, &v, err, errlen);
	json_decref(v);
	return st;
}

int
onyx_json_parse_doc(
    const char *text, size_t len, json_t **out, char *err, size_t errlen)
{
	json_error_t je;

	*out = json_loadb(text, len, JSON_DECODE_ANY, &je);
	if (*out == NULL) {
		snprintf(err, errlen, "line %d, column %d: %s", je.line,
		    je.column, je.text);
		return ONYX_EDATA;
	}
	return ONYX_OK;
}

const char *
onyx_json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "a JSON object";
	case JSON_ARRAY: return "a JSON array";
	case JSON_STRING: return "a JSON string";
	case JSON_INTEGER: return "a JSON integer";
	case JSON_REAL: return "a JSON number";
	case JSON_TRUE:
	case JSON_FALSE: return "a JSON boolean";
	case JSON_NULL: return "JSON null";
	}
	return "a JSON value";
}

static int
plain_key(const char *k)
{
	size_t i;

	if (k[0] == '\0' || isdigit((unsigned char)k[0]))
		return 0;
	for (i = 0; k[i]; i++)
		if (!isalnum((unsigned char)k[i]) && k[i] != '_')
			return 0;
	return 1;
}

char *
onyx_json_path_key(char *buf, size_t len, const char *base, const char *key)
{
	const char *dot = (base && *base) ? "." : "";

	if (base == NULL)
		base = "";
	if (plain_key(key))
		snprintf(buf, len, "%s%s%s", base, dot, key);
	else
		snprintf(buf, len, "%s%s\"%s\"", base, dot, key);
	return buf;
}

char *
onyx_json_path_index(char *buf, size_t len, const char *base, size_t i)
{
	snprintf(buf, len, "%s[%zu]", base ? base : "", i);
	return buf;
}

int
onyx_json_has_newline(const char *text, size_t len)
{
	return memchr(text, '\n', len) != NULL ||
	    memchr(text, '\r', len) != NULL;
}

/*
 * One step of a selector at *p: a key (".name" or ["name"]) or an index
 * ("[N]"). Returns 1 with the step in key/keylen or *index, 0 at the end,
 * -1 (why filled) when malformed; *p moves past the step.
 */
static int
select_step(const char **p, const char **key, size_t *keylen, long *index,
    char *why, size_t whylen)
{
	const char *s = *p;

	*key = NULL;
	if (*s == '\0')
		return 0;
	if (*s == '.') {
		size_t n = strcspn(s + 1, ".[");
		if (n == 0) {
			snprintf(why, whylen, "an empty key after '.'");
			return -1;
		}
		*key = s + 1;
		*keylen = n;
		*p = s + 1 + n;
		return 1;
	}
	if (s[0] == '[' && s[1] == '"') {
		const char *end = strchr(s + 2, '"');
		if (end == NULL || end[1] != ']') {
			snprintf(why, whylen, "[\" without a closing \"]");
			return -1;
		}
		*key = s + 2;
		*keylen = (size_t)(end - s - 2);
		*p = end + 2;
		return 1;
	}
	if (s[0] == '[') {
		char *end;
		errno = 0;
		*index = strtol(s + 1, &end, 10);
		if (end == s + 1 || *end != ']' || *index < 0 || errno != 0) {
			snprintf(why, whylen,
			    "'[' must hold an index >= 0 or a quoted key");
			return -1;
		}
		*p = end + 1;
		return 1;
	}
	snprintf(why, whylen, "'%c' where '.' or '[' was expected", *s);
	return -1;
}

int
onyx_json_select_check(const char *sel, char *why, size_t whylen)
{
	const char *p, *key;
	size_t keylen;
	long index;
	int r;

	if (sel == NULL || *sel == '\0') {
		snprintf(why, whylen, "an empty selector");
		return -1;
	}
	if (*sel != '$')
		return 0; /* a key name */
	p = sel + 1;
	while ((r = select_step(&p, &key, &keylen, &index, why, whylen)) > 0)
		;
	return r;
}

json_t *
onyx_json_select(json_t *v, const char *sel)
{
	const char *p, *key;
	size_t keylen;
	long index;
	char why[128], name[1024];

	if (*sel != '$')
		return json_object_get(v, sel);
	p = sel + 1;
	while (v != NULL &&
	    select_step(&p, &key, &keylen, &index, why, sizeof(why)) > 0) {
		if (key != NULL) {
			if (keylen >= sizeof(name))
				return NULL;
			memcpy(name, key, keylen);
			name[keylen] = '\0';
			v = json_object_get(v, name);
		} else
			v = json_array_get(v, (size_t)index);
	}
	return v;
}

const char *
onyx_json_describe(const json_t *v, char *buf, size_t len)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

	if (s != NULL && strlen(s) <= 40)
		snprintf(buf, len, "%s", s);
	else
		snprintf(buf, len, "%s", onyx_json_type_name(v));
	free(s);
	return buf;
}

int
onyx_json_check_argv(const json_t *v, const char *path,
    void (*report)(void *ctx, const char *path, const char *msg), void *ctx)
{
	char p[512], d[64], msg[160];
	const json_t *arg;
	size_t i;
	int n = 0;

	if (!json_is_array(v) || json_array_size(v) == 0) {
		snprintf(msg, sizeof(msg),
		    "must be a non-empty array of strings (the program and its arguments), not %s",
		    onyx_json_describe(v, d, sizeof(d)));
		report(ctx, path, msg);
		return 1;
	}
	json_array_foreach(v, i, arg)
	{
		onyx_json_path_index(p, sizeof(p), path, i);
		if (!json_is_string(arg)) {
			snprintf(msg, sizeof(msg), "must be a string, not %s",
			    onyx_json_describe(arg, d, sizeof(d)));
			report(ctx, p, msg);
			n++;
		} else if (i == 0 && json_string_length(arg) == 0) {
			report(ctx, p, "must name the program, not \"\"");
			n++;
		}
	}
	return n;
}
