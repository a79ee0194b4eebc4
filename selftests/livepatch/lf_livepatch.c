// SPDX-License-Identifier: GPL-2.0
/*
 * lf_livepatch - a livepatch of the function lazyfree hooks, for
 * lazyfree_livepatch (selftests): the patched function keeps the kernel's
 * checks and answers every other advice as before, but MADV_FREE frees
 * nothing.  Where the livepatch has the last word on the instruction
 * pointer, MADV_FREE leaves the data in place even in a dontneed cgroup,
 * and lazyfree must not count it as rewritten.
 *
 * A test module, not part of lazyfree: the hooked function's form is
 * chosen by the line (LF_KERNEL_LINE, from Kbuild), by the ranges of
 * module/compat.h.  /sys/module/lf_livepatch/parameters/calls counts the
 * calls of the patched version (lazyfree_coexist: "the livepatch runs").
 */
#include <linux/hugetlb.h>
#include <linux/livepatch.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

static atomic_long_t lf_lp_calls;

static int lf_lp_calls_get(char *buf, const struct kernel_param *kp)
{
	return sprintf(buf, "%ld\n", atomic_long_read(&lf_lp_calls));
}

static const struct kernel_param_ops lf_lp_calls_ops = {
	.get = lf_lp_calls_get,
};
module_param_cb(calls, &lf_lp_calls_ops, NULL, 0444);
MODULE_PARM_DESC(calls, "calls of the patched function so far");

#if LF_KERNEL_LINE < 518
/* madvise_free_single_vma(vma, start, end): only MADV_FREE reaches it */
#define LF_LP_FUNC "madvise_free_single_vma"

static int lf_lp_free(struct vm_area_struct *vma, unsigned long start,
		      unsigned long end)
{
	atomic_long_inc(&lf_lp_calls);
	return vma_is_anonymous(vma) ? 0 : -EINVAL;
}
#elif LF_KERNEL_LINE < 617
/* the kernel's checks; for MADV_FREE, "valid, nothing left to free" */
#define LF_LP_FUNC "madvise_dontneed_free_valid_vma"

static bool lf_lp_free(struct vm_area_struct *vma, unsigned long start,
		       unsigned long *end, int behavior)
{
	atomic_long_inc(&lf_lp_calls);
	if (!is_vm_hugetlb_page(vma)) {
		unsigned long forbidden = VM_PFNMAP;

		if (behavior != MADV_DONTNEED_LOCKED)
			forbidden |= VM_LOCKED;
		if (vma->vm_flags & forbidden)
			return false;
		if (behavior == MADV_FREE)
			*end = start;
		return true;
	}
	if (behavior != MADV_DONTNEED && behavior != MADV_DONTNEED_LOCKED)
		return false;
	if (start & ~huge_page_mask(hstate_vma(vma)))
		return false;
	*end = ALIGN_DOWN(*end, huge_page_size(hstate_vma(vma)));
	return true;
}
#else
/*
 * madvise_free_single_vma(struct madvise_behavior *): only MADV_FREE on
 * a VMA that passed the kernel's checks reaches it; 0 for any (the
 * kernel's says -EINVAL for a file mapping, which no test asks here).
 */
#define LF_LP_FUNC "madvise_free_single_vma"

static int lf_lp_free(void *madv_behavior)
{
	atomic_long_inc(&lf_lp_calls);
	return 0;
}
#endif

static struct klp_func lf_lp_funcs[] = {
	{
		.old_name = LF_LP_FUNC,
		.new_func = lf_lp_free,
	},
	{ }
};

static struct klp_object lf_lp_objs[] = {
	{
		/* name NULL: vmlinux */
		.funcs = lf_lp_funcs,
	},
	{ }
};

static struct klp_patch lf_lp_patch = {
	.mod = THIS_MODULE,
	.objs = lf_lp_objs,
};

static int __init lf_lp_init(void)
{
	return klp_enable_patch(&lf_lp_patch);
}

static void __exit lf_lp_exit(void)
{
}

module_init(lf_lp_init);
module_exit(lf_lp_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lazyfree selftests: a livepatch of the hooked madvise function");
MODULE_INFO(livepatch, "Y");
