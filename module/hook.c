// SPDX-License-Identifier: GPL-2.0
/*
 * hook.c - the two ways of getting into the strategy's function, behind one
 * switch.
 *
 * ftrace: the module's own ftrace_ops on the function, with an
 *   argument-only trampoline (a full pt_regs one before 5.11) and
 *   FTRACE_OPS_FL_IPMODIFY, as livepatch does.
 *   The cheapest dispatch; refused where a livepatch (or another IPMODIFY
 *   user, or before 6.0 a BPF trampoline) owns the function or where it
 *   is no ftrace site.
 * kprobe: a kprobe whose pre-handler moves the instruction pointer.  Works
 *   wherever CONFIG_KPROBES does; costs a full register save.  No
 *   post_handler, so it never takes IPMODIFY and coexists with livepatch;
 *   but a BPF trampoline that calls the function (fexit) calls its body
 *   past the kprobe's redirect.
 *
 * Either way the handler asks the strategy (lf_redirect()), which counts
 * the call and, where the mode is dontneed, names its replacement: that
 * then runs instead of the function, with its arguments and return
 * address, in the caller's context (it may sleep).  The replacement counts
 * itself in and out (lf_hook_enter(), lf_hook_leave()) so that unload can
 * wait for tasks inside it.
 *
 * Next to a livepatch of the same function (ftrace refused with -EBUSY,
 * kprobe taken) the handlers run in the order of the ftrace ops list,
 * newest first, and the last to set the instruction pointer wins.  The
 * kprobe's place is that of the kernel's shared kprobe ops, registered
 * when the first ftrace-based kprobe on the node was armed: either may
 * win.  Hence the replacement, not the handler, counts the bytes it drops
 * (rewritten_bytes) and the tasks inside it: a redirect that a livepatch
 * overrode leaves neither a count nor anything to wait for.
 */

#include <linux/delay.h>
#include <linux/ftrace.h>
#include <linux/kprobes.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/ptrace.h>
#include <linux/sysfs.h>

#include "lazyfree.h"

const char * const lf_mech_names[LF_NR_MECHS] = {
	[LF_MECH_AUTO]		= "auto",
	[LF_MECH_FTRACE]	= "ftrace",
	[LF_MECH_KPROBE]	= "kprobe",
};

static DEFINE_MUTEX(lf_hook_lock);
static const struct lf_strategy *lf_strategy;
static enum lf_mechanism lf_requested;
static enum lf_mechanism lf_mech;	/* last registered; never AUTO */
static bool lf_enabled;

/* Tasks inside a replacement. */
static DEFINE_PER_CPU(long, lf_inside);

void lf_hook_enter(void)
{
	this_cpu_inc(lf_inside);
}

void lf_hook_leave(void)
{
	this_cpu_dec(lf_inside);
}

/*
 * Called once no task can enter any more: every per-cpu value only falls
 * while we add them up, so a zero sum is a true zero.
 */
static long lf_hook_inside(void)
{
	long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(per_cpu(lf_inside, cpu));
	return sum;
}

/* ftrace */

static void notrace lf_ftrace_handler(unsigned long ip,
				      unsigned long parent_ip,
				      struct ftrace_ops *ops,
				      struct lf_ftrace_regs *fregs)
{
	unsigned long to = lf_redirect(lf_fregs_arg(fregs, 0),
				       lf_fregs_arg(fregs, 1),
				       lf_fregs_arg(fregs, 2),
				       lf_fregs_arg(fregs, 3));

	if (to)
		lf_fregs_set_ip(fregs, to);
}

/*
 * No FTRACE_OPS_FL_RECURSION: the handler calls nothing that reaches the
 * hooked function, so it needs no recursion guard, and without the flag
 * the trampoline calls it directly instead of through
 * ftrace_ops_assist_func().  FTRACE_OPS_FL_PERMANENT (in the flags):
 * while it is registered, kernel.ftrace_enabled=0 is refused (EBUSY)
 * rather than silently switching the hook off behind "enabled".
 */
static struct ftrace_ops lf_ftrace_ops = {
	.func	= lf_ftrace_handler,
	.flags	= LF_FTRACE_OPS_FLAGS,
};

static bool lf_ftrace_filtered;

/* The filter is set once and kept across disable/enable until unload. */
static int lf_ftrace_register(void)
{
	char name[KSYM_NAME_LEN];
	int err;

	if (!LF_HAVE_FTRACE_IPMODIFY)
		return -EOPNOTSUPP;
	if (!lf_ftrace_filtered) {
		/* ftrace_set_filter() parses its buffer in place */
		strscpy(name, lf_strategy->symbol, sizeof(name));
		err = ftrace_set_filter(&lf_ftrace_ops, name, strlen(name), 1);
		if (err)
			return err;
		lf_ftrace_filtered = true;
	}
	return register_ftrace_function(&lf_ftrace_ops);
}

static void lf_ftrace_unregister(void)
{
	int err = unregister_ftrace_function(&lf_ftrace_ops);

	if (err)
		pr_err("unregistering the ftrace hook on %s failed: error %d\n",
		       lf_strategy->symbol, err);
}

/* An emptied filter hash is freed (ftrace_free_filter() is 5.11+). */
static void lf_ftrace_free(void)
{
	if (lf_ftrace_filtered)
		ftrace_set_filter(&lf_ftrace_ops, NULL, 0, 1);
	lf_ftrace_filtered = false;
}

