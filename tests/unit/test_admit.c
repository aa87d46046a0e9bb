/* tests/unit/test_admit.c: a peer's admission: the exec allow-list, how a program is matched, and the plan checked again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../lib/admit.h"
#include "../../lib/plan.h"
#include "../../lib/status.h"

/* A scratch folder: bin/prog (executable), bin/data (not), bin/link ->
 * prog, other/prog, binx/prog; removed at the end. */
static char dir[64];

static void
touch(const char *name, mode_t mode)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_non_null(f = fopen(p, "w"));
	fputs("#!/bin/sh\n", f);
	fclose(f);
	assert_int_equal(chmod(p, mode), 0);
}

static int
setup(void **state)
{
	char p[PATH_MAX], q[256];

	(void)state;
	strcpy(dir, "/tmp/test_admit.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	/* the scratch folder may itself sit behind a link (/tmp): use its
	 * real path, as the allow-list does */
	if (realpath(dir, p) == NULL || strlen(p) >= sizeof(dir))
		return -1;
	memcpy(dir, p, strlen(p) + 1);
	snprintf(p, sizeof(p), "%s/bin", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/other", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/binx", dir);
	mkdir(p, 0755);
	touch("bin/prog", 0755);
	touch("bin/data", 0644);
	touch("other/prog", 0755);
	touch("binx/prog", 0755);
	snprintf(p, sizeof(p), "%s/bin/link", dir);
	snprintf(q, sizeof(q), "%s/other/prog", dir);
	return symlink(q, p);
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* list: the allow-list of text, each "@" replaced by the scratch folder. */
static struct onyx_admit *
list(const char *text)
{
	struct onyx_admit *a;
	char buf[1024], err[256], *o = buf;
	const char *s;

	for (s = text; *s; s++)
		if (*s == '@')
			o += sprintf(o, "%s", dir);
		else
			*o++ = *s;
	*o = '\0';
	assert_int_equal(
	    onyx_admit_parse(buf, strlen(buf), "allow", &a, err, sizeof(err)),
	    ONYX_OK);
	return a;
}

static char *
at(const char *name)
{
	static char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static void
folder_and_program_entries(void **state)
{
	struct onyx_admit *a = list("# comment\n\n  @/bin/  \n@/other/prog\n");

	(void)state;
	assert_true(onyx_admit_match(a, at("bin/prog")));
	assert_true(onyx_admit_match(a, at("bin/sub/deeper")));
	assert_true(onyx_admit_match(a, at("other/prog")));
	/* a folder ends at its '/': bin/ does not allow binx/ */
	assert_false(onyx_admit_match(a, at("binx/prog")));
	assert_false(onyx_admit_match(a, at("bin")));
	assert_false(onyx_admit_match(a, at("other/prog2")));
	assert_false(onyx_admit_match(a, at("other/")));
	assert_false(onyx_admit_match(a, "prog"));
	onyx_admit_free(a);
	/* no list, or an empty one, allows nothing */
	assert_false(onyx_admit_match(NULL, at("bin/prog")));
	a = list("# nothing\n");
	assert_false(onyx_admit_match(a, at("bin/prog")));
	onyx_admit_free(a);
}

static void
entries_must_be_absolute(void **state)
{
	struct onyx_admit *a = (struct onyx_admit *)1;
	const char *t = "/usr/bin/\n\njq\n";
	char err[256];

	(void)state;
	assert_int_equal(
	    onyx_admit_parse(t, strlen(t), "allow.txt", &a, err, sizeof(err)),
	    ONYX_ECONFIG);
	assert_null(a);
	assert_string_equal(err,
	    "allow.txt:3: 'jq' is not an absolute path (an entry is a program such as /usr/bin/jq, or a folder ending in '/')");
	assert_int_equal(
	    onyx_admit_load("/nonexistent/allow", &a, err, sizeof(err)),
	    ONYX_ECONFIG);
	assert_string_equal(err,
	    "cannot read the exec allow-list /nonexistent/allow: No such file or directory");
}

static void
programs_by_real_path(void **state)
{
	struct onyx_admit *a = list("@/bin/\n");
	char exe[256], err[512], path[300];

	(void)state;
	/* absolute: allowed, and the real path is what runs */
	assert_int_equal(onyx_admit_program(a, at("bin/prog"), NULL, exe,
	                     sizeof(exe), err, sizeof(err)),
	    ONYX_OK);
	assert_string_equal(exe, at("bin/prog"));
	/* a link inside an allowed folder to a program outside it is not
	 * allowed: the link's target is matched */
	assert_int_equal(onyx_admit_program(a, at("bin/link"), NULL, exe,
	                     sizeof(exe), err, sizeof(err)),
	    ONYX_EUSAGE);
	assert_string_equal(exe, "");
	snprintf(path, sizeof(path),
	    "program '%s/bin/link' (%s/other/prog) is not in the exec allow-list of this peer",
	    dir, dir);
	assert_string_equal(err, path);
	/* ".." is resolved before matching */
	snprintf(path, sizeof(path), "%s/bin/../other/prog", dir);
	assert_int_equal(onyx_admit_program(
	                     a, path, NULL, exe, sizeof(exe), err, sizeof(err)),
	    ONYX_EUSAGE);
	/* a bare name: the first folder of PATH that has it */
	snprintf(path, sizeof(path), "::%s/binx:%s/bin", dir, dir);
	assert_int_equal(onyx_admit_program(a, "prog", path, exe, sizeof(exe),
	                     err, sizeof(err)),
	    ONYX_EUSAGE);
	snprintf(path, sizeof(path), "%s/bin:%s/binx", dir, dir);
	assert_int_equal(onyx_admit_program(a, "prog", path, exe, sizeof(exe),
	                     err, sizeof(err)),
	    ONYX_OK);
	assert_string_equal(exe, at("bin/prog"));
	/* a file that is not executable is not found on the PATH */
	assert_int_equal(onyx_admit_program(a, "data", path, exe, sizeof(exe),
	                     err, sizeof(err)),
	    ONYX_EUSAGE);
	assert_string_equal(
	    err, "program 'data' not found on the PATH of this peer");
	/* nor run by its path */
	assert_int_equal(onyx_admit_program(a, at("bin/data"), NULL, exe,
	                     sizeof(exe), err, sizeof(err)),
	    ONYX_EUSAGE);
	/* a relative path with '/' would depend on the peer's folder */
	assert_int_equal(onyx_admit_program(a, "./prog", path, exe, sizeof(exe),
	                     err, sizeof(err)),
	    ONYX_EUSAGE);
	assert_string_equal(err,
	    "program './prog' not allowed: a program is a name looked up on the PATH or an absolute path");
	onyx_admit_free(a);
	/* no list: nothing runs, and the message says how to allow */
	assert_int_equal(onyx_admit_program(NULL, "sh", NULL, exe, sizeof(exe),
	                     err, sizeof(err)),
	    ONYX_EUSAGE);
	assert_string_equal(err,
	    "program 'sh' not allowed: this peer allows no programs (onyx/exec); its operator lists the allowed ones in a file given as onyx-peer --exec-allow FILE or ONYX_EXEC_ALLOW");
}

static void
linked_entries_resolved(void **state)
{
	/* an entry that is a link allows its target (the real path) */
	struct onyx_admit *a = list("@/bin/link\n");

	(void)state;
	assert_true(onyx_admit_match(a, at("other/prog")));
	assert_false(onyx_admit_match(a, at("bin/link")));
	onyx_admit_free(a);
}

/* The plan of in -> f -> out, f running sh. */
static const char doc[] =
    "{\"id\":\"j1\",\"workflow\":[[\"in\",\"f\"],[\"f\",\"out\"]],"
    "\"catalog\":[{\"onyx/name\":\"in\",\"onyx/type\":\"input\","
    "\"onyx/medium\":\"artemis\",\"artemis/queue-name\":\"q-in\","
    "\"onyx/batch-size\":10},{\"onyx/name\":\"f\",\"onyx/type\":"
    "\"function\",\"onyx/exec\":[\"sh\"],\"onyx/batch-size\":10},"
    "{\"onyx/name\":\"out\",\"onyx/type\":\"output\",\"onyx/medium\":"
    "\"artemis\",\"artemis/queue-name\":\"q-out\",\"onyx/batch-size\":10}]}";

static json_t *
plan_of(void)
{
	struct onyx_plan_problems probs = {0};
	json_t *plan;

	assert_int_equal(
	    onyx_plan_build(doc, strlen(doc), &plan, &probs), ONYX_OK);
	onyx_plan_problems_free(&probs);
	return plan;
}

/* The task of plan named name. */
static json_t *
task(json_t *plan, const char *name)
{
	json_t *t;
	size_t i;

	json_array_foreach(json_object_get(plan, "tasks"), i, t)
	{
		if (strcmp(json_string_value(json_object_get(t, "name")),
		        name) == 0)
			return t;
	}
	fail_msg("no task %s", name);
	return NULL;
}

static void
plan_checked_again(void **state)
{
	json_t *plan = plan_of();
	char err[512];

	(void)state;
	assert_int_equal(
	    onyx_admit_plan(plan, "j1", err, sizeof(err)), ONYX_OK);
	/* another job's znode cannot hold this job's plan */
	assert_int_equal(
	    onyx_admit_plan(plan, "j2", err, sizeof(err)), ONYX_EDATA);
	assert_string_equal(
	    err, "the plan of job j2 is refused: its \"job\" is not j2");
	/* a batch size onyx-plan refuses */
	json_object_set_new(json_object_get(task(plan, "f"), "catalog"),
	    "onyx/batch-size", json_integer(-5));
	assert_int_equal(
	    onyx_admit_plan(plan, "j1", err, sizeof(err)), ONYX_EDATA);
	assert_string_equal(err,
	    "the plan of job j1 is refused: tasks[1].catalog.\"onyx/batch-size\": must be a positive integer, not -5");
	json_decref(plan);

	/* an ingress onyx-plan would not give: another job's queue */
	plan = plan_of();
	json_object_set_new(task(plan, "f"), "ingress",
	    json_pack("[s]", "onyx.edge.other.a.b"));
	assert_int_equal(
	    onyx_admit_plan(plan, "j1", err, sizeof(err)), ONYX_EDATA);
	assert_string_equal(err,
	    "the plan of job j1 is refused: tasks[1].ingress[0] is not what onyx-plan makes of its workflow and catalog");
	json_decref(plan);

	/* a key onyx-plan does not write */
	plan = plan_of();
	json_object_set_new(plan, "extra", json_true());
	assert_int_equal(
	    onyx_admit_plan(plan, "j1", err, sizeof(err)), ONYX_EDATA);
	assert_string_equal(err,
	    "the plan of job j1 is refused: extra is not what onyx-plan makes of its workflow and catalog");
	json_decref(plan);

	/* a library path, and the broker's own queue */
	plan = plan_of();
	json_object_set_new(json_object_get(task(plan, "in"), "catalog"),
	    "artemis/queue-name", json_string("DLQ"));
	assert_int_equal(
	    onyx_admit_plan(plan, "j1", err, sizeof(err)), ONYX_EDATA);
	assert_string_equal(err,
	    "the plan of job j1 is refused: tasks[0].catalog.\"artemis/queue-name\": 'DLQ' is a queue of the broker's own, not a job's");
	json_decref(plan);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
	    cmocka_unit_test(folder_and_program_entries),
	    cmocka_unit_test(entries_must_be_absolute),
	    cmocka_unit_test(programs_by_real_path),
	    cmocka_unit_test(linked_entries_resolved),
	    cmocka_unit_test(plan_checked_again),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
