/* lib/mgmt.c: Artemis management over AMQP: requests to activemq.management, answers on a temporary queue. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>
#include <proton/codec.h>
#include <proton/message.h>

#include "buf.h"
#include "mgmt.h"
#include "status.h"
#include "wire.h"

#define MGMT_ADDRESS "activemq.management"
#define MGMT_TIMEOUT_MS 30000

struct onyx_mgmt {
	struct onyx_amqp *a;
	struct onyx_link *snd, *rcv;
	pn_message_t *msg;
	unsigned long long seq;
};

int
onyx_mgmt_open(struct onyx_amqp *a, struct onyx_mgmt **out)
{
	struct onyx_mgmt *m = calloc(1, sizeof(*m));
	int st;

	*out = NULL;
	if (m == NULL)
		return ONYX_ERR;
	m->a = a;
	if ((st = onyx_amqp_sender(a, MGMT_ADDRESS, false, &m->snd)) !=
	        ONYX_OK ||
	    (st = onyx_amqp_receiver(a, NULL, 4, &m->rcv)) != ONYX_OK) {
		onyx_mgmt_close(m);
		return st;
	}
	if ((m->msg = pn_message()) == NULL) {
		onyx_mgmt_close(m);
		return ONYX_ERR;
	}
	*out = m;
	return ONYX_OK;
}

void
onyx_mgmt_close(struct onyx_mgmt *m)
{
	if (m == NULL)
		return;
	if (m->snd)
		onyx_amqp_link_close(m->snd);
	if (m->rcv)
		onyx_amqp_link_close(m->rcv);
	if (m->msg)
		pn_message_free(m->msg);
	free(m);
}

static void
put_prop(pn_data_t *p, const char *k, const char *v)
{
	pn_data_put_string(p, pn_bytes(strlen(k), k));
	pn_data_put_string(p, pn_bytes(strlen(v), v));
}

static int
answer_ok(pn_message_t *msg)
{
	pn_data_t *p = onyx_wire_prop(msg, "_AMQ_OperationSucceeded");

	if (p == NULL || pn_data_type(p) != PN_BOOL)
		return -1;
	return pn_data_get_bool(p) ? 1 : 0;
}

/* Encode and send one request (not waiting for its settlement). */
static int
send_request(struct onyx_mgmt *m, const char *resource, const char *attribute,
    const char *operation, const char *params, char *err, size_t errlen)
{
	struct onyx_buf enc = {0};
	pn_data_t *p, *b;
	size_t n;
	int st;

	pn_message_clear(m->msg);
	pn_message_set_reply_to(m->msg, onyx_amqp_link_address(m->rcv));
	p = pn_message_properties(m->msg);
	pn_data_put_map(p);
	pn_data_enter(p);
	put_prop(p, "_AMQ_ResourceName", resource);
	if (attribute)
		put_prop(p, "_AMQ_Attribute", attribute);
	else
		put_prop(p, "_AMQ_OperationName", operation);
	pn_data_exit(p);
	b = pn_message_body(m->msg);
	pn_data_put_string(b, pn_bytes(strlen(params), params));
	n = 4096 + strlen(params);
	if (onyx_buf_reserve(&enc, n) != 0)
		return ONYX_ERR;
	if (pn_message_encode(m->msg, enc.p, &n) != 0) {
		onyx_buf_free(&enc);
		snprintf(err, errlen, "cannot encode a management request");
		return ONYX_ERR;
	}
	st = onyx_amqp_send(m->snd, enc.p, n, false);
	onyx_buf_free(&enc);
	if (st != ONYX_OK)
		snprintf(err, errlen, "management request on %s: %s", resource,
		    onyx_amqp_error(m->a));
	return st;
}

