# SPDX-License-Identifier: GPL-2.0
# lazyfree guest mode "peer": sourced by /init (busybox sh), booted by
# rig/peer.sh.  Runs the kernel's own mm selftests (linux-source-6.12,
# tools/testing/selftests/mm, built statically on the host) listed in
# /lazyfree/peer/tests.list, one pass per boot:
#   base      no module loaded
#   dontneed  insmod lazyfree.ko default_mode=dontneed first (every
#             cgroup, the root included, then drops MADV_FREE memory at once)
#
# Lines the host reads:
#   LAZYFREE-PEER-INFO <text>
#   LAZYFREE-PEER-PROBE <kept|zeroed|error...>   MADV_FREE'd data, read back
#   LAZYFREE-PEER-BEGIN <command>
#   | <line>                                      the test's output
#   LAZYFREE-PEER-END rc=<exit> secs=<n> [timeout]
#   LAZYFREE-CHECK ok|fail <what>
#   LAZYFREE-RIG-END status=ok|fail
#
# Kernel command line: lazyfree_peer_pass=base|dontneed,
# lazyfree_peer_tests=GLOB (a shell pattern matched against each command),
# lazyfree_peer_long=1 (the "long" lines of tests.list too).

PEER_DIR=/lazyfree/peer
PEER_PASS=base
PEER_TESTS='*'
PEER_LONG=0
set -f
for w in $(cat /proc/cmdline); do
	case $w in
	lazyfree_peer_pass=*) PEER_PASS=${w#*=} ;;
	lazyfree_peer_tests=*) PEER_TESTS=${w#*=} ;;
	lazyfree_peer_long=*) PEER_LONG=${w#*=} ;;
	esac
done
set +f

peer_failures=0
peer_ok() { echo "LAZYFREE-CHECK ok $*"; }
peer_fail() {
	echo "LAZYFREE-CHECK fail $*"
	kmsg "peer: check failed: $*"
	peer_failures=$((peer_failures + 1))
}

echo "LAZYFREE-PEER-INFO pass $PEER_PASS, kernel $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ { printf "%d MiB", $2 / 1024 }' /proc/meminfo), THP $(cat /sys/kernel/mm/transparent_hugepage/enabled)"

# What the tests expect around them (run_vmtests.sh and the tests' own
# notes): root, /boot/config-<release> for va_high_addr_switch.sh,
# a shared /tmp; per test, the settings of its tests.list line.
mkdir -p /boot
[ -f $PEER_DIR/kconfig.gz ] && cp $PEER_DIR/kconfig.gz "/boot/config-$(uname -r)"
# No address-space randomisation: both passes lay out memory alike
# (mremap_test maps at fixed addresses that a randomly placed mapping can
# occupy: "Failed to map dest preamble region: File exists").
echo 0 >/proc/sys/kernel/randomize_va_space
# Writable by the unprivileged user on-fault-limit runs as.
chmod 1777 /tmp

HUGEPAGES=128
# As run_vmtests.sh: drop caches and compact first, so that the pool's
# size does not depend on how fragmented the tests before left memory;
# a pool that still falls short is said (the comparison would show it).
set_hugepages() {
	local have
	echo 3 >/proc/sys/vm/drop_caches
	echo 1 >/proc/sys/vm/compact_memory 2>/dev/null
	echo "$1" >/proc/sys/vm/nr_hugepages
	have=$(cat /proc/sys/vm/nr_hugepages)
	[ "$have" = "$1" ] || echo "LAZYFREE-PEER-INFO huge pages: asked for $1, have $have"
}
set_hugepages $HUGEPAGES
echo "LAZYFREE-PEER-INFO huge pages: $(awk '/HugePages_Total/ { print $2 }' /proc/meminfo) of $(awk '/Hugepagesize/ { print $2 $3 }' /proc/meminfo)"

if [ "$PEER_PASS" = dontneed ]; then
	if out=$(insmod /lazyfree/lazyfree.ko default_mode=dontneed 2>&1); then
		peer_ok "insmod lazyfree.ko default_mode=dontneed"
	else
		peer_fail "insmod lazyfree.ko default_mode=dontneed: $out"
	fi
	m=$(cat /sys/kernel/lazyfree/default_mode 2>&1)
	[ "$m" = dontneed ] || peer_fail "default_mode reads '$m', not dontneed"
	echo "LAZYFREE-PEER-INFO lazyfree: hook $(cat /sys/kernel/lazyfree/hook 2>&1), default_mode $m, enabled $(cat /sys/kernel/lazyfree/enabled 2>&1)"
fi

# The module really rewrites here (and not in the base pass): data a
# page held before MADV_FREE, read right after it.
probe() {
	local r
	r=$($PEER_DIR/lfprobe 2>&1) || r="error $r"
	echo "LAZYFREE-PEER-PROBE $1 $r"
}
probe before

cd $PEER_DIR || peer_fail "cd $PEER_DIR"
uptime_s() { read -r UP _ </proc/uptime; echo "${UP%.*}"; }
OVERCOMMIT=$(cat /proc/sys/vm/overcommit_memory)
# apply SETTINGS: "-" (defaults) or NAME=VALUE,... of tests.list
apply() {
	local hp=$HUGEPAGES oc=$OVERCOMMIT kv
	for kv in $(echo "$1" | tr , ' '); do
		case $kv in
		hugepages=*) hp=${kv#*=} ;;
		overcommit=*) oc=${kv#*=} ;;
		-) ;;
		*) peer_fail "tests.list: unknown setting '$kv'" ;;
		esac
	done
	set_hugepages "$hp"
	echo "$oc" >/proc/sys/vm/overcommit_memory
}
while read -r kind tmo settings cmd; do
	case $kind:$PEER_LONG in
	run:* | long:1) ;;
	*) continue ;;
	esac
	# shellcheck disable=SC2254
	case $cmd in $PEER_TESTS) ;; *) continue ;; esac
	apply "$settings"
	echo "LAZYFREE-PEER-BEGIN $cmd"
	kmsg "peer: $PEER_PASS: $cmd"
	t0=$(uptime_s)
	rc=0
	# shellcheck disable=SC2086
	timeout -s KILL "$tmo" $cmd </dev/null >/tmp/peer.out 2>&1 || rc=$?
	t1=$(uptime_s)
	sed 's/^/| /' /tmp/peer.out
	to=
	[ "$rc" = 137 ] && [ $((t1 - t0)) -ge "$tmo" ] && to=" timeout"
	echo "LAZYFREE-PEER-END rc=$rc secs=$((t1 - t0))$to"
done <$PEER_DIR/tests.list
set_hugepages 0

probe after
if [ "$PEER_PASS" = dontneed ]; then
	echo "LAZYFREE-PEER-INFO lazyfree after the suite: rewritten_bytes $(cat /sys/kernel/lazyfree/rewritten_bytes 2>&1), free_bytes $(cat /sys/kernel/lazyfree/free_bytes 2>&1), default_mode $(cat /sys/kernel/lazyfree/default_mode 2>&1)"
	if out=$(rmmod lazyfree 2>&1); then
		peer_ok "rmmod lazyfree"
	else
		peer_fail "rmmod lazyfree: $out"
	fi
fi

echo "LAZYFREE-DMESG-BEGIN"
dmesg
echo "LAZYFREE-DMESG-END"
if [ "$peer_failures" = 0 ]; then
	echo "LAZYFREE-RIG-END status=ok"
else
	echo "LAZYFREE-RIG-END status=fail peer_failures=$peer_failures"
fi
