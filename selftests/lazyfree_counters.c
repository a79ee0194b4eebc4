// SPDX-License-Identifier: GPL-2.0
/*
 * Exact accounting: after N MADV_FREE calls of L bytes from a cgroup, that
 * cgroup's free_bytes is N*L (and rewritten_bytes N*L under dontneed, 0
 * under free), and the node-wide counters moved by exactly the same amount
 * (nothing else in the guest runs MADV_FREE). Calls the kernel rejects
 * count nothing; a parent's own counters do not include its children's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lf_harness.h"
#include "lf_util.h"

struct counts {
	uint64_t node_free, node_rw, node_pin, cg_free, cg_rw, cg_pin;
};

static int read_counts(uint64_t id, struct counts *c)
{
	int err = lf_attr_u64("free_bytes", &c->node_free);

	if (!err)
		err = lf_attr_u64("rewritten_bytes", &c->node_rw);
	if (!err)
		err = lf_cg_attr_u64(id, "free_bytes", &c->cg_free);
	if (!err)
		err = lf_attr_u64("pinned_bytes", &c->node_pin);
	if (!err)
		err = lf_cg_attr_u64(id, "rewritten_bytes", &c->cg_rw);
	if (!err)
		err = lf_cg_attr_u64(id, "pinned_bytes", &c->cg_pin);
	return err;
}

/*
 * From @c0 to @c1 the cgroup's and the node's counters grew by @free,
 * @rw and @pin.
 */
static void expect_grown(struct __test_metadata *_metadata, const char *what,
			 const struct counts *c0, const struct counts *c1,
			 uint64_t free, uint64_t rw, uint64_t pin)
{
	EXPECT_EQ(free, c1->cg_free - c0->cg_free) TH_LOG("%s: cgroup free_bytes", what);
	EXPECT_EQ(rw, c1->cg_rw - c0->cg_rw) TH_LOG("%s: cgroup rewritten_bytes", what);
	EXPECT_EQ(pin, c1->cg_pin - c0->cg_pin) TH_LOG("%s: cgroup pinned_bytes", what);
	EXPECT_EQ(free, c1->node_free - c0->node_free) TH_LOG("%s: node free_bytes", what);
	EXPECT_EQ(rw, c1->node_rw - c0->node_rw) TH_LOG("%s: node rewritten_bytes", what);
	EXPECT_EQ(pin, c1->node_pin - c0->node_pin) TH_LOG("%s: node pinned_bytes", what);
}

FIXTURE(counters) {
	struct lf_cg cg;
	struct lf_global g;
	struct lf_result *r;
};

FIXTURE_VARIANT(counters) {
	const char *mode;
	int calls;
	size_t len;		/* bytes per call (pages here) */
	bool io_uring;		/* issue the calls through IORING_OP_MADVISE */
};

FIXTURE_VARIANT_ADD(counters, dontneed_1x4k) { .mode = "dontneed", .calls = 1, .len = 4096 };
FIXTURE_VARIANT_ADD(counters, dontneed_10x64k) { .mode = "dontneed", .calls = 10, .len = 65536 };
FIXTURE_VARIANT_ADD(counters, dontneed_3x1m) { .mode = "dontneed", .calls = 3, .len = 1 << 20 };
FIXTURE_VARIANT_ADD(counters, free_1x4k) { .mode = "free", .calls = 1, .len = 4096 };
FIXTURE_VARIANT_ADD(counters, free_10x64k) { .mode = "free", .calls = 10, .len = 65536 };
FIXTURE_VARIANT_ADD(counters, free_3x1m) { .mode = "free", .calls = 3, .len = 1 << 20 };
FIXTURE_VARIANT_ADD(counters, io_uring_dontneed_5x64k) {
	.mode = "dontneed", .calls = 5, .len = 65536, .io_uring = true };
FIXTURE_VARIANT_ADD(counters, io_uring_free_5x64k) {
	.mode = "free", .calls = 5, .len = 65536, .io_uring = true };

FIXTURE_SETUP(counters)
{
	ASSERT_TRUE(lf_module_loaded()) TH_LOG(LF_SYSFS " missing: module not loaded");
	ASSERT_EQ(0, lf_global_save(&self->g));
	ASSERT_EQ(0, lf_attr_write("enabled", "1"));
	ASSERT_EQ(0, lf_cg_create(&self->cg, "lf_counters"));
	ASSERT_EQ(0, lf_track(self->cg.id));
	self->r = lf_result_alloc();
	ASSERT_NE(NULL, self->r);
}

