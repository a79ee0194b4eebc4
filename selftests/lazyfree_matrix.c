// SPDX-License-Identifier: GPL-2.0
/*
 * Differential semantics matrix. Every case runs three times in a fresh
 * child placed in one cgroup:
 *   base: enabled=0 (every probe unregistered: the unhooked kernel),
 *   dn:   enabled=1, cgroup mode dontneed,
 *   fr:   enabled=1, cgroup mode free.
 * Return value and errno must be identical in all three; the first byte of
 * every page must be identical, except that in `dn` pages of private
 * anonymous memory that MADV_FREE itself acts on read 0 and leave RSS.
 * Each case declares per page what `dn` may show ('K' kept, 'Z' zero,
 * 'M' kept or zero, 'X' not checked).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lf_harness.h"
#include "lf_util.h"

#ifndef MADV_FREE
#define MADV_FREE 8
#endif
#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 0x01
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef __NR_mseal
#define __NR_mseal 462
#endif

#define SLACK_KB 16
#define HPAGE lf_thp_size()
#define HTLBPAGE lf_hugetlb_size()
#define PG lf_pagesize

static void record(struct lf_result *r, long ret)
{
	r->ret = ret;
	r->err = ret < 0 ? errno : 0;
	if (ret < 0)
		r->ret = -1;
}

static void do_free(struct lf_result *r, void *addr, size_t len)
{
	lf_mem_before(r);
	record(r, madvise(addr, len, MADV_FREE));
	lf_mem_after(r);
}

/* ---------------------------------------------------------------- cases */

static void c_anon(struct lf_result *r, const void *arg)
{
	char *p = lf_map_anon(64 * PG);

	(void)arg;
	if (!p)
		return lf_failf(r, "mmap: %s", strerror(errno));
	lf_fill(r, 0, p, 64, 0x20, 'Z');
	do_free(r, p, 64 * PG);
	lf_read_after(r, 0, p, 64);
}

/* MADV_FREE on the middle of one VMA: only [start, end) may change. */
static void c_anon_middle(struct lf_result *r, const void *arg)
{
	char *p = lf_map_anon(16 * PG);

	(void)arg;
	if (!p)
		return lf_failf(r, "mmap: %s", strerror(errno));
	lf_fill(r, 0, p, 4, 0x20, 'K');
	lf_fill(r, 4, p + 4 * PG, 8, 0x30, 'Z');
	lf_fill(r, 12, p + 12 * PG, 4, 0x40, 'K');
	do_free(r, p + 4 * PG, 8 * PG);
	lf_read_after(r, 0, p, 16);
}

/* Unaligned length: the kernel rounds up to the page. */
static void c_anon_len_unaligned(struct lf_result *r, const void *arg)
{
	char *p = lf_map_anon(8 * PG);

	(void)arg;
	if (!p)
		return lf_failf(r, "mmap: %s", strerror(errno));
	lf_fill(r, 0, p, 3, 0x20, 'Z');
	lf_fill(r, 3, p + 3 * PG, 5, 0x30, 'K');
	do_free(r, p, 2 * PG + 100);
	lf_read_after(r, 0, p, 8);
}

/* Two VMAs (different protections) in one call; both private anon. */
static void c_anon_two_vmas(struct lf_result *r, const void *arg)
{
	char *p = lf_map_anon(16 * PG);

	(void)arg;
	if (!p)
		return lf_failf(r, "mmap: %s", strerror(errno));
	lf_fill(r, 0, p, 16, 0x20, 'Z');
	if (mprotect(p + 8 * PG, 8 * PG, PROT_READ))
		return lf_failf(r, "mprotect: %s", strerror(errno));
	do_free(r, p, 16 * PG);
	lf_read_after(r, 0, p, 16);
}

static char *map_thp(struct lf_result *r, char **raw)
{
	char *p, *a;

	if (access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) || !HPAGE) {
		lf_skip(r, "no THP support (CONFIG_TRANSPARENT_HUGEPAGE)");
		return NULL;
	}
	p = mmap(NULL, 2 * HPAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		lf_failf(r, "mmap: %s", strerror(errno));
		return NULL;
	}
	*raw = p;
	a = (char *)(((unsigned long)p + HPAGE - 1) & ~(HPAGE - 1));
	if (madvise(a, HPAGE, MADV_HUGEPAGE)) {
		lf_skip(r, "MADV_HUGEPAGE: %s", strerror(errno));
		return NULL;
	}
	memset(a, 0x11, HPAGE);
	if (lf_smaps_kb(a, "AnonHugePages") < (long)(HPAGE >> 10)) {
		lf_skip(r, "no THP backing the region (THP disabled or no free huge page)");
		return NULL;
	}
	return a;
}

static void c_thp(struct lf_result *r, const void *arg)
{
	int n = HPAGE / PG;
	char *raw, *a = map_thp(r, &raw);

	(void)arg;
	if (!a)
		return;
	lf_fill(r, 0, a, n, 0x20, 'Z');
	do_free(r, a, HPAGE);
	lf_read_after(r, 0, a, n);
}

