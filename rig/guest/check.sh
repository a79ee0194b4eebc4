# SPDX-License-Identifier: GPL-2.0
# lazyfree guest mode "check": sourced by /init (busybox sh).
#
# For each hook mechanism: insmod, run every executable in /lazyfree/tests
# in lexical order, rmmod.  Lines the host parses (rig/scan.sh):
#   LAZYFREE-CHECK ok|fail <what>          a rig check (insmod, rmmod, ...)
#   LAZYFREE-TEST-BEGIN hook=H name=N      then the test's own TAP output
#   LAZYFREE-TEST-END hook=H name=N rc=R secs=S [timeout]
#   LAZYFREE-RIG-END status=ok|fail        last line; missing = guest died
#
# Kernel command line words: lazyfree_hooks=ftrace,kprobe
# lazyfree_tests=GLOB  lazyfree_test_timeout=SECONDS
# lazyfree_env=NAME=VALUE (any number: exported to the tests)

KO=/lazyfree/lazyfree.ko
HOOK_LIST=ftrace,kprobe
TEST_GLOB='*'
TEST_TIMEOUT=300
set -f	# no globbing of command line words
for w in $(cat /proc/cmdline); do
	case $w in
	lazyfree_hooks=*) HOOK_LIST=${w#*=} ;;
	lazyfree_tests=*) TEST_GLOB=${w#*=} ;;
	lazyfree_test_timeout=*) TEST_TIMEOUT=${w#*=} ;;
	lazyfree_env=*=*) export "${w#lazyfree_env=}" ;;
	esac
done
set +f

# The full-size loops (LAZYFREE_THOROUGH=1) get 600 s a test: 100
# reloads under fire take ~310 s on PREEMPT_RT under TCG.
if [ "${LAZYFREE_THOROUGH:-0}" = 1 ] && [ "$TEST_TIMEOUT" -lt 600 ]; then
	TEST_TIMEOUT=600
fi

export LAZYFREE_KO=$KO
# the livepatch of the hooked function (lazyfree_livepatch), if built
export LAZYFREE_LIVEPATCH_KO=/lazyfree/lf_livepatch.ko
export LAZYFREECTL=/lazyfree/bin/lazyfreectl
export LAZYFREE_TESTS_DIR=/lazyfree/tests

rig_failures=0
check_ok() { echo "LAZYFREE-CHECK ok $*"; }
check_fail() {
	echo "LAZYFREE-CHECK fail $*"
	kmsg "check failed: $*"
	rig_failures=$((rig_failures + 1))
}

module_loaded() { grep -q '^lazyfree ' /proc/modules; }
module_hook() { cat /sys/module/lazyfree/parameters/hook 2>/dev/null || true; }

# insmod with hook=<mech>; prints the error and counts a failure.
load_module() {
	local hook=$1 out
	if out=$(insmod "$KO" "hook=$hook" 2>&1); then
		check_ok "insmod hook=$hook"
		return 0
	fi
	echo "insmod $KO hook=$hook: $out"
	check_fail "insmod hook=$hook: $out"
	return 1
}

unload_module() {
	local hook=$1 out
	if out=$(rmmod lazyfree 2>&1); then
		check_ok "rmmod hook=$hook"
	else
		echo "rmmod lazyfree: $out"
		check_fail "rmmod hook=$hook: $out"
	fi
}

# After each test the module must still be loaded with the same hook.
check_module_after() {
	local hook=$1 name=$2 want=$3 have
	if ! module_loaded; then
		check_fail "module state after $name (hook=$hook): lazyfree not loaded; reloading"
		load_module "$hook" >/dev/null || true
		return
	fi
	have=$(module_hook)
	if [ "$have" != "$want" ]; then
		check_fail "module state after $name (hook=$hook): hook parameter is '$have', was '$want'"
	fi
}

