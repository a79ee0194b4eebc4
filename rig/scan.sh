# SPDX-License-Identifier: GPL-2.0
# lazyfree test rig: read the logs of one boot.  Sourced after lib.sh.
#
# Both functions print human-readable findings on stdout and, as their
# last line, "COUNTS <passed> <failed> <skipped>".

# Kernel messages that fail a boot, wherever they appear on the console.
SCAN_PATTERNS='BUG:|WARNING:|Oops|Call Trace|KASAN|UBSAN|lockdep|possible circular locking|possible recursive locking|hung_task|blocked for more than|Kernel panic|general protection fault|soft lockup|hard LOCKUP|detected stall|kmemleak|double fault|stack-protector|list_add corruption|list_del corruption'

# Lines that match SCAN_PATTERNS but report nothing: the debug kernel's
# kmemleak and RCU-lockdep banners, and kmemleak's scan summaries
# (guest/check.sh asks for the scans and judges what they found: the
# baseline before the first insmod is the kernel's own).
SCAN_EXCUSED='kmemleak: (Kernel memory leak detector initialized|[0-9]+ new suspected memory leaks)|RCU lockdep checking is enabled'

# scan_console CONSOLE_LOG: one failure per incident (matches closer than
# 30 lines belong to the same incident), each shown with ~20 lines of
# console around it.  An OOM report's stack dump ("invoked oom-killer"
# followed by "Call Trace") is the kernel working as designed: excused.
# So is the stack that a DEBUG_VM kernel (make check-debug) prints after
# "FAULT_FLAG_ALLOW_RETRY missing" (fs/userfaultfd.c): a read of a
# userfaultfd-armed page through /proc/<pid>/mem, which lazyfree_fuzz
# does on purpose, faults without retry and gets an error, as designed;
# the excuse ends at that stack's "</TASK>" (or 80 lines on).
scan_console() {
	local logf=$1
	[ -f "$logf" ] || { echo "console log $logf missing"; echo "COUNTS 0 1 0"; return; }
	tr -d '\r' <"$logf" | awk -v pat="$SCAN_PATTERNS" -v excused="$SCAN_EXCUSED" -v file="$logf" '
	{ line[NR] = $0 }
	/invoked oom-killer/ { oom = NR }
	/FAULT_FLAG_ALLOW_RETRY missing/ { uffd = NR }
	uffd && (NR - uffd > 80 || (NR > uffd && /<\/TASK>/)) { uffd = 0; next }
	$0 ~ pat && $0 !~ excused && $0 !~ /lazyfree-rig:/ && $0 !~ /[Cc]ommand line:/ {
		if ($0 ~ /Call Trace/ && oom && NR - oom <= 12)
			next
		if (uffd)
			next
		if (last && NR - last < 30) { last = NR; next }
		last = NR
		hit[++n] = NR
	}
	END {
		for (i = 1; i <= n; i++) {
			h = hit[i]
			printf("kernel problem on the console (%s line %d):\n", file, h)
			for (j = h - 5; j <= h + 15 && j <= NR; j++)
				if (j >= 1)
					printf("    %s %s\n", j == h ? ">" : " ", line[j])
		}
		printf("COUNTS 0 %d 0\n", n)
	}'
}

# scan_guest GUEST_LOG QEMU_STATUS: TAP results and rig checks.
#  - "ok N ..." passes; "ok N ... # SKIP" (and "not ok ... # SKIP") skips;
#    "not ok N ..." fails; "Bail out!" fails.
#  - a test program that exits non-zero (other than 4 = KSFT_SKIP) without
#    printing a "not ok" line fails; one that prints no result line counts
#    once (pass for 0, skip for 4); a timeout fails.
#  - LAZYFREE-CHECK lines are the rig's own checks (insmod, rmmod, ...).
#  - no LAZYFREE-RIG-END line: the guest died or hung: fails.
scan_guest() {
	local logf=$1 status=$2
	[ -f "$logf" ] || { echo "guest log $logf missing ($status)"; echo "COUNTS 0 1 0"; return; }
	tr -d '\r' <"$logf" | awk -v status="$status" -v file="$logf" '
	function fail(msg) { nf++; print "FAIL " msg }
	# The diagnostics a test printed since its previous result line
	# (the harness prints the failed assertion there).
	function show_diag(   i) {
		for (i = nd - 9; i < nd; i++)
			if (i >= 0)
				print "        " diag[i % 10]
	}
	function field(s, key,   a, i, n) {
		n = split(s, a, " ")
		for (i = 1; i <= n; i++)
			if (index(a[i], key "=") == 1)
				return substr(a[i], length(key) + 2)
		return ""
	}
	{ tail[NR % 20] = $0 }
	/^LAZYFREE-DMESG-BEGIN/ { indmesg = 1; next }
	/^LAZYFREE-DMESG-END/ { indmesg = 0; next }
	indmesg { next }
	/^LAZYFREE-TEST-BEGIN / {
		intest = 1; hook = field($0, "hook"); name = field($0, "name")
		tp = tf = ts = nd = 0
		next
	}
	/^LAZYFREE-TEST-END / {
		rc = field($0, "rc")
		if ($0 ~ / timeout$/)
			fail(sprintf("[%s] %s: timed out after %ss", hook, name, field($0, "secs")))
		else if (rc != 0 && rc != 4 && tf == 0)
			{ fail(sprintf("[%s] %s: exited with status %s without a TAP failure line", hook, name, rc)); show_diag() }
		else if (tp + tf + ts == 0) {
			if (rc == 4) { ns++; print "SKIP [" hook "] " name ": exit status 4 (skip)" }
			else if (rc == 0) np++
		}
		intest = 0
		next
	}
	/^LAZYFREE-CHECK ok / { np++; next }
	/^LAZYFREE-CHECK fail / { fail(substr($0, 21)); next }
	/^LAZYFREE-RIG-END/ { ended = 1; next }
	intest && /^Bail out!/ { tf++; fail(sprintf("[%s] %s: %s", hook, name, $0)); show_diag(); next }
	intest && /^(not )?ok [0-9]+/ {
		if ($0 ~ /#[ \t]*([Ss][Kk][Ii][Pp])/) {
			ts++; ns++
			print "SKIP [" hook "] " name ": " $0
		} else if ($0 ~ /^ok /) {
			tp++; np++
		} else if ($0 ~ /#[ \t]*[Tt][Oo][Dd][Oo]/) {
			ts++; ns++
			print "SKIP [" hook "] " name ": " $0
		} else {
			tf++
			fail(sprintf("[%s] %s: %s", hook, name, $0))
			show_diag()
		}
		nd = 0
		next
	}
	intest { diag[nd % 10] = $0; nd++ }
	END {
		if (intest)
			fail(sprintf("[%s] %s: did not finish (guest died or hung while it ran)", hook, name))
		if (!ended) {
			if (status ~ /^rc=124 /)
				why = "the boot timed out and QEMU was killed"
			else
				why = "the guest died: see the console"
			fail(sprintf("guest did not reach its end marker: %s (qemu %s)", why, status))
			print "last lines of " file ":"
			for (i = NR - 19; i <= NR; i++)
				if (i >= 1)
					print "    " tail[i % 20]
		}
		printf("COUNTS %d %d %d\n", np, nf, ns)
	}'
}
