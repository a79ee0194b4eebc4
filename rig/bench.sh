#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`: the deterministic cost of lazyfree on the madvise path.
#
# Boots each kernel under QEMU TCG with -icount shift=0,align=off,sleep=off
# and one vCPU: the guest clock, and so the TSC, advances one tick per
# guest instruction, and the figures repeat exactly from run to run.  They
# count the instructions on the path (cache and TLB effects are not in
# them).  Prints a table and writes it to Documentation/benchmarks.rst.
# A second boot of each kernel, with two vCPUs and no -icount, counts the
# TLB shootdown interrupts the calls cause (guest mode tlb).  The first
# also runs bench/lfmacro, a fixed amount of work on Debian's jemalloc,
# for a real allocator's view (its CPU time in instructions).
#
# On arm64 (ARCH=arm64) the clock is the virtual counter, which QEMU's
# virt board runs at 62.5 MHz: under -icount a tick is 16 instructions,
# and lfbench scales it, so the figures are instruction counts too (to
# the nearest 16), path lengths as on x86-64.
#
# Settings: ARCH and KERNELS (as for make check), BENCH_ITERS (calls per
# figure, default 201), BENCH_OUT (default Documentation/benchmarks.rst,
# Documentation/benchmarks-<arch>.rst for another ARCH).
set -eu -o pipefail

. "$(dirname "$0")/lib.sh"
. "$RIG_DIR/deps.sh"
. "$RIG_DIR/kernels.sh"
. "$RIG_DIR/build.sh"
. "$RIG_DIR/initramfs.sh"
. "$RIG_DIR/qemu.sh"
. "$RIG_DIR/cross.sh"

BENCH_ITERS=${BENCH_ITERS:-201}
if [ "$LF_ARCH" = amd64 ]; then
	BENCH_OUT=${BENCH_OUT:-$REPO/Documentation/benchmarks.rst}
	BENCH_CC=gcc
	MACRO_FLAGS=()
else
	BENCH_OUT=${BENCH_OUT:-$REPO/Documentation/benchmarks-$LF_ARCH.rst}
	BENCH_CC=$CROSS_CC
	MACRO_FLAGS=("$CROSS_CPPFLAGS" "$CROSS_LDFLAGS")
fi
QEMU_SMP=1
QEMU_EXTRA="-icount shift=0,align=off,sleep=off"

mkdir -p "$BUILD/logs" "$BUILD/bench"
deps_install
apt_update
cross_ensure || die "bench: no $LF_ARCH cross toolchain or sysroot"

# ratio A B: A/B to three places
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'
}

# verdict RATIO LIMIT: "met" or "MISSED"
verdict() {
	awk -v r="$1" -v l="$2" 'BEGIN { print (r != "-" && r <= l) ? "met" : "MISSED" }'
}

# fig FILE CASE [TAG]: the figure for CASE from a guest log's TAG lines
# (LAZYFREE-BENCH by default)
fig() {
	awk -v c="$2" -v t="${3:-LAZYFREE-BENCH}" '$1 == t && $2 == c { print $3 }' "$1"
}

# bench_boot REL INITRD MODE: boot guest mode MODE (rig/guest/MODE.sh)
# with its logs in $BUILD/logs/MODE-REL, and fail unless it ended well
bench_boot() {
	local rel=$1 initrd=$2 mode=$3 logs=$BUILD/logs/$3-$1
	qemu_boot "$(kernel_image "$rel")" "$initrd" "$logs" \
		"$LAZYFREE_BOOT_TIMEOUT" lazyfree_mode="$mode" lazyfree_lane=v2 \
		"lazyfree_bench_iters=$BENCH_ITERS"
	# arm64's serial port ends lines with CRLF; the parsers here want LF
	sed -i 's/\r$//' "$logs/guest.log"
	if ! grep -q '^LAZYFREE-RIG-END status=ok' "$logs/guest.log"; then
		grep -E 'LAZYFREE-(CHECK|RIG-END)' "$logs/guest.log" >&2 || true
		tail -n 30 "$logs/console.log" >&2
		die "bench: $rel: $mode guest failed (logs: $logs)"
	fi
	if grep -qE 'BUG:|WARNING:|Oops|Call Trace' "$logs/console.log"; then
		die "bench: $rel: kernel reported a problem (see $logs/console.log)"
	fi
}

