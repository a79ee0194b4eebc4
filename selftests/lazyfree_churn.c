// SPDX-License-Identifier: GPL-2.0
/*
 * cgroup churn (issue 6, item 4): 1,000 cgroups created, each runs
 * MADV_FREE (a child forked into it), each removed.  A quarter are tracked
 * by cgroups/add with mode dontneed (the child's page must read 0), a
 * quarter with mode free and then untracked by cgroups/remove before the
 * rmdir, half are left to auto-discovery (default mode free: the page must
 * keep its data); rmdir'ed cgroups are left to the module to prune.
 *
 * Afterwards the tracked directories (cgroups/<id>) return to the starting
 * set within a few seconds, and the memory the module allocates per tracked
 * cgroup returns to where it was.  Four figures, each with its tolerance:
 *   small    kmalloc-8 .. kmalloc-256: struct lf_cgroup (~150 bytes, in
 *            kmalloc-192) and its kobject name         96 KB
 *   kernfs   kernfs_node_cache: each cgroups/<id>/ is 6 nodes
 *            (~136 bytes each)                          64 KB
 *   kmalloc  every kmalloc-* cache, for anything else  256 KB
 *   percpu   Percpu in /proc/meminfo                   1 MB
 *            (populated per-cpu pages: moves by whole pages and by
 *            hundreds of KB with no leak, so only a gross leak shows;
 *            the module's 16 bytes per CPU per cgroup go with its entry,
 *            which "small" sees)
 * Slab figures are active objects times object size.  A module that kept
 * what it allocates for each of the 1,000 cgroups would leave ~190 KB in
 * small, ~800 KB in kernfs and 16 KB per CPU of Percpu behind (a module
 * built to leak the entry and its counters: small +202 KB, Percpu +72 KB
 * on 6.12; noise seen: small up to +67 KB, kmalloc-* up to +145 KB,
 * Percpu up to +264 KB).  A module that kept a reference on removed
 * cgroups would keep them from being freed: that fails on its own.
 *
 * These are node-wide figures, moved by everything the kernel does (cgroup
 * and memcg teardown frees through RCU and workqueues, long after rmdir).
 * To compare like with like: a warm-up round of the same size runs first
 * (slab pages and per-cpu chunks are populated once); before and after the
 * measured round, once the tracked set is back and the removed cgroups are
 * freed (the memory controller's num_cgroups in /proc/cgroups and, on v2,
 * nr_dying_descendants back to their start, waited for up to 15 s; memcgs
 * carry most of the per-cpu memory), each figure is the
 * lowest of several readings taken after drop_caches (which also runs the
 * shrinkers, lazy RCU's among them).  Noise is transient, a leak is not.
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

/*
 * Under make check-debug's checkers (DEBUG_KOBJECT_RELEASE among them) a
 * round of 200 took 187 s of the test's 290: 50 there.
 */
#define NCGROUPS		(lf_thorough() ? 1000 : lf_debug_kernel() ? 50 : 200)
#define SETTLE_MS		15000
#define DISCOVER_MS		500

#define MAX_CACHES		512
#define SAMPLES			15

enum { M_SMALL, M_KERNFS, M_KMALLOC, M_PERCPU, NR_M };

static const char * const m_name[NR_M] = {
	"kmalloc-8..256", "kernfs_node_cache", "kmalloc-*", "Percpu",
};

static const long m_slack[NR_M] = { 96 << 10, 64 << 10, 256 << 10, 1 << 20 };

struct mem {
	long v[NR_M];		/* bytes */
	int ncaches;
	char name[MAX_CACHES][64];
	long bytes[MAX_CACHES];
};

struct round {
	int added, removed, discovered, wrong;
	long ms, settle_ms, freed_ms;
};

/* The slab caches the figures are made of: kmalloc-* and kernfs nodes. */
static bool measured_cache(const char *name)
{
	return !strncmp(name, "kmalloc-", 8) || !strcmp(name, "kernfs_node_cache");
}

/*
 * Objects freed but not back on a slab's free list count as active in
 * /proc/slabinfo: SLUB's per-cpu slabs (kernfs_node_cache +120 KB with no
 * leak on 5.10) and, under KASAN (make check-debug), its quarantine of up
 * to 1/32 of memory (kmalloc-* +354 KB).  Writing a cache's "shrink" file
 * flushes both for that cache and frees its empty slabs.
 */
static void shrink_measured_slabs(void)
{
	DIR *d = opendir("/sys/kernel/slab");
	struct dirent *e;
	char path[PATH_MAX];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!measured_cache(e->d_name))
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", e->d_name);
		lf_write_file(path, "1");
	}
	closedir(d);
}

