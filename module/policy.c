// SPDX-License-Identifier: GPL-2.0
/*
 * policy.c - tracked cgroups, their modes and counters.
 *
 * Readers (the madvise path) look cgroups up by id in an RCU hash table
 * and count with per-cpu counters: no lock, no allocation.  Writers (sysfs,
 * the discovery and pruning works) serialise on lf_lock.  A cgroup that
 * calls MADV_FREE untracked is queued for discovery through a small
 * lock-free slot array; a work item creates its directory.
 */

#include <linux/cgroup.h>
#include <linux/hash.h>
#include <linux/jump_label.h>
#include <linux/kprobes.h>
#include <linux/memcontrol.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/rculist.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "lazyfree.h"

#define LF_PRUNE_INTERVAL	HZ
#define LF_PENDING_BITS		6
#define LF_MAX_CGROUPS_LIMIT	(1U << 20)

const char * const lf_mode_names[LF_NR_MODES] = {
	[LF_MODE_INHERIT]	= "inherit",
	[LF_MODE_FREE]		= "free",
	[LF_MODE_DONTNEED]	= "dontneed",
};

static struct hlist_head *lf_table __read_mostly;	/* by cgroup */
static struct hlist_head *lf_ids __read_mostly;		/* by id */
static unsigned int lf_hash_bits __read_mostly;
static unsigned int lf_hash_shift __read_mostly;	/* 64 - lf_hash_bits */
static unsigned int lf_max_cgroups __read_mostly;
static DEFINE_STATIC_KEY_FALSE(lf_v1);
static int lf_default = LF_MODE_FREE;
static struct lf_stats __percpu *lf_node __read_mostly;

static DEFINE_MUTEX(lf_lock);		/* table and list writers */
static LIST_HEAD(lf_cgroups);
static atomic_t lf_nr_cgroups = ATOMIC_INIT(0);
/* tracked cgroups with a mode other than inherit: 0 means no walk needed */
static atomic_t lf_nr_explicit = ATOMIC_INIT(0);
/*
 * Bumped by every change that can change an effective mode.  A tracked
 * cgroup caches its effective mode with the generation it was resolved
 * in, so the madvise path walks the hierarchy only after a change.
 */
static atomic_long_t lf_gen = ATOMIC_LONG_INIT(1);

/* ids of untracked cgroups seen calling MADV_FREE; 0 is a free slot */
static u64 lf_pending[1 << LF_PENDING_BITS];

static void lf_discover_fn(struct work_struct *work);
static void lf_prune_fn(struct work_struct *work);
static DECLARE_WORK(lf_discover_work, lf_discover_fn);
static DECLARE_DELAYED_WORK(lf_prune_work, lf_prune_fn);

bool lf_hierarchy_v1(void)
{
	return static_branch_unlikely(&lf_v1);
}

enum lf_mode lf_default_mode(void)
{
	return READ_ONCE(lf_default);
}

/* After a change of any mode: cached effective modes are stale. */
static void lf_modes_changed(void)
{
	smp_mb__before_atomic();	/* the new mode before the new generation */
	atomic_long_inc(&lf_gen);
}

void lf_set_default_mode(enum lf_mode mode)
{
	WRITE_ONCE(lf_default, mode);
	lf_modes_changed();
}

/*
 * The table is keyed by the cgroup itself, which the madvise path holds
 * already: an entry holds a reference on its cgroup until it is freed, so
 * the pointer names one cgroup for as long as the entry can be found.
 */
static struct hlist_head *lf_bucket(struct cgroup *cgrp)
{
	/* hash_ptr(), with 64 - bits kept: "& 63" tells the compiler it fits */
	return &lf_table[(unsigned long)cgrp * GOLDEN_RATIO_64 >>
			 (lf_hash_shift & 63)];
}

/* Caller is an RCU reader (of any flavour) or holds lf_lock. */
static nokprobe_inline struct lf_cgroup *lf_lookup(struct cgroup *cgrp)
{
	struct lf_cgroup *lc;

	hlist_for_each_entry_rcu(lc, lf_bucket(cgrp), hnode,
				 lockdep_is_held(&lf_lock))
		if (lc->cgrp == cgrp)
			return lc;
	return NULL;
}

