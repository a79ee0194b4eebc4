// SPDX-License-Identifier: GPL-2.0
/*
 * Mode inheritance across a parent / child / grandchild chain of cgroups:
 * a mode on the parent applies to the grandchild, an explicit child mode
 * overrides it, `inherit` restores the ancestor's, and default_mode applies
 * where no ancestor has an explicit mode. Both the effective_mode files and
 * what MADV_FREE actually does in the grandchild are checked at every step.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lf_harness.h"
#include "lf_util.h"

FIXTURE(inherit) {
	struct lf_cg cg[3];	/* parent, child, grandchild */
	struct lf_global g;
	struct lf_result *r;
};

FIXTURE_SETUP(inherit)
{
	static const char *const rel[3] = {
		"lf_inh", "lf_inh/child", "lf_inh/child/grandchild",
	};

	ASSERT_TRUE(lf_module_loaded()) TH_LOG(LF_SYSFS " missing: module not loaded");
	ASSERT_EQ(0, lf_global_save(&self->g));
	ASSERT_EQ(0, lf_attr_write("enabled", "1"));
	ASSERT_EQ(0, lf_attr_write("default_mode", "free"));
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(0, lf_cg_create(&self->cg[i], rel[i]));
		ASSERT_EQ(0, lf_track(self->cg[i].id));
	}
	self->r = lf_result_alloc();
	ASSERT_NE(NULL, self->r);
}

FIXTURE_TEARDOWN_PARENT(inherit)
{
	for (int i = 2; i >= 0; i--)
		lf_cg_destroy(&self->cg[i]);
	lf_global_restore(&self->g);
}

/* aux[0] = pages of 16 that read 0 after MADV_FREE */
static void case_free16(struct lf_result *r, const void *arg)
{
	size_t len = 16 * lf_pagesize;
	char *p = lf_map_anon(len);

	(void)arg;
	if (!p)
		return lf_failf(r, "mmap: %s", strerror(errno));
	memset(p, 0x77, len);
	if (madvise(p, len, MADV_FREE))
		return lf_failf(r, "madvise: %s", strerror(errno));
	for (size_t i = 0; i < len; i += lf_pagesize)
		r->aux[0] += p[i] == 0;
}

/*
 * Check effective_mode of parent/child/grandchild against want[] and that
 * MADV_FREE in the grandchild behaves as want[2].
 */
static void check_step(struct __test_metadata *_metadata,
		       FIXTURE_DATA(inherit) *self, const char *step,
		       const char *const want[3])
{
	static const char *const who[3] = { "parent", "child", "grandchild" };
	char buf[32];

	for (int i = 0; i < 3; i++) {
		buf[0] = '\0';
		EXPECT_EQ(0, lf_cg_attr_read(self->cg[i].id, "effective_mode",
					     buf, sizeof(buf)));
		EXPECT_STREQ(want[i], buf)
			TH_LOG("%s: %s effective_mode is '%s', want '%s'",
			       step, who[i], buf, want[i]);
	}
	ASSERT_EQ(0, lf_run(self->cg[2].path, case_free16, NULL, self->r))
		TH_LOG("%s: %s", step, self->r->msg);
	EXPECT_FALSE(self->r->fail) TH_LOG("%s: %s", step, self->r->msg);
	EXPECT_EQ(strcmp(want[2], "dontneed") ? 0 : 16, self->r->aux[0])
		TH_LOG("%s: %ld of 16 pages zeroed in the grandchild, effective mode should be %s",
		       step, self->r->aux[0], want[2]);
}

static void set_mode(struct __test_metadata *_metadata,
		     FIXTURE_DATA(inherit) *self, int i, const char *mode)
{
	char buf[32];

	ASSERT_EQ(0, lf_cg_attr_write(self->cg[i].id, "mode", mode));
	ASSERT_EQ(0, lf_cg_attr_read(self->cg[i].id, "mode", buf, sizeof(buf)));
	ASSERT_STREQ(mode, buf);
}

/* One step: set <who> (0-2 a cgroup, 3 default_mode) to <mode>, then check. */
struct step {
	const char *what;
	int who;
	const char *mode;
	const char *want[3];
};

#define F "free"
#define D "dontneed"
#define I "inherit"

static const struct step chain_steps[] = {
	{ "all inherit, default free",		-1, NULL, { F, F, F } },
	{ "parent dontneed",			0, D, { D, D, D } },
	{ "child free overrides parent",	1, F, { D, F, F } },
	{ "grandchild explicit dontneed",	2, D, { D, F, D } },
	{ "grandchild inherit again",		2, I, { D, F, F } },
	{ "child inherit restores parent's",	1, I, { D, D, D } },
	{ "parent inherit: default free",	0, I, { F, F, F } },
	{ "default_mode dontneed",		3, D, { D, D, D } },
	{ "explicit free under default dontneed", 1, F, { D, F, F } },
	{ "child inherit under default dontneed", 1, I, { D, D, D } },
	{ "default_mode back to free",		3, F, { F, F, F } },
};

TEST_F_TIMEOUT(inherit, chain, 120)
{
	for (size_t i = 0; i < ARRAY_SIZE(chain_steps); i++) {
		const struct step *st = &chain_steps[i];

		if (st->who == 3) {
			ASSERT_EQ(0, lf_attr_write("default_mode", st->mode));
		} else if (st->who >= 0) {
			set_mode(_metadata, self, st->who, st->mode);
		}
		check_step(_metadata, self, st->what, st->want);
	}
}

