// SPDX-License-Identifier: GPL-2.0
/*
 * strategy.c - where lazyfree hooks the madvise path on each kernel build,
 * and what runs there instead.
 *
 * MADV_FREE must never be rewritten by changing the advice for the whole
 * call: MADV_DONTNEED accepts file-backed, shared and hugetlb mappings that
 * MADV_FREE refuses, and would destroy their data where the kernel returns
 * EINVAL today.  So a strategy acts per VMA, at the point where the kernel
 * has decided that MADV_FREE applies to that VMA, and leaves every return
 * value to the kernel.
 *
 * To support another kernel line, add a strategy to lf_strategies[] and
 * lf_redirect(): the function it hooks, how to tell from its argument
 * registers that the call is MADV_FREE on a VMA it may act on, and its
 * replacement.
 */

#include <linux/kprobes.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/utsname.h>

#include "lazyfree.h"

/*
 * Where the kernel's own checks pass for MADV_FREE (not hugetlb, locked or
 * a PFN map) and MADV_FREE then acts (private anonymous), and not armed
 * for userfaultfd, whose remove event may drop mmap_lock and look the VMA
 * up again.
 */
static bool notrace lf_vma_lazyfree(struct vm_area_struct *vma)
{
	return !(vma->vm_flags & (VM_HUGETLB | VM_PFNMAP | VM_LOCKED |
				  LF_VM_UFFD_FLAGS)) &&
	       vma_is_anonymous(vma);
}

/*
 * What every replacement does: drop [start, end) of @vma, which the
 * redirect counted as MADV_FREE, as MADV_DONTNEED would, and count it as
 * rewritten.  Counted in, so that unload waits for it (hook.c).
 */
static void lf_dontneed(struct vm_area_struct *vma, unsigned long start,
			unsigned long end)
{
	lf_hook_enter();
	lf_zap_range(vma, start, end - start);
	lf_account_rewritten(vma->vm_mm, end - start);
	lf_hook_leave();
}

/*
 * 5.18 to 6.16 (tested on 6.1 and 6.12):
 * madvise_dontneed_free() asks
 * madvise_dontneed_free_valid_vma(vma, start, &end, behavior) whether the
 * VMA may be freed, returns -EINVAL if not and 0 at once if the range came
 * back empty, and otherwise calls madvise_free_single_vma(), which refuses
 * (-EINVAL) anything but an anonymous VMA.  mmap_lock is held for reading.
 *
 * The function is called a second time when userfaultfd_remove() dropped
 * mmap_lock: with the VMA looked up again at start and the old end, which
 * the caller clips to that VMA only after the call.  By then the range may
 * reach past this VMA into others (a smaller VMA mapped over the old one,
 * then anything at all), so the redirect acts on [start, min(end, vm_end))
 * and never beyond, as the kernel's MADV_FREE does.
 *
 * On entry, for MADV_FREE on a VMA lf_vma_lazyfree() accepts, that range
 * is counted.  Under dontneed the call is redirected to
 * lf_valid_vma_dontneed(), which drops the range as MADV_DONTNEED would
 * and answers "valid, nothing left": the caller returns 0, which is what
 * MADV_FREE returns there.  Every other call runs the kernel's function.
 */
static bool lf_valid_vma_dontneed(struct vm_area_struct *vma,
				  unsigned long start, unsigned long *end,
				  int behavior)
{
	lf_dontneed(vma, start, min(*end, vma->vm_end));
	*end = start;
	return true;
}

static unsigned long notrace lf_valid_vma_redirect(unsigned long a0,
						   unsigned long a1,
						   unsigned long a2,
						   unsigned long a3)
{
	struct vm_area_struct *vma = (struct vm_area_struct *)a0;
	unsigned long start = a1, end;

	if ((int)a3 != MADV_FREE)
		return 0;
	end = min(*(unsigned long *)a2, vma->vm_end);
	if (!lf_vma_lazyfree(vma) || start >= end)
		return 0;
	if (lf_account_free(vma->vm_mm, end - start) != LF_MODE_DONTNEED)
		return 0;
	return (unsigned long)lf_valid_vma_dontneed;
}

/*
 * 5.4 to 5.17 (tested on 5.10): madvise_dontneed_free() checks the VMA
 * (not locked, hugetlb or a PFN map), lets userfaultfd drop mmap_lock if
 * it must, and for MADV_FREE calls madvise_free_single_vma(vma, start,
 * end), which refuses (-EINVAL) anything but an anonymous VMA and clips
 * the range to the VMA.  Only MADV_FREE reaches it, so the redirect needs
 * no advice check.  Under dontneed the replacement drops the clipped range
 * and returns 0, as the function does for it.
 */
static int lf_free_range_dontneed(struct vm_area_struct *vma,
				  unsigned long start, unsigned long end)
{
	lf_dontneed(vma, max(vma->vm_start, start), min(vma->vm_end, end));
	return 0;
}

