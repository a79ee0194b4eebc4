#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# gate.sh LINE OBJTREE KERNELRELEASE ARCH [BTF]: print gate.h, the load
# gate of lazyfree for one kernel build (ARCH: kbuild's SRCARCH).
# gate.sh --unpack IMAGE OUT: write the ELF kernel (with its BTF) inside
# the compressed kernel image IMAGE to OUT.
#
# A hook strategy is built only when both hold:
#  (a) the kernel line LINE (6.18 is 618) lies in the mainline range where
#      the strategy's function has the form the strategy expects (ranges
#      read from mm/madvise.c of the releases; see the table below), and
#  (b) this build's BTF has that function, with exactly that prototype,
#      and any private struct the strategy reads, with the members it
#      reads at offsets it then takes from there.
# The BTF is, in this order: BTF (LF_BTF=), OBJTREE/vmlinux (Debian's
# headers ship it from 6.12), /sys/kernel/btf/vmlinux when building for
# the running kernel, the ELF inside /boot/vmlinuz-KERNELRELEASE.
#
# A line in range that the project's test matrix has not run on this ARCH
# says so at load (LF_GATE_TESTED 0); a build that passes no strategy
# loads nothing and says why (LF_GATE_REFUSAL).  Needs pfunct and pahole
# (dwarves).
line=$1
objtree=$2
release=$3
arch=$4
btf=$5

