#!/bin/bash
# check_exports.sh — properties of the built extension library (issue 7, item 5):
#   1. it exports exactly what PostgreSQL looks up by name: every C function
#      the install script declares (and its pg_finfo_ record), Pg_magic_func,
#      _PG_init and the parallel build's worker entry; nothing else (nm -D);
#   2. no object file except src/core/kmeans.o and its AVX2 and AVX-512 builds (Eigen, see the Makefile) can
#      throw or catch a C++ exception (-fno-exceptions): none references the
#      C++ exception runtime.
#
#   make && test/check_exports.sh      (run from the repository root)
# Prints one line per failed property and exits 1, or prints "ok" lines.
set -euo pipefail
cd "$(dirname "$0")/.."
lib=turboquant.so
sql=$(ls turboquant--*.sql | head -1)
[ -f "$lib" ] && [ -f "$sql" ] || { echo "check_exports.sh: build first (make)" >&2; exit 2; }
# the companion extension (turboquant_pgvector) calls functions of the same library
sql="$sql $(ls src/turboquant_pgvector--*.sql)"

status=0
want=$(perl -0777 -ne '
	while (/CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+(?:\w+\.)?(\w+)\s*\((?:(?!;).)*?AS\s+\x27MODULE_PATHNAME\x27(?:\s*,\s*\x27(\w+)\x27)?/gis) {
		my $sym = defined $2 ? $2 : $1;
		print "$sym\npg_finfo_$sym\n";
	}
	print "Pg_magic_func\n_PG_init\n";
	# the parallel index build worker, started by name (src/tqbuild.cpp)
	print "tq_parallel_build_main\n";' $sql | sort -u)
have=$(nm -D --defined-only "$lib" | awk '{print $NF}' | sort -u)
extra=$(comm -13 <(echo "$want") <(echo "$have"))
missing=$(comm -23 <(echo "$want") <(echo "$have"))
if [ -n "$extra" ]; then
	echo "FAIL: $lib exports symbols PostgreSQL does not call:"; echo "$extra" | head -20 | sed 's/^/  /'
	status=1
fi
if [ -n "$missing" ]; then
	echo "FAIL: $lib does not export symbols the install script needs:"; echo "$missing" | sed 's/^/  /'
	status=1
fi
[ $status = 0 ] && echo "ok: $lib exports exactly the $(echo "$want" | wc -l) symbols PostgreSQL calls"

throwers=""
for o in src/*.o src/core/*.o; do
	[ "$o" = src/core/kmeans.o ] && continue
	[ "$o" = src/core/kmeans_avx2.o ] && continue
	[ "$o" = src/core/kmeans_avx512.o ] && continue
	if nm -u "$o" | grep -qE '__cxa_throw|__cxa_begin_catch|__gxx_personality_v0|__cxa_rethrow'; then
		throwers="$throwers $o"
	fi
done
if [ -n "$throwers" ]; then
	echo "FAIL: objects built with C++ exception handling:$throwers"
	status=1
else
	echo "ok: no object but src/core/kmeans.o (and its AVX2 and AVX-512 builds) uses C++ exceptions"
fi
exit $status
