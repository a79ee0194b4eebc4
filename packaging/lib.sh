# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# packaging/lib.sh: helpers of the packaging checks (check.sh,
# node-check.sh, deb-check.sh).  Sourced after rig/lib.sh, never run.

# ---- TAP --------------------------------------------------------------
N=0
N_PASS=0
N_FAIL=0
N_SKIP=0
ok() { N=$((N + 1)); N_PASS=$((N_PASS + 1)); echo "ok $N - $*"; }
not_ok() { N=$((N + 1)); N_FAIL=$((N_FAIL + 1)); echo "not ok $N - $*"; }
skip() { N=$((N + 1)); N_SKIP=$((N_SKIP + 1)); echo "ok $N - $1 # SKIP $2"; }
diag() { sed 's/^/# /'; }
# result RC DESCRIPTION [LOG]: ok when RC is 0, else not ok with the log's tail
result() {
	if [ "$1" = 0 ]; then
		ok "$2"
	else
		[ -n "${3:-}" ] && [ -f "$3" ] && tail -n 25 "$3" | diag
		not_ok "$2"
	fi
}
finish() {
	echo "$N_PASS passed, $N_FAIL failed, $N_SKIP skipped"
	[ "$N_FAIL" = 0 ]
}

# same_list NAME WANT HAVE: compare two sorted lists, print the difference
same_list() {
	if [ "$2" = "$3" ]; then
		return 0
	fi
	diff <(echo "$2") <(echo "$3") | sed "s/^</missing:/; s/^>/unexpected:/" | grep -v '^[0-9]' | diag
	return 1
}

# install_deps LOG PKG...: apt-get install those of PKG missing on the
# host (root only); the output goes to LOG.
install_deps() {
	local lg=$1 p missing=""
	shift
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if ! is_root; then
		echo "# missing host packages:$missing (run as root, or apt-get install$missing)"
		return 1
	fi
	echo "# apt-get install$missing"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q \
		--no-install-recommends $missing >"$lg" 2>&1 || {
		[ "${LAZYFREE_NO_APT_UPDATE:-}" = 1 ] || apt-get update -qq >>"$lg" 2>&1
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q \
			--no-install-recommends $missing >>"$lg" 2>&1
	}
}

# tree_copy DEST: a clean copy of the tree (no build products, no .git,
# no debian/ build directories), as a user's checkout.
tree_copy() {
	rm -rf "$1"
	mkdir -p "$1"
	(cd "$REPO" && tar -cf - --exclude=./build --exclude=./.git --exclude='*.o' \
		--exclude='*.ko' --exclude='*.mod' --exclude='*.mod.c' --exclude='.*.cmd' \
		--exclude='*.order' --exclude='Module.symvers' --exclude=./userspace/lazyfreectl \
		--exclude=./userspace/tests/build --exclude=./debian/.debhelper --exclude=./debian/tmp \
		--exclude=./debian/lazyfree-dkms --exclude=./debian/lazyfreectl \
		--exclude=./debian/lazyfreectl-dbgsym --exclude=./debian/files \
		--exclude='./debian/*.substvars' --exclude=./debian/debhelper-build-stamp .) |
		(cd "$1" && tar -xf -)
}

# Kernel module suffix for a kernel's config: .ko, .ko.xz, .ko.gz, .ko.zst
ko_suffix() {
	local config=$1/.config
	if grep -q '^CONFIG_MODULE_COMPRESS_ALL=y' "$config" || ! grep -q '^CONFIG_MODULE_COMPRESS_ALL' "$config"; then
		grep -q '^CONFIG_MODULE_COMPRESS_XZ=y' "$config" && { echo .ko.xz; return; }
		grep -q '^CONFIG_MODULE_COMPRESS_GZIP=y' "$config" && { echo .ko.gz; return; }
		grep -q '^CONFIG_MODULE_COMPRESS_ZSTD=y' "$config" && { echo .ko.zst; return; }
	fi
	echo .ko
}

# header_debs REL: the .debs of linux-headers-REL and the -common and
# linux-kbuild-* packages it depends on, from the rig's cache
header_debs() {
	local rel=$1 deb dep
	deb=$(ls "$CACHE/debs/linux-headers-${rel}_"*.deb 2>/dev/null | tail -n 1)
	[ -n "$deb" ] || return 1
	echo "$deb"
	for dep in $(dpkg-deb -f "$deb" Depends | tr ',' '\n' | awk '{ print $1 }' |
		grep -E '^linux-(headers-.*-common|kbuild-)'); do
		ls "$CACHE/debs/${dep}_"*.deb 2>/dev/null | tail -n 1
	done
}

# Mount points a chroot check made, newest first; cleanup unmounts them
# (the checks call it, and trap it on EXIT).
MOUNTED=""
cleanup() {
	local m
	for m in $MOUNTED; do umount "$m" 2>/dev/null || umount -l "$m"; done
	MOUNTED=""
}
