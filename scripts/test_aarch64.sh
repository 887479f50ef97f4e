#!/usr/bin/env bash
# Cross-compiles the core library and its unit tests for aarch64 and runs them
# under qemu user-mode emulation: the NEON kernel set must equal scalar on every
# awkward dimension, and codes encoded on aarch64 must be byte-identical to this
# machine's (a replica on another architecture reads the same index).
#
# Needs g++-aarch64-linux-gnu, qemu-user (or qemu-user-static) and libgtest-dev
# (GoogleTest's sources, built here for aarch64); scripts/setup.sh installs them.
# Without them it prints "skipped: ..." and exits 77, unless CI=true, where a
# missing toolchain fails (exit 1).  Last line: "aarch64: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

AARCH64_CXX=${AARCH64_CXX:-aarch64-linux-gnu-g++}
GTEST_DIR=${GTEST_DIR:-/usr/src/googletest/googletest}
QEMU=$(command -v qemu-aarch64 || command -v qemu-aarch64-static || true)

missing=()
command -v "$AARCH64_CXX" >/dev/null || missing+=("$AARCH64_CXX (g++-aarch64-linux-gnu)")
[ -n "$QEMU" ] || missing+=("qemu-aarch64 (qemu-user)")
[ -f "$GTEST_DIR/src/gtest-all.cc" ] || missing+=("$GTEST_DIR (libgtest-dev)")
if [ ${#missing[@]} -gt 0 ]; then
	echo "skipped: aarch64 tests need ${missing[*]}"
	if [ "${CI:-}" = "true" ]; then echo "aarch64: 0 passed, 1 failed"; exit 1; fi
	exit 77
fi

# The reference: this machine's codes hash.
make -s -j2 test/core/tq_core_tests >/dev/null || { echo "aarch64: 0 passed, 1 failed"; exit 1; }
ref=$(cd test/core && ./tq_core_tests --gtest_filter=Encode.SameCodesOnEveryPlatform |
	grep -oP '^codes hash: \K[0-9a-f]+')
if [ -z "$ref" ]; then echo "no reference hash"; echo "aarch64: 0 passed, 1 failed"; exit 1; fi
echo "reference codes hash ($(uname -m)): $ref"

blog=$(mktemp)
if ! make -s -j2 build/aarch64/tq_core_tests AARCH64_CXX="$AARCH64_CXX" GTEST_DIR="$GTEST_DIR" >"$blog" 2>&1; then
	grep -E 'error' "$blog" | head -20
	echo "aarch64 build failed"; echo "aarch64: 0 passed, 1 failed"; rm -f "$blog"; exit 1
fi
rm -f "$blog"
file build/aarch64/tq_core_tests 2>/dev/null | cut -d, -f1-2

# Recall is about quality, not the architecture (and slow under emulation);
# the rotation's speed test means nothing under emulation.
log=$(mktemp)
(cd test/core && TQ_EXPECT_CODES_HASH=$ref "$QEMU" ../../build/aarch64/tq_core_tests \
	--gtest_filter='-Recall.*:Rotation.FastToBuildAndApply') >"$log" 2>&1
rc=$?
grep -E '^\[  (PASSED|FAILED|SKIPPED) |^\[==========\]|^kernel sets|^codes hash|Failure' "$log"
p=$(grep -oP '^\[  PASSED  \] \K[0-9]+' "$log" | tail -1)
f=$(grep -oP '^\[  FAILED  \] \K[0-9]+(?= tests?, listed)' "$log" | tail -1)
[ "$rc" != 0 ] && [ -z "$f" ] && { tail -30 "$log"; f=1; }
rm -f "$log"
echo "aarch64: ${p:-0} passed, ${f:-0} failed"
[ "$rc" = 0 ]
