#!/bin/bash
# check_pg_version.sh — the build refuses a PostgreSQL older than 15, the
# version the code is written and tested for (Makefile; src/tq_pg.h checks
# PG_VERSION_NUM again at compile time).  A stand-in pg_config reports 14.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/pg_config" <<'PGC'
#!/bin/sh
case "$1" in
	--version) echo "PostgreSQL 14.10" ;;
	*) exec pg_config "$@" ;;
esac
PGC
chmod +x "$tmp/pg_config"
if out=$(make -n PG_CONFIG="$tmp/pg_config" 2>&1); then
	echo "FAIL: make accepted PostgreSQL 14"; exit 1
fi
if ! echo "$out" | grep -q 'turboquant needs PostgreSQL 15 or newer'; then
	echo "FAIL: make refused PostgreSQL 14 without saying why:"; echo "$out" | tail -3; exit 1
fi
make -n >/dev/null 2>&1 || { echo "FAIL: make refuses this machine's pg_config"; exit 1; }
echo "ok: the build refuses PostgreSQL 14 with a clear message"
