// SPDX-License-Identifier: GPL-2.0
/*
 * Seeded differential fuzzer of the madvise surface.
 *
 * From a seed, a program is generated in the test process: adjacent VMAs
 * of every kind at fixed addresses (hugetlb, THP-eligible, private
 * anonymous, private file with COW pages, shared file, shmem or memfd,
 * mlocked, userfaultfd-armed, guard regions, read-only, and two spare
 * areas that start as holes), then a random sequence of writes, madvise
 * with every advice (invalid ones, unaligned starts and lengths, ranges
 * across VMAs and holes), mprotect, mlock/munlock, mremap, munmap, fork
 * with reads in the child, process_madvise on self and io_uring madvise.
 * The program runs twice, each time in a fresh child of the test:
 *   A: enabled=0 (the unhooked kernel), the reference;
 *   B: enabled=1 in a cgroup whose mode is dontneed.
 * Both make the same system calls; each logs every step (return value,
 * errno) and, at checkpoints, what every observed page holds (read with
 * pread(/proc/self/mem), so PROT_NONE is read and a guard page gives an
 * errno; a guarded direct read where that fails, so that a missing
 * userfaultfd page is served by the handler thread).
 *
 * Every write stores a unique tag (seed, write counter) at fixed offsets
 * of a page, so a page's content names its last write and follows it
 * through mremap and fork.  Before each MADV_FREE (madvise, io_uring,
 * process_madvise) both runs compute, from /proc/self/smaps, the pages
 * the kernel's own MADV_FREE reaches (start aligned; VMAs in address
 * order, holes skipped; the first VMA that is not anonymous, or is
 * VM_LOCKED, hugetlb or VM_PFNMAP, ends the walk) and A records the tags
 * found there (and the tag it last stored there itself).  The one
 * difference allowed: a page is lost on one side (reads all zero, or,
 * missing in a userfaultfd-armed VMA under PROT_NONE, cannot be read at
 * all) where the other holds a tag A's MADV_FREE reached by then.
 * Everything else (return values, errnos, the reached ranges, every
 * other page, what a forked child reads) must be equal.  The rule is
 * symmetric because MADV_PAGEOUT may reclaim A's lazily freed pages (then
 * A loses them too); each run is pinned to one CPU so that it does so the
 * same way every time.  Under dontneed the module leaves
 * userfaultfd-armed VMAs alone (and so does the emulation).  The
 * userfaultfd handler's fault count
 * is logged but not compared: under dontneed a read of a zapped page
 * faults where A's did not, and the handler's zero page is already
 * judged by the page rule.
 *
 * Host development without the module: LF_FUZZ_EMULATE=off runs B exactly
 * as A (determinism), =dontneed makes B MADV_DONTNEED the reached pages
 * before each MADV_FREE (what the module does), =wrong also zaps mlocked
 * VMAs (a replacement that ignores VM_LOCKED), =wrong-walk the anon VMAs
 * past the one that ends the kernel's walk, and =naive the whole range
 * as MADV_DONTNEED would (the rewrite of `behavior` at do_madvise that
 * loses private file COW data): each must be reported.
 *
 * Options (environment, or argv before the harness's own):
 *   LF_FUZZ_SEEDS=N or FIRST-LAST (--seed N, --seeds A-B)
 *   LF_FUZZ_COUNT=N   sequences from seed 1 (--count N)
 *   LF_FUZZ_VERBOSE=1 every step of every run, both results (--verbose)
 *   LF_FUZZ_EMULATE=off|dontneed|wrong|wrong-walk|naive (--emulate X)
 *   LF_FUZZ_STEPS=N   operations after the setup (48)
 *   LF_FUZZ_OBSERVE=N observe every page every N steps (4; 1 when a
 *                     difference is narrowed down)
 *   LF_FUZZ_BATCH=N   sequences per enabled=0/1 switch (16)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lf_harness.h"
#include "lf_util.h"

#ifndef MADV_FREE
#define MADV_FREE 8
#endif
#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MADV_DONTNEED_LOCKED
#define MADV_DONTNEED_LOCKED 24
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef MADV_GUARD_REMOVE
#define MADV_GUARD_REMOVE 103
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 0x01
#endif

#define PG		lf_pagesize
#define FZ_BASE		0x100000000000UL	/* 16 TiB: below every 47-bit TASK_SIZE */
#define FZ_MAGIC	0x7a9cULL		/* top 16 bits of every tag */
#define FZ_MAXOPS	160
#define FZ_MAXREG	16
#define FZ_MAXOBS	256			/* observed pages per checkpoint */
#define FZ_POOL		32768			/* observations per run */
#define FZ_MAXTAGS	8192
#define FZ_SLOTS	12			/* observed pages of a huge region */
#define FZ_FILE_PAGES	16
#define FZ_SPARE_PAGES	8

enum fz_kind {
	K_HUGETLB, K_THP, K_ANON, K_FILE_PRIV, K_FILE_SHARED, K_SHMEM,
	K_MLOCK, K_UFFD, K_GUARD, K_RO, K_SPARE, K_NKINDS
};

static const char *const kind_name[K_NKINDS] = {
	"hugetlb", "thp", "anon", "file-private", "file-shared", "shmem",
	"mlocked", "uffd", "guard", "read-only", "spare",
};

enum fz_opcode {
	OP_MAP, OP_WRITE, OP_MADVISE, OP_URING, OP_PMADV, OP_MPROTECT,
	OP_MLOCK, OP_MUNLOCK, OP_MLOCK_ONFAULT, OP_MREMAP, OP_MUNMAP,
	OP_FORK, OP_UFFD_REG, OP_OBSERVE,
};

static const char *const op_name[] = {
	"mmap", "write", "madvise", "io_uring madvise", "process_madvise",
	"mprotect", "mlock", "munlock", "mlock2 ONFAULT", "mremap", "munmap",
	"fork+read", "UFFDIO_REGISTER", "observe",
};

enum fz_emulate { EM_NONE, EM_OFF, EM_DONTNEED, EM_WRONG, EM_WRONG_WALK, EM_NAIVE };

static const char *const emulate_name[] = {
	"module", "off", "dontneed", "wrong", "wrong-walk", "naive",
};

struct fz_region {
	int kind;
	int variant;		/* shmem: 0 MAP_SHARED|MAP_ANONYMOUS, 1 memfd */
	unsigned long addr;
	int npages;
	int obs_first, nobs;	/* observed pages, in fz_prog.obs order */
};

struct fz_op {
	int op;
	int region;		/* OP_MAP, OP_WRITE */
	int arg;		/* advice, prot, obs count, iovec count */
	unsigned long addr, len, addr2, len2;
	int observe;		/* checkpoint after this step */
};

struct fz_prog {
	uint64_t seed;
	int nreg, nops, nobs, nsetup;
	struct fz_region reg[FZ_MAXREG];
	struct fz_op ops[FZ_MAXOPS];
	unsigned long obs[FZ_MAXOBS];	/* addresses */
	int obs_reg[FZ_MAXOBS];
};

struct fz_obs {
	uint64_t hash;
	uint64_t tag;		/* the word at offset 0 */
	int err;		/* 0: read; else the errno of pread */
	unsigned char zero;	/* all bytes zero */
	unsigned char sig;	/* the direct read's signal, when both failed */
	unsigned char via;	/* 1 direct read (not compared) */
};

struct fz_step {
	long ret;
	int err;
	int npages;		/* MADV_FREE: pages reached */
	uint64_t rhash;		/* MADV_FREE: the reached ranges */
	int obs_at;		/* -1 or first observation in the pool */
	int child_obs_at;	/* fork: what the child read */
	int child_status;
};

struct fz_tag {
	uint64_t tag;
	int step;
};

struct fz_log {
	int started, done, nsteps, truncated;
	int ring_err, pidfd_err, uffd_err;
	long uffd_faults;
	char msg[256];
	struct fz_step steps[FZ_MAXOPS];
	int npool, ntags;
	struct fz_obs pool[FZ_POOL];
	struct fz_tag tags[FZ_MAXTAGS];
};

/* What the kernel offers, probed once in the test process. */
struct fz_env {
	size_t thp, htlb;
	bool have_thp, have_htlb, have_uffd, have_guard;
	char why_thp[96], why_htlb[96], why_uffd[96], why_guard[96];
};

/* ------------------------------------------------------------ options */

static struct {
	uint64_t first, last;
	bool seeds_given;
	int verbose, steps, observe, batch;
	enum fz_emulate emulate;
} opt = { 1, 0, false, 0, 48, 4, 16, EM_NONE };

/*
 * The default campaign runs in every `make check` boot: 13 to 18 s under
 * TCG (2.2 to 3.1 sequences/s on 5.10 to 7.3; ~1 s on the host).
 */
#define FZ_DEFAULT_COUNT 40
#define FZ_DEBUG_COUNT 8	/* make check-debug's kernel */

/* ------------------------------------------------------------- random */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

struct fz_rng {
	uint64_t s;
};

static uint64_t rnd(struct fz_rng *r)
{
	/* xorshift64* */
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dULL;
}

static unsigned int below(struct fz_rng *r, unsigned int n)
{
	return n ? (unsigned int)((rnd(r) >> 32) % n) : 0;
}

