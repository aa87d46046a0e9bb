/* tests/unit/test_sched.c: the coordinator's decisions (lib/sched), snapshot in, actions out, without ZooKeeper. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/sched.h"

#define NOW 1000000LL
#define TIMEOUT 10000LL

/* A snapshot under construction: growable, like the shell's. */
struct snap {
	struct onyx_sched_peer *peers;
	size_t npeers;
	struct onyx_sched_job *jobs;
	size_t njobs;
	char **strs;
	size_t nstrs;
	size_t rr;
};

static const char *
str(struct snap *s, const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	assert_true(vasprintf(&p, fmt, ap) >= 0);
	va_end(ap);
	s->strs = realloc(s->strs, (s->nstrs + 1) * sizeof(*s->strs));
	s->strs[s->nstrs++] = p;
	return p;
}

static void
snap_free(struct snap *s)
{
	size_t i;

	for (i = 0; i < s->nstrs; i++)
		free(s->strs[i]);
	for (i = 0; i < s->njobs; i++)
		free((void *)s->jobs[i].tasks);
	free(s->strs);
	free(s->peers);
	free(s->jobs);
}

/* A peer; state NULL: idle. */
static struct onyx_sched_peer *
peer(struct snap *s, const char *id, bool alive, const char *job,
    const char *task, const char *state)
{
	struct onyx_sched_peer *p;

	s->peers = realloc(s->peers, (s->npeers + 1) * sizeof(*s->peers));
	p = &s->peers[s->npeers++];
	memset(p, 0, sizeof(*p));
	p->id = id;
	p->alive = alive;
	if (state != NULL) {
		p->assigned = true;
		p->offer.job = job;
		p->offer.task = task;
		p->offer.state = state;
		p->offer.at = NOW - 1;
		p->offer.version = 3;
	}
	return p;
}

static void
idle_peers(struct snap *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		peer(s, str(s, "p%05zu", i), true, NULL, NULL, NULL);
}

/* A job of ntasks tasks named t0.. with phases 0.., each capped at cap. */
static struct onyx_sched_job *
job(struct snap *s, const char *id, const char *status, long long at,
    size_t ntasks, int cap)
{
	struct onyx_sched_job *j;
	struct onyx_sched_task *t = calloc(ntasks + 1, sizeof(*t));
	size_t k;

	for (k = 0; k < ntasks; k++) {
		t[k].name = str(s, "t%zu", k);
		t[k].phase = (int)k;
		t[k].cap = cap;
	}
	s->jobs = realloc(s->jobs, (s->njobs + 1) * sizeof(*s->jobs));
	j = &s->jobs[s->njobs++];
	memset(j, 0, sizeof(*j));
	j->id = id;
	j->status = status;
	j->at = at;
	j->tasks = t;
	j->ntasks = ntasks;
	return j;
}

static struct onyx_sched_task *
task(struct onyx_sched_job *j, size_t k)
{
	return (struct onyx_sched_task *)&j->tasks[k];
}

static void
decide(struct snap *s, struct onyx_sched_out *out)
{
	struct onyx_sched_in in = {
	    s->peers, s->npeers, s->jobs, s->njobs, NOW, TIMEOUT, s->rr};
	char err[128];

	memset(out, 0, sizeof(*out));
	assert_int_equal(onyx_sched_decide(&in, out, err, sizeof(err)), 0);
}

/* How many actions of kind; with job >= 0 only those of job index job. */
static size_t
count(const struct onyx_sched_out *o, enum onyx_sched_kind kind, long job)
{
	size_t i, n = 0;

	for (i = 0; i < o->n; i++)
		if (o->v[i].kind == kind &&
		    (job < 0 || o->v[i].job == (size_t)job))
			n++;
	return n;
}

/* The first action of kind for peer (index), or NULL. */
static const struct onyx_sched_action *
of_peer(const struct onyx_sched_out *o, enum onyx_sched_kind kind, size_t p)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		if (o->v[i].kind == kind && o->v[i].peer == p)
			return &o->v[i];
	return NULL;
}

static const struct onyx_sched_action *
of_job(const struct onyx_sched_out *o, enum onyx_sched_kind kind, size_t j)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		if (o->v[i].kind == kind && o->v[i].job == j)
			return &o->v[i];
	return NULL;
}

