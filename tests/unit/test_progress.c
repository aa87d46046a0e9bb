/* tests/unit/test_progress.c: the live view's computations: rates over samples, buckets, sparkline, ETA, texts, the progress line and the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/progress.h"

/* A history of total[i] at t[i]. */
static void
fill(struct onyx_progress_hist *h, const long long *t, const long long *total,
    size_t n, long long keep)
{
	size_t i;

	for (i = 0; i < n; i++)
		assert_int_equal(onyx_progress_add(h, t[i], total[i], keep), 0);
}

static void
rate_over_window(void **state)
{
	struct onyx_progress_hist h = {0};
	static const long long t[] = {0, 1000, 2000, 3000, 4000, 5000, 6000};
	static const long long v[] = {0, 100, 200, 300, 400, 500, 600};

	(void)state;
	assert_true(onyx_progress_rate(&h, 5000) == -1);
	fill(&h, t, v, 1, 65000);
	assert_true(onyx_progress_rate(&h, 5000) == -1); /* one sample */
	onyx_progress_free(&h);
	fill(&h, t, v, 7, 65000);
	/* from the sample at 1000 (the window's start) to 6000 */
	assert_true(onyx_progress_rate(&h, 5000) == 100.0);
	/* a short window: from 5000 */
	assert_true(onyx_progress_rate(&h, 1000) == 100.0);
	onyx_progress_free(&h);
	assert_int_equal(h.n, 0);
}

static void
rate_edge_cases(void **state)
{
	struct onyx_progress_hist h = {0};
	static const long long t1[] = {0, 300, 800};
	static const long long v1[] = {0, 10, 20};
	static const long long t2[] = {0, 2000};
	static const long long v2[] = {500, 100};
	static const long long t3[] = {0, 1000, 4000};
	static const long long v3[] = {0, 0, 300};

	(void)state;
	fill(&h, t1, v1, 3, 65000);
	assert_true(onyx_progress_rate(&h, 5000) == -1); /* 800 ms apart */
	onyx_progress_free(&h);
	fill(&h, t2, v2, 2, 65000);
	assert_true(onyx_progress_rate(&h, 5000) == 0); /* a total that fell */
	onyx_progress_free(&h);
	fill(&h, t3, v3, 3, 65000);
	assert_true(onyx_progress_rate(&h, 5000) == 75.0);  /* 300 in 4 s */
	assert_true(onyx_progress_rate(&h, 3000) == 100.0); /* from 1000 */
	onyx_progress_free(&h);
}

static void
samples_bounded(void **state)
{
	struct onyx_progress_hist h = {0};
	long long i;

	(void)state;
	/* closer than the gap: the newest replaces the last */
	assert_int_equal(onyx_progress_add(&h, 0, 0, 65000), 0);
	assert_int_equal(onyx_progress_add(&h, 100, 1, 65000), 0);
	assert_int_equal(onyx_progress_add(&h, 200, 2, 65000), 0);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.s[1].t_ms, 200);
	assert_int_equal(h.s[1].total, 2);
	assert_int_equal(onyx_progress_add(&h, 300, 3, 65000), 0);
	assert_int_equal(h.n, 3);
	onyx_progress_free(&h);
	/* a reading a second for 100 s keeps 65 s and the window's start */
	for (i = 0; i <= 100; i++)
		assert_int_equal(onyx_progress_add(&h, i * 1000, i, 65000), 0);
	assert_int_equal(h.n, 66);
	assert_int_equal(h.s[0].t_ms, 35000);
	/* a burst of changes does not grow it */
	for (i = 0; i < 1000; i++)
		assert_int_equal(
		    onyx_progress_add(&h, 100000 + i / 10, 100, 65000), 0);
	assert_int_equal(h.n, 67);
	onyx_progress_free(&h);
}

static void
buckets_of_a_minute(void **state)
{
	struct onyx_progress_hist h = {0};
	static const long long t[] = {0, 3000, 6000};
	static const long long v[] = {0, 300, 900};
	double b[3];

	(void)state;
	fill(&h, t, v, 3, 65000);
	onyx_progress_buckets(&h, 6000, 3, 3000, b);
	assert_true(b[0] == -1); /* before the first sample */
	assert_true(b[1] == 100.0);
	assert_true(b[2] == 200.0);
	/* between samples the total is the last one's */
	onyx_progress_buckets(&h, 7500, 3, 3000, b);
	assert_true(b[0] == -1);
	assert_true(b[1] == 100.0);
	assert_true(b[2] == 200.0);
	onyx_progress_free(&h);
}

