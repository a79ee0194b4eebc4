# SPDX-License-Identifier: GPL-2.0
# Helpers for the guest modes of `make bench` (bench.sh, tlb.sh): sourced
# by them, after /init has mounted cgroups (CGROUP_ROOT).

KO=/lazyfree/lazyfree.ko
LF=/sys/kernel/lazyfree
ITERS=201
for w in $(cat /proc/cmdline); do
	case $w in
	lazyfree_bench_iters=*) ITERS=${w#*=} ;;
	esac
done

BENCH=$CGROUP_ROOT/bench
RUN=$BENCH/run
mkdir -p "$RUN"
bench_failures=0

bench_fail() {
	echo "LAZYFREE-CHECK fail bench: $*"
	bench_failures=$((bench_failures + 1))
}

id_of() { stat -c %i "$1"; }

load() {
	insmod "$KO" "$@" || bench_fail "insmod $*"
}

unload() {
	rmmod lazyfree || bench_fail "rmmod"
}

track() {
	echo "$(id_of "$1")" >$LF/cgroups/add || bench_fail "track $1"
}

set_mode() {
	echo "$2" >"$LF/cgroups/$(id_of "$1")/mode" || bench_fail "mode $2 on $1"
}

# The kernel log and the end line /init and rig/bench.sh wait for.
bench_end() {
	echo "LAZYFREE-DMESG-BEGIN"
	dmesg
	echo "LAZYFREE-DMESG-END"
	if [ "$bench_failures" = 0 ]; then
		echo "LAZYFREE-RIG-END status=ok"
	else
		echo "LAZYFREE-RIG-END status=fail bench_failures=$bench_failures"
	fi
}