/* Offers per task of job j, into n[]. */
static void
offers_per_task(const struct onyx_sched_out *o, size_t j, size_t *n, size_t nt)
{
	size_t i;

	memset(n, 0, nt * sizeof(*n));
	for (i = 0; i < o->n; i++)
		if (o->v[i].kind == ONYX_SCHED_OFFER && o->v[i].job == j)
			n[o->v[i].task]++;
}

/* Jobs round-robin, in submission order, whatever their order in the input. */
static void
round_robin_across_jobs(void **state)
{
	struct snap s = {0};
	struct onyx_sched_out o;
	const char *order[6];
	size_t i, k = 0;

	(void)state;
	job(&s, "c", "running", 300, 4, 0);
	job(&s, "a", "running", 100, 4, 0);
	job(&s, "b", "submitted", 200, 4, 0);
	idle_peers(&s, 6);
	decide(&s, &o);
	for (i = 0; i < o.n; i++)
		if (o.v[i].kind == ONYX_SCHED_OFFER)
			order[k++] = s.jobs[o.v[i].job].id;
	assert_int_equal(k, 6);
	assert_string_equal(order[0], "a");
	assert_string_equal(order[1], "b");
	assert_string_equal(order[2], "c");
	assert_string_equal(order[3], "a");
	assert_string_equal(order[4], "b");
	assert_string_equal(order[5], "c");
	assert_int_equal(o.rr, 0);
	/* the submitted job becomes running with its first offer, once */
	assert_int_equal(count(&o, ONYX_SCHED_STATUS, 2), 1);
	assert_string_equal(
	    of_job(&o, ONYX_SCHED_STATUS, 2)->status, "running");
	assert_int_equal(count(&o, ONYX_SCHED_STATUS, -1), 1);
	onyx_sched_out_free(&o);
	/* the next pass goes on from where this one stopped */
	snap_free(&s);
	memset(&s, 0, sizeof(s));
	job(&s, "a", "running", 100, 4, 0);
	job(&s, "b", "running", 200, 4, 0);
	job(&s, "c", "running", 300, 4, 0);
	s.rr = 2;
	idle_peers(&s, 1);
	decide(&s, &o);
	assert_int_equal(count(&o, ONYX_SCHED_OFFER, 2), 1);
	assert_int_equal(o.rr, 0);
	onyx_sched_out_free(&o);
	snap_free(&s);
}

/* Inside a job: fewest peers first, then the earliest phase. */
static void
breadth_first_balance(void **state)
{
	static const struct {
		size_t peers, busy_t0;
		size_t want[3];
	} cases[] = {
	    {3, 0, {1, 1, 1}},
	    {4, 0, {2, 1, 1}},
	    {7, 0, {3, 2, 2}},
	    {2, 2, {0, 1, 1}}, /* t0 has two peers already */
	    {5, 2, {1, 2, 2}},
	};
	size_t c;

	(void)state;
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct snap s = {0};
		struct onyx_sched_out o;
		size_t n[3], i;

		job(&s, "j", "running", 1, 3, 0);
		for (i = 0; i < cases[c].busy_t0; i++)
			peer(&s, str(&s, "busy%zu", i), true, "j", "t0",
			    "acked");
		idle_peers(&s, cases[c].peers);
		decide(&s, &o);
		offers_per_task(&o, 0, n, 3);
		for (i = 0; i < 3; i++)
			assert_int_equal(n[i], cases[c].want[i]);
		onyx_sched_out_free(&o);
		snap_free(&s);
	}
}

/* onyx/max-peers and sequential (cap 1) are never exceeded. */
static void
caps(void **state)
{
	static const struct {
		int cap;
		size_t peers, held, want_total;
	} cases[] = {
	    {1, 10, 0, 3},  /* sequential: one peer a task */
	    {1, 10, 1, 2},  /* t0 already has its one peer */
	    {2, 10, 0, 6},  /* max-peers 2 */
	    {2, 3, 0, 3},   /* fewer peers than room */
	    {0, 10, 0, 10}, /* no cap: every idle peer */
	};
	size_t c;

	(void)state;
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct snap s = {0};
		struct onyx_sched_out o;
		size_t n[3], i;

		job(&s, "j", "running", 1, 3, cases[c].cap);
		for (i = 0; i < cases[c].held; i++)
			peer(&s, str(&s, "held%zu", i), true, "j", "t0",
			    "acked");
		idle_peers(&s, cases[c].peers);
		decide(&s, &o);
		offers_per_task(&o, 0, n, 3);
		assert_int_equal(
		    count(&o, ONYX_SCHED_OFFER, -1), cases[c].want_total);
		for (i = 0; i < 3 && cases[c].cap > 0; i++)
			assert_true(n[i] + (i == 0 ? cases[c].held : 0) <=
			    (size_t)cases[c].cap);
		onyx_sched_out_free(&o);
		snap_free(&s);
	}
}

