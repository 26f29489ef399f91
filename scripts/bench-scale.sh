#!/usr/bin/env bash
# Scale simulation tables (issue 9): groups of N = 10, 100, 400 members with D = 1 and 3
# installations per member, over the in-memory transport, in one process.
#   scripts/bench-scale.sh                 default sizes
#   scripts/bench-scale.sh -large          also N = 1000
#   scripts/bench-scale.sh -n 10 -d 1 -q   any sim.Main flag (see go run ./cmd/chorus-scale -h)
# Tables go to stdout (markdown), progress to stderr. Exit 1 if a hard check failed.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS="${GOFLAGS:--tags=gowaku_no_rln}"
export CGO_ENABLED=1
exec go run ./cmd/chorus-scale "$@"