/* kprobe */

static int lf_kprobe_pre(struct kprobe *p, struct pt_regs *regs)
{
	unsigned long to = lf_redirect(regs_get_kernel_argument(regs, 0),
				       regs_get_kernel_argument(regs, 1),
				       regs_get_kernel_argument(regs, 2),
				       regs_get_kernel_argument(regs, 3));

	if (!to)
		return 0;
	instruction_pointer_set(regs, to);
	return 1;	/* ip changed: no single-step */
}
NOKPROBE_SYMBOL(lf_kprobe_pre);

static struct kprobe lf_kprobe;

static int lf_kprobe_register(void)
{
	memset(&lf_kprobe, 0, sizeof(lf_kprobe));
	lf_kprobe.symbol_name = lf_strategy->symbol;
	lf_kprobe.pre_handler = lf_kprobe_pre;
	return register_kprobe(&lf_kprobe);
}

static void lf_kprobe_unregister(void)
{
	unregister_kprobe(&lf_kprobe);
}

/* The switch */

static int lf_register(enum lf_mechanism mech)
{
	return mech == LF_MECH_FTRACE ? lf_ftrace_register() :
					lf_kprobe_register();
}

/* Caller holds lf_hook_lock. */
static int lf_hook_register(void)
{
	int err;

	if (lf_requested != LF_MECH_AUTO) {
		err = lf_register(lf_requested);
		if (!err)
			lf_mech = lf_requested;
		return err;
	}

	err = lf_register(LF_MECH_FTRACE);
	if (!err) {
		lf_mech = LF_MECH_FTRACE;
		return 0;
	}
	if (err == -EBUSY)
		pr_warn("ftrace hook on %s refused (-EBUSY: a livepatch of it, a BPF trampoline on it before 6.0, or kernel.ftrace_enabled=0): using a kprobe, which a BPF fexit program on it bypasses\n",
			lf_strategy->symbol);
	else
		pr_info("ftrace hook on %s refused (%d), using a kprobe\n",
			lf_strategy->symbol, err);
	err = lf_register(LF_MECH_KPROBE);
	if (!err)
		lf_mech = LF_MECH_KPROBE;
	return err;
}

/* Caller holds lf_hook_lock.  Handlers have finished on return. */
static void lf_hook_unregister(void)
{
	if (lf_mech == LF_MECH_FTRACE)
		lf_ftrace_unregister();
	else
		lf_kprobe_unregister();
}

int lf_hook_set_enabled(bool enable)
{
	int err = 0;

	mutex_lock(&lf_hook_lock);
	if (!lf_strategy) {
		err = -ENODEV;		/* still loading */
	} else if (enable && !lf_enabled) {
		err = lf_hook_register();
		if (!err)
			lf_enabled = true;
	} else if (!enable && lf_enabled) {
		lf_hook_unregister();
		lf_enabled = false;
	}
	mutex_unlock(&lf_hook_lock);
	return err;
}

bool lf_hook_enabled(void)
{
	return READ_ONCE(lf_enabled);
}

ssize_t lf_hook_show(char *buf)
{
	ssize_t len;

	mutex_lock(&lf_hook_lock);
	if (lf_strategy)
		len = sysfs_emit(buf, "%s %s%s\n", lf_strategy->symbol,
				 lf_mech_names[lf_mech],
				 lf_line_untested ? " untested" : "");
	else
		len = -ENODEV;
	mutex_unlock(&lf_hook_lock);
	return len;
}

/*
 * Pick the strategy for this kernel and prove the mechanism by registering
 * it once, so that a kernel we cannot hook refuses the module at load time
 * rather than at the first "enabled" write.
 */
int lf_hook_init(enum lf_mechanism requested, bool enable)
{
	const struct lf_strategy *strategy = lf_strategy_select();
	int err;

	if (!strategy)
		return -EOPNOTSUPP;

	mutex_lock(&lf_hook_lock);
	lf_strategy = strategy;
	lf_requested = requested;
	err = lf_hook_register();
	if (err) {
		pr_err("cannot hook %s with %s: error %d\n",
		       lf_strategy->symbol, lf_mech_names[requested], err);
		lf_ftrace_free();
		lf_strategy = NULL;
	} else if (enable) {
		lf_enabled = true;
	} else {
		lf_hook_unregister();
	}
	mutex_unlock(&lf_hook_lock);
	return err;
}

/*
 * Unregistering waits for running handlers, not for tasks that a handler
 * sent on to the replacement.  The replacement has no voluntary schedule
 * before lf_hook_enter(), so once every task has passed one
 * (synchronize_rcu_tasks()) all that will ever enter are counted.  Wait
 * for them to leave (the zap may sleep).  The instructions after
 * lf_hook_leave() are put behind them by the last synchronize_rcu_tasks()
 * of lazyfree_exit(), once every task has passed one more voluntary
 * schedule.
 *
 * Under full preemption (PREEMPT, PREEMPT_RT) a task may be preempted
 * anywhere on that way, in the handler or between the redirect and
 * lf_hook_enter(): RCU Tasks does not count a preemption as a quiescent
 * state, so the grace period waits for that task to run on to a
 * voluntary schedule, which comes only after it has been counted.
 */
void lf_hook_exit(void)
{
	lf_hook_set_enabled(false);
	synchronize_rcu_tasks();
	while (lf_hook_inside())
		msleep(20);
	lf_ftrace_free();
}
