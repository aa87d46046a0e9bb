/* tests/unit/test_state.c: keyed state: call staging, batch undo, records written and restored, snapshots and the compaction decision. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../lib/state.h"

/* The records a batch write hands out, kept in order. */
struct log {
	unsigned b[4096];
	unsigned long long seq[4096];
	char *text[4096];
	size_t n;
};

static int
keep(
    void *ctx, unsigned b, unsigned long long seq, const char *text, size_t len)
{
	struct log *l = ctx;

	assert_true(l->n < 4096);
	assert_true(len < ONYX_STATE_RECORD_MAX);
	l->b[l->n] = b;
	l->seq[l->n] = seq;
	l->text[l->n] = strndup(text, len);
	l->n++;
	return 0;
}

static void
log_free(struct log *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->text[i]);
	l->n = 0;
}

static long long
num(struct onyx_state *s, const char *k)
{
	json_t *v = onyx_state_get_json(s, k, strlen(k));

	return v ? json_integer_value(v) : -1;
}

/* Restore bucket b of a new store from the log. */
static struct onyx_state *
restored(struct log *l, unsigned b)
{
	struct onyx_state *r = onyx_state_new(ONYX_STATE_DURABLE);
	char why[256];

	assert_int_equal(onyx_state_restore_begin(r, b), 0);
	for (size_t i = 0; i < l->n; i++)
		if (l->b[i] == b)
			assert_int_equal(
			    onyx_state_restore_record(r, b, l->seq[i],
			        l->text[i], strlen(l->text[i]), why,
			        sizeof(why)),
			    0);
	onyx_state_restore_end(r, b);
	assert_int_equal(onyx_state_select(r, b), 0);
	return r;
}

static void
modes(void **state)
{
	json_t *cat = json_pack("{s:s}", "onyx/state", "memory");

	(void)state;
	assert_int_equal(onyx_state_mode_of("durable"), ONYX_STATE_DURABLE);
	assert_int_equal(onyx_state_mode_of("memory"), ONYX_STATE_MEMORY);
	assert_int_equal(onyx_state_mode_of("Durable"), ONYX_STATE_NONE);
	assert_int_equal(onyx_state_mode_of(NULL), ONYX_STATE_NONE);
	assert_int_equal(onyx_state_mode_of_catalog(cat), ONYX_STATE_MEMORY);
	json_object_del(cat, "onyx/state");
	assert_int_equal(onyx_state_mode_of_catalog(cat), ONYX_STATE_NONE);
	json_object_set_new(cat, "onyx/window", json_object());
	assert_int_equal(onyx_state_mode_of_catalog(cat), ONYX_STATE_DURABLE);
	json_decref(cat);
}

/* A call's puts are seen by its gets, and kept only when it succeeds. */
static void
staging(void **state)
{
	struct onyx_state *s = onyx_state_new(ONYX_STATE_MEMORY);
	const char *val;
	size_t vl;

	(void)state;
	assert_int_equal(onyx_state_select(s, 3), 0);
	onyx_state_call_begin(s);
	assert_int_equal(onyx_state_put_json(s, "a", 1, json_integer(1)), 0);
	assert_int_equal(num(s, "a"), 1);
	onyx_state_call_end(s, false);
	assert_null(onyx_state_get_json(s, "a", 1));
	onyx_state_call_begin(s);
	assert_int_equal(onyx_state_put_json(s, "a", 1, json_integer(2)), 0);
	onyx_state_call_end(s, true);
	assert_int_equal(num(s, "a"), 2);
	assert_int_equal(onyx_state_get_text(s, "a", 1, &val, &vl), 1);
	assert_int_equal(vl, 1);
	assert_memory_equal(val, "2", 1);
	assert_int_equal(onyx_state_get_text(s, "b", 1, &val, &vl), 0);
	/* a delete staged, then dropped: the key stays */
	onyx_state_call_begin(s);
	assert_int_equal(onyx_state_put_json(s, "a", 1, NULL), 0);
	assert_null(onyx_state_get_json(s, "a", 1));
	onyx_state_call_end(s, false);
	assert_int_equal(num(s, "a"), 2);
	/* keys are per bucket */
	assert_int_equal(onyx_state_select(s, 4), 0);
	assert_null(onyx_state_get_json(s, "a", 1));
	/* a key that is not UTF-8 is refused */
	assert_int_equal(onyx_state_put_json(s, "\xff", 1, json_true()), -1);
	onyx_state_free(s);
}

