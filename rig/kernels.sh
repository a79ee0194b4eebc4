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

# kernel_record REL SUITE: note the suite REL came from ("" for the
# host's) for its later steps, and print REL.
kernel_record() {
	mkdir -p "$CACHE/kernels"
	if [ -n "$2" ]; then
		echo "$2" >"$CACHE/kernels/.suite-$1"
	else
		rm -f "$CACHE/kernels/.suite-$1"
	fi
	echo "$1"
}

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
	kernel_record "$rel" "$suite"
}

# The Debian flavour of a kernel word's flavour suffix on ARCH: "" is the
# generic one (amd64, arm64, arm64-16k), cloud and rt the others.
debian_flavour() {
	local fl=$1 arch=$2
	case $fl in
	"") echo "$arch" ;;
	cloud | rt)
		[ "$arch" != arm64-16k ] || return 1
		echo "$fl-$arch"
		;;
	*) return 1 ;;
	esac
}

# kernel_resolve_word WORD: the newest release of a kernel word
# (LINE[-FLAVOUR], see lib.sh) on LF_ARCH in its line's suite, e.g.
# 6.18-rt -> 6.18.15+deb13-rt-amd64.  The suite is recorded for the
# release's later steps.
kernel_resolve_word() {
	local word=$1 line fl="" flavour suite="" entry rel re
	line=${word%%-*}
	[ "$line" = "$word" ] || fl=${word#*-}
	flavour=$(debian_flavour "$fl" "$LF_ARCH") ||
		die "kernel '$word': no flavour '$fl' on $LF_ARCH (flavours: cloud, rt; none on arm64-16k)"
	for entry in $(arch_var LINES "$LF_ARCH"); do
		[ "${entry%%:*}" = "$line" ] && suite=${entry#*:}
	done
	[ -n "$suite" ] || die "kernel '$word': line $line is not one the rig knows on $LF_ARCH: $(arch_var LINES "$LF_ARCH")"
	[ "$suite" != host ] || suite=""
	[ -z "$suite" ] || [ "$LF_ARCH" = amd64 ] || suite="$suite@$(cpu_arch "$LF_ARCH")"
	[ -z "$suite" ] || suite_update "$suite"
	# 6.1.0-56-amd64, 6.12.117+deb12-amd64, 7.3.4+deb13-rt-amd64
	re="^linux-image-${line//./\\.}(\\.[0-9]+)*(-[0-9]+|\\+deb[0-9]+)?-$flavour\$"
	# shellcheck disable=SC2046
	rel=$(apt-cache $(suite_apt_opts "$suite") pkgnames linux-image- 2>/dev/null |
		grep -E "$re" | sed 's/^linux-image-//' | sort -V | tail -n 1)
	[ -n "$rel" ] || die "kernel '$word': no linux-image-$line*-$flavour in ${suite:-the host suite} (apt-get update?)"
	kernel_record "$rel" "$suite"
}

# The releases to test, one a line: the words of KERNELS (default: the
# architecture's DEFAULT_KERNELS) resolved on LF_ARCH.
kernels_selected() {
	local k
	for k in ${KERNELS:-$(arch_var DEFAULT_KERNELS "$LF_ARCH")}; do
		kernel_resolve_word "$k" || return 1
	done
}

# The kernel word a release was resolved from: its line and flavour
# (6.18.15+deb13-rt-amd64 -> 6.18-rt).
kernel_word() {
	local rel=$1 line fl
	line=$(echo "$rel" | sed -E 's/^([0-9]+\.[0-9]+).*/\1/')
	case $rel in
	*-cloud-*) fl=-cloud ;;
	*-rt-*) fl=-rt ;;
	*) fl="" ;;
	esac
	echo "$line$fl"
}

# The CPU architecture of a release: amd64 or arm64.
kernel_arch() {
	case $1 in
	*-arm64 | *-arm64-16k) echo arm64 ;;
	*) echo amd64 ;;
	esac
}

# Exact .deb file name the archive (of suite $2, default the host's) has
# for a package (its candidate).
deb_filename() {
	# shellcheck disable=SC2046
	apt-get $(suite_apt_opts "${2:-}") download --print-uris "$1" 2>/dev/null |
		awk 'NR == 1 { print $2 }'
}

# The version of a package in suite $2's index ("" if it is not there).
deb_version() {
	# shellcheck disable=SC2046
	apt-cache $(suite_apt_opts "${2:-}") show "$1" 2>/dev/null |
		awk '$1 == "Version:" { print $2; exit }'
}

