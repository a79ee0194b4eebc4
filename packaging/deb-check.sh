#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# packaging/deb-check.sh: the Debian packages (debian/), as fleets
# install kernel modules.  In a bookworm build chroot: `make deb` for
# amd64 and `make deb ARCH=arm64` (cross), versions from VERSION, lintian
# on the amd64 .changes and the arm64 .debs (no error, no warning).  Then
# per node suite (DEB_NODES, SUITE:OLD:NEW kernel lines; default
# bookworm 6.1 -> 6.12 and trixie 6.18 -> 7.3), in a chroot with OLD's
# headers and image and NEW's image (packaging/node/deb-run.sh inside):
# apt-get install of the two packages builds the module for OLD, NEW's
# headers get it built for NEW, remove keeps the conffiles, purge leaves
# the file system as before.
# The chroots are made once in $LAZYFREE_CACHE/packaging/ from a minbase
# debootstrap of each suite (kept there too), again when what they should
# hold changes (the rig fetched a newer kernel), and each run works in a
# throw-away overlay; the node's downloads are kept in
# $LAZYFREE_CACHE/packaging/apt-<suite>.  Kernel packages come from the
# rig's $LAZYFREE_CACHE/debs (make check fetches them).  Needs root,
# debootstrap, and the network the first time.  Prints TAP, then
#   N passed, N failed, N skipped
set -u -o pipefail

. "$(dirname "$0")/../rig/lib.sh"
. "$(dirname "$0")/lib.sh"
. "$RIG_DIR/suites.sh"
. "$RIG_DIR/kernels.sh"

W=$BUILD/packaging-deb
IMAGES=$CACHE/packaging
DEB_NODES=${DEB_NODES:-"bookworm:6.1:6.12 trixie:6.18:7.3"}
# The build chroot's packages (debian/control's Build-Depends, for amd64
# and arm64, and lintian); bump IMAGE_REV when an image's setup changes.
BUILD_PKGS="build-essential debhelper dh-dkms pkgconf libsmartcols-dev lintian
	crossbuild-essential-arm64 libsmartcols-dev:arm64 pkgconf:arm64"
IMAGE_REV=2

trap cleanup EXIT

# apt sources of SUITE (the rig's, rig/suites.sh), and for trixie its
# backports (its newer kernels' packages)
sources() {
	suite_sources "$1"
	[ "$1" = bookworm ] || suite_sources "$1-backports"
}

# minbase SUITE: a debootstrap'ed minbase SUITE in $IMAGES/minbase-SUITE,
# made once: the start of every image of that suite.
minbase() {
	local dir=$IMAGES/minbase-$1 lg=$W/debootstrap-$1.log lock
	exec {lock}>"$dir.lock"
	flock "$lock"
	if [ ! -f "$dir/.complete" ]; then
		echo "# debootstrap $1 into $dir (a few minutes, once)"
		rm -rf "$dir"
		mkdir -p "$dir"
		debootstrap --variant=minbase "$1" "$dir" "$DEBIAN_MIRROR" >"$lg" 2>&1 &&
			touch "$dir/.complete" || tail -n 15 "$lg" | diag
	fi
	exec {lock}>&-
	[ -f "$dir/.complete" ]
}