static void c_thp_half(struct lf_result *r, const void *arg)
{
	int n = HPAGE / PG;
	char *raw, *a = map_thp(r, &raw);

	(void)arg;
	if (!a)
		return;
	lf_fill(r, 0, a, n / 2, 0x20, 'Z');
	lf_fill(r, n / 2, a + HPAGE / 2, n / 2, 0x60, 'K');
	do_free(r, a, HPAGE / 2);
	lf_read_after(r, 0, a, n);
}

/* Private file mapping; pages 0-5 carry private COW data, 6-7 the file's. */
static void c_file_private_cow(struct lf_result *r, const void *arg)
{
	int fd = lf_tmpfile(8 * PG, 'F');
	char *p;

	(void)arg;
	if (fd < 0)
		return lf_failf(r, "temporary file: %s", strerror(errno));
	p = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return lf_failf(r, "mmap: %s", strerror(errno));
	lf_fill(r, 0, p, 6, 0x20, 'K');
	lf_fill(r, 6, NULL, 2, 'F', 'K');
	r->before[6] = r->before[7] = 'F';
	do_free(r, p, 8 * PG);
	lf_read_after(r, 0, p, 8);
}

static void c_file_shared(struct lf_result *r, const void *arg)
{
	int fd = lf_tmpfile(8 * PG, 'S');
	char *p;

	(void)arg;
	if (fd < 0)
		return lf_failf(r, "temporary file: %s", strerror(errno));
	p = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return lf_failf(r, "mmap: %s", strerror(errno));
	lf_fill(r, 0, p, 8, 0x20, 'K');
	do_free(r, p, 8 * PG);
	lf_read_after(r, 0, p, 8);
}

static void c_shmem(struct lf_result *r, const void *arg)
{
	char *p = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	(void)arg;
	if (p == MAP_FAILED)
		return lf_failf(r, "mmap: %s", strerror(errno));
	lf_fill(r, 0, p, 8, 0x20, 'K');
	do_free(r, p, 8 * PG);
	lf_read_after(r, 0, p, 8);
}

static void c_devzero(struct lf_result *r, const void *arg)
{
	bool shared = arg != NULL;
	int fd = open("/dev/zero", O_RDWR | O_CLOEXEC);
	char *p;

	if (fd < 0)
		return lf_skip(r, "/dev/zero: %s", strerror(errno));
	p = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE,
		 shared ? MAP_SHARED : MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return lf_failf(r, "mmap: %s", strerror(errno));
	/* MAP_PRIVATE of /dev/zero is anonymous memory; MAP_SHARED is shmem */
	lf_fill(r, 0, p, 8, 0x20, shared ? 'K' : 'Z');
	do_free(r, p, 8 * PG);
	lf_read_after(r, 0, p, 8);
}

static void c_mlocked(struct lf_result *r, const void *arg)
{
	bool onfault = arg != NULL;
	char *p = lf_map_anon(8 * PG);

	if (!p)
		return lf_failf(r, "mmap: %s", strerror(errno));
	if (onfault) {
		if (syscall(SYS_mlock2, p, 8 * PG, MLOCK_ONFAULT))
			return lf_skip(r, "mlock2(MLOCK_ONFAULT): %s", strerror(errno));
	} else if (mlock(p, 8 * PG)) {
		return lf_skip(r, "mlock: %s", strerror(errno));
	}
	lf_fill(r, 0, p, 8, 0x20, 'K');
	do_free(r, p, 8 * PG);
	lf_read_after(r, 0, p, 8);
}

static void c_hugetlb(struct lf_result *r, const void *arg)
{
	size_t size = HTLBPAGE;
	int n = size / PG;
	char *p;

	(void)arg;
	if (!size)
		return lf_skip(r, "no hugetlb pages (CONFIG_HUGETLBFS)");
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (p == MAP_FAILED)
		return lf_skip(r, "no %zu KiB hugetlb page (mmap: %s)", size >> 10,
			       strerror(errno));
	lf_fill(r, 0, p, n, 0x20, 'K');
	do_free(r, p, size);
	lf_read_after(r, 0, p, n);
}

/*
 * One call over [anon 0-3][private file with COW data 4-7]: the anon VMA
 * is advised first, then the file VMA fails with EINVAL.
 */
static void c_anon_then_file(struct lf_result *r, const void *arg)
{
	int fd = lf_tmpfile(4 * PG, 'F');
	char *p = lf_map_anon(8 * PG), *f;

	(void)arg;
	if (fd < 0 || !p)
		return lf_failf(r, "setup: %s", strerror(errno));
	f = mmap(p + 4 * PG, 4 * PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_FIXED, fd, 0);
	if (f == MAP_FAILED)
		return lf_failf(r, "mmap file: %s", strerror(errno));
	lf_fill(r, 0, p, 4, 0x20, 'Z');
	lf_fill(r, 4, f, 4, 0x40, 'K');
	do_free(r, p, 8 * PG);
	lf_read_after(r, 0, p, 8);
}