/* ------------------------------------------------------ advice table */

/* A weighted choice: an advice (with its name) or an operation. */
struct fz_choice {
	int value;
	const char *name;
	int weight;
};

/* One of @n choices, each as likely as its weight. */
static int pick(struct fz_rng *r, const struct fz_choice *c, size_t n)
{
	unsigned int total = 0, x;
	size_t i;

	for (i = 0; i < n; i++)
		total += c[i].weight;
	x = below(r, total);
	for (i = 0; i < n - 1 && x >= (unsigned int)c[i].weight; i++)
		x -= c[i].weight;
	return c[i].value;
}

/*
 * Every advice value, and invalid ones.  MADV_HWPOISON (100) and
 * MADV_SOFT_OFFLINE (101) are left out on purpose: they poison or
 * migrate physical pages of the whole guest, not this process's state.
 */
static const struct fz_choice advices[] = {
	{ MADV_NORMAL, "MADV_NORMAL", 2 },
	{ MADV_RANDOM, "MADV_RANDOM", 2 },
	{ MADV_SEQUENTIAL, "MADV_SEQUENTIAL", 2 },
	{ MADV_WILLNEED, "MADV_WILLNEED", 3 },
	{ MADV_DONTNEED, "MADV_DONTNEED", 6 },
	{ MADV_FREE, "MADV_FREE", 30 },
	{ MADV_REMOVE, "MADV_REMOVE", 3 },
	{ MADV_DONTFORK, "MADV_DONTFORK", 2 },
	{ MADV_DOFORK, "MADV_DOFORK", 2 },
	{ MADV_MERGEABLE, "MADV_MERGEABLE", 2 },
	{ MADV_UNMERGEABLE, "MADV_UNMERGEABLE", 2 },
	{ MADV_HUGEPAGE, "MADV_HUGEPAGE", 2 },
	{ MADV_NOHUGEPAGE, "MADV_NOHUGEPAGE", 2 },
	{ MADV_DONTDUMP, "MADV_DONTDUMP", 1 },
	{ MADV_DODUMP, "MADV_DODUMP", 1 },
	{ MADV_WIPEONFORK, "MADV_WIPEONFORK", 2 },
	{ MADV_KEEPONFORK, "MADV_KEEPONFORK", 2 },
	{ MADV_COLD, "MADV_COLD", 3 },
	{ MADV_PAGEOUT, "MADV_PAGEOUT", 3 },
	{ MADV_POPULATE_READ, "MADV_POPULATE_READ", 3 },
	{ MADV_POPULATE_WRITE, "MADV_POPULATE_WRITE", 3 },
	{ MADV_DONTNEED_LOCKED, "MADV_DONTNEED_LOCKED", 3 },
	{ MADV_COLLAPSE, "MADV_COLLAPSE", 2 },
	{ MADV_GUARD_INSTALL, "MADV_GUARD_INSTALL", 2 },
	{ MADV_GUARD_REMOVE, "MADV_GUARD_REMOVE", 2 },
	{ 5, "5 (invalid)", 1 },
	{ 7, "7 (invalid)", 1 },
	{ 26, "26 (invalid)", 1 },
	{ 104, "104 (invalid)", 1 },
	{ -1, "-1 (invalid)", 1 },
	{ 0x7fffffff, "INT_MAX (invalid)", 1 },
};

static const char *advice_name(int advice)
{
	static char buf[32];

	for (size_t i = 0; i < ARRAY_SIZE(advices); i++)
		if (advices[i].value == advice)
			return advices[i].name;
	snprintf(buf, sizeof(buf), "%d", advice);
	return buf;
}

static int pick_advice(struct fz_rng *r)
{
	return pick(r, advices, ARRAY_SIZE(advices));
}

/* ---------------------------------------------------------- generator */

static bool kind_available(const struct fz_env *env, int kind)
{
	switch (kind) {
	case K_HUGETLB:
		return env->have_htlb;
	case K_THP:
		return env->have_thp;
	case K_UFFD:
		return env->have_uffd;
	case K_GUARD:
		return env->have_guard;
	default:
		return true;
	}
}

static void add_obs(struct fz_prog *p, int ri, int page)
{
	if (p->nobs < FZ_MAXOBS) {
		p->obs[p->nobs] = p->reg[ri].addr + (unsigned long)page * PG;
		p->obs_reg[p->nobs] = ri;
		p->nobs++;
	}
}

static int add_region(struct fz_prog *p, int kind, unsigned long addr, int npages)
{
	struct fz_region *g = &p->reg[p->nreg];

	g->kind = kind;
	g->addr = addr;
	g->npages = npages;
	g->obs_first = p->nobs;
	if (kind == K_HUGETLB || kind == K_THP) {
		static const int at[FZ_SLOTS] = { 0, 1, 2, -4, -3, -2, 2, 3, 4, -3, -2, -1 };

		/* three pages at each end and six around a quarter and a half */
		for (int i = 0; i < FZ_SLOTS; i++) {
			int pg;

			if (i < 3)
				pg = at[i];
			else if (i < 6)
				pg = npages / 4 + at[i] + 4;
			else if (i < 9)
				pg = npages / 2 + at[i] - 3;
			else
				pg = npages + at[i];
			add_obs(p, p->nreg, pg);
		}
	} else {
		for (int i = 0; i < npages; i++)
			add_obs(p, p->nreg, i);
	}
	g->nobs = p->nobs - g->obs_first;
	return p->nreg++;
}

static struct fz_op *add_op(struct fz_prog *p, int op)
{
	struct fz_op *o = &p->ops[p->nops++];

	memset(o, 0, sizeof(*o));
	o->op = op;
	o->region = -1;
	return o;
}

static void add_write(struct fz_prog *p, int ri, int first, int n)
{
	struct fz_op *o = add_op(p, OP_WRITE);

	o->region = ri;
	o->addr = first;	/* index among the region's observed pages */
	o->arg = n;
}

static void add_range_op(struct fz_prog *p, int op, unsigned long addr,
			 unsigned long len, int arg)
{
	struct fz_op *o = add_op(p, op);

	o->addr = addr;
	o->len = len;
	o->arg = arg;
}

/* A range: mostly inside one region, sometimes across VMAs and holes. */
static void pick_range(const struct fz_prog *p, struct fz_rng *r,
		       unsigned long *addr, unsigned long *len)
{
	const struct fz_region *g = &p->reg[below(r, p->nreg)];
	unsigned long pages, start = below(r, g->npages);
	unsigned int x = below(r, 100);

	if ((g->kind == K_THP || g->kind == K_HUGETLB) && below(r, 2))
		start = below(r, 2) ? 0 : g->npages - 1 - below(r, 4);
	if (x < 55)
		pages = 1 + below(r, 4);
	else if (x < 85)
		pages = g->npages - start + below(r, 10);	/* into the next VMA */
	else
		pages = 1 + below(r, 96);
	if ((g->kind == K_THP || g->kind == K_HUGETLB) && below(r, 4) == 0)
		pages = g->npages - start;			/* to its end */
	*addr = g->addr + start * PG;
	*len = pages * PG;
	x = below(r, 64);
	if (x < 3)
		*addr += 1 + below(r, PG - 1);		/* unaligned start */
	else if (x < 10)
		*len -= below(r, PG);			/* unaligned length */
	else if (x < 12)
		*len = 0;
}

