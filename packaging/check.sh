#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# packaging/check.sh [RELEASE...]: host-side checks of the production
# install (make install/uninstall, DKMS, lazyfree.service, the Kubernetes
# manifests).  Prints TAP, then one line
#   N passed, N failed, N skipped
# and exits non-zero when anything failed.
#
# RELEASEs are kernels unpacked by the rig (`make check`) under
# $LAZYFREE_CACHE/kernels/<release>/kdir; default: every one there.
# Kernels of another Debian suite than the host's (the rig builds those in
# a chroot with that suite's compiler) are skipped: a node builds for its
# own kernels with its own compiler.
# Everything is built and installed under $LAZYFREE_BUILD/packaging
# (default build/packaging): DESTDIR installs, a private DKMS tree
# (--dkmstree/--sourcetree/--installtree), nothing on the host's
# /lib/modules, /usr/src, /var/lib/dkms or /etc.
#
# Host packages (apt-get, as root, only those missing): see PKGS below.
set -u -o pipefail

. "$(dirname "$0")/../rig/lib.sh"
. "$(dirname "$0")/lib.sh"

PKGS="dkms systemd python3 python3-yaml busybox-static kmod xz-utils make gcc
	libc6-dev pkg-config libsmartcols-dev libelf-dev pahole"
W=$BUILD/packaging
SRC=$W/src
PKGDIR=$REPO/packaging
MANIFESTS=$REPO/deploy/kubernetes/lazyfree.yaml

# wait_for SECONDS COMMAND...: until COMMAND succeeds (polls every 0.1 s)
wait_for() {
	local i=$(($1 * 10))
	shift
	while [ "$i" -gt 0 ]; do
		"$@" 2>/dev/null && return 0
		sleep 0.1
		i=$((i - 1))
	done
	return 1
}
files_under() { (cd "$1" && find . \( -type f -o -type l \) | sed 's|^\./||' | LC_ALL=C sort); }

root_for() { echo "$W/root-$1${2//\//-}"; }

