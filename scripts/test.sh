#!/usr/bin/env bash
# Runs every test of turboquant and ends with one line "N passed, N failed":
#   1. core unit tests (GoogleTest, no server)
#   2. pg_regress (sql/, expected/) against a throwaway cluster it starts itself
#   3. TAP tests (crash recovery, replica, concurrency, filters) as user postgres
#   4. the benchmark runner's tests (pytest, tiny sizes) against a throwaway cluster
# Builds and installs the extension first (installing needs root or sudo).
# Run scripts/setup.sh once before.  Environment: CI=true makes tests that need
# ../shared/data fail instead of skipping when the data are absent.
set -uo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
LOG=$(mktemp -d /tmp/turboquant-test.XXXXXX)
chmod 755 "$LOG"
passed=0
failed=0
suites_failed=()

# count PASSED FAILED: adds to the totals
count() { passed=$((passed + $1)); failed=$((failed + $2)); }

make -j2 >"$LOG/build.log" 2>&1 && $SUDO make install >>"$LOG/build.log" 2>&1 || {
	cat "$LOG/build.log"; echo "build failed"; echo "0 passed, 1 failed"; exit 1; }

echo "== core unit tests"
make -j2 unittest >"$LOG/unit.log" 2>&1
grep -E '^\[  (PASSED|FAILED|SKIPPED) |^\[==========\]|^kernel sets' "$LOG/unit.log" | tail -20
p=$(grep -oP '^\[  PASSED  \] \K[0-9]+' "$LOG/unit.log" | tail -1)
f=$(grep -oP '^\[  FAILED  \] \K[0-9]+(?= tests?, listed)' "$LOG/unit.log" | tail -1)
if [ -z "$p$f" ]; then suites_failed+=(unit); count 0 1; else count "${p:-0}" "${f:-0}"; fi
[ -n "$f" ] && suites_failed+=(unit)

echo "== core unit tests for aarch64 (cross-compiled, under qemu)"
bash scripts/test_aarch64.sh >"$LOG/aarch64.log" 2>&1
rc=$?
grep -E '^(skipped|reference|kernel sets|codes hash|aarch64|\[  (PASSED|FAILED) )' "$LOG/aarch64.log"
if [ "$rc" = 77 ]; then skipped=$((${skipped:-0} + 1)); else
	p=$(grep -oP '^aarch64: \K[0-9]+(?= passed)' "$LOG/aarch64.log" | tail -1)
	f=$(grep -oP '^aarch64: [0-9]+ passed, \K[0-9]+' "$LOG/aarch64.log" | tail -1)
	[ "$rc" != 0 ] && { suites_failed+=(aarch64); [ "${f:-0}" = 0 ] && f=1; tail -30 "$LOG/aarch64.log"; }
	count "${p:-0}" "${f:-0}"
fi

echo "== pg_regress"
rm -f regression.diffs
pg_virtualenv -t make installcheck >"$LOG/regress.log" 2>&1
grep -E '^(test |ok |not ok |     )|tests (passed|failed)' "$LOG/regress.log" | grep -v '^ *$' | tail -60
if grep -qE 'All [0-9]+ tests passed' "$LOG/regress.log"; then
	count "$(grep -oP 'All \K[0-9]+' "$LOG/regress.log")" 0
else
	f=$(grep -oP '\K[0-9]+(?= of [0-9]+ tests failed)' "$LOG/regress.log")
	n=$(grep -oP '[0-9]+ of \K[0-9]+(?= tests failed)' "$LOG/regress.log")
	if [ -n "$n" ]; then count $((n - f)) "$f"; else count 0 1; fi
	suites_failed+=(regress)
	[ -f regression.diffs ] && head -200 regression.diffs
fi

echo "== TAP"
if make -s tapcheck >"$LOG/tap.log" 2>&1; then ok=1; else ok=0; fi
grep -E '^(t/|test/|All tests|Files=|Result:|Failed|not ok)' "$LOG/tap.log" | tail -30
n=$(grep -oP 'Tests=\K[0-9]+' "$LOG/tap.log" | tail -1)
if [ "$ok" = 1 ] && [ -n "$n" ]; then count "$n" 0; else
	count 0 1; suites_failed+=(tap); tail -80 "$LOG/tap.log"; fi

echo "== benchmark runner tests"
pg_virtualenv -t python3 -m pytest -q -p no:cacheprovider test/bench >"$LOG/pytest.log" 2>&1
rc=$?
tail -15 "$LOG/pytest.log"
p=$(grep -oP '\b\K[0-9]+(?= passed)' "$LOG/pytest.log" | tail -1)
f=$(grep -oP '\b\K[0-9]+(?= (failed|error))' "$LOG/pytest.log" | tail -1)
if [ "$rc" != 0 ]; then suites_failed+=(bench); [ -z "$f" ] && f=1; fi
count "${p:-0}" "${f:-0}"

echo "logs: $LOG"
[ ${#suites_failed[@]} -gt 0 ] && echo "failed suites: ${suites_failed[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#suites_failed[@]} -eq 0 ]