FIXTURE_TEARDOWN_PARENT(counters)
{
	lf_cg_destroy(&self->cg);
	lf_global_restore(&self->g);
}

/* Single-shot accounting checks: same setup, no variants. */
FIXTURE(acct) {
	struct lf_cg cg;
	struct lf_global g;
	struct lf_result *r;
};

FIXTURE_SETUP(acct)
{
	ASSERT_TRUE(lf_module_loaded()) TH_LOG(LF_SYSFS " missing: module not loaded");
	ASSERT_EQ(0, lf_global_save(&self->g));
	ASSERT_EQ(0, lf_attr_write("enabled", "1"));
	ASSERT_EQ(0, lf_cg_create(&self->cg, "lf_counters"));
	ASSERT_EQ(0, lf_track(self->cg.id));
	self->r = lf_result_alloc();
	ASSERT_NE(NULL, self->r);
}

FIXTURE_TEARDOWN_PARENT(acct)
{
	lf_cg_destroy(&self->cg);
	lf_global_restore(&self->g);
}

static const char *const modes[2] = { "dontneed", "free" };

struct calls_arg {
	int calls;
	size_t len;
	bool io_uring;
};

static void case_calls(struct lf_result *r, const void *arg)
{
	const struct calls_arg *a = arg;
	char *p = lf_map_anon(a->len);

	if (!p)
		return lf_failf(r, "mmap: %s", strerror(errno));
	for (int i = 0; i < a->calls; i++) {
		int skip = 0;
		long ret;

		memset(p, 0x42, a->len);
		if (a->io_uring)
			ret = lf_io_uring_madvise(p, a->len, MADV_FREE, &skip);
		else
			ret = madvise(p, a->len, MADV_FREE);
		if (skip)
			return lf_skip(r, "io_uring_setup: %s", strerror(skip));
		if (ret)
			return lf_failf(r, "call %d: MADV_FREE: %s", i, strerror(errno));
		r->aux[0]++;
	}
}

TEST_F(counters, exact)
{
	struct calls_arg a = {
		.calls = variant->calls, .len = variant->len,
		.io_uring = variant->io_uring,
	};
	/* the kernel advises whole pages: 4096 bytes are 16 KiB on arm64-16k */
	uint64_t want = (uint64_t)variant->calls *
		((variant->len + lf_pagesize - 1) / lf_pagesize * lf_pagesize);
	uint64_t want_rw = strcmp(variant->mode, "dontneed") ? 0 : want;
	struct counts c0, c1;

	ASSERT_EQ(0, lf_cg_attr_write(self->cg.id, "mode", variant->mode));
	ASSERT_EQ(0, read_counts(self->cg.id, &c0));
	EXPECT_EQ(0ULL, c0.cg_free) TH_LOG("a freshly added cgroup starts at 0");
	EXPECT_EQ(0ULL, c0.cg_rw);
	ASSERT_EQ(0, lf_run(self->cg.path, case_calls, &a, self->r)) TH_LOG("%s", self->r->msg);
	if (self->r->skip)
		SKIP(return, "%s", self->r->msg);
	ASSERT_FALSE(self->r->fail) TH_LOG("%s", self->r->msg);
	ASSERT_EQ(0, read_counts(self->cg.id, &c1));
	TH_LOG("%d x %zu bytes (%s): cgroup free %llu rewritten %llu, node +%llu +%llu",
	       variant->calls, variant->len, variant->mode,
	       (unsigned long long)c1.cg_free, (unsigned long long)c1.cg_rw,
	       (unsigned long long)(c1.node_free - c0.node_free),
	       (unsigned long long)(c1.node_rw - c0.node_rw));
	expect_grown(_metadata, variant->mode, &c0, &c1, want, want_rw, 0);
}

/*
 * Calls that MADV_FREE itself refuses or that advise nothing must not
 * count; then one accepted page counts exactly once.
 */