static void drop_caches(void)
{
	sync();
	/* also runs the shrinkers, lazy RCU's among them */
	lf_write_file("/proc/sys/vm/drop_caches", "3");
	shrink_measured_slabs();
}

static int read_mem(struct mem *m)
{
	static char buf[1 << 20];
	char *line, *save;

	memset(m, 0, sizeof(*m));
	if (lf_read_file("/proc/slabinfo", buf, sizeof(buf)))
		return -1;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		long active, num, size, n;
		char name[64], *end;

		if (sscanf(line, "%63s %ld %ld %ld", name, &active, &num, &size) != 4 ||
		    !measured_cache(name))
			continue;
		if (!strcmp(name, "kernfs_node_cache")) {
			m->v[M_KERNFS] += active * size;
		} else {
			m->v[M_KMALLOC] += active * size;
			n = strtol(name + 8, &end, 10);
			if (!*end && n <= 256)
				m->v[M_SMALL] += active * size;
		}
		if (m->ncaches < MAX_CACHES) {
			snprintf(m->name[m->ncaches], sizeof(m->name[0]), "%s", name);
			m->bytes[m->ncaches++] = active * size;
		}
	}
	if (lf_read_file("/proc/meminfo", buf, sizeof(buf)))
		return -1;
	line = strstr(buf, "\nPercpu:");
	if (!line)
		return -1;
	m->v[M_PERCPU] = strtol(line + 8, NULL, 10) << 10;
	return 0;
}

/*
 * Each figure the lowest of up to SAMPLES readings, each after dropping
 * caches; with @base, stop as soon as every figure is within tolerance.
 */
static int sample_mem(struct mem *m, const struct mem *base, int *samples)
{
	static struct mem cur;

	for (int i = 0; i < SAMPLES; i++) {
		bool within = true;
		long low[NR_M];

		drop_caches();
		lf_msleep(200);
		if (read_mem(&cur))
			return -1;
		memcpy(low, m->v, sizeof(low));
		*m = cur;	/* the caches of the latest reading */
		for (int k = 0; k < NR_M; k++) {
			if (i && low[k] < m->v[k])
				m->v[k] = low[k];
			if (base && m->v[k] - base->v[k] > m_slack[k])
				within = false;
		}
		*samples = i + 1;
		if (base && within)
			break;
	}
	return 0;
}

/* The caches that grew most from @a to @b. */
static void show_growth(const struct mem *a, const struct mem *b)
{
	static long delta[MAX_CACHES];

	for (int i = 0; i < b->ncaches; i++) {
		delta[i] = b->bytes[i];
		for (int j = 0; j < a->ncaches; j++)
			if (!strcmp(a->name[j], b->name[i]))
				delta[i] -= a->bytes[j];
	}
	for (int shown = 0; shown < 5; shown++) {
		int top = -1;

		for (int i = 0; i < b->ncaches; i++)
			if (delta[i] > 0 && (top < 0 || delta[i] > delta[top]))
				top = i;
		if (top < 0)
			break;
		ksft_print_msg("  grew: %-24s %+ld bytes\n", b->name[top], delta[top]);
		delta[top] = 0;
	}
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The tracked set, as the sorted names of cgroups/<id>: 0 or -1. */
static int tracked_set(char *out, size_t size, int *n)
{
	char names[64][32];
	struct dirent *de;
	size_t o = 0;
	DIR *d;

	*n = 0;
	out[0] = '\0';
	d = opendir(LF_SYSFS "/cgroups");
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		if (*n < 64)
			snprintf(names[*n], sizeof(names[0]), "%.24s", de->d_name);
		(*n)++;
	}
	closedir(d);
	if (*n > 64)
		return 0;	/* too many to list: the count decides */
	qsort(names, *n, sizeof(names[0]), cmp_name);
	for (int i = 0; i < *n && o + 32 < size; i++)
		o += snprintf(out + o, size - o, "%s ", names[i]);
	return 0;
}

static int count_tracked(void)
{
	char set[2048];
	int n;

	return tracked_set(set, sizeof(set), &n) ? -1 : n;
}

/* cgroup v2: nr_dying_descendants of the root; -1 on v1. */
static long nr_dying(void)
{
	char path[PATH_MAX], buf[512], *p;

	snprintf(path, sizeof(path), "%s/cgroup.stat", lf_cgroup_root());
	if (lf_read_file(path, buf, sizeof(buf)))
		return -1;
	p = strstr(buf, "nr_dying_descendants ");
	return p ? strtol(p + 21, NULL, 10) : -1;
}

