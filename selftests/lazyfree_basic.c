// SPDX-License-Identifier: GPL-2.0
/*
 * lazyfree basic behaviour: private anonymous memory advised MADV_FREE in a
 * `dontneed` cgroup reads 0 and leaves RSS at once; in a `free` cgroup it
 * keeps its contents (no memory pressure here) and LazyFree rises; a mode
 * change applies to the next madvise call of a running process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "lf_harness.h"
#include "lf_util.h"

#define REGION	(2UL << 20)	/* 512 pages of 4 KiB, THP off */
#define SLACK_KB	16	/* unrelated anon noise between two readings */

FIXTURE(basic) {
	struct lf_cg cg;
	struct lf_global g;
	struct lf_result *r;
};

FIXTURE_SETUP(basic)
{
	char name[64];

	ASSERT_TRUE(lf_module_loaded()) TH_LOG(LF_SYSFS " missing: module not loaded");
	ASSERT_EQ(0, lf_global_save(&self->g));
	ASSERT_EQ(0, lf_attr_write("enabled", "1"));
	ASSERT_EQ(0, lf_attr_write("default_mode", "free"));
	snprintf(name, sizeof(name), "lf_basic");
	ASSERT_EQ(0, lf_cg_create(&self->cg, name));
	ASSERT_EQ(0, lf_track(self->cg.id));
	self->r = lf_result_alloc();
	ASSERT_NE(NULL, self->r);
}

FIXTURE_TEARDOWN_PARENT(basic)
{
	lf_cg_destroy(&self->cg);
	lf_global_restore(&self->g);
}

/* Map REGION, write every page, MADV_FREE it, record RSS and bytes. */
static void case_anon(struct lf_result *r, const void *arg)
{
	int npages = REGION / lf_pagesize;
	char *p = lf_map_anon(REGION);

	(void)arg;
	if (!p)
		return lf_failf(r, "mmap: %s", strerror(errno));
	memset(p, 0x5a, REGION);
	lf_fill(r, 0, p, npages, 0x40, 'Z');
	lf_mem_before(r);
	r->ret = madvise(p, REGION, MADV_FREE);
	r->err = r->ret ? errno : 0;
	lf_mem_after(r);
	lf_read_after(r, 0, p, npages);
}

static int count_eq(const struct lf_result *r, bool zero)
{
	int n = 0;

	for (int i = 0; i < r->npages; i++)
		n += zero ? r->after[i] == 0 : r->after[i] == r->before[i];
	return n;
}

TEST_F(basic, dontneed_zeroes_and_drops_rss)
{
	struct lf_result *r = self->r;
	char buf[32];

	ASSERT_EQ(0, lf_cg_attr_write(self->cg.id, "mode", "dontneed"));
	ASSERT_EQ(0, lf_cg_attr_read(self->cg.id, "effective_mode", buf, sizeof(buf)));
	EXPECT_STREQ("dontneed", buf);
	ASSERT_EQ(0, lf_run(self->cg.path, case_anon, NULL, r)) TH_LOG("%s", r->msg);
	ASSERT_FALSE(r->fail) TH_LOG("%s", r->msg);
	EXPECT_EQ(0, r->ret) TH_LOG("madvise: %s", strerror(r->err));
	EXPECT_EQ(r->npages, count_eq(r, true))
		TH_LOG("%d of %d pages still hold data after MADV_FREE in a dontneed cgroup",
		       r->npages - count_eq(r, true), r->npages);
	ASSERT_GE(r->anon_before_kb, (long)(REGION >> 10));
	EXPECT_GE(r->anon_before_kb - r->anon_after_kb, (long)(REGION >> 10) - SLACK_KB)
		TH_LOG("Anonymous %ld kB -> %ld kB: RSS did not drop by %lu kB at once",
		       r->anon_before_kb, r->anon_after_kb, REGION >> 10);
	EXPECT_LE(r->lazy_after_kb, r->lazy_before_kb)
		TH_LOG("LazyFree rose %ld -> %ld kB in a dontneed cgroup",
		       r->lazy_before_kb, r->lazy_after_kb);
}

