# SPDX-License-Identifier: GPL-2.0
# lazyfree test rig: common settings and helpers.  Sourced, never run.
#
# Every rig script sources this file first.  Settings come from the
# environment so that `make check VAR=...` and CI can change them:
#   LAZYFREE_CACHE   downloads and unpacked kernels (outside the repo)
#   LAZYFREE_BUILD   build products and logs (default <repo>/build)
#   ARCH             amd64 (default), arm64 or arm64-16k
#   KERNELS          which kernels to test: lines with an optional flavour,
#                    "6.18 6.12-rt 7.3-cloud" (default: DEFAULT_KERNELS_<arch>)
#   LANES            cgroup lanes (default "v2 v1")
#   HOOKS            hook mechanisms in the guest (default "ftrace kprobe")
#   TESTS            shell glob: run only tests whose name matches
#   LAZYFREE_JOBS    QEMU guests run at the same time (default: nproc)
#   LAZYFREE_BOOT_TIMEOUT / LAZYFREE_TEST_TIMEOUT   seconds

RIG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$RIG_DIR/.." && pwd)

if [ -z "${LAZYFREE_CACHE:-}" ]; then
	if [ "$(id -u)" = 0 ] || [ -w /var/cache ]; then
		LAZYFREE_CACHE=/var/cache/lazyfree
	else
		LAZYFREE_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/lazyfree
	fi
fi
CACHE=$LAZYFREE_CACHE
BUILD=${LAZYFREE_BUILD:-$REPO/build}

# The kernel lines the rig knows, per architecture (ARCH: amd64, arm64,
# arm64-16k), as LINE:SUITE: the Debian suite whose newest release of
# that line is tested ("host" is the host's own apt, Debian 12).  The
# release is looked up in the archive on every run (kernels.sh), never
# written down here.  A kernel word (KERNELS) is a line, or a line with a
# flavour suffix: 6.18, 6.18-cloud, 6.12-rt.
LF_ARCH=${ARCH:-amd64}
LINES_amd64="5.10:bullseye 6.1:host 6.12:host 6.18:trixie-backports 7.2:sid 7.3:trixie-backports"
LINES_arm64="6.12:trixie 6.18:trixie-backports 7.3:trixie-backports"
LINES_arm64_16k="6.18:trixie-backports"
# What `make check` boots without KERNELS=: one kernel of each strategy
# and LTS line fleets run, the newest line, and on amd64 the PREEMPT_RT
# flavour of the newest LTS (`make check-all` boots every line and
# flavour; see README.md).
DEFAULT_KERNELS_amd64="5.10 6.1 6.12 6.18 7.3 6.18-rt"
DEFAULT_KERNELS_arm64="6.12 6.18 7.3"
DEFAULT_KERNELS_arm64_16k="6.18"
# The kernels whose first boot (cgroup v2, first hook) runs the long
# reliability loops at full size in make check (the others run them
# smaller): the newest LTS line under PREEMPT_RT, where the unload
# reasoning must hold under full preemption (arm64: the newest LTS).
# "all": every kernel, as make check-all does.
THOROUGH_KERNELS_amd64="6.18-rt"
THOROUGH_KERNELS_arm64="6.18"
THOROUGH_KERNELS_arm64_16k="6.18"
# Every kernel of the full matrix (make check-all), per architecture.
ALL_KERNELS_amd64="5.10 6.1 6.12 6.12-cloud 6.12-rt 6.18 6.18-cloud 6.18-rt 7.2 7.3"
ALL_KERNELS_arm64="6.12 6.18 7.3"
ALL_KERNELS_arm64_16k="6.18"

# arch_var NAME ARCH: the value of NAME_<ARCH> (LINES_arm64_16k, ...).
arch_var() { local v=${1}_${2//-/_}; echo "${!v:-}"; }
case $LF_ARCH in
amd64 | arm64 | arm64-16k) ;;
*) echo "lazyfree-rig: error: ARCH=$LF_ARCH: not amd64, arm64 or arm64-16k" >&2; exit 1 ;;
esac
THOROUGH_KERNELS=${THOROUGH_KERNELS:-$(arch_var THOROUGH_KERNELS "$LF_ARCH")}
# ARCH means the kernel's architecture to kbuild (x86, arm64): keep ours
# out of the environment and of the make flags the rig's makes inherit.
unset ARCH
MAKEFLAGS=$(printf '%s' "${MAKEFLAGS:-}" | sed -E 's/(^| )ARCH=[^ ]*//')

KSRC_PKG=${KSRC_PKG:-linux-source-6.12}
KSRC_DIR=$CACHE/$KSRC_PKG
KSFT_DIR=$KSRC_DIR/tools/testing/selftests
CHECKPATCH=$KSRC_DIR/scripts/checkpatch.pl

LANES=${LANES:-"v2 v1"}
HOOKS=${HOOKS:-"ftrace kprobe"}
TESTS=${TESTS:-"*"}
LAZYFREE_JOBS=${LAZYFREE_JOBS:-$(nproc 2>/dev/null || echo 1)}
LAZYFREE_BOOT_TIMEOUT=${LAZYFREE_BOOT_TIMEOUT:-1200}
LAZYFREE_TEST_TIMEOUT=${LAZYFREE_TEST_TIMEOUT:-300}

# The CPU architecture of kernels and programs (arm64-16k is arm64 with
# 16 KiB pages).
cpu_arch() { case $1 in amd64) echo amd64 ;; *) echo arm64 ;; esac; }
case $(cpu_arch "$LF_ARCH") in
amd64) QEMU=${QEMU:-qemu-system-x86_64} ;;
arm64) QEMU=${QEMU:-qemu-system-aarch64} ;;
esac

log() { printf '%s\n' "$*" >&2; }
die() { printf 'lazyfree-rig: error: %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }

# Seconds since the epoch, for timings.
now() { date +%s; }

# The Debian kernels a make check unpacked into the cache (with headers to
# build against), one release a line; with "host", only those of the
# host's suite (no chroot needed to build for them).  The debug kernel of
# make check-debug, built there too, is not one of them.
cached_debian_kernels() {
	local kdir rel
	for kdir in "$CACHE"/kernels/*/kdir; do
		rel=${kdir%/kdir}
		rel=${rel##*/}
		[ -f "$kdir/Makefile" ] && [ -d "$CACHE/kernels/$rel/root" ] || continue
		[ "${1:-}" = host ] && [ -s "$CACHE/kernels/.suite-$rel" ] && continue
		echo "$rel"
	done
}
