/* examples/plugins/inc.c: an example C function task: adds 1 to the segment's "n". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <onyx/onyx.h>

/*
 * inc: {"n": 41, ...} becomes {"n": 42, ...}; a segment without an integer
 * "n" is an error (tried again, then sent to the task's dead-letter queue
 * with the message). Build:
 *   cc -shared -fPIC -I include -o libonyx_examples.so examples/plugins/inc.c -ljansson
 * and name it in the catalog as "onyx/fn": "libonyx_examples.so:inc".
 * With "onyx/params": {"delay_us": N} it sleeps N microseconds per segment
 * (the fault-injection tests use it to keep a job busy while faults hit).
 */
int
inc(const char *seg, size_t len, const char *params, struct onyx_emit *out,
    char *err, size_t errlen)
{
	json_error_t je;
	json_t *v = json_loadb(seg, len, 0, &je);
	json_t *n;
	char *text;
	int rc;

	if (params != NULL && strstr(params, "delay_us") != NULL) {
		json_t *p = json_loads(params, 0, NULL);
		json_t *d = json_object_get(p, "delay_us");
		if (json_is_integer(d) && json_integer_value(d) > 0)
			usleep((useconds_t)json_integer_value(d));
		json_decref(p);
	}
	if (v == NULL) {
		snprintf(err, errlen, "not JSON: %s", je.text);
		return -1;
	}
	n = json_object_get(v, "n");
	if (!json_is_integer(n)) {
		snprintf(err, errlen, "\"n\" is not an integer");
		json_decref(v);
		return -1;
	}
	json_object_set_new(v, "n", json_integer(json_integer_value(n) + 1));
	text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(v);
	if (text == NULL)
		return -1;
	rc = onyx_emit_segment(out, text, strlen(text));
	free(text);
	return rc;
}
