#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make check-peer`: the kernel's own mm selftests, with and without lazyfree.
#
# Builds tools/testing/selftests/mm of linux-source-6.12 statically (peer/,
# cached under $CACHE/peer per source version), boots Debian's 6.12 kernel
# twice under QEMU (TCG, thread=single, 2 vCPUs, 2 GiB; both at once):
#   base      no module
#   dontneed  lazyfree.ko loaded with default_mode=dontneed
# runs the programs peer/tests.list names, each under a timeout, and
# compares every result: each program's exit (pass/skip/fail/timeout) and
# every kselftest "ok"/"not ok" line it prints.  They must be identical,
# except the ones peer/allowlist names (tests that assert MADV_FREE keeps
# data or measure lazily freed memory), each with its reason.
#
# Prints the comparison and, last,
#   peer: N tests compared, N identical, N expected differences, N unexpected
# Exit 0 when nothing differs unexpectedly, both guests ended cleanly, the
# probe saw MADV_FREE kept in base and dropped in dontneed, and the
# dontneed console has no kernel problem the base console lacks.
#
# Settings: PEER_KERNEL (image metapackage, default linux-image-6.12-amd64),
# PEER_TESTS (shell pattern on the test commands, default all),
# PEER_LONG=1 (also the "long" lines of tests.list: several minutes more),
# PEER_REL (a release already unpacked in the cache, e.g. 6.12.117+deb12-amd64,
# instead of resolving PEER_KERNEL), PEER_KO (a lazyfree.ko already built
# for it: no module build, no apt, no $BUILD lock, for a caller such as
# make check that holds it),
# PEER_PASSES (default "base dontneed"; "base control" compares two runs
# without the module, to see what is not deterministic),
# PEER_CACHE (default $LAZYFREE_CACHE/peer: source tree and binaries),
# LAZYFREE_BUILD, LAZYFREE_CACHE, QEMU_MEM/QEMU_SMP (default 2G/2).
set -eu -o pipefail

. "$(dirname "$0")/lib.sh"
. "$RIG_DIR/deps.sh"
. "$RIG_DIR/kernels.sh"
. "$RIG_DIR/build.sh"
. "$RIG_DIR/initramfs.sh"
. "$RIG_DIR/qemu.sh"
. "$RIG_DIR/scan.sh"

PEER_KERNEL=${PEER_KERNEL:-linux-image-6.12-amd64}
PEER_TESTS=${PEER_TESTS:-*}
PEER_KO=${PEER_KO:-}
PEER_REL=${PEER_REL:-}
PEER_LONG=${PEER_LONG:-0}
PEER_PASSES=${PEER_PASSES:-base dontneed}
read -r PASS_A PASS_B PASS_X <<<"$PEER_PASSES"
[ -n "$PASS_B" ] && [ -z "$PASS_X" ] && [ "$PASS_A" != "$PASS_B" ] ||
	die "PEER_PASSES='$PEER_PASSES': two different names (dontneed loads the module, any other name does not)"
PEER_CACHE=${PEER_CACHE:-$CACHE/peer}
PEER_SRC=$PEER_CACHE/$KSRC_PKG
OUT=$BUILD/peer
LOGS=$BUILD/logs

mkdir -p "$LOGS" "$OUT" "$PEER_CACHE"

# The linux-source tree (less drivers/, sound/, Documentation/) with its
# uapi headers in usr/include, once per source package version.
peer_src() {
	local lg=$LOGS/peer-headers.log
	ksrc_unpack peer "$PEER_SRC" \
		--exclude="$KSRC_PKG/drivers" --exclude="$KSRC_PKG/sound" \
		--exclude="$KSRC_PKG/Documentation" --exclude="$KSRC_PKG/firmware"
	[ -f "$PEER_SRC/usr/include/.complete" ] && return 0
	log "peer: make headers ($KSRC_PKG $(cat "$PEER_SRC/complete"))"
	make -C "$PEER_SRC" headers >"$lg" 2>&1 ||
		{ show_log_tail "$lg"; die "peer: make headers failed (log: $lg)"; }
	touch "$PEER_SRC/usr/include/.complete"
}

