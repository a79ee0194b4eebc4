#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make check`: build lazyfree for every Debian kernel under test, boot each
# kernel x cgroup lane in QEMU, run the selftests in the guest, read the
# results, run the host-side checks, and end with one line
#   N passed, N failed, N skipped
# Exit status 0 only when nothing failed.  Settings: see rig/lib.sh.
#
# `rig/check.sh --debug` (make check-debug) does the same builds and boots
# on one kernel instead: linux-source-6.12 with KASAN, lockdep, kmemleak and
# DEBUG_ATOMIC_SLEEP (rig/debug.sh), then counts those checkers' reports;
# the host-side checks, which do not depend on the kernel, are left to
# `make check`.
set -eu -o pipefail

CHECK_DEBUG=0
if [ "${1:-}" = --debug ]; then
	CHECK_DEBUG=1
	# Every test runs several times slower under KASAN, lockdep and TCG.
	export LAZYFREE_BOOT_TIMEOUT=${LAZYFREE_BOOT_TIMEOUT:-5400}
	export LAZYFREE_TEST_TIMEOUT=${LAZYFREE_TEST_TIMEOUT:-1800}
	# every lane with every hook: the checkers look at each path
	V1_HOOKS=${V1_HOOKS:-"ftrace kprobe"}
elif [ $# != 0 ]; then
	echo "usage: $0 [--debug]" >&2
	exit 2
fi

. "$(dirname "$0")/lib.sh"
. "$RIG_DIR/deps.sh"
. "$RIG_DIR/kernels.sh"
. "$RIG_DIR/build.sh"
. "$RIG_DIR/initramfs.sh"
. "$RIG_DIR/qemu.sh"
. "$RIG_DIR/scan.sh"
. "$RIG_DIR/debug.sh"
. "$RIG_DIR/cross.sh"

N_PASS=0
N_FAIL=0
N_SKIP=0
SUMMARY=""
FAILED_LOGS=""
FINISHED=

# count PASSED FAILED SKIPPED
count() {
	N_PASS=$((N_PASS + $1))
	N_FAIL=$((N_FAIL + $2))
	N_SKIP=$((N_SKIP + $3))
}
summary() { SUMMARY="$SUMMARY$*"$'\n'; }

# If anything dies on the way, still end with the counting line.
on_exit() {
	local rc=$?
	if [ -z "$FINISHED" ]; then
		[ "$rc" = 0 ] && rc=1
		log "check: stopped early (exit $rc); logs in $BUILD/logs"
		echo "$N_PASS passed, $((N_FAIL + 1)) failed, $N_SKIP skipped"
		exit "$rc"
	fi
}
trap on_exit EXIT

KERNEL_RELS=""
select_kernels() {
	if [ "$CHECK_DEBUG" = 1 ]; then
		KERNEL_RELS=$(debug_kernel_ensure)
		log "check: debug kernel $KERNEL_RELS; lanes: $LANES; hooks: $HOOKS"
		return
	fi
	KERNEL_RELS=$(kernels_selected | tr '\n' ' ')
	[ -n "$KERNEL_RELS" ] || die "KERNELS='${KERNELS:-}' selects no kernel"
	log "check: $LF_ARCH kernels: $KERNEL_RELS; lanes: $LANES; hooks: $HOOKS"
}

# Does kernel <rel> have the cgroup v1 memory controller?  Since 6.11
# CONFIG_MEMCG_V1 decides; before that every MEMCG kernel has it.
kernel_has_v1_memcg() {
	local config
	config=$(kernel_dir "$1")/root/boot/config-$1
	[ -f "$config" ] || config=$(kernel_kdir "$1")/.config
	[ -f "$config" ] || return 0
	grep -q '^CONFIG_MEMCG=y' "$config" || return 1
	if grep -q 'CONFIG_MEMCG_V1[= ]' "$config"; then
		grep -q '^CONFIG_MEMCG_V1=y' "$config"
	fi
}

build_all() {
	local rel rc
	# the host's build runs the host-side unit tests; an arm64 guest
	# gets a cross-built copy (cross.sh)
	rc=0; build_userspace || rc=$?
	if [ "$rc" = 0 ] && [ "$(cpu_arch "$LF_ARCH")" != amd64 ]; then
		build_userspace_cross || rc=$?
	fi
	case $rc in 0) count 1 0 0 ;; 2) count 0 0 1 ;; *) count 0 1 0 ;; esac
	USERSPACE_OK=$rc
	rc=0
	if [ "$(cpu_arch "$LF_ARCH")" = amd64 ]; then
		build_selftests "$BUILD/selftests" || rc=$?
	else
		build_selftests_cross "$BUILD/selftests" || rc=$?
	fi
	case $rc in 0) count 1 0 0 ;; 2) count 0 0 1 ;; *) count 0 1 0 ;; esac
	MODULE_OK=""
	# LAZYFREE_JOBS builds at a time (a chroot runs one at a time)
	local running=0
	mkdir -p "$BUILD/kernels"
	rm -f "$BUILD"/kernels/*.built
	for rel in $KERNEL_RELS; do
		if [ "$running" -ge "$LAZYFREE_JOBS" ]; then
			wait -n || true
			running=$((running - 1))
		fi
		(
			rc=0
			build_module "$rel" "$BUILD/kernels/$rel" || rc=$?
			if [ "$rc" = 0 ]; then
				build_livepatch "$rel" "$BUILD/kernels/$rel" || rc=$?
				[ "$rc" != 2 ] || rc=0
			fi
			echo "$rc" >"$BUILD/kernels/$rel.built"
		) &
		running=$((running + 1))
	done
	wait || true
	for rel in $KERNEL_RELS; do
		if [ "$(cat "$BUILD/kernels/$rel.built" 2>/dev/null)" = 0 ]; then
			count 1 0 0
			MODULE_OK="$MODULE_OK $rel"
		else
			count 0 1 0
		fi
		if [ "$CHECK_DEBUG" = 1 ]; then
			rc=0; debug_build_leakprobe "$rel" "$BUILD/kernels/$rel" || rc=$?
			count $((rc == 0)) $((rc != 0)) 0
		fi
	done
}

# Initramfs for kernel <rel>:
#   /lazyfree/lazyfree.ko
#   /lazyfree/lf_leakprobe.ko  kmemleak's control (make check-debug only)
#   /lazyfree/lf_livepatch.ko  lazyfree_livepatch's (CONFIG_LIVEPATCH only)
#   /lazyfree/mods/            the kernel's loop.ko and squashfs.ko, and
#                              reclaim.squashfs (lazyfree_reclaim.sh)
#   /lazyfree/bin/       lazyfreectl, every executable in
#                        userspace/tests/build/ and in <selftests OUT>/bin/
#                        (helpers the tests call; on PATH)
#   /lazyfree/tests/     every file in <selftests OUT>/ (executables run)
# Dynamically linked programs bring their shared libraries along.
# A squashfs image holding one sparse file of 100 MiB ("data"): 4 KiB,
# and 100 MiB of page cache once read (lazyfree_reclaim.sh).
reclaim_image() {
	local img=$BUILD/reclaim.squashfs
	if [ ! -s "$img" ]; then
		rm -rf "$BUILD/reclaim.d"
		mkdir -p "$BUILD/reclaim.d"
		truncate -s 100M "$BUILD/reclaim.d/data"
		mksquashfs "$BUILD/reclaim.d" "$img" -noappend -quiet -no-progress >/dev/null ||
			{ log "check: mksquashfs failed; lazyfree_reclaim.sh will skip"; rm -f "$img"; }
		rm -rf "$BUILD/reclaim.d"
	fi
	[ -s "$img" ] && cp "$img" "$1"
	return 0
}

pack_initramfs() {
	local rel=$1 stage=$BUILD/kernels/$rel/stage t
	initramfs_base "$stage"
	cp "$BUILD/kernels/$rel/lazyfree.ko" "$stage/lazyfree/lazyfree.ko"
	for t in lf_leakprobe.ko lf_livepatch.ko; do
		if [ -f "$BUILD/kernels/$rel/$t" ]; then
			cp "$BUILD/kernels/$rel/$t" "$stage/lazyfree/"
		fi
	done
	kernel_fs_mods "$rel" "$stage/lazyfree/mods" ||
		log "check: $rel: no loop.ko or squashfs.ko; lazyfree_reclaim.sh will skip"
	reclaim_image "$stage/lazyfree/mods/reclaim.squashfs"
	if [ "$USERSPACE_OK" = 0 ]; then
		initramfs_add "$stage" "$(userspace_dir)/lazyfreectl" /lazyfree/bin/lazyfreectl
	fi
	for t in "$(userspace_dir)"/tests/build/* "$BUILD"/selftests/bin/*; do
		[ -f "$t" ] && [ -x "$t" ] || continue
		initramfs_add "$stage" "$t" "/lazyfree/bin/${t##*/}"
	done
	for t in "$BUILD"/selftests/*; do
		[ -f "$t" ] || continue
		initramfs_add "$stage" "$t" "/lazyfree/tests/${t##*/}"
	done
	initramfs_pack "$stage" "$BUILD/kernels/$rel/initrd.gz"
}

