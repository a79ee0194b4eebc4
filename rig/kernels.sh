# SPDX-License-Identifier: GPL-2.0
# lazyfree test rig: Debian kernels under test, unpacked into the cache.
# Sourced after lib.sh and deps.sh.
#
# Layout:  $CACHE/debs/*.deb                       downloaded packages
#          $CACHE/kernels/<rel>/vmlinuz            the image QEMU boots
#          $CACHE/kernels/<rel>/root/...           unpacked headers+kbuild
#          $CACHE/kernels/<rel>/kdir -> root/usr/src/linux-headers-<rel>
#          $CACHE/kernels/<rel>/complete           stamp: what was unpacked
#          $CACHE/kernels/.suite-<rel>             other suite it came from

. "$RIG_DIR/suites.sh"

# Release (e.g. 6.1.0-56-amd64) that an image metapackage points at today.
# META may name another suite, "bullseye:linux-image-amd64" (suites.sh);
# the suite is recorded for the release's later steps.
kernel_resolve() {
	local meta=$1 suite="" dep rel
	case $meta in
	*:*)
		suite=${meta%%:*}
		meta=${meta#*:}
		suite_update "$suite"
		;;
	esac
	# shellcheck disable=SC2046
	dep=$(apt-cache $(suite_apt_opts "$suite") depends "$meta" 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')
	[ -n "$dep" ] || die "cannot resolve ${suite:+$suite:}$meta: apt-cache depends found no linux-image-* (apt-get update?)"
	dep=${dep#linux-image-}
	rel=${dep%-unsigned}
	mkdir -p "$CACHE/kernels"
	if [ -n "$suite" ]; then
		echo "$suite" >"$CACHE/kernels/.suite-$rel"
	else
		rm -f "$CACHE/kernels/.suite-$rel"
	fi
	echo "$rel"
}

# The releases to test, one a line: every word of LAZYFREE_KERNEL_METAS
# resolved, narrowed by KERNELS, whose words are a release prefix up to a
# dot, dash or plus ("6.1" is 6.1.0-56-amd64, not 6.12.x) or a
# metapackage word.
kernels_selected() {
	local meta rel k
	for meta in $LAZYFREE_KERNEL_METAS; do
		rel=$(kernel_resolve "$meta")
		if [ -z "${KERNELS:-}" ]; then
			echo "$rel"
			continue
		fi
		for k in $KERNELS; do
			case $rel in
			"$k" | "$k".* | "$k"-* | "$k"+*) echo "$rel"; break ;;
			esac
			if [ "$meta" = "$k" ]; then
				echo "$rel"
				break
			fi
		done
	done
	return 0
}

# Exact .deb file name the archive (of suite $2, default the host's) has
# for a package (its candidate).
deb_filename() {
	# shellcheck disable=SC2046
	apt-get $(suite_apt_opts "${2:-}") download --print-uris "$1" 2>/dev/null |
		awk 'NR == 1 { print $2 }'
}

# Download a package (of suite $2, default the host's) into $CACHE/debs
# unless that exact file is there.  Prints the path of the .deb.
deb_fetch() {
	local pkg=$1 suite=${2:-} file
	file=$(deb_filename "$pkg" "$suite")
	[ -n "$file" ] || die "package $pkg not found in the archive (apt-get update?)"
	if [ ! -s "$CACHE/debs/$file" ]; then
		log "kernels: apt-get download $pkg"
		# shellcheck disable=SC2046
		(cd "$CACHE/debs" && apt-get $(suite_apt_opts "$suite") download -q "$pkg" \
			>/dev/null 2>"$BUILD/logs/apt-download.log") ||
			{ cat "$BUILD/logs/apt-download.log" >&2; die "apt-get download $pkg failed"; }
		[ -s "$CACHE/debs/$file" ] || die "apt-get download $pkg did not give $file"
	fi
	echo "$CACHE/debs/$file"
}

# The package with the kernel image: the -unsigned one (same kernel, no
# signing wrapper) where the archive has it; linux-binary-<rel> where the
# image package is only a wrapper around it (7.x).
kernel_image_pkg() {
	local rel=$1 suite pkg
	suite=$(kernel_suite "$rel")
	for pkg in "linux-image-$rel-unsigned" "linux-binary-$rel"; do
		if [ -n "$(deb_filename "$pkg" "$suite")" ]; then
			echo "$pkg"
			return 0
		fi
	done
	echo "linux-image-$rel"
}

# linux-headers-<rel> plus the -common and linux-kbuild-* it depends on.
kernel_header_pkgs() {
	local rel=$1
	echo "linux-headers-$rel"
	# shellcheck disable=SC2046
	apt-cache $(suite_apt_opts "$(kernel_suite "$rel")") depends "linux-headers-$rel" 2>/dev/null |
		awk '$1 ~ /Depends:$/ && ($2 ~ /^linux-headers-.*-common$/ || $2 ~ /^linux-kbuild-/) { print $2 }' |
		sort -u
}

kernel_dir() { echo "$CACHE/kernels/$1"; }
kernel_kdir() { echo "$CACHE/kernels/$1/kdir"; }
kernel_image() { echo "$CACHE/kernels/$1/vmlinuz"; }

# Make sure kernel <rel> is unpacked in the cache.  Skips all work (and
# the network) when the stamp matches what the archive offers.
kernel_fetch() {
	local rel=$1 dir root pkg debs="" deb want suite image
	dir=$(kernel_dir "$rel")
	root=$dir/root
	suite=$(kernel_suite "$rel")
	mkdir -p "$CACHE/debs"
	for pkg in $(kernel_image_pkg "$rel") $(kernel_header_pkgs "$rel"); do
		deb=$(deb_fetch "$pkg" "$suite")
		debs="$debs $deb"
	done
	want=$(for deb in $debs; do basename "$deb"; done)
	if [ -f "$dir/complete" ] && [ "$(cat "$dir/complete")" = "$want" ]; then
		log "kernels: $rel already unpacked"
		return 0
	fi
	log "kernels: unpacking $rel into $dir"
	rm -rf "$dir"
	mkdir -p "$root"
	for deb in $debs; do
		case $(basename "$deb") in
		linux-image-*)
			# Only /boot: the module needs nothing from the image's
			# own modules, and this keeps the cache small.
			dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$root" --wildcards './boot/*'
			;;
		linux-binary-*)
			dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$root" "./usr/lib/modules/$rel/vmlinuz"
			;;
		*)
			dpkg-deb -x "$deb" "$root"
			;;
		esac
	done
	kernel_fix_headers "$rel"
	image=root/boot/vmlinuz-$rel
	[ -f "$dir/$image" ] || image=root/usr/lib/modules/$rel/vmlinuz
	ln -s "$image" "$dir/vmlinuz"
	ln -s "root/usr/src/linux-headers-$rel" "$dir/kdir"
	[ -f "$dir/vmlinuz" ] || die "kernels: $rel: no vmlinuz in the image package"
	[ -f "$dir/kdir/Makefile" ] || die "kernels: $rel: no Makefile in linux-headers-$rel"
	echo "$want" >"$dir/complete"
}

