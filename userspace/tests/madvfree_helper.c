// SPDX-License-Identifier: GPL-2.0
/*
 * madvfree_helper - map, touch and MADV_FREE some anonymous memory, then
 * hold it, for lazyfreectl's in-VM test.
 *
 *	madvfree_helper MIB [READY_FILE]
 *
 * Maps MIB MiB of private anonymous memory, writes every page, calls
 * madvise(MADV_FREE) on all of it, writes "ready <madvise return> <errno>"
 * to READY_FILE (or stdout) and sleeps until killed, so that the memory
 * stays charged to the cgroup it runs in.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	size_t len, i;
	FILE *out = stdout;
	char *p;
	int ret, err;

	if (argc < 2 || atoi(argv[1]) <= 0) {
		fprintf(stderr, "usage: %s MIB [READY_FILE]\n", argv[0]);
		return 2;
	}
	len = (size_t)atoi(argv[1]) << 20;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (i = 0; i < len; i += 4096)
		p[i] = 1;
	ret = madvise(p, len, MADV_FREE);
	err = ret ? errno : 0;
	if (argc > 2) {
		out = fopen(argv[2], "w");
		if (!out) {
			perror(argv[2]);
			return 1;
		}
	}
	fprintf(out, "ready %d %d\n", ret, err);
	fflush(out);
	if (out != stdout)
		fclose(out);
	for (;;)
		pause();
}
