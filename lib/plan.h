/* lib/plan.h: the job document (workflow + catalog): validation and the plan built from it. */
#ifndef ONYX_PLAN_H
#define ONYX_PLAN_H

#include <stddef.h>

#include <jansson.h>

/* One thing wrong with a job document. */
struct onyx_plan_problem {
	char *
	    path; /* JSON path of the value at fault, "" for the whole document */
	int line, column; /* where the text stops being JSON, else 0 */
	char *msg;        /* what is wrong, without the path */
};

/* The problems found in one document, in the order they were found. */
struct onyx_plan_problems {
	struct onyx_plan_problem *v;
	size_t n, cap;
};

/*
 * onyx_plan_build: parse text[0..len) as a job document, check all of it and
 * build its plan (see onyx-plan(1) for both formats).
 * probs must be zeroed, or emptied by onyx_plan_problems_free, by the caller.
 * Returns ONYX_OK and a new reference in *plan, with no problems; ONYX_EDATA
 * when the document is wrong: *plan is NULL and probs holds every problem
 * found (at least one); ONYX_ERR when out of memory (*plan is NULL, probs may
 * hold some problems). Either way the caller frees probs with
 * onyx_plan_problems_free.
 */
int onyx_plan_build(const char *text, size_t len, json_t **plan,
    struct onyx_plan_problems *probs);

/* onyx_plan_problems_free: release every problem; probs becomes empty. */
void onyx_plan_problems_free(struct onyx_plan_problems *probs);

/*
 * onyx_plan_problem_str: write one problem as a diagnostic line for the
 * input named source ("job.json", "stdin") to buf: "SOURCE: PATH: MSG",
 * "SOURCE:LINE:COLUMN: MSG" for text that is not JSON, "SOURCE: MSG" for the
 * document as a whole. Truncates to len. Returns buf.
 */
char *onyx_plan_problem_str(const struct onyx_plan_problem *p,
    const char *source, char *buf, size_t len);

/*
 * onyx_plan_name_valid: whether s may serve as a task name or a job id:
 * 1 to 64 characters out of A-Z a-z 0-9 . _ -. Returns 1 or 0.
 */
int onyx_plan_name_valid(const char *s);

#endif
