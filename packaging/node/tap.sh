# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# TAP helpers of the scripts that run inside a node chroot
# (packaging/node/run.sh, packaging/node/deb-run.sh).  Sourced.
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*"; }
# t DESCRIPTION LOG COMMAND...: ok when COMMAND succeeds; else the log's tail
t() {
	local what=$1 lg=$2
	shift 2
	if "$@" >"$lg" 2>&1; then ok "$what"; else tail -n 15 "$lg" | sed 's/^/# /'; not_ok "$what"; fi
}
# expect DESCRIPTION WANT HAVE
expect() {
	if [ "$2" = "$3" ]; then ok "$1"; else echo "# have: $3"; echo "# want: $2"; not_ok "$1"; fi
}
# verdict RC DESCRIPTION: ok when RC is 0
verdict() { if [ "$1" = 0 ]; then ok "$2"; else not_ok "$2"; fi; }
