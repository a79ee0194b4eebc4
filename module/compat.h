/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - the kernel differences lazyfree has to know about.
 *
 * Force-included from Kbuild into every source file, so that the rest of
 * the module reads as if it were written for one kernel.  Prefer testing
 * for a feature over testing a version number.  LF_KERNEL_LINE, the line
 * built for as one number (6.12 is 612), comes from Kbuild.
 */
#ifndef _LAZYFREE_COMPAT_H
#define _LAZYFREE_COMPAT_H

/* Included ahead of everything, so the message prefix is set here. */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cgroup.h>
#include <linux/err.h>
#include <linux/ftrace.h>
#include <linux/mm.h>

#include "btf_layout.h"

#ifndef CONFIG_MEMCG
#error "lazyfree needs CONFIG_MEMCG (mm->owner and the memory controller)"
#endif

/*
 * The hook strategies and the kernel lines each is proven on.  Only these
 * lines load; a new line is added here once the whole suite passes on it.
 *
 * madvise_free_single_vma(vma, start, end): 5.10.
 * madvise_dontneed_free_valid_vma(vma, start, &end, int behavior): exists
 *   from 5.18 to 6.14; proven on 6.1 and 6.12.
 * madvise_free_single_vma(struct madvise_behavior *): 7.2, with the
 *   layout of that private struct read from the build's BTF (btf_layout.h).
 */
#define LF_HAVE_FREE_SINGLE_VMA_RANGE	(LF_KERNEL_LINE == 510)
#define LF_HAVE_VALID_VMA_INT_BEHAVIOR	(LF_KERNEL_LINE == 601 || LF_KERNEL_LINE == 612)
#define LF_HAVE_FREE_SINGLE_VMA_BEHAVIOR \
	(LF_KERNEL_LINE == 702 && LF_BTF_MADVISE_BEHAVIOR)

/*
 * The ftrace mechanism redirects execution from an ftrace trampoline, as
 * livepatch does: an argument-only trampoline (struct ftrace_regs) where
 * the kernel has DYNAMIC_FTRACE_WITH_ARGS (x86 from 5.11), a full
 * pt_regs one before.  Handlers use struct lf_ftrace_regs.
 */
#if defined(CONFIG_DYNAMIC_FTRACE_WITH_ARGS)
#define LF_HAVE_FTRACE_IPMODIFY	1
#define LF_FTRACE_OPS_FLAGS	FTRACE_OPS_FL_IPMODIFY
#define lf_ftrace_regs		ftrace_regs

/* 6.10 made struct ftrace_regs opaque and renamed the ip setter. */
#ifdef ftrace_regs_set_instruction_pointer
static __always_inline struct pt_regs *lf_fregs_regs(struct ftrace_regs *fregs)
{
	return &arch_ftrace_regs(fregs)->regs;
}

static __always_inline void lf_fregs_set_ip(struct ftrace_regs *fregs,
					    unsigned long ip)
{
	ftrace_regs_set_instruction_pointer(fregs, ip);
}
#else
static __always_inline struct pt_regs *lf_fregs_regs(struct ftrace_regs *fregs)
{
	return &fregs->regs;
}

static __always_inline void lf_fregs_set_ip(struct ftrace_regs *fregs,
					    unsigned long ip)
{
	ftrace_instruction_pointer_set(fregs, ip);
}
#endif

#elif defined(CONFIG_DYNAMIC_FTRACE_WITH_REGS)
/* before 5.11 a handler without RECURSION_SAFE goes through an assist */
#define LF_HAVE_FTRACE_IPMODIFY	1
#define LF_FTRACE_OPS_FLAGS	(FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_IPMODIFY | \
				 FTRACE_OPS_FL_RECURSION_SAFE)
#define lf_ftrace_regs		pt_regs

static __always_inline struct pt_regs *lf_fregs_regs(struct pt_regs *regs)
{
	return regs;
}

static __always_inline void lf_fregs_set_ip(struct pt_regs *regs,
					    unsigned long ip)
{
	instruction_pointer_set(regs, ip);
}

#else /* no ftrace ip modification: the kprobe mechanism only */
#define LF_HAVE_FTRACE_IPMODIFY	0
#define LF_FTRACE_OPS_FLAGS	0
#define lf_ftrace_regs		pt_regs

static __always_inline struct pt_regs *lf_fregs_regs(struct pt_regs *regs)
{
	return regs;
}

static __always_inline void lf_fregs_set_ip(struct pt_regs *regs,
					    unsigned long ip)
{
}
#endif

/*
 * Drop the pages of [start, start + size), which lies inside @vma, as
 * MADV_DONTNEED does.  The export differs: up to 6.2 only zap_page_range()
 * (which walks on into every following VMA up to the end, hence the
 * caller's clipping; 6.1's own MADV_DONTNEED uses the unexported
 * zap_page_range_single()), zap_page_range_single() from 6.3 to 7.0 and
 * zap_vma_range() from 7.1.
 */
static inline void lf_zap_range(struct vm_area_struct *vma,
				unsigned long start, unsigned long size)
{
#if LF_KERNEL_LINE < 603
	zap_page_range(vma, start, size);
#elif LF_KERNEL_LINE < 701
	zap_page_range_single(vma, start, size, NULL);
#else
	zap_vma_range(vma, start, size);
#endif
}

/* kobject_init_and_add() takes a const kobj_type from 6.2: cast it off. */
#if LF_KERNEL_LINE < 602
#define lf_ktype(ktype)	((void *)(ktype))
#else
#define lf_ktype(ktype)	(ktype)
#endif

/*
 * A v2 cgroup by id, with a reference: cgroup_get_from_id() is exported
 * from 5.13.  ERR_PTR(-EOPNOTSUPP) before: the caller walks the hierarchy.
 */
static inline struct cgroup *lf_cgroup_get_from_id(u64 id)
{
#if LF_KERNEL_LINE >= 513
	return cgroup_get_from_id(id);
#else
	return ERR_PTR(-EOPNOTSUPP);
#endif
}

#endif /* _LAZYFREE_COMPAT_H */