# make install DESTDIR=<root> for kernel <rel>; checks the layout.
check_install() {
	local rel=$1 kdir=$2 prefix=$3 root lg want have sbin unitdir
	root=$(root_for "$rel" "$prefix")
	lg=$W/install-${root##*/root-}.log
	rm -rf "$root"
	if ! make -C "$SRC" install DESTDIR="$root" KDIR="$kdir" PREFIX="$prefix" >"$lg" 2>&1; then
		result 1 "make install DESTDIR PREFIX=$prefix KDIR=<$rel>" "$lg"
		return 1
	fi
	ok "make install DESTDIR PREFIX=$prefix KDIR=<$rel>"
	sbin=${prefix#/}/sbin
	if [ "$prefix" = /usr ]; then unitdir=lib/systemd/system; else unitdir=etc/systemd/system; fi
	want=$(LC_ALL=C sort <<-EOF
		lib/modules/$rel/extra/module/lazyfree$(ko_suffix "$kdir")
		$sbin/lazyfreectl
		${prefix#/}/share/man/man8/lazyfreectl.8
		$unitdir/lazyfree.service
		$unitdir/lazyfree-apply.service
		$unitdir/lazyfree-apply.timer
		etc/lazyfree.conf
		etc/modprobe.d/lazyfree.conf
	EOF
	)
	have=$(files_under "$root")
	local rc=0 vermagic v
	same_list layout "$want" "$have" || rc=1
	vermagic=$(modinfo -F vermagic "$root/lib/modules/$rel/extra/module/lazyfree$(ko_suffix "$kdir")" 2>&1)
	case $vermagic in
	"$rel "*) ;;
	*) echo "# installed module's vermagic: $vermagic (want $rel)"; rc=1 ;;
	esac
	v=$(modinfo -F version "$root/lib/modules/$rel/extra/module/lazyfree$(ko_suffix "$kdir")" 2>&1)
	[ "$v" = "$(cat "$SRC/VERSION")" ] ||
		{ echo "# installed module's version: '$v' (want VERSION's $(cat "$SRC/VERSION"))"; rc=1; }
	"$root/$sbin/lazyfreectl" --version 2>&1 | grep -q "^lazyfreectl $(cat "$SRC/VERSION")" ||
		{ echo "# lazyfreectl --version does not print VERSION"; rc=1; }
	[ -x "$root/$sbin/lazyfreectl" ] && "$root/$sbin/lazyfreectl" --version >/dev/null 2>&1 ||
		{ echo "# $sbin/lazyfreectl --version failed"; rc=1; }
	for u in lazyfree.service lazyfree-apply.service; do
		grep -q "^ExecStart=/$sbin/lazyfreectl apply" "$root/$unitdir/$u" ||
			{ echo "# $unitdir/$u does not run /$sbin/lazyfreectl"; rc=1; }
	done
	cmp -s "$PKGDIR/lazyfree.conf" "$root/etc/lazyfree.conf" &&
		cmp -s "$PKGDIR/modprobe.d/lazyfree.conf" "$root/etc/modprobe.d/lazyfree.conf" ||
		{ echo "# installed configs differ from packaging/"; rc=1; }
	result $rc "install layout PREFIX=$prefix $rel: module in extra/ (modinfo version = VERSION), tool, man page, units, configs"
	LAST_ROOT=$root
	LAST_UNITDIR=$unitdir
}

# make install MODULE=no (a DKMS node): all but the module, no KDIR needed.
check_install_nomodule() {
	local root=$W/root-nomodule lg=$W/install-nomodule.log want have rc=0
	rm -rf "$root"
	make -C "$SRC" install MODULE=no DESTDIR="$root" KDIR=/nonexistent >"$lg" 2>&1 || rc=1
	want=$(LC_ALL=C sort <<-EOF
		usr/local/sbin/lazyfreectl
		usr/local/share/man/man8/lazyfreectl.8
		etc/systemd/system/lazyfree.service
		etc/systemd/system/lazyfree-apply.service
		etc/systemd/system/lazyfree-apply.timer
		etc/lazyfree.conf
		etc/modprobe.d/lazyfree.conf
	EOF
	)
	have=$(files_under "$root")
	same_list layout "$want" "$have" || rc=1
	result $rc "make install MODULE=no DESTDIR: tool, man page, unit, configs, no module" "$lg"
}

# make uninstall: everything goes but a changed config, which is kept;
# a second make install keeps an existing config.
check_uninstall() {
	local rel=$1 kdir=$2 root lg=$W/uninstall-$rel.log rc=0 have
	root=$(root_for "$rel" /usr/local)
	echo "# a local change" >>"$root/etc/lazyfree.conf"
	make -C "$SRC" install DESTDIR="$root" KDIR="$kdir" >"$lg" 2>&1 || rc=1
	grep -q "^# a local change" "$root/etc/lazyfree.conf" ||
		{ echo "# make install overwrote a changed /etc/lazyfree.conf"; rc=1; }
	make -C "$SRC" uninstall DESTDIR="$root" >>"$lg" 2>&1 || rc=1
	have=$(files_under "$root")
	same_list uninstall "etc/lazyfree.conf" "$have" || rc=1
	result $rc "make uninstall DESTDIR: removes all but the changed /etc/lazyfree.conf; install keeps it" "$lg"
}

# systemd-analyze verify in a root made of the DESTDIR install, the
# host's units (sysinit.target...) and modprobe; MANPATH finds the
# installed lazyfreectl(8) for Documentation=man:.
verify_root() {
	local from=$1 root=$2
	rm -rf "$root"
	mkdir -p "$root/usr/lib/systemd" "$root/usr/sbin"
	cp -a "$from/." "$root/"
	cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
	[ -e "$root/lib" ] || ln -s usr/lib "$root/lib"
	[ -e "$root/sbin" ] || ln -s usr/sbin "$root/sbin"
	cp -L /sbin/modprobe "$root/usr/sbin/modprobe"
}

analyze() {
	local root=$1 unit=$2 man
	man=$(find "$root" -path '*/man8/lazyfreectl.8' -printf '%h\n' | head -n 1)
	MANPATH=${man%/man8} SYSTEMD_LOG_COLOR=0 systemd-analyze verify --root="$root" "$unit" 2>&1
}

check_unit() {
	local from=$1 unitdir=$2 label=$3 root=$W/verify out rc u
	verify_root "$from" "$root"
	for u in lazyfree.service lazyfree-apply.service lazyfree-apply.timer; do
		out=$(analyze "$root" "$u")
		rc=$?
		if [ "$rc" = 0 ] && [ -z "$out" ]; then
			ok "systemd-analyze verify $u ($label): clean"
		else
			echo "$out" | diag
			not_ok "systemd-analyze verify $u ($label): exit $rc"
		fi
	done
}

# The verify must bite: a unit naming a missing program, and one with a
# bad Type=, are refused.
check_unit_negative() {
	local root=$W/verify u=$W/verify/$1/lazyfree.service rc=0 out
	cp "$u" "$W/lazyfree.service.orig"
	sed -i 's|^ExecReload=/[^ ]*|ExecReload=/usr/sbin/lazyfreectl-missing|' "$u"
	out=$(analyze "$root" lazyfree.service) && { echo "# accepted a missing ExecReload program"; rc=1; }
	cp "$W/lazyfree.service.orig" "$u"
	sed -i 's|^Type=oneshot|Type=oneshoot|' "$u"
	out=$(analyze "$root" lazyfree.service)
	case $out in *Type*) ;; *) echo "# accepted Type=oneshoot: $out"; rc=1 ;; esac
	cp "$W/lazyfree.service.orig" "$u"
	result $rc "systemd-analyze verify refuses a missing program and a bad Type= (the check bites)"
}

