#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make demo`: real programs whose memory does not come back, and lazyfree
# giving it back per cgroup.
#
# Builds a Go program (Debian's golang-go, static) and a C program on
# Debian's jemalloc (static), both of which grow a heap, drop it and return
# it with MADV_FREE (Go: GODEBUG=madvdontneed=0, the Go 1.12-1.15 default;
# jemalloc: lazy purging).  Boots Debian's 6.12 kernel in QEMU with the
# module loaded, runs them side by side in cgroups with lazyfree modes
# free and dontneed, next to baselines that return memory with
# MADV_DONTNEED themselves, samples memory.current every ~100 ms, then
# runs `lazyfreectl reclaim` on the free cgroups.  Prints a table and
# PASS/FAIL for the expectations, and writes a plot.
#
# Settings: ARCH (amd64, arm64, arm64-16k), DEMO_KERNEL (a kernel word as
# for make check, default 6.12 on amd64 and 6.18 on arm64),
# DEMO_MIB (heap, default 192), DEMO_IDLE (seconds before the reclaim,
# default 4), DEMO_THP (guest THP: never (default), always, madvise, keep),
# QEMU_MEM (default 3G), LAZYFREE_BUILD, LAZYFREE_CACHE.
set -eu -o pipefail

. "$(dirname "$0")/lib.sh"
: "${QEMU_MEM:=3G}"
. "$RIG_DIR/deps.sh"
. "$RIG_DIR/kernels.sh"
. "$RIG_DIR/build.sh"
. "$RIG_DIR/initramfs.sh"
. "$RIG_DIR/qemu.sh"
. "$RIG_DIR/scan.sh"
. "$RIG_DIR/cross.sh"

if [ "$LF_ARCH" = amd64 ]; then
	DEMO_KERNEL=${DEMO_KERNEL:-6.12}
else
	DEMO_KERNEL=${DEMO_KERNEL:-6.18}
fi
DEMO_MIB=${DEMO_MIB:-192}
DEMO_IDLE=${DEMO_IDLE:-4}
DEMO_THP=${DEMO_THP:-never}
DEMO_PKGS="golang-go libjemalloc-dev gnuplot-nox"
OUT=$BUILD/demo
LOGDIR=$BUILD/logs/demo

mkdir -p "$BUILD/logs" "$OUT" "$CACHE"

# One run at a time per build dir (make check builds the module in the
# same $BUILD/src/<rel>).
exec 8>"$BUILD/.lock"
flock -n 8 || { log "demo: another make check or demo uses $BUILD; waiting"; flock 8; }
start=$(now)

apt_update
deps_install
missing=""
for p in $DEMO_PKGS; do
	pkg_installed "$p" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	is_root || die "demo: missing packages:$missing (run as root, or: apt-get install$missing)"
	log "demo: installing:$missing"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing \
		>"$BUILD/logs/apt-install-demo.log" 2>&1 ||
		{ tail -n 20 "$BUILD/logs/apt-install-demo.log" >&2; die "apt-get install failed"; }
fi
log "demo: $(go version), jemalloc $(dpkg-query -W -f='${Version}' libjemalloc-dev), $(gnuplot --version)"

rel=$(kernel_resolve_word "$DEMO_KERNEL")
kernel_fetch_shared demo "$rel"

# arm64: the tool and the workloads cross-built (cross.sh)
cross_ensure || die "demo: no $LF_ARCH cross toolchain or sysroot"
build_module "$rel" "$OUT/$rel" || die "demo: the module does not build for $rel"
build_userspace || die "demo: userspace/lazyfreectl does not build"
if [ "$LF_ARCH" != amd64 ]; then
	build_userspace_cross && cross_make_vars || die "demo: lazyfreectl does not build for arm64"
fi
rm -f "$OUT"/bin/lfheap-*
make -C "$REPO/demo" OUT="$OUT/bin" "${CROSS_MAKE_VARS[@]}" >"$BUILD/logs/build-demo.log" 2>&1 ||
	{ show_log_tail "$BUILD/logs/build-demo.log"; die "demo: the workloads do not build"; }
log "build: demo workloads: ok ($OUT/bin)"

stage=$BUILD/stage/demo-$rel
initramfs_base "$stage"
initramfs_add "$stage" "$OUT/$rel/lazyfree.ko" /lazyfree/lazyfree.ko
initramfs_add "$stage" "$(userspace_dir)/lazyfreectl" /lazyfree/bin/lazyfreectl
initramfs_add "$stage" "$OUT/bin/lfheap-go" /lazyfree/bin/lfheap-go
initramfs_add "$stage" "$OUT/bin/lfheap-je" /lazyfree/bin/lfheap-je
initramfs_pack "$stage" "$OUT/initrd.gz"