static void
sparkline(void **state)
{
	static const double v[] = {-1, 0, 50, 100, 25};
	static const double zero[] = {0, 0};
	char buf[64];

	(void)state;
	assert_string_equal(onyx_progress_spark(v, 5, buf, sizeof(buf)),
	    " \u2581\u2585\u2588\u2583");
	assert_string_equal(
	    onyx_progress_spark(zero, 2, buf, sizeof(buf)), "\u2581\u2581");
	assert_string_equal(onyx_progress_spark(v, 0, buf, sizeof(buf)), "");
	/* cut at a character's end */
	assert_string_equal(onyx_progress_spark(v + 1, 3, buf, 5), "\u2581");
}

static void
eta_and_texts(void **state)
{
	char buf[32];

	(void)state;
	assert_int_equal(onyx_progress_eta(0, 0), 0);
	assert_int_equal(onyx_progress_eta(0, -1), 0);
	assert_int_equal(onyx_progress_eta(100, 0), -1);
	assert_int_equal(onyx_progress_eta(-1, 5), -1);
	assert_int_equal(onyx_progress_eta(100, 30), 4);
	assert_int_equal(onyx_progress_eta(90, 30), 3);
	assert_string_equal(onyx_progress_duration(-1, buf, sizeof(buf)), "-");
	assert_string_equal(onyx_progress_duration(0, buf, sizeof(buf)), "0s");
	assert_string_equal(
	    onyx_progress_duration(59, buf, sizeof(buf)), "59s");
	assert_string_equal(
	    onyx_progress_duration(61, buf, sizeof(buf)), "1m01s");
	assert_string_equal(
	    onyx_progress_duration(3725, buf, sizeof(buf)), "1h02m");
	assert_string_equal(
	    onyx_progress_duration(90000, buf, sizeof(buf)), "1d01h");
	assert_string_equal(onyx_progress_rate_text(-1, buf, sizeof(buf)), "-");
	assert_string_equal(
	    onyx_progress_rate_text(0, buf, sizeof(buf)), "0.0");
	assert_string_equal(
	    onyx_progress_rate_text(12.34, buf, sizeof(buf)), "12.3");
	assert_string_equal(
	    onyx_progress_rate_text(999.94, buf, sizeof(buf)), "999.9");
	assert_string_equal(
	    onyx_progress_rate_text(999.96, buf, sizeof(buf)), "1.00k");
	assert_string_equal(
	    onyx_progress_rate_text(1234, buf, sizeof(buf)), "1.23k");
	assert_string_equal(
	    onyx_progress_rate_text(12345, buf, sizeof(buf)), "12.3k");
	assert_string_equal(
	    onyx_progress_rate_text(2500000, buf, sizeof(buf)), "2.50M");
}

static void
cut_by_columns(void **state)
{
	char a[] = "abcdef", b[] = "\u2581\u2582\u2583x", c[] = "abc";

	(void)state;
	assert_string_equal(onyx_progress_cut(a, 2), "ab");
	assert_string_equal(onyx_progress_cut(b, 2), "\u2581\u2582");
	assert_string_equal(onyx_progress_cut(c, 0), "abc");
	assert_string_equal(onyx_progress_cut(c, 3), "abc");
}

/* ' stands for " */
static json_t *
load(const char *s)
{
	char *d = strdup(s), *p;
	json_t *v;

	assert_non_null(d);
	for (p = d; *p; p++)
		if (*p == '\'')
			*p = '"';
	v = json_loads(d, 0, NULL);
	free(d);
	assert_non_null(v);
	return v;
}

/* in -> f -> out, f the slowest */
static const char job_running[] =
    "{'job':'j1','status':'running','eta':7,'tasks':["
    "{'name':'in','phase':0,'status':'running','read':3000,'written':3000,"
    "'dead':0,'peers':['p1'],'ingress':['j1-in'],"
    "'egress':['onyx.edge.j1.in.f'],'rate':635.7,'backlog':0,"
    "'inflight':0,'eta':0,'rates':[null,null,635.7]},"
    "{'name':'f','phase':1,'status':'running','read':1300,'written':1300,"
    "'dead':2,'dead-letter':'onyx.dlq.j1.f','peers':['p2','p3'],"
    "'ingress':['onyx.edge.j1.in.f'],'egress':['onyx.edge.j1.f.out'],"
    "'rate':246.0,'backlog':1700,'inflight':44,'eta':7,"
    "'rates':[null,0.0,246.0]},"
    "{'name':'out','phase':2,'status':'running','read':1300,"
    "'written':1300,'dead':0,'peers':['p4'],"
    "'ingress':['onyx.edge.j1.f.out'],'egress':['j1-out'],'rate':246.0,"
    "'backlog':0,'inflight':0,'eta':0,'rates':[null,0.0,246.0]}]}";