/* [private file 0-3][anon 4-7]: EINVAL at the first VMA, anon untouched. */
static void c_file_then_anon(struct lf_result *r, const void *arg)
{
	int fd = lf_tmpfile(4 * PG, 'F');
	char *p = lf_map_anon(8 * PG), *f;

	(void)arg;
	if (fd < 0 || !p)
		return lf_failf(r, "setup: %s", strerror(errno));
	f = mmap(p, 4 * PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_FIXED, fd, 0);
	if (f == MAP_FAILED)
		return lf_failf(r, "mmap file: %s", strerror(errno));
	lf_fill(r, 0, f, 4, 0x20, 'K');
	lf_fill(r, 4, p + 4 * PG, 4, 0x40, 'K');
	do_free(r, p, 8 * PG);
	lf_read_after(r, 0, p, 8);
}

/* [anon 0-2][hole 3-4][anon 5-7]: ENOMEM, both anon parts advised. */
static void c_anon_hole(struct lf_result *r, const void *arg)
{
	char *p = lf_map_anon(8 * PG);

	(void)arg;
	if (!p)
		return lf_failf(r, "mmap: %s", strerror(errno));
	lf_fill(r, 0, p, 3, 0x20, 'Z');
	lf_fill(r, 5, p + 5 * PG, 3, 0x40, 'Z');
	if (munmap(p + 3 * PG, 2 * PG))
		return lf_failf(r, "munmap: %s", strerror(errno));
	do_free(r, p, 8 * PG);
	lf_read_after(r, 0, p, 3);
	lf_read_after(r, 5, p + 5 * PG, 3);
	r->expect[3] = r->expect[4] = 'X';
}

static void c_len0(struct lf_result *r, const void *arg)
{
	char *p = lf_map_anon(4 * PG);

	(void)arg;
	if (!p)
		return lf_failf(r, "mmap: %s", strerror(errno));
	lf_fill(r, 0, p, 4, 0x20, 'K');
	do_free(r, p, 0);
	lf_read_after(r, 0, p, 4);
}

static void c_unaligned_start(struct lf_result *r, const void *arg)
{
	char *p = lf_map_anon(4 * PG);

	(void)arg;
	if (!p)
		return lf_failf(r, "mmap: %s", strerror(errno));
	lf_fill(r, 0, p, 4, 0x20, 'K');
	do_free(r, p + 1, 2 * PG);
	lf_read_after(r, 0, p, 4);
}

/* ------------------------------------------------------------ userfaultfd */

struct uffd_reader {
	int fd;
	volatile int stop;
	long events;		/* UFFD_EVENT_REMOVE seen */
	long faults;		/* missing-page faults: the data was gone */
};

/*
 * Reads REMOVE events and resolves missing-page faults with the zero page:
 * if a page was (wrongly) dropped, reading it back must not hang the case,
 * it must read 0 and be counted.
 */
static void *uffd_read_events(void *arg)
{
	struct uffd_reader *u = arg;

	while (!u->stop) {
		struct pollfd pfd = { .fd = u->fd, .events = POLLIN };
		struct uffd_msg msg;

		if (poll(&pfd, 1, 20) <= 0)
			continue;
		if (read(u->fd, &msg, sizeof(msg)) != sizeof(msg))
			continue;
		if (msg.event == UFFD_EVENT_REMOVE) {
			u->events++;
		} else if (msg.event == UFFD_EVENT_PAGEFAULT) {
			struct uffdio_zeropage zp = {
				.range.start = msg.arg.pagefault.address & ~(PG - 1),
				.range.len = PG,
			};

			u->faults++;
			ioctl(u->fd, UFFDIO_ZEROPAGE, &zp);
		}
	}
	return NULL;
}

static void c_uffd(struct lf_result *r, const void *arg)
{
	bool event_remove = arg != NULL;
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { 0 };
	struct uffd_reader u = { 0 };
	pthread_t t;
	char *p = lf_map_anon(8 * PG);
	int fd;

	if (!p)
		return lf_failf(r, "mmap: %s", strerror(errno));
	fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return lf_skip(r, "userfaultfd: %s", strerror(errno));
	if (event_remove)
		api.features = UFFD_FEATURE_EVENT_REMOVE;
	if (ioctl(fd, UFFDIO_API, &api))
		return lf_skip(r, "UFFDIO_API: %s", strerror(errno));
	lf_fill(r, 0, p, 8, 0x20, 'K');
	reg.range.start = (unsigned long)p;
	reg.range.len = 8 * PG;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(fd, UFFDIO_REGISTER, &reg))
		return lf_skip(r, "UFFDIO_REGISTER: %s", strerror(errno));
	u.fd = fd;
	if (pthread_create(&t, NULL, uffd_read_events, &u))
		return lf_failf(r, "pthread_create failed");
	do_free(r, p, 8 * PG);
	lf_read_after(r, 0, p, 8);
	u.stop = 1;
	pthread_join(t, NULL);
	r->aux[2] = u.events;
	r->aux[3] = u.faults;
}

/*
 * The retry after userfaultfd dropped mmap_lock (lf_uffd_remap_free()):
 * the kernel looks the VMA up again and acts on B only; C, mlocked or a
 * private file with COW data, is never MADV_FREE's to touch.
 */
static void c_uffd_remap(struct lf_result *r, const void *arg)
{
	lf_uffd_remap_free(r, arg != NULL);
}