# kernel_fetch for a script beside make check (demo, peer): the cache lock
# guards unpacking, so wait for it, unless <rel> is unpacked already and
# only read.  WHO names the script in the log.
kernel_fetch_shared() {
	local who=$1 rel=$2
	exec 9>"$CACHE/.lock"
	if ! flock -n 9; then
		if [ -f "$(kernel_dir "$rel")/complete" ]; then
			log "$who: the cache is locked by a make check; $rel is unpacked already: reading it"
		else
			log "$who: another make check uses $CACHE; waiting"
			flock 9
		fi
	fi
	kernel_fetch "$rel"
	flock -u 9
}

# Debian's per-flavour headers Makefile names the -common tree (and from
# 7.x its own output directory) by absolute /usr/src paths; point them
# (and any absolute symlink) into the cache instead.
kernel_fix_headers() {
	local rel=$1 root link target
	root=$(kernel_dir "$rel")/root
	# "include /usr/src/...", and from 7.x "KBUILD_OUTPUT=/usr/src/..."
	sed -i -E "s#^(include |KBUILD_OUTPUT *= *)/usr/src/#\\1$root/usr/src/#" \
		"$root/usr/src/linux-headers-$rel/Makefile"
	find "$root" -type l -lname '/*' | while read -r link; do
		target=$(readlink "$link")
		ln -sfn "$root$target" "$link"
	done
}

# ksrc_unpack WHO DIR [TAR ARGS...]: DIR (<parent>/$KSRC_PKG) becomes the
# installed $KSRC_PKG's tree, or the parts TAR ARGS name or exclude,
# unless DIR/complete names that version already.  WHO names the caller
# in the log.
ksrc_unpack() {
	local who=$1 dir=$2 ver tarball=/usr/src/$KSRC_PKG.tar.xz
	shift 2
	ver=$(dpkg-query -W -f='${Version}' "$KSRC_PKG" 2>/dev/null) ||
		die "$who: $KSRC_PKG is not installed (apt-get install $KSRC_PKG)"
	if [ -f "$dir/complete" ] && [ "$(cat "$dir/complete")" = "$ver" ]; then
		log "$who: $KSRC_PKG $ver already extracted"
		return 0
	fi
	[ -f "$tarball" ] || die "$who: $tarball missing (is $KSRC_PKG installed?)"
	log "$who: extracting $tarball into ${dir%/*}"
	rm -rf "$dir"
	mkdir -p "${dir%/*}"
	tar -xJf "$tarball" -C "${dir%/*}" "$@"
	echo "$ver" >"$dir/complete"
}

# The kselftest harness and checkpatch: only what the rig needs.
ksrc_fetch() {
	ksrc_unpack ksrc "$KSRC_DIR" \
		"$KSRC_PKG/tools/testing/selftests" \
		"$KSRC_PKG/tools/include" \
		"$KSRC_PKG/scripts/checkpatch.pl" \
		"$KSRC_PKG/scripts/spelling.txt" \
		"$KSRC_PKG/scripts/const_structs.checkpatch"
}