/* Receive and decode the next answer, about resource. */
static int
read_answer(struct onyx_mgmt *m, const char *resource, json_t **result,
    char *err, size_t errlen)
{
	struct onyx_amqp_msg in;
	pn_data_t *b;
	pn_bytes_t s;
	json_t *arr = NULL;
	json_error_t je;
	char *text = NULL;
	int st, ok;

	*result = NULL;
	st = onyx_amqp_recv(m->rcv, MGMT_TIMEOUT_MS, &in);
	if (st != ONYX_OK) {
		if (st == ONYX_ETIMEDOUT)
			snprintf(err, errlen,
			    "the broker's management did not answer about %s within %d ms",
			    resource, MGMT_TIMEOUT_MS);
		else
			snprintf(err, errlen, "management request on %s: %s",
			    resource, onyx_amqp_error(m->a));
		return st;
	}
	pn_message_clear(m->msg);
	st = pn_message_decode(m->msg, in.bytes, in.size);
	onyx_amqp_accept(m->a, &in);
	if (st != 0) {
		snprintf(err, errlen, "cannot decode the management answer");
		return ONYX_ERR;
	}
	ok = answer_ok(m->msg);
	b = pn_message_body(m->msg);
	pn_data_rewind(b);
	if (pn_data_next(b) && pn_data_type(b) == PN_STRING) {
		s = pn_data_get_string(b);
		arr = json_loadb(s.start, s.size, JSON_DECODE_ANY, &je);
		if (arr == NULL)
			text = strndup(s.start, s.size);
	}
	if (ok != 1) {
		const char *why = text;
		if (arr != NULL && json_is_array(arr) &&
		    json_is_string(json_array_get(arr, 0)))
			why = json_string_value(json_array_get(arr, 0));
		snprintf(err, errlen, "%s", why ? why : "the broker refused");
		st = (why &&
		         (strstr(why, "does not exist") ||
		             strstr(why, "not find") ||
		             strstr(why, "not found") ||
		             strstr(why, "AMQ229017")))
		    ? ONYX_ENOENT
		    : ONYX_EREJECTED;
		json_decref(arr);
		free(text);
		return st;
	}
	free(text);
	if (arr == NULL) {
		/* an operation without a value (void) may answer with no body */
		*result = json_null();
		return ONYX_OK;
	}
	if (!json_is_array(arr)) {
		json_decref(arr);
		snprintf(
		    err, errlen, "the management answer is not a JSON array");
		return ONYX_ERR;
	}
	*result = json_incref(json_array_get(arr, 0));
	if (*result == NULL)
		*result = json_null();
	json_decref(arr);
	return ONYX_OK;
}

int
onyx_mgmt_call(struct onyx_mgmt *m, const char *resource, const char *attribute,
    const char *operation, const char *params, json_t **result, char *err,
    size_t errlen)
{
	int st;

	*result = NULL;
	st = send_request(
	    m, resource, attribute, operation, params, err, errlen);
	if (st == ONYX_OK &&
	    (st = onyx_amqp_settle_sends(m->a, MGMT_TIMEOUT_MS)) != ONYX_OK)
		snprintf(err, errlen, "management request on %s: %s", resource,
		    onyx_amqp_error(m->a));
	if (st == ONYX_OK)
		st = read_answer(m, resource, result, err, errlen);
	return st;
}

static int
get_count(struct onyx_mgmt *m, const char *queue, const char *attr,
    long long *v, char *err, size_t errlen)
{
	char res[600];
	json_t *r;
	int st;

	snprintf(res, sizeof(res), "queue.%s", queue);
	if ((st = onyx_mgmt_call(m, res, attr, NULL, "[]", &r, err, errlen)) !=
	    ONYX_OK) {
		if (st == ONYX_ENOENT || st == ONYX_EREJECTED)
			snprintf(
			    err, errlen, "queue '%s' does not exist", queue);
		return st == ONYX_EREJECTED ? ONYX_ENOENT : st;
	}
	if (json_is_integer(r))
		*v = json_integer_value(r);
	else if (json_is_real(r))
		*v = (long long)json_real_value(r);
	else if (json_is_string(r))
		*v = strtoll(json_string_value(r), NULL, 10);
	else {
		json_decref(r);
		snprintf(
		    err, errlen, "queue '%s': %s is not a number", queue, attr);
		return ONYX_ERR;
	}
	json_decref(r);
	return ONYX_OK;
}

int
onyx_mgmt_queue_count(struct onyx_mgmt *m, const char *queue,
    long long *messages, char *err, size_t errlen)
{
	return get_count(m, queue, "messageCount", messages, err, errlen);
}

int
onyx_mgmt_queue_added(struct onyx_mgmt *m, const char *queue, long long *added,
    char *err, size_t errlen)
{
	return get_count(m, queue, "messagesAdded", added, err, errlen);
}

int
onyx_mgmt_queue_stat(struct onyx_mgmt *m, const char *queue,
    long long *messages, long long *consumers, char *err, size_t errlen)
{
	int st;

	if ((st = get_count(m, queue, "messageCount", messages, err, errlen)) !=
	    ONYX_OK)
		return st;
	return get_count(m, queue, "consumerCount", consumers, err, errlen);
}