TEST_F(basic, free_keeps_data_lazyfree_rises)
{
	struct lf_result *r = self->r;
	char buf[32];

	ASSERT_EQ(0, lf_cg_attr_write(self->cg.id, "mode", "free"));
	ASSERT_EQ(0, lf_cg_attr_read(self->cg.id, "effective_mode", buf, sizeof(buf)));
	EXPECT_STREQ("free", buf);
	ASSERT_EQ(0, lf_run(self->cg.path, case_anon, NULL, r)) TH_LOG("%s", r->msg);
	ASSERT_FALSE(r->fail) TH_LOG("%s", r->msg);
	EXPECT_EQ(0, r->ret) TH_LOG("madvise: %s", strerror(r->err));
	EXPECT_EQ(r->npages, count_eq(r, false))
		TH_LOG("%d of %d pages lost their data in a free cgroup",
		       r->npages - count_eq(r, false), r->npages);
	EXPECT_LE(r->anon_before_kb - r->anon_after_kb, SLACK_KB)
		TH_LOG("Anonymous %ld kB -> %ld kB: memory left RSS in a free cgroup",
		       r->anon_before_kb, r->anon_after_kb);
	/* per-CPU LRU batches may hold back a few dozen pages */
	EXPECT_GE(r->lazy_after_kb - r->lazy_before_kb, (long)(REGION >> 11))
		TH_LOG("LazyFree %ld kB -> %ld kB: MADV_FREE did not mark pages lazy-free",
		       r->lazy_before_kb, r->lazy_after_kb);
}

/*
 * Fill the PTE table that maps one PMD-aligned PMD of memory, advise the
 * whole PMD with the advice in @arg, and report VmPTE before and after
 * (aux[0], aux[1]).
 */
static void case_pte_table(struct lf_result *r, const void *arg)
{
	size_t pmd = lf_pagesize / sizeof(uint64_t) * lf_pagesize;
	char *map = lf_map_anon(2 * pmd), *p;

	if (!map)
		return lf_failf(r, "mmap of %zu bytes: %s", 2 * pmd, strerror(errno));
	p = (char *)(((uintptr_t)map + pmd - 1) & ~(uintptr_t)(pmd - 1));
	memset(p, 0x5a, pmd);
	r->aux[0] = lf_status_kb("VmPTE");
	r->ret = madvise(p, pmd, *(const int *)arg);
	r->err = errno;
	r->aux[1] = lf_status_kb("VmPTE");
}

/*
 * From 6.14 MADV_DONTNEED frees a PTE table it leaves empty
 * (CONFIG_PT_RECLAIM); MADV_FREE in a dontneed cgroup must free it too.
 * Not on 7.1 and later: the only exported zap there takes no zap_details
 * (the admin guide's "Differences" says so).
 */
TEST_F(basic, empty_page_table_freed_like_dontneed)
{
	static const int dontneed = MADV_DONTNEED, free_ = MADV_FREE;
	long native, hooked;
	struct utsname u;
	int major = 0, minor = 0;

	if (lf_pagesize / sizeof(uint64_t) * lf_pagesize > (64UL << 20))
		SKIP(return, "a PMD maps %zu MiB with %zu-byte pages: too big to fill here",
		     lf_pagesize / sizeof(uint64_t) * lf_pagesize >> 20, lf_pagesize);
	ASSERT_EQ(0, lf_cg_attr_write(self->cg.id, "mode", "dontneed"));
	ASSERT_EQ(0, lf_run(self->cg.path, case_pte_table, &dontneed, self->r))
		TH_LOG("%s", self->r->msg);
	ASSERT_FALSE(self->r->fail) TH_LOG("%s", self->r->msg);
	ASSERT_EQ(0, self->r->ret) TH_LOG("MADV_DONTNEED: %s", strerror(self->r->err));
	ASSERT_GE(self->r->aux[1], 0) TH_LOG("no VmPTE in /proc/self/status");
	native = self->r->aux[0] - self->r->aux[1];
	ASSERT_EQ(0, lf_run(self->cg.path, case_pte_table, &free_, self->r))
		TH_LOG("%s", self->r->msg);
	ASSERT_FALSE(self->r->fail) TH_LOG("%s", self->r->msg);
	ASSERT_EQ(0, self->r->ret) TH_LOG("MADV_FREE: %s", strerror(self->r->err));
	hooked = self->r->aux[0] - self->r->aux[1];
	TH_LOG("VmPTE drop: MADV_DONTNEED %ld kB, MADV_FREE under dontneed %ld kB",
	       native, hooked);
	if (!native)
		SKIP(return, "MADV_DONTNEED frees no page table on this kernel (before 6.14 or no CONFIG_PT_RECLAIM): nothing to match");
	ASSERT_EQ(0, uname(&u));
	ASSERT_EQ(2, sscanf(u.release, "%d.%d", &major, &minor)) TH_LOG("release %s", u.release);
	if (hooked != native && major * 100 + minor >= 701)
		SKIP(return, "Linux %s: zap_vma_range() takes no zap_details, so the empty table stays (documented)",
		     u.release);
	EXPECT_EQ(native, hooked)
		TH_LOG("MADV_FREE under dontneed left VmPTE %ld kB higher than MADV_DONTNEED",
		       native - hooked);
}

