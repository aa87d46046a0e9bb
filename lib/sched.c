/* lib/sched.c: the coordinator's decisions as a pure function: a snapshot of peers, offers and live jobs in, actions out. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>

#include "sched.h"

#define NONE SIZE_MAX

/* The working state of one pass. */
struct pass {
	const struct onyx_sched_in *in;
	struct onyx_sched_out *out;
	size_t *byid;    /* job indexes sorted by id */
	size_t *toff;    /* first task of job j in the flat task arrays */
	size_t *byname;  /* per job, its task indexes sorted by name (flat) */
	size_t *npeers;  /* peers holding each task (flat) */
	size_t *jpeers;  /* peers holding an offer of each job */
	const char **st; /* each job's status as decided so far */
	bool *held;      /* each peer holds an offer */
	size_t *pj, *pt; /* each held peer's job and task (NONE: unknown) */
	size_t ntasks;
	bool oom;
};

bool
onyx_sched_finished(const char *s)
{
	return s != NULL &&
	    (strcmp(s, "completed") == 0 || strcmp(s, "failed") == 0 ||
	        strcmp(s, "killed") == 0);
}

static bool
is(const char *s, const char *v)
{
	return s != NULL && strcmp(s, v) == 0;
}

static struct onyx_sched_action *
add(struct pass *p, enum onyx_sched_kind kind)
{
	struct onyx_sched_out *o = p->out;
	struct onyx_sched_action *a;

	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 64;
		void *v = reallocarray(o->v, cap, sizeof(*o->v));

		if (v == NULL) {
			p->oom = true;
			return NULL;
		}
		o->v = v;
		o->cap = cap;
	}
	a = &o->v[o->n++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->peer = a->job = a->task = NONE;
	return a;
}

/* Keep s (malloc'd) until the out is freed; returns s, NULL on failure. */
static const char *
keep(struct pass *p, char *s)
{
	struct onyx_sched_out *o = p->out;
	char **v;

	if (s == NULL ||
	    (v = reallocarray(o->strs, o->nstrs + 1, sizeof(*v))) == NULL) {
		free(s);
		p->oom = true;
		return NULL;
	}
	o->strs = v;
	o->strs[o->nstrs++] = s;
	return s;
}

/* Orders of index arrays (qsort_r: arg is the snapshot, or a job). */
static int
cmp_job_id(const void *a, const void *b, void *arg)
{
	const struct onyx_sched_in *in = arg;

	return strcmp(
	    in->jobs[*(const size_t *)a].id, in->jobs[*(const size_t *)b].id);
}

static int
cmp_task_name(const void *a, const void *b, void *arg)
{
	const struct onyx_sched_task *t = arg;

	return strcmp(t[*(const size_t *)a].name, t[*(const size_t *)b].name);
}

