/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lazyfree - per-cgroup control and accounting of MADV_FREE.
 *
 * main.c      load and unload, module parameters
 * hook.c      the two hook mechanisms (ftrace_ops, kprobe) behind one switch
 * strategy.c  per-kernel-build strategies: which function is hooked and
 *             what runs in its place
 * policy.c    the table of tracked cgroups, modes, counters
 * sysfs.c     /sys/kernel/lazyfree
 */
#ifndef _LAZYFREE_H
#define _LAZYFREE_H

#include <linux/kobject.h>
#include <linux/types.h>

struct cgroup;
struct mm_struct;
struct vm_area_struct;

enum lf_mode {
	LF_MODE_INHERIT,
	LF_MODE_FREE,
	LF_MODE_DONTNEED,
	LF_NR_MODES,
};

extern const char * const lf_mode_names[LF_NR_MODES];

struct lf_stats {
	u64 free_bytes;		/* private anon bytes advised MADV_FREE */
	u64 rewritten_bytes;	/* of those, dropped at once (dontneed) */
	u64 pinned_bytes;	/* under dontneed, kept: the mm pins pages */
};

/*
 * One tracked cgroup: cgroups/<id>/ in sysfs.  The madvise path reads the
 * first five fields only: keep them in one cache line.
 */
struct lf_cgroup {
	struct hlist_node hnode;	/* lf_table, by cgrp; RCU readers */
	struct cgroup *cgrp;		/* reference held while tracked */
	unsigned long cached;		/* generation << 2 | effective mode */
	struct lf_stats __percpu *stats;
	int mode;			/* enum lf_mode; READ_ONCE/xchg */
	u64 id;
	struct hlist_node inode;	/* lf_ids, by id; under lf_lock */
	struct list_head lnode;		/* lf_cgroups; under lf_lock */
	struct kobject kobj;
	struct rcu_head rcu;
};

/* policy.c */
int lf_policy_init(unsigned int max_cgroups);
void lf_policy_exit(void);
bool lf_hierarchy_v1(void);
enum lf_mode lf_default_mode(void);
void lf_set_default_mode(enum lf_mode mode);
enum lf_mode lf_account_free(struct mm_struct *mm, u64 bytes);
void lf_account_rewritten(struct mm_struct *mm, u64 bytes);
int lf_cgroup_add(u64 id);
int lf_cgroup_remove(u64 id);
void lf_cgroup_set_mode(struct lf_cgroup *lc, enum lf_mode mode);
enum lf_mode lf_cgroup_effective_mode(struct lf_cgroup *lc);
void lf_cgroup_release(struct lf_cgroup *lc);
void lf_node_stats(struct lf_stats *sum);
void lf_cgroup_stats(struct lf_cgroup *lc, struct lf_stats *sum);

/* hook.c */
enum lf_mechanism {
	LF_MECH_AUTO,
	LF_MECH_FTRACE,
	LF_MECH_KPROBE,
	LF_NR_MECHS,
};

extern const char * const lf_mech_names[LF_NR_MECHS];

int lf_hook_init(enum lf_mechanism requested, bool enable);
void lf_hook_exit(void);
int lf_hook_set_enabled(bool enable);
bool lf_hook_enabled(void);
ssize_t lf_hook_show(char *buf);
void lf_hook_enter(void);
void lf_hook_leave(void);

/* strategy.c */
struct lf_strategy {
	const char *symbol;		/* the kernel function hooked */
	const char *kernels;		/* for messages: where it applies */
	bool built_for;			/* this kernel has it, as we know it */
};

extern const bool lf_line_untested;

const struct lf_strategy *lf_strategy_select(void);
unsigned long lf_redirect(unsigned long a0, unsigned long a1,
			  unsigned long a2, unsigned long a3);

/* sysfs.c */
int lf_sysfs_init(void);
void lf_sysfs_exit(void);
void lf_sysfs_remove_controls(void);
int lf_sysfs_add_cgroup(struct lf_cgroup *lc);

#endif /* _LAZYFREE_H */
