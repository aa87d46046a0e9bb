/* lib/errstr.h: the text of an errno value, safe from any thread. */
#ifndef ONYX_ERRSTR_H
#define ONYX_ERRSTR_H

/*
 * onyx_strerror: what errno value e means ("Connection refused"), from a
 * table that never changes: unlike strerror(3) it shares no buffer between
 * threads and needs none of the caller's. Unknown values give "unknown
 * error". Never NULL.
 */
const char *onyx_strerror(int e);

#endif