# The static mm selftests into $PEER_BIN, rebuilt when the source
# version or peer/Makefile or peer/lfprobe.c change.
peer_build() {
	local key lg=$LOGS/build-peer.log
	key=$(cat "$PEER_SRC/complete" "$REPO/peer/Makefile" "$REPO/peer/lfprobe.c" | sha256sum | cut -c1-16)
	PEER_BIN=$PEER_CACHE/mm-$key
	if [ -f "$PEER_BIN/.complete" ]; then
		log "peer: mm selftests cached ($PEER_BIN)"
		return 0
	fi
	log "peer: building the mm selftests statically (a few minutes, once)"
	rm -rf "$PEER_CACHE"/mm-* "$PEER_BIN.tmp"
	if ! make -C "$REPO/peer" -j"$(nproc)" KSRC="$PEER_SRC" OUT="$PEER_BIN.tmp" >"$lg" 2>&1; then
		show_log_tail "$lg"
		die "peer: the mm selftests do not build (log: $lg)"
	fi
	rm "$PEER_BIN.tmp/tests.list"	# staged from the repo on every run
	touch "$PEER_BIN.tmp/.complete"
	mv "$PEER_BIN.tmp" "$PEER_BIN"
	log "peer: built $(find "$PEER_BIN" -maxdepth 1 -type f -perm -u+x | wc -l) programs into $PEER_BIN"
}