static void gen_setup(struct fz_prog *p, const struct fz_env *env, struct fz_rng *r)
{
	int order[K_NKINDS], n = 0, ri;
	unsigned long pos = FZ_BASE;

	if (env->have_htlb) {
		ri = add_region(p, K_HUGETLB, pos, env->htlb / PG);
		pos += env->htlb;
	}
	if (env->have_thp) {
		pos = (pos + env->thp - 1) & ~(env->thp - 1);
		ri = add_region(p, K_THP, pos, env->thp / PG);
		pos += env->thp;
	}
	/* the small kinds right after the THP region, in a random order */
	for (int k = K_ANON; k < K_SPARE; k++)
		if (kind_available(env, k))
			order[n++] = k;
	for (int i = n - 1; i > 0; i--) {
		int j = below(r, i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (int i = 0; i < n; i++) {
		int np = 2 + below(r, 7);

		if (i && below(r, 4) == 0)
			pos += PG;			/* a hole */
		ri = add_region(p, order[i], pos, np);
		if (order[i] == K_SHMEM)
			p->reg[ri].variant = below(r, 2);
		pos += np * PG;
	}
	pos += 4 * PG;
	add_region(p, K_SPARE, pos, FZ_SPARE_PAGES);
	pos += (FZ_SPARE_PAGES + 2) * PG;
	add_region(p, K_SPARE, pos, FZ_SPARE_PAGES);

	for (ri = 0; ri < p->nreg; ri++) {
		struct fz_region *g = &p->reg[ri];
		unsigned long len = (unsigned long)g->npages * PG;
		struct fz_op *o;

		if (g->kind == K_SPARE)
			continue;
		o = add_op(p, OP_MAP);
		o->region = ri;
		o->addr = g->addr;
		o->len = len;
		switch (g->kind) {
		case K_THP:
			add_range_op(p, OP_MADVISE, g->addr, len, MADV_HUGEPAGE);
			add_write(p, ri, 0, g->nobs);
			break;
		case K_FILE_PRIV:
		case K_FILE_SHARED:
			/* COW (or shared) data on the first half */
			add_write(p, ri, 0, (g->nobs + 1) / 2);
			break;
		case K_MLOCK:
			add_write(p, ri, 0, g->nobs);
			add_range_op(p, below(r, 3) ? OP_MLOCK : OP_MLOCK_ONFAULT,
				     g->addr, len, 0);
			break;
		case K_UFFD:
			add_range_op(p, OP_UFFD_REG, g->addr, len, 0);
			/* some pages written, the rest left missing */
			add_write(p, ri, below(r, 2), g->nobs - 1);
			break;
		case K_GUARD:
			add_write(p, ri, 0, g->nobs);
			add_range_op(p, OP_MADVISE, g->addr + below(r, g->npages) * PG,
				     (1 + below(r, 2)) * PG, MADV_GUARD_INSTALL);
			break;
		case K_RO:
			add_write(p, ri, 0, g->nobs);
			add_range_op(p, OP_MPROTECT, g->addr, len, PROT_READ);
			break;
		default:
			add_write(p, ri, 0, g->nobs);
			break;
		}
	}
	p->nsetup = p->nops;
	p->ops[p->nops - 1].observe = 1;
}

/* operations by weight (their names: op_name[]) */
static const struct fz_choice op_weights[] = {
	{ OP_WRITE, NULL, 18 }, { OP_MADVISE, NULL, 34 }, { OP_URING, NULL, 7 },
	{ OP_PMADV, NULL, 5 }, { OP_MPROTECT, NULL, 7 }, { OP_MLOCK, NULL, 3 },
	{ OP_MUNLOCK, NULL, 3 }, { OP_MLOCK_ONFAULT, NULL, 1 },
	{ OP_MREMAP, NULL, 7 }, { OP_MUNMAP, NULL, 2 }, { OP_FORK, NULL, 5 },
	{ OP_OBSERVE, NULL, 2 },
};

/* A small region or a spare area: what mremap moves from and to. */
static int pick_small(const struct fz_prog *p, struct fz_rng *r)
{
	for (;;) {
		int ri = below(r, p->nreg);

		if (p->reg[ri].kind != K_THP && p->reg[ri].kind != K_HUGETLB)
			return ri;
	}
}

static const int prots[4] = {
	PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE,
};

static void gen_prog(struct fz_prog *p, const struct fz_env *env, uint64_t seed,
		     int steps, int observe)
{
	uint64_t x = seed;
	struct fz_rng r = { splitmix64(&x) | 1 };

	memset(p, 0, sizeof(*p));
	p->seed = seed;
	gen_setup(p, env, &r);
	for (int s = 0; s < steps && p->nops < FZ_MAXOPS; s++) {
		int op = pick(&r, op_weights, ARRAY_SIZE(op_weights));
		struct fz_op *o;

		if (op == OP_WRITE) {
			int ri = below(&r, p->nreg);
			int first = below(&r, p->reg[ri].nobs);
			int n = 1 + below(&r, 4);

			if (n > p->reg[ri].nobs - first)
				n = p->reg[ri].nobs - first;
			add_write(p, ri, first, n);
		} else if (op == OP_MREMAP) {
			const struct fz_region *src = &p->reg[pick_small(p, &r)];
			const struct fz_region *dst = &p->reg[pick_small(p, &r)];
			int n = 1 + below(&r, 4), s0, d0;

			if (n > src->npages)
				n = src->npages;
			if (n > dst->npages)
				n = dst->npages;
			s0 = below(&r, src->npages - n + 1);
			d0 = below(&r, dst->npages - n + 1);
			o = add_op(p, OP_MREMAP);
			o->addr = src->addr + s0 * PG;
			o->len = n * PG;
			o->addr2 = dst->addr + d0 * PG;
		} else if (op == OP_PMADV) {
			o = add_op(p, OP_PMADV);
			pick_range(p, &r, &o->addr, &o->len);
			o->arg = below(&r, 3) ? MADV_FREE : pick_advice(&r);
			if (below(&r, 2))
				pick_range(p, &r, &o->addr2, &o->len2);
		} else {
			o = add_op(p, op);
			if (op != OP_FORK && op != OP_OBSERVE)
				pick_range(p, &r, &o->addr, &o->len);
			if (op == OP_MADVISE)
				o->arg = pick_advice(&r);
			else if (op == OP_URING)
				o->arg = below(&r, 3) ? MADV_FREE : pick_advice(&r);
			else if (op == OP_MPROTECT)
				o->arg = prots[below(&r, 4)];
		}
		if (p->ops[p->nops - 1].op == OP_OBSERVE || (s + 1) % observe == 0 ||
		    s == steps - 1)
			p->ops[p->nops - 1].observe = 1;
	}
}

/* --------------------------------------------------------- describing */

static const char *where(const struct fz_prog *p, unsigned long a)
{
	static char buf[4][64];
	static int i;
	char *b = buf[i++ & 3];

	for (int ri = 0; ri < p->nreg; ri++) {
		const struct fz_region *g = &p->reg[ri];
		unsigned long end = g->addr + (unsigned long)g->npages * PG;

		if (a >= g->addr && a < end) {
			unsigned long off = a - g->addr;

			snprintf(b, 64, "%s#%d+%lu%s%s", kind_name[g->kind], ri,
				 off / PG, off % PG ? "." : "",
				 off % PG ? "unaligned" : "");
			return b;
		}
	}
	snprintf(b, 64, "hole");
	return b;
}

static const char *prot_name(int prot)
{
	return prot == PROT_NONE ? "PROT_NONE" : prot == PROT_READ ? "PROT_READ" :
	       "PROT_READ|PROT_WRITE";
}

static void describe(const struct fz_prog *p, const struct fz_op *o, char *buf, size_t n)
{
	const struct fz_region *g = o->region >= 0 ? &p->reg[o->region] : NULL;

	switch (o->op) {
	case OP_MAP:
		snprintf(buf, n, "mmap(%#lx, %#lx) %s%s", o->addr, o->len,
			 kind_name[g->kind],
			 g->kind == K_SHMEM ? (g->variant ? " (memfd)" : " (MAP_SHARED|MAP_ANONYMOUS)") :
			 "");
		break;
	case OP_WRITE:
		snprintf(buf, n, "write tags to %d observed pages of %s#%d from %s",
			 o->arg, kind_name[g->kind], o->region,
			 where(p, p->obs[g->obs_first + o->addr]));
		break;
	case OP_MADVISE:
	case OP_URING:
		snprintf(buf, n, "%s(%#lx [%s], %#lx, %s)", op_name[o->op], o->addr,
			 where(p, o->addr), o->len, advice_name(o->arg));
		break;
	case OP_PMADV: {
		char second[96] = "";

		if (o->len2 || o->addr2)
			snprintf(second, sizeof(second), ", {%#lx [%s], %#lx}", o->addr2,
				 where(p, o->addr2), o->len2);
		snprintf(buf, n, "process_madvise(self, {%#lx [%s], %#lx}%s, %s)", o->addr,
			 where(p, o->addr), o->len, second, advice_name(o->arg));
		break;
	}
	case OP_MPROTECT:
		snprintf(buf, n, "mprotect(%#lx [%s], %#lx, %s)", o->addr,
			 where(p, o->addr), o->len, prot_name(o->arg));
		break;
	case OP_MREMAP:
		snprintf(buf, n, "mremap(%#lx [%s], %#lx, MAYMOVE|FIXED, %#lx [%s])",
			 o->addr, where(p, o->addr), o->len, o->addr2, where(p, o->addr2));
		break;
	case OP_FORK:
	case OP_OBSERVE:
		snprintf(buf, n, "%s", op_name[o->op]);
		break;
	default:
		snprintf(buf, n, "%s(%#lx [%s], %#lx)", op_name[o->op], o->addr,
			 where(p, o->addr), o->len);
		break;
	}
}

/* ------------------------------------------------------ the run child */

static sigjmp_buf fz_jb;
static int fz_armed, fz_sig;	/* __atomic: read in the signal handler */

static void fz_on_fault(int sig)
{
	if (!__atomic_load_n(&fz_armed, __ATOMIC_RELAXED)) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	__atomic_store_n(&fz_sig, sig, __ATOMIC_RELAXED);
	__atomic_store_n(&fz_armed, 0, __ATOMIC_RELAXED);
	siglongjmp(fz_jb, 1);
}

static void fz_catch_faults(void)
{
	struct sigaction sa = { .sa_handler = fz_on_fault, .sa_flags = SA_NODEFER };

	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

static int fz_tag_offsets[3];

/* Store tag at the fixed offsets of the page; 0 or the signal taken. */
static int fz_store(unsigned long addr, uint64_t tag)
{
	if (sigsetjmp(fz_jb, 1))
		return __atomic_load_n(&fz_sig, __ATOMIC_RELAXED);
	__atomic_store_n(&fz_armed, 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < 3; i++)
		__atomic_store_n((uint64_t *)(addr + fz_tag_offsets[i]), tag,
				 __ATOMIC_RELAXED);
	__atomic_store_n(&fz_armed, 0, __ATOMIC_SEQ_CST);
	return 0;
}

/* Copy one page directly; 0 or the signal taken. */
static int fz_load(unsigned long addr, uint64_t *buf)
{
	if (sigsetjmp(fz_jb, 1))
		return __atomic_load_n(&fz_sig, __ATOMIC_RELAXED);
	__atomic_store_n(&fz_armed, 1, __ATOMIC_SEQ_CST);
	for (size_t i = 0; i < PG / 8; i++)
		buf[i] = __atomic_load_n((const uint64_t *)addr + i, __ATOMIC_RELAXED);
	__atomic_store_n(&fz_armed, 0, __ATOMIC_SEQ_CST);
	return 0;
}

static uint64_t fz_pagebuf[65536 / 8];

static void fz_observe_page(int memfd, unsigned long addr, struct fz_obs *o)
{
	uint64_t h = 0xcbf29ce484222325ULL, any = 0;
	ssize_t n = pread(memfd, fz_pagebuf, PG, (off_t)addr);

	memset(o, 0, sizeof(*o));
	if (n != (ssize_t)PG) {
		o->err = n < 0 ? errno : EIO;
		o->sig = fz_load(addr, fz_pagebuf);
		if (o->sig)
			return;
		o->err = 0;
		o->via = 1;
	}
	for (size_t i = 0; i < PG / 8; i++) {
		h = (h ^ fz_pagebuf[i]) * 0x100000001b3ULL;
		any |= fz_pagebuf[i];
	}
	o->hash = h;
	o->tag = fz_pagebuf[0];
	o->zero = !any;
}

static void fz_observe_all(const struct fz_prog *p, int memfd, struct fz_obs *out)
{
	for (int i = 0; i < p->nobs; i++)
		fz_observe_page(memfd, p->obs[i], &out[i]);
}

/* Where the next observations go; -1 when the pool is full. */
static int fz_pool_take(struct fz_log *l, int n)
{
	int at = l->npool;

	if (at + n > FZ_POOL) {
		l->truncated = 1;
		return -1;
	}
	l->npool += n;
	return at;
}

/* userfaultfd: MISSING faults answered with the zero page */
struct fz_uffd {
	int fd, stop[2];
	long faults;
	pthread_t thread;
	bool running;
};

static void *fz_uffd_handler(void *arg)
{
	struct fz_uffd *u = arg;

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = u->fd, .events = POLLIN },
			{ .fd = u->stop[0], .events = POLLIN },
		};
		struct uffdio_zeropage zp = { 0 };
		struct uffd_msg msg;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		if (!(pfd[0].revents & POLLIN))
			continue;
		if (read(u->fd, &msg, sizeof(msg)) != sizeof(msg))
			continue;
		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		u->faults++;
		zp.range.start = msg.arg.pagefault.address & ~(PG - 1);
		zp.range.len = PG;
		if (ioctl(u->fd, UFFDIO_ZEROPAGE, &zp)) {
			struct uffdio_range wr = { zp.range.start, PG };

			ioctl(u->fd, UFFDIO_WAKE, &wr);
		}
	}
	return NULL;
}

