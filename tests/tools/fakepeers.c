/* tests/tools/fakepeers.c: register many virtual peers in one ZooKeeper session and acknowledge their offers, for scale tests. */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sysexits.h>
#include <unistd.h>

#include <bsd/err.h>
#include <bsd/stdlib.h>
#include <jansson.h>
#include <zookeeper/zookeeper.h>

#include "../../lib/cluster.h"
#include "../../lib/status.h"
#include "../../lib/zk.h"
#include "../../lib/zkauth.h"

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr,
	    "usage: fakepeers [-w job -t ntasks] count prefix\n"
	    "  registers peers/<prefix><n> (n = 00000 ...) in $ONYX_CLUSTER "
	    "at\n"
	    "  $ONYX_ZK, prints \"registered <count>\", then acks every offer\n"
	    "  made to them until SIGTERM; with -w, prints \"covered <ms>\"\n"
	    "  (wall clock) once offers of job cover ntasks distinct tasks\n");
	exit(EX_USAGE);
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
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
	const char *prefix, *wjob = NULL;
	char err[1024], p[1024], **names, **acked = NULL, **seen = NULL;
	struct onyx_zk *z;
	long count, i, ntasks = 0, nacked = 0, acks = 0, nseen = 0;
	bool covered = false, *mark;
	int st, n, ch;

	setprogname("fakepeers");
	while ((ch = getopt(argc, argv, "t:w:")) != -1) {
		switch (ch) {
		case 't': ntasks = strtol(optarg, NULL, 10); break;
		case 'w': wjob = optarg; break;
		default: usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2 || (count = strtol(argv[0], NULL, 10)) < 1)
		usage();
	prefix = argv[1];
	if (zk == NULL || cluster == NULL)
		errx(EX_CONFIG, "ONYX_ZK and ONYX_CLUSTER must be set");
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	/* the identity of the sandbox (ONYX_ZK_SECRET_FILE), as the programs */
	if (onyx_zkauth_setup(getenv("ONYX_ZK_SECRET_FILE"),
	        getenv("ONYX_ZK_READER"), err, sizeof(err)) != ONYX_OK)
		errx(EX_CONFIG, "%s", err);
	if ((st = onyx_zk_connect(zk, 10000, 10000, &z, err, sizeof(err))) !=
	        ONYX_OK ||
	    (st = onyx_cluster_init(z, cluster, err, sizeof(err))) != ONYX_OK)
		errx(onyx_status_exit(st), "%s", err);
	for (i = 0; i < count; i++) {
		char id[256], rec[512];

		snprintf(id, sizeof(id), "%s%05ld", prefix, i);
		snprintf(rec, sizeof(rec),
		    "{\"id\":\"%s\",\"host\":\"fake\",\"pid\":%ld,\"at\":%lld}",
		    id, (long)getpid(), now_ms());
		onyx_cluster_path(p, sizeof(p), cluster, "peers/%s", id);
		if ((st = onyx_zk_create(z, p, rec, (int)strlen(rec),
		         ZOO_EPHEMERAL, NULL, 0, err, sizeof(err))) != ONYX_OK)
			errx(onyx_status_exit(st), "%s", err);
	}
	printf("registered %ld\n", count);
	fflush(stdout);
	acked = calloc(count + 1, sizeof(*acked));
	seen = calloc(ntasks + 1, sizeof(*seen));
	while (!stop) {
		onyx_cluster_path(p, sizeof(p), cluster, "assign");
		if ((st = onyx_zk_children(
		         z, p, &names, &n, err, sizeof(err))) != ONYX_OK)
			errx(onyx_status_exit(st), "%s", err);
		/* forget the acked offers that were revoked; mark the others */
		mark = calloc(n + 1, sizeof(*mark));
		for (i = 0; i < nacked; i++) {
			char **hit = bsearch(
			    &acked[i], names, n, sizeof(*names), cmp_name);

			if (hit == NULL) {
				free(acked[i]);
				acked[i--] = acked[--nacked];
			} else
				mark[hit - names] = true;
		}
		for (int k = 0; k < n; k++) {
			json_t *rec;
			int version;
			const char *s;
			if (mark[k] ||
			    strncmp(names[k], prefix, strlen(prefix)) != 0)
				continue;
			onyx_cluster_path(
			    p, sizeof(p), cluster, "assign/%s", names[k]);
			if (onyx_cluster_get(z, p, false, &rec, &version, err,
			        sizeof(err)) != ONYX_OK)
				continue;
			s = json_string_value(json_object_get(rec, "state"));
			if (s != NULL && strcmp(s, "offered") == 0) {
				const char *job = json_string_value(
				    json_object_get(rec, "job"));
				const char *task = json_string_value(
				    json_object_get(rec, "task"));

				json_object_set_new(
				    rec, "state", json_string("acked"));
				json_object_set_new(
				    rec, "at", json_integer(now_ms()));
				if (onyx_cluster_set(z, p, rec, version, err,
				        sizeof(err)) == ONYX_OK) {
					acked[nacked++] = strdup(names[k]);
					acks++;
				}
				if (wjob != NULL && job != NULL &&
				    task != NULL && strcmp(job, wjob) == 0 &&
				    !covered) {
					bool dup = false;

					for (i = 0; i < nseen && !dup; i++)
						dup =
						    strcmp(seen[i], task) == 0;
					if (!dup && nseen < ntasks)
						seen[nseen++] = strdup(task);
					if (nseen == ntasks) {
						covered = true;
						printf(
						    "covered %lld\n", now_ms());
						fflush(stdout);
					}
				}
			}
			json_decref(rec);
		}
		free(mark);
		onyx_zk_free_names(names);
		poll(NULL, 0, 50);
	}
	fprintf(stderr, "fakepeers: %ld offers acked\n", acks);
	onyx_zk_close(z);
	return 0;
}