log "demo: booting $rel (QEMU TCG, $QEMU_SMP CPUs, $QEMU_MEM): about a minute"
qemu_boot "$(kernel_image "$rel")" "$OUT/initrd.gz" "$LOGDIR" "$LAZYFREE_BOOT_TIMEOUT" \
	lazyfree_mode=demo lazyfree_lane=v2 "lazyfree_demo_mib=$DEMO_MIB" \
	"lazyfree_demo_idle=$DEMO_IDLE" "lazyfree_demo_thp=$DEMO_THP"
GLOG=$LOGDIR/guest.log
tr -d '\r' <"$GLOG" >"$GLOG.tmp" && mv "$GLOG.tmp" "$GLOG"
if ! grep -q '^LAZYFREE-RIG-END' "$GLOG"; then
	tail -n 30 "$LOGDIR/console.log" >&2
	die "demo: the guest did not finish ($(cat "$LOGDIR/status")); logs: $LOGDIR"
fi
grep '^LAZYFREE-CHECK fail' "$GLOG" >&2 || true
CONSOLE=$(scan_console "$LOGDIR/console.log")
if [ "$(echo "$CONSOLE" | tail -n 1)" != "COUNTS 0 0 0" ]; then
	echo "$CONSOLE" | grep -v '^COUNTS ' >&2
	FAILED_KERNEL=1
fi

echo
sed -n 's/^LAZYFREE-DEMO-INFO /  /p' "$GLOG"

# Samples as a data file: t (s from the start), then per cgroup
# memory.current and LazyFree in MiB.  Events as "t cgroup what".
DAT=$OUT/memory.dat
EVT=$OUT/events.txt
CGS=$(sed -n 's/^LAZYFREE-DEMO-CGROUPS //p' "$GLOG")
T0=$(awk '$1 == "LAZYFREE-DEMO-EVENT" && $4 == "start" { print $2; exit }' "$GLOG")
[ -n "$CGS" ] && [ -n "$T0" ] || die "demo: no samples in $GLOG"
awk -v t0="$T0" '$1 == "LAZYFREE-DEMO-SAMPLE" && NF > 2 {
	printf "%.2f", $2 - t0
	for (i = 3; i <= NF; i++)
		printf " %.1f", $i / 1048576
	printf "\n"
}' "$GLOG" >"$DAT"
awk -v t0="$T0" '$1 == "LAZYFREE-DEMO-EVENT" { printf "%.2f %s %s\n", $2 - t0, $3, $4 }' "$GLOG" >"$EVT"

# figures CGROUP-INDEX: peak after-drop final after-reclaim lazyfree-at-final
figures() {
	awk -v col=$((2 * $1)) -v cg="$2" -v evt="$EVT" '
	BEGIN {
		while ((getline l < evt) > 0) {
			split(l, e, " ")
			if (e[2] == cg && e[3] == "dropped") drop = e[1]
			if (e[3] == "final") fin = e[1]
			if (e[3] == "end") end = e[1]
		}
		ad = -1
	}
	{
		t = $1; v = $col
		if (t <= fin && v > peak) peak = v
		if (ad < 0 && drop != "" && t >= drop) ad = v
		if (t <= fin) { final = v; lf = $(col + 1) }
		if (t <= end) last = v
	}
	END { printf "%.1f %.1f %.1f %.1f %.1f\n", peak, ad, final, last, lf }' "$DAT"
}

declare -A PEAK DROP FINAL AFTER LAZY
i=1
for cg in $CGS; do
	read -r PEAK[$cg] DROP[$cg] FINAL[$cg] AFTER[$cg] LAZY[$cg] <<<"$(figures $i "$cg")"
	i=$((i + 1))
done

echo
echo "memory.current per cgroup, MiB (LazyFree: the workload's, at 'final'):"
{
	echo "CGROUP MODE PEAK AFTER-DROP FINAL LAZYFREE AFTER-RECLAIM"
	for cg in $CGS; do
		mode=$(awk -v c="$cg" '$1 == "LAZYFREE-DEMO-INFO" && $2 == c":" { print $4 }' "$GLOG")
		mode=${mode%:}
		case $cg in *-free) ar=${AFTER[$cg]} ;; *) ar="-" ;; esac
		echo "$cg $mode ${PEAK[$cg]} ${DROP[$cg]} ${FINAL[$cg]} ${LAZY[$cg]} $ar"
	done
} | column -t -R 3,4,5,6,7

# Expectations.
N_FAIL=0
verdict() {
	if [ "$1" = 1 ]; then
		echo "PASS  $2"
	else
		echo "FAIL  $2"
		N_FAIL=$((N_FAIL + 1))
	fi
}
# within A B PCT OF: |A - B| <= PCT% of OF
within() { awk -v a="$1" -v b="$2" -v p="$3" -v of="$4" 'BEGIN { d = a - b; if (d < 0) d = -d; print (d <= of * p / 100) ? 1 : 0 }'; }
# atleast A B PCT: A >= PCT% of B
atleast() { awk -v a="$1" -v b="$2" -v p="$3" 'BEGIN { print (a >= b * p / 100) ? 1 : 0 }'; }
# fell FREE-FINAL FREE-AFTER BASE PCT: the reclaim took back PCT% of what
# the free cgroup held above the baseline
fell() { awk -v f="$1" -v a="$2" -v b="$3" -v p="$4" 'BEGIN { print (f - a >= (f - b) * p / 100 && f > b) ? 1 : 0 }'; }