# What the unit must say (systemd-analyze does not judge intent).
check_unit_contents() {
	local u=$PKGDIR/lazyfree.service rc=0 line
	for line in '^Type=oneshot$' '^RemainAfterExit=yes$' '^ConditionPathExists=/etc/lazyfree.conf$' \
		'^ExecStart=/sbin/modprobe lazyfree$' \
		'^ExecStart=/usr/local/sbin/lazyfreectl apply --prune /etc/lazyfree.conf$' \
		'^ExecReload=/usr/local/sbin/lazyfreectl apply --prune /etc/lazyfree.conf$' \
		'^WantedBy=multi-user.target$'; do
		grep -q "$line" "$u" || { echo "# lazyfree.service: no line $line"; rc=1; }
	done
	grep -q '^options lazyfree default_mode=free max_cgroups=4096 hook=auto$' \
		"$PKGDIR/modprobe.d/lazyfree.conf" || { echo "# modprobe.d/lazyfree.conf: no options line"; rc=1; }
	grep -q '^Wants=lazyfree-apply.timer$' "$u" || { echo "# lazyfree.service: no Wants=lazyfree-apply.timer"; rc=1; }
	u=$PKGDIR/lazyfree-apply.service
	for line in '^Type=oneshot$' '^ConditionPathExists=/etc/lazyfree.conf$' \
		'^ConditionPathIsDirectory=/sys/kernel/lazyfree$' \
		'^ExecStart=/usr/local/sbin/lazyfreectl apply --prune /etc/lazyfree.conf$'; do
		grep -q "$line" "$u" || { echo "# lazyfree-apply.service: no line $line"; rc=1; }
	done
	for line in '^OnCalendar=\*:\*:0/30$' '^WantedBy=timers.target$'; do
		grep -q "$line" "$PKGDIR/lazyfree-apply.timer" || { echo "# lazyfree-apply.timer: no line $line"; rc=1; }
	done
	result $rc "lazyfree.service: oneshot, RemainAfterExit, modprobe + apply, reload re-applies, wants the timer; lazyfree-apply.timer: apply --prune every 30 s; modprobe.d options"
}