bench_kernel() {
	local rel=$1 out stage
	out=$BUILD/bench/$rel
	stage=$BUILD/stage/bench-$rel
	build_module "$rel" "$out" || die "bench: module for $rel does not build"
	"$BENCH_CC" -static -O2 -Wall -Wextra -Werror -o "$out/lfbench" "$REPO/bench/lfbench.c" ||
		die "bench: lfbench does not build"
	# on Debian's jemalloc (libjemalloc-dev: the host's, or the sysroot's)
	"$BENCH_CC" -static -O2 -Wall -Wextra -Werror "${MACRO_FLAGS[@]}" -o "$out/lfmacro" \
		"$REPO/bench/lfmacro.c" -ljemalloc -lpthread -lm ||
		die "bench: lfmacro does not build (libjemalloc-dev)"
	initramfs_base "$stage"
	initramfs_add "$stage" "$out/lazyfree.ko" /lazyfree/lazyfree.ko
	initramfs_add "$stage" "$out/lfbench" /lazyfree/bin/lfbench
	initramfs_add "$stage" "$out/lfmacro" /lazyfree/bin/lfmacro
	initramfs_pack "$stage" "$out/initrd.gz"
	log "bench: $rel: booting under -icount (a few minutes)"
	bench_boot "$rel" "$out/initrd.gz" bench
	# shootdowns are interrupts, not time: two vCPUs, no -icount
	log "bench: $rel: TLB shootdowns, two vCPUs"
	QEMU_SMP=2 QEMU_EXTRA="" bench_boot "$rel" "$out/initrd.gz" tlb
}

# row LOG NAME CASE BASECASE LIMIT NOTE: one table row
row() {
	local log=$1 name=$2 c=$3 base=$4 limit=$5 v b r
	v=$(fig "$log" "$c")
	b=$(fig "$log" "$base")
	r=$(ratio "$v" "$b")
	if [ "$limit" = - ]; then
		printf '%s|%s|%s|%s|%s|\n' "$name" "$v" "$b" "$r" "-"
	else
		printf '%s|%s|%s|%s|<= %s %s|\n' "$name" "$v" "$b" "$r" "$limit" "$(verdict "$r" "$limit")"
	fi
}

table() {
	local log=$1 h
	row "$log" "MADV_FREE 4 KiB, module absent" absent.free.4k absent.free.4k -
	row "$log" "MADV_FREE 4 KiB, kprobe trace event (observe-only peer)" peer.free.4k absent.free.4k -
	row "$log" "MADV_FREE 4 KiB, loaded, enabled=0" disabled.free.4k absent.free.4k 1.00
	row "$log" "MADV_FREE 2 MiB, loaded, enabled=0" disabled.free.2m absent.free.2m 1.00
	row "$log" "MADV_FREE 4 KiB, userfaultfd memory, module absent" absent.uffd-free.4k absent.uffd-free.4k -
	for h in ftrace kprobe; do
		# issue 13's targets: the ftrace hook's, and the kprobe fallback's free
		row "$log" "MADV_FREE 4 KiB, $h, free" $h-free.free.4k absent.free.4k \
			"$([ $h = ftrace ] && echo 1.02 || echo 1.06)"
		row "$log" "  same, against the peer" $h-free.free.4k peer.free.4k 1.00
		row "$log" "  same, userfaultfd memory (passed by: the hook alone)" \
			$h-free.uffd-free.4k absent.uffd-free.4k -
		row "$log" "MADV_FREE 2 MiB, $h, free" $h-free.free.2m absent.free.2m -
		row "$log" "MADV_WILLNEED 4 KiB, $h loaded" $h-free.willneed.4k absent.willneed.4k 1.00
		row "$log" "MADV_DONTNEED 4 KiB, $h loaded" $h-free.dontneed.4k absent.dontneed.4k -
		row "$log" "MADV_FREE 4 KiB, $h, dontneed (vs native DONTNEED)" $h-dontneed.free.4k absent.dontneed.4k \
			"$([ $h = ftrace ] && echo 1.03 || echo -)"
		row "$log" "MADV_FREE 2 MiB, $h, dontneed (vs native DONTNEED)" $h-dontneed.free.2m absent.dontneed.2m \
			"$([ $h = ftrace ] && echo 1.03 || echo -)"
		row "$log" "Reuse of 64 KiB after MADV_FREE, $h, dontneed (vs native DONTNEED)" \
			$h-dontneed.reuse-free.64k absent.reuse-dontneed.64k -
	done
	row "$log" "Reuse of 64 KiB after MADV_FREE, module absent" absent.reuse-free.64k absent.reuse-free.64k -
	row "$log" "Reuse of 64 KiB after MADV_DONTNEED, module absent (vs after FREE)" \
		absent.reuse-dontneed.64k absent.reuse-free.64k -
	row "$log" "MADV_FREE 4 KiB, 10,000 tracked cgroups (vs 1)" cgroups-10000.free.4k cgroups-1.free.4k 1.01
	row "$log" "MADV_FREE 4 KiB, depth 16 below the mode (vs depth 1)" depth-16.free.4k depth-1.free.4k 1.00
	row "$log" "jemalloc purging lazily (lfmacro), module absent" macro.absent.lazy macro.absent.lazy -
	for h in ftrace kprobe; do
		row "$log" "  same, $h, free" macro.$h-free.lazy macro.absent.lazy \
			"$([ $h = ftrace ] && echo 1.005 || echo -)"
	done
	row "$log" "jemalloc purging eagerly (MADV_DONTNEED), module absent" \
		macro.absent.eager macro.absent.lazy -
	for h in ftrace kprobe; do
		row "$log" "  lazily, $h, dontneed (vs eagerly)" macro.$h-dontneed.lazy macro.absent.eager -
	done
}

