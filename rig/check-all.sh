#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make check-all`: the whole matrix, every line x architecture x flavour
# (ALL_KERNELS_<arch> in lib.sh) x lane x hook, one rig/check.sh run per
# architecture (build dir build/all-<arch>), then a table of every kernel
# and lane and the usual last line
#   N passed, N failed, N skipped
# ARCHS= narrows the architectures (default "amd64 arm64 arm64-16k");
# LANES, HOOKS and TESTS work as for make check.
set -eu -o pipefail

. "$(dirname "$0")/lib.sh"

ARCHS=${ARCHS:-"amd64 arm64 arm64-16k"}
OUT=$BUILD/all
mkdir -p "$OUT"

start=$(now)
p=0 f=0 s=0
for arch in $ARCHS; do
	log "check-all: ARCH=$arch KERNELS='$(arch_var ALL_KERNELS "$arch")'"
	ARCH=$arch KERNELS=$(arch_var ALL_KERNELS "$arch") THOROUGH_KERNELS=all V1_HOOKS="$HOOKS" \
		LAZYFREE_BUILD=$BUILD/all-$arch "$RIG_DIR/check.sh" 2>&1 |
		tee "$OUT/check-$arch.log" || true
	if read -r a _ b _ c _ < <(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' \
		"$OUT/check-$arch.log" | tail -n 1); then
		p=$((p + a)) f=$((f + b)) s=$((s + c))
	else
		log "check-all: ARCH=$arch ended without its counting line"
		f=$((f + 1))
	fi
done

# "lane 6.18.15+deb13-rt-amd64 v2 (ftrace,kprobe): 160 passed, 0 failed, 2 skipped"
echo ""
echo "| line | arch | flavour | release | lane | hooks | passed | failed | skipped |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for arch in $ARCHS; do
	sed -n 's/^lane \([^ ]*\) \(v[12]\) (\([^)]*\)): \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped.*/\1 \2 \3 \4 \5 \6/p' \
		"$OUT/check-$arch.log" |
		while read -r rel lane hooks a b c; do
			fl=generic
			case $rel in *-cloud-*) fl=cloud ;; *-rt-*) fl=rt ;; esac
			echo "| $(echo "$rel" | sed -E 's/^([0-9]+\.[0-9]+).*/\1/') | $arch | $fl | $rel | $lane | $hooks | $a | $b | $c |"
		done
	grep -E '^lane .*: skipped' "$OUT/check-$arch.log" | sed "s/^/($arch) /" || true
done
echo ""
echo "time: $(($(now) - start)) s"
echo "$p passed, $f failed, $s skipped"
[ "$f" = 0 ]