static void case_rejected(struct lf_result *r, const void *arg)
{
	size_t pg = lf_pagesize;
	char *anon = lf_map_anon(4 * pg), *shm, *filep, *locked;
	struct iovec iov;
	int fd, pidfd;

	(void)arg;
	shm = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	fd = lf_tmpfile(4 * pg, 'F');
	filep = fd < 0 ? MAP_FAILED :
		mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	locked = lf_map_anon(4 * pg);
	if (!anon || shm == MAP_FAILED || filep == MAP_FAILED || !locked)
		return lf_failf(r, "setup: %s", strerror(errno));
	memset(anon, 1, 4 * pg);
	memset(shm, 1, 4 * pg);
	memset(filep, 1, 4 * pg);
	if (mlock(locked, 4 * pg))
		return lf_failf(r, "mlock: %s", strerror(errno));
	memset(locked, 1, 4 * pg);

	/* aux[i] = 1 when call i failed as the kernel should make it fail */
	r->aux[0] = madvise(shm, 4 * pg, MADV_FREE) && errno == EINVAL;
	r->aux[1] = madvise(filep, 4 * pg, MADV_FREE) && errno == EINVAL;
	r->aux[2] = madvise(locked, 4 * pg, MADV_FREE) && errno == EINVAL;
	r->aux[3] = madvise(anon + 1, pg, MADV_FREE) && errno == EINVAL;
	r->aux[4] = madvise(anon, 0, MADV_FREE) == 0;		/* advises nothing */
	r->aux[5] = madvise(anon, 4 * pg, MADV_DONTNEED) == 0;	/* other advice */
	pidfd = syscall(__NR_pidfd_open, getpid(), 0);
	iov.iov_base = anon;
	iov.iov_len = 4 * pg;
	/*
	 * process_madvise() refuses MADV_FREE before 6.15 (1); where it
	 * accepts it (7.x) the call is a real MADV_FREE (2) and counts.
	 */
	if (pidfd < 0 || syscall(__NR_process_madvise, pidfd, &iov, 1, MADV_FREE, 0) < 0)
		r->aux[6] = errno == EINVAL ? 1 : 0;
	else
		r->aux[6] = 2;
}

static void case_one_page(struct lf_result *r, const void *arg)
{
	char *p = lf_map_anon(lf_pagesize);

	(void)arg;
	if (!p)
		return lf_failf(r, "mmap: %s", strerror(errno));
	*p = 1;
	r->ret = madvise(p, lf_pagesize, MADV_FREE);
	r->err = errno;
}

TEST_F(acct, rejected_calls_count_nothing)
{
	static const char *const what[] = {
		"shmem EINVAL", "private file EINVAL", "mlocked EINVAL",
		"unaligned EINVAL", "len 0", "MADV_DONTNEED", "process_madvise",
	};
	struct counts c0, c1;
	uint64_t accepted;

	ASSERT_EQ(0, lf_cg_attr_write(self->cg.id, "mode", "dontneed"));
	ASSERT_EQ(0, read_counts(self->cg.id, &c0));
	ASSERT_EQ(0, lf_run(self->cg.path, case_rejected, NULL, self->r)) TH_LOG("%s", self->r->msg);
	ASSERT_FALSE(self->r->fail) TH_LOG("%s", self->r->msg);
	for (int i = 0; i < 6; i++) {
		EXPECT_EQ(1, self->r->aux[i]) TH_LOG("%s: unexpected result", what[i]);
	}
	EXPECT_NE(0, self->r->aux[6]) TH_LOG("process_madvise: neither EINVAL nor success");
	/* only an accepted process_madvise() counts: its 4 pages, dropped */
	accepted = self->r->aux[6] == 2 ? 4 * lf_pagesize : 0;
	ASSERT_EQ(0, read_counts(self->cg.id, &c1));
	expect_grown(_metadata, "rejected calls", &c0, &c1, accepted, accepted, 0);

	ASSERT_EQ(0, lf_run(self->cg.path, case_one_page, NULL, self->r)) TH_LOG("%s", self->r->msg);
	EXPECT_EQ(0, self->r->ret);
	ASSERT_EQ(0, read_counts(self->cg.id, &c0));
	EXPECT_EQ(lf_pagesize, c0.cg_free - c1.cg_free);
	EXPECT_EQ(lf_pagesize, c0.cg_rw - c1.cg_rw);
	EXPECT_EQ(lf_pagesize, c0.node_free - c1.node_free);
	EXPECT_EQ(lf_pagesize, c0.node_rw - c1.node_rw);
}

/*
 * Private anon the kernel accepts but that must not be rewritten
 * (userfaultfd armed): counted in free_bytes, not in rewritten_bytes.
 */