run_test() {
	local hook=$1 t=$2 name start end rc to=""
	name=${t##*/}
	echo "LAZYFREE-TEST-BEGIN hook=$hook name=$name"
	kmsg "test $name (hook $hook) begins"
	start=$(date +%s)
	(cd /lazyfree/tests && exec timeout -s KILL "$TEST_TIMEOUT" "$t")
	rc=$?
	end=$(date +%s)
	if [ "$rc" = 137 ] && [ $((end - start)) -ge "$TEST_TIMEOUT" ]; then
		to=" timeout"
	fi
	echo "LAZYFREE-TEST-END hook=$hook name=$name rc=$rc secs=$((end - start))$to"
	kmsg "test $name (hook $hook) ends rc=$rc$to"
}

run_hook() {
	local hook=$1 t want
	export LAZYFREE_HOOK=$hook
	echo "LAZYFREE-HOOK-BEGIN hook=$hook"
	kmsg "hook $hook: insmod"
	load_module "$hook" || return 0
	want=$(module_hook)
	for t in /lazyfree/tests/*; do
		[ -f "$t" ] && [ -x "$t" ] || continue
		case ${t##*/} in
		$TEST_GLOB) ;;
		*) continue ;;
		esac
		run_test "$hook" "$t"
		check_module_after "$hook" "${t##*/}" "$want"
	done
	kmsg "hook $hook: rmmod"
	unload_module "$hook"
}

# Debug kernels (make check-debug): kmemleak and lockdep verdicts for
# the whole boot, taken after the last rmmod.  A kernel without them
# (Debian's) prints nothing here.
KMEMLEAK=/sys/kernel/debug/kmemleak

# kmemleak_scan: objects that had nothing pointing at them for long
# enough.  kmemleak ignores objects younger than 5 s and may need a
# second scan to see one unreferenced.
kmemleak_scan() {
	sleep 6
	echo scan >"$KMEMLEAK" && echo scan >"$KMEMLEAK" || return 1
	grep -c '^unreferenced object' "$KMEMLEAK" || true
}

# Before the first insmod: leaks suspected now are the kernel's own
# (boot-time allocations kmemleak cannot follow): scan, then forget them.
# Then the control: lf_leakprobe.ko leaks one object on purpose, and the
# same scan after its unload must find it, or a clean verdict later
# proves nothing.
kmemleak_baseline() {
	local n
	[ -w "$KMEMLEAK" ] || return 0
	kmsg "kmemleak: baseline scan"
	echo scan >"$KMEMLEAK" && echo clear >"$KMEMLEAK" ||
		{ check_fail "kmemleak: baseline scan and clear"; return; }
	if ! insmod /lazyfree/lf_leakprobe.ko || ! rmmod lf_leakprobe; then
		check_fail "kmemleak: control: insmod/rmmod /lazyfree/lf_leakprobe.ko"
		return
	fi
	kmsg "kmemleak: control scan"
	n=$(kmemleak_scan)
	if [ "${n:-0}" -ge 1 ]; then
		check_ok "kmemleak: control: the scan found the leak lf_leakprobe.ko planted"
	else
		check_fail "kmemleak: control: the scan missed the leak lf_leakprobe.ko planted"
	fi
	echo clear >"$KMEMLEAK"
}

# After the module is gone its leaks have nothing left pointing at them:
# every suspect now is a failure.
kmemleak_verdict() {
	local n
	[ -w "$KMEMLEAK" ] || return 0
	kmsg "kmemleak: scan after unload"
	if ! n=$(kmemleak_scan); then
		check_fail "kmemleak: after unload: the scan failed"
	elif [ "$n" = 0 ]; then
		check_ok "kmemleak: after unload: 0 suspected leaks"
	else
		cat "$KMEMLEAK"
		check_fail "kmemleak: after unload: $n suspected leaks"
	fi
}

# Lockdep turns itself off (debug_locks 0) at its first report of any
# kind, and when a taint makes it unreliable (a KASAN report, an oops);
# the report itself is on the console for the host's scanner.
lockdep_verdict() {
	local v
	[ -r /proc/lockdep_stats ] || return 0
	v=$(awk '$1 == "debug_locks:" { print $2 }' /proc/lockdep_stats)
	if [ "$v" = 1 ]; then
		check_ok "lockdep: still on after every test (debug_locks 1: no report)"
	else
		check_fail "lockdep: debug_locks is '$v': lock debugging was switched off by a report (console log)"
	fi
}

kmemleak_baseline
for hook in $(echo "$HOOK_LIST" | tr ',' ' '); do
	run_hook "$hook"
done
kmemleak_verdict
lockdep_verdict

echo "LAZYFREE-DMESG-BEGIN"
dmesg
echo "LAZYFREE-DMESG-END"
if [ "$rig_failures" = 0 ]; then
	echo "LAZYFREE-RIG-END status=ok"
else
	echo "LAZYFREE-RIG-END status=fail rig_failures=$rig_failures"
fi
kmsg "guest done"
