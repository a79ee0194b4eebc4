// SPDX-License-Identifier: GPL-2.0
/*
 * lfheap-je: grow a jemalloc heap, free it, let jemalloc purge it lazily
 * with MADV_FREE, then idle.
 *
 * jemalloc purges freed extents in two steps: dirty -> muzzy with
 * MADV_FREE after dirty_decay_ms, muzzy -> clean with MADV_DONTNEED after
 * muzzy_decay_ms.  A 1 ms dirty decay and no muzzy decay (-1) make every
 * purge a MADV_FREE; forcing the decay on all arenas a few times after a
 * short pause makes it happen now rather than on some later allocation.
 * (dirty_decay_ms:0 would skip MADV_FREE and purge with MADV_DONTNEED.)
 * MALLOC_CONF in the environment overrides this, e.g.
 * MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0 for jemalloc's own
 * MADV_DONTNEED.
 *
 * Usage: lfheap-je [MiB [idle seconds]]   (default 192 MiB, 5 s)
 * Prints "grown MiB" and "dropped" on stdout as it reaches each step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jemalloc/jemalloc.h>

#define CHUNK		(1 << 20)
#define DECAY_ROUNDS	5

const char *malloc_conf = "dirty_decay_ms:1,muzzy_decay_ms:-1";

#define STR(x)		#x
#define XSTR(x)		STR(x)
#define DECAY_ALL	"arena." XSTR(MALLCTL_ARENAS_ALL) ".decay"

int main(int argc, char **argv)
{
	int mib = argc > 1 ? atoi(argv[1]) : 192;
	int idle = argc > 2 ? atoi(argv[2]) : 5;
	char **chunk;
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	chunk = calloc(mib, sizeof(*chunk));
	if (!chunk)
		return 1;
	for (i = 0; i < mib; i++) {
		chunk[i] = malloc(CHUNK);
		if (!chunk[i])
			return 1;
		memset(chunk[i], 1, CHUNK);
	}
	printf("grown %d\n", mib);

	for (i = 0; i < mib; i++)
		free(chunk[i]);
	free(chunk);
	for (i = 0; i < DECAY_ROUNDS; i++) {
		usleep(10000);
		if (mallctl(DECAY_ALL, NULL, NULL, NULL, 0)) {
			perror("mallctl " DECAY_ALL);
			return 1;
		}
	}
	printf("dropped\n");

	sleep(idle);
	return 0;
}