static unsigned long notrace lf_free_range_redirect(unsigned long a0,
						    unsigned long a1,
						    unsigned long a2,
						    unsigned long a3)
{
	struct vm_area_struct *vma = (struct vm_area_struct *)a0;
	unsigned long start = max(vma->vm_start, a1);
	unsigned long end = min(vma->vm_end, a2);

	if (!lf_vma_lazyfree(vma) || start >= end)
		return 0;
	if (lf_account_free(vma->vm_mm, end - start) != LF_MODE_DONTNEED)
		return 0;
	return (unsigned long)lf_free_range_dontneed;
}

/*
 * 6.17 to 7.3 (tested on 6.18, 7.2 and 7.3): every madvise function takes
 * the struct madvise_behavior that is private to mm/madvise.c; gate.h has
 * its layout from this build's BTF.  madvise_free_single_vma(madv_behavior)
 * is reached only for MADV_FREE, after the VMA checks and userfaultfd,
 * with the range clipped to the VMA by its caller; it refuses (-EINVAL)
 * anything but an anonymous VMA and otherwise returns 0.  The redirect
 * clips the end to the VMA once more all the same (6.17 and 6.18 clip
 * inside the function too): nothing beyond the VMA is ever counted or
 * dropped.  From 6.17 the caller may hold only the VMA's read lock, not
 * mmap_lock, which the zap needs no more than MADV_DONTNEED does.
 */
#define lf_mb(mb, field, type) \
	(*(type *)((char *)(mb) + LF_MB_OFF_##field))

static int lf_free_behavior_dontneed(void *mb)
{
	struct vm_area_struct *vma = lf_mb(mb, VMA, struct vm_area_struct *);
	unsigned long start = lf_mb(mb, RANGE_START, unsigned long);
	unsigned long end = min(lf_mb(mb, RANGE_END, unsigned long),
				vma->vm_end);

	lf_dontneed(vma, start, end);
	return 0;
}

static unsigned long notrace lf_free_behavior_redirect(unsigned long a0,
						       unsigned long a1,
						       unsigned long a2,
						       unsigned long a3)
{
	void *mb = (void *)a0;
	struct vm_area_struct *vma = lf_mb(mb, VMA, struct vm_area_struct *);
	unsigned long start = lf_mb(mb, RANGE_START, unsigned long);
	unsigned long end = min(lf_mb(mb, RANGE_END, unsigned long),
				vma->vm_end);

	if (!lf_vma_lazyfree(vma) || start >= end)
		return 0;
	if (lf_account_free(vma->vm_mm, end - start) != LF_MODE_DONTNEED)
		return 0;
	return (unsigned long)lf_free_behavior_dontneed;
}

/* At most one is built for a kernel: the load gate's (compat.h). */
static const struct lf_strategy lf_strategies[] = {
	{
		.symbol		= "madvise_free_single_vma",
		.kernels	= "Linux 5.4 to 5.17 (vma, start, end)",
		.built_for	= LF_HAVE_FREE_SINGLE_VMA_RANGE,
	},
	{
		.symbol		= "madvise_dontneed_free_valid_vma",
		.kernels	= "Linux 5.18 to 6.16 (vma, start, &end, behavior)",
		.built_for	= LF_HAVE_VALID_VMA_INT_BEHAVIOR,
	},
	{
		.symbol		= "madvise_free_single_vma",
		.kernels	= "Linux 6.17 to 7.3 (struct madvise_behavior *)",
		.built_for	= LF_HAVE_FREE_SINGLE_VMA_BEHAVIOR,
	},
};

/* The whole suite has not run on this build's line and architecture. */
const bool lf_line_untested = !LF_GATE_TESTED;

const struct lf_strategy *lf_strategy_select(void)
{
	const struct lf_strategy *s;
	int i;

	for (i = 0; i < ARRAY_SIZE(lf_strategies); i++) {
		s = &lf_strategies[i];
		if (!s->built_for)
			continue;
		if (lf_line_untested)
			pr_warn("Linux %s is in the range of the %s strategy (%s) and its BTF matches, but the test suite has not run on this line and architecture: untested\n",
				init_utsname()->release, s->symbol, s->kernels);
		return s;
	}
	pr_err("no hook strategy for Linux %s: %s\n", init_utsname()->release,
	       LF_GATE_REFUSAL);
	for (i = 0; i < ARRAY_SIZE(lf_strategies); i++)
		pr_err("  %s on %s\n", lf_strategies[i].symbol,
		       lf_strategies[i].kernels);
	return NULL;
}

/*
 * Called by the mechanism on every call of the hooked function, before it
 * runs, in the caller's context (preemption may be disabled): counts what
 * it must and returns the replacement to run instead, or 0 for the
 * original.
 */
unsigned long notrace lf_redirect(unsigned long a0, unsigned long a1,
				  unsigned long a2, unsigned long a3)
{
	/* the gate builds at most one: a direct call, inlined */
	if (LF_HAVE_FREE_SINGLE_VMA_RANGE)
		return lf_free_range_redirect(a0, a1, a2, a3);
	if (LF_HAVE_VALID_VMA_INT_BEHAVIOR)
		return lf_valid_vma_redirect(a0, a1, a2, a3);
	if (LF_HAVE_FREE_SINGLE_VMA_BEHAVIOR)
		return lf_free_behavior_redirect(a0, a1, a2, a3);
	return 0;	/* none: lf_strategy_select() refused the load */
}
NOKPROBE_SYMBOL(lf_redirect);
