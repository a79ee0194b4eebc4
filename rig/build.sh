# SPDX-License-Identifier: GPL-2.0
# lazyfree test rig: build the module per kernel, the tool and the tests.
# Sourced after lib.sh.  Each function logs to $BUILD/logs/build-*.log and
# returns non-zero on failure; the caller counts and reports.

# Show what failed in a build log: its first errors (with the source line
# gcc quotes after each), else its last lines.
show_log_tail() {
	if grep -q -E 'error:|Error [0-9]|undefined!' "$1"; then
		log "---- first errors in $1 ----"
		grep -E -A3 'error:|undefined!' "$1" | head -n "${2:-30}" | sed 's/^/    /' >&2
	fi
	log "---- last lines of $1 ----"
	tail -n 8 "$1" | sed 's/^/    /' >&2
	log "----"
}

# Compiler/modpost warnings in a kbuild log ("warning:" from gcc,
# "WARNING: modpost:" from modpost).  Prints them; true when there are any.
build_warnings() {
	grep -E 'warning:|WARNING:' "$1" | grep -v 'Skipping BTF generation' >&2
}

# make the module of kernel <rel> (headers <kdir>, sources <src>): on the
# host, or for a kernel of another suite in that suite's chroot, with the
# compiler its headers ask for.
module_make() {
	local rel=$1 kdir=$2 src=$3 suite btf
	suite=$(kernel_suite "$rel")
	btf=$(kernel_btf "$rel")
	if [ -z "$suite" ]; then
		make -C "$kdir" M="$src" ${btf:+LF_BTF="$btf"} modules
		return
	fi
	module_chroot_ensure "$rel" &&
		chroot_run "$suite" make -C "$kdir" M="$src" ${btf:+LF_BTF="$btf"} modules
}

# The chroot a kernel of another suite builds in, with the compiler its
# headers ask for (a cross compiler for arm64); nothing to do for a
# kernel of the host's suite.
module_chroot_ensure() {
	local rel=$1 suite
	suite=$(kernel_suite "$rel")
	[ -n "$suite" ] || return 0
	# shellcheck disable=SC2046
	chroot_ensure "$suite" $(kernel_compiler_pkgs "$rel") $(suite_chroot_pkgs "$suite")
}

# Run kbuild for kernel <rel> in <src>, a private copy prepared by the
# caller, and copy <src>/<ko> into <outdir>.  <what> names the build in
# the log ($BUILD/logs/build-<what>-<rel>.log); a compiler or modpost
# warning fails it.
kbuild_copy() {
	local what=$1 rel=$2 src=$3 ko=$4 out=$5 lg=$BUILD/logs/build-$1-$2.log
	if ! module_make "$rel" "$(kernel_kdir "$rel")" "$src" >"$lg" 2>&1; then
		log "build: $what for $rel FAILED (log: $lg)"
		show_log_tail "$lg"
		return 1
	fi
	if [ ! -f "$src/$ko" ]; then
		log "build: $what for $rel: make succeeded but $ko is missing (log: $lg)"
		return 1
	fi
	cp "$src/$ko" "$out/"
	if build_warnings "$lg"; then
		log "build: $what for $rel has warnings (above; log: $lg): counted as a failure"
		return 1
	fi
	log "build: $what for $rel: ok"
}

# Build module/lazyfree.ko for kernel <rel> into <outdir>/lazyfree.ko.
# The build runs in a private copy of Kbuild + module/ so that kernels
# (and a developer's own `make`) never overwrite each other's objects.
build_module() {
	local rel=$1 out=$2 src=$BUILD/src/$1
	rm -rf "$src" "$out"
	mkdir -p "$src" "$out"
	if [ ! -f "$REPO/Kbuild" ] || ! ls "$REPO"/module/*.c >/dev/null 2>&1; then
		log "build: module: no Kbuild or no module/*.c in $REPO: nothing to build"
		return 1
	fi
	(cd "$REPO" && tar -cf - --exclude='*.o' --exclude='*.ko' --exclude='*.mod' \
		--exclude='*.mod.c' --exclude='.*.cmd' --exclude='*.order' \
		--exclude='Module.symvers' Kbuild VERSION module $(ls -d include 2>/dev/null)) |
		(cd "$src" && tar -xf -)
	kbuild_copy module "$rel" "$src" module/lazyfree.ko "$out"
}

# Build selftests/livepatch/lf_livepatch.ko (the livepatch that
# lazyfree_livepatch loads) for kernel <rel> into <outdir>, where the
# kernel has CONFIG_LIVEPATCH (Debian's x86-64 builds; not arm64).
# Returns 2 without it: the test then skips.
build_livepatch() {
	local rel=$1 out=$2 src=$BUILD/src/livepatch-$1
	grep -q '^CONFIG_LIVEPATCH=y' "$(kernel_kdir "$rel")/.config" 2>/dev/null || return 2
	rm -rf "$src"
	mkdir -p "$src" "$out"
	cp "$REPO"/selftests/livepatch/Kbuild "$REPO"/selftests/livepatch/*.c "$src/"
	kbuild_copy livepatch "$rel" "$src" lf_livepatch.ko "$out"
}

# Build userspace/ in place (the tool author's Makefile).
# Returns 2 when there is no userspace/Makefile yet.
build_userspace() {
	local lg=$BUILD/logs/build-userspace.log
	[ -f "$REPO/userspace/Makefile" ] || { log "build: userspace: no userspace/Makefile yet"; return 2; }
	if ! make -C "$REPO/userspace" >"$lg" 2>&1; then
		log "build: userspace FAILED (log: $lg)"
		show_log_tail "$lg"
		return 1
	fi
	[ -x "$REPO/userspace/lazyfreectl" ] || { log "build: userspace: userspace/lazyfreectl missing after make"; return 1; }
	log "build: userspace: ok"
}

# Build the selftests into <out>: static test programs and *.sh scripts.
# Returns 2 when there is no selftests/Makefile yet.
build_selftests() {
	local out=$1 lg=$BUILD/logs/build-selftests.log
	rm -rf "$out"
	mkdir -p "$out"
	[ -f "$REPO/selftests/Makefile" ] || { log "build: selftests: no selftests/Makefile yet"; return 2; }
	if ! make -C "$REPO/selftests" OUT="$out" KSFT_DIR="$KSFT_DIR" >"$lg" 2>&1; then
		log "build: selftests FAILED (log: $lg)"
		show_log_tail "$lg"
		return 1
	fi
	log "build: selftests: ok ($(find "$out" -maxdepth 1 -type f -perm -u+x | wc -l) programs in $out)"
}
