/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - the kernel differences lazyfree has to know about.
 *
 * Force-included from Kbuild into every source file, so that the rest of
 * the module reads as if it were written for one kernel.  Prefer testing
 * for a feature over testing a version number.
 */
#ifndef _LAZYFREE_COMPAT_H
#define _LAZYFREE_COMPAT_H

/* Included ahead of everything, so the message prefix is set here. */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/version.h>
#include <linux/ftrace.h>
#include <linux/mm.h>

#ifndef CONFIG_MEMCG
#error "lazyfree needs CONFIG_MEMCG (mm->owner and the memory controller)"
#endif

/* The kernel line built for, as one number: 6.12 is 612. */
#define LF_KERNEL_LINE	(LINUX_VERSION_MAJOR * 100 + LINUX_VERSION_PATCHLEVEL)

/*
 * madvise_dontneed_free_valid_vma(vma, start, &end, int behavior), called
 * per VMA by madvise_dontneed_free(), exists from 5.18 to 6.14 (6.15
 * passes a struct madvise_behavior instead).  The lines lazyfree has
 * proven it on are the only ones it claims: a new line is added here
 * once the whole suite passes on it.
 */
#define LF_HAVE_VALID_VMA_INT_BEHAVIOR	(LF_KERNEL_LINE == 601 || LF_KERNEL_LINE == 612)

/*
 * The ftrace mechanism redirects execution from an argument-only ftrace
 * trampoline, as livepatch does.  That needs DYNAMIC_FTRACE_WITH_ARGS
 * (x86 since 5.11); without it only the kprobe mechanism is offered.
 */
#ifdef CONFIG_DYNAMIC_FTRACE_WITH_ARGS
#define LF_HAVE_FTRACE_ARGS	1

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

#else /* !CONFIG_DYNAMIC_FTRACE_WITH_ARGS: never registered */
#define LF_HAVE_FTRACE_ARGS	0
static __always_inline struct pt_regs *lf_fregs_regs(struct ftrace_regs *fregs)
{
	return NULL;
}

static __always_inline void lf_fregs_set_ip(struct ftrace_regs *fregs,
					    unsigned long ip)
{
}
#endif

/*
 * What MADV_DONTNEED does to a range of one VMA: zap_page_range() until
 * 6.2, zap_page_range_single() (exported from 6.3) after.
 */
static inline void lf_zap_range(struct vm_area_struct *vma,
				unsigned long start, unsigned long size)
{
#if LF_KERNEL_LINE < 603
	zap_page_range(vma, start, size);
#else
	zap_page_range_single(vma, start, size, NULL);
#endif
}

#endif /* _LAZYFREE_COMPAT_H */