/* A batch rolled back leaves the state as before it. */
static void
abandon(void **state)
{
	struct onyx_state *s = onyx_state_new(ONYX_STATE_MEMORY);
	struct log l = {0};

	(void)state;
	onyx_state_select(s, 0);
	onyx_state_put_json(s, "x", 1, json_integer(1));
	assert_true(onyx_state_batch_dirty(s));
	assert_int_equal(onyx_state_batch_write(s, keep, &l), 0);
	assert_int_equal(l.n, 0); /* memory: nothing written */
	assert_false(onyx_state_batch_dirty(s));
	onyx_state_put_json(s, "x", 1, json_integer(5));
	onyx_state_put_json(s, "x", 1, json_integer(6));
	onyx_state_put_json(s, "y", 1, json_integer(7));
	onyx_state_select(s, 9);
	onyx_state_put_json(s, "z", 1, json_integer(8));
	onyx_state_batch_abandon(s);
	onyx_state_select(s, 0);
	assert_int_equal(num(s, "x"), 1);
	assert_null(onyx_state_get_json(s, "y", 1));
	onyx_state_select(s, 9);
	assert_null(onyx_state_get_json(s, "z", 1));
	onyx_state_free(s);
}

/* Deltas written by batches restore to the same map, deletes included. */
static void
deltas_restore(void **state)
{
	struct onyx_state *s = onyx_state_new(ONYX_STATE_DURABLE), *r;
	struct log l = {0};

	(void)state;
	onyx_state_select(s, 7);
	onyx_state_put_json(s, "a", 1, json_integer(1));
	onyx_state_put_json(s, "b", 1, json_string("x\"y"));
	onyx_state_select(s, 2);
	onyx_state_put_json(s, "a", 1, json_integer(100));
	assert_int_equal(onyx_state_batch_write(s, keep, &l), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.b[0], 2); /* bucket order */
	assert_int_equal(l.seq[0], 1);
	assert_int_equal(l.b[1], 7);
	onyx_state_batch_committed(s, 0);
	onyx_state_select(s, 7);
	onyx_state_put_json(s, "a", 1, json_integer(2));
	onyx_state_put_json(s, "b", 1, NULL);
	assert_int_equal(onyx_state_batch_write(s, keep, &l), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.seq[2], 2);
	r = restored(&l, 7);
	assert_int_equal(num(r, "a"), 2);
	assert_null(onyx_state_get_json(r, "b", 1));
	assert_int_equal(onyx_state_nkeys(r, 7), 1);
	/* the restored bucket goes on numbering from its last record */
	onyx_state_put_json(r, "c", 1, json_integer(3));
	assert_int_equal(onyx_state_batch_write(r, keep, &l), 0);
	assert_int_equal(l.seq[3], 3);
	onyx_state_free(r);
	r = restored(&l, 2);
	assert_int_equal(num(r, "a"), 100);
	onyx_state_free(r);
	log_free(&l);
	onyx_state_free(s);
}

static void
take(void *ctx, unsigned b, unsigned long long snap)
{
	unsigned long long *got = ctx;

	got[0] = b;
	got[1] = snap;
}

