#!/bin/bash
# run_tap.sh — runs the TAP tests in test/t against the installed turboquant.
#
#   make install && test/run_tap.sh [test/t/00N_name.pl ...]
#
# The tests use PostgreSQL's own TAP modules (PostgreSQL::Test::Cluster), which
# PGXS installs under $(pg_config --pgxs)/../../test/perl, and need IPC::Run
# (Debian: libipc-run-perl).  initdb refuses to run as root, so as root the
# tests run as PG_TAP_USER (default postgres) from a copy of test/t in a fresh
# temporary directory that user owns: the checkout itself may sit under a
# directory that user cannot enter (/root).  Node data directories and logs go
# to that directory's tmp_check/; it is removed after a successful run and kept
# (its path printed) after a failure.  Exit status: prove's.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}
bindir=$("$PG_CONFIG" --bindir)
pgxs_src=$(dirname "$(dirname "$("$PG_CONFIG" --pgxs)")")	# .../lib/pgxs/src
perl_dir=$pgxs_src/test/perl
pg_regress=$pgxs_src/test/regress/pg_regress
user=${PG_TAP_USER:-postgres}

[ -f "$perl_dir/PostgreSQL/Test/Cluster.pm" ] ||
	{ echo "run_tap.sh: PostgreSQL TAP modules not found in $perl_dir" >&2; exit 2; }
perl -MIPC::Run -e 1 2>/dev/null ||
	{ echo "run_tap.sh: Perl module IPC::Run missing (apt-get install libipc-run-perl)" >&2; exit 2; }

# tests to run: arguments (paths or names) or all of test/t
tests=()
if [ $# -gt 0 ]; then
	for t in "$@"; do tests+=("t/$(basename "$t")"); done
else
	for t in "$here"/t/*.pl; do tests+=("t/$(basename "$t")"); done
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/turboquant_tap.XXXXXX")
cp -r "$here/t" "$work/t"
chmod -R a+rX "$work"

cmd=(env "PATH=$bindir:$PATH" "PG_REGRESS=$pg_regress" "TESTDIR=$work"
	 prove -I "$perl_dir" -I "$work/t" ${PROVE_FLAGS:-} "${tests[@]}")
status=0
if [ "$(id -u)" = 0 ]; then
	id "$user" >/dev/null 2>&1 ||
		{ echo "run_tap.sh: running as root needs user $user (set PG_TAP_USER)" >&2; exit 2; }
	chown -R "$user" "$work"
	(cd "$work" && runuser -u "$user" -- "${cmd[@]}") || status=$?
else
	(cd "$work" && "${cmd[@]}") || status=$?
fi

# a failure may come from another checkout's `make install` (same server)
built=$here/../turboquant.so
installed=$("$PG_CONFIG" --pkglibdir)/turboquant.so
if [ -f "$built" ] && ! cmp -s "$built" "$installed"; then
	echo "run_tap.sh: WARNING: $installed differs from this checkout's build;" \
		 "run 'make install' and rerun" >&2
fi

if [ $status -eq 0 ]; then
	rm -rf "$work"
else
	echo "run_tap.sh: FAILED (status $status); node logs kept in $work/tmp_check/log" >&2
fi
exit $status