/* smaps: the VMAs, for the walk of MADV_FREE */
struct fz_vma {
	unsigned long start, end;
	bool anon, locked, hugetlb, pfnmap, uffd;
};

static char fz_smaps[1 << 20];
static struct fz_vma fz_vmas[512];

static int fz_read_vmas(void)
{
	int n = 0;
	char *p;

	if (lf_read_file("/proc/self/smaps", fz_smaps, sizeof(fz_smaps)))
		return -1;
	for (p = fz_smaps; p && *p; ) {
		char *nl = strchr(p, '\n');
		unsigned long s, e;
		int off = 0;

		if (nl)
			*nl = '\0';
		if (sscanf(p, "%lx-%lx %*s %*s %*s %*s %n", &s, &e, &off) >= 2 && off &&
		    n < (int)ARRAY_SIZE(fz_vmas)) {
			const char *name = p + off;

			fz_vmas[n].start = s;
			fz_vmas[n].end = e;
			fz_vmas[n].anon = !*name || !strncmp(name, "[heap]", 6) ||
					  !strncmp(name, "[stack]", 7) ||
					  !strncmp(name, "[anon:", 6);
			fz_vmas[n].locked = fz_vmas[n].hugetlb = false;
			fz_vmas[n].pfnmap = fz_vmas[n].uffd = false;
			n++;
		} else if (!strncmp(p, "VmFlags:", 8) && n) {
			fz_vmas[n - 1].locked = strstr(p, " lo") != NULL;
			fz_vmas[n - 1].hugetlb = strstr(p, " ht") != NULL;
			fz_vmas[n - 1].pfnmap = strstr(p, " pf") != NULL;
			fz_vmas[n - 1].uffd = strstr(p, " um") || strstr(p, " uw") ||
					      strstr(p, " ui");
		}
		p = nl ? nl + 1 : NULL;
	}
	return n;
}

struct fz_range {
	unsigned long start, end;
	bool locked, uffd;
};

/*
 * The ranges MADV_FREE of [addr, addr + len) reaches, as the kernel walks
 * them.  @wrong: the deliberately wrong rules of LF_FUZZ_EMULATE=wrong
 * (VM_LOCKED ignored) and wrong-walk (an ineligible VMA is skipped
 * instead of ending the walk, as a rewrite of the whole call would).
 */
static int fz_free_reach(unsigned long addr, unsigned long len, enum fz_emulate wrong,
			 struct fz_range *out, int max)
{
	unsigned long end = addr + ((len + PG - 1) & ~(PG - 1));
	int nv, n = 0;

	if (addr & (PG - 1) || !len || end < addr)
		return 0;
	nv = fz_read_vmas();
	for (int i = 0; i < nv && n < max; i++) {
		struct fz_vma *v = &fz_vmas[i];

		if (v->end <= addr || v->start >= end)
			continue;
		if (!v->anon || v->hugetlb || v->pfnmap || (v->locked && wrong != EM_WRONG)) {
			if (wrong == EM_WRONG_WALK)
				continue;
			break;
		}
		out[n].start = v->start > addr ? v->start : addr;
		out[n].end = v->end < end ? v->end : end;
		out[n].locked = v->locked;
		out[n].uffd = v->uffd;
		n++;
	}
	return n;
}

struct fz_ctx {
	const struct fz_prog *p;
	struct fz_log *l;
	enum fz_emulate em;
	bool is_b;
	int memfd;
	uint64_t wcount;
	/*
	 * The last tag stored at each observed page, moved by mremap and
	 * dropped by munmap: the reached set takes these as well as what
	 * pread finds, so that a page pread cannot read (PROT_NONE where
	 * /proc/PID/mem does not force) still counts.  A stale entry only
	 * names a tag that no page holds any more.
	 */
	uint64_t shadow[FZ_MAXOBS];
};

static int fz_obs_index(const struct fz_prog *p, unsigned long a)
{
	for (int k = 0; k < p->nobs; k++)
		if (p->obs[k] == a)
			return k;
	return -1;
}

static void fz_shadow_move(struct fz_ctx *c, unsigned long from, unsigned long len,
			   unsigned long to)
{
	uint64_t moved[FZ_MAXOBS] = { 0 };
	int k, d;

	for (k = 0; k < c->p->nobs; k++)
		if (c->p->obs[k] >= from && c->p->obs[k] - from < len) {
			moved[k] = c->shadow[k];
			c->shadow[k] = 0;
		}
	if (!to)
		return;
	for (k = 0; k < c->p->nobs; k++) {
		if (!moved[k])
			continue;
		d = fz_obs_index(c->p, c->p->obs[k] - from + to);
		if (d >= 0)
			c->shadow[d] = moved[k];
	}
}

static void fz_add_tag(struct fz_log *l, uint64_t tag, int step)
{
	for (int i = 0; i < l->ntags; i++)
		if (l->tags[i].tag == tag)
			return;
	if (l->ntags < FZ_MAXTAGS) {
		l->tags[l->ntags].tag = tag;
		l->tags[l->ntags].step = step;
		l->ntags++;
	} else {
		l->truncated = 1;
	}
}

/*
 * Before MADV_FREE of one range: record what it reaches (pages, ranges),
 * the tags on the observed pages there, and in an emulating run B zap
 * them as the policy would.
 */