# ---- DKMS -------------------------------------------------------------

DKMS_OPTS=()
check_dkms_install() {
	local root=$W/dkms-root lg=$W/dkms-install.log want have rc=0 v
	v=$(cat "$SRC/VERSION")
	VERSION=$v
	rm -rf "$root" "$W/dkms"
	mkdir -p "$W/dkms/tree" "$W/dkms/install"
	if ! make -C "$SRC" dkms-install DESTDIR="$root" >"$lg" 2>&1; then
		result 1 "make dkms-install DESTDIR" "$lg"
		return 1
	fi
	# the clean copy's module/ (no build products yet), and the top files
	want=$(cd "$SRC" && { printf '%s\n' Kbuild Makefile VERSION dkms.conf; ls -d module/*; } |
		sed "s|^|usr/src/lazyfree-$v/|" | LC_ALL=C sort)
	have=$(files_under "$root")
	same_list dkms-install "$want" "$have" || rc=1
	grep -qx "PACKAGE_VERSION=\"$v\"" "$root/usr/src/lazyfree-$v/dkms.conf" ||
		{ echo "# dkms.conf: PACKAGE_VERSION is not \"$v\""; rc=1; }
	result $rc "make dkms-install DESTDIR: Kbuild, Makefile, VERSION, dkms.conf, module/ sources only; version $v"
	DKMS_OPTS=(--dkmstree "$W/dkms/tree" --sourcetree "$root/usr/src" --installtree "$W/dkms/install")
	dkms add "lazyfree/$v" "${DKMS_OPTS[@]}" >"$W/dkms-add.log" 2>&1
	result $? "dkms add lazyfree/$v (private tree)" "$W/dkms-add.log"
}

check_dkms_kernel() {
	local rel=$1 kdir=$2 lg=$W/dkms-build-$rel.log ko vermagic rc=0 dir
	dkms build "lazyfree/$VERSION" "${DKMS_OPTS[@]}" -k "$rel" --kernelsourcedir "$kdir" >"$lg" 2>&1 || rc=$?
	# DKMS 3.0 compresses the module as /lib/modules/<rel>/modules.dep
	# says, i.e. only when the host has that kernel installed: either the
	# plain .ko or the compression the kernel's config selects.
	dir=$W/dkms/tree/lazyfree/$VERSION/$rel/$(uname -m)/module
	ko=$(ls "$dir"/lazyfree.ko* 2>/dev/null | head -n 1)
	case ${ko#"$dir"/lazyfree} in
	.ko | "$(ko_suffix "$kdir")") ;;
	*) [ "$rc" = 0 ] && echo "# built: ${ko:-no lazyfree.ko*} in $dir (want lazyfree.ko or lazyfree$(ko_suffix "$kdir"))"; rc=1 ;;
	esac
	if [ "$rc" = 0 ]; then
		vermagic=$(modinfo -F vermagic "$ko" 2>&1)
		case $vermagic in "$rel "*) ;; *) echo "# built module's vermagic: $vermagic"; rc=1 ;; esac
	fi
	result $rc "dkms build lazyfree/$VERSION -k $rel (against the rig's headers)" "$lg"
	[ "$rc" = 0 ] || return 0
	mkdir -p "$W/dkms/install/$rel"
	rc=0
	dkms install "lazyfree/$VERSION" "${DKMS_OPTS[@]}" -k "$rel" --kernelsourcedir "$kdir" --no-depmod \
		>"$W/dkms-install-$rel.log" 2>&1 || rc=$?
	[ "$rc" = 0 ] && ! ls "$W/dkms/install/$rel"/updates/dkms/lazyfree.ko* >/dev/null 2>&1 &&
		{ echo "# no lazyfree.ko under the install tree's $rel/updates/dkms"; rc=1; }
	result $rc "dkms install lazyfree/$VERSION -k $rel (private install tree)" "$W/dkms-install-$rel.log"
}

# BUILD_EXCLUSIVE_CONFIG: a kernel without KPROBES, or without MEMCG, is
# refused by dkms itself (exit 77) before any compiler runs.
check_dkms_exclusive() {
	local kdir=$1 opt fake rc=0 out
	for opt in CONFIG_KPROBES CONFIG_MEMCG; do
		fake=$W/dkms/no-$opt
		mkdir -p "$fake/include"
		grep -v "^$opt=" "$kdir/.config" >"$fake/.config"
		out=$(dkms build "lazyfree/$VERSION" "${DKMS_OPTS[@]}" -k "0.0.0-no-$opt" \
			--kernelsourcedir "$fake" 2>&1)
		if [ $? != 77 ] || ! grep -q BUILD_EXCLUSIVE <<<"$out"; then
			echo "$out" | tail -n 5 | diag
			echo "# a kernel without $opt was not refused with exit 77"
			rc=1
		fi
	done
	result $rc "dkms refuses kernels without CONFIG_KPROBES or CONFIG_MEMCG (BUILD_EXCLUSIVE_CONFIG)"
}

check_host_untouched() {
	local rc=0 p
	for p in /var/lib/dkms/lazyfree /usr/src/lazyfree-"$VERSION"; do
		if [ -e "$p" ] && [ "$p" -nt "$W/start" ]; then
			echo "# $p changed during the check"
			rc=1
		fi
	done
	result $rc "nothing written to the host's /var/lib/dkms or /usr/src"
}

# ---- Kubernetes -------------------------------------------------------

# yaml_get EXPR: print a value of the manifests (python expression over
# `docs`, the list of documents, and `by(kind, name)`).
yaml_get() {
	python3 - "$MANIFESTS" "$1" <<-'EOF'
	import sys, yaml
	docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
	def by(kind, name):
	    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)
	def container(name):
	    spec = by("DaemonSet", "lazyfree")["spec"]["template"]["spec"]
	    return next(c for c in spec.get("initContainers", []) + spec["containers"] if c["name"] == name)
	sys.stdout.write(eval(sys.argv[2]))
	EOF
}

check_manifests() {
	local out rc line
	out=$(python3 "$PKGDIR/check-manifests.py" "$MANIFESTS" 2>&1)
	rc=$?
	while IFS= read -r line; do
		case $line in
		"ok "*) ok "manifests: ${line#ok * - }" ;;
		"not ok "*) not_ok "manifests: ${line#not ok * - }" ;;
		"#"*) echo "$line" ;;
		esac
	done <<<"$out"
	case $out in *"ok "*) ;; *) echo "$out" | diag; not_ok "manifests: check-manifests.py ran (exit $rc)" ;; esac
}

# pin-images.sh against a stand-in crane (no registry here): every image
# pinned to its tag's digest and nothing else changed; a second run
# replaces the pins; a tag that does not resolve leaves the file as it was.
check_pin_images() {
	local d=$W/pin rc=0 salt want got fail
	rm -rf "$d"
	mkdir -p "$d/bin"
	cat >"$d/bin/crane" <<-'EOF'
	#!/bin/sh
	[ "$1" = digest ] && [ "$2" != "${PIN_FAIL:-}" ] || exit 1
	printf '%s %s' "$2" "$PIN_SALT" | sha256sum | sed 's/^\([0-9a-f]*\).*/sha256:\1/'
	EOF
	chmod +x "$d/bin/crane"
	cp "$MANIFESTS" "$d/m.yaml"
	for salt in one two; do
		PATH=$d/bin:$PATH PIN_SALT=$salt "$REPO/deploy/kubernetes/pin-images.sh" "$d/m.yaml" >"$d/out" 2>&1 || rc=1
		want=$(sed -n 's/^\( *image: *\)\([^@ ]*\).*/\2/p' "$MANIFESTS" | while read -r tag; do
			printf '%s@' "$tag"
			PIN_SALT=$salt "$d/bin/crane" digest "$tag"
		done)
		got=$(sed -n 's/^ *image: *//p' "$d/m.yaml")
		[ "$got" = "$want" ] || { printf 'want:\n%s\ngot:\n%s\n' "$want" "$got" | diag; rc=1; }
		sed 's/^\( *image: *[^@ ]*\)@.*/\1/' "$d/m.yaml" | diff -u "$MANIFESTS" - | diag
		[ "${PIPESTATUS[1]}" = 0 ] || rc=1
	done
	cp "$d/m.yaml" "$d/before.yaml"
	fail=$(sed -n 's/^ *image: *\([^@ ]*\).*/\1/p' "$MANIFESTS" | tail -n 1)
	if PATH=$d/bin:$PATH PIN_SALT=three PIN_FAIL=$fail \
		"$REPO/deploy/kubernetes/pin-images.sh" "$d/m.yaml" >"$d/out" 2>&1; then
		echo "# a tag without a digest was not refused"
		rc=1
	fi
	cmp -s "$d/before.yaml" "$d/m.yaml" || { echo "# a failed run changed the manifest"; rc=1; }
	grep -q "$fail: no digest" "$d/out" || { diag <"$d/out"; rc=1; }
	result $rc "manifests: pin-images.sh pins every image by digest, refreshes, all or nothing"
}

# The shell embedded in the manifests: syntax with dash and busybox sh.
check_k8s_scripts() {
	local d=$W/k8s rc=0 f sh
	rm -rf "$d"
	mkdir -p "$d"
	yaml_get 'container("load")["command"][2]' >"$d/load.sh"
	yaml_get 'container("apply")["command"][2]' >"$d/apply.sh"
	yaml_get 'by("ConfigMap", "lazyfree-metrics-cgi")["data"]["metrics"]' >"$d/metrics.cgi"
	for f in load.sh apply.sh metrics.cgi; do
		for sh in dash "busybox sh"; do
			$sh -n "$d/$f" 2>&1 | diag
			[ "${PIPESTATUS[0]}" = 0 ] || { echo "# $f: $sh -n failed"; rc=1; }
		done
	done
	result $rc "manifests: embedded scripts (load, apply, metrics CGI) parse with dash and busybox sh"
}

# The metrics CGI under busybox httpd: 503 before the first write, then
# the file with Prometheus' content type.
check_k8s_cgi() {
	local d=$W/k8s/httpd rc=0 port pid out
	rm -rf "$d"
	# laid out as kubelet lays out a ConfigMap volume: symlinks into ..data
	mkdir -p "$d/www/cgi-bin/..2026_01_01_00_00_00.1" "$d/run"
	sed "s|/run/lazyfree-metrics|$d/run|" "$W/k8s/metrics.cgi" \
		>"$d/www/cgi-bin/..2026_01_01_00_00_00.1/metrics"
	chmod 0555 "$d/www/cgi-bin/..2026_01_01_00_00_00.1/metrics"
	ln -s ..2026_01_01_00_00_00.1 "$d/www/cgi-bin/..data"
	ln -s ..data/metrics "$d/www/cgi-bin/metrics"
	port=$((20000 + RANDOM % 20000))
	busybox httpd -f -p "127.0.0.1:$port" -h "$d/www" &
	pid=$!
	wait_for 10 sh -c "busybox wget -q -O /dev/null http://127.0.0.1:$port/ 2>&1 | grep -qv refused"
	out=$(busybox wget -S -q -O - "http://127.0.0.1:$port/cgi-bin/metrics" 2>&1)
	case $out in *" 503 "*) ;; *) echo "# before the first write: $out"; rc=1 ;; esac
	printf 'lazyfree_enabled 1\n' >"$d/run/metrics.prom"
	out=$(busybox wget -S -q -O - "http://127.0.0.1:$port/cgi-bin/metrics" 2>&1)
	case $out in *"200 OK"*"Content-Type: text/plain; version=0.0.4"*"lazyfree_enabled 1"*) ;;
	*) echo "$out" | diag; echo "# want 200, text/plain; version=0.0.4 and the file"; rc=1 ;;
	esac
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	result $rc "manifests: metrics CGI under busybox httpd: 503, then 200 text/plain; version=0.0.4 with the file"
}