/* The second index, by id, for the writers, which are given one. */
static struct hlist_head *lf_id_bucket(u64 id)
{
	return &lf_ids[hash_64(id, lf_hash_bits)];
}

/* By id: under lf_lock. */
static struct lf_cgroup *lf_lookup_id(u64 id)
{
	struct lf_cgroup *lc;

	lockdep_assert_held(&lf_lock);
	hlist_for_each_entry(lc, lf_id_bucket(id), inode)
		if (lc->id == id)
			return lc;
	return NULL;
}

/*
 * The cgroup an mm is charged to: that of its owner, so that io_uring
 * workers and kernel threads acting for a process count for the process.
 * Caller has preemption disabled (an RCU reader).
 */
static nokprobe_inline struct cgroup *lf_mm_cgroup(struct mm_struct *mm)
{
	struct task_struct *owner = rcu_dereference_sched(mm->owner);

	if (!owner)
		owner = current;
	if (static_branch_unlikely(&lf_v1))
		return task_css(owner, memory_cgrp_id)->cgroup;
	return task_dfl_cgroup(owner);
}

/* Nearest explicit mode from @cgrp up; @lc is @cgrp's entry, if tracked. */
static nokprobe_inline enum lf_mode lf_resolve(struct cgroup *cgrp,
					       struct lf_cgroup *lc)
{
	for (;;) {
		if (lc) {
			int mode = READ_ONCE(lc->mode);

			if (mode != LF_MODE_INHERIT)
				return mode;
		}
		cgrp = cgroup_parent(cgrp);
		if (!cgrp)
			return READ_ONCE(lf_default);
		lc = lf_lookup(cgrp);
	}
}

static nokprobe_inline void lf_request_discovery(u64 id)
{
	u64 *slot = &lf_pending[hash_64(id, LF_PENDING_BITS)];

	/* a busy slot is retried by a later call; plain read first, no bouncing */
	if (READ_ONCE(*slot) ||
	    atomic_read(&lf_nr_cgroups) >= lf_max_cgroups)
		return;
	if (!cmpxchg(slot, 0, id))
		queue_work(system_unbound_wq, &lf_discover_work);
}

/*
 * Count @bytes of @mm as advised MADV_FREE, for the node and @lc (NULL:
 * untracked), in @mode, and return the mode that applies: dontneed only
 * where the caller may drop them at once.
 *
 * Not for an mm that has pinned pages (FOLL_PIN: io_uring fixed buffers,
 * RDMA, vfio, direct I/O): natively reclaim keeps a pinned lazyfree page
 * and the device and the process go on sharing it, which a zap would end.
 * The kernel's own test for pins on fork starts the same way; the flag is
 * never cleared, so such a process keeps MADV_FREE for its lifetime, and
 * the bytes are counted as pinned.
 *
 * Counters are added to by tasks only, never from an interrupt, and here
 * with preemption disabled: the plain __this_cpu_add() (on arm64
 * this_cpu_add() would toggle preemption around every add).
 */
static nokprobe_inline enum lf_mode lf_count_free(struct mm_struct *mm,
						  struct lf_cgroup *lc,
						  u64 bytes, enum lf_mode mode)
{
	__this_cpu_add(lf_node->free_bytes, bytes);
	if (lc)
		__this_cpu_add(lc->stats->free_bytes, bytes);
	if (mode == LF_MODE_DONTNEED && unlikely(lf_mm_has_pinned(mm))) {
		__this_cpu_add(lf_node->pinned_bytes, bytes);
		if (lc)
			__this_cpu_add(lc->stats->pinned_bytes, bytes);
		mode = LF_MODE_FREE;
	}
	return mode;
}

/* @lc's cached effective mode; -1 if a mode has changed since (lf_gen). */
static nokprobe_inline int lf_cached_mode(struct lf_cgroup *lc)
{
	unsigned long cached = READ_ONCE(lc->cached);

	if (unlikely(cached >> 2 != atomic_long_read(&lf_gen)))
		return -1;
	return cached & 3;
}

/*
 * lf_account_free() for a cgroup that is not tracked (yet), or whose
 * cached effective mode is older than the last change of a mode.
 */