# image DIR SUITE KEY SETUP: DIR holds SUITE's minbase on which SETUP DIR
# ran; made again when KEY (what it should hold) changed.  Images are
# throw-away roots: dpkg skips fsync and installs no manuals, docs or
# translations, and update-initramfs is true (kernels are installed, not
# booted).
image() {
	local dir=$1 suite=$2 key="$IMAGE_REV $2 $3" setup=$4 lg=$W/image-${1##*/}.log rc=1 lock
	exec {lock}>"$dir.lock"
	flock "$lock"
	if [ -f "$dir/.complete" ] && [ "$(cat "$dir/.complete")" = "$key" ]; then
		exec {lock}>&-
		return 0
	fi
	if minbase "$suite"; then
		echo "# making $dir"
		rm -rf "$dir"
		cp -a "$IMAGES/minbase-$suite" "$dir" && rm "$dir/.complete" && image_setup "$dir" "$suite" "$setup" >"$lg" 2>&1
		rc=$?
		[ "$rc" = 0 ] && echo "$key" >"$dir/.complete"
		[ "$rc" = 0 ] || tail -n 15 "$lg" | diag
	fi
	exec {lock}>&-
	return "$rc"
}

image_setup() {
	local dir=$1 suite=$2 setup=$3 rc
	sources "$suite" >"$dir/etc/apt/sources.list"
	# the archive may be served as a snapshot: do not judge it by date
	printf 'Acquire::Check-Valid-Until "false";\nAcquire::Check-Date "false";\n' \
		>"$dir/etc/apt/apt.conf.d/99lazyfree"
	printf '%s\n' force-unsafe-io path-exclude=/usr/share/man/* path-exclude=/usr/share/locale/* \
		path-exclude=/usr/share/doc/* path-include=/usr/share/doc/*/copyright \
		>"$dir/etc/dpkg/dpkg.cfg.d/99lazyfree"
	cp /etc/resolv.conf "$dir/etc/resolv.conf"
	chroot "$dir" dpkg-divert --local --rename --add /usr/sbin/update-initramfs &&
		ln -s /bin/true "$dir/usr/sbin/update-initramfs" || return 1
	mount -t proc proc "$dir/proc" || return 1
	chroot "$dir" apt-get update -qq && "$setup" "$dir"
	rc=$?
	umount "$dir/proc"
	return "$rc"
}

# in_chroot ROOT COMMAND...: apt-get etc. inside ROOT, non-interactive
in_chroot() {
	local root=$1
	shift
	chroot "$root" env DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

setup_builder() {
	# shellcheck disable=SC2086
	in_chroot "$1" dpkg --add-architecture arm64 && in_chroot "$1" apt-get update -qq &&
		in_chroot "$1" apt-get install -y -q --no-install-recommends $BUILD_PKGS
}

# overlay LOWER NAME: a throw-away root on LOWER at $W/NAME/root (ROOT),
# with /proc
ROOT=""
overlay() {
	ROOT=$W/$2/root
	rm -rf "${W:?}/$2"
	mkdir -p "$W/$2/upper" "$W/$2/work" "$ROOT"
	mount -t overlay overlay -o "lowerdir=$1,upperdir=$W/$2/upper,workdir=$W/$2/work" "$ROOT" || return 1
	MOUNTED="$ROOT $MOUNTED"
	mount -t proc proc "$ROOT/proc" || return 1
	MOUNTED="$ROOT/proc $MOUNTED"
}

# lint LABEL ROOT FILES...: lintian inside ROOT, clean (overrides count)
lint() {
	local label=$1 root=$2 out rc
	shift 2
	out=$(in_chroot "$root" lintian --fail-on error,warning "$@" 2>&1)
	rc=$?
	out=$(echo "$out" | grep -v '^running with root privileges')
	[ -n "$out" ] && echo "$out" | diag
	[ -z "$out" ] || rc=1
	result $rc "lintian $label: no errors, no warnings (overrides with reasons in debian/)"
}

# The packages, built and linted in the build chroot; they end up in
# $W/debs/{amd64,arm64}.
build() {
	local root rc v changelog f arm conf
	overlay "$IMAGES/deb-build-bookworm" build || { not_ok "overlay of the build chroot"; return 1; }
	root=$ROOT
	tree_copy "$root/src/lazyfree"
	in_chroot "$root" sh -c 'cd /src/lazyfree && ARCH=amd64 packaging/deb-build.sh /out/amd64' \
		>"$W/build-amd64.log" 2>&1
	result $? "make deb: dpkg-buildpackage -us -uc -b (amd64)" "$W/build-amd64.log" || return 1
	in_chroot "$root" sh -c 'cd /src/lazyfree && ARCH=arm64 packaging/deb-build.sh /out/arm64' \
		>"$W/build-arm64.log" 2>&1
	arm=$?
	result $arm "make deb ARCH=arm64: dpkg-buildpackage -a arm64 -B (cross)" "$W/build-arm64.log"
	rm -rf "$W/debs"
	mkdir -p "$W/debs"
	cp -a "$root/out/amd64" "$root/out/arm64" "$W/debs/"
	# the versions: VERSION, debian/changelog, the packages, dkms.conf
	v=$(cat "$REPO/VERSION")
	rc=0
	changelog=$(in_chroot "$root" dpkg-parsechangelog -l /src/lazyfree/debian/changelog -S Version)
	[ "${changelog%-*}" = "$v" ] || { echo "# debian/changelog: $changelog, VERSION: $v"; rc=1; }
	for f in "$W"/debs/*/*.deb; do
		[ "$(dpkg-deb -f "$f" Version)" = "$changelog" ] || { echo "# ${f##*/}: $(dpkg-deb -f "$f" Version)"; rc=1; }
	done
	# (read whole: grep -q would leave tar a SIGPIPE, and pipefail fail it)
	conf=$(dpkg-deb --fsys-tarfile "$W"/debs/amd64/lazyfree-dkms_*_all.deb |
		tar -xOf - "./usr/src/lazyfree-$v/dkms.conf")
	grep -qx "PACKAGE_VERSION=\"$v\"" <<<"$conf" ||
		{ echo "# no /usr/src/lazyfree-$v/dkms.conf with PACKAGE_VERSION=\"$v\""; rc=1; }
	result $rc "versions: VERSION $v = debian/changelog's upstream = the packages' = dkms.conf's"
	check_contents
	if [ -f "$root/out/amd64/lazyfree_${changelog}_amd64.changes" ]; then
		lint "amd64 .changes" "$root" "/out/amd64/lazyfree_${changelog}_amd64.changes"
	fi
	# shellcheck disable=SC2046
	[ "$arm" = 0 ] && lint "arm64 .debs" "$root" $(cd "$root" && ls out/arm64/*.deb | sed 's|^|/|')
	cleanup
}

# What the packages hold: lazyfree-dkms exactly what make dkms-install
# installs; lazyfreectl make install MODULE=no's files at PREFIX=/usr, its
# /etc files as conffiles; the arm64 tool an AArch64 program.
check_contents() {
	local d=$W/contents rc=0 want have v
	v=$(cat "$REPO/VERSION")
	rm -rf "$d"
	mkdir -p "$d"
	make -s -C "$REPO" dkms-install DESTDIR="$d/ref" >"$d/ref.log" 2>&1 || { diag <"$d/ref.log"; rc=1; }
	want=$(cd "$d/ref" && find . -type f | LC_ALL=C sort)
	have=$(dpkg-deb -c "$W"/debs/amd64/lazyfree-dkms_*_all.deb | awk '$1 !~ /^d/ { print $6 }' |
		grep '^\./usr/src/' | LC_ALL=C sort)
	same_list lazyfree-dkms "$want" "$have" || rc=1
	want=$(LC_ALL=C sort <<-EOF
		./etc/lazyfree.conf
		./etc/modprobe.d/lazyfree.conf
		./lib/systemd/system/lazyfree-apply.service
		./lib/systemd/system/lazyfree-apply.timer
		./lib/systemd/system/lazyfree.service
		./usr/sbin/lazyfreectl
		./usr/share/doc/lazyfreectl/changelog.Debian.gz
		./usr/share/doc/lazyfreectl/copyright
		./usr/share/lintian/overrides/lazyfreectl
		./usr/share/man/man8/lazyfreectl.8.gz
	EOF
	)
	have=$(dpkg-deb -c "$W"/debs/amd64/lazyfreectl_*_amd64.deb | awk '$1 !~ /^d/ { print $6 }' | LC_ALL=C sort)
	same_list lazyfreectl "$want" "$have" || rc=1
	dpkg-deb --ctrl-tarfile "$W"/debs/amd64/lazyfreectl_*_amd64.deb | tar -xOf - ./conffiles >"$d/conffiles"
	same_list conffiles "$(printf '/etc/lazyfree.conf\n/etc/modprobe.d/lazyfree.conf')" \
		"$(LC_ALL=C sort "$d/conffiles")" || rc=1
	if [ -f "$(echo "$W"/debs/arm64/lazyfreectl_*_arm64.deb)" ]; then
		dpkg-deb -x "$W"/debs/arm64/lazyfreectl_*_arm64.deb "$d/arm64"
		grep -q 'Machine: *AArch64' <<<"$(readelf -h "$d/arm64/usr/sbin/lazyfreectl" 2>&1)" ||
			{ echo "# the arm64 package's lazyfreectl is not an AArch64 program"; rc=1; }
	else
		echo "# no arm64 lazyfreectl package"
		rc=1
	fi
	result $rc "contents: lazyfree-dkms = make dkms-install; lazyfreectl = tool, man page, units, /etc conffiles; arm64 tool is AArch64"
}

# newest_release LINE: the newest amd64 release (no flavour) of a kernel
# line whose headers the rig cached
newest_release() {
	local line=$1
	ls "$CACHE"/debs/ 2>/dev/null | sed -n "s/^linux-headers-\(${line//./\\.}\.[^_]*-amd64\)_.*/\1/p" |
		grep -v -E -- '-(cloud|rt)-amd64$' | sort -V | tail -n 1
}

# node_debs REL: REL's header packages, its image (where the rig cached
# it: linux-image-REL-unsigned, from 7.x linux-binary-REL and
# linux-modules-REL) and linux-base-REL where they depend on it (from 6.18; a suite's
# index may list only its newest line, so it is fetched from the pool by
# name, as the rig fetches the headers: rig/kernels.sh deb_fetch)
node_debs() {
	local rel=$1 ver p
	header_debs "$rel" || return 1
	for p in "linux-image-$rel-unsigned" "linux-binary-$rel" "linux-modules-$rel"; do
		ls "$CACHE/debs/${p}_"*.deb 2>/dev/null | tail -n 1
	done
	ver=$(dpkg-deb -f "$(header_debs "$rel" | head -n 1)" Depends | tr ',' '\n' |
		sed -n "s/^ *linux-base-${rel//./\\.} (= \(.*\))$/\1/p" | head -n 1)
	[ -z "$ver" ] || (deb_fetch "linux-base-$rel" "" "$ver" amd64) || return 1
}

# The node image of a suite: OLD's headers and image, NEW's image and
# the rest of what NEW's headers need (not the headers: the update).
# initramfs-tools first: its update-initramfs is diverted to true, while
# dracut (trixie's images' first choice) would build an initramfs.
NODE_PKGS="initramfs-tools"
NODE_DEBS=""
K2_HEADERS=""
setup_node() {
	local root=$1
	mkdir -p "$root/debs-base"
	# shellcheck disable=SC2086
	cp $NODE_DEBS "$root/debs-base/" &&
		in_chroot "$root" apt-get install -y -q --no-install-recommends $NODE_PKGS &&
		in_chroot "$root" sh -c 'apt-get install -y -q --no-install-recommends /debs-base/*.deb' &&
		in_chroot "$root" apt-get satisfy -y -q --no-install-recommends \
			"$(dpkg-deb -f "$K2_HEADERS" Depends)" &&
		rm -rf "$root/debs-base"
}

# node_plan SUITE OLD NEW: K1 and K2, the newest cached releases of the
# lines OLD and NEW, K2_HEADERS, and NODE_DEBS, what the node image holds
K1=""
K2=""
node_plan() {
	K1=$(newest_release "$2")
	K2=$(newest_release "$3")
	if [ -z "$K1" ] || [ -z "$K2" ]; then
		echo "# no cached headers of Linux $2 and $3 in $CACHE/debs (make check fetches them)"
		return 2
	fi
	K2_HEADERS=$(header_debs "$K2" | head -n 1)
	# NEW's packages but its headers: those arrive in the run
	NODE_DEBS=$(node_debs "$K1" 2>"$W/fetch-$1.log" && node_debs "$K2" 2>>"$W/fetch-$1.log" |
		grep -v -F "$K2_HEADERS") || { diag <"$W/fetch-$1.log"; return 1; }
}

# node_image SUITE OLD NEW: the node image of SUITE (exit 2: no kernels)
node_image() {
	node_plan "$@" || return
	# shellcheck disable=SC2086
	image "$IMAGES/deb-node-$1" "$1" "$NODE_PKGS $(basename -a $NODE_DEBS | tr '\n' ' ')" setup_node
}

# node SUITE OLD NEW: the run in a throw-away overlay of the node image
node() {
	local suite=$1 root line lg=$W/node-$1.log
	node_plan "$@" >/dev/null || return
	echo "# $suite node: $K1, update to $K2"
	overlay "$IMAGES/deb-node-$suite" "node-$suite" || { not_ok "$suite: overlay of the node image"; return; }
	root=$ROOT
	mkdir -p "$IMAGES/apt-$suite/partial" "$root/root/debs"
	mount --bind "$IMAGES/apt-$suite" "$root/var/cache/apt/archives" &&
		MOUNTED="$root/var/cache/apt/archives $MOUNTED"
	cp "$W"/debs/amd64/lazyfree-dkms_*_all.deb "$W"/debs/amd64/lazyfreectl_*_amd64.deb "$K2_HEADERS" \
		"$root/root/debs/"
	cp "$REPO/packaging/node/deb-run.sh" "$REPO/packaging/node/tap.sh" "$root/root/"
	chroot "$root" /root/deb-run.sh "$K1" "$K2" >"$lg" 2>&1
	while IFS= read -r line; do
		case $line in
		"ok "*) ok "$suite: ${line#ok * - }" ;;
		"not ok "*) not_ok "$suite: ${line#not ok * - }" ;;
		"#"*) echo "$line" ;;
		esac
	done <"$lg"
	grep -q '^1\.\.[0-9]' "$lg" || not_ok "$suite: deb-run.sh did not finish (log: $lg)"
	# the module of the host suite's newer kernel, for packaging/vm-check.sh's guest
	[ "$suite" = bookworm ] && [ -d "$root/root/vm/$K2" ] && mkdir -p "$W/vm" && cp -a "$root/root/vm/$K2" "$W/vm/"
	cleanup
}

