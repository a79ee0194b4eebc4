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
#include <linux/userfaultfd_k.h>

#include "gate.h"

#ifndef CONFIG_MEMCG
#error "lazyfree needs CONFIG_MEMCG (mm->owner and the memory controller)"
#endif

/*
 * The hook strategies.  gate.h (gate.sh, run by Kbuild) sets at most one
 * of LF_STRATEGY_*: the one whose mainline range holds this kernel's line
 * and whose function, with the prototype it expects, is in this build's
 * BTF.  The ranges (read from mm/madvise.c of each release):
 *
 * madvise_free_single_vma(vma, start, end): 5.4 to 5.17; tested on 5.10.
 * madvise_dontneed_free_valid_vma(vma, start, &end, int behavior): 5.18
 *   to 6.16; tested on 6.1 and 6.12.
 * madvise_free_single_vma(struct madvise_behavior *): 6.17 on, as far as
 *   read (7.3); tested on 6.18, 7.2 and 7.3.  The layout of that private
 *   struct is this build's, from its BTF (LF_MB_OFF_*).
 *
 * LF_GATE_TESTED: the whole suite has passed on this line and architecture.
 */
#define LF_HAVE_FREE_SINGLE_VMA_RANGE	LF_STRATEGY_FREE_SINGLE_VMA_RANGE
#define LF_HAVE_VALID_VMA_INT_BEHAVIOR	LF_STRATEGY_VALID_VMA_INT
#define LF_HAVE_FREE_SINGLE_VMA_BEHAVIOR	LF_STRATEGY_FREE_SINGLE_VMA_BEHAVIOR

/*
 * The ftrace mechanism redirects execution from an ftrace trampoline, as
 * livepatch does: an argument-only trampoline (struct ftrace_regs) where
 * the kernel has DYNAMIC_FTRACE_WITH_ARGS (x86 from 5.11, arm64), a full
 * pt_regs one before.  Handlers read the hooked function's arguments with
 * lf_fregs_arg() and move the instruction pointer with lf_fregs_set_ip();
 * where the trampoline saves a pt_regs (x86), lf_fregs_regs() finds it.
 */
#if defined(CONFIG_DYNAMIC_FTRACE_WITH_ARGS)
#define LF_HAVE_FTRACE_IPMODIFY	1
#define LF_FTRACE_OPS_FLAGS	(FTRACE_OPS_FL_IPMODIFY | FTRACE_OPS_FL_PERMANENT)
#define lf_ftrace_regs		ftrace_regs

#if defined(CONFIG_ARM64)
/*
 * arm64's ftrace_regs holds x0-x8, fp, lr, sp and pc, no pt_regs; the
 * trampoline returns to the pc it holds (entry-ftrace.S).
 */
#define LF_HAVE_FREGS_ARG	1

static __always_inline unsigned long lf_fregs_arg(struct ftrace_regs *fregs,
						  unsigned int n)
{
	return ftrace_regs_get_argument(fregs, n);
}

static __always_inline void lf_fregs_set_ip(struct ftrace_regs *fregs,
					    unsigned long ip)
{
	ftrace_regs_set_instruction_pointer(fregs, ip);
}
#elif defined(ftrace_regs_set_instruction_pointer)
/* x86 from 6.10: struct ftrace_regs is opaque, the ip setter renamed */
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
				 FTRACE_OPS_FL_RECURSION_SAFE | FTRACE_OPS_FL_PERMANENT)
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

#ifndef LF_HAVE_FREGS_ARG
static __always_inline unsigned long lf_fregs_arg(struct lf_ftrace_regs *fregs,
						  unsigned int n)
{
	return regs_get_kernel_argument(lf_fregs_regs(fregs), n);
}
#endif

/*
 * Drop the pages of [start, start + size), which lies inside @vma, as
 * MADV_DONTNEED does.  The export differs: up to 6.2 only zap_page_range()
 * (which walks on into every following VMA up to the end, hence the
 * caller's clipping; 6.1's own MADV_DONTNEED uses the unexported
 * zap_page_range_single()), zap_page_range_single() from 6.3 to 7.0 and
 * zap_vma_range() from 7.1.
 *
 * From 6.14 MADV_DONTNEED also frees the PTE tables a range of at least a
 * PMD leaves empty (CONFIG_PT_RECLAIM), asked for with the zap_details it
 * passes; up to 7.0 the export takes the same details.  7.1's
 * zap_vma_range() takes none, so there the empty tables stay until the
 * range is unmapped or the process exits (admin guide, "Differences").
 *
 * From 6.16 the caller has its TLB gather open and the export opens a
 * second one; tlb_finish_mmu() sees the two and flushes the whole mm
 * instead of the range (mm/mmu_gather.c), as it does whenever two threads
 * zap at once.  The batched zap that would take the caller's gather is
 * not exported.
 */
static inline void lf_zap_range(struct vm_area_struct *vma,
				unsigned long start, unsigned long size)
{
#if LF_KERNEL_LINE < 603
	zap_page_range(vma, start, size);
#elif LF_KERNEL_LINE < 614
	zap_page_range_single(vma, start, size, NULL);
#elif LF_KERNEL_LINE < 701
	/* as madvise_dontneed_single_vma() */
	struct zap_details details = { .even_cows = true, .reclaim_pt = true };

	zap_page_range_single(vma, start, size, &details);
#else
	zap_vma_range(vma, start, size);
#endif
}

/*
 * Whether @mm has ever pinned a page (FOLL_PIN; never cleared): an
 * atomic_t in 5.10, a bit of mm->flags (MMF_HAS_PINNED) by 6.1, of the
 * mm flags bitmap, read with mm_flags_test(), from 6.18.
 */
static __always_inline bool lf_mm_has_pinned(struct mm_struct *mm)
{
#if LF_KERNEL_LINE >= 618
	return mm_flags_test(MMF_HAS_PINNED, mm);
#elif defined(MMF_HAS_PINNED)
	return test_bit(MMF_HAS_PINNED, &mm->flags);
#else
	return atomic_read(&mm->has_pinned);
#endif
}

/*
 * The VMA flags userfaultfd_armed() tests, as one mask to test with the
 * others in one instruction: none without CONFIG_USERFAULTFD (it is
 * false), __VM_UFFD_FLAGS from 5.13 (minor faults), before the two it
 * tested.  By 7.3 (the vma_flags_t conversion after
 * 6.18) userfaultfd_armed() tests them in the VMA's flags bitmap, out of
 * line: some 30 instructions with a stack protector, on every call.  The
 * mask is still defined, for the bitmap's first word, which vm_flags is.
 */
#if !IS_ENABLED(CONFIG_USERFAULTFD)
#define LF_VM_UFFD_FLAGS	0
#elif defined(__VM_UFFD_FLAGS)
#define LF_VM_UFFD_FLAGS	__VM_UFFD_FLAGS
#else
#define LF_VM_UFFD_FLAGS	(VM_UFFD_MISSING | VM_UFFD_WP)
#endif

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