/* num_cgroups of the memory controller in /proc/cgroups: until freed. */
static long nr_memcgs(void)
{
	char buf[4096], *p;

	if (lf_read_file("/proc/cgroups", buf, sizeof(buf)))
		return -1;
	p = strstr(buf, "\nmemory\t");
	if (!p)
		return -1;
	/* memory <hierarchy> <num_cgroups> <enabled> */
	p = strchr(p + 8, '\t');
	return p ? strtol(p + 1, NULL, 10) : -1;
}

/* Until the tracked set is back to @set0: ms waited, or -1. */
static long settle(const char *set0)
{
	long start = lf_now_ms();

	for (;;) {
		char set[2048];
		int n;

		if (!tracked_set(set, sizeof(set), &n) && !strcmp(set, set0))
			return lf_now_ms() - start;
		if (lf_now_ms() - start > SETTLE_MS)
			return -1;
		lf_msleep(100);
	}
}

/*
 * Until the removed cgroups are freed: the memory controller counts no
 * more cgroups than @memcgs0 and (v2) no more dying ones than @dying0.
 * Memory is compared only then.  ms waited, or -1 after SETTLE_MS.
 */
static long wait_freed(long memcgs0, long dying0)
{
	long start = lf_now_ms();

	for (;;) {
		long memcgs = nr_memcgs(), dying = nr_dying();

		if ((memcgs0 < 0 || memcgs <= memcgs0) &&
		    (dying0 < 0 || dying <= dying0))
			return lf_now_ms() - start;
		if (lf_now_ms() - start > SETTLE_MS)
			return -1;
		drop_caches();
		lf_msleep(100);
	}
}

static void case_page(struct lf_result *r, const void *arg)
{
	char *p = lf_free_filled(r, lf_pagesize, 0x42);

	(void)arg;
	if (!p)
		return;
	r->aux[0] = (unsigned char)p[0];
}

FIXTURE(churn) {
	struct lf_global g;
	struct lf_cg top;
	struct lf_result *r;
	int tracked0;
	char set0[2048];	/* tracked at start */
	long dying0, memcgs0;
};

FIXTURE_SETUP(churn)
{
	ASSERT_TRUE(lf_module_loaded()) TH_LOG(LF_SYSFS " missing: module not loaded");
	ASSERT_EQ(0, lf_global_save(&self->g));
	ASSERT_EQ(0, lf_attr_write("enabled", "1"));
	ASSERT_EQ(0, lf_attr_write("default_mode", "free"));
	ASSERT_EQ(0, lf_cg_create(&self->top, "lf_churn"));
	self->r = lf_result_alloc();
	ASSERT_NE(NULL, self->r);
	ASSERT_EQ(0, tracked_set(self->set0, sizeof(self->set0), &self->tracked0));
	ASSERT_GE(64, self->tracked0) TH_LOG("too many tracked cgroups to compare sets");
	self->dying0 = nr_dying();
	self->memcgs0 = nr_memcgs();
}

FIXTURE_TEARDOWN_PARENT(churn)
{
	lf_cg_destroy(&self->top);
	lf_global_restore(&self->g);
}

/* One round of @n cgroups; false on a setup failure (logged). */
static bool churn_round(struct __test_metadata *_metadata,
			FIXTURE_DATA(churn) *self, int n, struct round *rd)
{
	long start = lf_now_ms();

	memset(rd, 0, sizeof(*rd));
	for (int i = 0; i < n; i++) {
		const char *mode = i % 4 == 0 ? "dontneed" : "free";
		bool add = i % 4 < 2;
		struct lf_cg cg;
		char name[64];
		int err;

		snprintf(name, sizeof(name), "lf_churn/c%d", i);
		err = lf_cg_create(&cg, name);
		if (err) {
			TH_LOG("mkdir %s: %s", name, strerror(-err));
			return false;
		}
		if (add) {
			err = lf_track(cg.id);
			if (!err)
				err = lf_cg_attr_write(cg.id, "mode", mode);
			if (err) {
				TH_LOG("track %s: %s", name, strerror(-err));
				return false;
			}
			rd->added++;
		}
		if (lf_run(cg.path, case_page, NULL, self->r)) {
			TH_LOG("%s: %s", name, self->r->msg);
			return false;
		}
		if (self->r->ret ||
		    self->r->aux[0] != (strcmp(mode, "dontneed") ? 0x42 : 0)) {
			if (rd->wrong++ < 5)
				TH_LOG("%s (%s): madvise %ld, page reads 0x%02lx",
				       name, add ? mode : "discovered",
				       self->r->ret, self->r->aux[0]);
		}
		if (!add)
			rd->discovered += lf_wait_tracked(cg.id, true, DISCOVER_MS) >= 0;
		if (i % 4 == 1) {
			err = lf_untrack(cg.id);
			rd->removed += !err;
		}
		cg.id = 0;	/* the rest is the module's pruning */
		err = lf_cg_destroy(&cg);
		if (err) {
			TH_LOG("rmdir %s: %s", name, strerror(-err));
			return false;
		}
	}
	rd->ms = lf_now_ms() - start;
	rd->settle_ms = settle(self->set0);
	rd->freed_ms = wait_freed(self->memcgs0, self->dying0);
	return true;
}

