// SPDX-License-Identifier: GPL-2.0
/*
 * Auto-discovery and removal: a cgroup that calls MADV_FREE gets its
 * cgroups/<id>/ directory (mode inherit) shortly after (the calls before
 * that count node-wide only), counting every call from then on; other advice does not create one; a removed cgroup's directory
 * disappears within seconds; create/advise/remove churn returns the tracked
 * set to where it started.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lf_harness.h"
#include "lf_util.h"

#define APPEAR_MS	3000	/* ABI: ~2 s; a little room for TCG */
#define VANISH_MS	10000	/* pruned each second; TCG timers run late */
#define NPAGES		16

FIXTURE(discovery) {
	struct lf_global g;
	struct lf_cg cg;
	struct lf_result *r;
};

FIXTURE_SETUP(discovery)
{
	ASSERT_TRUE(lf_module_loaded()) TH_LOG(LF_SYSFS " missing: module not loaded");
	ASSERT_EQ(0, lf_global_save(&self->g));
	ASSERT_EQ(0, lf_attr_write("enabled", "1"));
	ASSERT_EQ(0, lf_attr_write("default_mode", "free"));
	ASSERT_EQ(0, lf_cg_create(&self->cg, "lf_discovery"));
	ASSERT_EQ(0, lf_untrack(self->cg.id));
	self->r = lf_result_alloc();
	ASSERT_NE(NULL, self->r);
}

FIXTURE_TEARDOWN_PARENT(discovery)
{
	lf_cg_destroy(&self->cg);
	lf_global_restore(&self->g);
}

static void case_advise(struct lf_result *r, const void *arg)
{
	int advice = arg ? *(const int *)arg : MADV_FREE;
	size_t len = NPAGES * lf_pagesize;
	char *p = lf_map_anon(len);

	if (!p)
		return lf_failf(r, "mmap: %s", strerror(errno));
	memset(p, 1, len);
	r->ret = madvise(p, len, advice);
	r->err = errno;
}

TEST_F(discovery, appears_after_madv_free)
{
	char buf[PATH_MAX];
	uint64_t v;
	int ms;

	ASSERT_FALSE(lf_cg_tracked(self->cg.id));
	ASSERT_EQ(0, lf_run(self->cg.path, case_advise, NULL, self->r)) TH_LOG("%s", self->r->msg);
	ASSERT_EQ(0, self->r->ret);
	ms = lf_wait_tracked(self->cg.id, true, APPEAR_MS);
	ASSERT_LE(0, ms) TH_LOG("cgroups/%llu did not appear within %d ms",
				(unsigned long long)self->cg.id, APPEAR_MS);
	TH_LOG("cgroups/%llu appeared after %d ms", (unsigned long long)self->cg.id, ms);
	EXPECT_EQ(0, lf_cg_attr_read(self->cg.id, "mode", buf, sizeof(buf)));
	EXPECT_STREQ("inherit", buf);
	EXPECT_EQ(0, lf_cg_attr_read(self->cg.id, "path", buf, sizeof(buf)));
	EXPECT_STREQ(self->cg.rel, buf);
	/* ABI: calls before the directory exists count node-wide only */
	EXPECT_EQ(0, lf_cg_attr_u64(self->cg.id, "free_bytes", &v));
	EXPECT_EQ(0ULL, v) TH_LOG("free_bytes %llu before any call after discovery",
				  (unsigned long long)v);
	/* from now on every call counts */
	ASSERT_EQ(0, lf_run(self->cg.path, case_advise, NULL, self->r)) TH_LOG("%s", self->r->msg);
	EXPECT_EQ(0, lf_cg_attr_u64(self->cg.id, "free_bytes", &v));
	EXPECT_EQ(NPAGES * lf_pagesize, v);
	EXPECT_EQ(0, lf_cg_attr_u64(self->cg.id, "rewritten_bytes", &v));
	EXPECT_EQ(0ULL, v);
}

TEST_F(discovery, other_advice_does_not_discover)
{
	static const int advice[] = { MADV_DONTNEED, MADV_COLD, MADV_WILLNEED };

	for (size_t i = 0; i < ARRAY_SIZE(advice); i++) {
		ASSERT_EQ(0, lf_run(self->cg.path, case_advise, &advice[i], self->r))
			TH_LOG("%s", self->r->msg);
	}
	lf_msleep(APPEAR_MS);
	EXPECT_FALSE(lf_cg_tracked(self->cg.id)) TH_LOG("discovered without MADV_FREE");
}

