#!/usr/bin/env bash
# generate DIR: run every generator in spec/gen/* writing into DIR.
# check DIR:    regenerate into a temp dir and fail if any committed file in DIR differs.
set -euo pipefail
mode=${1:?generate|check}
dir=${2:-spec/vectors}
GO=${GO:-go}
gens=$(ls -d spec/gen/*/ 2>/dev/null || true)
if [ -z "$gens" ]; then echo "vectors: no generators in spec/gen"; exit 1; fi
case "$mode" in
generate)
	for g in $gens; do $GO run "./$g" -out "$dir"; done
	echo "vectors: regenerated into $dir"
	;;
check)
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	for g in $gens; do $GO run "./$g" -out "$tmp"; done
	fail=0
	for f in "$tmp"/*.json; do
		name=$(basename "$f")
		if ! cmp -s "$f" "$dir/$name"; then
			echo "vectors: $dir/$name differs from a fresh 'make vectors' (or is missing)"
			fail=1
		fi
	done
	[ "$fail" = 0 ] || exit 1
	echo "vectors: $(ls "$tmp" | wc -l) files reproduced byte-for-byte"
	;;
*) echo "usage: $0 generate|check [DIR]"; exit 2 ;;
esac
