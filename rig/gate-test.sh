#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host test of the load gate (module/gate.sh), TAP.
#
#   rig/gate-test.sh [REL...]
#
# Each REL (a kernel unpacked in the cache) must get the strategy of its
# line from its own BTF.  Then BTF files written for the test (a small C
# file compiled with -g, its BTF encoded by pahole): a matching prototype
# builds its strategy; a changed prototype, a missing function, a changed
# private struct or a line outside every range refuses, naming what did
# not match; a line in range that was never tested builds as untested.
# Last, a real kbuild of the first host-suite REL with a doctored BTF:
# the module carries the refusal its load prints.
set -u

. "$(dirname "$0")/lib.sh"
. "$RIG_DIR/kernels.sh"

GATE=$REPO/module/gate.sh
W=$BUILD/gate-test
n=0 failed=0

ok() { n=$((n + 1)); echo "ok $n $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n $*"; }
diag() { sed 's/^/# /'; }

# gate LINE BTF [ARCH]: gate.h for LINE (on x86) from BTF
gate() { sh "$GATE" "$1" /nonexistent test-kernel "${3:-x86}" "$2" 2>&1; }
chosen() { sed -n 's/^#define LF_STRATEGY_\([A-Z_]*\)\t1$/\1/p'; }
refusal() { sed -n 's/^#define LF_GATE_REFUSAL\t"\(.*\)"$/\1/p'; }

# expect NAME LINE[:ARCH] BTF STRATEGY TESTED [REFUSAL-SUBSTRING...]
# (TESTED "" for a refusal: nothing loads, whatever the line)
expect() {
	local name=$1 line=$2 btf=$3 want=$4 tested=$5 out have why s
	shift 5
	out=$(gate "${line%:*}" "$btf" "$(case $line in *:*) echo "${line#*:}" ;; esac)")
	have=$(printf '%s\n' "$out" | chosen)
	why=$(printf '%s\n' "$out" | refusal)
	if [ "$have" != "$want" ] || { [ -n "$tested" ] &&
		! printf '%s\n' "$out" | grep -q "^#define LF_GATE_TESTED	$tested$"; }; then
		printf '%s\n' "$out" | diag
		not_ok "$name: strategy '${have:-none}' (want '${want:-none}')${tested:+, tested must be $tested}"
		return
	fi
	for s in "$@"; do
		case $why in
		*"$s"*) ;;
		*)
			echo "refusal: $why" | diag
			not_ok "$name: the refusal does not say '$s'"
			return
			;;
		esac
	done
	ok "$name${why:+: $why}"
}

# btf NAME: compile $W/NAME.c and encode its BTF into $W/NAME.btf
btf() {
	gcc -g -O0 -c "$W/$1.c" -o "$W/$1.o" &&
		pahole --btf_encode_detached="$W/$1.btf" "$W/$1.o"
}

# The kernel's types the strategies read, as mm/madvise.c has them
# (6.17 to 7.3); BEHAVIOR_FIELDS and the prototypes are what the
# doctored files change.
source_file() {
	cat <<EOF
typedef _Bool bool;
struct mm_struct { int x; };
struct vm_area_struct { unsigned long vm_start, vm_end; };
struct mmu_gather { int y; };
struct madvise_behavior_range { unsigned long start; unsigned long end; };
struct madvise_behavior {
	struct mm_struct *mm;
	int behavior;
	struct mmu_gather *tlb;
	int lock_mode;
	void *anon_name;
	struct madvise_behavior_range range;
	struct vm_area_struct *prev;
	${BEHAVIOR_VMA:-struct vm_area_struct *vma;}
	bool lock_dropped;
};
EOF
	printf '%s\n' "$@"
}

mkdir -p "$W"
rm -rf "${W:?}"/*
echo "TAP version 13"
command -v pahole >/dev/null && command -v pfunct >/dev/null ||
	{ echo "1..0 # SKIP pahole/pfunct missing"; exit 0; }

# 1. real kernels: the BTF of each decides as its line's range says
for rel in "$@"; do
	kdir=$(kernel_kdir "$rel")
	b=$kdir/vmlinux
	[ -f "$b" ] || b=$(kernel_dir "$rel")/vmlinux
	# shellcheck disable=SC2046
	line=$(printf '%d%02d' $(echo "$rel" | sed -E 's/^([0-9]+)\.([0-9]+).*/\1 \2/'))
	if [ "$line" -le 517 ]; then
		want=FREE_SINGLE_VMA_RANGE
	elif [ "$line" -le 616 ]; then
		want=VALID_VMA_INT
	else
		want=FREE_SINGLE_VMA_BEHAVIOR
	fi
	arch=x86
	[ "$(kernel_arch "$rel")" = amd64 ] || arch=arm64
	expect "$rel (line $line): its own BTF" "$line:$arch" "$b" "$want" 1
done