static int
cmp_submission(const void *a, const void *b, void *arg)
{
	const struct onyx_sched_in *in = arg;
	const struct onyx_sched_job *x = &in->jobs[*(const size_t *)a];
	const struct onyx_sched_job *y = &in->jobs[*(const size_t *)b];

	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* The index of the live job id, or NONE. */
static size_t
find_job(struct pass *p, const char *id)
{
	size_t lo = 0, hi = p->in->njobs;

	if (id == NULL)
		return NONE;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(p->in->jobs[p->byid[mid]].id, id);

		if (c == 0)
			return p->byid[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NONE;
}

/* The index of task name in job j, or NONE. */
static size_t
find_task(struct pass *p, size_t j, const char *name)
{
	const struct onyx_sched_job *job;
	const size_t *idx;
	size_t lo = 0, hi;

	if (j == NONE || name == NULL)
		return NONE;
	job = &p->in->jobs[j];
	idx = p->byname + p->toff[j];
	hi = job->ntasks;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(job->tasks[idx[mid]].name, name);

		if (c == 0)
			return idx[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NONE;
}

static void
revoke(struct pass *p, size_t i, const char *why)
{
	struct onyx_sched_action *a = add(p, ONYX_SCHED_REVOKE);

	if (a != NULL) {
		a->peer = i;
		a->version = p->in->peers[i].offer.version;
		a->reason = why;
	}
	p->held[i] = false;
}

static void
set_status(struct pass *p, size_t j, const char *status, const char *why)
{
	struct onyx_sched_action *a = add(p, ONYX_SCHED_STATUS);

	if (a != NULL) {
		a->job = j;
		a->status = status;
		a->reason = why;
	}
	p->st[j] = status;
}

/* 1: offers of dead peers. */
static void
settle_dead(struct pass *p)
{
	size_t i;

	for (i = 0; i < p->in->npeers; i++) {
		const struct onyx_sched_peer *pe = &p->in->peers[i];
		struct onyx_sched_action *a;

		if (pe->alive || !pe->assigned)
			continue;
		if (!is(pe->offer.state, "acked")) {
			revoke(p, i, "peer-dead");
			continue;
		}
		/* it may still hold a transaction: fence, then revoke */
		if ((a = add(p, ONYX_SCHED_FENCE)) != NULL) {
			a->peer = i;
			a->version = pe->offer.version;
		}
	}
}

/* 2: offers and answers of live peers. */
static void
settle_offers(struct pass *p)
{
	const struct onyx_sched_in *in = p->in;
	size_t i;

	for (i = 0; i < in->npeers; i++) {
		const struct onyx_sched_peer *pe = &in->peers[i];
		const struct onyx_sched_offer *o = &pe->offer;
		size_t j, t;

		if (!pe->alive || !p->held[i])
			continue;
		j = find_job(p, o->job);
		t = find_task(p, j, o->task);
		if (j == NONE || onyx_sched_finished(p->st[j]))
			revoke(p, i, j == NONE ? "job-gone" : p->st[j]);
		else if (is(o->state, "finished"))
			revoke(p, i, "task-ended");
		else if (is(o->state, "failed")) {
			char *why = NULL;

			if (asprintf(&why, "task %s on peer %s: %s",
			        o->task ? o->task : "", pe->id,
			        o->reason ? o->reason : "") < 0)
				why = NULL;
			set_status(p, j, "failed", keep(p, why));
			revoke(p, i, "failed");
		} else if (is(o->state, "offered") &&
		    in->now - o->at > in->offer_timeout_ms)
			revoke(p, i, "offer-timeout");
		else if (t != NONE && in->jobs[j].tasks[t].done &&
		    !is(o->state, "acked"))
			revoke(p, i, "task-complete");
	}
}

/* 3: who holds what. */
static void
count(struct pass *p)
{
	size_t i;

	for (i = 0; i < p->in->npeers; i++) {
		const struct onyx_sched_offer *o = &p->in->peers[i].offer;

		p->pj[i] = p->pt[i] = NONE;
		if (!p->held[i])
			continue;
		p->pj[i] = find_job(p, o->job);
		p->pt[i] = find_task(p, p->pj[i], o->task);
		if (p->pj[i] != NONE)
			p->jpeers[p->pj[i]]++;
		if (p->pt[i] != NONE)
			p->npeers[p->toff[p->pj[i]] + p->pt[i]]++;
	}
}

/* 3: ended jobs leave, finished ones complete. */
static void
settle_jobs(struct pass *p)
{
	size_t j, k;

	for (j = 0; j < p->in->njobs; j++) {
		const struct onyx_sched_job *job = &p->in->jobs[j];
		bool all = job->ntasks > 0;
		struct onyx_sched_action *a;

		if (onyx_sched_finished(p->st[j])) {
			if (p->jpeers[j] > 0)
				continue; /* its peers are still leaving */
			if (!job->cleaned && !is(p->st[j], "failed") &&
			    (a = add(p, ONYX_SCHED_CLEAN)) != NULL)
				a->job = j;
			if ((a = add(p, ONYX_SCHED_RETIRE)) != NULL)
				a->job = j;
			continue;
		}
		for (k = 0; k < job->ntasks; k++)
			all = all && job->tasks[k].done;
		if (all)
			set_status(p, j, "completed", NULL);
	}
}

/*
 * 4. A job's heap of the tasks that may take a peer, best first: fewest
 * peers, then earliest phase, then plan order.
 */
struct heap {
	size_t *v;
	size_t n;
	bool built;
};

static bool
better(struct pass *p, size_t j, size_t a, size_t b)
{
	const struct onyx_sched_task *t = p->in->jobs[j].tasks;
	size_t na = p->npeers[p->toff[j] + a], nb = p->npeers[p->toff[j] + b];

	if (na != nb)
		return na < nb;
	if (t[a].phase != t[b].phase)
		return t[a].phase < t[b].phase;
	return a < b;
}

static void
sift_down(struct pass *p, size_t j, struct heap *h, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i, tmp;

		if (l < h->n && better(p, j, h->v[l], h->v[m]))
			m = l;
		if (r < h->n && better(p, j, h->v[r], h->v[m]))
			m = r;
		if (m == i)
			return;
		tmp = h->v[i];
		h->v[i] = h->v[m];
		h->v[m] = tmp;
		i = m;
	}
}

static bool
open_task(struct pass *p, size_t j, size_t t)
{
	const struct onyx_sched_task *tk = &p->in->jobs[j].tasks[t];

	return !tk->done &&
	    (tk->cap <= 0 || p->npeers[p->toff[j] + t] < (size_t)tk->cap);
}

static int
heap_build(struct pass *p, size_t j, struct heap *h)
{
	size_t k, n = p->in->jobs[j].ntasks;

	h->built = true;
	if (n == 0)
		return 0;
	if ((h->v = reallocarray(NULL, n, sizeof(*h->v))) == NULL)
		return -1;
	for (k = 0; k < n; k++)
		if (open_task(p, j, k))
			h->v[h->n++] = k;
	for (k = h->n / 2; k-- > 0;)
		sift_down(p, j, h, k);
	return 0;
}

/* The first job at or after i (circularly) that is not full. */
static size_t
next_open(size_t *nxt, size_t i)
{
	size_t r = i, t;

	while (nxt[r] != r)
		r = nxt[r];
	while (nxt[i] != r) {
		t = nxt[i];
		nxt[i] = r;
		i = t;
	}
	return r;
}

static int
schedule(struct pass *p)
{
	const struct onyx_sched_in *in = p->in;
	size_t *active, *nxt, na = 0, open, i, j;
	struct heap *heaps;
	int rc = -1;

	p->out->rr = in->rr;
	active = reallocarray(NULL, in->njobs + 1, sizeof(*active));
	nxt = reallocarray(NULL, in->njobs + 1, sizeof(*nxt));
	heaps = calloc(in->njobs + 1, sizeof(*heaps));
	if (active == NULL || nxt == NULL || heaps == NULL)
		goto out;
	for (j = 0; j < in->njobs; j++)
		if (!onyx_sched_finished(p->st[j]))
			active[na++] = j;
	rc = 0;
	if (na == 0)
		goto out;
	qsort_r(active, na, sizeof(*active), cmp_submission, (void *)in);
	for (i = 0; i < na; i++)
		nxt[i] = i;
	open = na;
	for (i = 0; i < in->npeers && open > 0; i++) {
		struct onyx_sched_action *a;
		struct heap *h = NULL;
		size_t at, t;

		if (!in->peers[i].alive || p->held[i])
			continue;
		/* jobs round-robin: the next job, from where we stopped */
		at = next_open(nxt, p->out->rr % na);
		for (;;) {
			h = &heaps[at];
			if (!h->built && heap_build(p, active[at], h) != 0) {
				rc = -1;
				goto out;
			}
			if (h->n > 0)
				break;
			nxt[at] = (at + 1) % na; /* full: skip it from now */
			if (--open == 0)
				break;
			at = next_open(nxt, at);
		}
		if (open == 0)
			break;
		j = active[at];
		t = h->v[0];
		p->out->rr = (at + 1) % na;
		if ((a = add(p, ONYX_SCHED_OFFER)) == NULL) {
			rc = -1;
			goto out;
		}
		a->peer = i;
		a->job = j;
		a->task = t;
		p->held[i] = true;
		p->pj[i] = j;
		p->pt[i] = t;
		p->jpeers[j]++;
		p->npeers[p->toff[j] + t]++;
		if (!open_task(p, j, t))
			h->v[0] = h->v[--h->n];
		sift_down(p, j, h, 0);
		if (is(p->st[j], "submitted"))
			set_status(p, j, "running", NULL);
	}
out:
	for (j = 0; heaps != NULL && j < in->njobs; j++)
		free(heaps[j].v);
	free(heaps);
	free(nxt);
	free(active);
	return rc;
}

/* 5: the tasks/<task> records of the jobs still running. */
static int
records(struct pass *p)
{
	const struct onyx_sched_in *in = p->in;
	size_t *fill, i, j, k, off = 0;

	if (p->ntasks == 0)
		return 0;
	p->out->pool = reallocarray(NULL, in->npeers + 1, sizeof(size_t));
	fill = calloc(p->ntasks, sizeof(*fill));
	if (p->out->pool == NULL || fill == NULL) {
		free(fill);
		return -1;
	}
	/* each task's slice of the pool, then its peers in peer order */
	for (k = 0; k < p->ntasks; k++) {
		fill[k] = off;
		off += p->npeers[k];
	}
	for (i = 0; i < in->npeers; i++)
		if (p->held[i] && p->pt[i] != NONE)
			p->out->pool[fill[p->toff[p->pj[i]] + p->pt[i]]++] = i;
	for (j = 0; j < in->njobs; j++) {
		const struct onyx_sched_job *job = &in->jobs[j];

		if (onyx_sched_finished(p->st[j]))
			continue;
		for (k = 0; k < job->ntasks; k++) {
			size_t f = p->toff[j] + k;
			struct onyx_sched_action *a = add(p, ONYX_SCHED_TASK);

			if (a == NULL)
				break;
			a->job = j;
			a->task = k;
			a->npeers = p->npeers[f];
			a->peers = p->out->pool + fill[f] - p->npeers[f];
			a->status = job->tasks[k].done ? "complete"
			    : p->npeers[f] > 0         ? "running"
			                               : "waiting";
		}
	}
	free(fill);
	return 0;
}

int
onyx_sched_decide(const struct onyx_sched_in *in, struct onyx_sched_out *out,
    char *err, size_t errlen)
{
	struct pass p = {.in = in, .out = out};
	size_t nj = in->njobs, np = in->npeers, i, j;
	int rc = -1;

	out->rr = in->rr;
	p.byid = reallocarray(NULL, nj + 1, sizeof(size_t));
	p.toff = reallocarray(NULL, nj + 1, sizeof(size_t));
	p.jpeers = calloc(nj + 1, sizeof(size_t));
	p.st = reallocarray(NULL, nj + 1, sizeof(*p.st));
	p.held = calloc(np + 1, sizeof(bool));
	p.pj = reallocarray(NULL, np + 1, sizeof(size_t));
	p.pt = reallocarray(NULL, np + 1, sizeof(size_t));
	if (p.byid == NULL || p.toff == NULL || p.jpeers == NULL ||
	    p.st == NULL || p.held == NULL || p.pj == NULL || p.pt == NULL)
		goto out;
	for (j = 0; j < nj; j++) {
		p.byid[j] = j;
		p.toff[j] = p.ntasks;
		p.ntasks += in->jobs[j].ntasks;
		p.st[j] = in->jobs[j].status ? in->jobs[j].status : "";
	}
	p.byname = reallocarray(NULL, p.ntasks + 1, sizeof(size_t));
	p.npeers = calloc(p.ntasks + 1, sizeof(size_t));
	if (p.byname == NULL || p.npeers == NULL)
		goto out;
	qsort_r(p.byid, nj, sizeof(size_t), cmp_job_id, (void *)in);
	for (j = 0; j < nj; j++) {
		size_t *idx = p.byname + p.toff[j];

		for (i = 0; i < in->jobs[j].ntasks; i++)
			idx[i] = i;
		qsort_r(idx, in->jobs[j].ntasks, sizeof(size_t), cmp_task_name,
		    (void *)in->jobs[j].tasks);
	}
	for (i = 0; i < np; i++)
		p.held[i] = in->peers[i].assigned;
	settle_dead(&p);
	settle_offers(&p);
	count(&p);
	settle_jobs(&p);
	if (!p.oom && schedule(&p) == 0 && !p.oom && records(&p) == 0 && !p.oom)
		rc = 0;
out:
	if (rc != 0)
		snprintf(err, errlen, "out of memory deciding a pass");
	free(p.byid);
	free(p.toff);
	free(p.byname);
	free(p.npeers);
	free(p.jpeers);
	free(p.st);
	free(p.held);
	free(p.pj);
	free(p.pt);
	return rc;
}

void
onyx_sched_out_free(struct onyx_sched_out *out)
{
	size_t i;

	for (i = 0; i < out->nstrs; i++)
		free(out->strs[i]);
	free(out->strs);
	free(out->pool);
	free(out->v);
	memset(out, 0, sizeof(*out));
}
