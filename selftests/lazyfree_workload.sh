#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Real workloads in the guest (busybox ash): the demo's programs, the Go
# runtime (GODEBUG=madvdontneed=0, Go 1.12-1.15 behaviour) and jemalloc
# (lazy purging), return a dropped heap with MADV_FREE.  Asserts what
# `make demo` shows:
#   - in a `free` cgroup the dropped heap stays charged (memory.current);
#   - in a `dontneed` cgroup memory.current ends where the same program
#     ends when it returns memory with MADV_DONTNEED itself (Go:
#     madvdontneed=1; jemalloc: dirty_decay_ms:0,muzzy_decay_ms:0), within
#     5% of the heap;
#   - `lazyfreectl reclaim` on the `free` cgroup gives it back (cgroup v2
#     with memory.reclaim only: skipped elsewhere).
#
# Environment (set by the rig): CGROUP_ROOT, LAZYFREE_LANE, LAZYFREECTL;
# the module is loaded.  The programs, lfheap-go and lfheap-je (demo/,
# `make -C demo OUT=<dir>`), are looked up on PATH, then in LFHEAP_DIR.
# Transparent huge pages are turned off for the run and restored (a
# partly covered huge page stays charged after either advice, which
# blurs the comparison).  Prints kselftest TAP; exit 1 on failure.

R=${CGROUP_ROOT:-/sys/fs/cgroup}
LANE=${LAZYFREE_LANE:-v2}
T=${LAZYFREECTL:-lazyfreectl}
SYS=/sys/kernel/lazyfree
THP=/sys/kernel/mm/transparent_hugepage/enabled
MIB=${LFHEAP_MIB:-96}
B=$R/lf_workload.$$
TMP=${TMPDIR:-/tmp}/lf_workload.$$
[ -n "$LFHEAP_DIR" ] && PATH=$PATH:$LFHEAP_DIR

pids=""
thp_saved=""
enabled_saved=""

. "$(dirname "$0")/lf_ktap.sh"

NAMES="go: free cgroup keeps the dropped heap charged
go: dontneed cgroup ends within 5% of the heap of the DONTNEED baseline
je: free cgroup keeps the dropped heap charged
je: dontneed cgroup ends within 5% of the heap of the DONTNEED baseline
go: lazyfreectl reclaim gives the free cgroup's heap back
je: lazyfreectl reclaim gives the free cgroup's heap back"

skip_all() {
	while [ $n -lt $NTESTS ]; do
		skip "$(echo "$NAMES" | sed -n "$((n + 1))p")" "$1"
	done
	totals
}

cleanup() {
	local p cg
	for p in $pids; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	for cg in go-free go-dontneed go-baseline je-free je-dontneed je-baseline; do
		[ -d "$B/$cg" ] && rmdir "$B/$cg"
	done
	[ -d "$B" ] && rmdir "$B"
	[ -n "$thp_saved" ] && echo "$thp_saved" >$THP
	[ -n "$enabled_saved" ] && echo "$enabled_saved" >$SYS/enabled
	rm -rf "$TMP"
}

ktap_plan 6

[ -d $SYS ] || skip_all "lazyfree is not loaded"
for p in lfheap-go lfheap-je; do
	command -v $p >/dev/null ||
		skip_all "$p not found (make -C demo OUT=<dir>; the rig puts the selftests' OUT/bin on PATH)"
done
if [ -e "$R/memory.current" ] || [ "$LANE" = v2 ]; then
	CUR=memory.current
else
	CUR=memory.usage_in_bytes
fi

trap cleanup EXIT
mkdir -p "$TMP" "$B" || skip_all "cannot create $B"
if [ "$LANE" = v2 ]; then
	echo +memory >"$B/cgroup.subtree_control" ||
		skip_all "cannot enable the memory controller in $B"
fi
if [ -w $THP ]; then
	thp_saved=$(sed 's/.*\[\(.*\)\].*/\1/' $THP)
	echo never >$THP
fi
if [ "$(cat $SYS/enabled)" != 1 ]; then
	enabled_saved=$(cat $SYS/enabled)
	echo 1 >$SYS/enabled
fi

# track CGROUP MODE: create the cgroup and set its lazyfree mode
track() {
	local dir=$B/$1 id
	mkdir "$dir" || return 1
	id=$(stat -c %i "$dir")
	echo "$id" >$SYS/cgroups/add 2>/dev/null || [ -d "$SYS/cgroups/$id" ] || return 1
	echo "$2" >"$SYS/cgroups/$id/mode"
}