static void fz_before_free(struct fz_ctx *c, int step, unsigned long addr, unsigned long len)
{
	struct fz_step *st = &c->l->steps[step];
	bool wrong = c->is_b && (c->em == EM_WRONG || c->em == EM_WRONG_WALK);
	struct fz_range rg[64];
	int n = fz_free_reach(addr, len, EM_NONE, rg, ARRAY_SIZE(rg));

	for (int i = 0; i < n; i++) {
		st->npages += (rg[i].end - rg[i].start) / PG;
		st->rhash = (st->rhash ^ rg[i].start) * 0x100000001b3ULL;
		st->rhash = (st->rhash ^ rg[i].end) * 0x100000001b3ULL;
		for (int k = 0; k < c->p->nobs; k++) {
			unsigned long a = c->p->obs[k];
			uint64_t w;

			if (a < rg[i].start || a >= rg[i].end)
				continue;
			if (c->shadow[k])
				fz_add_tag(c->l, c->shadow[k], step);
			if (pread(c->memfd, &w, sizeof(w), (off_t)a) == sizeof(w) &&
			    w >> 48 == FZ_MAGIC)
				fz_add_tag(c->l, w, step);
		}
	}
	if (!c->is_b || c->em < EM_DONTNEED)
		return;
	if (c->em == EM_NAIVE) {
		madvise((void *)addr, len, MADV_DONTNEED);
		return;
	}
	if (wrong)
		n = fz_free_reach(addr, len, c->em, rg, ARRAY_SIZE(rg));
	/*
	 * As the module: never on a userfaultfd-armed VMA (there a zapped
	 * page under PROT_NONE reads neither zero nor its data through
	 * /proc/self/mem, a difference the rule does not allow).
	 */
	for (int i = 0; i < n; i++)
		if (!rg[i].uffd)
			madvise((void *)rg[i].start, rg[i].end - rg[i].start,
				rg[i].locked ? MADV_DONTNEED_LOCKED : MADV_DONTNEED);
}

static void fz_record(struct fz_step *st, long ret)
{
	st->ret = ret < 0 ? -1 : ret;
	st->err = ret < 0 ? errno : 0;
}

static int fz_tmpfile(int id)
{
	int fd = lf_tmpfile(FZ_FILE_PAGES * PG, 0);

	if (fd < 0)
		return -1;
	for (int pg = 0; pg < FZ_FILE_PAGES; pg++) {
		for (size_t w = 0; w < PG / 8; w++)
			fz_pagebuf[w] = 0x4649000000000000ULL | (uint64_t)id << 40 |
					(uint64_t)pg << 20 | w;
		if (pwrite(fd, fz_pagebuf, PG, (off_t)pg * PG) != (ssize_t)PG) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

static void fz_fork_read(struct fz_ctx *c, struct fz_step *st)
{
	static struct fz_obs obs[FZ_MAXOBS];
	int pfd[2], status, at;
	size_t want = c->p->nobs * sizeof(obs[0]), got = 0;
	pid_t pid;

	st->child_obs_at = -1;
	if (pipe(pfd)) {
		fz_record(st, -1);
		return;
	}
	pid = fork();
	if (pid == 0) {
		int memfd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);

		close(pfd[0]);
		fz_observe_all(c->p, memfd, obs);
		_exit(write(pfd[1], obs, want) == (ssize_t)want ? 0 : 1);
	}
	close(pfd[1]);
	fz_record(st, pid < 0 ? -1 : 0);
	while (pid > 0 && got < want) {
		ssize_t n = read(pfd[0], (char *)obs + got, want - got);

		if (n <= 0)
			break;
		got += n;
	}
	close(pfd[0]);
	if (pid > 0) {
		waitpid(pid, &status, 0);
		st->child_status = status;
	}
	if (got == want) {
		at = fz_pool_take(c->l, c->p->nobs);
		if (at >= 0) {
			memcpy(&c->l->pool[at], obs, want);
			st->child_obs_at = at;
		}
	}
}

static void fz_exec(const struct fz_prog *p, struct fz_log *l, enum fz_emulate em, bool is_b)
{
	struct fz_ctx c = { .p = p, .l = l, .em = em, .is_b = is_b };
	struct fz_uffd u = { .fd = -1 };
	struct lf_ring *ring;
	int fds[3], pidfd;

	l->started = 1;
	fz_tag_offsets[0] = 0;
	fz_tag_offsets[1] = PG / 2 + 8;
	fz_tag_offsets[2] = PG - 8;
	fz_catch_faults();
	c.memfd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	fds[0] = fz_tmpfile(1);
	fds[1] = fz_tmpfile(2);
	fds[2] = memfd_create("lazyfree-fuzz", MFD_CLOEXEC);
	if (c.memfd < 0 || fds[0] < 0 || fds[1] < 0 || fds[2] < 0 ||
	    ftruncate(fds[2], FZ_FILE_PAGES * PG)) {
		snprintf(l->msg, sizeof(l->msg), "setup: /proc/self/mem, files: %s",
			 strerror(errno));
		return;
	}
	ring = lf_ring_open(&l->ring_err);
	if (!ring && !l->ring_err)
		l->ring_err = EIO;
	pidfd = syscall(__NR_pidfd_open, getpid(), 0);
	l->pidfd_err = pidfd < 0 ? errno : 0;
	u.fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (u.fd >= 0) {
		struct uffdio_api api = { .api = UFFD_API };

		if (ioctl(u.fd, UFFDIO_API, &api) || pipe(u.stop) ||
		    pthread_create(&u.thread, NULL, fz_uffd_handler, &u))
			l->uffd_err = errno ? errno : EIO;
		else
			u.running = true;
	} else {
		l->uffd_err = errno;
	}

	for (int i = 0; i < p->nops; i++) {
		const struct fz_op *o = &p->ops[i];
		struct fz_step *st = &l->steps[i];
		const struct fz_region *g = o->region >= 0 ? &p->reg[o->region] : NULL;
		void *a = (void *)o->addr;
		long ret = 0;

		st->obs_at = st->child_obs_at = -1;
		errno = 0;
		switch (o->op) {
		case OP_MAP: {
			int prot = PROT_READ | PROT_WRITE, fl = MAP_FIXED_NOREPLACE, fd = -1;

			switch (g->kind) {
			case K_HUGETLB:
				fl |= MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB;
				break;
			case K_FILE_PRIV:
				fl |= MAP_PRIVATE;
				fd = fds[0];
				break;
			case K_FILE_SHARED:
				fl |= MAP_SHARED;
				fd = fds[1];
				break;
			case K_SHMEM:
				fl |= MAP_SHARED | (g->variant ? 0 : MAP_ANONYMOUS);
				fd = g->variant ? fds[2] : -1;
				break;
			default:
				fl |= MAP_PRIVATE | MAP_ANONYMOUS;
				break;
			}
			ret = mmap(a, o->len, prot, fl, fd, 0) == a ? 0 : -1;
			if (!ret && g->kind != K_THP && g->kind != K_HUGETLB)
				madvise(a, o->len, MADV_NOHUGEPAGE);
			break;
		}
		case OP_WRITE:
			for (int k = 0; k < o->arg; k++) {
				unsigned long pa = p->obs[g->obs_first + o->addr + k];
				uint64_t tag = FZ_MAGIC << 48 | (p->seed & 0xffff) << 32 |
					       (c.wcount++ & 0xffffffff);
				int sig = fz_store(pa, tag);

				if (!sig) {
					c.shadow[g->obs_first + o->addr + k] = tag;
					ret++;
				} else if (!st->err) {
					st->err = sig;	/* the first signal */
				}
			}
			st->ret = ret;
			goto logged;
		case OP_MADVISE:
			if (o->arg == MADV_FREE)
				fz_before_free(&c, i, o->addr, o->len);
			ret = madvise(a, o->len, o->arg);
			break;
		case OP_URING:
			if (!ring) {
				st->ret = -1;
				st->err = l->ring_err;
				goto logged;
			}
			if (o->arg == MADV_FREE)
				fz_before_free(&c, i, o->addr, o->len);
			ret = lf_ring_madvise(ring, a, o->len, o->arg);
			break;
		case OP_PMADV: {
			struct iovec iov[2] = {
				{ a, o->len }, { (void *)o->addr2, o->len2 },
			};
			int n = o->len2 || o->addr2 ? 2 : 1;

			if (pidfd < 0) {
				st->ret = -1;
				st->err = l->pidfd_err;
				goto logged;
			}
			/*
			 * Where the kernel refuses MADV_FREE here (before
			 * mainline 6.15) the reached set is an overestimate:
			 * it only widens what may read zero.
			 */
			if (o->arg == MADV_FREE)
				for (int k = 0; k < n; k++)
					fz_before_free(&c, i, (unsigned long)iov[k].iov_base,
						       iov[k].iov_len);
			ret = syscall(__NR_process_madvise, pidfd, iov, n, o->arg, 0);
			break;
		}
		case OP_MPROTECT:
			ret = mprotect(a, o->len, o->arg);
			break;
		case OP_MLOCK:
			ret = mlock(a, o->len);
			break;
		case OP_MUNLOCK:
			ret = munlock(a, o->len);
			break;
		case OP_MLOCK_ONFAULT:
			ret = syscall(__NR_mlock2, a, o->len, MLOCK_ONFAULT);
			break;
		case OP_MREMAP: {
			void *to = mremap(a, o->len, o->len, MREMAP_MAYMOVE | MREMAP_FIXED,
					  (void *)o->addr2);

			ret = to == MAP_FAILED ? -1 : to == (void *)o->addr2 ? 0 : -2;
			if (!ret)
				fz_shadow_move(&c, o->addr, o->len, o->addr2);
			break;
		}
		case OP_MUNMAP:
			ret = munmap(a, o->len);
			if (!ret)
				fz_shadow_move(&c, o->addr, o->len, 0);
			break;
		case OP_FORK:
			fz_fork_read(&c, st);
			goto logged;
		case OP_UFFD_REG: {
			struct uffdio_register reg = {
				.range = { o->addr, o->len },
				.mode = UFFDIO_REGISTER_MODE_MISSING,
			};

			if (!u.running) {
				st->ret = -1;
				st->err = l->uffd_err;
				goto logged;
			}
			ret = ioctl(u.fd, UFFDIO_REGISTER, &reg);
			break;
		}
		case OP_OBSERVE:
			break;
		}
		fz_record(st, ret);
logged:
		if (o->observe) {
			st->obs_at = fz_pool_take(l, p->nobs);
			if (st->obs_at >= 0)
				fz_observe_all(p, c.memfd, &l->pool[st->obs_at]);
		}
		l->nsteps = i + 1;
	}
	if (u.running) {
		if (write(u.stop[1], "x", 1) == 1)
			pthread_join(u.thread, NULL);
		l->uffd_faults = u.faults;
	}
	lf_ring_close(ring);
	l->done = 1;
}

/*
 * One CPU for the whole run: MADV_FREE queues a folio in a per-CPU batch
 * and MADV_PAGEOUT drains only its own CPU's, so whether PAGEOUT can
 * reclaim a lazily freed page would otherwise depend on migration.
 */
static void fz_pin(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set))
		return;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set)) {
			CPU_ZERO(&set);
			CPU_SET(cpu, &set);
			sched_setaffinity(0, sizeof(set), &set);
			return;
		}
}

