/* lib/json.c: strict JSON parsing with error positions, and JSON path strings. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
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
