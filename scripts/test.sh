#!/usr/bin/env bash
# make test: vet, the race tests, then the rest side by side (vectors check, conformance,
# examples, fuzz smoke), each phase logged to its own file and timed; fails if any phase
# fails, printing that phase's log. TEST_SERIAL=1 runs the phases one after another.
set -uo pipefail
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
start=$(date +%s)

phase() { # name command...: run, time (wall and CPU), record the exit code
	local name=$1
	shift
	local t0
	t0=$(date +%s)
	local TIMEFORMAT='%R %U %S' # bash's time: wall, user and system CPU of the phase
	{ time { "$@" >"$logs/$name.log" 2>&1; echo $? >"$logs/$name.rc"; }; } 2>"$logs/$name.time"
	echo "  $name: done in $(($(date +%s) - t0))s" >&2
}

report() {
	local failed=0
	printf '%-14s %8s %8s  %s\n' phase wall cpu result
	for name in "$@"; do
		read -r wall user sys <"$logs/$name.time" 2>/dev/null || { wall=?; user=0; sys=0; }
		rc=$(cat "$logs/$name.rc" 2>/dev/null || echo 1)
		res=ok
		if [ "$rc" != 0 ]; then res="FAILED (exit $rc)"; failed=1; fi
		printf '%-14s %7.0fs %7.0fs  %s\n' "$name" "$wall" "$(echo "$user + $sys" | bc)" "$res"
	done
	for name in "$@"; do
		if [ "$(cat "$logs/$name.rc" 2>/dev/null || echo 1)" != 0 ]; then
			echo "--- $name log:"
			cat "$logs/$name.log"
		fi
	done
	return $failed
}

echo "make test: vet, race tests, RLN tests, the v2 property test, bindings-test, then vectors-check, conformance, examples and the fuzz smoke side by side" >&2
phase vet $MAKE --no-print-directory vet
if [ "$(cat "$logs/vet.rc")" != 0 ]; then report vet; exit 1; fi
others=(vectors-check conformance examples fuzz-smoke)
# The race tests run alone: several of them wait on go-waku nodes and timers, and a CPU-bound
# phase beside them on 2 cores makes them slow enough to flake. The other phases do not depend
# on timing, so they run side by side afterwards.
phase race $MAKE --no-print-directory race
# The RLN tests: built without -tags gowaku_no_rln (zerokit linked), real RLN nodes on
# loopback; alone, since zerokit's set-up and proofs are CPU-bound.
phase rln $MAKE --no-print-directory test-rln
# The key-schedule v2 property test (200 seeds), alone: it waits on simulated delivery.
phase property $MAKE --no-print-directory property
# The bindings' tests (go-waku nodes, event timing) run alone too.
phase bindings-test $MAKE --no-print-directory bindings-test
if [ "${TEST_SERIAL:-0}" = 1 ]; then
	for p in "${others[@]}"; do phase "$p" $MAKE --no-print-directory "$p"; done
else
	pids=()
	for p in "${others[@]}"; do
		phase "$p" $MAKE --no-print-directory "$p" &
		pids+=($!)
	done
	wait "${pids[@]}"
fi
report vet race rln property bindings-test "${others[@]}"
rc=$?
grep -h '^fuzz smoke:' "$logs/fuzz-smoke.log" || true
echo "total $(($(date +%s) - start))s"
exit $rc