# Download a package (of suite $2, default the host's) into $CACHE/debs
# unless that exact file is there.  Prints the path of the .deb.
#
# A suite's index lists only the newest build of the kernel's source
# package (the signed images keep older lines listed), so a package of
# another line, e.g. 6.18's headers in trixie-backports once 7.x came,
# is fetched from the archive's pool by name: $3 is its version (that
# of the line's image) and $4 its architecture ("all" for -common).
deb_fetch() {
	local pkg=$1 suite=${2:-} ver=${3:-} arch=${4:-} file url=""
	file=$(deb_filename "$pkg" "$suite")
	if [ -z "$file" ] && [ -n "$ver" ]; then
		file=${pkg}_${ver#*:}_$arch.deb
		url=$DEBIAN_MIRROR/pool/main/l/linux/$file
	fi
	[ -n "$file" ] || die "package $pkg not found in the archive (apt-get update?)"
	if [ ! -s "$CACHE/debs/$file" ]; then
		log "kernels: download $pkg${url:+ (from the pool)}"
		if [ -n "$url" ]; then
			{ curl -fsS -o "$CACHE/debs/$file.part" "$url" 2>"$BUILD/logs/apt-download.log" &&
				mv "$CACHE/debs/$file.part" "$CACHE/debs/$file"; } ||
				{ cat "$BUILD/logs/apt-download.log" >&2; die "download of $url failed"; }
		else
			# shellcheck disable=SC2046
			(cd "$CACHE/debs" && apt-get $(suite_apt_opts "$suite") download -q "$pkg" \
				>/dev/null 2>"$BUILD/logs/apt-download.log") ||
				{ cat "$BUILD/logs/apt-download.log" >&2; die "apt-get download $pkg failed"; }
		fi
		[ -s "$CACHE/debs/$file" ] || die "download of $pkg did not give $file"
	fi
	echo "$CACHE/debs/$file"
}

# The version of release <rel>'s packages: that of its image package.
kernel_version() {
	deb_version "linux-image-$1" "$(kernel_suite "$1")"
}

# The package with the kernel image: the -unsigned one (same kernel, no
# signing wrapper), or linux-binary-<rel> where the image package is only
# a wrapper around it (7.x).  A line whose index keeps only the signed
# image (6.18 next to 7.x) has them in the pool all the same.
kernel_image_pkg() {
	local rel=$1 suite pkg
	suite=$(kernel_suite "$rel")
	for pkg in "linux-image-$rel-unsigned" "linux-binary-$rel"; do
		if [ -n "$(deb_filename "$pkg" "$suite")" ]; then
			echo "$pkg"
			return 0
		fi
	done
	case $rel in
	[0-6].*) echo "linux-image-$rel-unsigned" ;;
	*) echo "linux-binary-$rel" ;;
	esac
}

# The .debs of release <rel>, one a line: the image package, then the
# headers and the -common and linux-kbuild-* packages they depend on
# (read from the headers package itself, which may come from the pool).
# For another architecture linux-kbuild is the host's: its programs
# (fixdep, modpost) run on the build machine.
kernel_debs() {
	local rel=$1 suite ver arch hdr dep
	suite=$(kernel_suite "$rel")
	ver=$(kernel_version "$rel")
	arch=$(kernel_arch "$rel")
	deb_fetch "$(kernel_image_pkg "$rel")" "$suite" "$ver" "$arch" || return 1
	hdr=$(deb_fetch "linux-headers-$rel" "$suite" "$ver" "$arch") || return 1
	echo "$hdr"
	for dep in $(dpkg-deb -f "$hdr" Depends | tr ',' '\n' | awk '{ print $1 }' |
		grep -E '^linux-(headers-.*-common(-rt)?|kbuild-.*)$' | sort -u); do
		case $dep in
		linux-kbuild-*)
			[ -z "$suite" ] || suite_update "${suite%@*}"
			deb_fetch "$dep" "${suite%@*}" "$ver" amd64
			;;
		*) deb_fetch "$dep" "$suite" "$ver" all ;;
		esac || return 1
	done
}

# The compiler packages the headers of <rel> ask for (gcc-14,
# gcc-14-for-host), for the build machine: a cross compiler for arm64.
kernel_compiler_pkgs() {
	local rel=$1 hdr cc
	hdr=$(ls "$CACHE"/debs/linux-headers-"$rel"_*.deb 2>/dev/null | tail -n 1)
	[ -n "$hdr" ] || return 0
	for cc in $(dpkg-deb -f "$hdr" Depends | tr ',|' '\n\n' | awk '{ print $1 }' |
		grep -E '^(gcc-[0-9]+|linux-compiler-gcc)' | sed 's/:.*//' | sort -u); do
		case $(kernel_arch "$rel") in
		arm64) echo "${cc%-for-host}-aarch64-linux-gnu" ;;
		*) echo "$cc" ;;
		esac
	done
}

