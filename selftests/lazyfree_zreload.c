// SPDX-License-Identifier: GPL-2.0
/*
 * Module parameters and reloads (runs last: it unloads and reloads the
 * module, always leaving it loaded with the hook it found):
 * counters restart from zero and tracked cgroups are forgotten on reload;
 * enabled= and default_mode= apply at load; max_cgroups bounds tracking
 * (ENOSPC from cgroups/add, no directory from discovery, node counters
 * still count); bad parameters refuse to load; reloads while a process
 * advises MADV_FREE in a loop.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lf_harness.h"
#include "lf_util.h"

/* rmmod (if loaded) + insmod with the rig's hook and <params>. */
static int reload(const char *params)
{
	if (lf_module_loaded())
		lf_module_unload();
	return lf_module_load(params);
}

FIXTURE(reload) {
	struct lf_cg cg;
	struct lf_result *r;
};

FIXTURE_SETUP(reload)
{
	if (!lf_can_reload())
		SKIP(return, "LAZYFREE_KO not set or unreadable: cannot reload the module");
	ASSERT_TRUE(lf_module_loaded()) TH_LOG(LF_SYSFS " missing: module not loaded");
	ASSERT_EQ(0, lf_cg_create(&self->cg, "lf_reload"));
	self->r = lf_result_alloc();
	ASSERT_NE(NULL, self->r);
}

FIXTURE_TEARDOWN_PARENT(reload)
{
	if (lf_can_reload())
		lf_module_restore();
	lf_cg_destroy(&self->cg);
}

static void case_free(struct lf_result *r, const void *arg)
{
	size_t len = 16 * lf_pagesize;
	char *p = lf_map_anon(len);

	(void)arg;
	if (!p)
		return lf_failf(r, "mmap: %s", strerror(errno));
	memset(p, 1, len);
	r->ret = madvise(p, len, MADV_FREE);
	r->err = errno;
	r->aux[0] = p[0];
}

TEST_F_TIMEOUT(reload, counters_and_cgroups_reset, 120)
{
	uint64_t v;
	char buf[32];

	ASSERT_EQ(0, lf_track(self->cg.id));
	ASSERT_EQ(0, lf_cg_attr_write(self->cg.id, "mode", "dontneed"));
	ASSERT_EQ(0, lf_run(self->cg.path, case_free, NULL, self->r)) TH_LOG("%s", self->r->msg);
	ASSERT_EQ(0, lf_attr_u64("free_bytes", &v));
	ASSERT_LT(0ULL, v);
	ASSERT_EQ(0, reload(NULL)) TH_LOG("insmod failed");
	ASSERT_TRUE(lf_module_loaded());
	EXPECT_EQ(0, lf_attr_u64("free_bytes", &v));
	EXPECT_EQ(0ULL, v);
	EXPECT_EQ(0, lf_attr_u64("rewritten_bytes", &v));
	EXPECT_EQ(0ULL, v);
	EXPECT_FALSE(lf_cg_tracked(self->cg.id)) TH_LOG("tracked cgroup survived a reload");
	EXPECT_EQ(0, lf_attr_read("enabled", buf, sizeof(buf)));
	EXPECT_STREQ("1", buf);
	EXPECT_EQ(0, lf_attr_read("default_mode", buf, sizeof(buf)));
	EXPECT_STREQ("free", buf);
	/* works after the reload */
	ASSERT_EQ(0, lf_track(self->cg.id));
	ASSERT_EQ(0, lf_cg_attr_write(self->cg.id, "mode", "dontneed"));
	ASSERT_EQ(0, lf_run(self->cg.path, case_free, NULL, self->r)) TH_LOG("%s", self->r->msg);
	EXPECT_EQ(0, self->r->aux[0]) TH_LOG("dontneed not applied after reload");
	EXPECT_EQ(0, lf_attr_u64("free_bytes", &v));
	EXPECT_EQ(16 * lf_pagesize, v);
}

TEST_F_TIMEOUT(reload, load_parameters, 120)
{
	char buf[64];

	ASSERT_EQ(0, reload("enabled=0 default_mode=dontneed")) TH_LOG("insmod with parameters failed");
	ASSERT_TRUE(lf_module_loaded());
	EXPECT_EQ(0, lf_attr_read("enabled", buf, sizeof(buf)));
	EXPECT_STREQ("0", buf);
	EXPECT_EQ(0, lf_attr_read("default_mode", buf, sizeof(buf)));
	EXPECT_STREQ("dontneed", buf);
	/* enabled=0 at load: no rewrite */
	ASSERT_EQ(0, lf_run(self->cg.path, case_free, NULL, self->r)) TH_LOG("%s", self->r->msg);
	EXPECT_EQ(1, self->r->aux[0]) TH_LOG("rewritten although loaded with enabled=0");
	ASSERT_EQ(0, lf_attr_write("enabled", "1"));
	ASSERT_EQ(0, lf_run(self->cg.path, case_free, NULL, self->r)) TH_LOG("%s", self->r->msg);
	EXPECT_EQ(0, self->r->aux[0]) TH_LOG("default_mode=dontneed from the command line not applied");
	EXPECT_EQ(0, lf_attr_read("hook", buf, sizeof(buf)));
	if (lf_hook_env()) {
		EXPECT_NE(NULL, strstr(buf, lf_hook_env()))
			TH_LOG("hook file '%s' after hook=%s", buf, lf_hook_env());
	}
}

