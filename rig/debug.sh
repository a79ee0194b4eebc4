# SPDX-License-Identifier: GPL-2.0
# lazyfree test rig: the debug kernel of `make check-debug` (issue 6 item
# 6).  Sourced after lib.sh, deps.sh and kernels.sh.
#
# linux-source-6.12 built with KASAN, lockdep (PROVE_LOCKING), kmemleak and
# DEBUG_ATOMIC_SLEEP (rig/debug.config) for a QEMU guest, in the cache so
# that kernel_dir, kernel_kdir and kernel_image find it like a Debian one:
#   $CACHE/debug/$KSRC_PKG/               the source
#   $CACHE/kernels/<rel>/build/           O= tree: .config, vmlinux, bzImage
#   $CACHE/kernels/<rel>/kdir -> build    what the module builds against
#   $CACHE/kernels/<rel>/vmlinuz -> build/arch/x86/boot/bzImage
#   $CACHE/kernels/<rel>/complete         the key it was built for
# The key hashes the configuration inputs (rig/debug.config,
# selftests/config), the source package version, the compiler and
# DEBUG_RECIPE: the kernel is rebuilt only when one of them changes, in
# place (kbuild redoes what the change touches).  A first build takes
# about 15 minutes on two cores.

DEBUG_PKGS="flex bison bc libelf-dev libssl-dev"
# Command line words of the debug kernel's boots.  no5lvl: `-cpu max`
# offers LA57, and with 5-level paging KASAN's address check reads the
# paging depth from boot_cpu_data, which identify_cpu() clears and
# re-reads early in boot: an interrupt in that window draws a false
# "wild-memory-access" report (seen in one boot of four).
DEBUG_CMDLINE="no5lvl"
# Bump when the build steps below change what they produce.
DEBUG_RECIPE=1
DEBUG_SRC=$CACHE/debug/$KSRC_PKG

debug_deps() {
	local p missing=""
	for p in $DEBUG_PKGS; do
		pkg_installed "$p" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	HOST_PKGS=$missing deps_install
}

debug_key() {
	{
		cat "$RIG_DIR/debug.config" "$REPO/selftests/config" "$DEBUG_SRC/complete"
		gcc --version | head -n 1
		echo "recipe $DEBUG_RECIPE"
	} | sha256sum | cut -c1-16
}

# Every CONFIG_X=value line of a fragment that the final .config does
# not have (merge_config and olddefconfig drop what Kconfig refuses:
# a missing dependency must not go unnoticed).
debug_config_missing() {
	local frag=$1 config=$2 line
	grep -E '^CONFIG_[A-Z0-9_]+=' "$frag" | while read -r line; do
		grep -qxF "$line" "$config" || echo "$line"
	done
}

# make in the O= tree of the debug kernel.
debug_make() {
	make -C "$DEBUG_SRC" O="$1" "${@:2}"
}

# Build (or find) the debug kernel; prints its release.  Logs in
# $BUILD/logs/debug-kernel.log.
debug_kernel_ensure() {
	local key out lg=$BUILD/logs/debug-kernel.log rel dir missing start
	debug_deps
	ksrc_unpack debug "$DEBUG_SRC"
	key=$(debug_key)
	# The release comes from the source's Makefile and LOCALVERSION.
	rel=$(make -s -C "$DEBUG_SRC" kernelversion)$(sed -n 's/^CONFIG_LOCALVERSION="\(.*\)"$/\1/p' "$RIG_DIR/debug.config")
	dir=$(kernel_dir "$rel")
	out=$dir/build
	if [ -f "$dir/complete" ] && [ "$(cat "$dir/complete")" = "$key" ]; then
		log "debug: kernel $rel cached (key $key)"
		echo "$rel"
		return 0
	fi
	start=$(now)
	log "debug: building kernel $rel (key $key) in $out; about 15 minutes the first time (log: $lg)"
	rm -f "$dir/complete"
	mkdir -p "$out"
	{
		debug_make "$out" defconfig kvm_guest.config &&
			"$DEBUG_SRC/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" \
				"$REPO/selftests/config" "$RIG_DIR/debug.config" &&
			debug_make "$out" olddefconfig
	} >"$lg" 2>&1 || { show_log_tail "$lg"; die "debug: configuring the kernel failed (log: $lg)"; }
	missing=$(debug_config_missing "$RIG_DIR/debug.config" "$out/.config"; debug_config_missing "$REPO/selftests/config" "$out/.config")
	[ -z "$missing" ] || die "debug: Kconfig refused:" $missing
	debug_make "$out" -j"$(nproc)" bzImage modules >>"$lg" 2>&1 ||
		{ show_log_tail "$lg"; die "debug: kernel build failed (log: $lg)"; }
	[ "$(cat "$out/include/config/kernel.release")" = "$rel" ] ||
		die "debug: built $(cat "$out/include/config/kernel.release"), expected $rel"
	# M= builds link against Module.symvers; `make modules` writes it
	# only when there are modules, vmlinux.symvers always.
	[ -s "$out/Module.symvers" ] || cp "$out/vmlinux.symvers" "$out/Module.symvers"
	ln -sfn build/arch/x86/boot/bzImage "$dir/vmlinuz"
	ln -sfn build "$dir/kdir"
	echo "$key" >"$dir/complete"
	log "debug: built $rel in $(($(now) - start)) s"
	echo "$rel"
}

# Build rig/leakprobe (kmemleak's control, see lf_leakprobe.c) for kernel
# <rel> into <outdir>/lf_leakprobe.ko.
debug_build_leakprobe() {
	local rel=$1 out=$2 src=$BUILD/src/leakprobe-$1
	rm -rf "$src"
	mkdir -p "$src" "$out"
	cp "$RIG_DIR"/leakprobe/Kbuild "$RIG_DIR"/leakprobe/*.c "$src/"
	kbuild_copy leakprobe "$rel" "$src" lf_leakprobe.ko "$out"
}

# debug_console_counts CONSOLE_LOG: "KASAN LOCKDEP SLEEP", the reports of
# each checker on one boot's console (the first line of each).  kmemleak
# reports only when asked (no scan thread): guest/check.sh counts those.
debug_console_counts() {
	tr -d '\r' <"$1" 2>/dev/null | awk '
	/BUG: KASAN:/ { k++ }
	/WARNING: (possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|bad unlock balance|held lock freed|lock held when returning|possible irq lock inversion|.*lock order detected)|BUG: (MAX_LOCK|looking up invalid subclass|key .* has not been registered|Invalid wait context)|DEBUG_LOCKS_WARN_ON/ { l++ }
	/BUG: (sleeping function called from invalid context|scheduling while atomic)/ { s++ }
	END { printf("%d %d %d\n", k, l, s) }'
}