# hook_split LOG HOOK: "ALL ALONE WORK" for MADV_FREE 4 KiB in free mode:
# the instructions over the module absent, those getting into and out of
# the hook (the same call on userfaultfd memory, which lazyfree passes by
# at its VMA test) and the rest, lazyfree's own work: the VMA's checks
# and the per-cgroup accounting.  "ALL - -" without userfaultfd.
hook_split() {
	local log=$1 h=$2 all u ua
	all=$(($(fig "$log" "$h-free.free.4k") - $(fig "$log" absent.free.4k)))
	u=$(fig "$log" "$h-free.uffd-free.4k")
	ua=$(fig "$log" absent.uffd-free.4k)
	if [ "$u" -ge 0 ] 2>/dev/null && [ "$ua" -ge 0 ] 2>/dev/null; then
		echo "$all $((u - ua)) $((all - u + ua))"
	else
		echo "$all - -"
	fi
}

# breakdown LOG: hook_split's figures for both hooks, in words
breakdown() {
	local log=$1 h all alone work
	for h in ftrace kprobe; do
		read -r all alone work <<<"$(hook_split "$log" $h)"
		if [ "$alone" = - ]; then
			echo "$h, free, MADV_FREE 4 KiB: $all instructions over the module absent" \
				"(no userfaultfd in this kernel: no breakdown)"
		else
			echo "$h, free, MADV_FREE 4 KiB: $all instructions over the module absent:" \
				"$alone into and out of the hook (userfaultfd memory, passed by)," \
				"$work checking the range and counting it"
		fi
	done
}

# percent A B: A as a percentage of B, to one place
percent() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9]+$/ && b > 0) printf "%.1f", 100 * a / b; else print "-" }'
}

