/* lib/json.h: JSON helpers over jansson: strict parsing with positions, JSON paths. */
#ifndef ONYX_JSON_H
#define ONYX_JSON_H

#include <stddef.h>

#include <jansson.h>

/*
 * onyx_json_parse_object: parse text[0..len) as exactly one JSON object.
 * On success *out holds a new reference and ONYX_OK is returned. Otherwise
 * ONYX_EDATA, *out is NULL and err says why: "not JSON (column C: <parser message>)"
 * for malformed text, "a JSON array, not an object" for other values.
 */
int onyx_json_parse_object(
    const char *text, size_t len, json_t **out, char *err, size_t errlen);

/*
 * onyx_json_check_object: whether text[0..len) is exactly one JSON object,
 * as onyx_json_parse_object decides and with its errors, without building
 * it: a one-pass scan (lib/jscan.h), jansson only when that is not sure.
 */
int
onyx_json_check_object(const char *text, size_t len, char *err, size_t errlen);

/*
 * onyx_json_parse_doc: parse a whole document (any JSON value). Errors say
 * "line L, column C: <parser message>". Returns ONYX_OK or ONYX_EDATA.
 */
int onyx_json_parse_doc(
    const char *text, size_t len, json_t **out, char *err, size_t errlen);

/* onyx_json_type_name: "an object", "an array", "a string", ... for v. */
const char *onyx_json_type_name(const json_t *v);

/*
 * onyx_json_path_key: write base.key (or base."key" when key is not a plain
 * identifier, as "onyx/type" is) to buf. Returns buf.
 */
char *
onyx_json_path_key(char *buf, size_t len, const char *base, const char *key);

/* onyx_json_path_index: write base[i] to buf. Returns buf. */
char *onyx_json_path_index(char *buf, size_t len, const char *base, size_t i);

/*
 * onyx_json_describe: a short description of v for "must be X, not Y": the
 * value itself when it is short ("0", "1.5", "\"10\"", "[]"), else its type
 * (onyx_json_type_name). Written to buf; returns buf.
 */
const char *onyx_json_describe(const json_t *v, char *buf, size_t len);

/*
 * onyx_json_check_argv: check that v, at JSON path path, is a program's
 * argv: a non-empty array of strings whose first names the program. Each
 * problem goes to report(ctx, its path, its message); returns how many.
 */
int onyx_json_check_argv(const json_t *v, const char *path,
    void (*report)(void *ctx, const char *path, const char *msg), void *ctx);

/*
 * onyx_json_has_newline: whether text[0..len) holds a raw newline, which
 * would break a JSON-lines stream.
 */
int onyx_json_has_newline(const char *text, size_t len);

/*
 * A selector names a value inside a segment: a key name ("word"), or a path
 * from the root "$" of keys and indices: "$.user.id", "$.tags[0]",
 * "$[\"a key\"].b".
 * onyx_json_select_check: 0 when sel is well formed, -1 with why filled.
 * onyx_json_select: the value sel names in v (borrowed), NULL when absent.
 */
int onyx_json_select_check(const char *sel, char *why, size_t whylen);
json_t *onyx_json_select(json_t *v, const char *sel);

#endif
