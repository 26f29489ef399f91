#!/usr/bin/env bash
# Runs every Fuzz* target in the module for $FUZZTIME (default 3s) each.
# Targets are discovered with `go test -list`, so new ones are picked up automatically.
set -euo pipefail
FUZZTIME=${FUZZTIME:-3s}
GO=${GO:-go}
count=0
for pkg in $($GO list ./...); do
	targets=$($GO test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
	for t in $targets; do
		echo "fuzz $pkg $t ($FUZZTIME)"
		$GO test -run '^$' -fuzz "^${t}\$" -fuzztime "$FUZZTIME" "$pkg" > /tmp/fuzz-$$.log 2>&1 || { cat /tmp/fuzz-$$.log; echo "FAIL: fuzz $pkg $t"; exit 1; }
		count=$((count + 1))
	done
done
rm -f /tmp/fuzz-$$.log
echo "fuzz smoke: $count targets passed"
