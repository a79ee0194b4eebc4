// SPDX-License-Identifier: GPL-2.0
/*
 * lfbench - cost of one madvise() call, for `make bench`.
 *
 *   lfbench [-c CGROUP] ADVICE SIZE ITERATIONS
 *	Touch SIZE bytes of private anonymous memory, then time one
 *	madvise(ADVICE) over it; repeat.  Prints the median cost of the call
 *	in clock ticks (lf_clock()), less the cost of reading the clock
 *	twice.  Under QEMU -icount shift=0 a tick is one guest instruction,
 *	so the figure is an instruction count and repeats exactly from run
 *	to run.
 *   lfbench [-c CGROUP] -r ADVICE SIZE ITERATIONS
 *	The cost of reusing the memory after the call: the median ticks of
 *	writing one byte to each page of SIZE after madvise(ADVICE) over it,
 *	less the clock's.  After MADV_FREE the pages are still mapped (no
 *	fault); after MADV_DONTNEED, or MADV_FREE under lazyfree's dontneed,
 *	every page faults in a new zeroed page.
 *   lfbench [-c CGROUP] -u ADVICE SIZE ITERATIONS
 *	The same on memory registered with userfaultfd (missing-page mode,
 *	after the first touch, so that nothing faults to it): lazyfree
 *	leaves such a VMA to the kernel, so loaded and absent differ by
 *	what getting into and out of its hook costs.  Prints "-" where
 *	userfaultfd is not available.
 *   lfbench -m DIR COUNT
 *	Create COUNT cgroups DIR/c<N> and track each with lazyfree
 *	(cgroups/add); prints how many it added.
 *   lfbench -n DIR DEPTH
 *	Create DIR/l1/l2/.../l<DEPTH>; prints the deepest path.
 *   lfbench [-c CGROUP] -t spin|sleep ADVICE SIZE ITERATIONS
 *	The TLB shootdowns the calls cause (x86: the "TLB" row of
 *	/proc/interrupts, every CPU): this thread on CPU 0 touches and
 *	advises SIZE bytes ITERATIONS times while a second thread of the
 *	process, on CPU 1, either runs (spin) or has run and sleeps (sleep:
 *	CPU 1 idles with the address space still loaded, lazily).  Prints
 *	the shootdown interrupts per 1000 calls.
 *
 * ADVICE: free, dontneed, willneed.  SIZE: bytes, with k or m suffix.
 * -c CGROUP: move this process into CGROUP (a cgroup directory) first.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * The guest's clock in ticks of one guest instruction under QEMU -icount
 * shift=0: the TSC on x86-64; on arm64 the virtual counter, which ticks
 * at CNTFRQ (62.5 MHz on QEMU's virt board, so 16 instructions a tick),
 * scaled to nanoseconds, that is to instructions.
 */
#if defined(__x86_64__)
#include <x86intrin.h>

static inline uint64_t lf_clock(void)
{
	return __rdtsc();
}
#elif defined(__aarch64__)
static inline uint64_t lf_clock(void)
{
	uint64_t v, f;

	asm volatile("isb; mrs %0, cntvct_el0" : "=r"(v) : : "memory");
	asm volatile("mrs %0, cntfrq_el0" : "=r"(f));
	return v * (1000000000 / f);
}
#else
#error "lfbench: no instruction clock for this architecture"
#endif

#define WARMUP		16
#define ADD_PATH	"/sys/kernel/lazyfree/cgroups/add"

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "lfbench: %s %s: %s\n", what, arg ? arg : "",
		strerror(errno));
	exit(1);
}

static void write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, val, strlen(val)) < 0)
		die("write", path);
	close(fd);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

static size_t parse_size(const char *s)
{
	char *end;
	size_t n = strtoul(s, &end, 10);

	if (*end == 'k')
		n <<= 10;
	else if (*end == 'm')
		n <<= 20;
	else if (*end)
		n = 0;
	return n;
}

static int parse_advice(const char *s)
{
	if (!strcmp(s, "free"))
		return MADV_FREE;
	if (!strcmp(s, "dontneed"))
		return MADV_DONTNEED;
	if (!strcmp(s, "willneed"))
		return MADV_WILLNEED;
	return -1;
}