static void
input_tasks(void **state)
{
	json_t *j = load(job_running), *t;

	(void)state;
	assert_true(onyx_progress_is_input(
	    json_array_get(json_object_get(j, "tasks"), 0)));
	assert_false(onyx_progress_is_input(
	    json_array_get(json_object_get(j, "tasks"), 1)));
	t = load("{'name':'x','ingress':[]}");
	assert_false(onyx_progress_is_input(t));
	json_decref(t);
	json_decref(j);
}

static void
pending_and_settled(void **state)
{
	json_t *j = load(job_running), *tasks, *rec;

	(void)state;
	tasks = json_object_get(j, "tasks");
	assert_int_equal(
	    onyx_progress_pending(tasks, json_array_get(tasks, 0)), -1);
	assert_int_equal(
	    onyx_progress_pending(tasks, json_array_get(tasks, 1)), 1700);
	assert_int_equal(
	    onyx_progress_pending(tasks, json_array_get(tasks, 2)), 0);
	/* completed, but f's last counts are not in yet */
	json_object_set_new(j, "status", json_string("completed"));
	assert_false(onyx_progress_settled(j));
	rec = json_array_get(tasks, 1);
	json_object_set_new(rec, "read", json_integer(3000));
	json_object_set_new(rec, "written", json_integer(2990));
	assert_false(onyx_progress_settled(j)); /* out: 1300 of 2990 */
	json_object_set_new(
	    json_array_get(tasks, 2), "read", json_integer(2990));
	assert_true(onyx_progress_settled(j));
	/* fan-in: out reads what in and f both wrote */
	json_array_append_new(
	    json_object_get(json_array_get(tasks, 0), "egress"),
	    json_string("onyx.edge.j1.in.out"));
	json_array_append_new(
	    json_object_get(json_array_get(tasks, 2), "ingress"),
	    json_string("onyx.edge.j1.in.out"));
	assert_int_equal(
	    onyx_progress_pending(tasks, json_array_get(tasks, 2)), 3000);
	assert_false(onyx_progress_settled(j));
	json_decref(j);
}

static void
progress_line(void **state)
{
	json_t *j = load(job_running), *t;
	struct onyx_progress_job p;
	char buf[256];

	(void)state;
	assert_true(onyx_progress_settled(j)); /* running: counts go on */
	onyx_progress_of_job(j, &p);
	assert_string_equal(p.task, "f");
	assert_int_equal(p.total, 3000);
	assert_string_equal(onyx_progress_line(&p, 0, buf, sizeof(buf)),
	    "job j1 running: task f 1300/3000 segments, backlog 1700, "
	    "246.0/s, ETA 7s");
	assert_string_equal(onyx_progress_line(&p, 20, buf, sizeof(buf)),
	    "job j1 running: task");
	json_decref(j);

	/* ended: the last phase, its read the total */
	j = load("{'job':'j1','status':'completed','eta':null,'tasks':["
	         "{'name':'in','phase':0,'read':3000,'backlog':null},"
	         "{'name':'out','phase':2,'read':3000,'backlog':null},"
	         "{'name':'f','phase':1,'read':3000,'backlog':null}]}");
	assert_true(onyx_progress_settled(j)); /* no edges to compare */
	onyx_progress_of_job(j, &p);
	assert_string_equal(onyx_progress_line(&p, 0, buf, sizeof(buf)),
	    "job j1 completed: task out 3000/3000 segments, backlog 0, -/s, "
	    "ETA 0s");
	json_decref(j);

	/* nothing read yet: the task whose time is unknown decides */
	j = load("{'job':'j2','status':'submitted','eta':null,'tasks':["
	         "{'name':'in','phase':0,'read':0,'backlog':3001,"
	         "'rate':null,'eta':null},"
	         "{'name':'out','phase':1,'read':0,'backlog':0,'rate':null,"
	         "'eta':0}]}");
	onyx_progress_of_job(j, &p);
	assert_string_equal(onyx_progress_line(&p, 0, buf, sizeof(buf)),
	    "job j2 submitted: task in 0/3001 segments, backlog 3001, -/s, "
	    "ETA -");
	json_decref(j);

	/* no broker: the backlog unknown */
	j = load("{'job':'j3','status':'running','tasks':["
	         "{'name':'in','phase':0,'read':5,'backlog':null,'rate':1.5,"
	         "'eta':null}]}");
	onyx_progress_of_job(j, &p);
	assert_string_equal(onyx_progress_line(&p, 0, buf, sizeof(buf)),
	    "job j3 running: task in 5/? segments, backlog -, 1.5/s, ETA -");
	json_decref(j);
	t = load("{'job':'j4','status':'running','tasks':[]}");
	onyx_progress_of_job(t, &p);
	assert_string_equal(onyx_progress_line(&p, 0, buf, sizeof(buf)),
	    "job j4 running: task ? 0/? segments, backlog -, -/s, ETA -");
	json_decref(t);
}