/* Run one program in a fresh child (in cgpath when given); 0 or -1. */
static int fz_run(const struct fz_prog *p, struct fz_log *l, enum fz_emulate em,
		  bool is_b, const char *cgpath, int timeout_s)
{
	int status;
	pid_t pid;

	memset(l, 0, offsetof(struct fz_log, pool));
	l->npool = l->ntags = 0;
	pid = lf_fork_into(cgpath, l->msg, sizeof(l->msg));
	if (pid < 0)
		return -1;
	if (pid == 0) {
		alarm(timeout_s);
		fz_pin();
		fz_exec(p, l, em, is_b);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid) {
		snprintf(l->msg, sizeof(l->msg), "waitpid: %s", strerror(errno));
		return -1;
	}
	if (WIFSIGNALED(status)) {
		snprintf(l->msg, sizeof(l->msg), "run killed by signal %d (%s) after %d steps",
			 WTERMSIG(status), strsignal(WTERMSIG(status)), l->nsteps);
		return -1;
	}
	if (!l->done) {
		if (!l->msg[0])
			snprintf(l->msg, sizeof(l->msg), "run exited with %d after %d steps",
				 WEXITSTATUS(status), l->nsteps);
		return -1;
	}
	return 0;
}

/* --------------------------------------------------------- comparator */

/* The step at which A's MADV_FREE first reached @tag, or -1. */
static int reached_at(const struct fz_log *a, uint64_t tag)
{
	if (tag >> 48 != FZ_MAGIC)
		return -1;
	for (int i = 0; i < a->ntags; i++)
		if (a->tags[i].tag == tag)
			return a->tags[i].step;
	return -1;
}

struct fz_verdict {
	int step;		/* first differing step, -1: none */
	int page;		/* -1: the result differs */
	bool child;		/* in what the forked child read */
	long allowed;		/* pages that read zero by the allowed rule */
	long compared;		/* page observations compared */
	char why[160];
};

static bool obs_equal(const struct fz_obs *x, const struct fz_obs *y)
{
	return x->err == y->err && x->sig == y->sig &&
	       (x->err || (x->hash == y->hash && x->zero == y->zero));
}

/*
 * A page that lost its content: it reads zero, or (a missing page of a
 * userfaultfd-armed VMA under PROT_NONE, which neither /proc/self/mem nor
 * a direct read can fault in) it cannot be read at all.
 */
static bool obs_gone(const struct fz_obs *o)
{
	return o->err ? o->err == EIO || o->err == EFAULT : o->zero;
}

/* 0 equal, 1 allowed difference, -1 not allowed */
static int obs_compare(const struct fz_log *a, const struct fz_obs *x,
		       const struct fz_obs *y, int step, char *why, size_t n)
{
	const struct fz_obs *t;
	int at;

	if (obs_equal(x, y))
		return 0;
	if (obs_gone(x) != obs_gone(y) && !(x->err && y->err)) {
		t = obs_gone(x) ? y : x;
		at = t->err ? -1 : reached_at(a, t->tag);
		if (at >= 0 && at <= step)
			return 1;
		snprintf(why, n, "the %s side lost the page, the other holds %#llx %s",
			 obs_gone(x) ? "unhooked" : "dontneed", (unsigned long long)t->tag,
			 t->tag >> 48 == FZ_MAGIC ? (at >= 0 ? "(a tag reached only later)" :
			 "(a tag no MADV_FREE reached)") : "(not a tag)");
		return -1;
	}
	snprintf(why, n, "contents differ and neither side lost a reached page");
	return -1;
}

static void fz_compare(const struct fz_prog *p, const struct fz_log *a,
		       const struct fz_log *b, struct fz_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->step = v->page = -1;
	for (int i = 0; i < p->nops; i++) {
		const struct fz_step *x = &a->steps[i], *y = &b->steps[i];
		const struct fz_obs *ox, *oy;

		if (i >= a->nsteps || i >= b->nsteps) {
			v->step = i;
			snprintf(v->why, sizeof(v->why), "a run stopped: unhooked %d steps, dontneed %d",
				 a->nsteps, b->nsteps);
			return;
		}
		if (x->ret != y->ret || x->err != y->err || x->npages != y->npages ||
		    x->rhash != y->rhash || x->child_status != y->child_status ||
		    (x->obs_at < 0) != (y->obs_at < 0) ||
		    (x->child_obs_at < 0) != (y->child_obs_at < 0)) {
			v->step = i;
			snprintf(v->why, sizeof(v->why), "the result differs");
			return;
		}
		for (int pass = 0; pass < 2; pass++) {
			int ax = pass ? x->child_obs_at : x->obs_at;
			int ay = pass ? y->child_obs_at : y->obs_at;

			if (ax < 0)
				continue;
			for (int k = 0; k < p->nobs; k++) {
				int r;

				ox = &a->pool[ax + k];
				oy = &b->pool[ay + k];
				v->compared++;
				r = obs_compare(a, ox, oy, i, v->why, sizeof(v->why));
				if (r > 0)
					v->allowed++;
				if (r < 0) {
					v->step = i;
					v->page = k;
					v->child = pass;
					return;
				}
			}
		}
	}
}

static void fmt_obs(const struct fz_obs *o, char *buf, size_t n)
{
	if (o->err)
		snprintf(buf, n, "unreadable: pread %s, direct read signal %d",
			 strerror(o->err), o->sig);
	else if (o->zero)
		snprintf(buf, n, "zero%s", o->via ? " (direct read)" : "");
	else
		snprintf(buf, n, "word0 %#llx hash %#llx%s", (unsigned long long)o->tag,
			 (unsigned long long)o->hash, o->via ? " (direct read)" : "");
}

static void fmt_result(const struct fz_prog *p, int i, const struct fz_step *s,
		       char *buf, size_t n)
{
	int op = p->ops[i].op;

	if (op == OP_WRITE)
		snprintf(buf, n, "%ld pages written%s%s", s->ret, s->err ? ", signal " : "",
			 s->err ? strsignal(s->err) : "");
	else if (s->ret < 0)
		snprintf(buf, n, "-1 %s (%s)%s", strerrorname_np(s->err) ?: "?",
			 strerror(s->err), op == OP_FORK ? "" : "");
	else
		snprintf(buf, n, "%ld", s->ret);
	if (s->npages || s->rhash) {
		size_t l = strlen(buf);

		snprintf(buf + l, n - l, "; MADV_FREE reaches %d pages", s->npages);
	}
	if (op == OP_FORK) {
		size_t l = strlen(buf);

		snprintf(buf + l, n - l, "; child status %#x", s->child_status);
	}
}

/*
 * Verbose: a step, both results and, at a checkpoint, every observed page
 * as one letter: t tag, f file data, 0 zero, e unreadable (the same on
 * both sides), z lost under dontneed as allowed, X not allowed.
 */
static void print_step(const struct fz_prog *p, const struct fz_log *a,
		       const struct fz_log *b, int i)
{
	char d[256], ra[128], rb[128];

	describe(p, &p->ops[i], d, sizeof(d));
	fmt_result(p, i, &a->steps[i], ra, sizeof(ra));
	if (b)
		fmt_result(p, i, &b->steps[i], rb, sizeof(rb));
	ksft_print_msg("  %3d%s %s\n", i, i < p->nsetup ? "s" : " ", d);
	ksft_print_msg("       unhooked: %s\n", ra);
	if (b)
		ksft_print_msg("       dontneed: %s\n", rb);
	if (!b || a->steps[i].obs_at < 0 || b->steps[i].obs_at < 0)
		return;
	/* a checkpoint: every page, one letter each (verbose runs) */
	for (int k = 0; k < p->nobs; k++) {
		const struct fz_obs *x = &a->pool[a->steps[i].obs_at + k];
		const struct fz_obs *y = &b->pool[b->steps[i].obs_at + k];
		char why[160];
		int r = obs_compare(a, x, y, i, why, sizeof(why));

		d[k % 64] = r < 0 ? 'X' : r > 0 ? 'z' : x->err ? 'e' :
			    x->zero ? '0' : x->tag >> 48 == FZ_MAGIC ? 't' : 'f';
		if (k % 64 == 63 || k == p->nobs - 1) {
			d[k % 64 + 1] = '\0';
			ksft_print_msg("       pages %3d-%3d: %s\n", k - k % 64, k, d);
		}
	}
}

