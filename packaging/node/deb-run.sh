#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs inside a node chroot of packaging/deb-check.sh, as root, with the
# packages lazyfree-dkms and lazyfreectl and the headers of a second
# kernel in /root/debs:  deb-run.sh OLD_RELEASE NEW_RELEASE
# OLD's headers (and image) are installed, NEW's image is (a kernel
# update whose headers arrive now).  apt-get installs the packages, DKMS
# builds the module for OLD, then for NEW when its headers come; remove
# keeps the conffiles; purge (and removing NEW's headers again) leaves the
# file system as it was before the install.  Prints TAP.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive
K1=$1 K2=$2
# shellcheck source=packaging/node/tap.sh
. "$(dirname "$0")/tap.sh"
cd /root/debs || exit 1
DKMS_DEB=$(ls lazyfree-dkms_*_all.deb)
CTL_DEB=$(ls lazyfreectl_*.deb)
K2_DEB=$(ls "linux-headers-${K2}_"*.deb)
V=$(dpkg-deb -f "$DKMS_DEB" Version)
V=${V%-*}
ARCH=$(uname -m)
opts="default_mode=free max_cgroups=4096 hook=auto"
CONFFILES="/etc/lazyfree.conf /etc/modprobe.d/lazyfree.conf"

# apt-get, and again after apt-get update when the lists are stale
apt_get() {
	apt-get -y -q --no-install-recommends "$@" ||
		{ apt-get update -qq && apt-get -y -q --no-install-recommends "$@"; }
}
status() { dkms status -m lazyfree 2>/dev/null | sort; }
# what is on the file system, but for what apt, dpkg's databases and the
# run itself change
listing() {
	(cd / && find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./run \
		-o -path ./tmp -o -path ./root -o -path ./var/cache -o -path ./var/log \
		-o -path ./var/lib/apt \) -prune -o -print) |
		grep -v -E '^\./var/lib/dpkg/([^i]|i[^n])' | LC_ALL=C sort
}
# ko_cat KO: the module file, decompressed
ko_cat() {
	case $1 in
	*.xz) xz -dc "$1" ;;
	*.zst) zstd -qdc "$1" ;;
	*.gz) gzip -dc "$1" ;;
	*) cat "$1" ;;
	esac
}
# module REL: DKMS's module for REL, with REL's vermagic, the version
# and a load gate that found the kernel's BTF and pahole, and what
# modprobe loads with /etc/modprobe.d's options
module() {
	local rel=$1 ko r=0 vermagic
	ko=$(ls "/lib/modules/$rel/updates/dkms/lazyfree.ko"* 2>/dev/null)
	if [ "$(echo "$ko" | wc -w)" != 1 ]; then
		echo "# /lib/modules/$rel/updates/dkms: '$ko', want one lazyfree.ko*"
		not_ok "$rel: DKMS's module"
		return
	fi
	vermagic=$(modinfo -F vermagic "$ko")
	case $vermagic in "$rel "*) ;; *) echo "# vermagic: $vermagic"; r=1 ;; esac
	[ "$(modinfo -F version "$ko")" = "$V" ] || { echo "# version: $(modinfo -F version "$ko")"; r=1; }
	if ko_cat "$ko" | grep -a -q -e 'no BTF of ' -e 'pfunct and pahole (dwarves) are needed'; then
		echo "# the load gate found no BTF or no pahole: the module refuses to load"
		r=1
	fi
	case $(modprobe --set-version "$rel" --show-depends lazyfree 2>&1) in
	"insmod $ko $opts ") ;;
	*) modprobe --set-version "$rel" --show-depends lazyfree 2>&1 | sed 's/^/# modprobe: /'; r=1 ;;
	esac
	verdict $r "$rel: ${ko##*/} in updates/dkms, vermagic $rel, version $V, load gate passed, modprobe with /etc/modprobe.d's options"
}

t "the packages' dependencies resolve (apt-get satisfy)" /tmp/satisfy.log \
	apt_get satisfy "$(dpkg-deb -f "$DKMS_DEB" Depends), $(dpkg-deb -f "$CTL_DEB" Depends)"
