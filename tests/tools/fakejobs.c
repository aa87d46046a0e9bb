/* tests/tools/fakejobs.c: create many jobs' znodes directly (ended and retired, or live), as the programs leave them, for scale benchmarks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sysexits.h>
#include <unistd.h>

#include <bsd/err.h>
#include <bsd/stdlib.h>
#include <jansson.h>

#include "../../lib/cluster.h"
#include "../../lib/status.h"
#include "../../lib/zk.h"
#include "../../lib/zkauth.h"

#define MAXOPS 64

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr,
	    "usage: fakejobs [-l] count prefix plan\n"
	    "  plan: onyx-plan's output for the job id JOBX; each job\n"
	    "  <prefix><n> gets it with JOBX replaced. Default: ended jobs as\n"
	    "  the coordinator leaves them once retired (completed, cleaned,\n"
	    "  tasks/ and stats/ records, a history/ entry); -l: live jobs as\n"
	    "  onyx-submit leaves them (submitted, in live/). In $ONYX_CLUSTER "
	    "at\n"
	    "  $ONYX_ZK.\n");
	exit(EX_USAGE);
}

/* text with every JOBX replaced by id (malloc'd). */
static char *
subst(const char *text, const char *id)
{
	size_t n = strlen(text), il = strlen(id), cap = n * (il + 4) / 4 + 64;
	char *out = malloc(cap), *o = out;
	const char *s = text, *hit;

	if (out == NULL)
		return NULL;
	while ((hit = strstr(s, "JOBX")) != NULL) {
		memcpy(o, s, hit - s);
		o += hit - s;
		memcpy(o, id, il);
		o += il;
		s = hit + 4;
	}
	strcpy(o, s);
	return out;
}

static long long
now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

int
main(int argc, char *argv[])
{
	const char *zk = getenv("ONYX_ZK"), *cluster = getenv("ONYX_CLUSTER");
	char err[1024], p[1024], **hist;
	struct onyx_zk *z;
	json_t *plan, *tasks, *t;
	json_error_t je;
	char *text;
	bool live = false;
	long count, i;
	int st, ch, nh;

	setprogname("fakejobs");
	while ((ch = getopt(argc, argv, "l")) != -1) {
		if (ch != 'l')
			usage();
		live = true;
	}
	argc -= optind;
	argv += optind;
	if (argc != 3 || (count = strtol(argv[0], NULL, 10)) < 1)
		usage();
	if (zk == NULL || cluster == NULL)
		errx(EX_CONFIG, "ONYX_ZK and ONYX_CLUSTER must be set");
	if ((plan = json_load_file(argv[2], 0, &je)) == NULL)
		errx(EX_DATAERR, "%s: %s", argv[2], je.text);
	text = json_dumps(plan, JSON_COMPACT | JSON_PRESERVE_ORDER);
	tasks = json_object_get(plan, "tasks");
	if (text == NULL || json_array_size(tasks) * 2 + 8 > MAXOPS)
		errx(EX_DATAERR, "%s: too many tasks for one multi", argv[2]);
	/* the identity of the sandbox (ONYX_ZK_SECRET_FILE), as the programs */
	if (onyx_zkauth_setup(getenv("ONYX_ZK_SECRET_FILE"),
	        getenv("ONYX_ZK_READER"), err, sizeof(err)) != ONYX_OK)
		errx(EX_CONFIG, "%s", err);
	if ((st = onyx_zk_connect(zk, 10000, 10000, &z, err, sizeof(err))) !=
	        ONYX_OK ||
	    (st = onyx_cluster_init(z, cluster, err, sizeof(err))) != ONYX_OK)
		errx(onyx_status_exit(st), "%s", err);
	/* the cluster is indexed (made by this version): no scan of jobs/ */
	onyx_cluster_path(p, sizeof(p), cluster, "coord/live-index");
	onyx_zk_create(z, p, NULL, 0, 0, NULL, 0, err, sizeof(err));
	onyx_cluster_path(p, sizeof(p), cluster, "history");
	if ((st = onyx_zk_children(z, p, &hist, &nh, err, sizeof(err))) !=
	    ONYX_OK)
		errx(onyx_status_exit(st), "%s", err);
	onyx_zk_free_names(hist);
	for (i = 0; i < count; i++) {
		static char paths[MAXOPS][512], datas[MAXOPS][512];
		const char *pp[MAXOPS], *dd[MAXOPS];
		char id[256], *ptext;
		long long at = now_ms();
		size_t k;
		int n = 0;

#define OP(data, ...)                                                          \
	do {                                                                   \
		onyx_cluster_path(                                             \
		    paths[n], sizeof(paths[n]), cluster, __VA_ARGS__);         \
		pp[n] = paths[n];                                              \
		dd[n] = (data);                                                \
		n++;                                                           \
	} while (0)
		snprintf(id, sizeof(id), "%s%06ld", argv[1], i);
		if ((ptext = subst(text, id)) == NULL)
			errx(EX_OSERR, "out of memory");
		OP(ptext, "jobs/%s", id);
		if (live)
			snprintf(datas[n], sizeof(datas[n]),
			    "{\"status\":\"submitted\",\"at\":%lld}", at);
		else
			snprintf(datas[n], sizeof(datas[n]),
			    "{\"status\":\"completed\",\"at\":%lld,"
			    "\"changed\":%lld,\"cleaned\":%lld}",
			    at, at + 900, at + 1000);
		OP(datas[n], "jobs/%s/status", id);
		OP(NULL, "jobs/%s/tasks", id);
		OP(NULL, "jobs/%s/stats", id);
		if (live) {
			OP(NULL, "jobs/%s/done", id);
			OP(NULL, "live/%s", id);
		}
		json_array_foreach(tasks, k, t)
		{
			const char *name =
			    json_string_value(json_object_get(t, "name"));

			if (live)
				continue;
			snprintf(datas[n], sizeof(datas[n]),
			    "{\"status\":\"complete\",\"peers\":[]}");
			OP(datas[n], "jobs/%s/tasks/%s", id, name);
			snprintf(datas[n], sizeof(datas[n]),
			    "{\"task\":\"%s\",\"read\":2,\"written\":2,"
			    "\"dead\":0}",
			    name);
			OP(datas[n], "jobs/%s/stats/%s.fake-0", id, name);
		}
		/* the sequence number the coordinator's create would get */
		if (!live)
			OP(id, "history/h-%010ld", (long)nh + i);
		st = onyx_zk_multi_create(z, n, pp, dd, err, sizeof(err));
		free(ptext);
		if (st != ONYX_OK)
			errx(onyx_status_exit(st), "%s", err);
#undef OP
	}
	onyx_zk_close(z);
	free(text);
	json_decref(plan);
	printf("%ld %s jobs\n", count, live ? "live" : "ended");
	return 0;
}