/* Enough changes make a snapshot in parts; restore ignores what is older. */
static void
snapshots(void **state)
{
	struct onyx_state *s = onyx_state_new(ONYX_STATE_DURABLE), *r;
	struct log l = {0};
	unsigned long long got[2] = {99, 0};
	char k[32];
	size_t i, first_snap = 0, parts = 0;
	int round;

	(void)state;
	onyx_state_select(s, 5);
	/* 20000 keys, each changed in several batches */
	for (round = 0; round < 4; round++) {
		for (i = 0; i < 20000; i++) {
			snprintf(k, sizeof(k), "key-%zu", i);
			onyx_state_put_json(
			    s, k, strlen(k), json_integer(round * 100000 + i));
		}
		assert_int_equal(onyx_state_batch_write(s, keep, &l), 0);
		onyx_state_batch_committed(s, 0);
	}
	for (i = 0; i < l.n; i++)
		if (strstr(l.text[i], "\"t\":\"snap\"") != NULL) {
			if (parts++ == 0)
				first_snap = i;
		}
	/* each batch changes every key: each is a snapshot, in parts */
	assert_true(parts >= 8);
	assert_int_equal(first_snap, 0);
	onyx_state_take_snapshots(s, take, got);
	assert_int_equal(got[0], 5);
	assert_true(got[1] > 1);
	/* a batch that changes a few keys writes a delta after it */
	onyx_state_put_json(s, "key-1", 5, json_integer(-1));
	assert_int_equal(onyx_state_batch_write(s, keep, &l), 0);
	assert_non_null(strstr(l.text[l.n - 1], "\"t\":\"delta\""));
	/* the records before the snapshot, as if removed: the same result */
	r = restored(&l, 5);
	assert_int_equal(onyx_state_nkeys(r, 5), 20000);
	assert_int_equal(num(r, "key-123"), 300123);
	assert_int_equal(num(r, "key-1"), -1);
	onyx_state_free(r);
	for (i = 0; i < l.n && l.seq[i] < got[1]; i++)
		l.b[i] = 63; /* out of bucket 5's way */
	r = restored(&l, 5);
	assert_int_equal(onyx_state_nkeys(r, 5), 20000);
	assert_int_equal(num(r, "key-19999"), 319999);
	onyx_state_free(r);
	log_free(&l);
	onyx_state_free(s);
}

/* A snapshot cut short (its first part gone) changes nothing. */
static void
partial_snapshot(void **state)
{
	struct onyx_state *r = onyx_state_new(ONYX_STATE_DURABLE);
	const char *d =
	    "{\"v\":1,\"t\":\"delta\",\"set\":{\"a\":1},\"del\":[]}";
	const char *p1 = "{\"v\":1,\"t\":\"snap\",\"id\":2,\"part\":1,"
	                 "\"parts\":2,\"set\":{\"b\":2}}";
	const char *v2 = "{\"v\":2,\"t\":\"delta\",\"set\":{}}";
	char why[256];

	(void)state;
	onyx_state_restore_begin(r, 1);
	assert_int_equal(
	    onyx_state_restore_record(r, 1, 1, d, strlen(d), why, sizeof(why)),
	    0);
	assert_int_equal(onyx_state_restore_record(
	                     r, 1, 3, p1, strlen(p1), why, sizeof(why)),
	    0);
	assert_int_equal(onyx_state_restore_record(
	                     r, 1, 4, v2, strlen(v2), why, sizeof(why)),
	    -1);
	assert_non_null(strstr(why, "format 2"));
	assert_int_equal(
	    onyx_state_restore_record(r, 1, 5, "{", 1, why, sizeof(why)), -1);
	onyx_state_restore_end(r, 1);
	onyx_state_select(r, 1);
	assert_int_equal(num(r, "a"), 1);
	assert_null(onyx_state_get_json(r, "b", 1));
	onyx_state_free(r);
}

static void
compaction_decision(void **state)
{
	(void)state;
	/* small logs are never compacted */
	assert_false(onyx_state_should_snapshot(1000, 1000, 10, 65536));
	assert_true(onyx_state_should_snapshot(1000, 1000, 10, 1000));
	/* a log with fewer entries than keys is cheaper than a snapshot */
	assert_false(onyx_state_should_snapshot(50000, 1 << 20, 100000, 65536));
	assert_true(onyx_state_should_snapshot(100000, 65536, 100000, 65536));
	assert_true(onyx_state_should_snapshot(5000, 65536, 10, 65536));
}

/* A value too long for one record is refused (durable only). */
static void
too_long(void **state)
{
	struct onyx_state *s = onyx_state_new(ONYX_STATE_DURABLE);
	char *big = malloc(ONYX_STATE_RECORD_MAX);

	(void)state;
	memset(big, 'x', ONYX_STATE_RECORD_MAX - 1);
	big[ONYX_STATE_RECORD_MAX - 1] = '\0';
	onyx_state_select(s, 0);
	assert_int_equal(onyx_state_put_json(s, "k", 1, json_string(big)), -1);
	assert_non_null(strstr(onyx_state_why(s), "under"));
	free(big);
	onyx_state_free(s);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
	    cmocka_unit_test(modes),
	    cmocka_unit_test(staging),
	    cmocka_unit_test(abandon),
	    cmocka_unit_test(deltas_restore),
	    cmocka_unit_test(snapshots),
	    cmocka_unit_test(partial_snapshot),
	    cmocka_unit_test(compaction_decision),
	    cmocka_unit_test(too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