static void print_verdict(const struct fz_prog *p, const struct fz_log *a,
			  const struct fz_log *b, const struct fz_verdict *v, int observe)
{
	char d[256], oa[160], ob[160];
	int last_obs = -1;

	describe(p, &p->ops[v->step], d, sizeof(d));
	for (int i = 0; i < v->step; i++)
		if (a->steps[i].obs_at >= 0)
			last_obs = i;
	ksft_print_msg("seed %llu: first difference at step %d of %d (%s): %s\n",
		       (unsigned long long)p->seed, v->step, p->nops,
		       v->step < p->nsetup ? "setup" : "operations", d);
	print_step(p, a, b, v->step);
	ksft_print_msg("  %s\n", v->why);
	if (v->page >= 0) {
		const struct fz_step *x = &a->steps[v->step], *y = &b->steps[v->step];
		int ax = v->child ? x->child_obs_at : x->obs_at;
		int ay = v->child ? y->child_obs_at : y->obs_at;
		unsigned long addr = p->obs[v->page];

		fmt_obs(&a->pool[ax + v->page], oa, sizeof(oa));
		fmt_obs(&b->pool[ay + v->page], ob, sizeof(ob));
		ksft_print_msg("  %spage %#lx [%s]:\n", v->child ? "forked child's read of " : "",
			       addr, where(p, addr));
		ksft_print_msg("       unhooked: %s\n", oa);
		ksft_print_msg("       dontneed: %s\n", ob);
		if (observe > 1)
			ksft_print_msg("  (pages observed every %d steps: the change happened in steps %d-%d)\n",
				       observe, last_obs + 1, v->step);
	}
	if (opt.emulate) {
		ksft_print_msg("reproduce: LF_FUZZ_SEEDS=%llu LF_FUZZ_VERBOSE=1 ./lazyfree_fuzz --emulate %s\n",
			       (unsigned long long)p->seed, emulate_name[opt.emulate]);
	} else {
		struct utsname u;
		char line[32] = "?";
		int maj, min;

		if (!uname(&u) && sscanf(u.release, "%d.%d", &maj, &min) == 2)
			snprintf(line, sizeof(line), "%d.%d%s", maj, min,
				 strstr(u.release, "-rt") ? "-rt" :
				 strstr(u.release, "cloud") ? "-cloud" : "");
		ksft_print_msg("reproduce: make fuzz SEEDS=%llu-%llu VERBOSE=1 KERNELS=%s LANES=%s HOOKS=%s (in the guest: LF_FUZZ_SEEDS=%llu LF_FUZZ_VERBOSE=1 ./lazyfree_fuzz)\n",
			       (unsigned long long)p->seed, (unsigned long long)p->seed, line,
			       lf_lane(), lf_hook_env() ?: "ftrace", (unsigned long long)p->seed);
	}
}

/* ------------------------------------------------------------ the test */

static void probe_env(struct fz_env *e)
{
	struct uffdio_api api = { .api = UFFD_API };
	char *q;
	int fd;

	memset(e, 0, sizeof(*e));
	e->thp = lf_thp_size();
	e->htlb = lf_hugetlb_size();
	e->have_thp = e->thp && !access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK);
	if (!e->have_thp)
		snprintf(e->why_thp, sizeof(e->why_thp), "no THP (hpage_pmd_size)");
	/* hugetlb: one page, mapped and touched in a child */
	if (e->htlb) {
		pid_t pid = fork();
		int st = 1;

		if (pid == 0) {
			q = mmap(NULL, e->htlb, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
			if (q == MAP_FAILED)
				_exit(1);
			q[0] = 1;
			_exit(0);
		}
		if (pid > 0)
			waitpid(pid, &st, 0);
		e->have_htlb = pid > 0 && WIFEXITED(st) && !WEXITSTATUS(st);
	}
	if (!e->have_htlb)
		snprintf(e->why_htlb, sizeof(e->why_htlb),
			 e->htlb ? "no hugetlb page could be reserved" : "no hugetlb support");
	fd = syscall(__NR_userfaultfd, O_CLOEXEC);
	if (fd < 0 || ioctl(fd, UFFDIO_API, &api))
		snprintf(e->why_uffd, sizeof(e->why_uffd), "userfaultfd: %s", strerror(errno));
	else
		e->have_uffd = true;
	if (fd >= 0)
		close(fd);
	q = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (q != MAP_FAILED && !madvise(q, PG, MADV_GUARD_INSTALL))
		e->have_guard = true;
	else
		snprintf(e->why_guard, sizeof(e->why_guard), "MADV_GUARD_INSTALL: %s",
			 strerror(errno));
	if (q != MAP_FAILED)
		munmap(q, 2 * PG);
}

FIXTURE(fuzz) {
	struct lf_cg cg;
	struct lf_global g;
	bool module, saved, cg_made;
	char saved_hugepages[32];
};

FIXTURE_SETUP(fuzz)
{
	memset(self, 0, sizeof(*self));
}

FIXTURE_TEARDOWN_PARENT(fuzz)
{
	if (self->saved_hugepages[0])
		lf_write_file("/proc/sys/vm/nr_hugepages", self->saved_hugepages);
	if (self->saved)
		lf_global_restore(&self->g);
	if (self->cg_made)
		lf_cg_destroy(&self->cg);
}

static int set_enabled(bool module, const char *v)
{
	return module ? lf_attr_write("enabled", v) : 0;
}

