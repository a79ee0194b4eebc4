// SPDX-License-Identifier: GPL-2.0
/*
 * lazyfree next to the other users of the function it hooks, as on a
 * production node: the function and function_graph tracers, a kprobe and
 * a kretprobe event, BPF kprobe, fentry and fexit programs, and a
 * livepatch of the function (selftests/livepatch).
 *
 * Each neighbour is attached before or after lazyfree is loaded (with the
 * rig's hook) and detached before or after it is unloaded, while a
 * MADV_FREE storm runs in a dontneed cgroup.  While both are on:
 *   - the neighbour sees calls (MADV_FREE in a `free` cgroup, which
 *     lazyfree does not redirect: a redirected call skips the function,
 *     and whether a neighbour still sees it depends on the mechanisms);
 *   - lazyfree's counters are exact (free_bytes counts the range,
 *     rewritten_bytes what was dropped) and MADV_FREE in a dontneed
 *     cgroup drops the range, except where a neighbour is documented to
 *     override the redirect (hook=kprobe on x86-64 under a BPF fexit
 *     trampoline, or next to a livepatch);
 * and where the two cannot share the function (two IPMODIFY ftrace users:
 * hook=ftrace and a livepatch; hook=ftrace and a BPF trampoline before
 * 6.0), the later one is refused with EBUSY, the reason is in the kernel
 * log where the kernel prints one, and the earlier one keeps working.
 * Once both are gone, no ftrace ops or kprobe is left on the function.
 * Documentation/admin-guide/lazyfree.rst, "Next to tracers, BPF and
 * livepatches", has the table.
 *
 * Reloads the module; leaves it as the rig loaded it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lf_harness.h"
#include "lf_bpf.h"
#include "lf_module.h"
#include "lf_util.h"

#define TRACING		"/sys/kernel/tracing"
#define NPAGES		16

/*
 * Seconds a round may take: 2-4 under TCG, several times that on the
 * debug kernel (KASAN, lockdep), where a livepatch transition is slower.
 */
#define LF_ROUND_TIMEOUT	300

static const int npages = NPAGES;	/* lf_case_free_zeroes()'s */

enum nb_kind {
	NB_FUNCTION, NB_FUNCTION_GRAPH, NB_KPROBE, NB_KRETPROBE,
	NB_BPF_KPROBE, NB_BPF_FENTRY, NB_BPF_FEXIT, NB_LIVEPATCH,
};

struct coex {
	enum nb_kind kind;
	char sym[160];		/* the hooked function */
	bool ftrace_hook;	/* hook=ftrace: lazyfree is an IPMODIFY user */
	bool kprobe_ftrace;	/* hook=kprobe, and the kprobe is ftrace-based */
	int kver;		/* 6.12 is 612 */
	bool nb_on, lf_on;
	bool ran;		/* the round began: the module must be restored */
	struct lf_bpf bpf;
	char why[600];		/* what the neighbour's attach said */
	struct lf_cg dn, fr, storm;	/* dontneed, free, the storm's */
	struct lf_result *r;
	pid_t storm_pid;
};

/* tracefs and /dev/kmsg */

static int tr_write(const char *file, const char *s, int flags)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), TRACING "/%s", file);
	return lf_write_flags(path, s, flags);
}

/* Lines of @path that contain @needle (at a word start if @word), or -1 */
static long count_lines(const char *path, const char *needle, bool word)
{
	FILE *f = fopen(path, "re");
	size_t cap = 0, len = strlen(needle);
	char *line = NULL;
	long n = 0;

	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		const char *p = strstr(line, needle);

		if (p && (!word || p == line || p[-1] == ' ' || p[-1] == '\t') &&
		    (!word || p[len] == ' ' || p[len] == '\t' || p[len] == '+' ||
		     p[len] == '(' || p[len] == ')' || p[len] == ';'))
			n++;
	}
	free(line);
	fclose(f);
	return n;
}

/* One record per write(2): /dev/kmsg refuses dprintf()'s (EINVAL). */
static void kmsg_mark(const char *mark)
{
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (write(fd, mark, strlen(mark)) < 0)
			perror("/dev/kmsg");
		close(fd);
	}
}