# parse GUEST_LOG: one line per result, "KEY<TAB>RESULT".  KEY is the
# command for the program's own verdict (pass, skip, fail(rc=N),
# timeout), "COMMAND :: DESCRIPTION" for each kselftest result line it
# printed (pass, fail, skip, xfail; a repeated description gets " #2"...).
peer_parse() {
	tr -d '\r' <"$1" | awk '
	# Numbers in a description are often measured (mrelease_test: "a
	# child with 4MB", pagemap_ioctl: "Extra pages 5"): compared as N.
	function emit(line, res,   n) {
		if (line !~ /^#[0-9]+$/)
			gsub(/[0-9]+/, "N", line)
		n = ++seen[line]
		if (n > 1) line = line " #" n
		printf "%s :: %s\t%s\n", cmd, line, res
	}
	function verdict(rc, to) {
		if (to) return "timeout"
		if (rc == 0) return "pass"
		if (rc == 4) return "skip"
		return "fail(rc=" rc ")"
	}
	/^LAZYFREE-PEER-BEGIN / { cmd = substr($0, 21); inside = 1; run = ""; delete seen; next }
	/^LAZYFREE-PEER-END / {
		rc = $2; sub(/^rc=/, "", rc)
		secs = $3; sub(/^secs=/, "", secs)
		printf "%s\t%s\t%s\n", cmd, verdict(rc + 0, $0 ~ / timeout$/), secs
		inside = 0
		next
	}
	# uffd-unit-tests: "Testing <test> on <memory>... done|skipped [...]|failed [...]"
	inside && /^\| Testing .*\.\.\. / {
		line = substr($0, 3)
		res = line; sub(/.*\.\.\. /, "", res)
		sub(/\.\.\. .*/, "", line)
		res = (res ~ /^done/) ? "pass" : (res ~ /^skipped/) ? "skip" : "fail"
		emit(line, res)
		next
	}
	# cow, gup_longterm: "# [RUN] what" names the next result line,
	# which itself has no description.
	inside && /^\| # \[RUN\] / { run = substr($0, 11); next }
	inside && /^\| (not )?ok [0-9]+( |$)/ {
		line = substr($0, 3)
		res = "pass"
		if (line ~ /^not ok/) { res = "fail"; sub(/^not ok /, "", line) }
		else sub(/^ok /, "", line)
		num = line; sub(/ .*/, "", num); sub(/^[0-9]+ */, "", line)
		if (line ~ /^# *[Ss][Kk][Ii][Pp]/ || line ~ / # *[Ss][Kk][Ii][Pp]/) { res = "skip"; sub(/ *# *[Ss][Kk][Ii][Pp].*$/, "", line) }
		else if (line ~ /# *XFAIL/) { res = "xfail"; sub(/ *# *XFAIL.*$/, "", line) }
		sub(/[ \t]+$/, "", line)
		if (line == "") line = (run != "") ? run : "#" num
		run = ""
		emit(line, res)
	}
	# A guest that died mid-test: the program has no verdict.
	END { if (inside) printf "%s\t%s\t-\n", cmd, "no-end(guest died)" }'
}

# compare BASE DONTNEED ALLOWLIST: the comparison, then the figures line
# "FIGURES compared identical expected unexpected".  Where a program timed
# out in both runs, each run stops at its own point: a result line only
# one run reached, or the line each was killed in, is listed as cut and
# not compared (the program's own verdict, timeout in both, still is).
peer_compare() {
	awk -F '\t' -v allow="$3" -v na_="$PASS_A" -v nb_="$PASS_B" '
	function glob2re(g,   r) {
		r = g
		gsub(/[][\\.^$+(){}|]/, "\\\\&", r)
		gsub(/\*/, ".*", r)
		gsub(/\?/, ".", r)
		return "^" r "$"
	}
	BEGIN {
		while ((getline l < allow) > 0) {
			if (l ~ /^[ \t]*(#|$)/) continue
			split(l, a, / *\| */)
			sub(/[ \t]+$/, "", a[1])
			na++; apat[na] = glob2re(a[1]); araw[na] = a[1]; areason[na] = a[2]
		}
	}
	function prog_of(k,   p) { p = k; sub(/ :: .*/, "", p); return p }
	FNR == NR {
		b[$1] = $2; bs[$1] = $3; if (!($1 in ord)) { ord[$1] = ++n; key[n] = $1 }
		if ($1 ~ / :: /) lastb[prog_of($1)] = $1
		next
	}
	{
		d[$1] = $2; ds[$1] = $3; if (!($1 in ord)) { ord[$1] = ++n; key[n] = $1 }
		if ($1 ~ / :: /) lastd[prog_of($1)] = $1
	}
	END {
		for (i = 1; i <= n; i++) {
			k = key[i]
			bv = (k in b) ? b[k] : "-"; dv = (k in d) ? d[k] : "-"
			prog = prog_of(k)
			if (!(prog in pord)) { pord[prog] = ++np; pname[np] = prog }
			if (bv != dv && k != prog && b[prog] == "timeout" && d[prog] == "timeout" &&
			    (bv == "-" || dv == "-" || k == lastb[prog] || k == lastd[prog])) {
				diffs = diffs sprintf("  cut       %-70s %s=%s %s=%s  (both runs timed out)\n", k, na_, bv, nb_, dv)
				continue
			}
			total++; ptotal[prog]++
			if (bv == dv) {
				same++; psame[prog]++
				cat = (bv ~ /^fail/) ? "fail" : bv
				kind[cat]++
				continue
			}
			hit = 0
			for (j = 1; j <= na; j++) if (k ~ apat[j]) { hit = j; break }
			if (hit) {
				exp_n++; pexp[prog]++; aused[hit]++
				diffs = diffs sprintf("  expected  %-70s %s=%s %s=%s  (%s)\n", k, na_, bv, nb_, dv, areason[hit])
			} else {
				unexp++; punexp[prog]++
				diffs = diffs sprintf("  DIFFERS   %-70s %s=%s %s=%s\n", k, na_, bv, nb_, dv)
			}
		}
		printf "%-40s %-10s %-10s %7s %7s %9s %8s %6s\n", "program", na_, nb_, "secs", "results", "identical", "expected", "DIFFER"
		for (i = 1; i <= np; i++) {
			p = pname[i]
			printf "%-40s %-10s %-10s %7s %7d %9d %8d %6d\n", p, (p in b) ? b[p] : "-", (p in d) ? d[p] : "-", \
				((p in bs) ? bs[p] : "-") "/" ((p in ds) ? ds[p] : "-"), ptotal[p], psame[p], pexp[p], punexp[p]
		}
		print ""
		if (diffs != "") { print "differences:"; printf "%s", diffs } else print "differences: none"
		for (j = 1; j <= na; j++)
			if (!aused[j]) printf "  allowlist entry not needed in this run: %s\n", araw[j]
		printf "identical results: %d pass, %d skip, %d fail, %d xfail, %d timeout (programs and result lines)\n", \
			kind["pass"], kind["skip"], kind["fail"], kind["xfail"], kind["timeout"]
		printf "FIGURES %d %d %d %d\n", total, same, exp_n + 0, unexp + 0
	}' "$1" "$2"
}

# tally RESULTS: "P pass, S skip, F fail, T timeout" of the program verdicts
peer_tally() {
	awk -F '\t' '$1 !~ / :: / {
		if ($2 == "pass") p++; else if ($2 == "skip") s++; else if ($2 == "timeout") t++; else f++
	} END { printf "%d programs: %d pass, %d skip, %d fail, %d timeout", p + s + f + t, p, s, f, t }' "$1"
}

main() {
	local start rel ko stage pass logdir glog ok=1 c_base c_dn probe want when bootstart
	start=$(now)
	if [ -z "$PEER_KO" ]; then
		# One run at a time per build dir (make check builds modules in
		# the same $BUILD/src/<rel>).
		exec 8>"$BUILD/.lock"
		flock -n 8 || { log "peer: another make check or demo uses $BUILD; waiting"; flock 8; }
		apt_update
		deps_install
	fi
	if [ -n "$PEER_REL" ]; then
		rel=$PEER_REL
	else
		rel=$(kernel_resolve "$PEER_KERNEL")
	fi
	kernel_fetch_shared peer "$rel"

	exec 7>"$PEER_CACHE/.lock"
	flock -n 7 || { log "peer: another run builds in $PEER_CACHE; waiting"; flock 7; }
	peer_src
	peer_build
	flock -u 7
	log "peer: setup done in $(($(now) - start)) s"

	if [ -n "$PEER_KO" ]; then
		ko=$PEER_KO
	else
		build_module "$rel" "$OUT/$rel" || die "peer: the module does not build for $rel"
		ko=$OUT/$rel/lazyfree.ko
	fi

	stage=$BUILD/stage/peer-$rel
	initramfs_base "$stage"
	initramfs_add "$stage" "$ko" /lazyfree/lazyfree.ko
	mkdir -p "$stage/lazyfree/peer"
	cp -a "$PEER_BIN"/. "$stage/lazyfree/peer/"
	cp "$REPO/peer/tests.list" "$stage/lazyfree/peer/tests.list"
	# gzip'd: va_high_addr_switch.sh reads it with "gzip -dcfq", and
	# busybox gzip does not pass plain text through.
	gzip -c "$(kernel_dir "$rel")/root/boot/config-$rel" >"$stage/lazyfree/peer/kconfig.gz" 2>/dev/null ||
		rm -f "$stage/lazyfree/peer/kconfig.gz"
	initramfs_pack "$stage" "$OUT/initrd-$rel.gz"

	bootstart=$(now)
	log "peer: booting $rel twice at once ($PASS_A, $PASS_B; QEMU TCG, $QEMU_SMP CPUs, $QEMU_MEM)"
	for pass in $PEER_PASSES; do
		qemu_boot "$(kernel_image "$rel")" "$OUT/initrd-$rel.gz" "$LOGS/peer-$rel-$pass" \
			"$LAZYFREE_BOOT_TIMEOUT" lazyfree_mode=peer lazyfree_lane=v2 \
			"lazyfree_peer_pass=$pass" "lazyfree_peer_tests=$PEER_TESTS" \
			"lazyfree_peer_long=$PEER_LONG" &
	done
	wait
	log "peer: both guests done in $(($(now) - bootstart)) s"

	echo
	echo "lazyfree peer suite: $KSRC_PKG tools/testing/selftests/mm on $rel"
	for pass in $PEER_PASSES; do
		logdir=$LOGS/peer-$rel-$pass
		glog=$logdir/guest.log
		peer_parse "$glog" >"$OUT/$pass.results"
		echo "  $pass: $(peer_tally "$OUT/$pass.results"); guest $(cat "$logdir/status")"
		sed -n 's/^LAZYFREE-PEER-INFO /    /p' "$glog" | tr -d '\r'
		if ! grep -a -q '^LAZYFREE-RIG-END status=ok' "$glog"; then
			echo "  $pass: FAIL: the guest did not end cleanly (logs: $logdir)"
			grep -a '^LAZYFREE-CHECK fail' "$glog" | tr -d '\r' | sed 's/^/    /' || true
			ok=0
		fi
	done

	# The module was active: MADV_FREE'd data stays in base, is gone in
	# dontneed, before and after the suite.
	for pass in $PEER_PASSES; do
		glog=$LOGS/peer-$rel-$pass/guest.log
		for when in before after; do
			probe=$(tr -d '\r' <"$glog" | awk -v w="$when" '$1 == "LAZYFREE-PEER-PROBE" && $2 == w { $1 = $2 = ""; sub(/^ +/, ""); print }')
			want=kept
			[ "$pass" = dontneed ] && want=zeroed
			case $probe in
			"$want")
				echo "  probe $pass $when the suite: MADV_FREE'd data $probe: as expected" ;;
			*)
				echo "  probe $pass $when the suite: FAIL: MADV_FREE'd data '${probe:-no answer}'"
				ok=0 ;;
			esac
		done
	done

	# Kernel problems on the console: the second run may have none that
	# the first lacks.
	c_base=$(scan_console "$LOGS/peer-$rel-$PASS_A/console.log" | tail -n 1 | awk '{ print $3 }')
	c_dn=$(scan_console "$LOGS/peer-$rel-$PASS_B/console.log" | tail -n 1 | awk '{ print $3 }')
	echo "  kernel problems on the console: $PASS_A $c_base, $PASS_B $c_dn"
	if [ "$c_dn" -gt "$c_base" ]; then
		echo "  FAIL: the $PASS_B guest reported more kernel problems:"
		scan_console "$LOGS/peer-$rel-$PASS_B/console.log" | grep -v '^COUNTS ' | head -n 60
		ok=0
	fi

	echo
	peer_compare "$OUT/$PASS_A.results" "$OUT/$PASS_B.results" "$REPO/peer/allowlist" >"$OUT/comparison.txt"
	grep -v '^FIGURES ' "$OUT/comparison.txt"
	read -r _ n_total n_same n_exp n_unexp <<<"$(grep '^FIGURES ' "$OUT/comparison.txt")"
	echo
	echo "skipped here (peer/tests.list):"
	awk -v long="$PEER_LONG" '
		$1 == "skip" || $1 == "nobuild" { k = $1; sub(/^[a-z]+ +/, ""); print "  " k ": " $0 }
		$1 == "long" && long != 1 { sub(/^long +[^ ]+ +[^ ]+ +/, ""); print "  long (PEER_LONG=1 runs it): " $0 }' \
		"$REPO/peer/tests.list"
	echo
	echo "results: $OUT/{$PASS_A,$PASS_B}.results, logs: $LOGS/peer-$rel-{$PASS_A,$PASS_B}/"
	echo "time: $(($(now) - start)) s (guests $(($(now) - bootstart)) s)"
	[ "$n_total" -gt 0 ] || ok=0
	[ "$n_unexp" = 0 ] || ok=0
	echo "peer: $n_total tests compared, $n_same identical, $n_exp expected differences, $n_unexp unexpected$([ "$ok" = 1 ] || echo ' (FAIL)')"
	[ "$ok" = 1 ]
}

main "$@"