TEST_F_TIMEOUT(churn, thousand_cgroups, 290)
{
	struct round warm, rd;
	static struct mem m0, m1;
	int samples0 = 0, samples1 = 0, over = 0;
	bool have_mem;

	ASSERT_TRUE(churn_round(_metadata, self, NCGROUPS, &warm));
	ksft_print_msg("warm-up: %d cgroups churned in %ld ms; tracked set back after %ld ms, cgroups freed after %ld ms\n",
		       NCGROUPS, warm.ms, warm.settle_ms, warm.freed_ms);
	ASSERT_LE(0, warm.settle_ms) TH_LOG("tracked %d, at start %d, after %d s",
					    count_tracked(), self->tracked0,
					    SETTLE_MS / 1000);
	have_mem = !sample_mem(&m0, NULL, &samples0);

	ASSERT_TRUE(churn_round(_metadata, self, NCGROUPS, &rd));
	ksft_print_msg("cgroups churned: %d in %ld ms (%d added: %d dontneed, %d removed by cgroups/remove; %d of %d discovered); wrong pages: %d\n",
		       NCGROUPS, rd.ms, rd.added, (NCGROUPS + 3) / 4, rd.removed,
		       rd.discovered, NCGROUPS - rd.added, rd.wrong + warm.wrong);
	ksft_print_msg("tracked directories back to the starting set (%d: %s) after %ld ms\n",
		       self->tracked0, self->set0, rd.settle_ms);
	ksft_print_msg("removed cgroups freed after %ld ms (memory cgroups %ld, at start %ld; dying %ld, at start %ld)\n",
		       rd.freed_ms, nr_memcgs(), self->memcgs0, nr_dying(),
		       self->dying0);
	EXPECT_LE(0, rd.settle_ms) TH_LOG("tracked %d, at start %d, after %d s",
					  count_tracked(), self->tracked0,
					  SETTLE_MS / 1000);
	EXPECT_LE(0, rd.freed_ms) TH_LOG("removed cgroups not freed within %d s: a reference kept?",
					 SETTLE_MS / 1000);
	EXPECT_EQ(0, rd.wrong + warm.wrong);
	EXPECT_EQ((NCGROUPS + 2) / 4, rd.removed);	/* i % 4 == 1 */
	/* auto-discovery must find (almost) every advising cgroup */
	EXPECT_LE((NCGROUPS - rd.added) * 9 / 10, rd.discovered);

	if (!have_mem || sample_mem(&m1, &m0, &samples1))
		SKIP(return, "/proc/slabinfo or Percpu unreadable: memory not compared");
	ksft_print_msg("memory before -> after the measured round (lowest of %d and %d readings):\n",
		       samples0, samples1);
	for (int k = 0; k < NR_M; k++) {
		long d = m1.v[k] - m0.v[k];

		ksft_print_msg("  %-18s %9ld -> %9ld bytes (%+ld, tolerance %ld)%s\n",
			       m_name[k], m0.v[k], m1.v[k], d, m_slack[k],
			       d > m_slack[k] ? " OVER" : "");
		over += d > m_slack[k];
	}
	if (over)
		show_growth(&m0, &m1);
	/*
	 * Under KASAN's quarantine and kmemleak's and debugobjects' own
	 * allocations the slab figures move by more than the tolerances;
	 * there kmemleak's scan after unload (the rig's) is the leak check.
	 */
	if (lf_debug_kernel()) {
		ksft_print_msg("debug kernel: figures shown, not compared (kmemleak checks leaks)\n");
		return;
	}
	EXPECT_EQ(0, over);
}

TEST_HARNESS_MAIN