/* Does the kernel log after the last @mark hold @needle? */
static bool kmsg_has(const char *mark, const char *needle)
{
	char *buf = lf_kmsg_read(), *from = NULL, *p;
	bool found;

	if (!buf)
		return false;
	for (p = strstr(buf, mark); p; p = strstr(p + 1, mark))
		from = p;
	found = from && strstr(from, needle);
	free(buf);
	return found;
}

/* The neighbours */

static const char *const nb_names[] = {
	[NB_FUNCTION]		= "the function tracer",
	[NB_FUNCTION_GRAPH]	= "the function_graph tracer",
	[NB_KPROBE]		= "a kprobe event",
	[NB_KRETPROBE]		= "a kretprobe event",
	[NB_BPF_KPROBE]		= "a BPF kprobe program",
	[NB_BPF_FENTRY]		= "a BPF fentry program",
	[NB_BPF_FEXIT]		= "a BPF fexit program",
	[NB_LIVEPATCH]		= "the livepatch",
};

static bool nb_trampoline(const struct coex *c)
{
	return c->kind == NB_BPF_FENTRY || c->kind == NB_BPF_FEXIT;
}

/*
 * Both want the function's one IPMODIFY slot, or (before 6.0, which let
 * ftrace share a function between an IPMODIFY ops and a direct call) the
 * BPF trampoline's direct call and lazyfree's IPMODIFY ops exclude each
 * other.
 */
static bool nb_conflicts(const struct coex *c)
{
	return c->ftrace_hook &&
	       (c->kind == NB_LIVEPATCH || (nb_trampoline(c) && c->kver < 600));
}

static int lp_load(struct coex *c)
{
	const char *ko = getenv("LAZYFREE_LIVEPATCH_KO");
	int fd, err = 0;

	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (syscall(__NR_finit_module, fd, "", 0))
		err = -errno;
	close(fd);
	if (!err && lf_livepatch_settle())
		snprintf(c->why, sizeof(c->why), "transition still running after 120 s");
	return err;
}

static const char *tracer_name(const struct coex *c)
{
	return c->kind == NB_FUNCTION ? "function" : "function_graph";
}

static const char *probe_name(const struct coex *c)
{
	return c->kind == NB_KPROBE ? "lf_coex_kp" : "lf_coex_krp";
}

static int nb_attach(struct coex *c)
{
	char buf[256];
	int err;

	c->why[0] = '\0';
	switch (c->kind) {
	case NB_FUNCTION:
	case NB_FUNCTION_GRAPH:
		err = tr_write("set_ftrace_filter", c->sym, O_TRUNC);
		if (!err)
			err = tr_write("trace", "", O_TRUNC);
		if (!err)
			err = tr_write("current_tracer", tracer_name(c), O_TRUNC);
		if (!err)
			err = tr_write("tracing_on", "1", O_TRUNC);
		break;
	case NB_KPROBE:
	case NB_KRETPROBE:
		snprintf(buf, sizeof(buf), "%c:%s %s\n",
			 c->kind == NB_KPROBE ? 'p' : 'r', probe_name(c), c->sym);
		err = tr_write("kprobe_events", buf, O_APPEND);
		if (!err) {
			snprintf(buf, sizeof(buf), "events/kprobes/%s/enable",
				 probe_name(c));
			err = tr_write(buf, "1", O_TRUNC);
		}
		break;
	case NB_BPF_KPROBE:
	case NB_BPF_FENTRY:
	case NB_BPF_FEXIT:
		err = lf_bpf_attach(&c->bpf, c->kind == NB_BPF_KPROBE ?
				    LF_BPF_KPROBE : c->kind == NB_BPF_FENTRY ?
				    LF_BPF_FENTRY : LF_BPF_FEXIT, c->sym);
		snprintf(c->why, sizeof(c->why), "%s", c->bpf.log);
		break;
	default:
		err = lp_load(c);
		break;
	}
	c->nb_on = !err;
	return err;
}

static void nb_detach(struct coex *c)
{
	char buf[256];

	switch (c->kind) {
	case NB_FUNCTION:
	case NB_FUNCTION_GRAPH:
		tr_write("current_tracer", "nop", O_TRUNC);
		tr_write("set_ftrace_filter", "", O_TRUNC);
		break;
	case NB_KPROBE:
	case NB_KRETPROBE:
		snprintf(buf, sizeof(buf), "events/kprobes/%s/enable",
			 probe_name(c));
		tr_write(buf, "0", O_TRUNC);
		snprintf(buf, sizeof(buf), "-:%s\n", probe_name(c));
		tr_write("kprobe_events", buf, O_APPEND);
		break;
	case NB_BPF_KPROBE:
	case NB_BPF_FENTRY:
	case NB_BPF_FEXIT:
		lf_bpf_detach(&c->bpf);
		break;
	default:
		lf_livepatch_remove();
		break;
	}
	c->nb_on = false;
}

