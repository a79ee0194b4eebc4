#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# deploy/kubernetes/pin-images.sh [MANIFEST]: pin every image of the
# manifest (default: lazyfree.yaml beside this script) to the digest its
# tag names now: `image: busybox:1.36` becomes
# `image: busybox:1.36@sha256:<index digest>`.  Run again to refresh: an
# existing digest is replaced by the tag's current one.  The digest is the
# multi-architecture index's, so one manifest serves amd64 and arm64 nodes.
# All or nothing: the manifest is rewritten only once every tag resolved.
# Needs registry access and crane (go-containerregistry) or skopeo.
set -eu
manifest=${1:-$(dirname "$0")/lazyfree.yaml}

digest() {
	if command -v crane >/dev/null; then
		crane digest "$1"
	elif command -v skopeo >/dev/null; then
		# the raw manifest is the index for a multi-arch tag
		skopeo inspect --raw "docker://$1" >"$tmp.raw" || return 1
		sha256sum "$tmp.raw" | sed 's/^\([0-9a-f]*\).*/sha256:\1/'
	else
		echo "pin-images.sh: needs crane or skopeo" >&2
		return 1
	fi
}

tmp=$(mktemp "$manifest.XXXXXX")
trap 'rm -f "$tmp" "$tmp.raw"' EXIT
cp "$manifest" "$tmp"
for ref in $(sed -n 's/^ *image: *\([^ ]*\).*/\1/p' "$manifest" | sort -u); do
	tag=${ref%@*}
	d=$(digest "$tag") || d=
	case $d in
	sha256:????????????????????????????????????????????????????????????????) ;;
	*)
		echo "pin-images.sh: $tag: no digest ('$d'); $manifest unchanged" >&2
		exit 1
		;;
	esac
	echo "$tag -> $d"
	sed -i "s|^\( *image: *\)$ref\$|\1$tag@$d|" "$tmp"
done
cat "$tmp" >"$manifest"