static const char table_want[] =
    "cluster c1, leader coord-1, peers 3: 2 active, 1 idle, at 12:00:01\n"
    "\n"
    "JOB j1  running  ETA 7s\n"
    "  TASK             PHASE STATUS           READ    WRITTEN   RATE/s   "
    "BACKLOG INFLIGHT   DEAD PEERS    ETA  READ RATE, LAST 60 S\n"
    "  in                   0 running          3000       3000    635.7   "
    "      0        0      0     1     0s    \u2588\n"
    "  f                    1 running          1300       1300    246.0   "
    "   1700       44      2     2     7s   \u2581\u2588\n"
    "                   dead letters in onyx.dlq.j1.f\n"
    "  out                  2 running          1300       1300    246.0   "
    "      0        0      0     1     0s   \u2581\u2588\n"
    "\n"
    "JOB j0  completed\n"
    "  TASK             PHASE STATUS           READ    WRITTEN   RATE/s   "
    "BACKLOG INFLIGHT   DEAD PEERS    ETA  READ RATE, LAST 60 S\n"
    "  in                   0 complete           10         10        -   "
    "      -        -      0     0      -  \n";

static void
table_layout(void **state)
{
	json_t *s = load("{'cluster':'c1','leader':{'id':'coord-1'},'peers':["
	                 "{'id':'p1','state':'active'},{'id':'p2','state':"
	                 "'idle'},{'id':'p3','state':'active'}],'jobs':[]}");
	json_t *done =
	    load("{'job':'j0','status':'completed','eta':null,'tasks':["
	         "{'name':'in','phase':0,'status':'complete','read':10,"
	         "'written':10,'dead':0,'peers':[],'rate':null,'backlog':null,"
	         "'inflight':null,'eta':null,'rates':null}]}");
	char *text;

	(void)state;
	json_array_append_new(json_object_get(s, "jobs"), load(job_running));
	json_array_append_new(json_object_get(s, "jobs"), done);
	text = onyx_progress_table(s, "12:00:01", 0, 0);
	assert_non_null(text);
	assert_string_equal(text, table_want);
	free(text);
	/* cut to 30 columns and 4 rows: the last says what is left out */
	text = onyx_progress_table(s, "12:00:01", 30, 4);
	assert_string_equal(text,
	    "cluster c1, leader coord-1, pe\n"
	    "\n"
	    "JOB j1  running  ETA 7s\n"
	    "(9 more lines: a taller termin\n");
	free(text);
	/* as many rows as lines: nothing cut */
	text = onyx_progress_table(s, "12:00:01", 0, 12);
	assert_string_equal(text, table_want);
	free(text);
	/* the broker out of reach: a line under the title */
	json_object_set_new(s, "broker", json_string("cannot connect"));
	text = onyx_progress_table(s, "12:00:01", 0, 3);
	assert_string_equal(text,
	    "cluster c1, leader coord-1, peers 3: 2 active, 1 idle, at "
	    "12:00:01\n"
	    "no backlog: cannot connect\n"
	    "(11 more lines: a taller terminal shows them)\n");
	free(text);
	json_decref(s);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
	    cmocka_unit_test(rate_over_window),
	    cmocka_unit_test(rate_edge_cases),
	    cmocka_unit_test(samples_bounded),
	    cmocka_unit_test(buckets_of_a_minute),
	    cmocka_unit_test(sparkline),
	    cmocka_unit_test(eta_and_texts),
	    cmocka_unit_test(cut_by_columns),
	    cmocka_unit_test(input_tasks),
	    cmocka_unit_test(pending_and_settled),
	    cmocka_unit_test(progress_line),
	    cmocka_unit_test(table_layout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