static noinline enum lf_mode notrace lf_account_free_slow(struct mm_struct *mm,
							  struct cgroup *cgrp,
							  struct lf_cgroup *lc,
							  u64 bytes)
{
	enum lf_mode mode;

	if (lc) {
		unsigned long gen = atomic_long_read(&lf_gen);

		smp_rmb();	/* modes as new as @gen, or newer */
		mode = lf_resolve(cgrp, lc);
		WRITE_ONCE(lc->cached, gen << 2 | mode);
	} else {
		if (atomic_read(&lf_nr_explicit))
			mode = lf_resolve(cgrp, NULL);
		else
			mode = READ_ONCE(lf_default);
		lf_request_discovery(cgroup_id(cgrp));
	}
	return lf_count_free(mm, lc, bytes, mode);
}
NOKPROBE_SYMBOL(lf_account_free_slow);

/*
 * The madvise path: @bytes of private anonymous memory of @mm are being
 * advised MADV_FREE, and the kernel will accept them.  Count them and
 * return the mode that applies (lf_count_free()).  A tracked cgroup
 * whose cached effective mode is current takes the straight way: its
 * entry, two per-cpu adds, no call.
 *
 * The read side is preemption disabled, not rcu_read_lock(): since the
 * RCU flavours were merged (4.20) call_rcu() waits for such sections
 * too, which covers our entries, cgroups and tasks, and it costs a few
 * instructions instead of two calls on preemptible-RCU kernels.
 */
enum lf_mode notrace lf_account_free(struct mm_struct *mm, u64 bytes)
{
	struct lf_cgroup *lc;
	struct cgroup *cgrp;
	int mode;

	rcu_read_lock_sched_notrace();
	cgrp = lf_mm_cgroup(mm);
	lc = lf_lookup(cgrp);
	mode = likely(lc) ? lf_cached_mode(lc) : -1;
	if (likely(mode >= 0))
		mode = lf_count_free(mm, lc, bytes, mode);
	else
		mode = lf_account_free_slow(mm, cgrp, lc, bytes);
	rcu_read_unlock_sched_notrace();
	return mode;
}
NOKPROBE_SYMBOL(lf_account_free);

/*
 * A replacement has dropped @bytes of @mm at once.  Counted here, where
 * it happened, not where it was decided: another IPMODIFY user of the
 * function (a livepatch) may have had the last word on the instruction
 * pointer.  Process context; the lookup is lf_account_free()'s.
 */
void lf_account_rewritten(struct mm_struct *mm, u64 bytes)
{
	struct lf_cgroup *lc;

	rcu_read_lock_sched();
	lc = lf_lookup(lf_mm_cgroup(mm));
	__this_cpu_add(lf_node->rewritten_bytes, bytes);
	if (lc)
		__this_cpu_add(lc->stats->rewritten_bytes, bytes);
	rcu_read_unlock_sched();
}

static void lf_stats_sum(struct lf_stats __percpu *stats, struct lf_stats *sum)
{
	int cpu;

	sum->free_bytes = 0;
	sum->rewritten_bytes = 0;
	sum->pinned_bytes = 0;
	for_each_possible_cpu(cpu) {
		struct lf_stats *s = per_cpu_ptr(stats, cpu);

		sum->free_bytes += READ_ONCE(s->free_bytes);
		sum->rewritten_bytes += READ_ONCE(s->rewritten_bytes);
		sum->pinned_bytes += READ_ONCE(s->pinned_bytes);
	}
}

void lf_node_stats(struct lf_stats *sum)
{
	lf_stats_sum(lf_node, sum);
}

void lf_cgroup_stats(struct lf_cgroup *lc, struct lf_stats *sum)
{
	lf_stats_sum(lc->stats, sum);
}

void lf_cgroup_set_mode(struct lf_cgroup *lc, enum lf_mode mode)
{
	int old = xchg(&lc->mode, mode);

	if (old == LF_MODE_INHERIT && mode != LF_MODE_INHERIT)
		atomic_inc(&lf_nr_explicit);
	else if (old != LF_MODE_INHERIT && mode == LF_MODE_INHERIT)
		atomic_dec(&lf_nr_explicit);
	if (old != mode)
		lf_modes_changed();
}

enum lf_mode lf_cgroup_effective_mode(struct lf_cgroup *lc)
{
	enum lf_mode mode;

