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

#endif