# 2. written for the test
source_file 'int madvise_free_single_vma(struct madvise_behavior *madv_behavior) { return madv_behavior->behavior; }' >"$W/behavior.c"
source_file 'int madvise_free_single_vma(struct madvise_behavior *madv_behavior, int extra) { return extra; }' >"$W/behavior-extra-arg.c"
BEHAVIOR_VMA='struct vm_area_struct *target;' \
	source_file 'int madvise_free_single_vma(struct madvise_behavior *madv_behavior) { return 0; }' >"$W/behavior-no-vma.c"
source_file 'bool madvise_dontneed_free_valid_vma(struct vm_area_struct *vma, unsigned long start, unsigned long *end, int behavior) { return start < *end && behavior; }' >"$W/valid-vma.c"
source_file 'bool madvise_dontneed_free_valid_vma(struct vm_area_struct *vma, unsigned long start, unsigned long end, int behavior) { return start < end && behavior; }' >"$W/valid-vma-end-by-value.c"
source_file 'int madvise_free_single_vma(struct vm_area_struct *vma, unsigned long start, unsigned long end) { return start < end; }' >"$W/free-range.c"
source_file 'int madvise_free_pte_range(void) { return 0; }' >"$W/inlined.c"
for f in behavior behavior-extra-arg behavior-no-vma valid-vma valid-vma-end-by-value free-range inlined; do
	btf "$f" >"$W/$f.log" 2>&1 || { diag <"$W/$f.log"; not_ok "compile and encode $f.c"; }
done

expect "7.3, matching prototype and layout" 703 "$W/behavior.btf" FREE_SINGLE_VMA_BEHAVIOR 1
expect "7.3, prototype with an extra argument" 703 "$W/behavior-extra-arg.btf" "" "" \
	"madvise_free_single_vma is int(struct madvise_behavior *,int)" "expects int(struct madvise_behavior *)"
expect "7.3, struct madvise_behavior without vma" 703 "$W/behavior-no-vma.btf" "" "" \
	"struct madvise_behavior" "vma"
expect "6.17, in range, never tested" 617 "$W/behavior.btf" FREE_SINGLE_VMA_BEHAVIOR 0
expect "7.4, beyond every range read" 704 "$W/behavior.btf" "" "" "no strategy covers Linux 7.4"
expect "6.12, matching prototype" 612 "$W/valid-vma.btf" VALID_VMA_INT 1
expect "6.8, in range, never tested" 608 "$W/valid-vma.btf" VALID_VMA_INT 0
expect "6.1 on arm64, in range, never tested there" 601:arm64 "$W/valid-vma.btf" VALID_VMA_INT 0
expect "6.12, end by value" 612 "$W/valid-vma-end-by-value.btf" "" "" \
	"madvise_dontneed_free_valid_vma is bool(struct vm_area_struct *,long unsigned int,long unsigned int,int)"
expect "6.12, the function inlined (absent from BTF)" 612 "$W/inlined.btf" "" "" \
	"madvise_dontneed_free_valid_vma is not a function of this build"
expect "5.15, (vma, start, end) form, never tested" 515 "$W/free-range.btf" FREE_SINGLE_VMA_RANGE 0
expect "5.10 line given a 7.x BTF" 510 "$W/behavior.btf" "" "" \
	"madvise_free_single_vma is int(struct madvise_behavior *)" \
	"expects int(struct vm_area_struct *,long unsigned int,long unsigned int)"
expect "no BTF at all" 612 "$W/does-not-exist.btf" "" "" "no BTF of test-kernel"

# 3. a real build with a doctored BTF carries the refusal into the module
for rel in "$@"; do
	[ -z "$(kernel_suite "$rel")" ] || continue
	case $rel in 6.12.*) ;; *) continue ;; esac
	src=$W/src-$rel
	mkdir -p "$src"
	(cd "$REPO" && tar -cf - --exclude='*.o' --exclude='*.ko' --exclude='*.mod*' \
		--exclude='.*.cmd' --exclude=gate.h Kbuild VERSION module) | (cd "$src" && tar -xf -)
	if ! make -C "$(kernel_kdir "$rel")" M="$src" LF_BTF="$W/valid-vma-end-by-value.btf" \
		modules >"$W/build-$rel.log" 2>&1; then
		tail -n 20 "$W/build-$rel.log" | diag
		not_ok "$rel: build with a doctored BTF"
	elif strings "$src/module/lazyfree.ko" |
		grep -q 'madvise_dontneed_free_valid_vma is bool(struct vm_area_struct \*,long unsigned int,long unsigned int,int) in the BTF'; then
		ok "$rel: built with a doctored BTF, the module carries the refusal and no strategy"
	else
		grep -A1 'LF_STRATEGY\|REFUSAL' "$src/module/gate.h" | diag
		not_ok "$rel: the module built with a doctored BTF lacks the refusal"
	fi
	break
done

echo "1..$n"
echo "$((n - failed)) passed, $failed failed, 0 skipped"
[ "$failed" = 0 ]