/* --------------------------------------------------------------- io_uring */

static void c_io_uring(struct lf_result *r, const void *arg)
{
	bool file = arg != NULL;
	char *p;
	int skip;

	if (file) {
		int fd = lf_tmpfile(8 * PG, 'F');

		if (fd < 0)
			return lf_failf(r, "temporary file: %s", strerror(errno));
		p = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED)
			return lf_failf(r, "mmap: %s", strerror(errno));
	} else {
		p = lf_map_anon(8 * PG);
		if (!p)
			return lf_failf(r, "mmap: %s", strerror(errno));
	}
	lf_fill(r, 0, p, 8, 0x20, file ? 'K' : 'Z');
	lf_mem_before(r);
	record(r, lf_io_uring_madvise(p, 8 * PG, MADV_FREE, &skip));
	lf_mem_after(r);
	if (skip)
		return lf_skip(r, "io_uring_setup: %s", strerror(skip));
	if (r->ret < 0 && r->err == EINVAL && !file) {
		/* opcode unknown to this kernel would also say EINVAL */
		return lf_skip(r, "IORING_OP_MADVISE(MADV_FREE) refused on anon: %s",
			       strerror(r->err));
	}
	lf_read_after(r, 0, p, 8);
}

/*
 * Pages pinned as an io_uring fixed buffer.  Natively a pinned lazyfree
 * page is never discarded: a write after MADV_FREE lands in the page the
 * ring writes from, and what was not written stays.  Dropping the range
 * would leave the ring with the old pages and the process with new zero
 * ones, so under dontneed the process that pins keeps MADV_FREE: pages
 * 0-7 are the buffer (0-3 written after the call), 8-15 what
 * IORING_OP_WRITE_FIXED then wrote to a file.
 */
static void c_pinned(struct lf_result *r, const void *arg)
{
	char *p = lf_map_anon(8 * PG), *q = lf_map_anon(8 * PG);
	struct lf_ring *ring;
	int fd, err;

	(void)arg;
	fd = lf_tmpfile(8 * PG, 'F');
	if (!p || !q || fd < 0)
		return lf_failf(r, "setup: %s", strerror(errno));
	ring = lf_ring_open(&err);
	if (!ring && err)
		return lf_skip(r, "io_uring_setup: %s", strerror(err));
	if (!ring)
		return lf_failf(r, "io_uring: %s", strerror(errno));
	lf_fill(r, 0, p, 8, 0x20, 'K');
	if (lf_ring_register_buffer(ring, p, 8 * PG))
		return lf_failf(r, "IORING_REGISTER_BUFFERS: %s", strerror(errno));
	do_free(r, p, 8 * PG);
	/* what a native run holds afterwards, in the buffer and the file */
	lf_fill(r, 0, p, 4, 0x70, 'K');
	lf_fill(r, 8, NULL, 4, 0x70, 'K');
	lf_fill(r, 12, NULL, 4, 0x24, 'K');
	if (lf_ring_write_fixed(ring, fd, p, 8 * PG, 0) != (long)(8 * PG))
		return lf_failf(r, "IORING_OP_WRITE_FIXED: %s", strerror(errno));
	if (pread(fd, q, 8 * PG, 0) != (ssize_t)(8 * PG))
		return lf_failf(r, "pread: %s", strerror(errno));
	lf_read_after(r, 0, p, 8);
	lf_read_after(r, 8, q, 8);
	lf_ring_close(ring);
	close(fd);
}

/* --------------------------------------------------------- process_madvise */

static void c_process_madvise(struct lf_result *r, const void *arg)
{
	char *p = lf_map_anon(8 * PG);
	struct iovec iov;
	int pidfd;

	(void)arg;
	if (!p)
		return lf_failf(r, "mmap: %s", strerror(errno));
	pidfd = syscall(__NR_pidfd_open, getpid(), 0);
	if (pidfd < 0)
		return lf_skip(r, "pidfd_open: %s", strerror(errno));
	iov.iov_base = p;
	iov.iov_len = 8 * PG;
	lf_fill(r, 0, p, 8, 0x20, 'K');
	lf_mem_before(r);
	record(r, syscall(__NR_process_madvise, pidfd, &iov, 1, MADV_FREE, 0));
	lf_mem_after(r);
	if (r->ret < 0 && r->err == ENOSYS)
		return lf_skip(r, "process_madvise: ENOSYS");
	/* Where the kernel accepts MADV_FREE here, dontneed must drop it. */
	if (r->ret >= 0)
		memset(r->expect, 'Z', 8);
	lf_read_after(r, 0, p, 8);
}

/* -------------------------------------------------------------------- KSM */

