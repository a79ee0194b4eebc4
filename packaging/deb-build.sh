#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# packaging/deb-build.sh [OUTDIR]: `make deb [ARCH=arm64]`: the Debian
# packages lazyfree-dkms (all) and lazyfreectl (any) with
# dpkg-buildpackage -us -uc, from a clean copy of the tree in
# OUTDIR/lazyfree-<version> (default $LAZYFREE_BUILD/deb/<arch>); the
# .debs, .buildinfo and .changes land in OUTDIR.  ARCH=arm64 cross-builds
# the arch-dependent package only (-a arm64 -B): lazyfree-dkms is the
# same for every architecture.  Needs the build dependencies
# (dpkg-checkbuilddeps says which are missing; for arm64 also
# `dpkg --add-architecture arm64`, crossbuild-essential-arm64,
# libsmartcols-dev:arm64 and pkgconf:arm64).  packaging/deb-check.sh runs this in a chroot.
set -u -o pipefail

. "$(dirname "$0")/../rig/lib.sh"
. "$(dirname "$0")/lib.sh"

arch=$(cpu_arch "$LF_ARCH")
out=${1:-$BUILD/deb/$arch}
version=$(cat "$REPO/VERSION")
src=$out/lazyfree-$version
opts=(-us -uc -b)
[ "$arch" != "$(dpkg --print-architecture)" ] && opts=(-us -uc -a "$arch" -B)

mkdir -p "$out"
rm -f "$out"/*.deb "$out"/*.buildinfo "$out"/*.changes
tree_copy "$src"
cd "$src" || exit 1
if ! dpkg-checkbuilddeps -a "$arch"; then
	echo "deb: install the build dependencies above (as root: apt-get install ...)" >&2
	[ "$arch" = amd64 ] ||
		echo "deb: for $arch: dpkg --add-architecture $arch; apt-get update; apt-get install crossbuild-essential-$arch libsmartcols-dev:$arch pkgconf:$arch" >&2
	exit 1
fi
nice -n 10 dpkg-buildpackage "${opts[@]}" || exit 1
cd "$out" && rm -rf "$src" && ls -1 "$out"