/* Write one byte to each page of [p, p + size). */
static void touch(char *p, size_t size, long page)
{
	for (size_t off = 0; off < size; off += page)
		p[off] = 1;
}

/*
 * Register [p, p + size) with a new userfaultfd in missing-page mode; its
 * pages are present already, and madvise() leaves them so or lazyfree
 * would not be passing by.  False where the kernel has no userfaultfd.
 */
static bool uffd_arm(char *p, size_t size)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.range = { .start = (unsigned long)p, .len = size },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	int fd = syscall(__NR_userfaultfd, O_CLOEXEC);

	if (fd < 0)
		return false;
	if (ioctl(fd, UFFDIO_API, &api) || ioctl(fd, UFFDIO_REGISTER, &reg))
		die("userfaultfd", "register");
	return true;	/* the fd stays open for the process's life */
}

/*
 * @reuse: time the touch that follows the previous call, not the call;
 * @uffd: on memory armed with userfaultfd
 */
static int bench(int advice, size_t size, int iters, bool reuse, bool uffd)
{
	uint64_t *cost = calloc(iters, sizeof(*cost));
	uint64_t *empty = calloc(iters, sizeof(*empty));
	long page = sysconf(_SC_PAGESIZE);
	char *p;
	int i;

	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || !cost || !empty)
		die("mmap", NULL);
	/* base pages: the cost per page, not THP's luck */
	madvise(p, size, MADV_NOHUGEPAGE);
	if (uffd) {
		touch(p, size, page);
		if (!uffd_arm(p, size)) {
			printf("-\n");
			return 0;
		}
	}

	for (i = -WARMUP; i < iters; i++) {
		uint64_t t0, t1, t2, t3;

		t0 = lf_clock();
		touch(p, size, page);
		t1 = lf_clock();
		t2 = lf_clock();
		if (madvise(p, size, advice))
			die("madvise", NULL);
		t3 = lf_clock();
		if (i >= 0) {
			empty[i] = t2 - t1;
			cost[i] = reuse ? t1 - t0 : t3 - t2;
		}
	}
	printf("%llu\n", (unsigned long long)(median(cost, iters) -
					      median(empty, iters)));
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: lfbench [-c CGROUP] free|dontneed|willneed SIZE ITERATIONS\n"
		"       lfbench -m DIR COUNT\n"
		"       lfbench -n DIR DEPTH\n"
		"       lfbench [-c CGROUP] -t spin|sleep free|dontneed|willneed SIZE ITERATIONS\n"
		"       lfbench [-c CGROUP] -r free|dontneed|willneed SIZE ITERATIONS\n"
		"       lfbench [-c CGROUP] -u free|dontneed|willneed SIZE ITERATIONS\n");
	exit(2);
}

/* The "TLB" row of /proc/interrupts summed over every CPU, or -1. */
static long long tlb_interrupts(void)
{
	char line[4096], *p, *end;
	long long sum = -1;
	FILE *f = fopen("/proc/interrupts", "r");

	if (!f)
		die("open", "/proc/interrupts");
	while (fgets(line, sizeof(line), f)) {
		p = line + strspn(line, " ");
		if (strncmp(p, "TLB:", 4))
			continue;
		sum = 0;
		for (p += 4;; p = end) {
			long long v = strtoll(p, &end, 10);

			if (end == p)
				break;
			sum += v;
		}
	}
	fclose(f);
	return sum;
}

static void pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	errno = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (errno)
		die("pin to CPU", cpu ? "1" : "0");
}

static int tlb_stop;	/* set once, read with __atomic_load_n() */
static int tlb_spin;
static int tlb_ready[2];	/* pipe: the other thread has run on CPU 1 */
static int tlb_quit[2];		/* pipe: the sleeping thread may return */