	rcu_read_lock();
	mode = lf_resolve(lc->cgrp, lc);
	rcu_read_unlock();
	return mode;
}

/* rmdir()ed: offline, even while our reference keeps it in memory */
static bool lf_cgroup_is_dead(struct cgroup *cgrp)
{
	return !(READ_ONCE(cgrp->self.flags) & CSS_ONLINE);
}

/*
 * A live cgroup of our hierarchy by id, with a reference.  v2 has an id
 * index (from 5.13); otherwise walk the hierarchy (only sysfs and the
 * discovery work come here).
 */
static struct cgroup *lf_cgroup_get(u64 id)
{
	struct cgroup_subsys_state *root, *pos;
	struct cgroup *cgrp = NULL;

	if (!lf_hierarchy_v1()) {
		cgrp = lf_cgroup_get_from_id(id);
		if (cgrp != ERR_PTR(-EOPNOTSUPP)) {
			if (IS_ERR_OR_NULL(cgrp))
				return NULL;
			if (lf_cgroup_is_dead(cgrp)) {
				cgroup_put(cgrp);
				return NULL;
			}
			return cgrp;
		}
		cgrp = NULL;
	}

	rcu_read_lock();
	if (lf_hierarchy_v1())
		root = &task_css(&init_task, memory_cgrp_id)->cgroup->self;
	else
		root = &task_dfl_cgroup(&init_task)->self;
	css_for_each_descendant_pre(pos, root) {
		if (cgroup_id(pos->cgroup) != id)
			continue;
		if (css_tryget_online(pos))
			cgrp = pos->cgroup;
		break;
	}
	rcu_read_unlock();
	return cgrp;
}

/*
 * Entries not yet freed.  The last kobject reference of an entry may go
 * after the module unlinked it, and its release run late (a reader's
 * reference, DEBUG_KOBJECT_RELEASE's delay): unload waits for this to
 * reach zero before it lets the module text go.
 */
static atomic_t lf_nr_allocated = ATOMIC_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(lf_freed_wq);

/* Last kobject reference gone: sysfs no longer shows @lc. */
static void lf_cgroup_free_rcu(struct rcu_head *rcu)
{
	struct lf_cgroup *lc = container_of(rcu, struct lf_cgroup, rcu);

	free_percpu(lc->stats);
	kfree(lc);
	if (atomic_dec_and_test(&lf_nr_allocated))
		wake_up(&lf_freed_wq);
}

void lf_cgroup_release(struct lf_cgroup *lc)
{
	if (lc->cgrp)
		cgroup_put(lc->cgrp);
	/* madvise paths may still hold @lc under rcu_read_lock() */
	call_rcu(&lc->rcu, lf_cgroup_free_rcu);
}

int lf_cgroup_add(u64 id)
{
	struct lf_cgroup *lc;
	int err;

	lc = kzalloc(sizeof(*lc), GFP_KERNEL);
	if (!lc)
		return -ENOMEM;
	lc->id = id;
	lc->mode = LF_MODE_INHERIT;
	lc->stats = alloc_percpu(struct lf_stats);
	if (!lc->stats) {
		kfree(lc);
		return -ENOMEM;
	}
	atomic_inc(&lf_nr_allocated);

	mutex_lock(&lf_lock);
	if (lf_lookup_id(id)) {
		err = -EEXIST;
		goto err_free;
	}
	if (atomic_read(&lf_nr_cgroups) >= lf_max_cgroups) {
		err = -ENOSPC;
		goto err_free;
	}
	lc->cgrp = lf_cgroup_get(id);
	if (!lc->cgrp) {
		err = -ENOENT;
		goto err_free;
	}
	/* on failure the kobject release frees @lc and drops the cgroup */
	err = lf_sysfs_add_cgroup(lc);
	if (err)
		goto out_unlock;

	hlist_add_head_rcu(&lc->hnode, lf_bucket(lc->cgrp));
	hlist_add_head(&lc->inode, lf_id_bucket(id));
	list_add_tail(&lc->lnode, &lf_cgroups);
	atomic_inc(&lf_nr_cgroups);
	queue_delayed_work(system_unbound_wq, &lf_prune_work, LF_PRUNE_INTERVAL);
out_unlock:
	mutex_unlock(&lf_lock);
	return err;

err_free:
	mutex_unlock(&lf_lock);
	free_percpu(lc->stats);
	kfree(lc);
	atomic_dec(&lf_nr_allocated);
	return err;
}

