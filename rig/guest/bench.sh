# SPDX-License-Identifier: GPL-2.0
# lazyfree guest mode "bench": sourced by /init (busybox sh), booted by
# rig/bench.sh under QEMU -icount shift=0 -smp 1, where one TSC tick is
# one guest instruction.  Prints one line per figure:
#   LAZYFREE-BENCH <case> <instructions per call>
# then LAZYFREE-RIG-END.  Cases are named <setup>.<advice>.<size>.
#
# Kernel command line: lazyfree_bench_iters=N (calls per figure).
# rig/guest/tlb.sh is its SMP companion (TLB shootdowns).

. /lazyfree/rig/bench-lib.sh

# measure CASE [-c CGROUP] ADVICE SIZE: one figure, in RUN unless -c
measure() {
	local name=$1 v
	shift
	[ "$1" = -c ] || set -- -c "$RUN" "$@"
	if v=$(lfbench "$@" "$ITERS"); then
		echo "LAZYFREE-BENCH $name $v"
	else
		bench_fail "$name: lfbench $*"
	fi
}

echo "LAZYFREE-BENCH-INFO spectre_v2: $(cat /sys/devices/system/cpu/vulnerabilities/spectre_v2 2>/dev/null)"

# 1. The unhooked kernel.
measure absent.free.4k free 4k
measure absent.free.2m free 2m
measure absent.dontneed.4k dontneed 4k
measure absent.dontneed.2m dontneed 2m
measure absent.willneed.4k willneed 4k
measure absent.reuse-free.64k -r free 64k
measure absent.reuse-dontneed.64k -r dontneed 64k
measure absent.uffd-free.4k -u free 4k

# 2. The observe-only peer: the kernel's own kprobe event on the function
#    lazyfree hooks on this kernel (its `hook` file names it).
load enabled=0
FUNC=$(cut -d' ' -f1 $LF/hook)
unload
KPE=/sys/kernel/tracing/kprobe_events
if echo "p:lazyfree_peer $FUNC" >>$KPE; then
	echo 1 >/sys/kernel/tracing/events/kprobes/lazyfree_peer/enable
	measure peer.free.4k free 4k
	echo 0 >/sys/kernel/tracing/events/kprobes/lazyfree_peer/enable
	echo '-:lazyfree_peer' >>$KPE
else
	bench_fail "kprobe event on $FUNC"
fi

# 3. Loaded, enabled=0: nothing registered.
load enabled=0
measure disabled.free.4k free 4k
measure disabled.free.2m free 2m
unload

# 4. Each mechanism, free and dontneed.
for hook in ftrace kprobe; do
	load hook=$hook
	echo "LAZYFREE-BENCH-INFO $hook: $(cat $LF/hook)"
	track "$RUN"
	measure $hook-free.free.4k free 4k
	measure $hook-free.free.2m free 2m
	measure $hook-free.dontneed.4k dontneed 4k
	measure $hook-free.willneed.4k willneed 4k
	measure $hook-free.uffd-free.4k -u free 4k
	set_mode "$RUN" dontneed
	measure $hook-dontneed.free.4k free 4k
	measure $hook-dontneed.free.2m free 2m
	measure $hook-dontneed.reuse-free.64k -r free 64k
	unload
done

# 5. Scale: 1 vs 10,000 tracked cgroups; depth 1 vs 16 below the cgroup
#    whose explicit mode applies (every level is one more lookup).
load max_cgroups=16384
track "$RUN"
measure cgroups-1.free.4k free 4k
mkdir -p "$BENCH/many"
n=$(lfbench -m "$BENCH/many" 10000) || bench_fail "10,000 cgroups"
echo "LAZYFREE-BENCH-INFO tracked cgroups: $(ls $LF/cgroups | grep -c '^[0-9]')"
measure cgroups-10000.free.4k free 4k

mkdir -p "$BENCH/tree"
deep=$(lfbench -n "$BENCH/tree" 16) || bench_fail "depth 16"
track "$BENCH/tree"
set_mode "$BENCH/tree" free
measure depth-1.free.4k -c "$BENCH/tree/l1" free 4k
measure depth-16.free.4k -c "$deep" free 4k
unload

# 6. A real allocator: lfmacro, a fixed amount of jemalloc work that
#    purges lazily (MADV_FREE) or, with MALLOC_CONF=muzzy_decay_ms:0, at
#    the same points with MADV_DONTNEED; the process's CPU time in
#    instructions, the median of five runs, which purge alike (said if
#    they do not).
MACRO_ROUNDS=300
macro() {
	local name=$1 i out v calls pages alike=""
	shift
	for i in 1 2 3 4 5; do
		out=$(env "$@" lfmacro -c "$RUN" $MACRO_ROUNDS) ||
			{ bench_fail "$name: lfmacro"; return; }
		echo "$out"
	done >"/tmp/macro.$name"
	v=$(cut -d' ' -f1 "/tmp/macro.$name" | sort -n | sed -n 3p)
	read -r _ calls pages <"/tmp/macro.$name"
	[ "$(cut -d' ' -f2- "/tmp/macro.$name" | sort -u | wc -l)" = 1 ] ||
		alike=" (the first run's: the runs purged differently)"
	echo "LAZYFREE-BENCH macro.$name $v"
	echo "LAZYFREE-BENCH-INFO macro.$name: $MACRO_ROUNDS rounds, $calls purges, $pages pages purged$alike, runs: $(cut -d' ' -f1 "/tmp/macro.$name" | tr '\n' ' ')"
}

macro absent.lazy
macro absent.eager MALLOC_CONF=muzzy_decay_ms:0
for hook in ftrace kprobe; do
	load hook=$hook
	track "$RUN"
	macro $hook-free.lazy
	set_mode "$RUN" dontneed
	macro $hook-dontneed.lazy
	unload
done

bench_end