/* Offers and answers of live peers (each case one peer on job j). */
static void
settle_offers(void **state)
{
	static const struct {
		const char *job_status, *state, *on_job;
		long long age;
		bool done;
		const char *revoke; /* NULL: kept */
		const char *job_becomes;
	} cases[] = {
	    {"running", "offered", "j", 1, false, NULL, NULL},
	    {"running", "offered", "j", TIMEOUT + 1, false, "offer-timeout",
	        NULL},
	    {"running", "offered", "j", TIMEOUT, false, NULL, NULL},
	    {"running", "acked", "j", TIMEOUT * 100, false, NULL, NULL},
	    {"running", "finished", "j", 1, false, "task-ended", NULL},
	    {"running", "failed", "j", 1, false, "failed", "failed"},
	    {"running", "offered", "j", 1, true, "task-complete", NULL},
	    {"running", "acked", "j", 1, true, NULL, NULL},
	    {"killed", "acked", "j", 1, false, "killed", NULL},
	    {"completed", "acked", "j", 1, false, "completed", NULL},
	    {"running", "acked", "gone", 1, false, "job-gone", NULL},
	};
	size_t c;

	(void)state;
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct snap s = {0};
		struct onyx_sched_out o;
		struct onyx_sched_job *j;
		struct onyx_sched_peer *p;
		const struct onyx_sched_action *a;

		j = job(&s, "j", cases[c].job_status, 1, 2, 0);
		task(j, 0)->done = cases[c].done;
		p = peer(&s, "p", true, cases[c].on_job, "t0", cases[c].state);
		p->offer.at = NOW - cases[c].age;
		p->offer.reason = "boom";
		decide(&s, &o);
		a = of_peer(&o, ONYX_SCHED_REVOKE, 0);
		if (cases[c].revoke == NULL)
			assert_null(a);
		else {
			assert_non_null(a);
			assert_string_equal(a->reason, cases[c].revoke);
			assert_int_equal(a->version, 3);
		}
		if (cases[c].job_becomes != NULL) {
			a = of_job(&o, ONYX_SCHED_STATUS, 0);
			assert_non_null(a);
			assert_string_equal(a->status, cases[c].job_becomes);
			assert_string_equal(
			    a->reason, "task t0 on peer p: boom");
		}
		/* a peer revoked for a reason of its own is offered again
		 * in the same pass (as long as the job runs) */
		if (cases[c].revoke != NULL &&
		    strcmp(cases[c].revoke, "offer-timeout") == 0)
			assert_non_null(of_peer(&o, ONYX_SCHED_OFFER, 0));
		if (cases[c].job_becomes != NULL)
			assert_null(of_peer(&o, ONYX_SCHED_OFFER, 0));
		onyx_sched_out_free(&o);
		snap_free(&s);
	}
}

/* A dead peer: fenced first when it had acked (and keeps its task), else revoked. */
static void
revoke_on_peer_death(void **state)
{
	static const struct {
		const char *state;
		bool fence;
	} cases[] = {
	    {"acked", true},
	    {"offered", false},
	    {"finished", false},
	    {"failed", false},
	};
	size_t c;

	(void)state;
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct snap s = {0};
		struct onyx_sched_out o;
		const struct onyx_sched_action *f, *r, *t;
		size_t i;

		job(&s, "j", "running", 1, 1, 1); /* one task, sequential */
		idle_peers(&s, 1);
		peer(&s, "dead", false, "j", "t0", cases[c].state);
		decide(&s, &o);
		f = of_peer(&o, ONYX_SCHED_FENCE, 1);
		r = of_peer(&o, ONYX_SCHED_REVOKE, 1);
		t = of_job(&o, ONYX_SCHED_TASK, 0);
		assert_non_null(t);
		if (cases[c].fence) {
			assert_non_null(f);
			assert_int_equal(f->version, 3);
			assert_null(r);
			/* until fenced it holds the task: no second peer */
			assert_int_equal(count(&o, ONYX_SCHED_OFFER, -1), 0);
			assert_int_equal(t->npeers, 1);
			assert_int_equal(t->peers[0], 1);
		} else {
			assert_null(f);
			assert_non_null(r);
			assert_string_equal(r->reason, "peer-dead");
			/* the task is free again: the live peer gets it */
			assert_int_equal(count(&o, ONYX_SCHED_OFFER, -1), 1);
			assert_int_equal(
			    of_peer(&o, ONYX_SCHED_OFFER, 0)->task, 0);
			assert_int_equal(t->npeers, 1);
			assert_int_equal(t->peers[0], 0);
		}
		/* a failed dead peer does not fail the job */
		for (i = 0; i < o.n; i++)
			assert_false(o.v[i].kind == ONYX_SCHED_STATUS &&
			    strcmp(o.v[i].status, "failed") == 0);
		onyx_sched_out_free(&o);
		snap_free(&s);
	}
}

