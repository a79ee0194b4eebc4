// SPDX-License-Identifier: GPL-2.0
/*
 * lazyfree - per-cgroup control and accounting of MADV_FREE.
 *
 * Since Linux 4.5, MADV_FREE leaves freed memory mapped and charged until
 * the kernel is short of memory, and RSS and memory.current stay high.
 * lazyfree lets a node operator choose per cgroup whether MADV_FREE stays
 * lazy ("free") or drops private anonymous memory at once, as MADV_DONTNEED
 * would ("dontneed"), and counts both.  Nothing else a program can observe
 * changes: return values, errors and every other mapping are the kernel's,
 * and a process that has pinned memory (io_uring fixed buffers, RDMA) keeps
 * MADV_FREE, whose pinned pages it goes on sharing with the device.  (From
 * 7.1 the page tables a drop empties stay until the range is unmapped; the
 * admin guide has this and the TLB flush under "Differences".)
 *
 * See Documentation/admin-guide/lazyfree.rst.
 */

#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/rcupdate.h>
#include <linux/string.h>

#include "lazyfree.h"

static bool enabled = true;
module_param(enabled, bool, 0444);
MODULE_PARM_DESC(enabled,
		 "Hook madvise at load (1, default) or wait for sysfs enabled=1 (0); load time only, see /sys/kernel/lazyfree/enabled");

static unsigned int max_cgroups = 4096;
module_param(max_cgroups, uint, 0444);
MODULE_PARM_DESC(max_cgroups,
		 "Most cgroups tracked at once, 1 to 1048576 (default 4096); node-wide counters count beyond it");

static int lf_param_set_mode(const char *val, const struct kernel_param *kp)
{
	int mode = sysfs_match_string(lf_mode_names, val);

	if (mode < 0 || mode == LF_MODE_INHERIT)
		return -EINVAL;
	*(int *)kp->arg = mode;
	return 0;
}

/*
 * The value given at load, which `lazyfreectl apply --prune` restores when
 * the policy file names no default; the live one is
 * /sys/kernel/lazyfree/default_mode.
 */
static int lf_param_get_mode(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", lf_mode_names[*(int *)kp->arg]);
}

static const struct kernel_param_ops lf_mode_param_ops = {
	.set = lf_param_set_mode,
	.get = lf_param_get_mode,
};

static int default_mode = LF_MODE_FREE;
module_param_cb(default_mode, &lf_mode_param_ops, &default_mode, 0444);
MODULE_PARM_DESC(default_mode,
		 "Mode where no cgroup sets one: free (default) or dontneed; set at load, changed through /sys/kernel/lazyfree/default_mode");

static int lf_param_set_hook(const char *val, const struct kernel_param *kp)
{
	int mech = sysfs_match_string(lf_mech_names, val);

	if (mech < 0)
		return -EINVAL;
	*(int *)kp->arg = mech;
	return 0;
}

static int lf_param_get_hook(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", lf_mech_names[*(int *)kp->arg]);
}

static const struct kernel_param_ops lf_hook_param_ops = {
	.set = lf_param_set_hook,
	.get = lf_param_get_hook,
};

static int hook = LF_MECH_AUTO;
module_param_cb(hook, &lf_hook_param_ops, &hook, 0444);
MODULE_PARM_DESC(hook,
		 "Hook mechanism: auto (ftrace, else kprobe; default), ftrace or kprobe");

static int __init lazyfree_init(void)
{
	int err;

	err = lf_policy_init(max_cgroups);
	if (err) {
		pr_err("cannot set up the cgroup table (max_cgroups=%u): error %d\n",
		       max_cgroups, err);
		return err;
	}
	lf_set_default_mode(default_mode);

	err = lf_sysfs_init();
	if (err) {
		pr_err("cannot create /sys/kernel/lazyfree: error %d\n", err);
		goto err_policy;
	}

	err = lf_hook_init(hook, enabled);
	if (err)
		goto err_hook;

	pr_info("loaded: cgroup %s ids, default mode %s, %s\n",
		lf_hierarchy_v1() ? "v1 memory" : "v2",
		lf_mode_names[default_mode],
		enabled ? "enabled" : "disabled");
	return 0;

err_hook:
	/* the order of lazyfree_exit(), less the hook */
	lf_sysfs_remove_controls();
	lf_policy_exit();
	lf_sysfs_exit();
	return err;
err_policy:
	lf_policy_exit();
	return err;
}

static void __exit lazyfree_exit(void)
{
	lf_sysfs_remove_controls();
	lf_hook_exit();
	lf_policy_exit();
	lf_sysfs_exit();
	/*
	 * Tasks may still be on the last instructions of module text: after
	 * lf_hook_leave() in a replacement, after call_rcu() in an entry's
	 * release.  Neither schedules voluntarily before it returns to the
	 * kernel, so once every task has passed a voluntary schedule (a
	 * preemption does not count) none is left in the module.
	 */
	synchronize_rcu_tasks();
}

module_init(lazyfree_init);
module_exit(lazyfree_exit);

MODULE_DESCRIPTION("Per-cgroup control and accounting of MADV_FREE");
MODULE_AUTHOR("The lazyfree developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(LAZYFREE_VERSION);