# strategy  first line  last line  function  its prototype (types only)
STRATEGIES="
FREE_SINGLE_VMA_RANGE|504|517|madvise_free_single_vma|int(struct vm_area_struct *,long unsigned int,long unsigned int)
VALID_VMA_INT|518|616|madvise_dontneed_free_valid_vma|bool(struct vm_area_struct *,long unsigned int,long unsigned int *,int)
FREE_SINGLE_VMA_BEHAVIOR|617|703|madvise_free_single_vma|int(struct madvise_behavior *)
"
# The lines the whole suite has passed on (make check-all), per SRCARCH.
TESTED="510:x86 601:x86 612:x86 618:x86 702:x86 703:x86 612:arm64 618:arm64 703:arm64"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lazyfree-gate.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# unpack_image IMAGE OUT: the ELF kernel inside a compressed image, found
# by the compressor's magic bytes (what scripts/extract-vmlinux does).
unpack_image() {
	for c in '\3757zXZ\000|abcde|xz -dc' '\037\213\010|xy|gzip -dc' \
		'(\265/\375|xxx|zstd -dc' '\002!L\030|xxx|lz4 -dc'; do
		magic=${c%%|*}
		rest=${c#*|}
		mark=${rest%%|*}
		cmd=${rest#*|}
		for pos in $(tr "$magic\n$mark" "\n$mark=" <"$1" | grep -abo "^$mark"); do
			pos=${pos%%:*}
			tail -c+"$pos" "$1" | $cmd >"$2" 2>/dev/null
			[ "$(head -c 4 "$2" | od -An -c | tr -d ' ')" = '177ELF' ] && return 0
		done
	done
	return 1
}

if [ "$1" = --unpack ]; then
	unpack_image "$2" "$3"
	exit
fi

find_btf() {
	if [ -n "$btf" ]; then
		[ -r "$btf" ] && echo "$btf"
		return
	fi
	if [ -r "$objtree/vmlinux" ]; then
		echo "$objtree/vmlinux"
	elif [ "$release" = "$(uname -r)" ] && [ -r /sys/kernel/btf/vmlinux ]; then
		echo /sys/kernel/btf/vmlinux
	elif [ -r "/boot/vmlinuz-$release" ] &&
		unpack_image "/boot/vmlinuz-$release" "$tmp/vmlinux"; then
		echo "$tmp/vmlinux"
	fi
}

# prototype FUNC: FUNC's prototype in the BTF, types only, as in
# STRATEGIES ("int(struct madvise_behavior *)"); empty when absent.
prototype() {
	pfunct -F btf -P "$src" 2>/dev/null | awk -v f="$1" '
		index($0, " " f "(") || index($0, "*" f "(") {
			ret = substr($0, 1, index($0, f "(") - 1)
			args = substr($0, index($0, f "(") + length(f) + 1)
			sub(/\);$/, "", args)
			n = split(args, a, /, /)
			out = ""
			for (i = 1; i <= n; i++) {
				# drop the parameter name, keep its type
				t = a[i]
				if (t != "void")
					sub(/[ ]*[A-Za-z_][A-Za-z_0-9]*$/, "", t)
				out = out (i > 1 ? "," : "") t
			}
			gsub(/[ ]+$/, "", ret)
			print ret "(" out ")"
			exit
		}'
}

# member STRUCT TYPE NAME: the byte offset of NAME, which must be of TYPE
member() {
	printf '%s\n' "$layout" | awk -v s="$1" -v t="$2" -v m="$3" '
		/^struct [a-z_]+ {/ { cur = $2 }
		cur == s && $0 ~ ("[ *]" m ";") {
			line = $0
			sub(/^[ \t]+/, "", line)
			type = line
			sub("[ \t]*" m ";.*", "", type)
			gsub(/[ \t]+/, " ", type)
			sub(/ \*$/, "*", type)
			n = split(line, w, /[ \t]+/)
			# ... /* OFFSET SIZE */
			if (type == t) { print w[n - 2]; found = 1 }
		}
		END { exit !found }'
}

# The offsets FREE_SINGLE_VMA_BEHAVIOR reads in struct madvise_behavior.
behavior_layout() {
	layout=$(pahole -F btf -C madvise_behavior,madvise_behavior_range "$src" 2>/dev/null)
	mm=$(member madvise_behavior 'struct mm_struct*' mm) &&
	vma=$(member madvise_behavior 'struct vm_area_struct*' vma) &&
	range=$(member madvise_behavior 'struct madvise_behavior_range' range) &&
	start=$(member madvise_behavior_range 'long unsigned int' start) &&
	end=$(member madvise_behavior_range 'long unsigned int' end)
}

chosen=""
why=""
src=$(find_btf)
if [ -z "$src" ]; then
	why="no BTF of $release to check the hooked function against (LF_BTF=, the headers' vmlinux, /sys/kernel/btf/vmlinux or /boot/vmlinuz-$release)"
elif ! command -v pfunct >/dev/null 2>&1 || ! command -v pahole >/dev/null 2>&1; then
	why="pfunct and pahole (dwarves) are needed to read the BTF of $release"
fi

while IFS='|' read -r name first last fn want; do
	[ -n "$name" ] && [ -z "$why" ] && [ -z "$chosen" ] || continue
	[ "$line" -ge "$first" ] && [ "$line" -le "$last" ] || continue
	have=$(prototype "$fn")
	if [ -z "$have" ]; then
		why="$fn is not a function of this build (inlined or renamed; BTF $src)"
	elif [ "$have" != "$want" ]; then
		why="$fn is $have in the BTF of this build, lazyfree expects $want"
	elif [ "$name" = FREE_SINGLE_VMA_BEHAVIOR ] && ! behavior_layout; then
		why="struct madvise_behavior of this build lacks mm, vma or range.start/end as lazyfree reads them"
	else
		chosen=$name
	fi
done <<EOF
$STRATEGIES
EOF
if [ -z "$chosen" ] && [ -z "$why" ]; then
	why="no strategy covers Linux $((line / 100)).$((line % 100)): the form of mm/madvise.c there has not been read"
fi

echo "/* generated by gate.sh for $release (line $line) from ${src:-no BTF} */"
while IFS='|' read -r name _; do
	[ -n "$name" ] || continue
	echo "#define LF_STRATEGY_$name	$([ "$name" = "$chosen" ] && echo 1 || echo 0)"
done <<EOF
$STRATEGIES
EOF
tested=0
for t in $TESTED; do
	[ "$t" = "$line:$arch" ] && tested=1
done
echo "#define LF_GATE_TESTED	$tested"
echo "#define LF_GATE_REFUSAL	\"$(printf '%s' "$why" | sed 's/[\\"]/\\&/g')\""
if [ "$chosen" = FREE_SINGLE_VMA_BEHAVIOR ]; then
	echo "#define LF_MB_OFF_MM	$mm"
	echo "#define LF_MB_OFF_VMA	$vma"
	echo "#define LF_MB_OFF_RANGE_START	$((range + start))"
	echo "#define LF_MB_OFF_RANGE_END	$((range + end))"
else
	for f in MM VMA RANGE_START RANGE_END; do
		echo "#define LF_MB_OFF_$f	0"
	done
fi
