#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Self-test of the rig's log scanner (rig/scan.sh) on canned logs in
# rig/testdata: a passing run, a failing run, kernel consoles with a WARN,
# an OOM report (excused), a panic and a hung task, and the debug kernel's
# consoles: its banners (excused) and a KASAN, a lockdep and an
# atomic-sleep report (rig/debug.sh counts each kind).  Prints TAP.
set -eu -o pipefail

. "$(dirname "$0")/lib.sh"
. "$RIG_DIR/scan.sh"
. "$RIG_DIR/debug.sh"

DATA=$RIG_DIR/testdata
n=0
bad=0

# expect NAME "p f s" OUTPUT [TEXT that must appear in OUTPUT]
expect() {
	local name=$1 want=$2 out=$3 text=${4:-} got
	n=$((n + 1))
	got=$(echo "$out" | tail -n 1)
	if [ "$got" != "COUNTS $want" ]; then
		echo "not ok $n $name: got '$got', want 'COUNTS $want'"
		echo "$out" | sed 's/^/# /'
		bad=$((bad + 1))
	elif [ -n "$text" ] && ! echo "$out" | grep -qF -- "$text"; then
		echo "not ok $n $name: output lacks '$text'"
		echo "$out" | sed 's/^/# /'
		bad=$((bad + 1))
	else
		echo "ok $n $name"
	fi
}

echo "TAP version 13"
echo "1..13"
expect guest-pass "5 0 2" "$(scan_guest "$DATA/guest-pass.log" rc=0)"
expect guest-fail "4 6 0" "$(scan_guest "$DATA/guest-fail.log" rc=124)" \
	"rewrite.c:42:file_private:Expected data[0] (0) == 'x' (120)"
expect console-clean "0 0 0" "$(scan_console "$DATA/console-clean.log")"
expect console-warn "0 1 0" "$(scan_console "$DATA/console-warn.log")" \
	"WARNING: CPU: 1 PID: 123 at mm/madvise.c:100"
expect console-oom "0 0 0" "$(scan_console "$DATA/console-oom.log")"
expect console-panic "0 1 0" "$(scan_console "$DATA/console-panic.log")" \
	"Kernel panic - not syncing"
expect console-hung "0 1 0" "$(scan_console "$DATA/console-hung.log")" \
	"blocked for more than 120 seconds"
expect guest-missing "0 1 0" "$(scan_guest "$DATA/does-not-exist.log" rc=1)"
expect console-debug-clean "0 0 0" "$(scan_console "$DATA/console-debug-clean.log")"
expect console-debug-reports "0 3 0" "$(scan_console "$DATA/console-debug-reports.log")" \
	"BUG: sleeping function called from invalid context"
expect console-debug-uffd "0 0 0" "$(scan_console "$DATA/console-debug-uffd.log")"
expect console-debug-uffd-warn "0 1 0" "$(scan_console "$DATA/console-debug-uffd-warn.log")" \
	"WARNING: CPU: 0 PID: 759 at mm/madvise.c:100"
# KASAN, lockdep, atomic sleep
expect debug-counts "1 1 1" "COUNTS $(debug_console_counts "$DATA/console-debug-reports.log")"
echo "# Totals: pass:$((n - bad)) fail:$bad"
[ "$bad" = 0 ]
