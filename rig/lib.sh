# SPDX-License-Identifier: GPL-2.0
# lazyfree test rig: common settings and helpers.  Sourced, never run.
#
# Every rig script sources this file first.  Settings come from the
# environment so that `make check VAR=...` and CI can change them:
#   LAZYFREE_CACHE   downloads and unpacked kernels (outside the repo)
#   LAZYFREE_BUILD   build products and logs (default <repo>/build)
#   KERNELS          which kernels to test: words matched against the
#                    release or the image metapackage (default: all)
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

# Image metapackages of the kernels under test; the headers metapackage
# is the same name with linux-headers-.  The ABI they point at is looked
# up in the archive on every run (kernels.sh), never written down here.
# A word SUITE:META takes META from another Debian suite (rig/suites.sh).
LAZYFREE_KERNEL_METAS=${LAZYFREE_KERNEL_METAS:-"bullseye:linux-image-amd64 linux-image-amd64 linux-image-6.12-amd64 sid:linux-image-amd64"}
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

# Console patterns that fail a boot (see scan.sh).
QEMU=${QEMU:-qemu-system-x86_64}

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