static void c_ksm(struct lf_result *r, const void *arg)
{
	/* ksmd is slow on the debug kernel; both runs fit the 120 s timeout */
	int n = 32, secs = lf_debug_kernel() ? 50 : 30;
	char *p = lf_map_anon(n * PG);
	long start = lf_now_ms();
	char buf[64];

	(void)arg;
	if (!p)
		return lf_failf(r, "mmap: %s", strerror(errno));
	memset(p, 0x5a, n * PG);
	for (int i = 0; i < n; i++) {
		r->before[i] = 0x5a;
		r->expect[i] = 'Z';
	}
	r->npages = n;
	if (madvise(p, n * PG, MADV_MERGEABLE))
		return lf_skip(r, "MADV_MERGEABLE: %s", strerror(errno));
	for (;;) {
		uint64_t merging = 0;

		if (!lf_read_file("/proc/self/ksm_merging_pages", buf, sizeof(buf)))
			merging = strtoull(buf, NULL, 10);
		else if (lf_read_u64_file("/sys/kernel/mm/ksm/pages_sharing", &merging))
			return lf_skip(r, "no KSM counters");
		if (merging >= (uint64_t)n - 1)
			break;
		if (lf_now_ms() - start > secs * 1000L)
			return lf_skip(r, "KSM merged only %llu of %d pages in %d s",
				       (unsigned long long)merging, n, secs);
		lf_msleep(50);
	}
	r->aux[0] = lf_now_ms() - start;
	do_free(r, p, n * PG);
	lf_read_after(r, 0, p, n);
}

/* ------------------------------------------------------------------ mseal */

static void c_mseal(struct lf_result *r, const void *arg)
{
	bool ro = arg != NULL;
	char *p = lf_map_anon(8 * PG);

	if (!p)
		return lf_failf(r, "mmap: %s", strerror(errno));
	/* sealed writable anon: MADV_FREE acts; sealed read-only: EPERM */
	lf_fill(r, 0, p, 8, 0x20, ro ? 'K' : 'M');
	if (ro && mprotect(p, 8 * PG, PROT_READ))
		return lf_failf(r, "mprotect: %s", strerror(errno));
	if (syscall(__NR_mseal, p, 8 * PG, 0))
		return lf_skip(r, "mseal: %s (needs 6.10+)", strerror(errno));
	do_free(r, p, 8 * PG);
	lf_read_after(r, 0, p, 8);
}

/* -------------------------------------------------------------- droppable */

static void c_droppable(struct lf_result *r, const void *arg)
{
	char *p = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE,
		       MAP_DROPPABLE | MAP_ANONYMOUS, -1, 0);

	(void)arg;
	if (p == MAP_FAILED)
		return lf_skip(r, "MAP_DROPPABLE: %s (needs 6.11+)", strerror(errno));
	lf_fill(r, 0, p, 8, 0x20, 'M');
	do_free(r, p, 8 * PG);
	lf_read_after(r, 0, p, 8);
}

/* ------------------------------------------------------------ PFNMAP vvar */

static void c_vvar(struct lf_result *r, const void *arg)
{
	static char maps[65536];
	unsigned long s = 0, e = 0;
	char *line;

	(void)arg;
	if (lf_read_file("/proc/self/maps", maps, sizeof(maps)))
		return lf_failf(r, "/proc/self/maps: %s", strerror(errno));
	line = strstr(maps, "[vvar]");
	if (!line)
		return lf_skip(r, "no [vvar] mapping");
	while (line > maps && line[-1] != '\n')
		line--;
	if (sscanf(line, "%lx-%lx", &s, &e) != 2)
		return lf_failf(r, "cannot parse [vvar] line");
	/* return value only: the page is VM_PFNMAP|VM_IO, contents change */
	do_free(r, (void *)s, PG);
}

/* ---------------------------------------------------------- guard regions */

static sigjmp_buf guard_jmp;

static void guard_segv(int sig)
{
	siglongjmp(guard_jmp, sig);
}

/* 1 when reading addr faults (a guard marker is still there). */
static int faults(const char *addr)
{
	struct sigaction sa = { .sa_handler = guard_segv }, old_segv, old_bus;
	int ret = 0;

	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
	if (sigsetjmp(guard_jmp, 1) == 0)
		(void)*(const volatile char *)addr;
	else
		ret = 1;
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
	return ret;
}

/*
 * [anon 0-2][guard 3][anon 4-7] in one VMA (6.13+): MADV_FREE over all of
 * it; the guard marker must survive the rewrite, as it survives
 * MADV_DONTNEED.
 */
static void c_guard(struct lf_result *r, const void *arg)
{
	char *p = lf_map_anon(8 * PG);

	(void)arg;
	if (!p)
		return lf_failf(r, "mmap: %s", strerror(errno));
	lf_fill(r, 0, p, 3, 0x20, 'Z');
	lf_fill(r, 4, p + 4 * PG, 4, 0x40, 'Z');
	if (madvise(p + 3 * PG, PG, MADV_GUARD_INSTALL))
		return lf_skip(r, "MADV_GUARD_INSTALL: %s (needs 6.13+)", strerror(errno));
	r->expect[3] = 'X';
	do_free(r, p, 8 * PG);
	lf_read_after(r, 0, p, 3);
	lf_read_after(r, 4, p + 4 * PG, 4);
	r->aux[4] = faults(p + 3 * PG);
}

/* --------------------------------------------------- COW shared with child */