/* Peers that join spread over the tasks with the fewest peers. */
static void
rebalance_when_peers_join(void **state)
{
	struct snap s = {0};
	struct onyx_sched_out o;
	size_t n[4];

	(void)state;
	job(&s, "j", "running", 1, 4, 0);
	peer(&s, "a", true, "j", "t0", "acked");
	peer(&s, "b", true, "j", "t0", "acked");
	peer(&s, "c", true, "j", "t1", "acked");
	idle_peers(&s, 4); /* the new ones */
	decide(&s, &o);
	offers_per_task(&o, 0, n, 4);
	assert_int_equal(n[0], 0);
	assert_int_equal(n[1], 1);
	assert_int_equal(n[2], 2);
	assert_int_equal(n[3], 1);
	onyx_sched_out_free(&o);
	snap_free(&s);
}

/* More than 256 tasks: every one gets a peer, none is dropped. */
static void
many_tasks(void **state)
{
	struct snap s = {0};
	struct onyx_sched_out o;
	size_t n[300], i;

	(void)state;
	job(&s, "big", "submitted", 1, 300, 1);
	idle_peers(&s, 310);
	decide(&s, &o);
	offers_per_task(&o, 0, n, 300);
	for (i = 0; i < 300; i++)
		assert_int_equal(n[i], 1);
	assert_int_equal(count(&o, ONYX_SCHED_OFFER, -1), 300);
	assert_int_equal(count(&o, ONYX_SCHED_TASK, 0), 300);
	onyx_sched_out_free(&o);
	/* all but the last done: not completed; all done: completed */
	snap_free(&s);
	memset(&s, 0, sizeof(s));
	{
		struct onyx_sched_job *j = job(&s, "big", "running", 1, 300, 1);

		for (i = 0; i < 299; i++)
			task(j, i)->done = true;
		decide(&s, &o);
		assert_int_equal(count(&o, ONYX_SCHED_STATUS, -1), 0);
		onyx_sched_out_free(&o);
		task(j, 299)->done = true;
		decide(&s, &o);
		assert_int_equal(count(&o, ONYX_SCHED_STATUS, 0), 1);
		assert_string_equal(
		    of_job(&o, ONYX_SCHED_STATUS, 0)->status, "completed");
		onyx_sched_out_free(&o);
	}
	snap_free(&s);
}

/* More than 1024 peers: none is forgotten, no live peer revoked. */
static void
many_peers(void **state)
{
	struct snap s = {0};
	struct onyx_sched_out o;
	size_t i;

	(void)state;
	job(&s, "j", "running", 1, 3, 0);
	for (i = 0; i < 1100; i++)
		peer(&s, str(&s, "busy%05zu", i), true, "j", "t0", "acked");
	idle_peers(&s, 100);
	decide(&s, &o);
	assert_int_equal(count(&o, ONYX_SCHED_REVOKE, -1), 0);
	assert_int_equal(count(&o, ONYX_SCHED_FENCE, -1), 0);
	assert_int_equal(count(&o, ONYX_SCHED_OFFER, -1), 100);
	/* t0 is full of peers: the newcomers go to t1 and t2 */
	assert_int_equal(of_job(&o, ONYX_SCHED_TASK, 0)->npeers, 1100);
	for (i = 0; i < o.n; i++)
		if (o.v[i].kind == ONYX_SCHED_OFFER)
			assert_int_not_equal(o.v[i].task, 0);
	onyx_sched_out_free(&o);
	snap_free(&s);
}