kernel_dir() { echo "$CACHE/kernels/$1"; }
kernel_kdir() { echo "$CACHE/kernels/$1/kdir"; }
kernel_image() { echo "$CACHE/kernels/$1/vmlinuz"; }

# Make sure kernel <rel> is unpacked in the cache.  Skips all work (and
# the network) when the stamp matches what the archive offers.
kernel_fetch() {
	local rel=$1 dir root debs deb want image
	dir=$(kernel_dir "$rel")
	root=$dir/root
	mkdir -p "$CACHE/debs"
	debs=$(kernel_debs "$rel") || return 1
	want=$(for deb in $debs; do basename "$deb"; done)
	if [ -f "$dir/complete" ] && [ "$(cat "$dir/complete")" = "$want" ]; then
		log "kernels: $rel already unpacked"
		kernel_unpack_btf "$rel"
		return
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
	kernel_unpack_btf "$rel"
	echo "$want" >"$dir/complete"
}

# The kernel's loop.ko and squashfs.ko, uncompressed, into <outdir>:
# lazyfree_reclaim.sh reads page cache from a squashfs image on a loop
# device, and Debian builds neither in.  From the image package, or
# linux-modules-<rel> where the image is linux-binary-<rel> (7.x); cached
# in $CACHE/kernels/<rel>/mods/.  A driver the kernel has built in is
# skipped; returns 1 (logged) where the archive lacks one, or the kernel's
# configuration has the driver off (the rig's own debug kernel may).
KERNEL_FS_MODS="BLK_DEV_LOOP:drivers/block/loop SQUASHFS:fs/squashfs/squashfs"

kernel_fs_mods() {
	local rel=$1 out=$2 dir pkg deb f m config path name
	dir=$(kernel_dir "$rel")/mods
	config=$(kernel_kdir "$rel")/.config
	mkdir -p "$dir" "$out"
	for m in $KERNEL_FS_MODS; do
		grep -q "^CONFIG_${m%%:*}=y" "$config" 2>/dev/null && continue
		if grep -q "^# CONFIG_${m%%:*} is not set" "$config" 2>/dev/null; then
			log "kernels: $rel: CONFIG_${m%%:*} is not set"
			return 1
		fi
		path=${m#*:}
		name=${path##*/}.ko
		if [ ! -s "$dir/$name" ]; then
			if [ -z "${deb:-}" ]; then
				pkg=$(kernel_image_pkg "$rel")
				case $pkg in linux-binary-*) pkg=linux-modules-$rel ;; esac
				# deb_fetch dies on failure: a subshell keeps the run going
				deb=$( (deb_fetch "$pkg" "$(kernel_suite "$rel")" "$(kernel_version "$rel")" \
					"$(kernel_arch "$rel")") ) || { log "kernels: $rel: no $pkg for $name"; return 1; }
			fi
			rm -rf "$dir/tmp"
			mkdir -p "$dir/tmp"
			dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir/tmp" --wildcards "*/kernel/$path.ko*"
			f=$(find "$dir/tmp" -name "$name*" | head -n 1)
			case $f in
			*.ko.xz) xz -dc "$f" ;;
			*.ko.zst) zstd -dc "$f" ;;
			*.ko.gz) gzip -dc "$f" ;;
			*.ko) cat "$f" ;;
			*) false ;;
			esac >"$dir/$name.part" && mv "$dir/$name.part" "$dir/$name"
			rm -rf "$dir/tmp" "$dir/$name.part"
			[ -s "$dir/$name" ] || { log "kernels: $rel: no $name in ${pkg:-the package}"; return 1; }
		fi
		cp "$dir/$name" "$out/$name"
	done
}

# The load gate checks a build against its kernel's BTF: where the headers
# carry no vmlinux (Debian's before 6.12), unpack the image's own.
kernel_unpack_btf() {
	local dir
	dir=$(kernel_dir "$1")
	[ ! -f "$dir/kdir/vmlinux" ] && [ ! -f "$dir/vmlinux" ] || return 0
	sh "$REPO/module/gate.sh" --unpack "$dir/vmlinuz" "$dir/vmlinux.tmp" ||
		die "kernels: $1: no ELF kernel (for its BTF) found in $dir/vmlinuz"
	mv "$dir/vmlinux.tmp" "$dir/vmlinux"
}

# The BTF the module build of <rel> checks against when its headers carry
# none (LF_BTF for module/gate.sh), or nothing.
kernel_btf() {
	local dir
	dir=$(kernel_dir "$1")
	[ ! -f "$dir/kdir/vmlinux" ] && [ -f "$dir/vmlinux" ] && echo "$dir/vmlinux"
	return 0
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