int
onyx_mgmt_queue_create(struct onyx_mgmt *m, const char *queue, bool *created,
    char *err, size_t errlen)
{
	long long n;
	int st;

	*created = false;
	st = get_count(m, queue, "messageCount", &n, err, errlen);
	if (st == ONYX_OK)
		return ONYX_OK;
	if (st != ONYX_ENOENT)
		return st;
	if ((st = onyx_mgmt_queue_ensure(m, queue, err, errlen)) == ONYX_OK)
		*created = true;
	return st;
}

/* The createQueue parameters for queue (ignoreIfExists), malloc'd. */
static char *
create_params(const char *queue)
{
	json_t *cfg, *args;
	char *params;

	cfg = json_pack("{s:s,s:s,s:s,s:b}", "name", queue, "address", queue,
	    "routing-type", "ANYCAST", "durable", 1);
	params = cfg ? json_dumps(cfg, JSON_COMPACT) : NULL;
	json_decref(cfg);
	args = params ? json_pack("[s,b]", params, 1) : NULL;
	free(params);
	params = args ? json_dumps(args, JSON_COMPACT) : NULL;
	json_decref(args);
	return params;
}

int
onyx_mgmt_queue_ensure(
    struct onyx_mgmt *m, const char *queue, char *err, size_t errlen)
{
	size_t failed;

	return onyx_mgmt_queue_ensure_all(m, &queue, 1, &failed, err, errlen);
}

int
onyx_mgmt_queue_ensure_all(struct onyx_mgmt *m, const char *const *queues,
    size_t n, size_t *failed, char *err, size_t errlen)
{
	size_t i, sent = 0;
	json_t *r;
	int st = ONYX_OK, st2;

	*failed = 0;
	/* every request first, then the answers, in order: one round trip */
	for (i = 0; i < n && st == ONYX_OK; i++) {
		char *params = create_params(queues[i]);

		if (params == NULL) {
			snprintf(err, errlen, "out of memory");
			st = ONYX_ERR;
			break;
		}
		st = send_request(
		    m, "broker", NULL, "createQueue", params, err, errlen);
		free(params);
		if (st == ONYX_OK)
			sent++;
	}
	if (st != ONYX_OK) {
		*failed = sent;
		return st;
	}
	if ((st = onyx_amqp_settle_sends(m->a, MGMT_TIMEOUT_MS)) != ONYX_OK) {
		snprintf(err, errlen, "management requests: %s",
		    onyx_amqp_error(m->a));
		return st;
	}
	for (i = 0; i < sent; i++) {
		char e2[512];

		st2 = read_answer(m, queues[i], &r, e2, sizeof(e2));
		json_decref(r);
		if (st2 != ONYX_OK && st == ONYX_OK) {
			/* read the answers left, so the next call is in step */
			st = st2;
			*failed = i;
			snprintf(err, errlen, "%s", e2);
			if (st2 == ONYX_ETIMEDOUT || st2 == ONYX_ERR)
				break;
		}
	}
	return st;
}

int
onyx_mgmt_queue_delete(
    struct onyx_mgmt *m, const char *queue, char *err, size_t errlen)
{
	json_t *args, *r;
	char *params;
	long long n;
	int st;

	if ((st = get_count(m, queue, "messageCount", &n, err, errlen)) !=
	    ONYX_OK)
		return st;
	args = json_pack("[s,b,b]", queue, 0, 1);
	params = json_dumps(args, JSON_COMPACT);
	json_decref(args);
	if (params == NULL)
		return ONYX_ERR;
	st = onyx_mgmt_call(
	    m, "broker", NULL, "destroyQueue", params, &r, err, errlen);
	free(params);
	if (st == ONYX_OK)
		json_decref(r);
	return st;
}

int
onyx_mgmt_queue_purge(struct onyx_mgmt *m, const char *queue,
    long long *removed, char *err, size_t errlen)
{
	char res[600];
	json_t *r;
	int st;

	snprintf(res, sizeof(res), "queue.%s", queue);
	st = onyx_mgmt_call(
	    m, res, NULL, "removeAllMessages", "[]", &r, err, errlen);
	if (st == ONYX_ENOENT || st == ONYX_EREJECTED) {
		long long n;
		if (get_count(m, queue, "messageCount", &n, err, errlen) ==
		    ONYX_ENOENT)
			return ONYX_ENOENT;
		return st;
	}
	if (st != ONYX_OK)
		return st;
	*removed = json_is_integer(r) ? json_integer_value(r) : 0;
	json_decref(r);
	return ONYX_OK;
}

