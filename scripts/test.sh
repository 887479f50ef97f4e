#!/usr/bin/env bash
# Runs every test of turboquant.  Each suite prints one line in its own unit,
#   == unit: 27 passed, 0 failed, 0 skipped (GoogleTest cases)
# and the last line adds them up:
#   N passed, N failed, N skipped
# The suites:
#   checks   build properties: exported symbols, no C++ exceptions, referenced
#            documents exist, the PostgreSQL version guard, this script's own
#            log parsers (one per check)
#   unit     core unit tests (GoogleTest cases, no server); prints the kernel
#            sets it compared with scalar and those this CPU cannot run
#   aarch64  the core unit tests cross-compiled for aarch64, run under qemu:
#            NEON against scalar, codes identical to this machine's
#            (scripts/test_aarch64.sh; skipped without the toolchain, unless CI=true)
#   regress  pg_regress (sql/, expected/; one per file) on a throwaway cluster
#   pgvector the companion extension turboquant_pgvector's pg_regress tests
#            (test/pgvector; one per file); skipped, one per file, when
#            pgvector is not installed (it is optional, not test data)
#   readme   the README's SQL examples (test/readme_sql.sh): with turboquant
#            alone, and with pgvector too (skipped without pgvector)
#   tap      TAP tests (test/t; one per script, its assertions shown) as postgres
#   pytest   the benchmark runner's tests (one per test) on a throwaway cluster
# Builds (with -Werror) and installs the extension first: installing needs
# root or sudo.  Run scripts/setup.sh once before.
# Environment: CI=true makes tests that need ../shared/data (or a server, or
# a toolchain) fail instead of skipping when it is absent (the tests decide);
# TQ_SUITES="unit regress" runs only those suites.
#
# Adding a suite: write a function suite_NAME that runs it, shows what it ran,
# and ends with `report NAME "what is counted" PASSED FAILED SKIPPED`; then add
# NAME to SUITES below.  A suite that cannot run at all reports one failure
# (or, when its prerequisite is legitimately absent, one skip).
set -uo pipefail
cd "$(dirname "$0")/.."

SUITES=(checks unit aarch64 regress pgvector readme tap pytest)

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# Every suite starts its own throwaway cluster (pg_virtualenv, TAP): a PGPORT
# or PGHOST of the caller's own server would only make them collide with it.
unset PGHOST PGPORT PGDATABASE PGUSER PGSERVICE PGHOSTADDR
passed=0
failed=0
skipped=0
suites_failed=()

# report SUITE UNIT PASSED FAILED SKIPPED: prints the suite's line, adds to the totals
report() {
	local suite=$1 unit=$2 p=${3:-0} f=${4:-0} s=${5:-0}
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	[ "$f" -gt 0 ] && suites_failed+=("$suite")
	echo "== $suite: $p passed, $f failed, $s skipped ($unit)"
}

# ---- log parsers: each prints "PASSED FAILED SKIPPED" (test/test_parsers.sh) ----

# GoogleTest's summary; a run without one (crash, build failure) is one failure.
parse_gtest() {
	local log=$1 p f s
	p=$(grep -oP '^\[  PASSED  \] \K[0-9]+' "$log" | tail -1)
	f=$(grep -oP '^\[  FAILED  \] \K[0-9]+(?= tests?, listed below)' "$log" | tail -1)
	s=$(grep -oP '^\[  SKIPPED \] \K[0-9]+' "$log" | tail -1)
	if [ -z "$p$f" ]; then echo "0 1 0"; else echo "${p:-0} ${f:-0} ${s:-0}"; fi
}

# pg_regress: one line per test file, "test NAME ... ok|FAILED|failed (ignored)"
# (PostgreSQL 15), or "ok N - NAME" / "not ok N - NAME" (TAP style, 16+).
parse_regress() {
	local log=$1 p f
	p=$(grep -cE '^(test |     )?[a-z0-9_]+ +\.\.\. ok|^ok [0-9]+ +[-+] ' "$log")
	f=$(grep -cE '\.\.\. (FAILED|failed)|^not ok [0-9]+ ' "$log")
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then echo "0 1 0"; else echo "$p $f 0"; fi
}

# prove: one line per script, "t/NAME.pl .. ok", "... skipped: why", or a failure.
parse_prove() {
	local log=$1 p f s
	p=$(grep -cE '^t/[^ ]+\.pl \.+ ok$' "$log")
	s=$(grep -cE '^t/[^ ]+\.pl \.+ skipped' "$log")
	f=$(grep -E '^t/[^ ]+\.pl \.+' "$log" | grep -cvE '\.+ (ok|skipped)')
	# a script that died mid-way shows its name alone, then "Dubious"/"Failed"
	f=$((f + $(grep -cE '^t/[^ ]+\.pl \(Wstat' "$log")))
	if [ $((p + f + s)) -eq 0 ]; then echo "0 1 0"; else echo "$p $f $s"; fi
}

# pytest's last line, e.g. "1 failed, 20 passed, 2 skipped, 2 errors in 3.10s":
# every number counts (errors and unexpected passes as failures).
parse_pytest() {
	local log=$1 line p=0 f=0 s=0 n what
	line=$(grep -E '[0-9]+ (passed|failed|skipped|errors?|xfailed|xpassed|deselected)' "$log" |
		grep -E ' in [0-9.]+s' | tail -1)
	[ -z "$line" ] && { echo "0 1 0"; return; }
	while read -r n what; do
		case $what in
			passed) p=$((p + n)) ;;
			failed | error | errors | xpassed) f=$((f + n)) ;;
			skipped | xfailed) s=$((s + n)) ;;
		esac
	done < <(echo "$line" | grep -oE '[0-9]+ (passed|failed|skipped|errors?|xfailed|xpassed)')
	echo "$p $f $s"
}