/*
 * One running process: MADV_FREE under `free`, then the process itself
 * switches its cgroup to `dontneed`, then back. Each call must follow the
 * mode in force at that call.
 */
struct live_arg {
	uint64_t id;
};

static void case_live(struct lf_result *r, const void *arg)
{
	const struct live_arg *a = arg;
	static const char * const modes[] = { "free", "dontneed", "free", "dontneed" };
	size_t len = 16 * lf_pagesize;
	char *p = lf_map_anon(len);

	if (!p)
		return lf_failf(r, "mmap: %s", strerror(errno));
	for (int step = 0; step < 4; step++) {
		int err = lf_cg_attr_write(a->id, "mode", modes[step]);

		if (err)
			return lf_failf(r, "mode=%s: %s", modes[step], strerror(-err));
		memset(p, 0x33 + step, len);
		if (madvise(p, len, MADV_FREE))
			return lf_failf(r, "madvise: %s", strerror(errno));
		/* aux[step] = number of pages that read 0 */
		for (size_t i = 0; i < len; i += lf_pagesize)
			r->aux[step] += p[i] == 0;
	}
}

TEST_F(basic, mode_change_applies_to_next_call)
{
	struct live_arg a = { .id = self->cg.id };
	struct lf_result *r = self->r;

	ASSERT_EQ(0, lf_run(self->cg.path, case_live, &a, r)) TH_LOG("%s", r->msg);
	ASSERT_FALSE(r->fail) TH_LOG("%s", r->msg);
	EXPECT_EQ(0, r->aux[0]) TH_LOG("free: %ld pages zeroed", r->aux[0]);
	EXPECT_EQ(16, r->aux[1]) TH_LOG("dontneed: only %ld of 16 pages zeroed", r->aux[1]);
	EXPECT_EQ(0, r->aux[2]) TH_LOG("free again: %ld pages zeroed", r->aux[2]);
	EXPECT_EQ(16, r->aux[3]) TH_LOG("dontneed again: only %ld of 16 pages zeroed", r->aux[3]);
}

/* A second thread of the process advises: the mm owner's cgroup counts. */
static void *thread_free(void *arg)
{
	struct lf_result *r = arg;
	char *p = (char *)r->aux[0];

	r->ret = madvise(p, 16 * lf_pagesize, MADV_FREE);
	r->err = r->ret ? errno : 0;
	return NULL;
}

static void case_thread(struct lf_result *r, const void *arg)
{
	size_t len = 16 * lf_pagesize;
	char *p = lf_map_anon(len);
	pthread_t t;

	(void)arg;
	if (!p)
		return lf_failf(r, "mmap: %s", strerror(errno));
	lf_fill(r, 0, p, 16, 0x61, 'Z');
	r->aux[0] = (long)p;
	if (pthread_create(&t, NULL, thread_free, r))
		return lf_failf(r, "pthread_create failed");
	pthread_join(t, NULL);
	lf_read_after(r, 0, p, 16);
}

TEST_F(basic, other_thread_of_process)
{
	struct lf_result *r = self->r;

	ASSERT_EQ(0, lf_cg_attr_write(self->cg.id, "mode", "dontneed"));
	ASSERT_EQ(0, lf_run(self->cg.path, case_thread, NULL, r)) TH_LOG("%s", r->msg);
	ASSERT_FALSE(r->fail) TH_LOG("%s", r->msg);
	EXPECT_EQ(0, r->ret);
	EXPECT_EQ(16, count_eq(r, true));
}

