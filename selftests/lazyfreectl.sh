#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# lazyfreectl against the real module, in the guest (busybox ash).
#
# Environment (set by the rig): LAZYFREECTL (the tool), CGROUP_ROOT
# (/sys/fs/cgroup, or /sys/fs/cgroup/memory on v1), LAZYFREE_LANE (v2|v1),
# LAZYFREE_KO; the module is loaded. MADVFREE_HELPER (default: next to the
# tool) is userspace/tests/madvfree_helper, which maps, touches and
# MADV_FREEs memory and then holds it.
#
# Round trips set/list/apply/metrics/reclaim through the tool and the
# module's own files; reclaim must make memory.current fall after MADV_FREE
# in a `free` cgroup (v2: v1 has no memory.current). Prints kselftest TAP;
# exit 1 on failure.

T=${LAZYFREECTL:-/lazyfree/bin/lazyfreectl}
R=${CGROUP_ROOT:-/sys/fs/cgroup}
LANE=${LAZYFREE_LANE:-v2}
HELPER=${MADVFREE_HELPER:-$(dirname "$T")/madvfree_helper}
SYS=/sys/kernel/lazyfree
NAME=lfctl.$$
B=$R/$NAME
TMP=${TMPDIR:-/tmp}/lazyfreectl-test.$$
MIB=32

pids=""

. "$(dirname "$0")/lf_ktap.sh"
# a failure shows the tool's last output (run)
KTAP_SHOW="$TMP/out $TMP/err"

# run ARGS...: the tool's stdout in $TMP/out, stderr in $TMP/err, rc in $rc
run() {
	"$T" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
}

id_of() { stat -c %i "$1"; }
attr() { cat "$SYS/cgroups/$(id_of "$1")/$2" 2>/dev/null; }

nap() { sleep 0.2 2>/dev/null || sleep 1; }

# start_helper CGROUP_DIR: run the helper inside the cgroup, wait for it
start_helper() {
	rm -f "$TMP/ready"
	sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" "$3" "$4"' sh \
		"$1" "$HELPER" "$MIB" "$TMP/ready" &
	pids="$pids $!"
	i=0
	while [ ! -s "$TMP/ready" ] && [ $i -lt 150 ]; do
		nap
		i=$((i + 1))
	done
	grep -q '^ready 0 0$' "$TMP/ready" 2>/dev/null
}

stop_helpers() {
	for p in $pids; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	pids=""
}

# field FILE PATH COLUMN: column COLUMN of the row of PATH in raw list output
field() { awk -v p="$2" -v c="$3" '$1 == p { print $c }' "$1"; }

