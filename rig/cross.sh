# SPDX-License-Identifier: GPL-2.0
# lazyfree test rig: the tool and the tests for arm64 guests.  Sourced
# after lib.sh, deps.sh, kernels.sh and build.sh.
#
# They are cross-built on the host with Debian 12's cross compiler
# (gcc-aarch64-linux-gnu, glibc 2.36); what they need at run time in the
# guest comes from Debian 12's own arm64 packages, unpacked (never
# installed) into a sysroot in the cache, $CACHE/sysroot/arm64: the C
# library and libsmartcols for lazyfreectl, busybox and a static bash for
# the initramfs, and jemalloc's static archive for the workload test.

CROSS_SUITE=bookworm@arm64
CROSS_TRIPLET=aarch64-linux-gnu
CROSS_CC=$CROSS_TRIPLET-gcc
SYSROOT=$CACHE/sysroot/arm64
SYSROOT_PKGS="libc6 libsmartcols1 libsmartcols-dev libjemalloc2 libjemalloc-dev
	busybox-static bash-static"

# Host packages an arm64 run needs besides the usual ones.
CROSS_HOST_PKGS="gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-system-arm"
# make variables of a cross build (cross_make_vars); none for amd64
CROSS_MAKE_VARS=()
# the sysroot's headers and libraries, for a compiler run of a cross build
CROSS_CPPFLAGS=-I$SYSROOT/usr/include
CROSS_LDFLAGS=-L$SYSROOT/usr/lib/$CROSS_TRIPLET

# What a run for LF_ARCH needs on the host besides HOST_PKGS: for arm64
# the cross compiler, QEMU for aarch64 and the sysroot; nothing for amd64.
cross_ensure() {
	[ "$(cpu_arch "$LF_ARCH")" != amd64 ] || return 0
	# shellcheck disable=SC2086
	deps_install $CROSS_HOST_PKGS && sysroot_ensure
}

# Where the guest's tool is built: userspace/ itself, or for arm64 its
# cross-built copy (build_userspace_cross).
userspace_dir() {
	if [ "$(cpu_arch "$LF_ARCH")" = amd64 ]; then
		echo "$REPO/userspace"
	else
		echo "$BUILD/arm64/userspace"
	fi
}

# Unpack SYSROOT_PKGS of CROSS_SUITE into SYSROOT unless it holds exactly
# those files already.
sysroot_ensure() {
	local p debs="" want
	suite_update "$CROSS_SUITE"
	mkdir -p "$CACHE/debs"
	for p in $SYSROOT_PKGS; do
		debs="$debs $(deb_fetch "$p" "$CROSS_SUITE")" || return 1
	done
	want=$(for p in $debs; do basename "$p"; done)
	if [ -f "$SYSROOT/complete" ] && [ "$(cat "$SYSROOT/complete")" = "$want" ]; then
		return 0
	fi
	log "cross: unpacking the arm64 sysroot into $SYSROOT"
	rm -rf "$SYSROOT"
	mkdir -p "$SYSROOT"
	for p in $debs; do
		dpkg-deb -x "$p" "$SYSROOT"
	done
	echo "$want" >"$SYSROOT/complete"
}

# The library directory of the sysroot (Debian 12: /lib/<triplet>).
sysroot_libdir() {
	local d
	for d in "$SYSROOT/lib/$CROSS_TRIPLET" "$SYSROOT/usr/lib/$CROSS_TRIPLET"; do
		[ -e "$d/libc.so.6" ] && echo "$d" && return 0
	done
	return 1
}

# make variables that build the tool, the helper and the tests for
# arm64, in the array CROSS_MAKE_VARS.
cross_make_vars() {
	sysroot_libdir >/dev/null || return 1
	CROSS_MAKE_VARS=(CC="$CROSS_CC" PKG_CONFIG=false GO_ENV=GOARCH=arm64
		SMARTCOLS_CFLAGS="-I$SYSROOT/usr/include/libsmartcols"
		SMARTCOLS_LIBS="-l:libsmartcols.so.1"
		CPPFLAGS="$CROSS_CPPFLAGS" LDFLAGS="$CROSS_LDFLAGS")
}

# A path inside the sysroot with every symbolic link resolved inside it
# (Debian's links are absolute: /lib/ld-linux-aarch64.so.1 -> /lib/...).
sysroot_resolve() {
	local p=$1 t n=0
	while [ -L "$p" ] && [ $n -lt 16 ]; do
		t=$(readlink "$p")
		case $t in
		/*) p=$SYSROOT$t ;;
		*) p=$(dirname "$p")/$t ;;
		esac
		n=$((n + 1))
	done
	echo "$p"
}

# Build userspace/ for arm64 in a copy under $BUILD/arm64 (the host's
# build in userspace/ runs the host-side unit tests).  Prints nothing;
# the tool ends up in $BUILD/arm64/userspace/lazyfreectl.
build_userspace_cross() {
	local lg=$BUILD/logs/build-userspace-arm64.log dir=$BUILD/arm64/userspace
	[ -f "$REPO/userspace/Makefile" ] || return 2
	rm -rf "$dir"
	mkdir -p "$dir"
	(cd "$REPO/userspace" && tar -cf - --exclude='*.o' --exclude=lazyfreectl \
		--exclude=build .) | (cd "$dir" && tar -xf -)
	cp "$REPO/VERSION" "$dir/.."	# the Makefile reads ../VERSION
	cross_make_vars || return 1
	if ! make -C "$dir" "${CROSS_MAKE_VARS[@]}" >"$lg" 2>&1; then
		log "build: userspace for arm64 FAILED (log: $lg)"
		show_log_tail "$lg"
		return 1
	fi
	log "build: userspace for arm64: ok"
}

# The selftests for arm64 into <out>.
build_selftests_cross() {
	local out=$1 lg=$BUILD/logs/build-selftests-arm64.log
	rm -rf "$out"
	mkdir -p "$out"
	cross_make_vars || return 1
	if ! make -C "$REPO/selftests" OUT="$out" KSFT_DIR="$KSFT_DIR" \
		"${CROSS_MAKE_VARS[@]}" >"$lg" 2>&1; then
		log "build: selftests for arm64 FAILED (log: $lg)"
		show_log_tail "$lg"
		return 1
	fi
	log "build: selftests for arm64: ok ($(find "$out" -maxdepth 1 -type f -perm -u+x | wc -l) programs in $out)"
}

# The shared libraries an arm64 ELF needs, and theirs, one a line:
# "GUEST-PATH SYSROOT-FILE" for its interpreter and every DT_NEEDED.
cross_libs() {
	local libdir seen=" " todo file lib dir
	libdir=$(sysroot_libdir) || return 0
	todo=$1
	while [ -n "$todo" ]; do
		set -- $todo
		file=$1
		shift
		todo="$*"
		lib=$(readelf -l "$file" 2>/dev/null |
			sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
		case "$seen|$lib" in
		*"|" | *" $lib "*) ;;
		*)
			seen="$seen$lib "
			echo "$lib $(sysroot_resolve "$SYSROOT$lib")"
			;;
		esac
		for lib in $(readelf -d "$file" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			case $seen in *" $lib "*) continue ;; esac
			seen="$seen$lib "
			for dir in "$libdir" "$SYSROOT/usr/lib/$CROSS_TRIPLET"; do
				[ -e "$dir/$lib" ] || continue
				echo "${dir#"$SYSROOT"}/$lib $(sysroot_resolve "$dir/$lib")"
				todo="$todo $(sysroot_resolve "$dir/$lib")"
				break
			done
		done
	done
}
