# SPDX-License-Identifier: GPL-2.0
# lazyfree guest mode "install": sourced by the rig's /init (busybox sh),
# booted by packaging/vm-check.sh.
#
# The initramfs holds a `make install DESTDIR=` tree (module under
# /lib/modules/<rel>/extra with depmod run, /usr/local/sbin/lazyfreectl,
# /etc/systemd/system/lazyfree.service, /etc/lazyfree.conf,
# /etc/modprobe.d/lazyfree.conf) and kmod's modprobe as /sbin/modprobe.
# This script does what systemd would: runs the unit's ExecStart= lines
# in order, then its ExecReload=, then rounds of lazyfree-apply.timer
# (lazyfree-apply.service's ExecStart=) around a cgroup created late and a
# module reload, and checks that the node ends up with the configured
# policy.  Prints TAP, then LAZYFREE-RIG-END.

UNIT=/etc/systemd/system/lazyfree.service
ROUND_UNIT=/etc/systemd/system/lazyfree-apply.service
n=0
failed=0
t_ok() { n=$((n + 1)); echo "ok $n - $*"; }
t_fail() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
# t WHAT COMMAND...: ok when COMMAND succeeds
t() {
	local what=$1
	shift
	if "$@"; then t_ok "$what"; else t_fail "$what"; fi
}

# unit_lines KEY [UNIT]: the command lines of KEY= in the unit, in order
unit_lines() { sed -n "s/^$1=//p" "${2:-$UNIT}"; }

# round: what lazyfree-apply.timer starts every 30 seconds
round() {
	local cmd rc=0
	cmd=$(unit_lines ExecStart "$ROUND_UNIT")
	echo "# timer round: $cmd"
	[ -n "$cmd" ] || return 1
	$cmd >/tmp/round-out 2>&1 || rc=$?
	sed 's/^/#   /' /tmp/round-out
	return "$rc"
}

# run_line KEY N: run the Nth KEY= command line only
run_line() {
	local cmd rc=0
	cmd=$(unit_lines "$1" | sed -n "$2p")
	echo "# $1 #$2: $cmd"
	[ -n "$cmd" ] || return 1
	$cmd >/tmp/unit-out 2>&1 || rc=$?
	sed 's/^/#   /' /tmp/unit-out
	return "$rc"
}

# run_lines KEY: run each KEY= command as systemd does for a oneshot
# service (in order, stop at the first failure); output to the log.
run_lines() {
	local cmd rc
	unit_lines "$1" >/tmp/unit-cmds
	while read -r cmd; do
		echo "# $1: $cmd"
		rc=0
		$cmd >/tmp/unit-out 2>&1 || rc=$?
		sed 's/^/#   /' /tmp/unit-out
		[ "$rc" = 0 ] || { echo "# exit $rc"; return 1; }
	done </tmp/unit-cmds
}

# mode_of CGROUP: its MODE column in `lazyfreectl list`
mode_of() {
	/usr/local/sbin/lazyfreectl list -r -n -o PATH,MODE | awk -v p="/$1" '$1 == p { print $2 }'
}
param() { cat "/sys/module/lazyfree/parameters/$1" 2>/dev/null; }
sysattr() { cat "/sys/kernel/lazyfree/$1" 2>/dev/null; }
expect() {
	local what=$1 want=$2 have=$3
	if [ "$have" = "$want" ]; then t_ok "$what: $have"; else
		echo "# $what: '$have', want '$want'"; t_fail "$what"; fi
}

start=$(date +%s)
echo "LAZYFREE-TEST-BEGIN hook=auto name=install"
echo "TAP version 13"
t "the installed unit is there" test -f "$UNIT"
t "ConditionPathExists= file is there" test -f "$(sed -n 's/^ConditionPathExists=//p' "$UNIT")"
# where the install put the module: make install's extra/, or (vm-check's
# packaged run) DKMS's updates/dkms/
modpath=$(cat /lazyfree/rig/module-path 2>/dev/null || echo extra/module/lazyfree.ko)
t "modules.dep lists the installed module ($modpath)" grep -q "$modpath" "/lib/modules/$(uname -r)/modules.dep"
t "lazyfree not loaded before the unit runs" sh -c '! grep -q "^lazyfree " /proc/modules'

# The operator's configuration: a module option changed in modprobe.d,
# cgroups that exist when the unit starts (as slices do), and a policy.
sed -i 's/max_cgroups=4096/max_cgroups=100/; s/default_mode=free/default_mode=dontneed/' \
	/etc/modprobe.d/lazyfree.conf
mkdir -p "$CGROUP_ROOT/batch.slice" "$CGROUP_ROOT/web.slice" "$CGROUP_ROOT/web.slice/app"
cat >/etc/lazyfree.conf <<EOF
# test policy
default free
batch.slice      free
web.slice        dontneed   # pods that hold RSS
EOF