echo
echo "In the guest:"
sed -n 's/^LAZYFREE-DEMO-SHOW /  /p' "$GLOG"
echo
# The programs really return memory lazily here (Debian's Go still honours
# madvdontneed=0; the jemalloc settings purge with MADV_FREE).
verdict "$(atleast "${LAZY[go-free]}" "$DEMO_MIB" 90)" \
	"$(go version | awk '{ print $3 }') with GODEBUG=madvdontneed=0 returns the heap with MADV_FREE (go-free LazyFree ${LAZY[go-free]} MiB, go-baseline ${LAZY[go-baseline]})"
verdict "$(atleast "${LAZY[je-free]}" "$DEMO_MIB" 90)" \
	"jemalloc $(dpkg-query -W -f='${Version}' libjemalloc-dev) purges with MADV_FREE (je-free LazyFree ${LAZY[je-free]} MiB, je-baseline ${LAZY[je-baseline]})"
for rt in go je; do
	b=$rt-baseline
	verdict "$(within "${FINAL[$rt-dontneed]}" "${FINAL[$b]}" 5 "$DEMO_MIB")" \
		"$rt-dontneed ends within 5% of the heap of $b (${FINAL[$rt-dontneed]} vs ${FINAL[$b]} MiB, tolerance $(awk -v m="$DEMO_MIB" 'BEGIN { printf "%.1f", m * 0.05 }') MiB)"
	verdict "$(atleast "${FINAL[$rt-free]}" "${PEAK[$rt-free]}" 90)" \
		"$rt-free stays near its peak until reclaim (${FINAL[$rt-free]} of ${PEAK[$rt-free]} MiB, >= 90%)"
	verdict "$(fell "${FINAL[$rt-free]}" "${AFTER[$rt-free]}" "${FINAL[$b]}" 90)" \
		"lazyfreectl reclaim $rt-free gives it back (${FINAL[$rt-free]} -> ${AFTER[$rt-free]} MiB, baseline ${FINAL[$b]})"
done
if [ -n "${FAILED_KERNEL:-}" ] || grep -q '^LAZYFREE-CHECK fail' "$GLOG" ||
	! grep -q '^LAZYFREE-RIG-END status=ok' "$GLOG"; then
	verdict 0 "guest and kernel ran cleanly (logs: $LOGDIR)"
fi


# The plot: memory.current on top, LazyFree below; one colour per mode,
# solid Go, dashed jemalloc; a line where the reclaim ran.
PNG=$OUT/memory.png
{
	echo "set terminal pngcairo size 1100,750 font 'sans,10'"
	echo "set output '$PNG'"
	echo "set multiplot layout 2,1 title 'lazyfree demo: $DEMO_MIB MiB heaps grown, dropped and returned with MADV_FREE (Linux $rel, QEMU)' noenhanced"
	echo "set key outside right top noenhanced"
	echo "set xrange [0:*]"
	echo "set grid"
	echo "set xlabel 'seconds'"
	rc=$(awk '$3 == "reclaim" { print $1; exit }' "$EVT")
	if [ -n "$rc" ]; then
		echo "set arrow from $rc, graph 0 to $rc, graph 1 nohead dt 2 lw 1.5 lc rgb 'black'"
		echo "set label 1 'lazyfreectl reclaim' at $rc, graph 0.93 left offset 0.5,0"
	fi
	plot() {
		local off=$1 sep="plot" i=0 cg color dash
		for cg in $CGS; do
			case $cg in
			*-free) color='#d62728' ;;
			*-dontneed) color='#2ca02c' ;;
			*) color='#7f7f7f' ;;
			esac
			case $cg in go-*) dash=1 ;; *) dash=2 ;; esac
			printf "%s '%s' using 1:%d with lines lw 2 dt %d lc rgb '%s' title '%s'" \
				"$sep" "$DAT" $((2 + 2 * i + off)) "$dash" "$color" "$cg"
			sep=","
			i=$((i + 1))
		done
		echo
	}
	echo "set ylabel 'memory.current (MiB)'"
	plot 0
	echo "unset label 1"
	echo "set ylabel 'LazyFree of the workload (MiB)'"
	plot 1
	echo "unset multiplot"
} >"$OUT/memory.gp"
if gnuplot "$OUT/memory.gp" 2>"$BUILD/logs/gnuplot.log"; then
	echo
	echo "plot: $PNG"
else
	cat "$BUILD/logs/gnuplot.log" >&2
	verdict 0 "gnuplot wrote $PNG"
fi
echo "data: $DAT, logs: $LOGDIR"
echo "time: $(($(now) - start)) s"
if [ "$N_FAIL" = 0 ]; then
	echo "demo: PASS"
else
	echo "demo: FAIL ($N_FAIL)"
	exit 1
fi