# GUEST_ENV="NAME=VALUE ..." reaches the tests' environment in the guest
# (values without spaces), e.g. GUEST_ENV=LAZYFREE_FIRE_RELOADS=100.
guest_env_words() {
	local kv
	for kv in ${GUEST_ENV:-}; do
		case $kv in
		[A-Za-z_]*=*) echo "lazyfree_env=$kv" ;;
		*) die "GUEST_ENV: '$kv' is not NAME=VALUE" ;;
		esac
	done
}

# The long reliability loops (100 reloads under fire, 10,000 writes per
# sysfs file, 1,000 cgroups churned) take minutes under TCG: they run at
# full size in one boot of each kernel of THOROUGH_KERNELS (lib.sh; "all"
# for every kernel), lane v2 with the first hook (LAZYFREE_THOROUGH=1),
# and smaller in the others, which still take every path.  THOROUGH=all
# makes every boot thorough.  The debug kernel runs them at the smaller
# size everywhere: at full size, under KASAN and lockdep, they outlast
# the tests' own harness timeouts (~5x slower).  Its boots also get
# LAZYFREE_DEBUG_KERNEL=1 (lf_debug_kernel()), for loops that do not fit
# even the smaller size there.
thorough_word() {
	local word
	word=$(kernel_word "$1")
	if [ "${THOROUGH:-}" = all ] ||
		{ [ "$CHECK_DEBUG" = 0 ] && [ "$2" = v2 ] && [ "$3" = "${HOOKS%% *}" ] &&
			case " $THOROUGH_KERNELS " in " all " | *" $word "*) true ;; *) false ;; esac; }; then
		echo "lazyfree_env=LAZYFREE_THOROUGH=1"
	else
		echo "lazyfree_env=LAZYFREE_THOROUGH=0"
	fi
	[ "$CHECK_DEBUG" = 0 ] || echo "lazyfree_env=LAZYFREE_DEBUG_KERNEL=1"
}