/* Calls the neighbour has seen so far, or -1. */
static long nb_hits(const struct coex *c)
{
	char path[256];
	uint64_t calls;
	FILE *f;
	long hits = -1, h, m;
	char name[128];

	switch (c->kind) {
	case NB_FUNCTION:
	case NB_FUNCTION_GRAPH:
		return count_lines(TRACING "/trace", c->sym, true);
	case NB_KPROBE:
	case NB_KRETPROBE:
		f = fopen(TRACING "/kprobe_profile", "re");
		if (!f)
			return -1;
		while (fscanf(f, "%127s %ld %ld", name, &h, &m) == 3)
			if (!strcmp(name, probe_name(c)))
				hits = h;
		fclose(f);
		return hits;
	case NB_BPF_KPROBE:
	case NB_BPF_FENTRY:
	case NB_BPF_FEXIT:
		return lf_bpf_count(&c->bpf);
	default:
		snprintf(path, sizeof(path), "/sys/module/%s/parameters/calls",
			 LF_LIVEPATCH);
		return lf_read_u64_file(path, &calls) ? -1 : (long)calls;
	}
}

/* The storm: MADV_FREE in a loop in a dontneed cgroup, until killed. */
static pid_t storm_start(const char *cgpath)
{
	char msg[128];
	pid_t pid = lf_fork_into(cgpath, msg, sizeof(msg));
	size_t len = 64 * lf_pagesize;
	char *p;

	if (pid)
		return pid;
	if (setpriority(PRIO_PROCESS, 0, 10))
		_exit(2);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		_exit(2);
	for (unsigned char i = 1;; i++) {
		memset(p, i, len);
		madvise(p, len, MADV_FREE);
	}
}

static void storm_stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

/*
 * Held while a neighbour's count is read (the calls seen are then the
 * test's own) and, for the livepatch, while it is enabled or disabled:
 * its transition waits for every task, and under TCG a task that is
 * always in madvise makes that a minute.
 */
static void storm_hold(pid_t pid, bool hold)
{
	if (pid > 0)
		kill(pid, hold ? SIGSTOP : SIGCONT);
}

FIXTURE(coex) {
	struct coex c;
};

/*
 * The neighbour comes in before (first) or after lazyfree's insmod, and
 * goes out before or after its rmmod.
 */
FIXTURE_VARIANT(coex) {
	bool nb_first_in, nb_first_out;
};

FIXTURE_VARIANT_ADD(coex, first_in_first_out) { true, true };
FIXTURE_VARIANT_ADD(coex, first_in_last_out) { true, false };
FIXTURE_VARIANT_ADD(coex, last_in_first_out) { false, true };
FIXTURE_VARIANT_ADD(coex, last_in_last_out) { false, false };

FIXTURE_SETUP(coex)
{
	char hook[160], *sp;
	struct utsname u;
	int maj = 0, min = 0, n;

	self->c.storm_pid = -1;
	if (!lf_can_reload())
		SKIP(return, "LAZYFREE_KO not set or unreadable: cannot reload the module");
	ASSERT_TRUE(lf_module_loaded()) TH_LOG(LF_SYSFS " missing: module not loaded");
	ASSERT_EQ(0, lf_attr_read("hook", hook, sizeof(hook)));
	sp = strchr(hook, ' ');
	ASSERT_NE(NULL, sp) TH_LOG("hook: %s", hook);
	*sp = '\0';
	snprintf(self->c.sym, sizeof(self->c.sym), "%s", hook);
	self->c.ftrace_hook = !strncmp(sp + 1, "ftrace", 6);
	ASSERT_EQ(0, uname(&u));
	n = sscanf(u.release, "%d.%d", &maj, &min);
	ASSERT_EQ(2, n) TH_LOG("uname: %s", u.release);
	self->c.kver = maj * 100 + min;
	self->c.bpf.map_fd = self->c.bpf.prog_fd = self->c.bpf.link_fd = -1;
	if (!strcmp(lf_lane(), "v1"))
		SKIP(return, "how the hooks share the function does not depend on the cgroup lane: the v2 lane runs this");
	if (access(TRACING "/kprobe_events", F_OK))
		SKIP(return, "no tracefs at " TRACING " (CONFIG_FTRACE, CONFIG_KPROBE_EVENTS)");
	ASSERT_EQ(0, lf_cg_create(&self->c.dn, "lf_coex_dontneed"));
	ASSERT_EQ(0, lf_cg_create(&self->c.fr, "lf_coex_free"));
	ASSERT_EQ(0, lf_cg_create(&self->c.storm, "lf_coex_storm"));
	self->c.r = lf_result_alloc();
	ASSERT_NE(NULL, self->c.r);
}

