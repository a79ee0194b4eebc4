# SPDX-License-Identifier: GPL-2.0
# lazyfree test rig: busybox initramfs.  Sourced after lib.sh.
#
# Use:  initramfs_base STAGE             busybox, bash, /init, guest scripts
#       initramfs_add STAGE FILE PATH    copy FILE to STAGE/PATH (and, for
#                                        a dynamic ELF, its shared libraries)
#       initramfs_pack STAGE OUT         gzip'd newc cpio
# A mode other than "check" (e.g. a demo) stages its own files under
# STAGE/lazyfree and a rig/guest/<mode>.sh, then boots with
# lazyfree_mode=<mode>.

BUSYBOX=${BUSYBOX:-/bin/busybox}

# For an arm64 guest, busybox and bash come from the sysroot (cross.sh);
# the applet list is the host busybox's, which cannot run them.
initramfs_busybox() {
	if [ "$(cpu_arch "$LF_ARCH")" = amd64 ]; then
		echo "$BUSYBOX"
	else
		echo "$SYSROOT/bin/busybox"
	fi
}

initramfs_base() {
	local stage=$1 applet
	rm -rf "$stage"
	mkdir -p "$stage"/bin "$stage"/usr "$stage"/etc "$stage"/proc "$stage"/sys \
		"$stage"/dev "$stage"/tmp "$stage"/run "$stage"/root "$stage"/mnt \
		"$stage"/lazyfree/bin "$stage"/lazyfree/tests "$stage"/lazyfree/rig
	ln -s bin "$stage/sbin"
	ln -s ../bin "$stage/usr/bin"
	ln -s ../bin "$stage/usr/sbin"
	cp "$(initramfs_busybox)" "$stage/bin/busybox"
	for applet in $(/bin/busybox --list); do
		case $applet in
		busybox | init | linuxrc) continue ;;
		esac
		ln -s busybox "$stage/bin/$applet"
	done
	# bash, for tests written for it (#!/bin/bash, #!/usr/bin/env bash).
	if [ "$(cpu_arch "$LF_ARCH")" = amd64 ]; then
		initramfs_add "$stage" /bin/bash /bin/bash
	else
		initramfs_add "$stage" "$SYSROOT/bin/bash-static" /bin/bash
	fi
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$stage/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$stage/etc/group"
	cp "$RIG_DIR/guest/init" "$stage/init"
	chmod 755 "$stage/init"
	cp "$RIG_DIR"/guest/*.sh "$stage/lazyfree/rig/"
}

# Copy FILE to STAGE/PATH; for a dynamically linked ELF also copy every
# shared library ldd lists and the dynamic loader, at the same paths.
initramfs_add() {
	local stage=$1 file=$2 path=$3
	mkdir -p "$stage$(dirname "$path")"
	cp -L "$file" "$stage$path"
	initramfs_add_libs "$file" "$stage"
}

initramfs_add_libs() {
	local file=$1 stage=$2 lib path
	head -c 4 "$file" 2>/dev/null | grep -q 'ELF' || return 0
	if [ "$(cpu_arch "$LF_ARCH")" != amd64 ]; then
		cross_libs "$file" | while read -r path lib; do
			[ -e "$stage$path" ] && continue
			mkdir -p "$stage$(dirname "$path")"
			cp -L "$lib" "$stage$path"
		done
		return 0
	fi
	ldd "$file" >/dev/null 2>&1 || return 0	# static
	for lib in $(ldd "$file" | awk '/=> \// { print $3 } /^[ \t]*\// { print $1 }'); do
		[ -e "$stage$lib" ] && continue
		mkdir -p "$stage$(dirname "$lib")"
		cp -L "$lib" "$stage$lib"
	done
}

initramfs_pack() {
	local stage=$1 out=$2
	mkdir -p "$(dirname "$out")"
	(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$out"
}
