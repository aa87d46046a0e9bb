/* lib/hopgroup.c: the group of a segment on a grouped egress: by key, C function or program. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sha2.h>

#include "clock.h"
#include "exec.h"
#include "hopint.h"
#include "jscan.h"
#include "json.h"
#include "status.h"

#define GROUP_SHORT 128 /* a longer group value travels as its SHA-256 */

bool
onyx_hopgroup_grouped(const struct hop *h, int i)
{
	return h->t->egress_group != NULL && h->t->egress_group[i] != NULL;
}

/* The text of a group value: a string as is, anything else as JSON. */
static char *
value_text(const json_t *v)
{
	if (v == NULL)
		return strdup("null");
	if (json_is_string(v))
		return strndup(json_string_value(v), json_string_length(v));
	return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

/* Ask grouping g's program (*gx, started when NULL) for the group of text. */
static int
group_exec(struct hop *h, const struct onyx_group *g, struct onyx_exec **gx,
    const char *text, size_t len, char **out, char *why, size_t whylen)
{
	int tmo =
	    h->t->exec_timeout_ms > 0 ? h->t->exec_timeout_ms : EXEC_TIMEOUT_MS;
	long long until = onyx_mono_ms() + tmo;
	const char *line;
	size_t ll;
	char e[512];
	json_t *v;

	*out = NULL;
	if (*gx == NULL) {
		if (onyx_exec_start(g->argv, g->params, g->task, h->t->peer,
		        &*gx, e, sizeof(e)) != ONYX_OK)
			goto broken;
		onyx_exec_set_max_answer(*gx, onyx_hop_max_segment(h));
	}
	if (onyx_exec_write(*gx, text, len, e, sizeof(e)) != ONYX_OK)
		goto broken;
	while (!onyx_exec_answer(*gx, &line, &ll)) {
		if (onyx_mono_ms() >= until) {
			snprintf(
			    e, sizeof(e), "timeout: no answer in %d ms", tmo);
			goto broken;
		}
		if (onyx_exec_pump(*gx, 50, e, sizeof(e)) != ONYX_OK)
			goto broken;
	}
	if ((v = json_loadb(line, ll, JSON_DECODE_ANY, NULL)) == NULL) {
		snprintf(e, sizeof(e), "the answer is not JSON: %.*s",
		    (int)(ll < 80 ? ll : 80), line);
		goto broken;
	}
	*out = value_text(v);
	json_decref(v);
	return *out != NULL ? ONYX_OK : ONYX_ERR;
broken:
	onyx_exec_stop(*gx, 0);
	*gx = NULL;
	snprintf(why, whylen,
	    "the onyx/group-by-fn program of task '%s': %.400s", g->task, e);
	return ONYX_EDATA;
}

/* A group's text v (taken; NULL: out of memory) into *out: a long one
 * travels as its SHA-256. */
static int
shorten(char *v, char **out)
{
	char hex[SHA256_DIGEST_STRING_LENGTH];

	*out = NULL;
	if (v == NULL)
		return ONYX_ERR;
	if (strlen(v) > GROUP_SHORT) {
		SHA256Data((const uint8_t *)v, strlen(v), hex);
		free(v);
		if (asprintf(&v, "sha256:%s", hex) < 0)
			return ONYX_ERR;
	}
	*out = v;
	return ONYX_OK;
}

/*
 * The group of segment text for egress i (seg: the text parsed, needed by
 * a key), a new string in *out: long values travel as their SHA-256.
 * ONYX_EDATA with why when there is none.
 */
static int
group_value(struct hop *h, const struct onyx_group *g, struct onyx_exec **gx,
    const char *text, size_t len, json_t *seg, char **out, char *why,
    size_t whylen)
{
	char *v = NULL;
	int st = ONYX_OK;

	*out = NULL;
	if (g->key != NULL) {
		v = value_text(onyx_json_select(seg, g->key));
	} else if (g->fn != NULL) {
		char buf[4096] = "";
		why[0] = '\0';
		if (g->fn(text, len, g->params ? g->params : "{}", buf,
		        sizeof(buf), why, whylen) != 0) {
			if (why[0] == '\0')
				snprintf(why, whylen,
				    "the onyx/group-by-fn of task '%s' failed",
				    g->task);
			return ONYX_EDATA;
		}
		buf[sizeof(buf) - 1] = '\0';
		v = strdup(buf);
	} else if ((st = group_exec(h, g, gx, text, len, &v, why, whylen)) !=
	    ONYX_OK)
		return st;
	*out = v;
	return v != NULL ? ONYX_OK : ONYX_ERR;
}

static int
group_of(struct hop *h, int i, const char *text, size_t len, json_t *seg,
    char **out, char *why, size_t whylen)
{
	char *v;
	int st = group_value(h, h->t->egress_group[i], &h->gx[i], text, len,
	    seg, &v, why, whylen);

	if (st != ONYX_OK)
		return st;
	return shorten(v, out);
}

int
onyx_hopgroup_own(struct hop *h, const char *text, size_t len, json_t *seg,
    char **out, char *why, size_t whylen)
{
	const struct onyx_group *g = h->t->group;
	json_t *own = NULL;
	const char *val;
	size_t vl;
	int st;

	*out = NULL;
	if (g->key != NULL && seg == NULL && g->key[0] != '$' &&
	    onyx_jscan_key_string(text, len, g->key, &val, &vl))
		return (*out = strndup(val, vl)) != NULL ? ONYX_OK : ONYX_ERR;
	if (g->key != NULL && seg == NULL) {
		json_error_t je;
		if ((seg = own = json_loadb(text, len, JSON_ALLOW_NUL, &je)) ==
		    NULL) {
			snprintf(why, whylen,
			    "grouping for task '%s': the segment is not JSON: %s",
			    h->t->name, je.text);
			return ONYX_EDATA;
		}
	}
	st = group_value(h, g, &h->own_gx, text, len, seg, out, why, whylen);
	json_decref(own);
	return st;
}

int
onyx_hopgroup_bucket(const char *value, unsigned *bucket)
{
	char *gid;

	if (shorten(strdup(value), &gid) != ONYX_OK)
		return ONYX_ERR;
	*bucket = onyx_hoppack_bucket(gid);
	free(gid);
	return ONYX_OK;
}

/*
 * The groups of text for every grouped egress into gids[negress]; seg is
 * the text parsed, or NULL to parse it here (once) when a key needs it.
 */
int
onyx_hopgroup_of(struct hop *h, const char *text, size_t len, json_t *seg,
    char **gids, char *why, size_t whylen)
{
	json_t *own = NULL;
	int i, st = ONYX_OK;

	for (i = 0; i < h->t->negress; i++)
		gids[i] = NULL;
	for (i = 0; i < h->t->negress && st == ONYX_OK; i++) {
		if (!onyx_hopgroup_grouped(h, i))
			continue;
		const struct onyx_group *g = h->t->egress_group[i];
		const char *val;
		size_t vl;
		/* a plain key whose value is a plain string: read in place */
		if (seg == NULL && g->key != NULL && g->key[0] != '$' &&
		    onyx_jscan_key_string(text, len, g->key, &val, &vl)) {
			st = shorten(strndup(val, vl), &gids[i]);
			continue;
		}
		if (seg == NULL && g->key != NULL) {
			json_error_t je;
			if ((seg = own = json_loadb(
			         text, len, JSON_ALLOW_NUL, &je)) == NULL) {
				snprintf(why, whylen,
				    "grouping for task '%s': the segment is not JSON: %s",
				    h->t->egress_group[i]->task, je.text);
				st = ONYX_EDATA;
				break;
			}
		}
		st = group_of(h, i, text, len, seg, &gids[i], why, whylen);
	}
	json_decref(own);
	if (st != ONYX_OK)
		onyx_hopgroup_free(h, gids);
	return st;
}

void
onyx_hopgroup_free(struct hop *h, char **gids)
{
	for (int i = 0; i < h->t->negress; i++) {
		free(gids[i]);
		gids[i] = NULL;
	}
}
