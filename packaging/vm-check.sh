#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# packaging/vm-check.sh [RELEASE...]: in QEMU, the installed lazyfree
# brings a node to its configured policy.  For each kernel the rig
# unpacked: `make install DESTDIR=<initramfs>` (module, tool, unit,
# configs) and depmod, kmod's modprobe as /sbin/modprobe, then the guest
# (packaging/guest/install.sh, mode "install") runs the unit's ExecStart=
# and ExecReload= lines and checks modules, options and modes.
# Kernels of another Debian suite than the host's are skipped (see
# check.sh).  Prints TAP per kernel (the guest's), then
#   N passed, N failed, N skipped
# and exits non-zero on any failure.  Needs `make check`'s host packages
# and kernels (rig/deps.sh, rig/kernels.sh); logs in build/logs/install-<rel>.
# Where packaging/deb-check.sh saved the module DKMS built from the
# lazyfree-dkms package (6.12, in its bookworm node), the same guest runs
# once more on the packages' files (vm_deb).
set -u -o pipefail

. "$(dirname "$0")/../rig/lib.sh"
. "$RIG_DIR/kernels.sh"
. "$RIG_DIR/initramfs.sh"
. "$RIG_DIR/qemu.sh"
. "$RIG_DIR/scan.sh"

W=$BUILD/packaging-vm
N_PASS=0
N_FAIL=0
N_SKIP=0

# stage_failed LOG WHAT: laying out an install failed; LOG's tail says why
stage_failed() {
	tail -n 20 "$1" | sed 's/^/# /'
	echo "not ok - $2"
	N_FAIL=$((N_FAIL + 1))
}

# boot_install REL STAGE LOGDIR LABEL TOOL: TOOL's libraries and kmod as
# modprobe in STAGE, then boot REL on it in the guest's install mode; its
# TAP lines, named LABEL, and the scanners' verdicts are counted
boot_install() {
	local rel=$1 stage=$2 logdir=$3 label=$4 tool=$5 out p f s
	initramfs_add_libs "$stage$tool" "$stage"
	# kmod as modprobe (busybox's applet link goes first: cp would
	# write through it into busybox)
	rm -f "$stage/bin/modprobe"
	initramfs_add "$stage" "$(readlink -f /sbin/modprobe)" /bin/kmod
	ln -s kmod "$stage/bin/modprobe"
	initramfs_pack "$stage" "$stage.gz"
	qemu_boot "$(kernel_image "$rel")" "$stage.gz" "$logdir" "$LAZYFREE_BOOT_TIMEOUT" \
		lazyfree_mode=install lazyfree_lane=v2
	tr -d '\r' <"$logdir/guest.log" | grep -E '^(ok|not ok|#)' | sed "s/^\(\(not \)\?ok\) [0-9]* -/\1 - $label:/"
	out=$( { scan_guest "$logdir/guest.log" "$(cat "$logdir/status")"; scan_console "$logdir/console.log"; } )
	echo "$out" | grep -v '^COUNTS' | sed 's/^/# /'
	read -r p f s <<<"$(echo "$out" | awk '$1 == "COUNTS" { p += $2; f += $3; s += $4 } END { print p + 0, f + 0, s + 0 }')"
	N_PASS=$((N_PASS + p))
	N_FAIL=$((N_FAIL + f))
	N_SKIP=$((N_SKIP + s))
}

vm_kernel() {
	local rel=$1 kdir stage src lg logdir btf
	kdir=$(kernel_kdir "$rel")
	stage=$W/stage-$rel
	src=$W/src
	lg=$W/install-$rel.log
	logdir=$BUILD/logs/install-$rel
	echo "# $rel: make install DESTDIR=<initramfs>"
	initramfs_base "$stage"
	cp "$REPO/packaging/guest/install.sh" "$stage/lazyfree/rig/install.sh"
	# the load gate reads the kernel's BTF: Debian's headers before 6.12
	# carry none, and this host does not run that kernel (kernel_btf)
	btf=$(kernel_btf "$rel")
	if ! make -C "$src" install DESTDIR="$stage" KDIR="$kdir" ${btf:+LF_BTF="$btf"} >"$lg" 2>&1 ||
		! depmod -b "$stage" "$rel" >>"$lg" 2>&1; then
		stage_failed "$lg" "$rel: make install DESTDIR + depmod"
		return
	fi
	boot_install "$rel" "$stage" "$logdir" "$rel" /usr/local/sbin/lazyfreectl
}

