#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The fuzzer's comparator, tested on the host (no module needed; root for
# userfaultfd and a hugetlb page): selftests/lazyfree_fuzz built for the
# host and run with its default campaign three times,
#   LF_FUZZ_EMULATE=off       both runs plain: must pass (determinism),
#   LF_FUZZ_EMULATE=dontneed  run B zaps what MADV_FREE reaches: must pass,
#   LF_FUZZ_EMULATE=wrong     run B also zaps mlocked VMAs: must fail, with
#                             the seed, the first differing step and the
#                             command that reproduces it;
#   LF_FUZZ_EMULATE=wrong-walk  run B zaps anon VMAs past the one that ends
#                             the kernel's walk: must fail the same way;
#   LF_FUZZ_EMULATE=naive     run B advises the whole range MADV_DONTNEED
#                             first (the do_madvise rewrite trap): must fail.
# Prints one "ok N ..." / "not ok N ..." line per mode; exit 0 if all held.
set -eu -o pipefail

# shellcheck source=rig/lib.sh
. "$(dirname "$0")/lib.sh"

ksft=${KSFT_DIR:-$CACHE/linux-source-6.12/tools/testing/selftests}
out=$BUILD/fuzz-host
mkdir -p "$out"
make -s -C "$REPO/selftests" OUT="$out" KSFT_DIR="$ksft" "$out/lazyfree_fuzz"

n=0 failed=0
check() { # MODE WANT(pass|fail)
	local mode=$1 want=$2 lg=$out/$1.log rc=0 ok=1
	n=$((n + 1))
	(cd "$out" && LF_FUZZ_EMULATE=$mode ./lazyfree_fuzz) >"$lg" 2>&1 || rc=$?
	if [ "$want" = pass ]; then
		[ "$rc" = 0 ] && grep -q '^ok 1 fuzz.campaign$' "$lg" || ok=0
	else
		[ "$rc" != 0 ] && grep -q 'first difference at step' "$lg" &&
			grep -q '^# reproduce: ' "$lg" || ok=0
	fi
	if [ "$ok" = 1 ]; then
		echo "ok $n emulate=$mode: $want ($(grep -ho 'fuzz: [0-9]* sequences[^,]*' "$lg" | tail -n 1))"
		[ "$want" = pass ] || grep -m1 -h 'first difference at step' "$lg" || true
	else
		echo "not ok $n emulate=$mode: expected $want, exit $rc (log: $lg)"
		tail -n 20 "$lg" | sed 's/^/# /'
		failed=1
	fi
}
check off pass
check dontneed pass
check wrong fail
check wrong-walk fail
check naive fail
exit "$failed"
