#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs inside the Debian 12 node chroot of packaging/node-check.sh, as root,
# with the tree at /root/lazyfree and the upgrade kernel's header packages
# in /debs:  run.sh OLD_RELEASE NEW_RELEASE
# The real paths, no DESTDIR: make dkms-install, make install
# [MODULE=no], make uninstall, DKMS's autoinstall on a kernel upgrade.
# Prints TAP.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive
K1=$1 K2=$2
cd /root/lazyfree || exit 1
V=$(cat VERSION)
# shellcheck source=packaging/node/tap.sh
. "$(dirname "$0")/tap.sh"
# show_depends REL: what modprobe would run for lazyfree on kernel REL
show_depends() { modprobe --set-version "$1" --show-depends lazyfree 2>&1; }
opts="default_mode=free max_cgroups=4096 hook=auto"
status() { dkms status -m lazyfree -v "$V" 2>/dev/null | sort; }

t "make dkms-install KDIR=<$K1> (dkms add, build, install)" /tmp/dkms-install.log \
	make dkms-install KDIR="/lib/modules/$K1/build"
expect "dkms status: installed for $K1" "lazyfree/$V, $K1, x86_64: installed" "$(status)"
t "make install MODULE=no" /tmp/install-nomodule.log make install MODULE=no
r=0
for f in /usr/local/sbin/lazyfreectl /usr/local/share/man/man8/lazyfreectl.8 \
	/etc/systemd/system/lazyfree.service /etc/systemd/system/lazyfree-apply.service \
	/etc/systemd/system/lazyfree-apply.timer /etc/lazyfree.conf /etc/modprobe.d/lazyfree.conf; do
	[ -f "$f" ] || { echo "# missing $f"; r=1; }
done
ls /lib/modules/*/extra 2>/dev/null && { echo "# MODULE=no installed a module"; r=1; }
[ "$r" = 0 ] && ok "MODULE=no: tool, man page, unit, configs, no module" || not_ok "MODULE=no layout"
expect "modprobe $K1: DKMS's module with /etc/modprobe.d's options" \
	"insmod /lib/modules/$K1/updates/dkms/lazyfree.ko $opts " "$(show_depends "$K1")"

# A kernel upgrade: the new kernel's headers arrive; DKMS's hook builds
# lazyfree for it (AUTOINSTALL).
t "apt-get install the headers of $K2" /tmp/apt-k2.log \
	apt-get install -y -q --no-install-recommends /debs/*.deb
expect "dkms status: installed for both kernels" \
	"$(printf 'lazyfree/%s, %s, x86_64: installed\n' "$V" "$K1" "$V" "$K2" | sort)" "$(status)"
case $(show_depends "$K2") in
"insmod /lib/modules/$K2/updates/dkms/lazyfree.ko"*" $opts ") ok "modprobe $K2: the module DKMS built on the upgrade" ;;
*) show_depends "$K2" | sed 's/^/# /'; not_ok "modprobe $K2: the module DKMS built on the upgrade" ;;
esac

# make install as well: its copy goes to extra/, depmod runs, and
# modprobe prefers DKMS's in updates/.
t "make install KDIR=<$K1>" /tmp/install.log make install KDIR="/lib/modules/$K1/build"
r=0
[ -f "/lib/modules/$K1/extra/module/lazyfree.ko" ] || { echo "# no extra/module/lazyfree.ko"; r=1; }
grep -q "^depmod -a $K1\$" /tmp/install.log || { echo "# make install did not run depmod -a $K1"; r=1; }
[ "$r" = 0 ] && ok "make install: extra/module/lazyfree.ko, depmod -a $K1" || not_ok "make install: module and depmod"
expect "modprobe $K1 with both copies: DKMS's (updates/) wins" \
	"insmod /lib/modules/$K1/updates/dkms/lazyfree.ko $opts " "$(show_depends "$K1")"

echo "# a local change" >>/etc/lazyfree.conf
t "make uninstall" /tmp/uninstall.log make uninstall
r=0
[ -e "/lib/modules/$K1/extra/module/lazyfree.ko" ] && { echo "# extra/module/lazyfree.ko still there"; r=1; }
grep -q "^depmod -a $K1\$" /tmp/uninstall.log || { echo "# make uninstall did not run depmod -a $K1"; r=1; }
for f in /usr/local/sbin/lazyfreectl /usr/local/share/man/man8/lazyfreectl.8 \
	/etc/systemd/system/lazyfree.service /etc/systemd/system/lazyfree-apply.service \
	/etc/systemd/system/lazyfree-apply.timer /etc/modprobe.d/lazyfree.conf; do
	[ -e "$f" ] && { echo "# $f still there"; r=1; }
done
grep -q "^# a local change" /etc/lazyfree.conf || { echo "# the changed /etc/lazyfree.conf went"; r=1; }
[ "$r" = 0 ] && ok "make uninstall: module (and depmod), tool, unit, unchanged config gone; changed config kept" ||
	not_ok "make uninstall"
expect "after make uninstall: DKMS's module stays" "$(printf 'lazyfree/%s, %s, x86_64: installed\n' "$V" "$K1" "$V" "$K2" | sort)" "$(status)"

t "make dkms-install again (same version)" /tmp/dkms-install2.log make dkms-install KDIR="/lib/modules/$K1/build"
expect "again: still installed for both kernels" \
	"$(printf 'lazyfree/%s, %s, x86_64: installed\n' "$V" "$K1" "$V" "$K2" | sort)" "$(status)"
t "dkms remove lazyfree/$V --all" /tmp/dkms-remove.log dkms remove "lazyfree/$V" --all
r=$(find /lib/modules -name 'lazyfree.ko*')
expect "nothing of lazyfree left under /lib/modules" "" "$r"
echo "1..$n"