FIXTURE_TEARDOWN_PARENT(coex)
{
	storm_stop(self->c.storm_pid);
	if (self->c.nb_on)
		nb_detach(&self->c);
	lf_cg_destroy(&self->c.dn);
	lf_cg_destroy(&self->c.fr);
	lf_cg_destroy(&self->c.storm);
	lf_result_free(self->c.r);
	if (self->c.ran)
		lf_ko_restore(true);
}

/*
 * lazyfree in, with the rig's hook: loaded now, or (@load false) as the
 * rig or the last test's teardown left it; the three cgroups tracked.
 */
static int lf_up(struct __test_metadata *_metadata, struct coex *c,
		 bool load)
{
	int err = load ? lf_ko_load(NULL) : 0;

	if (err)
		return err;
	c->lf_on = true;
	c->kprobe_ftrace = !c->ftrace_hook && lf_ftrace_kprobe_armed(c->sym);
	EXPECT_EQ(0, lf_track(c->dn.id));
	EXPECT_EQ(0, lf_track(c->fr.id));
	EXPECT_EQ(0, lf_track(c->storm.id));
	EXPECT_EQ(0, lf_cg_attr_write(c->dn.id, "mode", "dontneed"));
	EXPECT_EQ(0, lf_cg_attr_write(c->fr.id, "mode", "free"));
	EXPECT_EQ(0, lf_cg_attr_write(c->storm.id, "mode", "dontneed"));
	return 0;
}

/*
 * What MADV_FREE in the dontneed cgroup drops while the neighbour is on:
 * all, none (the neighbour overrides the redirect), or -1 for either.
 * Under a BPF fexit the trampoline calls the function's body itself,
 * past an ftrace-based kprobe (a kprobe that is a breakpoint, on arm64,
 * is in that body).  Next to the livepatch, the ftrace ops registered
 * first has the last word (lazyfree_livepatch pins both orders down).
 */
static int want_dropped(const struct coex *c)
{
	if (!c->nb_on || c->ftrace_hook)
		return NPAGES;
	if (c->kind == NB_BPF_FEXIT && c->kprobe_ftrace)
		return 0;
	if (c->kind == NB_LIVEPATCH)
		return -1;
	return NPAGES;
}

/* lazyfree's side: counters exact, the range dropped as expected */
static void check_lazyfree(struct __test_metadata *_metadata,
			   struct coex *c, const char *when)
{
	uint64_t f0, f1, w0, w1, len = NPAGES * lf_pagesize;
	int want = want_dropped(c);
	long zero;

	ASSERT_EQ(0, lf_cg_attr_u64(c->dn.id, "free_bytes", &f0));
	ASSERT_EQ(0, lf_cg_attr_u64(c->dn.id, "rewritten_bytes", &w0));
	ASSERT_EQ(0, lf_run(c->dn.path, lf_case_free_zeroes, &npages, c->r))
		TH_LOG("%s", c->r->msg);
	ASSERT_FALSE(c->r->fail) TH_LOG("%s", c->r->msg);
	ASSERT_EQ(0, lf_cg_attr_u64(c->dn.id, "free_bytes", &f1));
	ASSERT_EQ(0, lf_cg_attr_u64(c->dn.id, "rewritten_bytes", &w1));
	zero = c->r->aux[0];
	TH_LOG("%s: dontneed: %ld of %d pages dropped, free +%llu, rewritten +%llu",
	       when, zero, NPAGES, (unsigned long long)(f1 - f0),
	       (unsigned long long)(w1 - w0));
	EXPECT_EQ(0, c->r->ret);
	EXPECT_EQ(len, f1 - f0);
	EXPECT_EQ(zero * lf_pagesize, w1 - w0);
	if (want < 0)	/* either, but all or nothing */
		want = zero ? NPAGES : 0;
	EXPECT_EQ(want, zero);
}

