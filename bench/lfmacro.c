// SPDX-License-Identifier: GPL-2.0
/*
 * lfmacro - a real allocator's view of lazyfree, for `make bench`.
 *
 *   lfmacro [-c CGROUP] ROUNDS
 *
 * A fixed amount of work on Debian's jemalloc (linked statically): each
 * round allocates 64 blocks of 16 to 256 KiB (the same sizes every run),
 * writes every page of each, frees them all and has jemalloc's decay
 * return all of the round's pages to the kernel: it sets the arena's
 * dirty_decay_ms to 0, which purges at once, and back to -1, which
 * purges never, so that jemalloc purges only there and not when its
 * clock says so: the same work purges the same way on every run, with
 * or without the module.  It purges lazily, with MADV_FREE, as the
 * demo's lfheap-je does (muzzy_decay_ms:-1); with
 * MALLOC_CONF=muzzy_decay_ms:0 in the environment, at the same points
 * with MADV_DONTNEED (jemalloc's own eager purge).
 *
 * After one round to warm up, prints the CPU time of the process over
 * ROUNDS rounds (CLOCK_PROCESS_CPUTIME_ID: user and kernel, page faults
 * and madvise calls included, idle time not; under QEMU -icount shift=0
 * a nanosecond is one guest instruction), then the purges jemalloc made
 * in them, from its statistics (madvise calls and pages):
 *   <ns> <purge calls> <pages purged>
 *
 * -c CGROUP: move this process into CGROUP (a cgroup directory) first.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jemalloc/jemalloc.h>

#define BLOCKS	64
#define PAGE	4096

const char *malloc_conf = "dirty_decay_ms:-1,muzzy_decay_ms:-1";

#define STR(x)		#x
#define XSTR(x)		STR(x)
#define ARENAS_ALL	"stats.arenas." XSTR(MALLCTL_ARENAS_ALL)

static char dirty_decay_ms[64];	/* "arena.<the thread's>.dirty_decay_ms" */

/* jemalloc's count @name (dirty or muzzy purges) over every arena */
static uint64_t purges(const char *name)
{
	uint64_t epoch = 1, dirty = 0, muzzy = 0;
	size_t len = sizeof(epoch);
	char key[64];

	mallctl("epoch", &epoch, &len, &epoch, len);
	snprintf(key, sizeof(key), ARENAS_ALL ".dirty_%s", name);
	len = sizeof(dirty);
	mallctl(key, &dirty, &len, NULL, 0);
	snprintf(key, sizeof(key), ARENAS_ALL ".muzzy_%s", name);
	len = sizeof(muzzy);
	mallctl(key, &muzzy, &len, NULL, 0);
	return dirty + muzzy;
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int enter_cgroup(const char *dir)
{
	char path[4096], pid[32];
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	snprintf(pid, sizeof(pid), "%d\n", getpid());
	f = fopen(path, "w");
	if (!f)
		return -1;
	err = fputs(pid, f) < 0;
	return fclose(f) || err ? -1 : 0;
}

static int set_decay(ssize_t ms)
{
	return mallctl(dirty_decay_ms, NULL, NULL, &ms, sizeof(ms));
}

static int round_once(void)
{
	char *block[BLOCKS];
	int i;

	for (i = 0; i < BLOCKS; i++) {
		/* 16, 32, ..., 256 KiB, in a fixed order */
		size_t size = (size_t)(1 + (i * 7) % 16) * 16 * 1024;

		block[i] = malloc(size);
		if (!block[i])
			return -1;
		for (size_t off = 0; off < size; off += PAGE)
			block[i][off] = (char)(i + 1);
	}
	for (i = 0; i < BLOCKS; i++)
		free(block[i]);
	return set_decay(0) || set_decay(-1) ? -1 : 0;
}

int main(int argc, char **argv)
{
	uint64_t t0, t1, calls, pages;
	unsigned int arena;
	long rounds, r;
	size_t len;

	if (argc == 4 && !strcmp(argv[1], "-c")) {
		if (enter_cgroup(argv[2])) {
			perror(argv[2]);
			return 1;
		}
		argc -= 2;
		argv += 2;
	}
	rounds = argc == 2 ? strtol(argv[1], NULL, 10) : 0;
	if (rounds < 1) {
		fprintf(stderr, "usage: lfmacro [-c CGROUP] ROUNDS\n");
		return 2;
	}
	len = sizeof(arena);
	if (mallctl("thread.arena", &arena, &len, NULL, 0)) {
		fprintf(stderr, "lfmacro: no thread.arena in this jemalloc\n");
		return 1;
	}
	snprintf(dirty_decay_ms, sizeof(dirty_decay_ms),
		 "arena.%u.dirty_decay_ms", arena);
	if (round_once())
		return 1;
	calls = purges("nmadvise");
	pages = purges("purged");
	t0 = cpu_ns();
	for (r = 0; r < rounds; r++)
		if (round_once())
			return 1;
	t1 = cpu_ns();
	printf("%llu %llu %llu\n", (unsigned long long)(t1 - t0),
	       (unsigned long long)(purges("nmadvise") - calls),
	       (unsigned long long)(purges("purged") - pages));
	return 0;
}
