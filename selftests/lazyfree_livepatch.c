// SPDX-License-Identifier: GPL-2.0
/*
 * Next to a livepatch of the hooked function (selftests/livepatch: the
 * patched function keeps the kernel's checks, but MADV_FREE frees
 * nothing).  ftrace refuses lazyfree's own ops next to it, so lazyfree is
 * reloaded with hook=kprobe.  The kprobe runs under the kernel's shared
 * ftrace ops for kprobes, the livepatch under its own; ftrace calls the
 * newest ops first, so the one registered first has the last word on the
 * instruction pointer:
 *
 *   livepatch_first: no ftrace-based kprobe is armed when the livepatch
 *     loads: the livepatch wins, MADV_FREE in a dontneed cgroup keeps the
 *     data and nothing is counted as rewritten.
 *   kprobes_first: a kprobe event on another function is armed first:
 *     lazyfree's redirect wins, the range reads zero and is counted as
 *     rewritten.
 *
 * Either way free_bytes counts the range, and rewritten_bytes says what
 * happened to the data.  Reloads the module; leaves it as the rig loaded
 * it.  x86-64 only in practice: Debian's arm64 kernels have no livepatch.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lf_harness.h"
#include "lf_util.h"

#define TRACING "/sys/kernel/tracing"
#define ANCHOR "lf_lp_anchor"
#define NPAGES 16

static const int npages = NPAGES;	/* lf_case_free_zeroes()'s */

static void anchor_remove(void)
{
	lf_write_file(TRACING "/events/kprobes/" ANCHOR "/enable", "0");
	lf_write_flags(TRACING "/kprobe_events", "-:" ANCHOR "\n", O_APPEND);
}

FIXTURE(lp) {
	struct lf_cg cg;
	struct lf_result *r;
	bool anchor;
};

FIXTURE_VARIANT(lp) {
	bool kprobes_first;
};

FIXTURE_VARIANT_ADD(lp, livepatch_first) { .kprobes_first = false };
FIXTURE_VARIANT_ADD(lp, kprobes_first) { .kprobes_first = true };

/* Only checks here: the harness tears down only after a setup that ended. */
FIXTURE_SETUP(lp)
{
	const char *ko = getenv("LAZYFREE_LIVEPATCH_KO");

	if (!lf_can_reload())
		SKIP(return, "LAZYFREE_KO not set or unreadable: cannot reload the module");
	if (!ko || access(ko, R_OK) || access("/sys/kernel/livepatch", F_OK))
		SKIP(return, "no livepatch support (CONFIG_LIVEPATCH) or no lf_livepatch.ko for this kernel");
	ASSERT_TRUE(lf_module_loaded()) TH_LOG(LF_SYSFS " missing: module not loaded");
	ASSERT_EQ(0, lf_cg_create(&self->cg, "lf_livepatch"));
	self->r = lf_result_alloc();
	ASSERT_NE(NULL, self->r);
}

FIXTURE_TEARDOWN_PARENT(lp)
{
	if (lf_module_loaded())
		lf_module_unload();
	lf_cg_destroy(&self->cg);
	lf_livepatch_remove();
	if (self->anchor)
		anchor_remove();
	lf_module_restore();
}

/* rmmod lazyfree; [kprobe event]; the livepatch; lazyfree with a kprobe */
static void stack_up(struct __test_metadata *_metadata, bool kprobes_first,
		     bool *anchor, uint64_t cg_id)
{
	char cmd[PATH_MAX + 16], hook[128];

	ASSERT_EQ(0, lf_module_unload());
	if (lf_ftrace_kprobe_armed(NULL))
		SKIP(return, "an ftrace-based kprobe is armed already (" LF_KPROBES_LIST "): the order is not the test's");
	if (kprobes_first) {
		ASSERT_EQ(0, lf_write_flags(TRACING "/kprobe_events",
					    "p:" ANCHOR " vfs_read\n", O_APPEND));
		*anchor = true;
		ASSERT_EQ(0, lf_write_file(TRACING "/events/kprobes/" ANCHOR "/enable", "1"));
		if (!lf_ftrace_kprobe_armed(NULL))
			SKIP(return, "a kprobe on vfs_read is no ftrace-based kprobe here");
	}
	snprintf(cmd, sizeof(cmd), "insmod %s", getenv("LAZYFREE_LIVEPATCH_KO"));
	ASSERT_EQ(0, system(cmd)) TH_LOG("%s failed", cmd);
	ASSERT_EQ(0, lf_livepatch_settle()) TH_LOG("livepatch transition still running after 120 s");
	ASSERT_EQ(0, lf_module_load_hook("kprobe", "default_mode=free"))
		TH_LOG("lazyfree hook=kprobe next to the livepatch did not load (dmesg)");
	ASSERT_EQ(0, lf_attr_read("hook", hook, sizeof(hook)));
	ASSERT_NE(NULL, strstr(hook, " kprobe")) TH_LOG("hook: %s", hook);
	ASSERT_EQ(0, lf_track(cg_id));
	ASSERT_EQ(0, lf_cg_attr_write(cg_id, "mode", "dontneed"));
}

/*
 * Two livepatch transitions and two reloads: seconds under TCG, about a
 * minute on the debug kernel (KASAN, lockdep), past the harness's 30 s.
 */
TEST_F_TIMEOUT(lp, who_runs_and_what_is_counted, 300)
{
	uint64_t f0, f1, w0, w1, len = NPAGES * lf_pagesize;
	long zero, want_zero = variant->kprobes_first ? NPAGES : 0;

	stack_up(_metadata, variant->kprobes_first, &self->anchor, self->cg.id);
	if (_metadata->exit_code)	/* skipped */
		return;
	ASSERT_EQ(0, lf_attr_u64("free_bytes", &f0));
	ASSERT_EQ(0, lf_attr_u64("rewritten_bytes", &w0));
	ASSERT_EQ(0, lf_run(self->cg.path, lf_case_free_zeroes, &npages, self->r)) TH_LOG("%s", self->r->msg);
	ASSERT_FALSE(self->r->fail) TH_LOG("%s", self->r->msg);
	ASSERT_EQ(0, lf_attr_u64("free_bytes", &f1));
	ASSERT_EQ(0, lf_attr_u64("rewritten_bytes", &w1));
	zero = self->r->aux[0];
	TH_LOG("%s: %ld of %d pages read zero, free +%llu, rewritten +%llu",
	       variant->kprobes_first ? "kprobes first" : "livepatch first",
	       zero, NPAGES, (unsigned long long)(f1 - f0),
	       (unsigned long long)(w1 - w0));
	EXPECT_EQ(0, self->r->ret);
	EXPECT_EQ(len, f1 - f0);
	/* the counter says what happened to the data, whoever won */
	EXPECT_EQ(zero * lf_pagesize, w1 - w0);
	/* and who wins follows from the order of the ftrace ops */
	EXPECT_EQ(want_zero, zero) TH_LOG("the %s did not have the last word",
					  variant->kprobes_first ? "kprobe" : "livepatch");
}

TEST_HARNESS_MAIN