# summary_row LOG REL: a row of the notes' table (SUMMARY_HEAD)
SUMMARY_HEAD="Kernel|Hooked function|MADV_FREE 4 KiB, absent|ftrace alone|%|lazyfree's work|kprobe alone|%|dontneed vs native DONTNEED, 4 KiB|instructions over native|of which the rest|same, 2 MiB|jemalloc, ftrace, free"
summary_row() {
	local log=$1 absent f_alone f_work k_alone over rest=-
	absent=$(fig "$log" absent.free.4k)
	read -r _ f_alone f_work <<<"$(hook_split "$log" ftrace)"
	read -r _ k_alone _ <<<"$(hook_split "$log" kprobe)"
	over=$(($(fig "$log" ftrace-dontneed.free.4k) - $(fig "$log" absent.dontneed.4k)))
	[ "$f_alone" = - ] || rest=$((over - f_alone - f_work))
	printf '%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s\n' "$(kernel_word "$2")" \
		"$(awk '$1 == "LAZYFREE-BENCH-INFO" && $2 == "ftrace:" { print $3 }' "$log")" \
		"$absent" "$f_alone" "$(percent "$f_alone" "$absent")" "$f_work" \
		"$k_alone" "$(percent "$k_alone" "$absent")" \
		"$(ratio "$(fig "$log" ftrace-dontneed.free.4k)" "$(fig "$log" absent.dontneed.4k)")" \
		"$over" "$rest" \
		"$(ratio "$(fig "$log" ftrace-dontneed.free.2m)" "$(fig "$log" absent.dontneed.2m)")" \
		"$(ratio "$(fig "$log" macro.ftrace-free.lazy)" "$(fig "$log" macro.absent.lazy)")"
}

# span FILE COLUMN [KEYCOLUMN KEY]: "MIN to MAX" of a column of the
# summary ("MIN" if one), of the rows whose KEYCOLUMN is KEY if given
span() {
	awk -F'|' -v c="$2" -v kc="${3:-0}" -v k="${4:-}" '$c != "-" && (!kc || $kc == k) {
		v = $c + 0
		if (!n++ || v < lo) { lo = v; los = $c }
		if (n == 1 || v > hi) { hi = v; his = $c }
	} END { print !n ? "-" : lo == hi ? los : los " to " his }' "$1"
}

# which_kernels FILE COLUMN OP VALUE: the kernels of the summary whose column
# is OP (le, gt: numbers; eq: strings) VALUE, or "none"
which_kernels() {
	awk -F'|' -v c="$2" -v op="$3" -v x="$4" '$c != "-" &&
		((op == "le" && $c + 0 <= x + 0) || (op == "gt" && $c + 0 > x + 0) ||
		 (op == "eq" && $c == x)) {
		s = s (s ? ", " : "") $1 } END { print s ? s : "none" }' "$1"
}

# tlb_table LOG: CASE|SPIN|SLEEP rows of shootdowns per 1000 calls
tlb_table() {
	local log=$1 name c
	while IFS='|' read -r name c; do
		printf '%s|%s|%s|\n' "$name" "$(fig "$log" "$c.spin" LAZYFREE-TLB)" \
			"$(fig "$log" "$c.sleep" LAZYFREE-TLB)"
	done <<-'ROWS'
	MADV_DONTNEED 64 KiB, module absent|absent.dontneed
	MADV_FREE 64 KiB, module absent|absent.free
	MADV_FREE 64 KiB, ftrace, dontneed|ftrace-dontneed.free
	MADV_FREE 64 KiB, kprobe, dontneed|kprobe-dontneed.free
	ROWS
}

