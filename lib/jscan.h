/* lib/jscan.h: a validating JSON scanner that allocates nothing, for the per-segment check. */
#ifndef ONYX_JSCAN_H
#define ONYX_JSCAN_H

#include <stdbool.h>
#include <stddef.h>

/*
 * onyx_jscan_object: whether text[0..len) is certainly one JSON object
 * (RFC 8259, UTF-8, surrounding whitespace allowed) that jansson reads
 * too. false means "not certain": invalid text, or what jansson may refuse
 * where the grammar does not (a number too long to be sure of its range, a
 * NUL in a key, nesting past 512); the caller then asks jansson, which
 * decides and explains. Cost: one pass, no allocation.
 */
bool onyx_jscan_object(const char *text, size_t len);

/*
 * onyx_jscan_key_string: when text[0..len) is certainly one JSON object
 * (as onyx_jscan_object) whose last top-level member named key is a string
 * without escapes, true with *val, *vlen its raw bytes (UTF-8, between the
 * quotes, inside text). false when not certain: no such member, another
 * kind of value, an escape in the value or in any top-level name, or text
 * onyx_jscan_object would not accept; the caller then asks jansson.
 */
bool onyx_jscan_key_string(const char *text, size_t len, const char *key,
    const char **val, size_t *vlen);

#endif