/*
 * Caller holds lf_lock.  Mode stores do not take lf_lock, so removing the
 * directory here cannot deadlock against them; once kobject_del() has
 * drained them, lc->mode is final.
 */
static void lf_cgroup_unlink(struct lf_cgroup *lc)
{
	hlist_del_rcu(&lc->hnode);
	hlist_del(&lc->inode);
	list_del(&lc->lnode);
	atomic_dec(&lf_nr_cgroups);
	kobject_del(&lc->kobj);
	if (lc->mode != LF_MODE_INHERIT) {
		atomic_dec(&lf_nr_explicit);
		lf_modes_changed();
	}
	kobject_put(&lc->kobj);
}

int lf_cgroup_remove(u64 id)
{
	struct lf_cgroup *lc;
	int err = 0;

	mutex_lock(&lf_lock);
	lc = lf_lookup_id(id);
	if (lc)
		lf_cgroup_unlink(lc);
	else
		err = -ENOENT;
	mutex_unlock(&lf_lock);
	return err;
}

static void lf_discover_fn(struct work_struct *work)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(lf_pending); i++) {
		u64 id = xchg(&lf_pending[i], 0);

		/* gone already, raced with a writer or full: nothing to do */
		if (id)
			lf_cgroup_add(id);
	}
}

/* Forget cgroups that were removed; their directories go with them. */
static void lf_prune_fn(struct work_struct *work)
{
	struct lf_cgroup *lc, *tmp;

	mutex_lock(&lf_lock);
	list_for_each_entry_safe(lc, tmp, &lf_cgroups, lnode)
		if (lf_cgroup_is_dead(lc->cgrp))
			lf_cgroup_unlink(lc);
	if (!list_empty(&lf_cgroups))
		queue_delayed_work(system_unbound_wq, &lf_prune_work,
				   LF_PRUNE_INTERVAL);
	mutex_unlock(&lf_lock);
}

int lf_policy_init(unsigned int max_cgroups)
{
	unsigned int i;

	if (!max_cgroups || max_cgroups > LF_MAX_CGROUPS_LIMIT)
		return -EINVAL;
	lf_max_cgroups = max_cgroups;
	if (!cgroup_subsys_on_dfl(memory_cgrp_subsys))
		static_branch_enable(&lf_v1);

	/*
	 * About one entry per bucket when full (hash_64() needs a bit); the
	 * id index is the second half of the allocation.
	 */
	lf_hash_bits = max(1, ilog2(roundup_pow_of_two(max_cgroups)));
	lf_table = kvmalloc_array(2U << lf_hash_bits, sizeof(*lf_table),
				  GFP_KERNEL);
	if (!lf_table)
		return -ENOMEM;
	for (i = 0; i < (2U << lf_hash_bits); i++)
		INIT_HLIST_HEAD(&lf_table[i]);
	lf_ids = lf_table + (1U << lf_hash_bits);
	lf_hash_shift = 64 - lf_hash_bits;

	lf_node = alloc_percpu(struct lf_stats);
	if (!lf_node) {
		kvfree(lf_table);
		return -ENOMEM;
	}
	return 0;
}

/* The hook is gone and drained: nothing queues discovery any more. */
void lf_policy_exit(void)
{
	struct lf_cgroup *lc, *tmp;

	cancel_work_sync(&lf_discover_work);
	cancel_delayed_work_sync(&lf_prune_work);

	mutex_lock(&lf_lock);
	list_for_each_entry_safe(lc, tmp, &lf_cgroups, lnode)
		lf_cgroup_unlink(lc);
	mutex_unlock(&lf_lock);

	/*
	 * Every entry's release queues lf_cgroup_free_rcu(), whenever its
	 * last reference goes; wait for the last one, then for that
	 * callback to return (rcu_barrier()): module text.  A release
	 * preempted on its way out of lf_cgroup_release() is put behind us
	 * by the last synchronize_rcu_tasks() of lazyfree_exit().
	 */
	wait_event(lf_freed_wq, !atomic_read(&lf_nr_allocated));
	rcu_barrier();
	free_percpu(lf_node);
	kvfree(lf_table);
}