/* the neighbour's side: it sees MADV_FREE that lazyfree lets through */
static void check_neighbour(struct __test_metadata *_metadata,
			    struct coex *c, const char *when)
{
	long h0, h1;
	int err;

	storm_hold(c->storm_pid, true);
	if (c->kind == NB_FUNCTION || c->kind == NB_FUNCTION_GRAPH)
		tr_write("trace", "", O_TRUNC);	/* a full ring drops lines */
	h0 = nb_hits(c);
	err = lf_run(c->fr.path, lf_case_free_zeroes, &npages, c->r);
	h1 = nb_hits(c);
	storm_hold(c->storm_pid, false);
	ASSERT_LE(0, h0) TH_LOG("%s: cannot read its count", nb_names[c->kind]);
	ASSERT_EQ(0, err) TH_LOG("%s", c->r->msg);
	ASSERT_FALSE(c->r->fail) TH_LOG("%s", c->r->msg);
	EXPECT_EQ(0, c->r->ret);
	EXPECT_EQ(0, c->r->aux[0]) TH_LOG("%s: MADV_FREE in a free cgroup dropped data",
					     when);
	TH_LOG("%s: %s: %ld calls seen, %ld in all", when,
	       nb_names[c->kind], h1 - h0, h1);
	EXPECT_LT(h0, h1) TH_LOG("%s saw no call", nb_names[c->kind]);
}

/* Nothing of either left on the function. */
static void check_nothing_left(struct __test_metadata *_metadata,
			       const struct coex *c)
{
	long ops = 0, probes = 0;

	for (int i = 0; i < 50; i++) {	/* trampolines go after a grace period */
		ops = count_lines(TRACING "/enabled_functions", c->sym, true);
		probes = count_lines(LF_KPROBES_LIST, c->sym, true);
		if (ops <= 0 && probes <= 0)
			break;
		lf_msleep(100);
	}
	EXPECT_GE(0, ops) TH_LOG("ftrace still calls out from %s (enabled_functions)",
				 c->sym);
	EXPECT_GE(0, probes) TH_LOG("a kprobe is still on %s (%s)", c->sym,
				    LF_KPROBES_LIST);
}

