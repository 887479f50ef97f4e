#!/bin/bash
# test_parsers.sh — scripts/test.sh's log parsers on sample outputs of each
# tool, including the ones the old parser miscounted (pytest's
# "1 failed, 2 errors" is three failures, not two; skips are counted).
set -uo pipefail
cd "$(dirname "$0")/.."
TQ_TEST_SH_LIB=1 source scripts/test.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bad=0
check() {	# check NAME PARSER EXPECTED <<< log
	local name=$1 parser=$2 want=$3 got
	cat >"$tmp/log"
	got=$("$parser" "$tmp/log")
	if [ "$got" = "$want" ]; then echo "ok: $name -> $got"; else
		echo "FAIL: $name: got '$got', want '$want'"; bad=1; fi
}

check "pytest failures and errors" parse_pytest "0 3 0" <<'L'
FAILED test/bench/test_x.py::test_a - assert 1 == 2
ERROR test/bench/test_y.py::test_b - RuntimeError
1 failed, 2 errors in 0.51s
L
check "pytest mixed" parse_pytest "20 1 3" <<'L'
....s.s..F
1 failed, 20 passed, 2 skipped, 1 xfailed, 4 deselected in 3.10s
L
check "pytest decorated summary" parse_pytest "5 0 0" <<'L'
============================== 5 passed in 1.00s ===============================
L
check "pytest that never ran" parse_pytest "0 1 0" <<'L'
ImportError while loading conftest
L
check "gtest with skips" parse_gtest "25 0 2" <<'L'
[==========] 27 tests from 9 test suites ran. (18167 ms total)
[  PASSED  ] 25 tests.
[  SKIPPED ] 2 tests, listed below:
[  SKIPPED ] Recall.Npm
[  SKIPPED ] Recall.Debian
L
check "gtest with failures" parse_gtest "26 1 0" <<'L'
[  PASSED  ] 26 tests.
[  FAILED  ] 1 test, listed below:
[  FAILED  ] Encode.ExtremeNorms

 1 FAILED TEST
L
check "gtest crash" parse_gtest "0 1 0" <<'L'
[ RUN      ] Encode.ExtremeNorms
Segmentation fault
L
check "pg_regress 15" parse_regress "2 1 0" <<'L'
test index_dims                   ... ok           95 ms
test index_dml                    ... FAILED      428 ms
test index_extreme                ... ok         1509 ms
 1 of 3 tests failed.
L
check "pg_regress 16+" parse_regress "1 1 0" <<'L'
ok 1         - index_dims                               95 ms
not ok 2     - index_dml                               428 ms
L
check "prove" parse_prove "2 1 1" <<'L'
t/001_wal.pl .......... ok
t/002_crash.pl ........ Dubious, test returned 1 (wstat 256, 0x100)
Failed 2/48 subtests
t/003_concurrency.pl .. ok
t/007_arm.pl .......... skipped: no aarch64 cross compiler
Files=4, Tests=120, 70 wallclock secs
L
check "prove that never ran" parse_prove "0 1 0" <<'L'
run_tap.sh: Perl module IPC::Run missing
L
exit $bad