/*
 * An untracked middle cgroup is transparent: the grandchild still inherits
 * the parent's explicit mode through it.
 */
TEST_F_TIMEOUT(inherit, through_untracked_middle, 60)
{
	const char *const w[3] = { "dontneed", "dontneed", "dontneed" };
	char buf[32];

	ASSERT_EQ(0, lf_untrack(self->cg[1].id));
	ASSERT_LE(0, lf_wait_tracked(self->cg[1].id, false, 3000));
	set_mode(_metadata, self, 0, "dontneed");
	/* the middle one is not tracked: only check the grandchild's file */
	EXPECT_EQ(0, lf_cg_attr_read(self->cg[2].id, "effective_mode", buf, sizeof(buf)));
	EXPECT_STREQ(w[2], buf);
	ASSERT_EQ(0, lf_run(self->cg[2].path, case_free16, NULL, self->r)) TH_LOG("%s", self->r->msg);
	EXPECT_EQ(16, self->r->aux[0]);
}

/* The default applies to a tracked cgroup whose whole chain is inherit. */
TEST_F(inherit, default_mode_top)
{
	char buf[32];

	ASSERT_EQ(0, lf_attr_write("default_mode", "dontneed"));
	ASSERT_EQ(0, lf_attr_read("default_mode", buf, sizeof(buf)));
	EXPECT_STREQ("dontneed", buf);
	ASSERT_EQ(0, lf_cg_attr_read(self->cg[0].id, "mode", buf, sizeof(buf)));
	EXPECT_STREQ("inherit", buf);
	ASSERT_EQ(0, lf_run(self->cg[0].path, case_free16, NULL, self->r)) TH_LOG("%s", self->r->msg);
	EXPECT_EQ(16, self->r->aux[0]);
	ASSERT_EQ(0, lf_attr_write("default_mode", "free"));
	ASSERT_EQ(0, lf_run(self->cg[0].path, case_free16, NULL, self->r)) TH_LOG("%s", self->r->msg);
	EXPECT_EQ(0, self->r->aux[0]);
}

/* Untracking the ancestor that set the mode: its descendants fall back. */
TEST_F(inherit, untrack_ancestor)
{
	char buf[32];

	set_mode(_metadata, self, 0, "dontneed");
	ASSERT_EQ(0, lf_run(self->cg[2].path, case_free16, NULL, self->r)) TH_LOG("%s", self->r->msg);
	EXPECT_EQ(16, self->r->aux[0]);
	ASSERT_EQ(0, lf_untrack(self->cg[0].id));
	ASSERT_LE(0, lf_wait_tracked(self->cg[0].id, false, 3000));
	EXPECT_EQ(0, lf_cg_attr_read(self->cg[2].id, "effective_mode", buf, sizeof(buf)));
	EXPECT_STREQ("free", buf);
	ASSERT_EQ(0, lf_run(self->cg[2].path, case_free16, NULL, self->r)) TH_LOG("%s", self->r->msg);
	EXPECT_EQ(0, self->r->aux[0]) TH_LOG("mode of an untracked ancestor still applies");
	/* tracked again, it starts as inherit */
	ASSERT_EQ(0, lf_track(self->cg[0].id));
	ASSERT_EQ(0, lf_run(self->cg[2].path, case_free16, NULL, self->r)) TH_LOG("%s", self->r->msg);
	EXPECT_EQ(0, self->r->aux[0]);
	set_mode(_metadata, self, 0, "dontneed");
	ASSERT_EQ(0, lf_run(self->cg[2].path, case_free16, NULL, self->r)) TH_LOG("%s", self->r->msg);
	EXPECT_EQ(16, self->r->aux[0]) TH_LOG("re-added ancestor's mode not applied");
}

/* A process that moves to another cgroup follows that cgroup's mode. */
static void case_migrate(struct lf_result *r, const void *arg)
{
	const char *const *paths = arg;	/* [0] start (free), [1] target (dontneed) */
	size_t len = 16 * lf_pagesize;
	char *p = lf_map_anon(len);
	int err;

	if (!p)
		return lf_failf(r, "mmap: %s", strerror(errno));
	for (int step = 0; step < 3; step++) {
		if (step) {
			err = lf_cg_enter(paths[step % 2]);
			if (err)
				return lf_failf(r, "move: %s", strerror(-err));
		}
		memset(p, 0x66, len);
		if (madvise(p, len, MADV_FREE))
			return lf_failf(r, "madvise: %s", strerror(errno));
		for (size_t i = 0; i < len; i += lf_pagesize)
			r->aux[step] += p[i] == 0;
	}
}

TEST_F(inherit, process_moves_between_cgroups)
{
	const char *paths[2] = { self->cg[0].path, self->cg[2].path };

	set_mode(_metadata, self, 0, "free");
	set_mode(_metadata, self, 2, "dontneed");
	ASSERT_EQ(0, lf_run(self->cg[0].path, case_migrate, paths, self->r)) TH_LOG("%s", self->r->msg);
	ASSERT_FALSE(self->r->fail) TH_LOG("%s", self->r->msg);
	EXPECT_EQ(0, self->r->aux[0]) TH_LOG("in the free cgroup: %ld zeroed", self->r->aux[0]);
	EXPECT_EQ(16, self->r->aux[1]) TH_LOG("after moving to dontneed: %ld zeroed", self->r->aux[1]);
	EXPECT_EQ(0, self->r->aux[2]) TH_LOG("after moving back to free: %ld zeroed", self->r->aux[2]);
}

TEST_HARNESS_MAIN
