#!/usr/bin/env bash
# Runs the README's SQL examples as a user would paste them: every ```sql block
# that follows a line `<!-- test -->` (needs turboquant only) or
# `<!-- test: pgvector -->` (needs pgvector too), in README order, in psql
# with ON_ERROR_STOP, in a fresh database of the running cluster (PG*
# environment; scripts/test.sh runs it under pg_virtualenv).  Two runs:
#   turboquant   only turboquant installed: the `test` blocks
#   both         pgvector's `vector` created first, then every block: the
#                examples must work with both extensions (no ambiguous calls)
# The second run is skipped, and said so, when pgvector is not installed.
# Prints one ok / not ok / skip line per run, then "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
README=README.md
[ $# -gt 0 ] && README=$1
WORK=$(mktemp -d /tmp/tq-readme.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# blocks in order: $WORK/NNN.TAG.sql
awk -v dir="$WORK" '
	/^<!-- test(: pgvector)? -->$/ { tag = ($0 ~ /pgvector/) ? "pgvector" : "turboquant"; next }
	tag != "" && /^```sql$/ { n++; file = sprintf("%s/%03d.%s.sql", dir, n, tag); inblock = 1; next }
	inblock && /^```$/ { inblock = 0; tag = ""; next }
	inblock { print > file; next }
	tag != "" && !/^[[:space:]]*$/ { tag = "" }   # a marker applies to the very next block only
' "$README"
nblocks=$(ls "$WORK"/*.sql 2>/dev/null | wc -l)
echo "README.md: $nblocks marked SQL blocks ($(ls "$WORK"/*.pgvector.sql 2>/dev/null | wc -l) need pgvector)"

passed=0 failed=0 skipped=0
run() {   # run NAME PRELUDE GLOB...
	local name=$1 prelude=$2 db="tq_readme_$1"; shift 2
	psql -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null || {
		echo "not ok - $name: cannot create a database"; failed=$((failed + 1)); return; }
	{
		echo '\set ON_ERROR_STOP 1'
		echo "$prelude"
		for f in $(ls "$@" 2>/dev/null | sort); do
			echo "\\echo -- $(basename "$f")"
			cat "$f"
		done
	} >"$WORK/$name.all"
	if psql -X -q -d "$db" -f "$WORK/$name.all" >"$WORK/$name.out" 2>&1; then
		echo "ok - $name: every block ran"; passed=$((passed + 1))
	else
		echo "not ok - $name: a block failed:"; tail -15 "$WORK/$name.out"; failed=$((failed + 1))
	fi
	psql -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" >/dev/null
}

if [ "$nblocks" -lt 5 ]; then
	echo "not ok - found only $nblocks marked blocks in $README"; failed=$((failed + 1))
else
	run turboquant "" "$WORK"/*.turboquant.sql
	if [ -n "$(psql -X -At -d postgres -c "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")" ]; then
		run both "CREATE EXTENSION vector;" "$WORK"/*.sql
	else
		echo "skip - both: pgvector is not installed here"; skipped=$((skipped + 1))
	fi
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