int
onyx_mgmt_address_view(
    struct onyx_mgmt *m, const char *address, char *buf, size_t len)
{
	static const char *const attrs[] = {
	    "paging", "addressSize", "addressLimitPercent"};
	json_t *v[3] = {NULL, NULL, NULL};
	char res[600], err[512];
	int i, st = ONYX_OK;

	snprintf(res, sizeof(res), "address.%s", address);
	for (i = 0; i < 3 && st == ONYX_OK; i++)
		st = onyx_mgmt_call(
		    m, res, attrs[i], NULL, "[]", &v[i], err, sizeof(err));
	if (st == ONYX_OK)
		snprintf(buf, len,
		    "paging: %s, size: %lld bytes, %lld%% of its limit",
		    json_is_true(v[0]) ? "true" : "false",
		    json_is_integer(v[1]) ? (long long)json_integer_value(v[1])
		                          : -1LL,
		    json_is_integer(v[2]) ? (long long)json_integer_value(v[2])
		                          : -1LL);
	else
		snprintf(buf, len, "unknown (%s)", err);
	for (i = 0; i < 3; i++)
		json_decref(v[i]);
	return st;
}

/* The ids of the broker's connections whose client id is client_id. */
static int
connections_of(struct onyx_mgmt *m, const char *client_id, json_t **ids,
    char *err, size_t errlen)
{
	json_t *filter, *args, *r, *page, *data, *c;
	char *params, *ftext;
	size_t i;
	int st;

	*ids = NULL;
	filter = json_pack("{s:s,s:s,s:s}", "field", "CLIENT_ID", "operation",
	    "EQUALS", "value", client_id);
	ftext = json_dumps(filter, JSON_COMPACT);
	json_decref(filter);
	args = json_pack("[s,i,i]", ftext ? ftext : "{}", 1, 1000);
	free(ftext);
	params = json_dumps(args, JSON_COMPACT);
	json_decref(args);
	if (params == NULL)
		return ONYX_ERR;
	st = onyx_mgmt_call(
	    m, "broker", NULL, "listConnections", params, &r, err, errlen);
	free(params);
	if (st != ONYX_OK)
		return st;
	page = json_is_string(r) ? json_loads(json_string_value(r), 0, NULL)
	                         : json_incref(r);
	json_decref(r);
	data = json_object_get(page, "data");
	if (!json_is_array(data)) {
		json_decref(page);
		snprintf(err, errlen,
		    "listConnections: the answer has no \"data\" array");
		return ONYX_ERR;
	}
	*ids = json_array();
	json_array_foreach(data, i, c)
	{
		json_t *id = json_object_get(c, "connectionID");
		/* the filter is the broker's; check it, it costs nothing */
		if (json_is_string(id) &&
		    strcmp(
		        json_string_value(json_object_get(c, "clientID")) ?: "",
		        client_id) == 0)
			json_array_append(*ids, id);
	}
	json_decref(page);
	return ONYX_OK;
}

int
onyx_mgmt_close_client(struct onyx_mgmt *m, const char *client_id, int *closed,
    char *err, size_t errlen)
{
	json_t *ids, *id, *r;
	char *params;
	size_t i;
	int st, round;

	*closed = 0;
	for (round = 0; round < 5; round++) {
		if ((st = connections_of(m, client_id, &ids, err, errlen)) !=
		    ONYX_OK)
			return st;
		if (json_array_size(ids) == 0) {
			json_decref(ids);
			return ONYX_OK;
		}
		json_array_foreach(ids, i, id)
		{
			json_t *args = json_pack("[O]", id);
			params = json_dumps(args, JSON_COMPACT);
			json_decref(args);
			st = onyx_mgmt_call(m, "broker", NULL,
			    "closeConnectionWithID", params, &r, err, errlen);
			free(params);
			if (st == ONYX_OK) {
				json_decref(r);
				(*closed)++;
			} else if (st != ONYX_ENOENT && st != ONYX_EREJECTED) {
				json_decref(ids);
				return st;
			}
		}
		json_decref(ids);
	}
	snprintf(err, errlen,
	    "connections of client '%s' are still open after 5 closes",
	    client_id);
	return ONYX_ETIMEDOUT;
}