# start CGROUP CMD...: CMD in CGROUP, its stdout in TMP/CGROUP
start() {
	local cg=$1
	shift
	sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$B/$cg" "$@" \
		>"$TMP/$cg" 2>&1 &
	pids="$pids $!"
}

mib_of() {
	local v
	read -r v <"$B/$1/$CUR"
	echo $((v / 1048576))
}

while read -r cg mode cmd; do
	track "$cg" "$mode" || skip_all "cannot create and track $B/$cg (mode $mode)"
	# shellcheck disable=SC2086
	start "$cg" $cmd
done <<EOF
go-free free env GODEBUG=madvdontneed=0 lfheap-go -mib $MIB -idle 5m
go-dontneed dontneed env GODEBUG=madvdontneed=0 lfheap-go -mib $MIB -idle 5m
go-baseline free env GODEBUG=madvdontneed=1 lfheap-go -mib $MIB -idle 5m
je-free free lfheap-je $MIB 300
je-dontneed dontneed lfheap-je $MIB 300
je-baseline free env MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0 lfheap-je $MIB 300
EOF

# Every program prints "dropped" once it returned its heap.
i=0
while [ $i -lt 400 ]; do
	left=0
	for cg in go-free go-dontneed go-baseline je-free je-dontneed je-baseline; do
		grep -q '^dropped' "$TMP/$cg" || left=$((left + 1))
	done
	[ $left = 0 ] && break
	sleep 0.1
	i=$((i + 1))
done
sleep 1

for cg in go-free go-dontneed go-baseline je-free je-dontneed je-baseline; do
	mib_of $cg >"$TMP/$cg.mib"
	echo "# $cg: $CUR $(cat "$TMP/$cg.mib") MiB after the drop: $(tr '\n' ' ' <"$TMP/$cg")"
done
# dropped_mib CGROUP: its memory after the drop, in MiB
dropped_mib() { cat "$TMP/$1.mib"; }

tol=$((MIB * 5 / 100))
for rt in go je; do
	free=$(dropped_mib $rt-free)
	dontneed=$(dropped_mib $rt-dontneed)
	base=$(dropped_mib $rt-baseline)
	if [ "$left" != 0 ]; then
		not_ok "$rt: free cgroup keeps the dropped heap charged (not every program dropped its heap in 40 s)"
		not_ok "$rt: dontneed cgroup ends within 5% of the heap of the DONTNEED baseline (not every program dropped its heap in 40 s)"
		continue
	fi
	if [ "$free" -ge $((MIB * 9 / 10)) ]; then
		ok "$rt: free cgroup keeps the dropped heap charged ($free MiB, heap $MIB)"
	else
		not_ok "$rt: free cgroup keeps the dropped heap charged ($free MiB, heap $MIB, want >= 90%)"
	fi
	d=$((dontneed - base))
	[ $d -lt 0 ] && d=$((-d))
	if [ $d -le $tol ]; then
		ok "$rt: dontneed cgroup ends within 5% of the heap of the DONTNEED baseline ($dontneed vs $base MiB)"
	else
		not_ok "$rt: dontneed cgroup ends within 5% of the heap of the DONTNEED baseline ($dontneed vs $base MiB, tolerance $tol)"
	fi
done

for rt in go je; do
	free=$(dropped_mib $rt-free)
	base=$(dropped_mib $rt-baseline)
	name="$rt: lazyfreectl reclaim gives the free cgroup's heap back"
	if [ "$LANE" != v2 ]; then
		skip "$name" "cgroup v1 has no memory.reclaim"
		continue
	fi
	if [ ! -e "$B/$rt-free/memory.reclaim" ]; then
		skip "$name" "no memory.reclaim (kernel before 5.19)"
		continue
	fi
	out=$("$T" reclaim "$B/$rt-free" 2>&1)
	rc=$?
	after=$(mib_of $rt-free)
	echo "# $out"
	if [ $rc = 0 ] && [ "$after" -le $((base + tol)) ]; then
		ok "$name ($free -> $after MiB, baseline $base)"
	else
		not_ok "$name ($free -> $after MiB, baseline $base, rc $rc)"
	fi
done

totals