static void case_uffd(struct lf_result *r, const void *arg)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { 0 };
	size_t len = 8 * lf_pagesize;
	char *p = lf_map_anon(len);
	int fd;

	(void)arg;
	if (!p)
		return lf_failf(r, "mmap: %s", strerror(errno));
	memset(p, 1, len);
	fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return lf_skip(r, "userfaultfd: %s", strerror(errno));
	if (ioctl(fd, UFFDIO_API, &api))
		return lf_skip(r, "UFFDIO_API: %s", strerror(errno));
	reg.range.start = (unsigned long)p;
	reg.range.len = len;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(fd, UFFDIO_REGISTER, &reg))
		return lf_skip(r, "UFFDIO_REGISTER: %s", strerror(errno));
	r->ret = madvise(p, len, MADV_FREE);
	r->err = errno;
	r->aux[0] = p[0];
}

/*
 * A userfaultfd-armed VMA is left entirely to the kernel: its remove
 * event may drop mmap_lock and have the VMA checked twice, so lazyfree
 * neither rewrites nor counts it.
 */
TEST_F(acct, uffd_neither_counted_nor_rewritten)
{
	struct counts c0, c1;

	ASSERT_EQ(0, lf_cg_attr_write(self->cg.id, "mode", "dontneed"));
	ASSERT_EQ(0, read_counts(self->cg.id, &c0));
	ASSERT_EQ(0, lf_run(self->cg.path, case_uffd, NULL, self->r)) TH_LOG("%s", self->r->msg);
	if (self->r->skip)
		SKIP(return, "%s", self->r->msg);
	ASSERT_FALSE(self->r->fail) TH_LOG("%s", self->r->msg);
	EXPECT_EQ(0, self->r->ret);
	EXPECT_EQ(1, self->r->aux[0]) TH_LOG("userfaultfd-armed anon was rewritten");
	ASSERT_EQ(0, read_counts(self->cg.id, &c1));
	expect_grown(_metadata, "userfaultfd-armed", &c0, &c1, 0, 0, 0);
}

static void case_uffd_remap(struct lf_result *r, const void *arg)
{
	(void)arg;
	lf_uffd_remap_free(r, false);
}

/*
 * After userfaultfd dropped mmap_lock the VMA at start was replaced by a
 * 1-page one followed by an mlocked one: MADV_FREE acts on that page
 * alone, and that page alone is counted and, under dontneed, rewritten
 * (lazyfree_matrix compares the return value and every page).
 */
TEST_F(acct, uffd_retry_counts_the_new_vma_only)
{
	for (int i = 0; i < 2; i++) {
		uint64_t want_rw = i == 0 ? lf_pagesize : 0;
		struct counts c0, c1;

		ASSERT_EQ(0, lf_cg_attr_write(self->cg.id, "mode", modes[i]));
		ASSERT_EQ(0, read_counts(self->cg.id, &c0));
		ASSERT_EQ(0, lf_run(self->cg.path, case_uffd_remap, NULL, self->r))
			TH_LOG("%s", self->r->msg);
		if (self->r->skip)
			SKIP(return, "%s", self->r->msg);
		ASSERT_FALSE(self->r->fail) TH_LOG("%s", self->r->msg);
		ASSERT_EQ(0, read_counts(self->cg.id, &c1));
		TH_LOG("%s: ret %ld, %ld REMOVE events, cgroup +%llu free +%llu rewritten",
		       modes[i], self->r->ret, self->r->aux[2],
		       (unsigned long long)(c1.cg_free - c0.cg_free),
		       (unsigned long long)(c1.cg_rw - c0.cg_rw));
		/* the return value is the kernel's: 7.x walks on into C (EINVAL) */
		EXPECT_LT(0, self->r->aux[2]) TH_LOG("the lock-dropping path was not taken");
		expect_grown(_metadata, modes[i], &c0, &c1, lf_pagesize, want_rw, 0);
	}
}

/*
 * A process with a page pinned (an io_uring fixed buffer) keeps MADV_FREE
 * under dontneed, even on pages it did not pin: counted as freed and as
 * pinned, never rewritten.  aux[0]: the first byte after the call.
 */
static void case_pinned(struct lf_result *r, const void *arg)
{
	char *p = lf_map_anon(4 * lf_pagesize), *buf = lf_map_anon(lf_pagesize);
	struct lf_ring *ring;
	int err;

	(void)arg;
	if (!p || !buf)
		return lf_failf(r, "mmap: %s", strerror(errno));
	memset(p, 0x42, 4 * lf_pagesize);
	memset(buf, 0x42, lf_pagesize);
	ring = lf_ring_open(&err);
	if (!ring && err)
		return lf_skip(r, "io_uring_setup: %s", strerror(err));
	if (!ring || lf_ring_register_buffer(ring, buf, lf_pagesize))
		return lf_failf(r, "io_uring fixed buffer: %s", strerror(errno));
	r->ret = madvise(p, 4 * lf_pagesize, MADV_FREE);
	r->err = errno;
	r->aux[0] = p[0];
	lf_ring_close(ring);
}

