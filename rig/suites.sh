# SPDX-License-Identifier: GPL-2.0
# lazyfree test rig: kernels from other Debian suites than the host's
# (bullseye's 5.10, sid's 7.x).  Sourced after lib.sh.
#
# A kernel of another suite is looked up with a private apt configuration
# for that suite ($CACHE/apt/SUITE), never touching the host's.  A suite
# key is SUITE, or SUITE@ARCH for another architecture's packages
# (trixie-backports@arm64).  Such a kernel's headers need that suite's
# compiler and C library, so its module is built in a debootstrap chroot
# of the suite's distribution ($CACHE/chroots/DIST: trixie for
# trixie-backports; always amd64, with cross compilers for arm64), with
# the cache and build dirs bind-mounted at their own paths so that every
# path means the same inside and out.

DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_SECURITY=${DEBIAN_SECURITY:-http://deb.debian.org/debian-security}

suite_name() { echo "${1%@*}"; }
suite_arch() { case $1 in *@*) echo "${1#*@}" ;; *) echo amd64 ;; esac; }

# The distribution a suite belongs to (its chroot): trixie-backports is
# trixie, experimental is sid.
suite_dist() {
	local s
	s=$(suite_name "$1")
	case $s in
	experimental | unstable) echo sid ;;
	*) echo "${s%-backports}" ;;
	esac
}

# apt sources of a suite: its security suite too where there is one.
suite_sources() {
	local key=/usr/share/keyrings/debian-archive-keyring.gpg s
	s=$(suite_name "$1")
	echo "deb [signed-by=$key] $DEBIAN_MIRROR $s main"
	case $s in
	sid | unstable | experimental | *-backports) ;;
	*) echo "deb [signed-by=$key] $DEBIAN_SECURITY $s-security main" ;;
	esac
}

# Options that point apt-get/apt-cache at SUITE's private configuration;
# nothing for the host's own suite ("").
suite_apt_opts() {
	local dir=$CACHE/apt/$1 arch
	[ -n "$1" ] || return 0
	arch=$(suite_arch "$1")
	echo "-o Dir::Etc::SourceList=$dir/sources.list -o Dir::Etc::SourceParts=/dev/null" \
		"-o Dir::State::Lists=$dir/lists -o Dir::Cache=$dir/cache" \
		"-o Dir::State::status=$dir/status -o APT::Sandbox::User=root" \
		"-o APT::Architecture=$arch -o APT::Architectures::=$arch"
}

# Fetch SUITE's package lists, once per run (the stamp lives with the
# run's logs, which every run starts by emptying).
suite_update() {
	local suite=$1 dir=$CACHE/apt/$1 stamp=$BUILD/logs/.apt-updated-$1
	[ -f "$stamp" ] && return 0
	mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$BUILD/logs"
	touch "$dir/status"
	suite_sources "$suite" >"$dir/sources.list"
	log "suites: apt-get update for $suite"
	# shellcheck disable=SC2046
	if ! apt-get $(suite_apt_opts "$suite") update -qq >"$BUILD/logs/apt-update-$suite.log" 2>&1; then
		[ -n "$(ls "$dir/lists" 2>/dev/null | grep -v partial)" ] ||
			{ tail -n 5 "$BUILD/logs/apt-update-$suite.log" >&2; die "apt-get update for $suite failed"; }
		log "suites: warning: apt-get update for $suite failed; using the lists there are"
	fi
	touch "$stamp"
}

# The suite kernel <rel> came from ("" for the host's), as kernel_resolve
# recorded it.
kernel_suite() {
	cat "$CACHE/kernels/.suite-$1" 2>/dev/null || true
}

# Extra packages a suite's chroot needs besides the headers' compiler:
# for another architecture's kernels, its cross binutils too.
suite_chroot_pkgs() {
	case $(suite_dist "$1") in
	bullseye) echo "make libc6-dev libelf-dev bc kmod dwarves xz-utils" ;;
	*) echo "make binutils libc6-dev libelf-dev bc kmod pahole xz-utils" ;;
	esac
	case $(suite_arch "$1") in
	arm64) echo "binutils-aarch64-linux-gnu" ;;
	esac
}

chroot_dir() { echo "$CACHE/chroots/$(suite_dist "$1")"; }

# Make sure SUITE's chroot exists and has the packages PKGS...
chroot_ensure() {
	local suite=$1 dir missing="" p
	shift
	dir=$(chroot_dir "$suite")
	if [ ! -x "$dir/usr/bin/make" ]; then
		command -v debootstrap >/dev/null ||
			die "debootstrap is missing (apt-get install debootstrap)"
		log "suites: debootstrap $suite into $dir (a few minutes, once)"
		rm -rf "$dir"
		mkdir -p "$(dirname "$dir")"
		debootstrap --variant=minbase --include="$(echo "$@" | tr ' ' ',')" \
			"$(suite_dist "$suite")" "$dir" "$DEBIAN_MIRROR" >"$BUILD/logs/debootstrap-$suite.log" 2>&1 ||
			{ tail -n 15 "$BUILD/logs/debootstrap-$suite.log" >&2; die "debootstrap $suite failed"; }
		return 0
	fi
	for p in "$@"; do
		chroot "$dir" dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	log "suites: installing in the $suite chroot:$missing"
	# shellcheck disable=SC2086
	# the archive may be served as a snapshot: do not judge it by date
	printf 'Acquire::Check-Valid-Until "false";\nAcquire::Check-Date "false";\n' \
		>"$dir/etc/apt/apt.conf.d/99lazyfree"
	chroot "$dir" sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing" \
		>"$BUILD/logs/chroot-install-$suite.log" 2>&1 ||
		{ tail -n 15 "$BUILD/logs/chroot-install-$suite.log" >&2; die "installing$missing in the $suite chroot failed"; }
}

# Run a command in SUITE's chroot with /proc (objtool needs it) and the
# cache and build directories at their own paths; commands for one chroot
# wait for each other.
chroot_run() {
	local suite=$1 dir m rc=0 lock
	shift
	dir=$(chroot_dir "$suite")
	# one command at a time per chroot: the mounts are shared
	exec {lock}>"$dir.lock"
	flock "$lock"
	for m in "$CACHE" "$BUILD"; do
		mkdir -p "$dir$m"
		mountpoint -q "$dir$m" || mount --bind "$m" "$dir$m"
	done
	mountpoint -q "$dir/proc" || mount -t proc proc "$dir/proc"
	chroot "$dir" "$@" || rc=$?
	umount "$dir/proc" "$dir$BUILD" "$dir$CACHE" 2>/dev/null || true
	exec {lock}>&-
	return "$rc"
}