cleanup() {
	stop_helpers
	for d in "$B/parent/child" "$B/parent" "$B/free" "$B/dontneed" "$B"; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
	echo free >"$SYS/default_mode" 2>/dev/null
	echo 1 >"$SYS/enabled" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

ktap_plan 22

mkdir -p "$TMP"
if [ ! -x "$T" ] || [ ! -d "$SYS" ]; then
	echo "# lazyfreectl ($T) or $SYS missing"
	while [ $n -lt $NTESTS ]; do
		not_ok setup
	done
	totals
fi
mkdir "$B" "$B/free" "$B/dontneed" "$B/parent" "$B/parent/child" || exit 1
[ "$LANE" = v2 ] && echo +memory >"$B/cgroup.subtree_control"

# 1: status names the lane's hierarchy and mount
run status
if [ $rc = 0 ] && grep -q "^hierarchy: *$LANE\$" "$TMP/out" &&
   grep -q "^mount: *$R\$" "$TMP/out" && grep -q '^enabled: *yes$' "$TMP/out"; then
	ok "status"
else
	not_ok "status" "rc=$rc, want hierarchy $LANE, mount $R, enabled yes"
fi

# 2: set by absolute path, relative path and id; the module agrees
run set "$B/free" free; r1=$rc
run set "$NAME/dontneed" dontneed; r2=$rc
run set "$(id_of "$B/parent")" dontneed; r3=$rc
if [ "$r1$r2$r3" = 000 ] && [ "$(attr "$B/free" mode)" = free ] &&
   [ "$(attr "$B/dontneed" mode)" = dontneed ] &&
   [ "$(attr "$B/parent" mode)" = dontneed ] &&
   [ "$(attr "$B/free" path)" = "/$NAME/free" ]; then
	ok "set by path, relative path and id"
else
	not_ok "set by path, relative path and id" "rc=$r1$r2$r3" \
		"modes: $(attr "$B/free" mode) $(attr "$B/dontneed" mode) $(attr "$B/parent" mode)"
fi

# 3: inheritance shows in list: child inherits parent's dontneed
run set "/$NAME/parent/child" inherit
run list -r -n -b -o PATH,ID,MODE,EFFECTIVE
row=$(grep "^/$NAME/parent/child " "$TMP/out")
if [ $rc = 0 ] && [ "$row" = "/$NAME/parent/child $(id_of "$B/parent/child") inherit dontneed" ] &&
   [ "$(field "$TMP/out" "/$NAME/free" 3)" = free ]; then
	ok "list shows modes and inheritance"
else
	not_ok "list shows modes and inheritance" "row: '$row'"
fi

# 4: list --json has our rows, ids as numbers
run list --json -o PATH,ID,MODE
if [ $rc = 0 ] && grep -q "\"path\": \"/$NAME/dontneed\"" "$TMP/out" &&
   grep -q "\"id\": $(id_of "$B/dontneed")," "$TMP/out" &&
   [ "$(head -c 1 "$TMP/out")" = "{" ]; then
	ok "list --json"
else
	not_ok "list --json"
fi

# 5: default / disable / enable write the module's files
run default dontneed; r1=$rc; d1=$(cat $SYS/default_mode)
run disable; r2=$rc; e1=$(cat $SYS/enabled)
# shellcheck disable=SC3044 # "enable" is an argument here
run enable; r3=$rc; e2=$(cat $SYS/enabled)
run default free; r4=$rc; d2=$(cat $SYS/default_mode)
if [ "$r1$r2$r3$r4" = 0000 ] && [ "$d1$e1$e2$d2" = dontneed01free ]; then
	ok "default, disable, enable"
else
	not_ok "default, disable, enable" "rc=$r1$r2$r3$r4 got $d1 $e1 $e2 $d2"
fi

# 6: errors: one line with path, value and reason, exit 1, nothing changed
run set "$B/free" sometimes
e1=$(cat "$TMP/err"); r1=$rc
run set "$B/nope" free
e2=$(cat "$TMP/err"); r2=$rc
run set 999999999 free
e3=$(cat "$TMP/err"); r3=$rc
if [ "$r1$r2$r3" = 111 ] &&
   [ "$e1" = "lazyfreectl: set: unknown mode (sometimes): expected free, dontneed or inherit" ] &&
   [ "$e2" = "lazyfreectl: $B/nope: no such cgroup ($B/nope): No such file or directory" ] &&
   [ "$e3" = "lazyfreectl: $SYS/cgroups/add: write failed (999999999): No such file or directory" ] &&
   [ "$(attr "$B/free" mode)" = free ]; then
	ok "errors name path, value and reason"
else
	not_ok "errors name path, value and reason" "rc=$r1$r2$r3" "$e1" "$e2" "$e3"
fi

# 7: apply a file, then again: the second run changes nothing
cat >"$TMP/policy" <<EOF
# test policy
default free
$B/free            dontneed   # was free
$NAME/dontneed     free
/$NAME/parent      inherit
$(id_of "$B/parent/child") dontneed
EOF
run apply "$TMP/policy"; r1=$rc; o1=$(cat "$TMP/out")
run apply "$TMP/policy"; r2=$rc; o2=$(cat "$TMP/out")
if [ "$r1$r2" = 00 ] && [ -n "$o1" ] && [ -z "$o2" ] &&
   [ "$(attr "$B/free" mode)" = dontneed ] &&
   [ "$(attr "$B/dontneed" mode)" = free ] &&
   [ "$(attr "$B/parent" mode)" = inherit ] &&
   [ "$(attr "$B/parent/child" mode)" = dontneed ]; then
	ok "apply, and apply again changes nothing"
else
	not_ok "apply, and apply again changes nothing" "rc=$r1$r2" "first: $o1" "second: $o2"
fi

# 8: a bad apply file changes nothing and names FILE:LINE
printf 'default dontneed\n%s free\n%s/nope free\n' "$B/free" "$B" >"$TMP/bad"
run apply "$TMP/bad"
if [ $rc = 1 ] && grep -q "^lazyfreectl: $TMP/bad:3: no such cgroup ($B/nope): No such file or directory\$" "$TMP/err" &&
   [ "$(cat $SYS/default_mode)" = free ] && [ "$(attr "$B/free" mode)" = dontneed ]; then
	ok "bad apply file changes nothing"
else
	not_ok "bad apply file changes nothing" "rc=$rc"
fi

# put the modes the counter tests need back: free/ free, dontneed/ dontneed
run set "$B/free" free
run set "$B/dontneed" dontneed

# 9: metrics: well-formed lines, up, the module's version, our cgroups labelled
run metrics
bad=$(awk '/^# (HELP|TYPE) / { next }
	!/^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9]+$/ { print NR": "$0 }' "$TMP/out")
if [ $rc = 0 ] && [ -z "$bad" ] && grep -q '^lazyfree_up 1$' "$TMP/out" &&
   grep -q "^lazyfree_build_info{.*module_version=\"$(cat /sys/module/lazyfree/version)\",kernel=\"$(uname -r)\"," "$TMP/out" &&
   grep -q "^# TYPE lazyfree_freed_bytes_total counter\$" "$TMP/out" &&
   grep -q "^lazyfree_freed_bytes_total{cgroup=\"/$NAME/free\"} [0-9]*\$" "$TMP/out" &&
   grep -q "^lazyfree_cgroup_dontneed{cgroup=\"/$NAME/dontneed\"} 1\$" "$TMP/out"; then
	ok "metrics"
else
	not_ok "metrics" "malformed: $bad"
fi

# 10-15 need the helper doing MADV_FREE in a cgroup
if [ ! -x "$HELPER" ]; then
	why="no madvfree_helper at $HELPER (rig: copy userspace/tests/build/madvfree_helper to /lazyfree/bin)"
	for t in "free cgroup counts FREED and holds LAZYFREE" \
		 "dontneed cgroup counts REWRITTEN, no LAZYFREE" \
		 "metrics counters match list" "reclaim makes memory.current fall" \
		 "LAZYFREE gone after reclaim" "reclaim --all error on the wrong cgroup"; do
		skip "$t" "$why"
	done
else
	bytes=$((MIB * 1048576))
	# 10: free cgroup: FREED counts the call, pages stay lazily freed
	start_helper "$B/free"; h1=$?
	run list -r -n -b -o PATH,FREED,REWRITTEN,LAZYFREE
	cp "$TMP/out" "$TMP/list1"
	fr=$(field "$TMP/list1" "/$NAME/free" 2)
	rw=$(field "$TMP/list1" "/$NAME/free" 3)
	lz=$(field "$TMP/list1" "/$NAME/free" 4)
	if [ $h1 = 0 ] && [ $rc = 0 ] && [ "${fr:-0}" -ge $bytes ] &&
	   [ "${rw:-1}" = 0 ] && [ "${lz:-0}" -ge $((bytes / 2)) ]; then
		ok "free cgroup counts FREED and holds LAZYFREE"
	else
		not_ok "free cgroup counts FREED and holds LAZYFREE" \
			"helper=$h1 freed=$fr rewritten=$rw lazyfree=$lz want >= $bytes, 0, >= $((bytes / 2))"
	fi

	# 11: dontneed cgroup: REWRITTEN counts it, nothing lazily freed
	start_helper "$B/dontneed"; h2=$?
	run list -r -n -b -o PATH,FREED,REWRITTEN,LAZYFREE
	fr=$(field "$TMP/out" "/$NAME/dontneed" 2)
	rw=$(field "$TMP/out" "/$NAME/dontneed" 3)
	lz=$(field "$TMP/out" "/$NAME/dontneed" 4)
	if [ $h2 = 0 ] && [ $rc = 0 ] && [ "${fr:-0}" -ge $bytes ] &&
	   [ "${rw:-0}" -ge $bytes ] && [ "${lz:-1}" = 0 ]; then
		ok "dontneed cgroup counts REWRITTEN, no LAZYFREE"
	else
		not_ok "dontneed cgroup counts REWRITTEN, no LAZYFREE" \
			"helper=$h2 freed=$fr rewritten=$rw lazyfree=$lz"
	fi

	# 12: metrics agree with list
	run metrics
	m=$(sed -n "s|^lazyfree_freed_bytes_total{cgroup=\"/$NAME/free\"} ||p" "$TMP/out")
	fr=$(field "$TMP/list1" "/$NAME/free" 2)
	if [ $rc = 0 ] && [ -n "$m" ] && [ "$m" = "$fr" ]; then
		ok "metrics counters match list"
	else
		not_ok "metrics counters match list" "metrics '$m' list '$fr'"
	fi

	# 13-14: reclaim drops the lazily freed memory (every lane and
	# kernel: it pages out exactly those pages, no memory.reclaim needed)
	before=$(cat "$B/free/memory.current" 2>/dev/null)
	run -b reclaim "$B/free"
	out=$(cat "$TMP/out")
	if [ "$LANE" != v2 ]; then
		skip "reclaim makes memory.current fall" "cgroup v1 has no memory.current"
	else
		after=$(cat "$B/free/memory.current")
		if [ $rc = 0 ] && [ "$after" -le $((before - bytes / 2)) ] &&
		   echo "$out" | grep -q "^/$NAME/free: lazily freed [0-9]* -> [0-9]*, memory.current $before -> [0-9]*\$"; then
			ok "reclaim makes memory.current fall"
		else
			not_ok "reclaim makes memory.current fall" \
				"rc=$rc before=$before after=$after want <= $((before - bytes / 2))" "$out"
		fi
	fi
	run list -r -n -b -o PATH,LAZYFREE
	lz=$(field "$TMP/out" "/$NAME/free" 2)
	if [ $rc = 0 ] && [ "${lz:-1}" -lt $((bytes / 20)) ]; then
		ok "LAZYFREE gone after reclaim"
	else
		not_ok "LAZYFREE gone after reclaim" "lazyfree=$lz" "reclaim said: $out"
	fi

	# 15: reclaim --all (memory.reclaim) where it cannot work says why
	if [ "$LANE" = v2 ]; then
		# parent/ has no +memory in its subtree_control
		run reclaim --all "$B/parent/child"
		want="lazyfreectl: $B/parent/child/memory.current: not available (root cgroup, or memory controller off for this cgroup): No such file or directory"
	else
		run reclaim --all "$B/free"
		want="lazyfreectl: $B/free: reclaim --all needs cgroup v2 memory.reclaim (v1): Operation not supported"
	fi
	if [ $rc = 1 ] && [ "$(cat "$TMP/err")" = "$want" ]; then
		ok "reclaim --all error on the wrong cgroup"
	else
		not_ok "reclaim --all error on the wrong cgroup" "want: $want"
	fi
	stop_helpers
fi

# 16: the metrics' cgroup label is the path of /proc/PID/cgroup, the form
# of cAdvisor's id label (they join in PromQL)
if [ ! -x "$HELPER" ]; then
	skip "metrics label = /proc/PID/cgroup path" "no madvfree_helper at $HELPER"
else
	start_helper "$B/free"
	pid=${pids##* }
	if [ "$LANE" = v2 ]; then
		cgpath=$(sed -n 's/^0:://p' "/proc/$pid/cgroup")
	else
		cgpath=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3 }' "/proc/$pid/cgroup")
	fi
	run metrics
	if [ $rc = 0 ] && [ "$cgpath" = "/$NAME/free" ] &&
	   grep -q "^lazyfree_lazyfree_bytes{cgroup=\"$cgpath\"} [1-9][0-9]*\$" "$TMP/out"; then
		ok "metrics label = /proc/PID/cgroup path"
	else
		not_ok "metrics label = /proc/PID/cgroup path" "/proc/$pid/cgroup: '$cgpath'" \
			"$(grep "^lazyfree_lazyfree_bytes" "$TMP/out")"
	fi
	stop_helpers
fi

# 17: status counts the node-wide counters in bytes
run -b status
fr=$(sed -n 's/^freed: *//p' "$TMP/out")
if [ $rc = 0 ] && [ "$fr" = "$(cat $SYS/free_bytes)" ]; then
	ok "status --bytes matches free_bytes"
else
	not_ok "status --bytes matches free_bytes" "status '$fr' sysfs '$(cat $SYS/free_bytes)'"
fi

# 18: not root: reading works, writing is refused before anything happens
if su -s /bin/sh nobody -c true 2>/dev/null; then
	su -s /bin/sh nobody -c "$T list -r -n -o PATH" >"$TMP/out" 2>"$TMP/err"
	r1=$?
	grep -q "^/$NAME/free\$" "$TMP/out"; g=$?
	su -s /bin/sh nobody -c "$T set $B/free dontneed" >"$TMP/out" 2>"$TMP/err"
	r2=$?
	e=$(cat "$TMP/err")
	if [ "$r1$g$r2" = 001 ] && [ "$(attr "$B/free" mode)" = free ] &&
	   [ "$e" = "lazyfreectl: set: must be run as root: Operation not permitted" ]; then
		ok "not root: list works, set refused"
	else
		not_ok "not root: list works, set refused" "rc list=$r1 grep=$g set=$r2" "$e"
	fi
else
	skip "not root: list works, set refused" "cannot su to nobody"
fi

# 19: --version: the tool's and the loaded module's, one VERSION
run --version
v=$(cat /sys/module/lazyfree/version 2>/dev/null)
if [ $rc = 0 ] && [ -n "$v" ] && [ "$(sed -n 2p "$TMP/out")" = "lazyfree module $v" ] &&
   sed -n 1p "$TMP/out" | grep -q "^lazyfreectl $v\( (.*)\)\?\$"; then
	ok "--version shows the tool's and the module's version"
else
	not_ok "--version shows the tool's and the module's version" "module: '$v'"
fi

# 20: optional lines and patterns: a missing cgroup is skipped and
# reported, the next apply (a timer round) sets it once it exists
cat >"$TMP/late" <<EOF
$NAME/late        dontneed optional
$NAME/pa*/ch*     free
EOF
run apply --prune "$TMP/late"; r1=$rc; e1=$(cat "$TMP/err")
child1=$(attr "$B/parent/child" mode)
mkdir "$B/late"
run apply --prune "$TMP/late"; r2=$rc; o2=$(cat "$TMP/out")
if [ "$r1$r2" = 00 ] &&
   [ "$e1" = "lazyfreectl: $TMP/late:1: no such cgroup ($NAME/late): optional line, skipped" ] &&
   [ "$child1" = free ] && [ "$(attr "$B/late" mode)" = dontneed ] &&
   [ "$o2" = "/$NAME/late: inherit -> dontneed" ]; then
	ok "optional line skipped, set once the cgroup exists; patterns"
else
	not_ok "optional line skipped, set once the cgroup exists; patterns" \
		"rc=$r1$r2 child=$child1 late=$(attr "$B/late" mode)" "first: $e1" "second: $o2"
fi
rmdir "$B/late"

# 21: removed cgroups leave the list (module prunes within ~2 s)
for d in "$B/parent/child" "$B/parent" "$B/free" "$B/dontneed"; do
	rmdir "$d"
done
i=0
while [ $i -lt 25 ]; do
	run list -r -n -o PATH
	grep -q "^/$NAME/" "$TMP/out" || break
	nap
	i=$((i + 1))
done
if [ $rc = 0 ] && ! grep -q "^/$NAME/" "$TMP/out"; then
	ok "removed cgroups leave the list"
else
	not_ok "removed cgroups leave the list" "rc=$rc after $i polls of 0.2 s"
fi

# 22: list and metrics never fail while the module prunes: an entry
# removed between open() and read() of an attribute (ENODEV) is gone, not
# an error
mkdir "$B/churn"
echo "$NAME/churn/* dontneed" >"$TMP/churn"
i=0
while [ $i -lt 48 ]; do
	mkdir "$B/churn/$i"
	i=$((i + 1))
done
run apply "$TMP/churn"
tracked=$(ls "$SYS/cgroups" | grep -c '^[0-9]')
i=0
while [ $i -lt 48 ]; do
	rmdir "$B/churn/$i"
	i=$((i + 1))
done
rmdir "$B/churn"
bad=0
loops=0
: >"$TMP/bad.err"
while [ $loops -lt 200 ]; do
	run list -r -n -o PATH
	[ $rc = 0 ] || { bad=$((bad + 1)); cat "$TMP/err" >>"$TMP/bad.err"; }
	grep -q "^/$NAME/churn" "$TMP/out" || break
	"$T" metrics >/dev/null 2>>"$TMP/bad.err" || bad=$((bad + 1))
	loops=$((loops + 1))
done
if [ "$tracked" -ge 48 ] && [ $bad = 0 ] && [ $loops -lt 200 ]; then
	ok "list and metrics do not fail while entries are pruned"
else
	not_ok "list and metrics do not fail while entries are pruned" \
		"tracked=$tracked failures=$bad lists=$loops" \
		"$(head -5 "$TMP/bad.err")"
fi

totals
