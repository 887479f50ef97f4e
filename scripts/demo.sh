#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine and runs the demo: a
# similarity search over real embeddings in a throwaway PostgreSQL cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
bash scripts/setup.sh
make -j2 >/dev/null
$SUDO make install >/dev/null
# pg_virtualenv starts a cluster in a temporary directory, runs the command, drops it.
$SUDO pg_virtualenv -t python3 scripts/demo.py