/* The test's own cgroup must not be touched by a case child's cgroup mode. */
TEST_F(basic, other_cgroup_unaffected)
{
	struct lf_result *r = self->r;
	struct lf_cg other;
	char name[64];

	ASSERT_EQ(0, lf_cg_attr_write(self->cg.id, "mode", "dontneed"));
	snprintf(name, sizeof(name), "lf_basic_other");
	ASSERT_EQ(0, lf_cg_create(&other, name));
	ASSERT_EQ(0, lf_track(other.id));
	ASSERT_EQ(0, lf_cg_attr_write(other.id, "mode", "free"));
	EXPECT_EQ(0, lf_run(other.path, case_anon, NULL, r)) TH_LOG("%s", r->msg);
	EXPECT_FALSE(r->fail) TH_LOG("%s", r->msg);
	EXPECT_EQ(r->npages, count_eq(r, false))
		TH_LOG("a free cgroup lost data while a sibling is dontneed");
	lf_cg_destroy(&other);
}

/*
 * cgroup v2 threaded subtree: a thread of the process sits in a threaded
 * child cgroup with another mode. The mm owner's cgroup decides, not the
 * calling thread's.
 */
struct owner_arg {
	char threads[PATH_MAX + 32];	/* <threaded child>/cgroup.threads */
};

static void *thread_in_cgroup(void *arg)
{
	struct lf_result *r = arg;
	const struct owner_arg *a = (const void *)r->aux[1];
	char *p = (char *)r->aux[0];
	char tid[32];
	int err;

	snprintf(tid, sizeof(tid), "%ld", (long)gettid());
	err = lf_write_file(a->threads, tid);
	if (err) {
		lf_failf(r, "%s: %s", a->threads, strerror(-err));
		return NULL;
	}
	r->ret = madvise(p, 16 * lf_pagesize, MADV_FREE);
	r->err = r->ret ? errno : 0;
	return NULL;
}

static void case_owner(struct lf_result *r, const void *arg)
{
	size_t len = 16 * lf_pagesize;
	char *p = lf_map_anon(len);
	pthread_t t;

	if (!p)
		return lf_failf(r, "mmap: %s", strerror(errno));
	lf_fill(r, 0, p, 16, 0x51, 'K');
	r->aux[0] = (long)p;
	r->aux[1] = (long)arg;
	if (pthread_create(&t, NULL, thread_in_cgroup, r))
		return lf_failf(r, "pthread_create failed");
	pthread_join(t, NULL);
	lf_read_after(r, 0, p, 16);
}

TEST_F(basic, owner_cgroup_decides_not_thread)
{
	static const char *const owner_mode[2] = { "dontneed", "free" };
	static const char *const thread_mode[2] = { "free", "dontneed" };
	struct lf_result *r = self->r;
	struct owner_arg a;
	struct lf_cg t;
	char path[PATH_MAX + 32];
	int err;

	if (strcmp(lf_lane(), "v2"))
		SKIP(return, "threaded cgroups exist on cgroup v2 only");
	ASSERT_EQ(0, lf_cg_create(&t, "lf_basic/threads"));
	snprintf(path, sizeof(path), "%s/cgroup.type", t.path);
	err = lf_write_file(path, "threaded");
	if (err) {
		lf_cg_destroy(&t);
		SKIP(return, "cannot make a threaded cgroup: %s", strerror(-err));
	}
	snprintf(a.threads, sizeof(a.threads), "%s/cgroup.threads", t.path);
	ASSERT_EQ(0, lf_track(t.id));
	for (int i = 0; i < 2; i++) {
		int zero;

		ASSERT_EQ(0, lf_cg_attr_write(self->cg.id, "mode", owner_mode[i]));
		ASSERT_EQ(0, lf_cg_attr_write(t.id, "mode", thread_mode[i]));
		ASSERT_EQ(0, lf_run(self->cg.path, case_owner, &a, r)) TH_LOG("%s", r->msg);
		ASSERT_FALSE(r->fail) TH_LOG("%s", r->msg);
		EXPECT_EQ(0, r->ret);
		zero = count_eq(r, true);
		EXPECT_EQ(i == 0 ? 16 : 0, zero)
			TH_LOG("owner %s, calling thread's cgroup %s: %d of 16 pages zeroed",
			       owner_mode[i], thread_mode[i], zero);
	}
	lf_cg_destroy(&t);
}

TEST_HARNESS_MAIN
