// SPDX-License-Identifier: GPL-2.0
/*
 * lf_leakprobe: the control of make check-debug's kmemleak verdict.
 *
 * Loading it leaks one allocation on purpose: nothing keeps a pointer to
 * it once the module is gone.  The guest (rig/guest/check.sh) loads and
 * unloads it before lazyfree, asks kmemleak to scan, and trusts
 * "0 suspected leaks" after lazyfree's own unload only if that scan found
 * this one.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/slab.h>

#define LF_LEAKPROBE_SIZE	192

static int __init lf_leakprobe_init(void)
{
	void *p = kmalloc(LF_LEAKPROBE_SIZE, GFP_KERNEL);

	if (!p)
		return -ENOMEM;
	memset(p, 0x5a, LF_LEAKPROBE_SIZE);
	pr_info("dropped a %d-byte allocation on purpose (the rig's leak control)\n",
		LF_LEAKPROBE_SIZE);
	return 0;
}

static void __exit lf_leakprobe_exit(void)
{
}

module_init(lf_leakprobe_init);
module_exit(lf_leakprobe_exit);
MODULE_DESCRIPTION("lazyfree test rig: a deliberate leak for kmemleak to find");
MODULE_LICENSE("GPL");