# The logs of the boot of kernel <rel>, lane <lane>, hook <hook>.
boot_logdir() { echo "$BUILD/logs/$1-$2-$3"; }

# One boot per kernel x lane x hook: a crash under one hook cannot hide
# the other's results, and shorter boots share the CPUs more evenly.
boot_one() {
	local rel=$1 lane=$2 hook=$3 logdir
	logdir=$(boot_logdir "$@")
	log "boot: $rel $lane $hook: started"
	# shellcheck disable=SC2046
	qemu_boot "$(kernel_image "$rel")" "$BUILD/kernels/$rel/initrd.gz" "$logdir" \
		"$LAZYFREE_BOOT_TIMEOUT" "lazyfree_lane=$lane" "lazyfree_mode=check" \
		"lazyfree_hooks=$hook" "lazyfree_tests=$TESTS" \
		"lazyfree_test_timeout=$LAZYFREE_TEST_TIMEOUT" \
		$(thorough_word "$rel" "$lane" "$hook") $(guest_env_words) \
		$([ "$CHECK_DEBUG" = 0 ] || echo "$DEBUG_CMDLINE")
	log "boot: $rel $lane $hook: finished ($(cat "$logdir/status"))"
}

# The hooks a lane boots with: HOOKS, but the v1 lane only with V1_HOOKS
# (default: the first of HOOKS).  The v1 lane proves cgroup v1 ids and
# paths, which do not depend on the mechanism; make check-all, and
# V1_HOOKS="ftrace kprobe", run it with both.
lane_hooks() {
	local h
	if [ "$1" = v1 ]; then
		for h in ${V1_HOOKS:-${HOOKS%% *}}; do
			case " $HOOKS " in *" $h "*) echo "$h" ;; esac
		done
	else
		printf '%s\n' $HOOKS
	fi
}