before=$(listing)

t "apt-get install ./$DKMS_DEB ./$CTL_DEB ($K1's headers present)" /tmp/install.log \
	apt_get install "./$DKMS_DEB" "./$CTL_DEB"
# the listing sees what the packages install (so its comparison can fail)
r=0
for f in "/usr/src/lazyfree-$V/dkms.conf" /usr/sbin/lazyfreectl /etc/lazyfree.conf \
	"/lib/modules/$K1/updates/dkms"; do
	# /lib is /usr/lib (merged /usr): the listing names the real path
	listing | grep -qxF ".$(readlink -f "$f")" || { echo "# not in the listing: $f"; r=1; }
done
verdict $r "the file system listing ($(echo "$before" | wc -l) entries before) shows the installed files"
expect "dkms status: installed for $K1" "lazyfree/$V, $K1, $ARCH: installed" "$(status)"
module "$K1"
case $(lazyfreectl --version 2>&1) in
"lazyfreectl $V"*) ok "lazyfreectl --version: $V" ;;
*) lazyfreectl --version 2>&1 | sed 's/^/# /'; not_ok "lazyfreectl --version" ;;
esac
r=0
for u in lazyfree.service lazyfree-apply.service lazyfree-apply.timer; do
	[ -f "/lib/systemd/system/$u" ] || { echo "# no /lib/systemd/system/$u"; r=1; }
done
enabled=$(find /etc/systemd -name 'lazyfree*' 2>/dev/null)
[ -z "$enabled" ] || { echo "# enabled: $enabled"; r=1; }
have_conf=$(dpkg-query -W -f='${Conffiles}\n' lazyfreectl | awk 'NF { print $1 }' | sort)
[ "$have_conf" = "$(echo "$CONFFILES" | tr ' ' '\n' | sort)" ] || { echo "# conffiles: $have_conf"; r=1; }
verdict $r "lazyfreectl: units installed and not enabled; conffiles $CONFFILES"

t "apt-get install ./${K2_DEB} (a kernel update)" /tmp/install-k2.log apt_get install "./$K2_DEB"
expect "dkms status: installed for both kernels (DKMS's header hook)" \
	"$(printf 'lazyfree/%s, %s, %s: installed\n' "$V" "$K1" "$ARCH" "$V" "$K2" "$ARCH" | sort)" "$(status)"
module "$K2"
# for packaging/vm-check.sh: the module DKMS built on the update
mkdir -p "/root/vm/$K2" && cp "/lib/modules/$K2/updates/dkms/"lazyfree.ko* "/root/vm/$K2/"

t "apt-get remove lazyfree-dkms lazyfreectl" /tmp/remove.log apt_get remove lazyfree-dkms lazyfreectl
r=0
[ -z "$(status)" ] || { status | sed 's/^/# dkms status: /'; r=1; }
left=$(find /lib/modules /usr/src /usr/sbin /var/lib/dkms -name 'lazyfree*' 2>/dev/null)
[ -z "$left" ] || { echo "$left" | sed 's/^/# left: /'; r=1; }
for f in $CONFFILES; do
	[ -f "$f" ] || { echo "# $f went"; r=1; }
done
[ "$(dpkg-query -W -f='${Status}' lazyfreectl 2>&1)" = "deinstall ok config-files" ] ||
	{ echo "# lazyfreectl: $(dpkg-query -W -f='${Status}' lazyfreectl 2>&1)"; r=1; }
verdict $r "after remove: no module, sources or tool; the conffiles stay (config-files)"

t "apt-get purge lazyfree-dkms lazyfreectl, and $K2's headers" /tmp/purge.log \
	apt_get purge lazyfree-dkms lazyfreectl "linux-headers-$K2"
after=$(listing)
if [ "$before" = "$after" ]; then
	ok "after purge: the file system listing is the one before the install"
else
	diff <(echo "$before") <(echo "$after") | grep '^[<>]' | sed 's/^</# missing:/; s/^>/# left:/' | head -n 40
	not_ok "after purge: the file system listing is the one before the install"
fi
echo "1..$n"
