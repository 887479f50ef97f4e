#!/usr/bin/env bash
# The README's first command: semantic search over 5,000 real package summaries
# with nothing but this repository (examples/data/).  Sets everything up on a
# fresh Debian 12 machine (scripts/setup.sh), builds and installs turboquant,
# then runs scripts/demo.py in a throwaway PostgreSQL cluster, or against
# DATABASE_URL when that is set (turboquant must then be installed there).
#   scripts/demo.sh                                   three example queries
#   scripts/demo.sh "http client with retries" ...    your own queries
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
bash scripts/setup.sh
make -j2 >/dev/null
$SUDO make install >/dev/null
if [ -n "${DATABASE_URL:-}" ]; then
	python3 scripts/demo.py "$@"
else
	# pg_virtualenv starts a cluster in a temporary directory, runs the command, drops it.
	$SUDO pg_virtualenv -t python3 scripts/demo.py "$@"
fi
