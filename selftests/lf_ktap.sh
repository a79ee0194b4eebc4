# SPDX-License-Identifier: GPL-2.0
#
# KTAP output for the shell selftests, sourced by them (busybox ash, dash,
# bash).  Not a test: the rig runs only the executable files, and this one
# is installed without the x bit.
#
#   ktap_plan N              the header; N tests follow
#   ok NAME                  a pass
#   not_ok NAME [NOTE...]    a failure; each NOTE becomes a "# " line, and
#                            so does every line of the files named in
#                            KTAP_SHOW (a test's captured output), if any
#   skip NAME REASON         a skip
#   skip_rest NAME REASON    every test not run yet skipped, then totals
#   totals                   the totals line, and the exit: 1 on a failure
#                            or a plan not kept, 4 (kselftest's skip) when
#                            everything was skipped, else 0
#
# n, pass, fail and skip count the tests so far.

ktap_plan() {
	NTESTS=$1
	n=0 pass=0 fail=0 skip=0
	echo "TAP version 13"
	echo "1..$NTESTS"
}

ok() {
	n=$((n + 1)); pass=$((pass + 1))
	echo "ok $n $1"
}

not_ok() {
	local f

	n=$((n + 1)); fail=$((fail + 1))
	echo "not ok $n $1"
	shift
	for f in "$@"; do
		echo "# $f"
	done
	for f in ${KTAP_SHOW:-}; do
		[ -s "$f" ] && sed "s|^|# ${f##*/}: |" "$f"
	done
	return 0
}

skip() {
	n=$((n + 1)); skip=$((skip + 1))
	echo "ok $n $1 # SKIP $2"
}

skip_rest() {
	while [ $n -lt "$NTESTS" ]; do
		skip "$1" "$2"
	done
	totals
}

totals() {
	echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
	[ "$n" = "$NTESTS" ] || { echo "# planned $NTESTS tests, ran $n"; exit 1; }
	[ "$fail" = 0 ] || exit 1
	[ "$pass" = 0 ] && [ "$skip" != 0 ] && exit 4
	exit 0
}