# systemctl start lazyfree: modprobe, then apply (checked in between)
t "the unit has two ExecStart= lines" test "$(unit_lines ExecStart | wc -l)" = 2
t "ExecStart= #1 (modprobe) succeeds" run_line ExecStart 1
expect "module options from /etc/modprobe.d: max_cgroups" 100 "$(param max_cgroups)"
expect "module options from /etc/modprobe.d: default_mode" dontneed "$(sysattr default_mode)"
t "ExecStart= #2 (apply) succeeds" run_line ExecStart 2
expect "policy default (the file overrides the option)" free "$(sysattr default_mode)"
expect "batch.slice mode" free "$(mode_of batch.slice)"
expect "web.slice mode" dontneed "$(mode_of web.slice)"

# the operator's first look, with the unit's lazyfreectl
tool=$(unit_lines ExecStart | sed -n '2s/ .*//p')
rc=0
"$tool" status >/tmp/status-out 2>&1 || rc=$?
sed 's/^/#   /' /tmp/status-out
t "$tool status succeeds" test "$rc" = 0
expect "status: enabled" yes "$(sed -n 's/^enabled: *//p' /tmp/status-out)"
expect "status: default mode" free "$(sed -n 's/^default mode: *//p' /tmp/status-out)"

# systemctl restart: the same again changes nothing and succeeds
run_lines ExecStart >/tmp/restart.log 2>&1
rc=$?
t "ExecStart= again (restart) succeeds" test "$rc" = 0
t "restart: apply prints no change" sh -c "! grep -q -- '->' /tmp/restart.log"

# systemctl reload after an edit: the file is the whole policy (--prune)
cat >/etc/lazyfree.conf <<EOF
default dontneed
web.slice free
EOF
t "ExecReload= succeeds" run_lines ExecReload
expect "reload: default" dontneed "$(sysattr default_mode)"
expect "reload: web.slice" free "$(mode_of web.slice)"
expect "reload: batch.slice (not in the file any more: pruned)" inherit "$(mode_of batch.slice)"

# A slice created after the unit ran (kubelet's): an optional line and a
# pattern are skipped while it is missing; the next timer round sets it.
cat >/etc/lazyfree.conf <<EOF
default dontneed
web.slice free
late.slice dontneed optional
late*.slice/pod* free
EOF
t "the timer's unit runs one command" test "$(unit_lines ExecStart "$ROUND_UNIT" | wc -l)" = 1
t "round with late.slice missing succeeds" round
t "round reported the missing optional line" grep -q "late.slice): optional line, skipped" /tmp/round-out
mkdir -p "$CGROUP_ROOT/late.slice/pod1"
t "round after late.slice appeared succeeds" round
expect "late.slice set by the round" dontneed "$(mode_of late.slice)"
expect "late.slice/pod1 set by the pattern" free "$(mode_of late.slice/pod1)"

# An upgrade: modprobe -r and modprobe drop every mode; metrics say so at
# once (lazyfree_up 0), and the next round puts the policy back.
t "modprobe -r lazyfree (upgrade: old module out)" /sbin/modprobe -r lazyfree
/usr/local/sbin/lazyfreectl metrics >/tmp/metrics-down 2>/tmp/metrics-down.err
t "metrics without the module: exit 0, lazyfree_up 0" grep -qx 'lazyfree_up 0' /tmp/metrics-down
t "metrics without the module: nothing but up and build_info" \
	test "$(grep -v '^#' /tmp/metrics-down | grep -cv '^lazyfree_\(up\|build_info\)')" = 0
t "modprobe lazyfree (upgrade: new module in)" /sbin/modprobe lazyfree
expect "after the reload: web.slice untracked" "" "$(mode_of web.slice)"
expect "after the reload: the load-time default" dontneed "$(sysattr default_mode)"
/usr/local/sbin/lazyfreectl metrics >/tmp/metrics-up 2>&1
t "metrics with the module back: lazyfree_up 1" grep -qx 'lazyfree_up 1' /tmp/metrics-up
t "round after the reload succeeds" round
expect "round restored web.slice" free "$(mode_of web.slice)"
expect "round restored late.slice" dontneed "$(mode_of late.slice)"
expect "round restored late.slice/pod1" free "$(mode_of late.slice/pod1)"
rmdir "$CGROUP_ROOT/late.slice/pod1" "$CGROUP_ROOT/late.slice"

# A policy naming a missing cgroup fails the reload and changes nothing.
printf 'default free\nno-such.slice dontneed\n' >/etc/lazyfree.conf
if run_lines ExecReload >/tmp/bad.log 2>&1; then t_fail "reload of a bad policy fails"; else
	t_ok "reload of a bad policy fails"; fi
sed 's/^/# /' /tmp/bad.log
expect "bad policy: nothing changed (default)" dontneed "$(sysattr default_mode)"

t "modprobe -r lazyfree (kmod) unloads" /sbin/modprobe -r lazyfree
rmdir "$CGROUP_ROOT/web.slice/app" "$CGROUP_ROOT/web.slice" "$CGROUP_ROOT/batch.slice" 2>/dev/null

echo "1..$n"
echo "LAZYFREE-TEST-END hook=auto name=install rc=$((failed > 0)) secs=$(($(date +%s) - start))"
dmesg | grep -i lazyfree | tail -n 20 | sed 's/^/# dmesg: /'
if [ "$failed" = 0 ]; then
	echo "LAZYFREE-RIG-END status=ok"
else
	echo "LAZYFREE-RIG-END status=fail"
fi
