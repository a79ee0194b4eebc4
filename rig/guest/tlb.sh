# SPDX-License-Identifier: GPL-2.0
# lazyfree guest mode "tlb": sourced by /init (busybox sh), booted by
# rig/bench.sh with two vCPUs.  Counts the TLB shootdown interrupts that
# 1000 calls on 64 KiB cause, with a second thread of the process on the
# other CPU running (spin) or idle with the address space still loaded
# (sleep).  Prints one line per figure:
#   LAZYFREE-TLB <case> <shootdowns per 1000 calls>
# then LAZYFREE-RIG-END.  Cases are named <setup>.<advice>.<other thread>.

. /lazyfree/rig/bench-lib.sh

# tlbs CASE ADVICE: both figures for CASE, the process in RUN
tlbs() {
	local name=$1 other v
	for other in spin sleep; do
		if v=$(lfbench -c "$RUN" -t $other "$2" 64k "$ITERS"); then
			echo "LAZYFREE-TLB $name.$other $v"
		else
			bench_fail "$name.$other: lfbench -t $other $2"
		fi
	done
}

[ "$(nproc)" -ge 2 ] || bench_fail "tlb needs two CPUs, has $(nproc)"

tlbs absent.dontneed dontneed
tlbs absent.free free
for hook in ftrace kprobe; do
	load hook=$hook
	track "$RUN"
	set_mode "$RUN" dontneed
	tlbs $hook-dontneed.free free
	unload
done

bench_end