# start NAME COMMAND...: COMMAND in the background, its output kept;
# join NAME: wait for it and print the output, with its exit status
declare -A JOBS
start() {
	local name=$1
	shift
	"$@" >"$W/$name.out" 2>&1 &
	JOBS[$name]=$!
}
join() {
	local rc=0
	wait "${JOBS[$1]}" || rc=$?
	cat "$W/$1.out"
	return "$rc"
}

main() {
	local start nodes n rc
	start=$(now)
	echo "TAP version 13"
	if ! is_root; then
		skip "Debian packages" "needs root (chroot, mounts)"
		finish
		return
	fi
	mkdir -p "$W" "$IMAGES" "$BUILD/logs"
	exec 7>"$W.lock"
	flock -n 7 || { echo "# another packaging/deb-check.sh uses $W; waiting"; flock 7; }
	rm -rf "$W/vm"
	if ! install_deps "$W/apt-install.log" debootstrap binutils make; then
		not_ok "host packages: debootstrap binutils make"
		finish
		return
	fi
	# the images at once (a cold cache: two debootstraps and three rounds
	# of apt-get), then the build and the nodes one after the other
	# shellcheck disable=SC2086
	start builder image "$IMAGES/deb-build-bookworm" bookworm "$(echo $BUILD_PKGS)" setup_builder
	for n in $DEB_NODES; do
		IFS=: read -r -a nodes <<<"$n"
		start "node-${nodes[0]}" node_image "${nodes[@]}"
	done
	if ! join builder; then
		not_ok "build chroot (bookworm, $BUILD_PKGS)"
	elif build; then
		for n in $DEB_NODES; do
			IFS=: read -r -a nodes <<<"$n"
			rc=0
			join "node-${nodes[0]}" || rc=$?
			case $rc in
			0) node "${nodes[@]}" ;;
			2) skip "${nodes[0]} node: install, kernel update, remove, purge" "no cached kernel packages" ;;
			*) not_ok "${nodes[0]} node image (Linux ${nodes[1]}'s headers and image, ${nodes[2]}'s image)" ;;
			esac
		done
	fi
	wait
	cleanup
	echo "# $(($(now) - start)) s"
	echo "1..$N"
	finish
}

main "$@"