# The apply loop with stand-ins for nsenter and lazyfreectl: the policy
# goes to `apply --prune -` on stdin, metrics land in the file with
# lazyfree_policy_applied 1, and 0 (message logged once) after a failure;
# after an rmmod the next round's file says lazyfree_up 0, and so does the
# loop's own fallback when lazyfreectl cannot run; the readiness probe
# follows lazyfree_up.
check_k8s_apply_loop() {
	local d=$W/k8s/loop rc=0 pid log probe
	rm -rf "$d"
	mkdir -p "$d/bin" "$d/run"
	cat >"$d/bin/nsenter" <<-'EOF'
	#!/bin/sh
	while [ "$1" != -- ]; do shift; done
	shift
	exec "$@"
	EOF
	cat >"$d/bin/lazyfreectl" <<-EOF
	#!/bin/sh
	[ -e "$d/notool" ] && exit 127
	case "\$*" in
	"apply --prune -")
		cat >"$d/applied"
		[ -e "$d/fail" ] && { echo "policy:1: bad"; exit 1; }
		echo "/x: free -> dontneed"; exit 0 ;;
	metrics)
		if [ -e "$d/rmmod" ]; then
			echo "lazyfreectl: /sys/kernel/lazyfree: lazyfree module not loaded" >&2
			printf '# HELP lazyfree_up x\n# TYPE lazyfree_up gauge\nlazyfree_up 0\n'
		else
			printf '# HELP lazyfree_up x\n# TYPE lazyfree_up gauge\nlazyfree_up 1\nlazyfree_enabled 1\n'
		fi ;;
	*) echo "unexpected: \$*" >&2; exit 2 ;;
	esac
	EOF
	chmod +x "$d/bin/nsenter" "$d/bin/lazyfreectl"
	printf 'default free\n' >"$d/policy"
	yaml_get 'container("apply")["readinessProbe"]["exec"]["command"][2]' >"$d/probe.sh"
	probe() { METRICS=$d/run/metrics.prom sh "$d/probe.sh"; }
	log=$d/log
	PATH=$d/bin:$PATH POLICY=$d/policy INTERVAL=0.2 METRICS=$d/run/metrics.prom \
		dash "$W/k8s/apply.sh" >"$log" 2>&1 &
	pid=$!
	wait_for 20 grep -qx "lazyfree_policy_applied 1" "$d/run/metrics.prom"
	cmp -s "$d/policy" "$d/applied" || { echo "# the policy did not reach apply on stdin"; rc=1; }
	grep -qx "lazyfree_enabled 1" "$d/run/metrics.prom" && grep -qx "lazyfree_policy_applied 1" "$d/run/metrics.prom" ||
		{ cat "$d/run/metrics.prom" 2>&1 | diag; echo "# metrics.prom lacks the metrics or lazyfree_policy_applied 1"; rc=1; }
	probe || { echo "# readiness probe fails with lazyfree_up 1"; rc=1; }
	touch "$d/fail"
	wait_for 20 grep -qx "lazyfree_policy_applied 0" "$d/run/metrics.prom"
	sleep 0.5	# a few more failing rounds: still one log line
	grep -qx "lazyfree_policy_applied 0" "$d/run/metrics.prom" ||
		{ echo "# after a failed apply: no lazyfree_policy_applied 0"; rc=1; }
	[ "$(grep -c 'policy:1: bad' "$log")" = 1 ] ||
		{ diag <"$log"; echo "# the same failure should be logged once"; rc=1; }
	touch "$d/rmmod"
	wait_for 20 grep -qx "lazyfree_up 0" "$d/run/metrics.prom" ||
		{ echo "# after rmmod: the file does not say lazyfree_up 0"; rc=1; }
	grep -q "lazyfree_enabled" "$d/run/metrics.prom" && { echo "# after rmmod: old samples still served"; rc=1; }
	probe && { echo "# readiness probe passes with lazyfree_up 0"; rc=1; }
	rm "$d/rmmod"
	wait_for 20 grep -qx "lazyfree_up 1" "$d/run/metrics.prom"
	touch "$d/notool"
	wait_for 20 grep -qx "lazyfree_up 0" "$d/run/metrics.prom" ||
		{ echo "# lazyfreectl failing: no fallback lazyfree_up 0"; rc=1; }
	python3 "$REPO/userspace/tests/promcheck.py" <"$d/run/metrics.prom" >/dev/null 2>&1 ||
		{ diag <"$d/run/metrics.prom"; echo "# the fallback file is not valid Prometheus text"; rc=1; }
	rm "$d/notool"
	wait_for 20 grep -qx "lazyfree_up 1" "$d/run/metrics.prom"
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	touch -d '-5 minutes' "$d/run/metrics.prom"
	probe && { echo "# readiness probe passes with a stale file"; rc=1; }
	result $rc "manifests: apply loop: policy on stdin, metrics file every round (lazyfree_up 0 after rmmod and as the fallback), lazyfree_policy_applied 1 then 0, one log line a failure, readiness follows lazyfree_up and freshness"
}

