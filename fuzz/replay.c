/* fuzz/replay.c: a main for a fuzz harness without libFuzzer: feeds it each file named, or each file of each folder named, once. */
#include <dirent.h>
#include <err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Feeds the file at path to the harness; returns 0, -1 when unreadable. */
static int
feed_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	size_t n = 0, cap = 0, r;

	if (f == NULL) {
		warn("%s", path);
		return -1;
	}
	for (;;) {
		if (n == cap) {
			uint8_t *nd = realloc(data, cap ? cap * 2 : 4096);
			if (nd == NULL)
				errx(70, "out of memory");
			data = nd;
			cap = cap ? cap * 2 : 4096;
		}
		if ((r = fread(data + n, 1, cap - n, f)) == 0)
			break;
		n += r;
	}
	if (ferror(f)) {
		warn("%s", path);
		fclose(f);
		free(data);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, n);
	free(data);
	return 0;
}

int
main(int argc, char *argv[])
{
	unsigned long fed = 0;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		struct stat sb;
		struct dirent *e;
		DIR *d;

		if (stat(argv[i], &sb) != 0)
			continue; /* a harness with no regressions yet */
		if (!S_ISDIR(sb.st_mode)) {
			rc |= feed_file(argv[i]) != 0;
			fed++;
			continue;
		}
		if ((d = opendir(argv[i])) == NULL) {
			warn("%s", argv[i]);
			rc = 1;
			continue;
		}
		while ((e = readdir(d)) != NULL) {
			char path[4096];
			if (e->d_name[0] == '.')
				continue;
			snprintf(
			    path, sizeof(path), "%s/%s", argv[i], e->d_name);
			rc |= feed_file(path) != 0;
			fed++;
		}
		closedir(d);
	}
	printf("%s: %lu inputs replayed\n", argv[0], fed);
	return rc ? 1 : 0;
}