TEST_F(acct, pinning_process_keeps_madv_free)
{
	uint64_t want = 4 * lf_pagesize;

	for (int m = 0; m < 2; m++) {
		uint64_t want_pin = m == 0 ? want : 0;
		struct counts c0, c1;

		ASSERT_EQ(0, lf_cg_attr_write(self->cg.id, "mode", modes[m]));
		ASSERT_EQ(0, read_counts(self->cg.id, &c0));
		ASSERT_EQ(0, lf_run(self->cg.path, case_pinned, NULL, self->r))
			TH_LOG("%s", self->r->msg);
		if (self->r->skip)
			SKIP(return, "%s", self->r->msg);
		ASSERT_FALSE(self->r->fail) TH_LOG("%s", self->r->msg);
		EXPECT_EQ(0, self->r->ret);
		EXPECT_EQ(0x42, self->r->aux[0]) TH_LOG("%s: a pinning process's page was dropped",
							 modes[m]);
		ASSERT_EQ(0, read_counts(self->cg.id, &c1));
		expect_grown(_metadata, modes[m], &c0, &c1, want, 0, want_pin);
	}
}

/* A length that is not a page multiple is advised (and counted) rounded up. */
static void case_unaligned_len(struct lf_result *r, const void *arg)
{
	char *p = lf_map_anon(4 * lf_pagesize);

	(void)arg;
	if (!p)
		return lf_failf(r, "mmap: %s", strerror(errno));
	memset(p, 1, 4 * lf_pagesize);
	r->ret = madvise(p, 2 * lf_pagesize + 100, MADV_FREE);
	r->err = errno;
}

TEST_F(acct, unaligned_len_counts_pages)
{
	uint64_t want = 3 * lf_pagesize;

	for (int m = 0; m < 2; m++) {
		uint64_t want_rw = m == 0 ? want : 0;
		struct counts c0, c1;

		ASSERT_EQ(0, lf_cg_attr_write(self->cg.id, "mode", modes[m]));
		ASSERT_EQ(0, read_counts(self->cg.id, &c0));
		ASSERT_EQ(0, lf_run(self->cg.path, case_unaligned_len, NULL, self->r))
			TH_LOG("%s", self->r->msg);
		EXPECT_EQ(0, self->r->ret);
		ASSERT_EQ(0, read_counts(self->cg.id, &c1));
		expect_grown(_metadata, modes[m], &c0, &c1, want, want_rw, 0);
	}
}

/* A parent's counters are its own: a child's calls do not show there. */
TEST_F(acct, own_not_descendants)
{
	struct calls_arg a = { .calls = 4, .len = 65536 };
	struct lf_cg child;

	ASSERT_EQ(0, lf_cg_create(&child, "lf_counters/child"));
	ASSERT_EQ(0, lf_track(child.id));
	for (int m = 0; m < 2; m++) {
		uint64_t want_rw = m == 0 ? 4 * 65536 : 0;
		struct counts p0, p1, c0, c1;

		EXPECT_EQ(0, lf_cg_attr_write(self->cg.id, "mode", modes[m]));
		EXPECT_EQ(0, read_counts(self->cg.id, &p0));
		EXPECT_EQ(0, read_counts(child.id, &c0));
		EXPECT_EQ(0, lf_run(child.path, case_calls, &a, self->r)) TH_LOG("%s", self->r->msg);
		EXPECT_EQ(0, read_counts(self->cg.id, &p1));
		EXPECT_EQ(0, read_counts(child.id, &c1));
		EXPECT_EQ(p0.cg_free, p1.cg_free) TH_LOG("%s: parent counted its child's bytes", modes[m]);
		EXPECT_EQ(p0.cg_rw, p1.cg_rw) TH_LOG("%s", modes[m]);
		EXPECT_EQ(4ULL * 65536, c1.cg_free - c0.cg_free) TH_LOG("%s", modes[m]);
		EXPECT_EQ(want_rw, c1.cg_rw - c0.cg_rw) TH_LOG("%s", modes[m]);
		EXPECT_EQ(4ULL * 65536, p1.node_free - p0.node_free) TH_LOG("%s", modes[m]);
	}
	lf_cg_destroy(&child);
}

TEST_HARNESS_MAIN