# notes: where the instructions go, from the summary of every kernel
# run (SUMMARY), and why the targets missed are out of reach
notes() {
	local f=$SUMMARY kprobe_how
	if [ "$LF_ARCH" = amd64 ]; then
		kprobe_how="a kprobe on the function's ftrace call site: ftrace's full register save and the kprobe handler's dispatch"
	else
		kprobe_how="a BRK exception into the kprobe handler and the probed instruction stepped or simulated (arm64 has no ftrace-based kprobes)"
	fi
	cat <<EOF

Where the instructions go, and the targets out of reach
-------------------------------------------------------

The breakdown under each table splits a hook's cost on MADV_FREE 4 KiB
in two, both measured: getting into and out of the hook alone (the same
call on memory armed with userfaultfd, which lazyfree passes by at its
VMA test), and the rest, lazyfree's own work.  Every kernel above, in
instructions and ratios:

.. list-table::
   :header-rows: 1

EOF
	{ echo "$SUMMARY_HEAD"; cat "$f"; } | while IFS='|' read -r first rest; do
		echo "   * - $first"
		while [ -n "$rest" ]; do
			echo "     - ${rest%%|*}"
			[ "$rest" = "${rest#*|}" ] && break
			rest=${rest#*|}
		done
	done
	cat <<EOF

- \`\`free\`\` with ftrace (target 1.02): getting into and out of the hook
  alone costs $(span "$f" 4) instructions ($(span "$f" 5)% of the call,
  of the 2% the target allows): ftrace's trampoline saving and restoring
  the argument registers (on x86-64 5.10, a full pt_regs), the
  call of lazyfree's handler, and its advice and VMA flag tests.
  lazyfree's own work takes $(span "$f" 6) more: the range's clipping,
  the mm's owner to its cgroup (three dependent loads), one hash lookup
  keyed by that cgroup, the cached effective mode and two per-cpu adds,
  with no call (module/policy.c).  1.02 is out of reach with ftrace_ops.
- An ftrace direct call (\`\`register_ftrace_direct()\`\`, available on
  every Debian amd64 and arm64 line tested) would save part of the
  trampoline's instructions, but a function has one direct caller at
  most: the kernel refuses a second (-EBUSY), and BPF fentry, fexit and
  fmod_ret programs are direct callers.  Taking it would lock BPF agents
  out of the hooked function while lazyfree is loaded; lazyfree does not
  use it.
- The kprobe fallback (target 1.06): the kprobe alone costs
  $(span "$f" 7) instructions ($(span "$f" 8)%), before the same work as
  with ftrace:
  $kprobe_how.
  It is the fallback where ftrace is refused.
- \`\`dontneed\`\` against native MADV_DONTNEED (target 1.03): met on
  $(which_kernels "$f" 9 le 1.03), missed on $(which_kernels "$f" 9 gt 1.03).
  Of the instructions over native, the hook and lazyfree's work are
  those of \`\`free\`\` above; the rest is the rewrite's zap against the
  native one.  Where the hooked function is
  madvise_dontneed_free_valid_vma
  ($(which_kernels "$f" 2 eq madvise_dontneed_free_valid_vma)), the rewrite
  zaps before MADV_FREE's own work starts, as MADV_DONTNEED does: the
  rest is $(span "$f" 11 2 madvise_dontneed_free_valid_vma).  Where it is
  madvise_free_single_vma
  ($(which_kernels "$f" 2 eq madvise_free_single_vma)), reached after
  MADV_FREE's own set-up (from 6.16 that includes a TLB gather), the
  rewrite's zap opens a TLB gather of its own, as the batched zap that
  would take the caller's is not exported: the rest is
  $(span "$f" 11 2 madvise_free_single_vma).  At 2 MiB the difference is
  gone ($(span "$f" 12)).
- A real allocator (jemalloc, the "lfmacro" rows; target 1.005): with
  ftrace in \`\`free\`\` it spends $(span "$f" 13) times the instructions
  of the module absent (within 1.005 on $(which_kernels "$f" 13 le 1.005);
  above on $(which_kernels "$f" 13 gt 1.005)).
EOF
}

RELS=$(kernels_selected)
[ -n "$RELS" ] || die "bench: KERNELS='${KERNELS:-}' matches no kernel"

RST=$BUILD/bench/benchmarks.rst
if [ "$LF_ARCH" = amd64 ]; then
	CLOCK="the guest TSC advances one tick per instruction"
	TITLE="lazyfree: cost per madvise"
else
	CLOCK="the guest's virtual counter (62.5 MHz) advances one tick per 16 instructions, which lfbench scales to instructions (a figure is exact to 16)"
	TITLE="lazyfree: cost per madvise ($LF_ARCH)"
fi
{
	cat <<HDR
.. SPDX-License-Identifier: GPL-2.0

$(echo "$TITLE" | sed 's/./=/g')
$TITLE
$(echo "$TITLE" | sed 's/./=/g')

Figures are guest instructions per madvise() call, measured by
\`\`make bench\`\`: QEMU TCG with \`\`-icount shift=0,align=off,sleep=off
-smp 1\`\`, where $CLOCK, so a figure is a path length and repeats
exactly from run to run (cache and TLB effects are not in it).  Each
figure is the median of $BENCH_ITERS calls on freshly touched private
anonymous memory (base pages), less the cost of reading the clock.
"Base" is the figure the ratio is taken against.  The "Reuse" rows are
what a program pays afterwards: instructions to write one byte to each
page of 64 KiB again after the call.  Lazily freed pages are still mapped;
dropped ones (MADV_DONTNEED, or MADV_FREE under \`\`dontneed\`\`) fault
in a new zeroed page each.

The "jemalloc" rows are a real allocator's view: \`\`bench/lfmacro\`\`, on
Debian's jemalloc (static), does a fixed amount of work (300 rounds of
allocating 64 blocks of 16 to 256 KiB, writing each page, freeing them and
having jemalloc's decay return them all to the kernel), purging lazily
with MADV_FREE as the demo's lfheap-je does (\`\`muzzy_decay_ms:-1\`\`)
or, with \`\`MALLOC_CONF=muzzy_decay_ms:0\`\`, with MADV_DONTNEED.  It
purges at the end of each round only (\`\`dirty_decay_ms\`\` set to 0 and
back to -1), never on jemalloc's clock, so every run purges alike, with
or without the module.  The figure is the process's CPU time (user and
kernel) in instructions, the median of five runs; the notes under the
table give the purges and every run's figure.  \`\`dontneed\`\` is
compared with jemalloc's own eager purge: both drop the pages at once
and fault them in again.

Under each table, the TLB shootdown interrupts (x86's ``TLB`` row of
/proc/interrupts) per 1000 calls on 64 KiB, from a second boot with two
vCPUs and no -icount: interrupts, not time.  The process's other thread
either runs on the other CPU or has run there and sleeps, leaving the
address space loaded lazily.  From 6.16 the rewrite's zap nests inside
the kernel's TLB gather and flushes the whole address space (admin guide,
"Differences from MADV_DONTNEED"); this shows what that costs in
interrupts.  arm64 invalidates by broadcast, with no interrupts ("-").

Reproduce with::

    make bench ARCH=$LF_ARCH   # or: make bench ARCH=$LF_ARCH KERNELS=6.18

Generated on $(date -u +%Y-%m-%d) by rig/bench.sh.
HDR
} >"$RST"

SUMMARY=$BUILD/bench/summary
: >"$SUMMARY"
for rel in $RELS; do
	kernel_fetch "$rel"
	bench_kernel "$rel"
	log=$BUILD/logs/bench-$rel/guest.log
	summary_row "$log" "$rel" >>"$SUMMARY"
	echo
	echo "Linux $rel (Debian), instructions per call:"
	table "$log" | column -t -s '|' -N CASE,INSNS,BASE,RATIO,TARGET
	grep '^LAZYFREE-BENCH-INFO' "$log" | sed 's/^LAZYFREE-BENCH-INFO /  /'
	breakdown "$log" | sed 's/^/  /'
	tlblog=$BUILD/logs/tlb-$rel/guest.log
	echo "TLB shootdown interrupts per 1000 calls (two vCPUs):"
	tlb_table "$tlblog" | column -t -s '|' -N CASE,OTHER-RUNNING,OTHER-IDLE
	{
		title="Linux $rel"
		printf '\n%s\n%s\n\n' "$title" "$(echo "$title" | tr '[:print:]' '-')"
		echo '.. list-table::'
		echo '   :header-rows: 1'
		echo
		echo '   * - Case'
		echo '     - Instructions'
		echo '     - Base'
		echo '     - Ratio'
		echo '     - Target'
		table "$log" | while IFS='|' read -r name v b r t; do
			echo "   * - ${name#  }"
			echo "     - $v"
			echo "     - $b"
			echo "     - $r"
			echo "     - $t"
		done
		echo
		grep '^LAZYFREE-BENCH-INFO' "$log" | sed 's/^LAZYFREE-BENCH-INFO /- /'
		breakdown "$log" | sed 's/^/- /'
		echo
		echo "TLB shootdown interrupts per 1000 calls (two vCPUs; the other"
		echo "thread of the process running, or idle on its CPU):"
		echo
		echo '.. list-table::'
		echo '   :header-rows: 1'
		echo
		echo '   * - Case'
		echo '     - Other thread running'
		echo '     - Other thread idle'
		tlb_table "$tlblog" | while IFS='|' read -r name spin sleep; do
			echo "   * - $name"
			echo "     - $spin"
			echo "     - $sleep"
		done
	} >>"$RST"
done

notes >>"$RST"

cp "$RST" "$BENCH_OUT"
echo
echo "bench: table written to ${BENCH_OUT#"$REPO"/}"
