/*
 * tq_pg.h — the one way glue code includes PostgreSQL.
 *
 * PostgreSQL headers are C: they are included inside extern "C", after the
 * C++ standard headers (port.h redefines printf and friends).  Glue files
 * include the core (src/core/...) first, then this header.
 *
 * The boundary rules (docs/design.md):
 *  - no C++ exception may unwind into a PostgreSQL frame: the extension is
 *    built with -fno-exceptions (one core file excepted, which catches what
 *    Eigen throws behind a noexcept boundary), the core is noexcept, and glue
 *    allocates with palloc;
 *  - no ereport(ERROR) may longjmp over a live C++ object with a destructor:
 *    glue keeps its data in palloc'd memory and plain structs.
 */
#ifndef TQ_PG_H
#define TQ_PG_H

#include <cstring>

/* The core first: it must not see PostgreSQL's macros (it checks). */
#include "core/turboquant.h"

/*
 * The library is built with -fvisibility=hidden (Makefile).  PostgreSQL 15
 * defines PGDLLEXPORT as nothing on ELF platforms; defined here first, it
 * exports exactly what PostgreSQL looks up by name: the functions declared
 * with PG_FUNCTION_INFO_V1 (and their pg_finfo_ records), Pg_magic_func
 * (PG_MODULE_MAGIC) and _PG_init.  test/check_exports.sh verifies the list.
 */
#if !defined(PGDLLEXPORT) && defined(__GNUC__)
#define PGDLLEXPORT __attribute__((visibility("default")))
#endif

extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
}

/*
 * Version checks live here and nowhere else.  PostgreSQL 15 is the only
 * version built and tested (CI: Debian 12); older ones are refused at build
 * time rather than claimed.
 */
#if PG_VERSION_NUM < 150000
#error "turboquant needs PostgreSQL 15 or newer"
#endif

/*
 * palloc'd memory aligned to `align` (a power of two) for SIMD buffers; freed
 * with its memory context, never with pfree.
 */
static inline void *
TqPallocAligned(Size size, Size align)
{
	char	   *p = (char *) palloc(size + align - 1);

	return (void *) TYPEALIGN(align, p);
}

/*
 * C-linkage SQL-callable function: use in place of PG_FUNCTION_INFO_V1 +
 * definition.  PostgreSQL 15's PG_FUNCTION_INFO_V1 exports only the
 * pg_finfo_ record; the function itself is exported here.
 */
#define TQ_FUNCTION(name)                 \
	extern "C" {                          \
	PG_FUNCTION_INFO_V1(name);            \
	}                                     \
	extern "C" PGDLLEXPORT Datum name(PG_FUNCTION_ARGS)

#endif /* TQ_PG_H */
