#!/usr/bin/env bash
# Regenerates the committed Go code of every .proto file in the repository.
#
# Pinned tools:
#   protoc         3.21.12  (libprotoc 3.21.12, Debian bookworm package protobuf-compiler
#                            3.21.12-3; installed with apt-get when missing, since protoc
#                            releases cannot be downloaded here)
#   protoc-gen-go  $PROTOC_GEN_GO_VERSION (default v1.36.12, the google.golang.org/protobuf
#                            version in go.mod), installed into $TOOLS with `go install`.
#
# Every .proto must set `option go_package = "github.com/chorus-im/chorus/<dir>";`, so the
# output lands next to the .proto file.
set -euo pipefail
PROTOC_VERSION=3.21.12
PROTOC_GEN_GO_VERSION=${PROTOC_GEN_GO_VERSION:-v1.36.12}
GO=${GO:-go}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS=${TOOLS:-$ROOT/bin}
MODULE=github.com/chorus-im/chorus

if ! command -v protoc >/dev/null 2>&1; then
	echo "proto: installing protoc $PROTOC_VERSION (Debian protobuf-compiler)"
	SUDO=""
	if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq "protobuf-compiler=${PROTOC_VERSION}*" ||
		$SUDO apt-get install -y -qq protobuf-compiler
fi
have=$(protoc --version | awk '{print $2}')
if [ "$have" != "$PROTOC_VERSION" ]; then
	echo "proto: protoc $have found, $PROTOC_VERSION pinned: generated headers will differ" >&2
	exit 1
fi

mkdir -p "$TOOLS"
if ! "$TOOLS/protoc-gen-go" --version 2>/dev/null | grep -q "${PROTOC_GEN_GO_VERSION}$"; then
	echo "proto: installing protoc-gen-go $PROTOC_GEN_GO_VERSION"
	GOBIN="$TOOLS" $GO install "google.golang.org/protobuf/cmd/protoc-gen-go@${PROTOC_GEN_GO_VERSION}"
fi

cd "$ROOT"
mapfile -t dirs < <(git ls-files --cached --others --exclude-standard '*.proto' | xargs -r -n1 dirname | sort -u)
if [ "${#dirs[@]}" = 0 ]; then echo "proto: no .proto files"; exit 0; fi
for d in "${dirs[@]}"; do
	echo "proto: $d"
	PATH="$TOOLS:$PATH" protoc -I "$d" --go_out=. --go_opt=module=$MODULE "$d"/*.proto
done
echo "proto: regenerated ${#dirs[@]} package(s) with protoc $have, protoc-gen-go $PROTOC_GEN_GO_VERSION"
