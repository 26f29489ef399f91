#!/usr/bin/env bash
# Fuzz smoke: every Fuzz* target in the module, each for a fixed number of executions.
#
# Budgets are execution counts (-fuzztime Nx), never durations: a duration-based -fuzztime can
# fail a target that found nothing (Go's fuzz coordinator races its own deadline,
# golang/go#75804, fixed in Go 1.27, present in go1.26.x). With a count there is no deadline, so
# the smoke fails only on a real finding (Go then writes the reproducer under testdata/fuzz/) or
# on a target that does not build or run at all.
#
# Each package's instrumented test binary is built once and runs all of its targets; targets are
# discovered with -test.list, so new ones are picked up automatically. Per-target budgets live in
# scripts/fuzz-budgets.txt ("<package dir> <target> <count>"); FUZZ_DEFAULT (default 60000) is
# used for targets not listed there, FUZZ_SCALE (default 1) multiplies every budget.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZ_DEFAULT=${FUZZ_DEFAULT:-60000}
FUZZ_SCALE=${FUZZ_SCALE:-1}
budgets=scripts/fuzz-budgets.txt
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

budget() { # dir target
	local n
	n=$(awk -v d="$1" -v t="$2" '$1==d && $2==t {print $3}' "$budgets" 2>/dev/null || true)
	echo $(( ${n:-$FUZZ_DEFAULT} * FUZZ_SCALE ))
}

dirs=$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u)
count=0
start=$(date +%s)
for dir in $dirs; do
	dir=${dir#./}
	bin="$work/$(echo "$dir" | tr / _).test"
	$GO test -c -fuzz '^Fuzz' -o "$bin" "./$dir" >"$work/build.log" 2>&1 || { cat "$work/build.log"; echo "FAIL: building fuzz binary for $dir"; exit 1; }
	targets=$(cd "$dir" && "$bin" -test.list '^Fuzz' | grep '^Fuzz' || true)
	for t in $targets; do
		n=$(budget "$dir" "$t")
		t0=$(date +%s.%N)
		if ! (cd "$dir" && "$bin" -test.run '^$' -test.fuzz "^${t}\$" -test.fuzztime "${n}x" \
			-test.fuzzcachedir "$work/cache" -test.timeout 10m) >"$work/run.log" 2>&1; then
			cat "$work/run.log"
			if grep -q 'Failing input written to' "$work/run.log"; then
				echo "FAIL: fuzz $dir $t found a failing input (reproducer above, under $dir/testdata/fuzz/$t)"
			else
				echo "FAIL: fuzz $dir $t (no reproducer written; see output above)"
			fi
			exit 1
		fi
		printf 'fuzz %-28s %-24s %7sx %5.1fs\n' "$dir" "$t" "$n" "$(echo "$(date +%s.%N) - $t0" | bc)"
		count=$((count + 1))
	done
done
echo "fuzz smoke: $count targets passed in $(( $(date +%s) - start ))s"