static void c_cow_fork(struct lf_result *r, const void *arg)
{
	char *p = lf_map_anon(8 * PG);
	int go[2], done[2];
	pid_t pid;
	char c;

	(void)arg;
	if (!p || pipe(go) || pipe(done))
		return lf_failf(r, "setup: %s", strerror(errno));
	lf_fill(r, 0, p, 8, 0x20, 'Z');
	pid = fork();
	if (pid < 0)
		return lf_failf(r, "fork: %s", strerror(errno));
	if (pid == 0) {
		long bad = 0;

		/* wait for the parent's MADV_FREE, then check our copy */
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		for (int i = 0; i < 8; i++)
			bad += (unsigned char)p[i * PG] != r->before[i];
		r->aux[1] = bad;
		if (write(done[1], "d", 1) != 1)
			_exit(2);
		_exit(0);
	}
	do_free(r, p, 8 * PG);
	if (write(go[1], "g", 1) != 1 || read(done[0], &c, 1) != 1)
		lf_failf(r, "pipe to the COW sibling failed");
	waitpid(pid, NULL, 0);
	lf_read_after(r, 0, p, 8);
}

/* ------------------------------------------------------------- the table */

enum { SETUP_NONE, SETUP_HUGETLB, SETUP_KSM };

FIXTURE(matrix) {
	struct lf_cg cg;
	struct lf_global g;
	struct lf_result *res[3];
	char saved_hugepages[32];
	char saved_ksm[3][32];
	int setup;
};

FIXTURE_VARIANT(matrix) {
	lf_case_fn fn;
	const void *arg;
	int setup;
	bool check_rss;		/* Anonymous must drop by the 'Z' pages */
};

#define CASE(name, f, a, s, rss) \
	FIXTURE_VARIANT_ADD(matrix, name) { \
		.fn = f, .arg = a, .setup = s, .check_rss = rss, \
	}

static const int yes = 1;

CASE(private_anon, c_anon, NULL, SETUP_NONE, true);
CASE(private_anon_middle, c_anon_middle, NULL, SETUP_NONE, true);
CASE(private_anon_len_unaligned, c_anon_len_unaligned, NULL, SETUP_NONE, true);
CASE(private_anon_two_vmas, c_anon_two_vmas, NULL, SETUP_NONE, true);
CASE(thp_2m, c_thp, NULL, SETUP_NONE, true);
CASE(thp_half, c_thp_half, NULL, SETUP_NONE, true);
CASE(file_private_cow, c_file_private_cow, NULL, SETUP_NONE, true);
CASE(file_shared, c_file_shared, NULL, SETUP_NONE, true);
CASE(shmem, c_shmem, NULL, SETUP_NONE, true);
CASE(devzero_private, c_devzero, NULL, SETUP_NONE, true);
CASE(devzero_shared, c_devzero, &yes, SETUP_NONE, true);
CASE(mlocked, c_mlocked, NULL, SETUP_NONE, true);
CASE(mlock_onfault, c_mlocked, &yes, SETUP_NONE, true);
CASE(hugetlb, c_hugetlb, NULL, SETUP_HUGETLB, true);
CASE(anon_then_file, c_anon_then_file, NULL, SETUP_NONE, true);
CASE(file_then_anon, c_file_then_anon, NULL, SETUP_NONE, true);
CASE(anon_hole, c_anon_hole, NULL, SETUP_NONE, true);
CASE(len_zero, c_len0, NULL, SETUP_NONE, true);
CASE(unaligned_start, c_unaligned_start, NULL, SETUP_NONE, true);
CASE(uffd_missing, c_uffd, NULL, SETUP_NONE, true);
CASE(uffd_event_remove, c_uffd, &yes, SETUP_NONE, true);
CASE(uffd_remap_then_mlocked, c_uffd_remap, NULL, SETUP_NONE, false);
CASE(uffd_remap_then_file_cow, c_uffd_remap, &yes, SETUP_NONE, false);
CASE(io_uring_anon, c_io_uring, NULL, SETUP_NONE, true);
CASE(io_uring_file_private, c_io_uring, &yes, SETUP_NONE, true);
CASE(io_uring_fixed_buffer_pinned, c_pinned, NULL, SETUP_NONE, true);
CASE(process_madvise_self, c_process_madvise, NULL, SETUP_NONE, true);
CASE(ksm_merged, c_ksm, NULL, SETUP_KSM, true);
CASE(mseal_writable, c_mseal, NULL, SETUP_NONE, false);
CASE(mseal_readonly, c_mseal, &yes, SETUP_NONE, true);
CASE(droppable, c_droppable, NULL, SETUP_NONE, false);
CASE(pfnmap_vvar, c_vvar, NULL, SETUP_NONE, false);
CASE(cow_shared_with_child, c_cow_fork, NULL, SETUP_NONE, true);
CASE(guard_region, c_guard, NULL, SETUP_NONE, true);

static const char *const ksm_knobs[3] = {
	"/sys/kernel/mm/ksm/run",
	"/sys/kernel/mm/ksm/pages_to_scan",
	"/sys/kernel/mm/ksm/sleep_millisecs",
};