TEST_F_TIMEOUT(reload, bad_parameters_refused, 120)
{
	static const char *const bad[] = {
		"hook=bogus", "default_mode=inherit", "default_mode=bogus",
		"enabled=2", "max_cgroups=-1", "max_cgroups=abc",
		"max_cgroups=0", "max_cgroups=1048577",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (lf_module_loaded())
			lf_module_unload();
		EXPECT_NE(0, lf_module_load(bad[i])) TH_LOG("insmod %s succeeded", bad[i]);
		EXPECT_FALSE(lf_module_loaded()) TH_LOG("loaded with %s", bad[i]);
	}
	lf_module_restore();
	ASSERT_TRUE(lf_module_loaded());
}

TEST_F_TIMEOUT(reload, max_cgroups_bound, 120)
{
	struct lf_cg cg[4];
	char name[64], id[32];
	uint64_t n0, n1, v;
	int err;

	ASSERT_EQ(0, reload("max_cgroups=3")) TH_LOG("insmod max_cgroups=3 failed");
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "lf_reload/m%d", i);
		ASSERT_EQ(0, lf_cg_create(&cg[i], name));
	}
	for (int i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "%llu", (unsigned long long)cg[i].id);
		EXPECT_EQ(0, lf_attr_write("cgroups/add", id)) TH_LOG("add #%d", i + 1);
	}
	snprintf(id, sizeof(id), "%llu", (unsigned long long)cg[3].id);
	err = lf_attr_write("cgroups/add", id);
	EXPECT_EQ(-ENOSPC, err) TH_LOG("4th add with max_cgroups=3: %s", err ? strerror(-err) : "success");
	EXPECT_FALSE(lf_cg_tracked(cg[3].id));
	/* beyond the bound: not discovered, but the node still counts */
	ASSERT_EQ(0, lf_attr_u64("free_bytes", &n0));
	ASSERT_EQ(0, lf_run(cg[3].path, case_free, NULL, self->r)) TH_LOG("%s", self->r->msg);
	ASSERT_EQ(0, lf_attr_u64("free_bytes", &n1));
	EXPECT_EQ(16 * lf_pagesize, n1 - n0);
	lf_msleep(2500);
	EXPECT_FALSE(lf_cg_tracked(cg[3].id)) TH_LOG("discovered beyond max_cgroups");
	/* removing one makes room */
	snprintf(id, sizeof(id), "%llu", (unsigned long long)cg[0].id);
	EXPECT_EQ(0, lf_attr_write("cgroups/remove", id));
	lf_wait_tracked(cg[0].id, false, 3000);
	snprintf(id, sizeof(id), "%llu", (unsigned long long)cg[3].id);
	EXPECT_EQ(0, lf_attr_write("cgroups/add", id));
	EXPECT_EQ(0, lf_cg_attr_u64(cg[3].id, "free_bytes", &v));
	for (int i = 3; i >= 0; i--)
		lf_cg_destroy(&cg[i]);
	EXPECT_EQ(0, reload(NULL));
}

/* Reload while a process in a dontneed cgroup advises in a loop. */
static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void case_loop(struct lf_result *r, const void *arg)
{
	size_t len = 8 * lf_pagesize;
	char *p = lf_map_anon(len);

	(void)arg;
	signal(SIGTERM, on_term);
	if (!p)
		return lf_failf(r, "mmap: %s", strerror(errno));
	while (!stop) {
		memset(p, 0x3c, len);
		if (madvise(p, len, MADV_FREE)) {
			r->aux[1]++;
			break;
		}
		/* each page is either kept or zero, never anything else */
		for (size_t i = 0; i < len; i += lf_pagesize)
			if (p[i] != 0 && p[i] != 0x3c)
				r->aux[2]++;
		r->aux[0]++;
	}
}

TEST_F_TIMEOUT(reload, reload_under_madvise, 280)
{
	int reloads = 10, ok = 0;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		lf_cg_enter(self->cg.path);
		case_loop(self->r, NULL);
		self->r->done = 1;
		_exit(0);
	}
	for (int i = 0; i < reloads; i++) {
		char id[32];

		if (reload(NULL))
			break;
		snprintf(id, sizeof(id), "%llu", (unsigned long long)self->cg.id);
		lf_attr_write("cgroups/add", id);
		lf_cg_attr_write(self->cg.id, "mode", i % 2 ? "free" : "dontneed");
		lf_msleep(100);
		ok++;
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	TH_LOG("%d reloads, %ld MADV_FREE calls meanwhile", ok, self->r->aux[0]);
	EXPECT_EQ(reloads, ok);
	EXPECT_EQ(0, self->r->aux[1]) TH_LOG("madvise failed during reloads");
	EXPECT_EQ(0, self->r->aux[2]) TH_LOG("pages read neither kept nor zero");
	EXPECT_LT(0, self->r->aux[0]);
}

TEST_HARNESS_MAIN