main() {
	local rels="$*" rel kdir first=""
	mkdir -p "$W"
	exec 7>"$W.lock"
	flock -n 7 || { echo "# another packaging/check.sh uses $W; waiting"; flock 7; }
	rm -rf "${W:?}"/*
	touch "$W/start"
	echo "TAP version 13"
	# shellcheck disable=SC2086
	if ! install_deps "$W/apt-install.log" $PKGS; then
		[ -f "$W/apt-install.log" ] && tail -n 20 "$W/apt-install.log" | diag
		not_ok "host packages: $PKGS"
		finish
		return
	fi
	if [ -z "$rels" ]; then
		rels=$(cached_debian_kernels | tr '\n' ' ')
	fi
	echo "# kernels:${rels:- none in $CACHE/kernels (run make check first)}"
	tree_copy "$SRC"
	check_unit_contents
	check_dkms_install
	for rel in $rels; do
		kdir=$(kernel_kdir "$rel")
		if [ -s "$CACHE/kernels/.suite-$rel" ]; then
			skip "kernel $rel: make install, dkms build" \
				"a $(cat "$CACHE/kernels/.suite-$rel") kernel: its compiler is in the rig's chroot, not on this host"
			continue
		fi
		if [ ! -f "$kdir/Makefile" ]; then
			not_ok "kernel $rel: no headers at $kdir"
			continue
		fi
		if check_install "$rel" "$kdir" /usr/local; then
			check_unit "$LAST_ROOT" "$LAST_UNITDIR" "make install, $rel"
			[ -z "$first" ] && check_unit_negative "$LAST_UNITDIR"
			check_uninstall "$rel" "$kdir"
		fi
		if [ -z "$first" ]; then
			first=$rel
			check_install "$rel" "$kdir" /usr &&
				check_unit "$LAST_ROOT" "$LAST_UNITDIR" "make install PREFIX=/usr"
		fi
		[ ${#DKMS_OPTS[@]} -gt 0 ] && check_dkms_kernel "$rel" "$kdir"
	done
	if [ -n "$first" ] && [ ${#DKMS_OPTS[@]} -gt 0 ]; then
		check_dkms_exclusive "$(kernel_kdir "$first")"
	elif [ -z "$first" ]; then
		skip "make install, systemd-analyze verify, dkms build" "no kernel headers in $CACHE/kernels"
	fi
	check_install_nomodule
	check_host_untouched
	check_manifests
	check_k8s_scripts
	check_pin_images
	check_k8s_cgi
	check_k8s_apply_loop
	echo "1..$N"
	finish
}

kernel_kdir() { echo "$CACHE/kernels/$1/kdir"; }

main "$@"
