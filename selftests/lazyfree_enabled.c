// SPDX-License-Identifier: GPL-2.0
/*
 * `enabled` and `hook`: the hook file names the probed functions and the
 * mechanism the module was loaded with; enabled=0 removes every probe
 * (nothing in debugfs kprobes/list, nothing in tracefs enabled_functions)
 * and behaves exactly as an unhooked kernel, counters included; enabled=1
 * puts the probes back.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lf_harness.h"
#include "lf_util.h"

#define MAX_HOOKS 8

struct hooks {
	int n;
	char fn[MAX_HOOKS][128];
	char mech[MAX_HOOKS][32];
};

static int read_hooks(struct hooks *h)
{
	char buf[2048], *line, *save = NULL;
	int err = lf_attr_read("hook", buf, sizeof(buf));

	memset(h, 0, sizeof(*h));
	if (err)
		return err;
	for (line = strtok_r(buf, "\n", &save); line && h->n < MAX_HOOKS;
	     line = strtok_r(NULL, "\n", &save)) {
		char extra[9];

		int n = sscanf(line, "%127s %31s %8s", h->fn[h->n], h->mech[h->n], extra);

		/* a third word only on a line the load gate calls untested */
		if (n != 2 && (n != 3 || strcmp(extra, "untested")))
			return -EINVAL;
		h->n++;
	}
	return h->n ? 0 : -ENODATA;
}

static char bigbuf[1 << 20];

static const char *debugfs(void)
{
	struct stat st;

	if (stat("/sys/kernel/debug/kprobes", &st))
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	return "/sys/kernel/debug";
}

/* Path of enabled_functions: tracefs at /sys/kernel/tracing or in debugfs. */
static const char *enabled_functions(void)
{
	static const char *const paths[] = {
		"/sys/kernel/tracing/enabled_functions",
		"/sys/kernel/debug/tracing/enabled_functions",
	};

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < 2; i++)
			if (!access(paths[i], R_OK))
				return paths[i];
		debugfs();
		mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL);
	}
	return NULL;
}

/* Lines of kprobes/list naming fn ("<addr>  k  fn+0x0  [FTRACE]"). */
static int kprobe_lines(const char *fn)
{
	char path[256], *p;
	size_t len = strlen(fn);
	int n = 0;

	snprintf(path, sizeof(path), "%s/kprobes/list", debugfs());
	if (lf_read_file(path, bigbuf, sizeof(bigbuf)))
		return -1;
	for (p = bigbuf; (p = strstr(p, fn)); p += len)
		if ((p == bigbuf || p[-1] == ' ' || p[-1] == '\t') &&
		    (p[len] == '+' || p[len] == ' ' || p[len] == '\n' || !p[len]))
			n++;
	return n;
}