# Boot every kernel x lane x hook, LAZYFREE_JOBS guests at a time.
BOOTS=""
run_boots() {
	local rel lane hook running=0 job rest
	for rel in $MODULE_OK; do
		pack_initramfs "$rel"
		for lane in $LANES; do
			if [ "$lane" = v1 ] && ! kernel_has_v1_memcg "$rel"; then
				continue
			fi
			for hook in $(lane_hooks "$lane"); do
				BOOTS="$BOOTS $rel:$lane:$hook"
			done
		done
	done
	for job in $BOOTS; do
		if [ "$running" -ge "$LAZYFREE_JOBS" ]; then
			wait -n || true
			running=$((running - 1))
		fi
		rest=${job#*:}
		boot_one "${job%%:*}" "${rest%%:*}" "${rest#*:}" &
		running=$((running + 1))
	done
	wait || true
}

# Read one boot's logs: print its findings, add its counts to LANE_P/F/S.
report_boot() {
	local rel=$1 lane=$2 hook=$3 logdir out p f s cf g c
	logdir=$(boot_logdir "$@")
	g=$(scan_guest "$logdir/guest.log" "$(cat "$logdir/status" 2>/dev/null || echo 'status unknown')")
	c=$(scan_console "$logdir/console.log")
	out=$(printf '%s\n%s\n' "$g" "$c" | grep -v '^COUNTS ' || true)
	read -r _ p f s <<<"$(echo "$g" | tail -n 1)"
	read -r _ _ cf _ <<<"$(echo "$c" | tail -n 1)"
	f=$((f + cf))
	LANE_P=$((LANE_P + p))
	LANE_F=$((LANE_F + f))
	LANE_S=$((LANE_S + s))
	if [ "$f" != 0 ]; then
		log ""
		log "==== $rel $lane $hook: $f failed ===="
		printf '%s\n' "$out" | grep -v '^SKIP ' >&2 || true
		if ! grep -q '^LAZYFREE-RIG-END' "$logdir/guest.log" 2>/dev/null; then
			log "last lines of $logdir/console.log:"
			tail -n 15 "$logdir/console.log" 2>/dev/null | tr -d '\r' | sed 's/^/    /' >&2 || true
		fi
		log "logs: $logdir/{guest,console}.log"
		FAILED_LOGS="$FAILED_LOGS $logdir"
	fi
}

# One summary line per kernel x lane, summed over the hooks.
report_lane() {
	local rel=$1 lane=$2 hook
	LANE_P=0 LANE_F=0 LANE_S=0
	for hook in $(lane_hooks "$lane"); do
		report_boot "$rel" "$lane" "$hook"
	done
	count "$LANE_P" "$LANE_F" "$LANE_S"
	summary "lane $rel $lane ($(lane_hooks "$lane" | paste -sd,)): $LANE_P passed, $LANE_F failed, $LANE_S skipped"
}

report_lanes() {
	local rel lane
	for rel in $KERNEL_RELS; do
		for lane in $LANES; do
			if [ "$lane" = v1 ] && ! kernel_has_v1_memcg "$rel"; then
				count 0 0 1
				summary "lane $rel $lane: skipped: kernel has no cgroup v1 memory controller (CONFIG_MEMCG_V1 is not set)"
				continue
			fi
			case " $MODULE_OK " in
			*" $rel "*) report_lane "$rel" "$lane" ;;
			*)
				count 0 1 0
				summary "lane $rel $lane: 0 passed, 1 failed, 0 skipped (not booted: module build failed, see $BUILD/logs/build-module-$rel.log)"
				;;
			esac
		done
	done
}

