#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# packaging/node-check.sh [OLD_RELEASE NEW_RELEASE]: the install paths
# without DESTDIR, on a Debian 12 node: a debootstrap'ed bookworm chroot
# with dkms, the build tools and OLD's headers (built once, kept in
# $LAZYFREE_CACHE/packaging/node-bookworm), and for each run a throw-away
# overlay on top of it.  Inside (packaging/node/run.sh): make
# dkms-install, make install [MODULE=no], make uninstall, what modprobe
# would load with which options, and DKMS building lazyfree by itself when
# NEW's headers (and so its image) are installed: a kernel upgrade.
# Default releases: the oldest and the newest host-suite kernel the rig
# unpacked (6.1 and 6.12).  Header packages come from the rig's
# $LAZYFREE_CACHE/debs.  Needs root, debootstrap and the network the first
# time.  Prints TAP, then "N passed, N failed, N skipped".
set -u -o pipefail

. "$(dirname "$0")/../rig/lib.sh"
. "$(dirname "$0")/lib.sh"

BASE=$CACHE/packaging/node-bookworm
W=$BUILD/packaging-node
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
NODE_PKGS="make gcc libc6-dev pkg-config libsmartcols-dev kmod dkms libelf-dev xz-utils openssl"
N_PASS=0
N_FAIL=0
N_SKIP=0

finish() {
	echo "$N_PASS passed, $N_FAIL failed, $N_SKIP skipped"
	[ "$N_FAIL" = 0 ]
}
fail() {
	echo "not ok - $*"
	N_FAIL=$((N_FAIL + 1))
	finish
	exit 1
}

# The node image: debootstrap, the archive's updates and security suites,
# the build tools, dkms and OLD's headers.  Rebuilt when what it should
# hold changes.
build_base() {
	local old=$1 want debs lg=$W/base.log
	debs=$(header_debs "$old") || fail "no header packages of $old in $CACHE/debs (run make check first)"
	want="$NODE_PKGS $(for d in $debs; do basename "$d"; done)"
	if [ -f "$BASE/.complete" ] && [ "$(cat "$BASE/.complete")" = "$want" ]; then
		return 0
	fi
	echo "# building the node image in $BASE (debootstrap bookworm; a few minutes)"
	rm -rf "$BASE"
	mkdir -p "$BASE"
	debootstrap --variant=minbase --include="$(echo $NODE_PKGS | tr ' ' ,)" bookworm "$BASE" "$MIRROR" \
		>"$lg" 2>&1 || { tail -n 15 "$lg" | sed 's/^/# /'; fail "debootstrap bookworm"; }
	printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s-security bookworm-security main\n' \
		"$MIRROR" "$MIRROR" "${MIRROR%/debian}/debian" >"$BASE/etc/apt/sources.list"
	cp /etc/resolv.conf "$BASE/etc/resolv.conf"
	mkdir -p "$BASE/debs-base"
	# shellcheck disable=SC2086
	cp $debs "$BASE/debs-base/"
	mount -t proc proc "$BASE/proc"
	chroot "$BASE" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends /debs-base/*.deb' >>"$lg" 2>&1
	local rc=$?
	umount "$BASE/proc"
	[ "$rc" = 0 ] || { tail -n 15 "$lg" | sed 's/^/# /'; fail "headers of $old in the node image"; }
	echo "$want" >"$BASE/.complete"
}

# The upgrade installs NEW's image too (its headers depend on it); building
# its initramfs is slow and beside the point: update-initramfs is diverted
# to true in the node image.
node_tweaks() {
	[ -L "$BASE/usr/sbin/update-initramfs" ] && return 0
	chroot "$BASE" dpkg-divert --local --rename --add /usr/sbin/update-initramfs >/dev/null &&
		ln -s /bin/true "$BASE/usr/sbin/update-initramfs"
}

trap cleanup EXIT

main() {
	local old=${1:-} new=${2:-} rels="" root=$W/root line
	if ! is_root; then
		echo "ok - node check # SKIP needs root (chroot, mounts)"
		N_SKIP=1
		finish
		return
	fi
	command -v debootstrap >/dev/null ||
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null 2>&1 ||
		fail "apt-get install debootstrap"
	if [ -z "$old" ]; then
		rels=$(cached_debian_kernels host | sort -V)
		old=$(echo "$rels" | head -n 1)
		new=$(echo "$rels" | tail -n 1)
	fi
	[ -n "$old" ] && [ -n "$new" ] && [ "$old" != "$new" ] ||
		fail "need two host-suite kernels in $CACHE/kernels (have: ${rels:-none})"
	echo "TAP version 13"
	echo "# node: Debian 12 with $old's headers; upgrade: $new"
	mkdir -p "$W" "$(dirname "$BASE")"
	exec 7>"$W.lock"
	flock 7
	build_base "$old"
	node_tweaks || fail "divert update-initramfs in the node image"
	cleanup
	rm -rf "$W/upper" "$W/work" "$root"
	mkdir -p "$W/upper" "$W/work" "$root"
	mount -t overlay overlay -o "lowerdir=$BASE,upperdir=$W/upper,workdir=$W/work" "$root" ||
		fail "overlay mount of the node image"
	MOUNTED="$root"
	mount -t proc proc "$root/proc" || fail "mount proc in the node"
	MOUNTED="$root/proc $MOUNTED"
	mkdir -p "$root/root/lazyfree" "$root/debs"
	tree_copy "$root/root/lazyfree"
	# shellcheck disable=SC2046
	cp $(header_debs "$new") "$root/debs/" || fail "no header packages of $new in $CACHE/debs"
	cp "$REPO/packaging/node/run.sh" "$REPO/packaging/node/tap.sh" "$root/root/"
	chroot "$root" /root/run.sh "$old" "$new" >"$W/run.log" 2>&1
	while IFS= read -r line; do
		case $line in
		"ok "*) N_PASS=$((N_PASS + 1)) ;;
		"not ok "*) N_FAIL=$((N_FAIL + 1)) ;;
		esac
		echo "$line"
	done <"$W/run.log"
	grep -q '^1\.\.[0-9]' "$W/run.log" || { echo "not ok - run.sh did not finish (log: $W/run.log)"; N_FAIL=$((N_FAIL + 1)); }
	cleanup
	finish
}

main "$@"