static int count_ftrace_lines(const char *path, const char *fn)
{
	size_t len = strlen(fn);
	char *p;
	int n = 0;

	if (lf_read_file(path, bigbuf, sizeof(bigbuf)))
		return -1;
	for (p = bigbuf; p && *p; ) {
		if (!strncmp(p, fn, len) && (p[len] == ' ' || p[len] == '\t' || p[len] == '('))
			n++;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return n;
}

/*
 * Lines of enabled_functions starting with fn, read through tracefs at
 * /sys/kernel/tracing and through debugfs' tracing/ (both when both are
 * there; they must agree, else -2). -1: neither readable.
 */
static int ftrace_lines(const char *fn)
{
	static const char *const paths[] = {
		"/sys/kernel/tracing/enabled_functions",
		"/sys/kernel/debug/tracing/enabled_functions",
	};
	int n = -1;

	if (!enabled_functions())
		return -1;
	for (size_t i = 0; i < 2; i++) {
		int k = count_ftrace_lines(paths[i], fn);

		if (k < 0)
			continue;
		if (n >= 0 && k != n)
			return -2;
		n = k;
	}
	return n;
}

FIXTURE(enabled) {
	struct lf_global g;
	struct hooks h;
	struct lf_cg cg;
	struct lf_result *r;
};

FIXTURE_SETUP(enabled)
{
	ASSERT_TRUE(lf_module_loaded()) TH_LOG(LF_SYSFS " missing: module not loaded");
	ASSERT_EQ(0, lf_global_save(&self->g));
	ASSERT_EQ(0, lf_attr_write("enabled", "1"));
	ASSERT_EQ(0, read_hooks(&self->h)) TH_LOG("hook file is not '<function> <mechanism>' lines");
	ASSERT_EQ(0, lf_cg_create(&self->cg, "lf_enabled"));
	ASSERT_EQ(0, lf_track(self->cg.id));
	self->r = lf_result_alloc();
	ASSERT_NE(NULL, self->r);
}

FIXTURE_TEARDOWN_PARENT(enabled)
{
	/* a test that stopped half-way leaves ftrace on again */
	lf_write_file("/proc/sys/kernel/ftrace_enabled", "1");
	lf_cg_destroy(&self->cg);
	lf_global_restore(&self->g);
}

TEST_F(enabled, hook_file_names_mechanism)
{
	const char *want = lf_hook_env();
	char param[32];

	for (int i = 0; i < self->h.n; i++) {
		TH_LOG("hook: %s %s", self->h.fn[i], self->h.mech[i]);
		EXPECT_TRUE(!strcmp(self->h.mech[i], "ftrace") ||
			    !strcmp(self->h.mech[i], "kprobe"))
			TH_LOG("unknown mechanism '%s'", self->h.mech[i]);
		if (want) {
			EXPECT_STREQ(want, self->h.mech[i])
				TH_LOG("loaded with hook=%s, hook file says %s", want, self->h.mech[i]);
		}
	}
	if (!lf_read_file("/sys/module/lazyfree/parameters/hook", param, sizeof(param)) && want) {
		EXPECT_STREQ(want, param);
	}
}

/* Probes present with enabled=1, absent with enabled=0, three rounds. */
TEST_F_TIMEOUT(enabled, probes_follow_enabled, 120)
{
	if (!enabled_functions() && kprobe_lines(self->h.fn[0]) < 0)
		SKIP(return, "neither tracefs enabled_functions nor debugfs kprobes/list readable");
	for (int round = 0; round < 3; round++) {
		for (int on = 1; on >= 0; on--) {
			char buf[8];

			ASSERT_EQ(0, lf_attr_write("enabled", on ? "1" : "0"));
			ASSERT_EQ(0, lf_attr_read("enabled", buf, sizeof(buf)));
			EXPECT_STREQ(on ? "1" : "0", buf);
			for (int i = 0; i < self->h.n; i++) {
				const char *fn = self->h.fn[i];
				bool kp = !strcmp(self->h.mech[i], "kprobe");
				int k = kprobe_lines(fn), f = ftrace_lines(fn);

				if (on && kp) {
					EXPECT_EQ(1, k) TH_LOG("round %d: enabled=1: %s in kprobes/list %d times",
							       round, fn, k);
				} else if (on) {
					EXPECT_EQ(1, f) TH_LOG("round %d: enabled=1: %s in enabled_functions %d times",
							       round, fn, f);
					/* an ftrace hook is not a kprobe */
					EXPECT_TRUE(k <= 0) TH_LOG("ftrace hook but %s in kprobes/list", fn);
				} else {
					EXPECT_TRUE(k == 0 || k == -1)
						TH_LOG("round %d: enabled=0 but %s in kprobes/list (%d)",
						       round, fn, k);
					EXPECT_TRUE(f == 0 || f == -1)
						TH_LOG("round %d: enabled=0 but %s in enabled_functions (%d)",
						       round, fn, f);
				}
			}
		}
	}
	ASSERT_EQ(0, lf_attr_write("enabled", "1"));
}

/* Writing the current value again changes nothing and adds no probe. */
TEST_F(enabled, rewrite_same_value)
{
	const char *fn = self->h.fn[0];
	bool kp = !strcmp(self->h.mech[0], "kprobe");
	int n0 = kp ? kprobe_lines(fn) : ftrace_lines(fn);

	if (n0 < 0)
		SKIP(return, "cannot read the probe list");
	ASSERT_EQ(0, lf_attr_write("enabled", "1"));
	ASSERT_EQ(0, lf_attr_write("enabled", "1\n"));
	EXPECT_EQ(n0, kp ? kprobe_lines(fn) : ftrace_lines(fn));
	ASSERT_EQ(0, lf_attr_write("enabled", "0"));
	ASSERT_EQ(0, lf_attr_write("enabled", "0\n"));
	EXPECT_EQ(0, kp ? kprobe_lines(fn) : ftrace_lines(fn));
	ASSERT_EQ(0, lf_attr_write("enabled", "1"));
	EXPECT_EQ(n0, kp ? kprobe_lines(fn) : ftrace_lines(fn));
}

static void case_free(struct lf_result *r, const void *arg)
{
	size_t len = 16 * lf_pagesize;
	char *p = lf_map_anon(len);

	(void)arg;
	if (!p)
		return lf_failf(r, "mmap: %s", strerror(errno));
	lf_fill(r, 0, p, 16, 0x21, 'Z');
	r->ret = madvise(p, len, MADV_FREE);
	r->err = errno;
	lf_read_after(r, 0, p, 16);
	for (int i = 0; i < 16; i++)
		r->aux[0] += r->after[i] == 0;
}

/* enabled=0 in a dontneed cgroup: data kept, no counter moves. */
TEST_F(enabled, disabled_is_unhooked)
{
	uint64_t nf0, nr0, cf0, cr0, nf1, nr1, cf1, cr1;
	uint64_t len = 16 * lf_pagesize;

	ASSERT_EQ(0, lf_cg_attr_write(self->cg.id, "mode", "dontneed"));
	for (int on = 0; on < 2; on++) {
		ASSERT_EQ(0, lf_attr_write("enabled", on ? "1" : "0"));
		ASSERT_EQ(0, lf_attr_u64("free_bytes", &nf0));
		ASSERT_EQ(0, lf_attr_u64("rewritten_bytes", &nr0));
		ASSERT_EQ(0, lf_cg_attr_u64(self->cg.id, "free_bytes", &cf0));
		ASSERT_EQ(0, lf_cg_attr_u64(self->cg.id, "rewritten_bytes", &cr0));
		ASSERT_EQ(0, lf_run(self->cg.path, case_free, NULL, self->r)) TH_LOG("%s", self->r->msg);
		ASSERT_FALSE(self->r->fail) TH_LOG("%s", self->r->msg);
		EXPECT_EQ(0, self->r->ret);
		ASSERT_EQ(0, lf_attr_u64("free_bytes", &nf1));
		ASSERT_EQ(0, lf_attr_u64("rewritten_bytes", &nr1));
		ASSERT_EQ(0, lf_cg_attr_u64(self->cg.id, "free_bytes", &cf1));
		ASSERT_EQ(0, lf_cg_attr_u64(self->cg.id, "rewritten_bytes", &cr1));
		if (!on) {
			EXPECT_EQ(0, self->r->aux[0]) TH_LOG("enabled=0: %ld pages zeroed", self->r->aux[0]);
			EXPECT_EQ(nf0, nf1);
			EXPECT_EQ(nr0, nr1);
			EXPECT_EQ(cf0, cf1);
			EXPECT_EQ(cr0, cr1);
		} else {
			EXPECT_EQ(16, self->r->aux[0]) TH_LOG("enabled=1: only %ld pages zeroed", self->r->aux[0]);
			EXPECT_EQ(len, nf1 - nf0);
			EXPECT_EQ(len, nr1 - nr0);
			EXPECT_EQ(len, cf1 - cf0);
			EXPECT_EQ(len, cr1 - cr0);
		}
	}
}

/* Policy survives enabled=0/1: modes and tracked cgroups stay. */
TEST_F(enabled, policy_kept_across_disable)
{
	char buf[32];

	ASSERT_EQ(0, lf_cg_attr_write(self->cg.id, "mode", "dontneed"));
	ASSERT_EQ(0, lf_attr_write("enabled", "0"));
	EXPECT_TRUE(lf_cg_tracked(self->cg.id));
	ASSERT_EQ(0, lf_cg_attr_read(self->cg.id, "mode", buf, sizeof(buf)));
	EXPECT_STREQ("dontneed", buf);
	ASSERT_EQ(0, lf_attr_write("enabled", "1"));
	ASSERT_EQ(0, lf_cg_attr_read(self->cg.id, "mode", buf, sizeof(buf)));
	EXPECT_STREQ("dontneed", buf);
	ASSERT_EQ(0, lf_run(self->cg.path, case_free, NULL, self->r)) TH_LOG("%s", self->r->msg);
	EXPECT_EQ(16, self->r->aux[0]);
}

/*
 * kernel.ftrace_enabled=0 would switch an ftrace hook off behind
 * "enabled": the ftrace mechanism's ops is permanent, so the sysctl is
 * refused (EBUSY) while it is registered, works once enabled=0 took it
 * away, and then enabled=1 is refused until ftrace is back.
 */
TEST_F(enabled, ftrace_enabled_sysctl_cannot_switch_the_hook_off)
{
	const char *path = "/proc/sys/kernel/ftrace_enabled";
	char buf[16];
	struct hooks h;
	int err;

	if (lf_read_file(path, buf, sizeof(buf)))
		SKIP(return, "no %s (no CONFIG_FUNCTION_TRACER)", path);
	ASSERT_EQ(0, read_hooks(&h));
	if (strcmp(h.mech[0], "ftrace"))
		SKIP(return, "hook %s: not lazyfree's ftrace_ops (x86-64: the kernel's own for kprobes, not permanent; arm64: a BRK); see the admin guide",
		     h.mech[0]);
	ASSERT_STREQ("1", buf);
	err = lf_write_file(path, "0");
	if (!err)
		lf_write_file(path, "1");
	if (err == -EOPNOTSUPP)	/* 7.3: the knob no longer turns ftrace off */
		SKIP(return, "%s=0 is refused by this kernel itself (EOPNOTSUPP): nothing to guard", path);
	EXPECT_EQ(-EBUSY, err) TH_LOG("ftrace_enabled=0 while hooked: %s", strerror(-err));
	ASSERT_EQ(0, lf_read_file(path, buf, sizeof(buf)));
	EXPECT_STREQ("1", buf);

	ASSERT_EQ(0, lf_attr_write("enabled", "0"));
	EXPECT_EQ(0, lf_write_file(path, "0"));
	EXPECT_EQ(-EBUSY, lf_attr_write("enabled", "1"))
		TH_LOG("enabled=1 with ftrace off must fail, not pretend");
	ASSERT_EQ(0, lf_attr_read("enabled", buf, sizeof(buf)));
	EXPECT_STREQ("0", buf);
	ASSERT_EQ(0, lf_write_file(path, "1"));
	EXPECT_EQ(0, lf_attr_write("enabled", "1"));
}

TEST_F(enabled, hierarchy_matches_lane)
{
	char buf[16];

	ASSERT_EQ(0, lf_attr_read("hierarchy", buf, sizeof(buf)));
	EXPECT_STREQ(lf_lane(), buf);
}

TEST_HARNESS_MAIN