static void *tlb_other(void *arg)
{
	char c = 1;

	(void)arg;
	pin_to(1);
	if (write(tlb_ready[1], &c, 1) != 1)
		die("write", "pipe");
	if (tlb_spin)
		while (!__atomic_load_n(&tlb_stop, __ATOMIC_RELAXED))
			;
	else if (read(tlb_quit[0], &c, 1) != 1)
		die("read", "pipe");
	return NULL;
}

static int bench_tlb(const char *other, int advice, size_t size, int iters)
{
	long page = sysconf(_SC_PAGESIZE);
	long long before, after;
	pthread_t thread;
	char c, *p;
	int i;

	tlb_spin = !strcmp(other, "spin");
	if (!tlb_spin && strcmp(other, "sleep"))
		usage();
	if (tlb_interrupts() < 0) {
		printf("-\n");	/* no IPI shootdowns here (arm64 broadcasts) */
		return 0;
	}
	pin_to(0);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap", NULL);
	if (pipe(tlb_ready) || pipe(tlb_quit))
		die("pipe", NULL);
	madvise(p, size, MADV_NOHUGEPAGE);
	errno = pthread_create(&thread, NULL, tlb_other, NULL);
	if (errno || read(tlb_ready[0], &c, 1) != 1)
		die("thread", NULL);
	usleep(10000);	/* let CPU 1 go idle when the thread sleeps */
	before = tlb_interrupts();
	for (i = 0; i < iters; i++) {
		touch(p, size, page);
		if (madvise(p, size, advice))
			die("madvise", NULL);
	}
	after = tlb_interrupts();
	__atomic_store_n(&tlb_stop, 1, __ATOMIC_RELAXED);
	if (write(tlb_quit[1], &c, 1) != 1)
		die("write", "pipe");
	pthread_join(thread, NULL);
	printf("%lld\n", (after - before) * 1000 / iters);
	return 0;
}

static int make_cgroups(const char *dir, int count)
{
	char path[PATH_MAX], id[32];
	struct stat st;
	int i, added = 0;

	for (i = 0; i < count; i++) {
		snprintf(path, sizeof(path), "%s/c%d", dir, i);
		if (mkdir(path, 0755) && errno != EEXIST)
			die("mkdir", path);
		if (stat(path, &st))
			die("stat", path);
		snprintf(id, sizeof(id), "%llu", (unsigned long long)st.st_ino);
		write_str(ADD_PATH, id);
		added++;
	}
	printf("%d\n", added);
	return 0;
}

static int make_nest(const char *dir, int depth)
{
	char path[PATH_MAX];
	size_t len;
	int i;

	len = snprintf(path, sizeof(path), "%s", dir);
	for (i = 1; i <= depth; i++) {
		len += snprintf(path + len, sizeof(path) - len, "/l%d", i);
		if (mkdir(path, 0755) && errno != EEXIST)
			die("mkdir", path);
	}
	printf("%s\n", path);
	return 0;
}

int main(int argc, char **argv)
{
	char procs[PATH_MAX];
	const char *tlb = NULL;
	bool reuse = false, uffd = false;
	size_t size;
	int advice, iters;

	if (argc == 4 && !strcmp(argv[1], "-m"))
		return make_cgroups(argv[2], atoi(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "-n"))
		return make_nest(argv[2], atoi(argv[3]));
	if (argc >= 6 && !strcmp(argv[1], "-c")) {
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", argv[2]);
		write_str(procs, "0");
		argv += 2;
		argc -= 2;
	}
	if (argc == 6 && !strcmp(argv[1], "-t")) {
		tlb = argv[2];
		argv += 2;
		argc -= 2;
	}
	if (argc == 5 && !strcmp(argv[1], "-r")) {
		reuse = true;
		argv++;
		argc--;
	} else if (argc == 5 && !strcmp(argv[1], "-u")) {
		uffd = true;
		argv++;
		argc--;
	}
	if (argc != 4)
		usage();
	advice = parse_advice(argv[1]);
	size = parse_size(argv[2]);
	iters = atoi(argv[3]);
	if (advice < 0 || !size || iters <= 0)
		usage();
	if (tlb)
		return bench_tlb(tlb, advice, size, iters);
	return bench(advice, size, iters, reuse, uffd);
}