static void round_trip(struct __test_metadata *_metadata,
		       struct coex *c,
		       bool nb_first_in, bool nb_first_out, enum nb_kind kind)
{
	bool lp = kind == NB_LIVEPATCH;
	const char *second;
	char mark[224];
	int err;

	c->kind = kind;
	c->ran = true;
	if (nb_first_in)
		ASSERT_EQ(0, lf_ko_unload(NULL));
	if (lp &&
	    (!getenv("LAZYFREE_LIVEPATCH_KO") ||
	     access(getenv("LAZYFREE_LIVEPATCH_KO"), R_OK) ||
	     access("/sys/kernel/livepatch", F_OK)))
		SKIP(return, "no livepatch support (CONFIG_LIVEPATCH) or no lf_livepatch.ko for this kernel");
	c->storm_pid = storm_start(c->storm.path);
	ASSERT_LT(0, c->storm_pid);
	snprintf(mark, sizeof(mark), "lazyfree_coexist: %s %d", c->sym, getpid());
	kmsg_mark(mark);

	/* in */
	if (lp)
		storm_hold(c->storm_pid, true);
	if (nb_first_in) {
		err = nb_attach(c);
		if (err == -EOPNOTSUPP || err == -524 /* ENOTSUPP */ ||
		    (err == -ENOENT && nb_trampoline(c)))
			SKIP(return, "%s: %s", nb_names[kind], c->why);
		ASSERT_EQ(0, err) TH_LOG("%s alone: %s %s", nb_names[kind],
					 strerror(-err), c->why);
		err = lf_up(_metadata, c, true);
		second = "lazyfree";
	} else {
		ASSERT_EQ(0, lf_up(_metadata, c, false));
		err = nb_attach(c);
		if (err == -EOPNOTSUPP || err == -524 ||
		    (err == -ENOENT && nb_trampoline(c)))
			SKIP(return, "%s: %s", nb_names[kind], c->why);
		second = nb_names[kind];
	}
	storm_hold(c->storm_pid, false);

	if (nb_conflicts(c)) {
		EXPECT_EQ(-EBUSY, err) TH_LOG("%s next to %s with hook=ftrace: %s, not EBUSY",
					      second, nb_names[kind], strerror(-err));
		TH_LOG("%s refused: %s", second, strerror(-err));
		if (nb_first_in) {
			EXPECT_TRUE(kmsg_has(mark, "cannot hook"))
				TH_LOG("lazyfree said nothing in the kernel log");
		} else if (lp) {
			EXPECT_TRUE(kmsg_has(mark, "failed to register ftrace handler"))
				TH_LOG("the livepatch's refusal is not in the kernel log");
		}
	} else {
		ASSERT_EQ(0, err) TH_LOG("%s after %s: %s %s", second,
					 nb_first_in ? nb_names[kind] : "lazyfree",
					 strerror(-err), c->why);
	}
	ASSERT_EQ(nb_first_in || !nb_conflicts(c), c->nb_on);
	ASSERT_EQ(!nb_first_in || !nb_conflicts(c), c->lf_on);

	if (c->nb_on)
		check_neighbour(_metadata, c, "both in");
	if (c->lf_on)
		check_lazyfree(_metadata, c, "both in");

	/* out */
	if (nb_first_out) {
		if (lp)
			storm_hold(c->storm_pid, true);
		if (c->nb_on)
			nb_detach(c);
		storm_hold(c->storm_pid, false);
		if (c->lf_on)
			check_lazyfree(_metadata, c, "neighbour out");
		EXPECT_EQ(c->lf_on ? 0 : -ENOENT, lf_ko_unload(NULL));
		c->lf_on = false;
	} else {
		EXPECT_EQ(c->lf_on ? 0 : -ENOENT, lf_ko_unload(NULL));
		c->lf_on = false;
		if (c->nb_on)
			check_neighbour(_metadata, c, "lazyfree out");
		if (lp)
			storm_hold(c->storm_pid, true);
		if (c->nb_on)
			nb_detach(c);
	}
	storm_stop(c->storm_pid);
	c->storm_pid = -1;
	check_nothing_left(_metadata, c);
}

TEST_F_TIMEOUT(coex, function_tracer, LF_ROUND_TIMEOUT)
{
	round_trip(_metadata, &self->c, variant->nb_first_in,
		   variant->nb_first_out, NB_FUNCTION);
}

TEST_F_TIMEOUT(coex, function_graph_tracer, LF_ROUND_TIMEOUT)
{
	round_trip(_metadata, &self->c, variant->nb_first_in,
		   variant->nb_first_out, NB_FUNCTION_GRAPH);
}

TEST_F_TIMEOUT(coex, kprobe_event, LF_ROUND_TIMEOUT)
{
	round_trip(_metadata, &self->c, variant->nb_first_in,
		   variant->nb_first_out, NB_KPROBE);
}

TEST_F_TIMEOUT(coex, kretprobe_event, LF_ROUND_TIMEOUT)
{
	round_trip(_metadata, &self->c, variant->nb_first_in,
		   variant->nb_first_out, NB_KRETPROBE);
}

TEST_F_TIMEOUT(coex, bpf_kprobe, LF_ROUND_TIMEOUT)
{
	round_trip(_metadata, &self->c, variant->nb_first_in,
		   variant->nb_first_out, NB_BPF_KPROBE);
}

TEST_F_TIMEOUT(coex, bpf_fentry, LF_ROUND_TIMEOUT)
{
	round_trip(_metadata, &self->c, variant->nb_first_in,
		   variant->nb_first_out, NB_BPF_FENTRY);
}

TEST_F_TIMEOUT(coex, bpf_fexit, LF_ROUND_TIMEOUT)
{
	round_trip(_metadata, &self->c, variant->nb_first_in,
		   variant->nb_first_out, NB_BPF_FEXIT);
}

TEST_F_TIMEOUT(coex, livepatch, LF_ROUND_TIMEOUT)
{
	round_trip(_metadata, &self->c, variant->nb_first_in,
		   variant->nb_first_out, NB_LIVEPATCH);
}

TEST_HARNESS_MAIN