FIXTURE_SETUP(matrix)
{
	char name[64];

	ASSERT_TRUE(lf_module_loaded()) TH_LOG(LF_SYSFS " missing: module not loaded");
	ASSERT_EQ(0, lf_global_save(&self->g));
	ASSERT_EQ(0, lf_attr_write("default_mode", "free"));
	snprintf(name, sizeof(name), "lf_matrix");
	ASSERT_EQ(0, lf_cg_create(&self->cg, name));
	ASSERT_EQ(0, lf_track(self->cg.id));
	for (int i = 0; i < 3; i++) {
		self->res[i] = lf_result_alloc();
		ASSERT_NE(NULL, self->res[i]);
	}
	self->setup = variant->setup;
	if (variant->setup == SETUP_HUGETLB &&
	    !lf_read_file("/proc/sys/vm/nr_hugepages", self->saved_hugepages,
			  sizeof(self->saved_hugepages))) {
		uint64_t n = strtoull(self->saved_hugepages, NULL, 10);
		char buf[32];

		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)n + 2);
		lf_write_file("/proc/sys/vm/nr_hugepages", buf);
	}
	if (variant->setup == SETUP_KSM) {
		for (int i = 0; i < 3; i++)
			if (lf_read_file(ksm_knobs[i], self->saved_ksm[i],
					 sizeof(self->saved_ksm[i])))
				self->saved_ksm[i][0] = '\0';
		lf_write_file(ksm_knobs[1], "4096");
		lf_write_file(ksm_knobs[2], "10");
		lf_write_file(ksm_knobs[0], "1");
	}
}

FIXTURE_TEARDOWN_PARENT(matrix)
{
	if (!lf_module_loaded() && lf_can_reload())
		lf_module_load(NULL);
	if (self->setup == SETUP_HUGETLB && self->saved_hugepages[0])
		lf_write_file("/proc/sys/vm/nr_hugepages", self->saved_hugepages);
	if (self->setup == SETUP_KSM)
		for (int i = 2; i >= 0; i--)
			if (self->saved_ksm[i][0])
				lf_write_file(ksm_knobs[i], self->saved_ksm[i]);
	lf_global_restore(&self->g);
	lf_cg_destroy(&self->cg);
}

static const char *const run_name[3] = { "unhooked", "dontneed", "free" };

static int run_one(struct __test_metadata *_metadata,
		   FIXTURE_DATA(matrix) *self,
		   const FIXTURE_VARIANT(matrix) *variant, int which)
{
	struct lf_result *r = self->res[which];
	int err;

	err = lf_attr_write("enabled", which == 0 ? "0" : "1");
	if (err) {
		TH_LOG("enabled=%d: %s", which != 0, strerror(-err));
		return -1;
	}
	err = lf_cg_attr_write(self->cg.id, "mode", which == 2 ? "free" : "dontneed");
	if (err) {
		TH_LOG("mode: %s", strerror(-err));
		return -1;
	}
	if (lf_run(self->cg.path, variant->fn, variant->arg, r)) {
		TH_LOG("%s run: %s", run_name[which], r->msg);
		return -1;
	}
	if (r->fail) {
		TH_LOG("%s run: case setup failed: %s", run_name[which], r->msg);
		return -1;
	}
	return 0;
}