TEST_F_TIMEOUT(fuzz, campaign, 900)
{
	uint64_t count = opt.last - opt.first + 1, seq = 0;
	int fails = 0;
	long steps = 0, allowed = 0, compared = 0, reached = 0, t0 = lf_now_ms();
	long op_total[ARRAY_SIZE(op_name)] = { 0 }, op_ok[ARRAY_SIZE(op_name)] = { 0 };
	int batch = opt.batch, run_timeout = lf_debug_kernel() ? 1200 : 120;
	const char *cgpath = NULL;
	struct fz_prog *progs;
	struct fz_log *la, *lb;
	struct fz_env env;

	self->module = lf_module_loaded();
	if (opt.emulate == EM_NONE && !self->module)
		SKIP(return,
		     LF_SYSFS " missing (module not loaded); LF_FUZZ_EMULATE=off|dontneed|wrong runs without it");
	if (self->module) {
		ASSERT_EQ(0, lf_global_save(&self->g));
		self->saved = true;
	}
	if (opt.emulate == EM_NONE) {
		ASSERT_EQ(0, lf_cg_create(&self->cg, "lf_fuzz"));
		self->cg_made = true;
		ASSERT_EQ(0, lf_track(self->cg.id));
		ASSERT_EQ(0, lf_cg_attr_write(self->cg.id, "mode", "dontneed"));
		cgpath = self->cg.path;
	} else if (self->module) {
		/* emulating next to the module: it must not act */
		ASSERT_EQ(0, lf_attr_write("enabled", "0"));
	}
	/* two hugetlb pages: one for each run, which run one after the other */
	if (lf_hugetlb_size() &&
	    !lf_read_file("/proc/sys/vm/nr_hugepages", self->saved_hugepages,
			  sizeof(self->saved_hugepages))) {
		char buf[32];

		snprintf(buf, sizeof(buf), "%llu",
			 strtoull(self->saved_hugepages, NULL, 10) + 2);
		if (lf_write_file("/proc/sys/vm/nr_hugepages", buf))
			self->saved_hugepages[0] = '\0';
	}
	probe_env(&env);
	ksft_print_msg("fuzz: seeds %llu-%llu, %d steps, observed every %d, %s; page %zu, THP %zu, hugetlb %zu\n",
		       (unsigned long long)opt.first, (unsigned long long)opt.last,
		       opt.steps, opt.observe, opt.emulate ? emulate_name[opt.emulate] :
		       "module: unhooked (enabled=0) vs dontneed cgroup", PG, env.thp, env.htlb);
	if (!env.have_thp)
		ksft_print_msg("fuzz: kind thp unavailable: %s\n", env.why_thp);
	if (!env.have_htlb)
		ksft_print_msg("fuzz: kind hugetlb unavailable: %s\n", env.why_htlb);
	if (!env.have_uffd)
		ksft_print_msg("fuzz: kind uffd unavailable: %s\n", env.why_uffd);
	if (!env.have_guard)
		ksft_print_msg("fuzz: kind guard unavailable: %s\n", env.why_guard);

	if (batch < 1)
		batch = 1;
	progs = mmap(NULL, sizeof(*progs) * batch, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	la = mmap(NULL, sizeof(*la) * (batch + 1), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, progs);
	ASSERT_NE(MAP_FAILED, la);
	lb = &la[batch];

	for (uint64_t s0 = opt.first; s0 <= opt.last && !fails; s0 += batch) {
		int n = opt.last - s0 + 1 < (uint64_t)batch ? (int)(opt.last - s0 + 1) : batch;

		for (int i = 0; i < n; i++)
			gen_prog(&progs[i], &env, s0 + i, opt.steps, opt.observe);
		ASSERT_EQ(0, set_enabled(self->module && !opt.emulate, "0"));
		for (int i = 0; i < n; i++) {
			int rc = fz_run(&progs[i], &la[i], opt.emulate, false, cgpath,
					run_timeout);

			ASSERT_EQ(0, rc) TH_LOG("seed %llu, unhooked run: %s",
						(unsigned long long)(s0 + i), la[i].msg);
		}
		ASSERT_EQ(0, set_enabled(self->module && !opt.emulate, "1"));
		for (int i = 0; i < n && !fails; i++) {
			const struct fz_prog *p = &progs[i];
			struct fz_verdict v;
			int rc = fz_run(p, lb, opt.emulate, true, cgpath, run_timeout);

			seq++;
			steps += p->nops;
			if (rc) {
				/* compared below: the log says how far it got */
				TH_LOG("seed %llu, dontneed run: %s", (unsigned long long)p->seed,
				       lb->msg);
			}
			fz_compare(p, &la[i], lb, &v);
			allowed += v.allowed;
			compared += v.compared;
			for (int k = 0; k < p->nops && k < la[i].nsteps; k++) {
				const struct fz_step *st = &la[i].steps[k];
				int op = p->ops[k].op;

				reached += st->npages;
				op_total[op]++;
				/* a write "succeeds" when it wrote every page */
				op_ok[op] += op == OP_WRITE ? st->ret == p->ops[k].arg : st->ret >= 0;
			}
			if (opt.verbose) {
				ksft_print_msg("seed %llu: %d steps (%d setup), %d observed pages, %d tags reached, uffd faults %ld/%ld, io_uring %s, pidfd %s\n",
					       (unsigned long long)p->seed, p->nops, p->nsetup,
					       p->nobs, la[i].ntags, la[i].uffd_faults,
					       lb->uffd_faults,
					       la[i].ring_err ? strerror(la[i].ring_err) : "ok",
					       la[i].pidfd_err ? strerror(la[i].pidfd_err) : "ok");
				for (int k = 0; k < p->nops && k < la[i].nsteps && k < lb->nsteps; k++)
					print_step(p, &la[i], lb, k);
			}
			if (la[i].truncated || lb->truncated)
				ksft_print_msg("seed %llu: log truncated (pool full)\n",
					       (unsigned long long)p->seed);
			if (v.step < 0 && !rc)
				continue;
			fails++;
			if (v.step < 0) {
				v.step = lb->nsteps < p->nops ? lb->nsteps : p->nops - 1;
				snprintf(v.why, sizeof(v.why), "dontneed run failed: %.120s", lb->msg);
			}
			print_verdict(p, &la[i], lb, &v, opt.observe);
			/* narrow it down: the same seed, every page after every step */
			if (opt.observe > 1 && v.page >= 0) {
				struct fz_prog *q = &progs[0];
				uint64_t seed = p->seed;

				gen_prog(q, &env, seed, opt.steps, 1);
				ASSERT_EQ(0, set_enabled(self->module && !opt.emulate, "0"));
				rc = fz_run(q, &la[0], opt.emulate, false, cgpath, run_timeout);
				ASSERT_EQ(0, set_enabled(self->module && !opt.emulate, "1"));
				if (!rc)
					rc = fz_run(q, lb, opt.emulate, true, cgpath, run_timeout);
				fz_compare(q, &la[0], lb, &v);
				if (!rc && v.step >= 0) {
					ksft_print_msg("observed after every step (LF_FUZZ_OBSERVE=1):\n");
					print_verdict(q, &la[0], lb, &v, 1);
				} else {
					ksft_print_msg("seed %llu: replayed with every page observed after every step: %s\n",
						       (unsigned long long)seed,
						       rc ? "a run failed" :
						       "no difference (not deterministic?)");
				}
			}
		}
	}
	{
		long ms = lf_now_ms() - t0;

		ksft_print_msg("fuzz: %llu sequences (seeds %llu-%llu), %ld steps, %ld page observations compared, in %ld.%03ld s (%.1f sequences/s)\n",
			       (unsigned long long)seq, (unsigned long long)opt.first,
			       (unsigned long long)(opt.first + seq - (seq ? 1 : 0)), steps,
			       compared, ms / 1000, ms % 1000, ms ? seq * 1000.0 / ms : 0.0);
		ksft_print_msg("fuzz: MADV_FREE reached %ld pages; %ld observations read zero under %s where the unhooked run kept a reached tag\n",
			       reached, allowed, opt.emulate ? emulate_name[opt.emulate] : "dontneed");
		/* what ran, and how much of it the kernel accepted (unhooked run) */
		for (size_t k = 0; k < ARRAY_SIZE(op_name); k++)
			if (op_total[k])
				ksft_print_msg("fuzz:   %-16s %6ld calls, %6ld succeeded\n",
					       op_name[k], op_total[k], op_ok[k]);
	}
	EXPECT_EQ(0, fails);
	(void)count;
	/*
	 * The policy must have shown: under dontneed (module or emulated)
	 * some reached page is observed as zero in a campaign of any size.
	 */
	if (!fails && count >= 5 && (opt.emulate == EM_NONE || opt.emulate == EM_DONTNEED)) {
		EXPECT_LT(0, allowed)
			TH_LOG("no page read zero under dontneed: the policy never acted");
	}
	munmap(progs, sizeof(*progs) * batch);
	munmap(la, sizeof(*la) * (batch + 1));
}

/* ------------------------------------------------------------- options */

static int parse_seeds(const char *s)
{
	char *end;

	opt.first = strtoull(s, &end, 0);
	opt.last = opt.first;
	if (*end == '-')
		opt.last = strtoull(end + 1, &end, 0);
	opt.seeds_given = true;
	return *end || opt.last < opt.first ? -1 : 0;
}

static int parse_emulate(const char *s)
{
	for (int i = EM_OFF; i <= EM_NAIVE; i++)
		if (!strcmp(s, emulate_name[i])) {
			opt.emulate = i;
			return 0;
		}
	return strcmp(s, "module") ? -1 : 0;
}

static int parse_env(void)
{
	const char *e = getenv("LF_FUZZ_SEEDS");

	if (e && *e && parse_seeds(e))
		return -1;
	e = getenv("LF_FUZZ_COUNT");
	if (e && *e) {
		opt.last = opt.first + strtoull(e, NULL, 0) - 1;
		opt.seeds_given = true;
	}
	e = getenv("LF_FUZZ_VERBOSE");
	if (e && *e)
		opt.verbose = atoi(e);
	e = getenv("LF_FUZZ_EMULATE");
	if (e && *e && parse_emulate(e))
		return -1;
	e = getenv("LF_FUZZ_STEPS");
	if (e && *e)
		opt.steps = atoi(e);
	e = getenv("LF_FUZZ_OBSERVE");
	if (e && *e)
		opt.observe = atoi(e);
	e = getenv("LF_FUZZ_BATCH");
	if (e && *e)
		opt.batch = atoi(e);
	return 0;
}

/*
 * Our options come first and are removed; the rest is the harness's
 * (-l, -t, -v, ...).
 */
int main(int argc, char **argv)
{
	int out = 1, bad = parse_env();

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--seed") || !strcmp(a, "--seeds")) {
			bad |= !v || parse_seeds(v);
			i++;
		} else if (!strcmp(a, "--count") && v) {
			opt.last = opt.first + strtoull(v, NULL, 0) - 1;
			opt.seeds_given = true;
			i++;
		} else if (!strcmp(a, "--emulate")) {
			bad |= !v || parse_emulate(v);
			i++;
		} else if (!strcmp(a, "--steps") && v) {
			opt.steps = atoi(v);
			i++;
		} else if (!strcmp(a, "--observe") && v) {
			opt.observe = atoi(v);
			i++;
		} else if (!strcmp(a, "--verbose")) {
			opt.verbose = 1;
		} else {
			argv[out++] = argv[i];
		}
	}
	argv[out] = NULL;
	if (!opt.seeds_given)
		opt.last = opt.first + (lf_debug_kernel() ? FZ_DEBUG_COUNT :
					FZ_DEFAULT_COUNT) - 1;
	if (opt.steps < 1 || opt.steps > FZ_MAXOPS - 64)
		opt.steps = 48;
	if (opt.observe < 1)
		opt.observe = 1;
	if (opt.last < opt.first)
		bad = 1;	/* LF_FUZZ_COUNT=0: nothing would be tested */
	if (bad) {
		fprintf(stderr, "%s: bad option (see the comment at the top of its source)\n", argv[0]);
		return 2;
	}
	/* a long campaign's bound is the caller's (the rig's test timeout) */
	if (opt.seeds_given)
		_fuzz_campaign_object->timeout = 7 * 24 * 3600;
	return test_harness_run(out, argv);
}
