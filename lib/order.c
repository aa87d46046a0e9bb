/* lib/order.c: the order of each bucket's frames: the verdict on a frame, the order record of a bucket. */
#include <stdio.h>
#include <string.h>

#include "order.h"

enum onyx_order_verdict
onyx_order_decide(unsigned long long last, unsigned long long seq)
{
	if (seq <= last)
		return ONYX_ORDER_PAST;
	return seq == last + 1 ? ONYX_ORDER_NEXT : ONYX_ORDER_AHEAD;
}

void
onyx_order_hex(const unsigned char id[8], char out[17])
{
	for (int i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", id[i]);
}

unsigned long long
onyx_order_last(const json_t *rec, const char *sender)
{
	json_t *e = json_is_object(rec) ? json_object_get(rec, sender) : NULL;
	json_int_t v = json_integer_value(json_array_get(e, 0));

	return v > 0 ? (unsigned long long)v : 0;
}

json_t *
onyx_order_note(const json_t *rec, const char *sender, unsigned long long seq,
    long long now_ms, long long ttl_ms, unsigned *pruned)
{
	json_t *out = json_object(), *e;
	const char *k;

	if (out == NULL)
		return NULL;
	if (json_is_object(rec))
		json_object_foreach((json_t *)rec, k, e)
		{
			json_int_t seen =
			    json_integer_value(json_array_get(e, 1));
			if (strcmp(k, sender) == 0)
				continue;
			if (seen < now_ms - ttl_ms) {
				if (pruned != NULL)
					(*pruned)++;
				continue;
			}
			if (json_object_set(out, k, e) != 0)
				goto fail;
		}
	if (json_object_set_new(out, sender,
	        json_pack("[I, I]", (json_int_t)seq, (json_int_t)now_ms)) != 0)
		goto fail;
	return out;
fail:
	json_decref(out);
	return NULL;
}