# ---- suites ----

suite_checks() {
	local p=0 f=0 c
	for c in test/check_exports.sh test/check_refs.sh test/check_pg_version.sh test/test_parsers.sh; do
		if bash "$c" >"$LOG/$(basename "$c").log" 2>&1; then p=$((p + 1)); else
			f=$((f + 1)); echo "FAILED: $c"; fi
		sed 's/^/  /' "$LOG/$(basename "$c").log" | tail -8
	done
	report checks "build and repository checks" $p $f 0
}

suite_unit() {
	make -j2 WERROR=1 unittest >"$LOG/unit.log" 2>&1
	grep -E '^\[  (PASSED|FAILED|SKIPPED) |^\[==========\]|^kernel sets' "$LOG/unit.log" | tail -20
	# shellcheck disable=SC2046
	report unit "GoogleTest cases" $(parse_gtest "$LOG/unit.log")
}

suite_aarch64() {
	bash scripts/test_aarch64.sh >"$LOG/aarch64.log" 2>&1
	local rc=$?
	grep -E '^(skipped|reference|kernel sets|codes hash|aarch64 build failed|\[  (PASSED|FAILED) )' "$LOG/aarch64.log"
	if [ "$rc" = 77 ]; then
		report aarch64 "cross toolchain or qemu absent" 0 0 1
		return
	fi
	[ "$rc" != 0 ] && tail -30 "$LOG/aarch64.log"
	# shellcheck disable=SC2046
	report aarch64 "GoogleTest cases under qemu-aarch64" $(parse_gtest "$LOG/aarch64.log")
}

suite_regress() {
	rm -f regression.diffs
	pg_virtualenv -t make installcheck >"$LOG/regress.log" 2>&1
	grep -E '^(test |ok |not ok |     )|tests (passed|failed)' "$LOG/regress.log" | grep -v '^ *$' | tail -60
	[ -f regression.diffs ] && head -200 regression.diffs
	# shellcheck disable=SC2046
	report regress "pg_regress files" $(parse_regress "$LOG/regress.log")
}

suite_pgvector() {
	local n
	n=$(ls test/pgvector/sql/*.sql | wc -l)
	if [ ! -f "$(pg_config --sharedir)/extension/vector.control" ]; then
		echo "skipped: pgvector is not installed ($n pg_regress files of test/pgvector not run)"
		report pgvector "pg_regress files, need pgvector" 0 0 "$n"
		return
	fi
	rm -f test/pgvector/regression.diffs
	pg_virtualenv -t make installcheck-pgvector >"$LOG/regress-pgvector.log" 2>&1
	grep -E '^(test |ok |not ok |     )|tests (passed|failed)' "$LOG/regress-pgvector.log" | tail -20
	[ -f test/pgvector/regression.diffs ] && head -200 test/pgvector/regression.diffs
	# shellcheck disable=SC2046
	report pgvector "pg_regress files" $(parse_regress "$LOG/regress-pgvector.log")
}

suite_readme() {
	local last
	pg_virtualenv -t bash test/readme_sql.sh >"$LOG/readme.log" 2>&1
	tail -30 "$LOG/readme.log"
	last=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$LOG/readme.log" | tail -1)
	if [ -z "$last" ]; then report readme "README runs" 0 1 0; return; fi
	# shellcheck disable=SC2086
	report readme "README runs: turboquant alone, with pgvector" $(echo "$last" | awk '{print $1, $3, $5}')
}

suite_tap() {
	local counts
	make -s tapcheck >"$LOG/tap.log" 2>&1 || true
	grep -E '^(t/|All tests|Files=|Result:|Failed|not ok)' "$LOG/tap.log" | tail -30
	counts=$(parse_prove "$LOG/tap.log")
	[ "${counts#* }" != "0 0" ] && tail -80 "$LOG/tap.log"
	# shellcheck disable=SC2086
	report tap "TAP scripts; $(grep -oP 'Tests=\K[0-9]+' "$LOG/tap.log" | tail -1) assertions" $counts
}

suite_pytest() {
	pg_virtualenv -t python3 -m pytest -q -rs -p no:cacheprovider test/bench >"$LOG/pytest.log" 2>&1
	local rc=$? counts
	tail -15 "$LOG/pytest.log"
	counts=$(parse_pytest "$LOG/pytest.log")
	# a non-zero exit with no failure counted (collection error, crash) is one failure
	if [ "$rc" != 0 ] && [ "$(echo "$counts" | cut -d' ' -f2)" = 0 ]; then
		counts="$(echo "$counts" | cut -d' ' -f1) 1 $(echo "$counts" | cut -d' ' -f3)"
	fi
	# shellcheck disable=SC2086
	report pytest "pytest tests" $counts
}

# Sourced by test/test_parsers.sh for the parsers alone.
[ "${TQ_TEST_SH_LIB:-}" = 1 ] && return 0

LOG=$(mktemp -d /tmp/turboquant-test.XXXXXX)
chmod 755 "$LOG"

if ! { make -j2 WERROR=1 >"$LOG/build.log" 2>&1 && $SUDO make install >>"$LOG/build.log" 2>&1; }; then
	cat "$LOG/build.log"; echo "build failed"; echo "0 passed, 1 failed, 0 skipped"; exit 1
fi

for s in ${TQ_SUITES:-${SUITES[*]}}; do
	echo "== $s"
	"suite_$s"
done

echo "logs: $LOG"
[ ${#suites_failed[@]} -gt 0 ] && echo "failed suites: ${suites_failed[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