TEST_F(discovery, not_discovered_while_disabled)
{
	ASSERT_EQ(0, lf_attr_write("enabled", "0"));
	ASSERT_EQ(0, lf_run(self->cg.path, case_advise, NULL, self->r)) TH_LOG("%s", self->r->msg);
	lf_msleep(APPEAR_MS);
	EXPECT_FALSE(lf_cg_tracked(self->cg.id)) TH_LOG("discovered with enabled=0");
}

TEST_F(discovery, removed_cgroup_vanishes)
{
	int ms;

	ASSERT_EQ(0, lf_run(self->cg.path, case_advise, NULL, self->r)) TH_LOG("%s", self->r->msg);
	ASSERT_LE(0, lf_wait_tracked(self->cg.id, true, APPEAR_MS));
	ASSERT_EQ(0, rmdir(self->cg.path)) TH_LOG("rmdir %s: %s", self->cg.path, strerror(errno));
	self->cg.created = false;
	ms = lf_wait_tracked(self->cg.id, false, VANISH_MS);
	EXPECT_LE(0, ms) TH_LOG("cgroups/%llu still there %d ms after rmdir",
				(unsigned long long)self->cg.id, VANISH_MS);
	TH_LOG("vanished %d ms after rmdir", ms);
}

/* An explicitly configured (added, mode set) cgroup vanishes too. */
TEST_F(discovery, removed_configured_vanishes)
{
	struct lf_cg child;
	int ms;

	ASSERT_EQ(0, lf_track(self->cg.id));
	ASSERT_EQ(0, lf_cg_attr_write(self->cg.id, "mode", "dontneed"));
	ASSERT_EQ(0, lf_cg_create(&child, "lf_discovery/child"));
	ASSERT_EQ(0, lf_track(child.id));
	ASSERT_EQ(0, lf_cg_destroy(&child));
	ASSERT_EQ(0, rmdir(self->cg.path));
	self->cg.created = false;
	ms = lf_wait_tracked(self->cg.id, false, VANISH_MS);
	EXPECT_LE(0, ms) TH_LOG("parent still tracked after rmdir");
	EXPECT_LE(0, lf_wait_tracked(child.id, false, VANISH_MS)) TH_LOG("child still tracked");
	/* the id of a removed cgroup cannot be added back */
	{
		char id[32];

		snprintf(id, sizeof(id), "%llu", (unsigned long long)self->cg.id);
		EXPECT_EQ(-ENOENT, lf_attr_write("cgroups/add", id));
	}
}

/* Create, advise (discover), remove N cgroups; tracked set returns. */
TEST_F_TIMEOUT(discovery, churn, 200)
{
	/* 200 take 130-150 s on the debug kernel, near the timeout */
	int n0 = lf_count_tracked(), n1, n = lf_debug_kernel() ? 50 : 200;
	int discovered = 0;
	long start = lf_now_ms();

	ASSERT_LE(0, n0);
	for (int i = 0; i < n; i++) {
		struct lf_cg cg;
		char name[64];

		snprintf(name, sizeof(name), "lf_discovery/c%d", i);
		ASSERT_EQ(0, lf_cg_create(&cg, name));
		EXPECT_EQ(0, lf_run(cg.path, case_advise, NULL, self->r)) TH_LOG("%s", self->r->msg);
		/* wait for the discovery, so the removal races nothing */
		discovered += lf_wait_tracked(cg.id, true, APPEAR_MS) >= 0;
		cg.id = 0;	/* leave it to the module to notice the rmdir */
		ASSERT_EQ(0, lf_cg_destroy(&cg));
	}
	for (int waited = 0; waited < 10000; waited += 100) {
		n1 = lf_count_tracked();
		if (n1 <= n0)
			break;
		lf_msleep(100);
	}
	TH_LOG("%d cgroups churned in %ld ms, %d discovered; tracked %d -> %d",
	       n, lf_now_ms() - start, discovered, n0, n1);
	EXPECT_EQ(n, discovered);
	EXPECT_EQ(n0, n1);
}

TEST_HARNESS_MAIN