TEST_F_TIMEOUT(matrix, differential, 120)
{
	struct lf_result *base = self->res[0];
	int zpages = 0, mzero = 0, mpages = 0;

	ASSERT_EQ(0, run_one(_metadata, self, variant, 0));
	if (base->skip)
		SKIP(return, "%s", base->msg);
	ASSERT_EQ(0, run_one(_metadata, self, variant, 1));
	ASSERT_EQ(0, run_one(_metadata, self, variant, 2));
	lf_attr_write("enabled", "1");

	TH_LOG("unhooked: ret %ld errno %d (%s), %d pages",
	       base->ret, base->err, base->err ? strerror(base->err) : "-",
	       base->npages);
	for (int w = 1; w < 3; w++) {
		struct lf_result *r = self->res[w];

		ASSERT_FALSE(r->skip) TH_LOG("%s run skipped: %s", run_name[w], r->msg);
		EXPECT_EQ(base->ret, r->ret) TH_LOG("%s: return value differs", run_name[w]);
		EXPECT_EQ(base->err, r->err)
			TH_LOG("%s: errno %d (%s), unhooked %d (%s)", run_name[w],
			       r->err, strerror(r->err), base->err, strerror(base->err));
		EXPECT_EQ(base->npages, r->npages);
		EXPECT_EQ(base->aux[1], r->aux[1])
			TH_LOG("%s: a COW sibling saw %ld changed pages", run_name[w], r->aux[1]);
	}
	EXPECT_EQ(0, base->aux[1]);
	/* userfaultfd REMOVE events and faults: the same with and without the hook */
	for (int w = 1; w < 3; w++) {
		EXPECT_EQ(base->aux[2], self->res[w]->aux[2]) TH_LOG("%s: REMOVE events", run_name[w]);
		EXPECT_EQ(base->aux[3], self->res[w]->aux[3])
			TH_LOG("%s: %ld userfaultfd missing faults reading back", run_name[w],
			       self->res[w]->aux[3]);
	}
	for (int w = 1; w < 3; w++) {
		EXPECT_EQ(base->aux[4], self->res[w]->aux[4])
			TH_LOG("%s: guard page faults %ld, unhooked %ld", run_name[w],
			       self->res[w]->aux[4], base->aux[4]);
	}
	if (variant->fn == c_guard) {
		EXPECT_EQ(1, base->aux[4]) TH_LOG("guard page readable after MADV_FREE");
	}
	if ((variant->fn == c_uffd && variant->arg) || variant->fn == c_uffd_remap) {
		EXPECT_LT(0, base->aux[2]) TH_LOG("no UFFD_EVENT_REMOVE: the lock-dropping path was not taken");
	}

	for (int i = 0; i < base->npages; i++) {
		struct lf_result *dn = self->res[1], *fr = self->res[2];
		char e = base->expect[i];

		if (e == 'X')
			continue;
		/* without memory pressure, unhooked MADV_FREE keeps the data */
		EXPECT_EQ(base->before[i], base->after[i])
			TH_LOG("unhooked: page %d changed 0x%02x -> 0x%02x", i,
			       base->before[i], base->after[i]);
		EXPECT_EQ(base->after[i], fr->after[i])
			TH_LOG("free: page %d reads 0x%02x, unhooked 0x%02x", i,
			       fr->after[i], base->after[i]);
		EXPECT_EQ(e, dn->expect[i]);
		switch (e) {
		case 'K':
			EXPECT_EQ(base->after[i], dn->after[i])
				TH_LOG("dontneed: page %d reads 0x%02x, unhooked 0x%02x (must be kept)",
				       i, dn->after[i], base->after[i]);
			break;
		case 'Z':
			zpages++;
			EXPECT_EQ(0, dn->after[i])
				TH_LOG("dontneed: private anon page %d still reads 0x%02x",
				       i, dn->after[i]);
			break;
		case 'M':
			mpages++;
			mzero += dn->after[i] == 0;
			EXPECT_TRUE(dn->after[i] == 0 || dn->after[i] == base->after[i])
				TH_LOG("dontneed: page %d reads 0x%02x: neither zero nor 0x%02x",
				       i, dn->after[i], base->after[i]);
			break;
		}
		if (_metadata->exit_code && i > 8)
			break;	/* enough detail */
	}

	if (variant->check_rss) {
		struct lf_result *dn = self->res[1];
		long want = zpages * (long)(PG >> 10);

		for (int w = 0; w < 3; w += 2) {
			struct lf_result *r = self->res[w];

			EXPECT_LE(r->anon_before_kb - r->anon_after_kb, SLACK_KB)
				TH_LOG("%s: Anonymous %ld -> %ld kB", run_name[w],
				       r->anon_before_kb, r->anon_after_kb);
		}
		EXPECT_GE(dn->anon_before_kb - dn->anon_after_kb, want - SLACK_KB)
			TH_LOG("dontneed: Anonymous %ld -> %ld kB, %d zeroed pages should have left",
			       dn->anon_before_kb, dn->anon_after_kb, zpages);
		if (!zpages) {
			EXPECT_LE(dn->anon_before_kb - dn->anon_after_kb, SLACK_KB)
				TH_LOG("dontneed: Anonymous %ld -> %ld kB with nothing to drop",
				       dn->anon_before_kb, dn->anon_after_kb);
		}
	}
	TH_LOG("compared %d pages, %d dropped under dontneed", base->npages, zpages);
	if (mpages)
		TH_LOG("%d of %d pages that may be dropped were dropped", mzero, mpages);
}

/*
 * enabled=0 is promised to be exactly the unhooked kernel: check it against
 * the module not being loaded at all, for every case.
 */
TEST_F_TIMEOUT(matrix, module_absent, 120)
{
	struct lf_result *base = self->res[0], *absent = self->res[1];
	int err;

	if (!lf_can_reload())
		SKIP(return, "LAZYFREE_KO not set: cannot unload the module");
	ASSERT_EQ(0, run_one(_metadata, self, variant, 0));
	if (base->skip)
		SKIP(return, "%s", base->msg);
	ASSERT_EQ(0, lf_module_unload());
	err = lf_run(self->cg.path, variant->fn, variant->arg, absent);
	ASSERT_EQ(0, lf_module_load(NULL));
	ASSERT_EQ(0, lf_track(self->cg.id));
	ASSERT_EQ(0, err) TH_LOG("module absent run: %s", absent->msg);
	ASSERT_FALSE(absent->fail) TH_LOG("%s", absent->msg);
	ASSERT_FALSE(absent->skip) TH_LOG("%s", absent->msg);
	EXPECT_EQ(base->ret, absent->ret);
	EXPECT_EQ(base->err, absent->err);
	EXPECT_EQ(base->npages, absent->npages);
	for (int k = 1; k <= 4; k++) {
		EXPECT_EQ(base->aux[k], absent->aux[k]) TH_LOG("aux[%d]", k);
	}
	for (int i = 0; i < base->npages; i++) {
		if (base->expect[i] == 'X')
			continue;
		EXPECT_EQ(base->after[i], absent->after[i])
			TH_LOG("page %d: enabled=0 0x%02x, module absent 0x%02x",
			       i, base->after[i], absent->after[i]);
		if (_metadata->exit_code && i > 8)
			break;
	}
}

TEST_HARNESS_MAIN
