#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# lazyfreectl reclaim takes what was lazily freed and leaves the page
# cache, in the guest (busybox ash).
#
# A cgroup (mode free) holds 100 MiB lazily freed by madvfree_helper and
# 100 MiB of page cache, a file read twice as a working set is.  The file
# is on a squashfs image (as container image layers often are) on a loop
# device: Debian builds neither driver in, so the rig puts the kernel's
# own loop.ko and squashfs.ko and the image in /lazyfree/mods/.
# `reclaim` must take >= 95% of the lazily freed memory and keep >= 90% of
# the page cache; `reclaim --all` (memory.reclaim, 5.19+) is then measured
# beside it.  Environment: LAZYFREECTL, CGROUP_ROOT, LAZYFREE_LANE,
# MADVFREE_HELPER as for lazyfreectl.sh.  Prints kselftest TAP.

T=${LAZYFREECTL:-/lazyfree/bin/lazyfreectl}
R=${CGROUP_ROOT:-/sys/fs/cgroup}
LANE=${LAZYFREE_LANE:-v2}
HELPER=${MADVFREE_HELPER:-$(dirname "$T")/madvfree_helper}
MODS=/lazyfree/mods
MIB=100		# the size of the image's file
CG=$R/lfreclaim.$$
TMP=${TMPDIR:-/tmp}/lfreclaim.$$
pids=""

. "$(dirname "$0")/lf_ktap.sh"
ktap_plan 3

skip_all() { skip_rest reclaim "$1"; }

cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	umount "$TMP/mnt" 2>/dev/null
	id=$(stat -c %i "$CG" 2>/dev/null)
	rmdir "$CG" 2>/dev/null
	rm -rf "$TMP"
	# the module forgets a removed cgroup within ~2 s: let the next test
	# start from a settled list of tracked cgroups
	i=0
	while [ -n "$id" ] && [ -d "/sys/kernel/lazyfree/cgroups/$id" ] && [ $i -lt 50 ]; do
		sleep 0.1 2>/dev/null || sleep 1
		i=$((i + 1))
	done
}
trap cleanup EXIT

[ "$LANE" = v2 ] || skip_all "cgroup v1 has no memory.reclaim"
[ -x "$HELPER" ] || skip_all "no madvfree_helper at $HELPER"
mkdir -p "$TMP"
echo +memory >"$R/cgroup.subtree_control" 2>/dev/null
mkdir "$CG" || skip_all "cannot create $CG"
[ -f $MODS/reclaim.squashfs ] || skip_all "the rig put no $MODS/reclaim.squashfs (mksquashfs)"
if [ ! -e /dev/loop-control ]; then
	[ -f $MODS/loop.ko ] || skip_all "no loop driver: not built in, and the rig put no $MODS/loop.ko"
	insmod $MODS/loop.ko || skip_all "insmod $MODS/loop.ko failed"
fi
if ! grep -q squashfs /proc/filesystems; then
	[ -f $MODS/squashfs.ko ] || skip_all "no squashfs: not built in, and the rig put no $MODS/squashfs.ko"
	insmod $MODS/squashfs.ko || skip_all "insmod $MODS/squashfs.ko failed"
fi
mkdir -p "$TMP/mnt"
mount -t squashfs -o loop,ro $MODS/reclaim.squashfs "$TMP/mnt" || skip_all "cannot mount the squashfs image"
data=$TMP/mnt/data
"$T" set "$CG" free >/dev/null || skip_all "lazyfreectl set $CG free failed"

kib() { awk -v k="$1" '$1 == k { print int($2 / 1024); exit }' "$CG/memory.stat"; }
lazy_kib() {
	local p sum=0 v
	for p in $(cat "$CG/cgroup.procs"); do
		v=$(awk '/^LazyFree:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null)
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

# fill: MIB MiB of page cache (read twice) and MIB MiB lazily freed
fill() {
	sh -c 'echo $$ >"$1/cgroup.procs" && cat "$2" >/dev/null && cat "$2" >/dev/null' \
		sh "$CG" "$data" || return 1
	rm -f "$TMP/ready"
	sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" "$3" "$4"' sh \
		"$CG" "$HELPER" "$MIB" "$TMP/ready" &
	pids="$pids $!"
	i=0
	while [ ! -s "$TMP/ready" ] && [ $i -lt 300 ]; do
		sleep 0.1 2>/dev/null || sleep 1
		i=$((i + 1))
	done
	grep -q '^ready 0 0$' "$TMP/ready" 2>/dev/null
}

# measure TAG ARGS...: reclaim with ARGS, print the figures, set
# lz0 lz1 pc0 pc1 (KiB of LazyFree and of the cgroup's page cache)
measure() {
	local tag=$1
	shift
	lz0=$(lazy_kib) pc0=$(kib file) cur0=$(cat "$CG/memory.current")
	# where lazily freed memory shows in memory.stat (the docs' PromQL)
	echo "# $tag, before: memory.stat anon $(kib anon), file $pc0," \
		"inactive_file $(kib inactive_file), active_file $(kib active_file) KiB;" \
		"LazyFree $lz0 KiB"
	"$T" -b reclaim "$@" "$CG" >"$TMP/out" 2>&1
	rc=$?
	lz1=$(lazy_kib) pc1=$(kib file) cur1=$(cat "$CG/memory.current")
	echo "# $tag: lazily freed $((lz0 / 1024)) -> $((lz1 / 1024)) MiB," \
		"page cache $((pc0 / 1024)) -> $((pc1 / 1024)) MiB," \
		"memory.current $((cur0 >> 20)) -> $((cur1 >> 20)) MiB (rc=$rc)"
	sed 's/^/#   /' "$TMP/out"
}

fill || skip_all "could not fill the cgroup (helper: $(cat "$TMP/ready" 2>/dev/null))"
measure "reclaim"
min_lz=$((MIB * 1024 * 3 / 4)) min_pc=$((MIB * 1024 * 3 / 4))
if [ "$lz0" -lt "$min_lz" ] || [ "$pc0" -lt "$min_pc" ]; then
	echo "# setup: want >= $((min_lz / 1024)) MiB of each before reclaim"
	not_ok "setup: the cgroup holds lazily freed memory and page cache"
else
	ok "setup: the cgroup holds lazily freed memory and page cache"
fi
# >= 95% of the lazily freed memory gone, >= 90% of the page cache kept
if [ "$rc" = 0 ] && [ $((lz1 * 20)) -le "$lz0" ] && [ $((pc1 * 10)) -ge $((pc0 * 9)) ]; then
	ok "reclaim: >= 95% of the lazily freed memory gone, >= 90% of the page cache kept"
else
	not_ok "reclaim: >= 95% of the lazily freed memory gone, >= 90% of the page cache kept"
fi

# the same with --all, for the figures: the page cache goes too
for p in $pids; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
pids=""
if [ ! -e "$CG/memory.reclaim" ]; then
	skip "reclaim --all" "kernel $(uname -r) has no memory.reclaim (5.19+)"
elif fill; then
	measure "reclaim --all" --all
	if [ "$rc" = 0 ] && [ $((lz1 * 20)) -le "$lz0" ]; then
		ok "reclaim --all: runs, lazily freed memory gone"
	else
		not_ok "reclaim --all: runs, lazily freed memory gone"
	fi
else
	not_ok "reclaim --all: refill"
fi
totals
