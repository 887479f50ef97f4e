#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine and runs the demo: a
# similarity search in a throwaway PostgreSQL cluster, over real npm-package
# embeddings when $TQ_DATA_DIR (default ../shared/data) holds them, otherwise
# over synthetic vectors — scripts/demo.py says which, first.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
bash scripts/setup.sh
make -j2 >/dev/null
$SUDO make install >/dev/null
# pg_virtualenv starts a cluster in a temporary directory, runs the command, drops it.
$SUDO pg_virtualenv -t python3 scripts/demo.py
