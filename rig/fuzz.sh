#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make fuzz SEEDS=FIRST-LAST` (or SEEDS=COUNT, from seed 1): a long
# campaign of selftests/lazyfree_fuzz in ONE boot, through rig/check.sh
# (TESTS=lazyfree_fuzz, HOST=0, PEER=0), then sequences run, sequences/s
# and the verdict.  KERNELS (6.18), LANES (v2), HOOKS (ftrace) pick the
# boot; VERBOSE=1 prints every step of every sequence (for one seed).
# A failure prints the seed, its first differing step and the command
# that reproduces it.  `rig/fuzz.sh --report` reads the last campaign's
# logs again without booting.
set -eu -o pipefail

RIG=$(cd "$(dirname "$0")" && pwd)
SEEDS=${SEEDS:-1-1000}
case $SEEDS in
*-*) seeds_env=LF_FUZZ_SEEDS=$SEEDS ;;
*[!0-9]* | '') echo "fuzz: SEEDS=FIRST-LAST or SEEDS=COUNT, not '$SEEDS'" >&2; exit 2 ;;
*) seeds_env=LF_FUZZ_COUNT=$SEEDS ;;
esac
[ -z "${VERBOSE:-}" ] || seeds_env="$seeds_env LF_FUZZ_VERBOSE=$VERBOSE"

export KERNELS=${KERNELS:-6.18} LANES=${LANES:-v2} HOOKS=${HOOKS:-ftrace}
export TESTS=lazyfree_fuzz HOST=0 PEER=0 LAZYFREE_JOBS=1
export GUEST_ENV="${GUEST_ENV:+$GUEST_ENV }$seeds_env"
# an hour's campaign and then some; the boot's bound above it
export LAZYFREE_TEST_TIMEOUT=${LAZYFREE_TEST_TIMEOUT:-5400}
export LAZYFREE_BOOT_TIMEOUT=${LAZYFREE_BOOT_TIMEOUT:-$((LAZYFREE_TEST_TIMEOUT + 900))}

rc=0
if [ "${1:-}" != --report ]; then
	"$RIG/check.sh" || rc=$?
fi

# shellcheck source=rig/lib.sh
. "$RIG/lib.sh"
echo ""
found=0
for g in "$BUILD"/logs/*/guest.log; do
	[ -f "$g" ] || continue
	boot=$(basename "$(dirname "$g")")
	line=$(grep -ho 'fuzz: [0-9]* sequences (seeds [^)]*).*' "$g" | tail -n 1 || true)
	[ -n "$line" ] || continue
	found=1
	echo "fuzz: $boot: ${line#fuzz: }"
	# the last report: the replay that observed every step, when there is one
	first=$(grep -n 'first difference at step' "$g" | tail -n 1 | cut -d: -f1 || true)
	[ -z "$first" ] || sed -n "$first,/reproduce:/p" "$g" | sed 's/^/  /'
	if grep -q '^ok [0-9]* fuzz.campaign' "$g"; then
		echo "fuzz: $boot: PASS"
	else
		echo "fuzz: $boot: FAIL"
		[ "$rc" != 0 ] || rc=1
	fi
done
if [ "$found" = 0 ]; then
	echo "fuzz: no campaign summary in $BUILD/logs/*/guest.log (boot failed or the test was killed)"
	[ "$rc" != 0 ] || rc=1
fi
exit "$rc"