/* Many jobs: every one gets its peers, round-robin, linear-ish work. */
static void
many_jobs(void **state)
{
	struct snap s = {0};
	struct onyx_sched_out o;
	size_t i;

	(void)state;
	for (i = 0; i < 2000; i++)
		job(&s, str(&s, "job%05zu", 1999 - i), "submitted",
		    (long long)(1999 - i), 2, 1);
	idle_peers(&s, 4100);
	decide(&s, &o);
	assert_int_equal(count(&o, ONYX_SCHED_OFFER, -1), 4000);
	for (i = 0; i < 2000; i++)
		assert_int_equal(count(&o, ONYX_SCHED_OFFER, (long)i), 2);
	/* the first offer goes to the earliest job */
	assert_string_equal(
	    s.jobs[of_peer(&o, ONYX_SCHED_OFFER, 0)->job].id, "job00000");
	onyx_sched_out_free(&o);
	snap_free(&s);
}

/* Completion, then cleanup and retirement once no peer holds an offer. */
static void
completion(void **state)
{
	static const struct {
		const char *status;
		bool cleaned, peer_holds;
		size_t clean, retire;
	} cases[] = {
	    {"completed", false, true, 0, 0}, /* its peer is still leaving */
	    {"completed", false, false, 1, 1},
	    {"completed", true, false, 0, 1},
	    {"killed", false, false, 1, 1},
	    {"failed", false, false, 0, 1}, /* keeps its queues */
	    {"running", false, false, 0, 0},
	};
	size_t c;

	(void)state;
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct snap s = {0};
		struct onyx_sched_out o;
		struct onyx_sched_job *j;

		j = job(&s, "j", cases[c].status, 1, 2, 0);
		j->cleaned = cases[c].cleaned;
		/* a dead peer that acked holds its offer until fenced */
		if (cases[c].peer_holds)
			peer(&s, "p", false, "j", "t0", "acked");
		decide(&s, &o);
		assert_int_equal(
		    count(&o, ONYX_SCHED_CLEAN, 0), cases[c].clean);
		assert_int_equal(
		    count(&o, ONYX_SCHED_RETIRE, 0), cases[c].retire);
		if (cases[c].clean && cases[c].retire) {
			/* clean before retire */
			size_t i, ci = 0, ri = 0;
			for (i = 0; i < o.n; i++) {
				if (o.v[i].kind == ONYX_SCHED_CLEAN)
					ci = i;
				if (o.v[i].kind == ONYX_SCHED_RETIRE)
					ri = i;
			}
			assert_true(ci < ri);
		}
		/* an ended job gets no task records and no offers */
		if (strcmp(cases[c].status, "running") != 0) {
			assert_int_equal(count(&o, ONYX_SCHED_TASK, 0), 0);
			assert_int_equal(count(&o, ONYX_SCHED_OFFER, 0), 0);
		}
		onyx_sched_out_free(&o);
		snap_free(&s);
	}
}

/* A kill: every peer of the job is revoked, then it is cleaned up. */
static void
kill(void **state)
{
	struct snap s = {0};
	struct onyx_sched_out o;
	size_t i;

	(void)state;
	job(&s, "k", "killed", 1, 2, 0);
	job(&s, "other", "running", 2, 1, 0);
	peer(&s, "a", true, "k", "t0", "acked");
	peer(&s, "b", true, "k", "t1", "offered");
	decide(&s, &o);
	for (i = 0; i < 2; i++) {
		const struct onyx_sched_action *r =
		    of_peer(&o, ONYX_SCHED_REVOKE, i);

		assert_non_null(r);
		assert_string_equal(r->reason, "killed");
	}
	/* revoked, so no offer is left: cleaned in the same pass; the freed
	 * peers go on to the other job */
	assert_int_equal(count(&o, ONYX_SCHED_CLEAN, 0), 1);
	assert_int_equal(count(&o, ONYX_SCHED_RETIRE, 0), 1);
	assert_int_equal(count(&o, ONYX_SCHED_OFFER, 1), 2);
	onyx_sched_out_free(&o);
	snap_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(round_robin_across_jobs),
	    cmocka_unit_test(breadth_first_balance),
	    cmocka_unit_test(caps),
	    cmocka_unit_test(settle_offers),
	    cmocka_unit_test(revoke_on_peer_death),
	    cmocka_unit_test(rebalance_when_peers_join),
	    cmocka_unit_test(many_tasks),
	    cmocka_unit_test(many_peers),
	    cmocka_unit_test(many_jobs),
	    cmocka_unit_test(completion),
	    cmocka_unit_test(kill),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
