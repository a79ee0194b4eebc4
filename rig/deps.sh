# SPDX-License-Identifier: GPL-2.0
# lazyfree test rig: host packages.  Sourced after lib.sh.
#
# Kernel images and headers are NOT host packages: kernels.sh downloads
# and unpacks them into the cache, so nothing lands in the host's /boot.

HOST_PKGS="make gcc gcc-12 libc6-dev binutils pkg-config libelf-dev
	libssl3 zlib1g pahole kmod perl qemu-system-x86 busybox-static
	cpio gzip zstd xz-utils bash coreutils python3 libsmartcols-dev debootstrap curl
	golang-go libjemalloc-dev squashfs-tools
	$KSRC_PKG"

pkg_installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# apt-get update once per run (as root); a failure is not fatal when the
# package lists are already there, so an offline warm run still works.
APT_UPDATED=
apt_update() {
	[ -n "$APT_UPDATED" ] && return 0
	APT_UPDATED=1
	is_root || return 0
	[ "${LAZYFREE_NO_APT_UPDATE:-}" = 1 ] && return 0
	log "deps: apt-get update"
	if ! apt-get -o DPkg::Lock::Timeout=300 update -qq >"$BUILD/logs/apt-update.log" 2>&1; then
		log "deps: warning: apt-get update failed (see $BUILD/logs/apt-update.log); using the lists there are"
	fi
}

# deps_install [PKGS...]: HOST_PKGS, or the packages named.
deps_install() {
	local missing="" p
	for p in ${*:-$HOST_PKGS}; do
		pkg_installed "$p" || missing="$missing $p"
	done
	if [ -z "$missing" ]; then
		log "deps: all host packages present"
		return 0
	fi
	is_root || die "missing host packages:$missing (run as root, or: apt-get install$missing)"
	apt_update
	log "deps: installing:$missing"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends $missing \
		>"$BUILD/logs/apt-install.log" 2>&1 ||
		{ tail -n 20 "$BUILD/logs/apt-install.log" >&2; die "apt-get install failed"; }
}
