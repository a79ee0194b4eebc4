# SPDX-License-Identifier: GPL-2.0
# lazyfree guest mode "demo": sourced by /init (busybox sh), booted by
# rig/demo.sh.  Runs the Go and jemalloc workloads side by side, one per
# cgroup, samples every cgroup's memory.current and its workload's
# LazyFree about every 100 ms, then reclaims the "free" cgroups.
#
# Lines the host reads (times are guest uptime in seconds):
#   LAZYFREE-DEMO-INFO <text>
#   LAZYFREE-DEMO-CGROUPS <cgroup>...          column order of the samples
#   LAZYFREE-DEMO-SAMPLE <t> <current> <lazyfree>...   bytes, per cgroup
#   LAZYFREE-DEMO-EVENT <t> <cgroup|-> <what>  grown, dropped, final,
#                                              reclaim, end
#   LAZYFREE-DEMO-SHOW <text>                  output to show the user
#   LAZYFREE-CHECK fail <what>                 a step that failed
#   LAZYFREE-RIG-END status=ok|fail
#
# Kernel command line: lazyfree_demo_mib=N (heap size, default 192),
# lazyfree_demo_idle=S (seconds between the last drop and the reclaim,
# default 4), lazyfree_demo_thp=always|madvise|never|keep (default never).