# Host-side unit tests of the tool: the tool author's `make -C userspace
# check`.  TAP lines in its output are counted one by one; otherwise the
# target counts as one check.
host_unit_tests() {
	local lg=$BUILD/logs/userspace-check.log rc=0 c
	if [ ! -f "$REPO/userspace/Makefile" ] || ! make -C "$REPO/userspace" -n check >/dev/null 2>&1; then
		summary "host: userspace unit tests: not present yet (no 'check' target in userspace/Makefile)"
		return 0
	fi
	make -C "$REPO/userspace" check >"$lg" 2>&1 || rc=$?
	c=$(awk '/^ok [0-9]+/ { if ($0 ~ /# *SKIP/) s++; else p++ } /^not ok [0-9]+/ { f++ }
		END { printf("%d %d %d\n", p, f, s) }' "$lg")
	set -- $c
	if [ $(($1 + $2 + $3)) = 0 ]; then
		if [ "$rc" = 0 ]; then set -- 1 0 0; else set -- 0 1 0; fi
	elif [ "$rc" != 0 ] && [ "$2" = 0 ]; then
		set -- "$1" 1 "$3"
	fi
	count "$1" "$2" "$3"
	summary "host: userspace unit tests: $1 passed, $2 failed, $3 skipped"
	if [ "$2" != 0 ]; then
		log ""
		log "==== host: make -C userspace check failed (exit $rc) ===="
		grep -E '^not ok|FAIL|rror' "$lg" | head -n 30 >&2 || tail -n 30 "$lg" >&2
		log "log: $lg"
	fi
}

# Kernel C: module/*.[ch] and the rig's leak probe, less build products
# (kbuild's *.mod.c).
kernel_sources() {
	local f
	for f in "$REPO"/module/*.c "$REPO"/module/*.h "$RIG_DIR"/leakprobe/*.c; do
		case $f in *.mod.c) continue ;; esac
		[ -f "$f" ] && echo "$f"
	done
}

# checkpatch.pl --no-tree -f over every kernel source: one check a file.
host_checkpatch() {
	local f p=0 n=0 lg=$BUILD/logs/checkpatch.log
	: >"$lg"
	for f in $(kernel_sources); do
		if perl "$CHECKPATCH" --no-tree -q -f "$f" >>"$lg" 2>&1; then
			p=$((p + 1))
		else
			n=$((n + 1))
			log ""
			log "==== checkpatch: ${f#"$REPO"/} ===="
			perl "$CHECKPATCH" --no-tree -q -f "$f" 2>&1 | head -n 40 >&2 || true
		fi
	done
	count "$p" "$n" 0
	summary "host: checkpatch module/*.[ch] rig/leakprobe/*.c: $p passed, $n failed"
}

# The load gate (module/gate.sh) against each kernel's BTF and against
# BTF files written to match, or not (rig/gate-test.sh): one check a case.
host_gate_test() {
	local lg=$BUILD/logs/gate-test.log p f
	# shellcheck disable=SC2086
	LAZYFREE_BUILD=$BUILD "$RIG_DIR/gate-test.sh" $KERNEL_RELS >"$lg" 2>&1 || true
	p=$(grep -c '^ok ' "$lg" || true)
	f=$(grep -c '^not ok ' "$lg" || true)
	grep -qE '^[0-9]+ passed, [0-9]+ failed' "$lg" || f=$((f + 1))
	count "$p" "$f" 0
	summary "host: load gate (rig/gate-test.sh): $p passed, $f failed"
	if [ "$f" != 0 ]; then
		log ""
		log "==== host: rig/gate-test.sh ===="
		grep -E -A12 '^not ok' "$lg" | head -n 60 >&2 || tail -n 30 "$lg" >&2
		log "log: $lg"
	fi
}

# The rig's own log scanner against canned logs (rig/testdata).
host_rig_selftest() {
	if "$RIG_DIR/selftest.sh" >"$BUILD/logs/rig-selftest.log" 2>&1; then
		count 1 0 0
		summary "host: rig scanner self-test: ok"
	else
		count 0 1 0
		summary "host: rig scanner self-test: FAILED (log: $BUILD/logs/rig-selftest.log)"
		cat "$BUILD/logs/rig-selftest.log" >&2
	fi
}

# The fuzzer's comparator on the host (rig/fuzz-selftest.sh): identical
# runs and an emulated dontneed pass, an emulated wrong replacement (one
# that ignores VM_LOCKED) is reported; ~10 s.
host_fuzz_selftest() {
	local lg=$BUILD/logs/fuzz-selftest.log p f
	"$RIG_DIR/fuzz-selftest.sh" >"$lg" 2>&1 || true
	p=$(grep -c '^ok ' "$lg" || true)
	f=$(grep -c '^not ok ' "$lg" || true)
	[ $((p + f)) != 0 ] || f=1
	count "$p" "$f" 0
	summary "host: fuzzer comparator self-test: $p passed, $f failed"
	if [ "$f" != 0 ]; then
		log ""
		log "==== host: rig/fuzz-selftest.sh failed ===="
		tail -n 30 "$lg" >&2
		log "log: $lg"
	fi
}

# Issue 6 item 5: the kernel's own mm selftests without and with the
# module (default_mode=dontneed), on Debian 6.12 only: two more guests,
# ~1.5-3 min (rig/peer.sh, peer/README.md).  PEER=0 leaves it out.
host_peer_suite() {
	local rel lg=$BUILD/logs/peer.log
	if [ "${PEER:-1}" != 1 ]; then
		summary "peer: mm selftests: skipped (PEER=0)"
		count 0 0 1
		return
	fi
	if [ "$LF_ARCH" != amd64 ]; then
		summary "peer: mm selftests: skipped (run on Debian 6.12 amd64; ARCH=$LF_ARCH)"
		count 0 0 1
		return
	fi
	# shellcheck disable=SC2086
	rel=$(printf '%s\n' $MODULE_OK | grep '^6\.12\.' | head -n 1 || true)
	if [ -z "$rel" ]; then
		summary "peer: mm selftests: skipped (no Debian 6.12 kernel with a built module in this run)"
		count 0 0 1
		return
	fi
	if PEER_REL=$rel PEER_KO=$BUILD/kernels/$rel/lazyfree.ko "$RIG_DIR/peer.sh" >"$lg" 2>&1; then
		count 1 0 0
	else
		count 0 1 0
		sed -n '/^differences:/,/^$/p; /FAIL/p' "$lg" >&2
	fi
	summary "$(tail -n 1 "$lg") (log: $lg)"
}

# Production install (issue 8): packaging/check.sh (host: make install
# layout, systemd-analyze verify, dkms add/build/install per kernel,
# manifests), packaging/deb-check.sh (issue 15: the Debian packages built
# for amd64 and arm64, lintian, apt-get install/update/remove/purge in
# cached bookworm and trixie chroots; needs no kernel under test, only
# the cached header packages) and packaging/vm-check.sh (QEMU: the
# unit's commands bring a node to its policy), for the kernels under
# test.  Each ends with "N passed, N failed, N skipped"; a missing line
# counts as a failure.
host_packaging() {
	local what lg rc p f s
	if [ "$LF_ARCH" != amd64 ]; then
		summary "host: packaging: skipped (the host's packages and amd64 kernels; ARCH=$LF_ARCH)"
		count 0 0 1
		return
	fi
	for what in check deb-check vm-check; do
		[ -x "$REPO/packaging/$what.sh" ] || continue
		lg=$BUILD/logs/packaging-$what.log
		rc=0
		# shellcheck disable=SC2086
		"$REPO/packaging/$what.sh" $MODULE_OK >"$lg" 2>&1 || rc=$?
		if read -r p _ f _ s _ < <(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$lg" | tail -n 1); then
			[ "$rc" != 0 ] && [ "$f" = 0 ] && f=1
		else
			p=0 f=1 s=0
		fi
		count "$p" "$f" "$s"
		summary "host: packaging/$what.sh: $p passed, $f failed, $s skipped"
		if [ "$f" != 0 ]; then
			log ""
			log "==== packaging/$what.sh: $f failed (exit $rc) ===="
			grep -E -B 12 '^not ok' "$lg" | grep -E '^(not ok|#)' | head -n 60 >&2 || tail -n 30 "$lg" >&2
			log "log: $lg"
		fi
	done
}

# make check-debug: the debug checkers' reports over every boot, by kind,
# as one check.  The console scanner has failed each report already; this
# names them, and fails a boot without the kmemleak control found, the
# kmemleak scan after unload or the lockdep verdict (guest/check.sh) as
# well, so a kernel built without the checkers cannot pass.
debug_verdict() {
	local job rel lane hook logdir what k l a line kasan=0 lockdep=0 sleep=0 leaks=0 missing=0
	for job in $BOOTS; do
		IFS=: read -r rel lane hook <<<"$job"
		logdir=$(boot_logdir "$rel" "$lane" "$hook")
		read -r k l a <<<"$(debug_console_counts "$logdir/console.log")"
		kasan=$((kasan + k)) lockdep=$((lockdep + l)) sleep=$((sleep + a))
		k=$(tr -d '\r' <"$logdir/guest.log" 2>/dev/null |
			sed -n 's/^LAZYFREE-CHECK fail kmemleak: after unload: \([0-9]*\) suspected.*/\1/p')
		leaks=$((leaks + ${k:-0}))
		for what in "ok kmemleak: control:|kmemleak did not find its control leak" \
			"[a-z]* kmemleak: after unload:|no kmemleak scan after the unload" \
			"[a-z]* lockdep:|no lockdep verdict"; do
			grep -q "^LAZYFREE-CHECK ${what%%|*}" "$logdir/guest.log" 2>/dev/null && continue
			log "check: $rel $lane $hook: ${what#*|} (guest.log; did the guest die first?)"
			missing=$((missing + 1))
		done
	done
	line="debug: $(echo $BOOTS | wc -w) boots: $kasan KASAN, $lockdep lockdep, $leaks kmemleak, $sleep atomic-sleep reports"
	if [ $((kasan + lockdep + sleep + leaks + missing)) = 0 ]; then
		count 1 0 0
	else
		count 0 1 0
		[ "$missing" = 0 ] || line="$line; $missing verdicts missing"
	fi
	summary "$line"
}

main() {
	local start rel dist suite
	mkdir -p "$BUILD/logs" "$CACHE"
	# One run at a time per build dir (several people may share a
	# checkout; LAZYFREE_BUILD gives a run its own build dir), and one
	# writer of the cache at a time.
	exec 8>"$BUILD/.lock" 9>"$CACHE/.lock"
	flock -n 8 || { log "check: another make check uses $BUILD; waiting"; flock 8; }
	start=$(now)
	rm -rf "$BUILD"/logs/*
	log "check: cache $CACHE, build $BUILD"
	flock -n 9 || { log "check: another make check is updating $CACHE; waiting"; flock 9; }
	apt_update
	deps_install
	cross_ensure || die "no $LF_ARCH cross toolchain or sysroot"
	select_kernels
	if [ "$CHECK_DEBUG" = 0 ]; then
		for rel in $KERNEL_RELS; do
			kernel_fetch "$rel"
		done
	fi
	ksrc_fetch
	# chroots of other distributions (a debootstrap each, the first
	# time) side by side, the kernels of one chroot one after another; a
	# failure shows again, with its log, in build_module
	for dist in $(for rel in $KERNEL_RELS; do
		suite=$(kernel_suite "$rel")
		[ -z "$suite" ] || suite_dist "$suite"
	done | sort -u); do
		for rel in $KERNEL_RELS; do
			suite=$(kernel_suite "$rel")
			[ -n "$suite" ] && [ "$(suite_dist "$suite")" = "$dist" ] || continue
			module_chroot_ensure "$rel" >/dev/null 2>&1 || true
		done &
	done
	wait || true
	flock -u 9
	build_all
	run_boots
	report_lanes
	if [ "$CHECK_DEBUG" = 1 ]; then
		debug_verdict
	elif [ "${HOST:-1}" != 1 ]; then
		summary "host: checks left out (HOST=0)"
	else
		host_peer_suite
		host_unit_tests
		host_checkpatch
		host_gate_test
		host_rig_selftest
		host_fuzz_selftest
		host_packaging
	fi
	echo ""
	printf '%s' "$SUMMARY"
	if [ "$N_FAIL" != 0 ]; then
		echo "logs: $BUILD/logs"
	fi
	echo "time: $(($(now) - start)) s"
	FINISHED=1
	echo "$N_PASS passed, $N_FAIL failed, $N_SKIP skipped"
	[ "$N_FAIL" = 0 ]
}

main "$@"; exit $?