# vm_deb REL: the same guest on what the Debian packages installed:
# lazyfreectl's files (tool in /usr/sbin, units, configs) and the module
# DKMS built for REL in packaging/deb-check.sh's bookworm node (saved in
# $DEB_VM/REL), in updates/dkms/ with depmod run, loaded by the unit's
# `modprobe lazyfree`.  Skipped without a deb-check.sh run for REL.
DEB_W=$BUILD/packaging-deb
DEB_VM=$DEB_W/vm
vm_deb() {
	local rel=$1 stage=$W/stage-deb-$1 lg=$W/deb-$1.log logdir=$BUILD/logs/install-deb-$1 ko deb x
	ko=$(ls "$DEB_VM/$rel"/lazyfree.ko* 2>/dev/null | head -n 1)
	deb=$(ls "$DEB_W"/debs/amd64/lazyfreectl_*_amd64.deb 2>/dev/null | head -n 1)
	if [ -z "$ko" ] || [ -z "$deb" ]; then
		echo "ok - $rel: packaged install # SKIP no module of $rel from packaging/deb-check.sh"
		N_SKIP=$((N_SKIP + 1))
		return
	fi
	echo "# $rel: the Debian packages' files and DKMS's module"
	initramfs_base "$stage"
	cp "$REPO/packaging/guest/install.sh" "$stage/lazyfree/rig/install.sh"
	echo updates/dkms/lazyfree.ko >"$stage/lazyfree/rig/module-path"
	x=$W/deb-root-$rel
	rm -rf "$x"
	# the package's tree, laid into the initramfs (/usr/sbin is /bin there);
	# the guest reads the units from /etc/systemd/system and runs
	# /usr/local/sbin/lazyfreectl, as make install places them
	if ! dpkg-deb -x "$deb" "$x" >"$lg" 2>&1 ||
		! cp "$x/usr/sbin/lazyfreectl" "$stage/bin/lazyfreectl" ||
		! mkdir -p "$stage/etc/systemd/system" "$stage/etc/modprobe.d" "$stage/usr/local/sbin" \
			"$stage/lib/modules/$rel/updates/dkms" ||
		! cp "$x"/lib/systemd/system/lazyfree* "$stage/etc/systemd/system/" ||
		! cp "$x/etc/lazyfree.conf" "$stage/etc/" ||
		! cp "$x/etc/modprobe.d/lazyfree.conf" "$stage/etc/modprobe.d/" ||
		! ln -s /usr/sbin/lazyfreectl "$stage/usr/local/sbin/lazyfreectl" ||
		! cp "$ko" "$stage/lib/modules/$rel/updates/dkms/" ||
		! depmod -b "$stage" "$rel" >>"$lg" 2>&1; then
		stage_failed "$lg" "$rel: packaged install into the initramfs"
		return
	fi
	boot_install "$rel" "$stage" "$logdir" "$rel (deb)" /bin/lazyfreectl
}

main() {
	local rels="$*" rel
	mkdir -p "$W" "$BUILD/logs"
	exec 7>"$W.lock"
	flock -n 7 || { echo "# another packaging/vm-check.sh uses $W; waiting"; flock 7; }
	if [ -z "$rels" ]; then
		rels=$(cached_debian_kernels | tr '\n' ' ')
	fi
	[ -n "$rels" ] || { echo "# no kernels in $CACHE/kernels: run make check first"; echo "0 passed, 1 failed, 0 skipped"; return 1; }
	rm -rf "$W/src"
	mkdir -p "$W/src"
	(cd "$REPO" && tar -cf - --exclude=./build --exclude=./.git --exclude='*.o' \
		--exclude='*.ko' --exclude='*.mod' --exclude='*.mod.c' --exclude='.*.cmd' \
		--exclude='*.order' --exclude='Module.symvers' --exclude=./userspace/lazyfreectl \
		--exclude=./userspace/tests/build .) | (cd "$W/src" && tar -xf -)
	for rel in $rels; do
		if [ -s "$CACHE/kernels/.suite-$rel" ]; then
			echo "ok - $rel # SKIP a $(cat "$CACHE/kernels/.suite-$rel") kernel: its compiler is in the rig's chroot, not on this host"
			N_SKIP=$((N_SKIP + 1))
			continue
		fi
		vm_kernel "$rel"
		# the packaged module: where deb-check.sh saved one (6.12)
		[ -d "$DEB_VM/$rel" ] && vm_deb "$rel"
	done
	echo "$N_PASS passed, $N_FAIL failed, $N_SKIP skipped"
	[ "$N_FAIL" = 0 ]
}

main "$@"