DEMO_MIB=192
DEMO_IDLE=4
DEMO_THP=never
for w in $(cat /proc/cmdline); do
	case $w in
	lazyfree_demo_mib=*) DEMO_MIB=${w#*=} ;;
	lazyfree_demo_idle=*) DEMO_IDLE=${w#*=} ;;
	lazyfree_demo_thp=*) DEMO_THP=${w#*=} ;;
	esac
done

KO=/lazyfree/lazyfree.ko
TMPD=/tmp/demo
mkdir -p $TMPD
demo_failures=0

# cgroup, mode, command: the whole demo in one table
DEMO_TABLE="go-free free env GODEBUG=madvdontneed=0 lfheap-go -mib $DEMO_MIB -idle 1h
go-dontneed dontneed env GODEBUG=madvdontneed=0 lfheap-go -mib $DEMO_MIB -idle 1h
go-baseline free env GODEBUG=madvdontneed=1 lfheap-go -mib $DEMO_MIB -idle 1h
je-free free lfheap-je $DEMO_MIB 3600
je-dontneed dontneed lfheap-je $DEMO_MIB 3600
je-baseline free env MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0 lfheap-je $DEMO_MIB 3600"
CGS=$(echo "$DEMO_TABLE" | awk '{ print $1 }')

demo_fail() {
	echo "LAZYFREE-CHECK fail demo: $*"
	kmsg "demo step failed: $*"
	demo_failures=$((demo_failures + 1))
}

uptime_now() {
	read -r UP _ </proc/uptime
}

event() {
	uptime_now
	echo "LAZYFREE-DEMO-EVENT $UP $1 $2"
}

# show CMD...: run a command, its output as LAZYFREE-DEMO-SHOW lines
show() {
	local out rc=0
	echo "LAZYFREE-DEMO-SHOW # $*"
	out=$("$@" 2>&1) || rc=$?
	echo "$out" | sed 's/^/LAZYFREE-DEMO-SHOW /'
	[ "$rc" = 0 ] || demo_fail "$* exited $rc"
}

# LazyFree of the workload in cgroup $1, in bytes, into LF
lazyfree_of() {
	local pid k v u
	LF=0
	[ -s "$TMPD/$1.pid" ] || return 0
	read -r pid <"$TMPD/$1.pid"
	while read -r k v u; do
		if [ "$k" = LazyFree: ]; then
			LF=$((v * 1024))
			return 0
		fi
	done <"/proc/$pid/smaps_rollup" 2>/dev/null
}

sampler() {
	local line cg cur
	while [ ! -e $TMPD/stop ]; do
		uptime_now
		line="LAZYFREE-DEMO-SAMPLE $UP"
		for cg in $CGS; do
			cur=0
			read -r cur <"$CGROUP_ROOT/$cg/memory.current"
			lazyfree_of "$cg"
			line="$line $cur $LF"
		done
		echo "$line"
		sleep 0.1
	done
}

# start CGROUP CMD...: CMD in CGROUP, stdout to TMPD/CGROUP.out
start() {
	local cg=$1
	shift
	sh -c 'echo $$ >"$1/cgroup.procs" && echo $$ >"$2" && shift 2 && exec "$@"' \
		sh "$CGROUP_ROOT/$cg" "$TMPD/$cg.pid" "$@" >"$TMPD/$cg.out" 2>&1 &
}

# Wait until every workload printed "dropped" (or died); one event each.
wait_dropped() {
	local left cg tries=0 step
	left=$CGS
	while [ -n "$left" ] && [ $tries -lt 1800 ]; do
		set -- $left
		left=
		for cg in "$@"; do
			for step in grown dropped; do
				if [ ! -e "$TMPD/$cg.$step" ] && grep -q "^$step" "$TMPD/$cg.out"; then
					: >"$TMPD/$cg.$step"
					event "$cg" "$step"
				fi
			done
			[ -e "$TMPD/$cg.dropped" ] && continue
			if [ -s "$TMPD/$cg.pid" ] && ! kill -0 "$(cat "$TMPD/$cg.pid")" 2>/dev/null; then
				demo_fail "$cg: workload died: $(cat "$TMPD/$cg.out")"
				continue
			fi
			left="$left $cg"
		done
		tries=$((tries + 1))
		sleep 0.1
	done
	[ -z "$left" ] || demo_fail "no drop within 180 s in:$left"
}

echo "LAZYFREE-DEMO-INFO kernel $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ { printf "%d MiB", $2 / 1024 }' /proc/meminfo), heap $DEMO_MIB MiB"
if [ "$DEMO_THP" != keep ]; then
	echo "$DEMO_THP" >/sys/kernel/mm/transparent_hugepage/enabled ||
		demo_fail "THP $DEMO_THP"
fi
echo "LAZYFREE-DEMO-INFO transparent huge pages: $(cat /sys/kernel/mm/transparent_hugepage/enabled)"

insmod $KO || demo_fail "insmod $KO"
echo "LAZYFREE-DEMO-INFO lazyfree: hook $(cat /sys/kernel/lazyfree/hook), hierarchy $(cat /sys/kernel/lazyfree/hierarchy)"

while read -r cg mode cmd; do
	mkdir -p "$CGROUP_ROOT/$cg" || demo_fail "mkdir $cg"
	lazyfreectl set "$cg" "$mode" || demo_fail "lazyfreectl set $cg $mode"
	echo "LAZYFREE-DEMO-INFO $cg: mode $mode: $cmd"
done <<TABLE
$DEMO_TABLE
TABLE
show lazyfreectl list

echo "LAZYFREE-DEMO-CGROUPS" $CGS
sampler &
SAMPLER=$!
# Six busy workloads share two vCPUs: keep the sampler on time.
renice -n -10 -p $SAMPLER >/dev/null || true
sleep 0.3
event - start
while read -r cg mode cmd; do
	# shellcheck disable=SC2086
	start "$cg" $cmd
done <<TABLE
$DEMO_TABLE
TABLE
wait_dropped
sleep "$DEMO_IDLE"

event - final
show lazyfreectl list -o +LAZYFREE
for cg in $CGS; do
	case $cg in
	*-free)
		event "$cg" reclaim
		show lazyfreectl reclaim "$cg"
		;;
	esac
done
sleep 1.5
event - end
show lazyfreectl list -o +LAZYFREE

: >$TMPD/stop
wait $SAMPLER
for cg in $CGS; do
	[ -s "$TMPD/$cg.pid" ] && kill "$(cat "$TMPD/$cg.pid")" 2>/dev/null
done
wait
show lazyfreectl status
rmmod lazyfree || demo_fail "rmmod lazyfree"

echo "LAZYFREE-DMESG-BEGIN"
dmesg
echo "LAZYFREE-DMESG-END"
if [ "$demo_failures" = 0 ]; then
	echo "LAZYFREE-RIG-END status=ok"
else
	echo "LAZYFREE-RIG-END status=fail demo_failures=$demo_failures"
fi
