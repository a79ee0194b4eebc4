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
 * To support another kernel line, add a strategy to lf_strategies[]: the
 * function it hooks, how to tell it from its argument registers that the
 * call is MADV_FREE on a VMA it may act on, and its replacement.
 */

#include <linux/hugetlb.h>
#include <linux/kprobes.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/ptrace.h>
#include <linux/userfaultfd_k.h>
#include <linux/utsname.h>

#include "lazyfree.h"

static const struct lf_strategy *lf_active __read_mostly;

/*
 * Private anonymous and not armed for userfaultfd (whose remove event may
 * drop mmap_lock and look the VMA up again): what MADV_FREE acts on, given
 * that the kernel's own checks for locked, PFN-map and hugetlb VMAs passed.
 */
static bool lf_vma_lazyfree(struct vm_area_struct *vma)
{
	return vma_is_anonymous(vma) && !userfaultfd_armed(vma);
}

/*
 * [start, end) of @vma, private anonymous, is being advised MADV_FREE and
 * the kernel accepts it.  Account it; under dontneed drop it now, exactly
 * as MADV_DONTNEED would.  Returns the end of what is left for MADV_FREE.
 */
static unsigned long lf_free_range(struct vm_area_struct *vma,
				   unsigned long start, unsigned long end)
{
	if (lf_account_free(vma->vm_mm, end - start) != LF_MODE_DONTNEED)
		return end;
	lf_zap_range(vma, start, end - start);
	return start;
}

/*
 * 6.1 .. 6.14: madvise_dontneed_free() asks
 * madvise_dontneed_free_valid_vma(vma, start, &end, behavior) whether the
 * VMA may be freed, returns -EINVAL if not and 0 at once if the range came
 * back empty, and otherwise calls madvise_free_single_vma(), which refuses
 * (-EINVAL) anything but an anonymous VMA.  The VMA range is already
 * clipped to [start, end) and mmap_lock is held for reading.
 *
 * For MADV_FREE on a non-hugetlb VMA the check is
 * !(vm_flags & (VM_PFNMAP | VM_LOCKED)); lf_valid_vma_free() gives that
 * same answer, and where it is yes and the VMA is private anonymous, may
 * first drop the range and hand back an empty one: the caller then returns
 * 0, which is what MADV_FREE returns there.  Hugetlb VMAs and other advice
 * are never redirected.
 */
static bool lf_valid_vma_free(struct vm_area_struct *vma, unsigned long start,
			      unsigned long *end, int behavior)
{
	bool valid = !(vma->vm_flags & (VM_PFNMAP | VM_LOCKED));

	if (valid && lf_vma_lazyfree(vma) && start < *end)
		*end = lf_free_range(vma, start, *end);
	lf_hook_leave();
	return valid;
}

static unsigned long notrace lf_valid_vma_redirect(struct pt_regs *regs)
{
	struct vm_area_struct *vma;

	if ((int)regs_get_kernel_argument(regs, 3) != MADV_FREE)
		return 0;
	vma = (struct vm_area_struct *)regs_get_kernel_argument(regs, 0);
	if (is_vm_hugetlb_page(vma))
		return 0;
	return (unsigned long)lf_valid_vma_free;
}

/* First match wins. */
static const struct lf_strategy lf_strategies[] = {
	{
		.symbol		= "madvise_dontneed_free_valid_vma",
		.kernels	= "6.1 to 6.14",
		.built_for	= LF_HAVE_VALID_VMA_INT_BEHAVIOR,
		.redirect	= lf_valid_vma_redirect,
	},
};

const struct lf_strategy *lf_strategy_select(void)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(lf_strategies); i++) {
		if (lf_strategies[i].built_for) {
			lf_active = &lf_strategies[i];
			return lf_active;
		}
	}
	pr_err("no hook strategy is known to be safe on Linux %s; supported:\n",
	       init_utsname()->release);
	for (i = 0; i < ARRAY_SIZE(lf_strategies); i++)
		pr_err("  %s on %s\n", lf_strategies[i].symbol,
		       lf_strategies[i].kernels);
	return NULL;
}

/*
 * Called by the mechanism with preemption disabled, on every call of the
 * hooked function: the replacement to run instead, or 0 for the original.
 */
unsigned long notrace lf_redirect(struct pt_regs *regs)
{
	return lf_active->redirect(regs);
}
NOKPROBE_SYMBOL(lf_redirect);
