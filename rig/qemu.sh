# SPDX-License-Identifier: GPL-2.0
# lazyfree test rig: boot a kernel + initramfs in QEMU TCG.  Sourced after
# lib.sh.
#
# TCG only: KVM here is a software hypervisor in which kernels never finish
# booting.  thread=single: multi-threaded TCG oopses when kernel text is
# live-patched (kprobes, ftrace) while another vCPU runs it.  See
# ../shared/kernel-notes.md "Test rig facts".

QEMU_MEM=${QEMU_MEM:-2G}
QEMU_SMP=${QEMU_SMP:-2}
# More QEMU options, e.g. -icount for rig/bench.sh (which also sets QEMU_SMP=1).
QEMU_EXTRA=${QEMU_EXTRA:-}

# Kernel command line shared by every boot: serial console, reboot (and
# so QEMU exit, -no-reboot) at once on panic, and room for slow TCG
# before the lockup/stall detectors fire; no_timer_check: a loaded host
# can make the IO-APIC timer check fail and panic early boot.
QEMU_BASE_CMDLINE="panic=-1 loglevel=7 nokaslr
	rcupdate.rcu_cpu_stall_timeout=60 watchdog_thresh=30"

# The machine, the kernel console and the guest scripts' channel, per
# architecture.  x86-64: the PC's two UARTs (ttyS0, ttyS1).  arm64: QEMU's
# virt board has one UART (ttyAMA0, the console); the scripts write to a
# virtio console (hvc0), which Debian's arm64 kernels have built in.  The
# arm64 CPU is "max" with QEMU's own pointer-authentication algorithm,
# which TCG runs several times faster than the architected one.
qemu_arch_args() {
	local logdir=$1
	case $(cpu_arch "$LF_ARCH") in
	amd64)
		echo "-cpu max -serial file:$logdir/console.log -serial file:$logdir/guest.log"
		;;
	arm64)
		echo "-M virt -cpu max,pauth-impdef=on -serial file:$logdir/console.log" \
			"-device virtio-serial-pci -chardev file,id=guest,path=$logdir/guest.log" \
			"-device virtconsole,chardev=guest"
		;;
	esac
}

qemu_arch_cmdline() {
	case $(cpu_arch "$LF_ARCH") in
	amd64) echo "console=ttyS0 no_timer_check" ;;
	arm64) echo "console=ttyAMA0" ;;
	esac
}

# qemu_boot KERNEL INITRD LOGDIR TIMEOUT [CMDLINE WORDS...]
# Writes LOGDIR/console.log (kernel console), LOGDIR/guest.log (output
# of the guest scripts), LOGDIR/qemu.log (QEMU's own
# messages) and LOGDIR/status ("rc=<qemu exit> secs=<n>"; rc 124 means
# the boot timed out and QEMU was killed).
qemu_boot() {
	local kernel=$1 initrd=$2 logdir=$3 timeout=$4 start rc=0
	shift 4
	mkdir -p "$logdir"
	rm -f "$logdir/console.log" "$logdir/guest.log" "$logdir/qemu.log" "$logdir/status"
	start=$(now)
	# shellcheck disable=SC2086
	timeout -k 10 "$timeout" "$QEMU" \
		-accel tcg,thread=single -smp "$QEMU_SMP" -m "$QEMU_MEM" $QEMU_EXTRA \
		-nographic -no-reboot -monitor none -net none \
		$(qemu_arch_args "$logdir") \
		-kernel "$kernel" -initrd "$initrd" \
		-append "$(echo $(qemu_arch_cmdline) $QEMU_BASE_CMDLINE "$@")" \
		</dev/null >"$logdir/qemu.log" 2>&1 || rc=$?
	echo "rc=$rc secs=$(($(now) - start))" >"$logdir/status"
	return 0
}
