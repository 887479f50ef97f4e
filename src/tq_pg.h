/*
 * tq_pg.h — the one way glue code includes PostgreSQL.
 *
 * PostgreSQL headers are C: they are included inside extern "C", after the
 * C++ standard headers (port.h redefines printf and friends).  Glue files
 * include the core (src/core/...) first, then this header.
 *
 * The boundary rules (STYLE.md):
 *  - no C++ exception may unwind into a PostgreSQL frame: code that can throw
 *    runs inside TqGuard(), which turns the exception into an ereport after
 *    the try block has been left;
 *  - no ereport(ERROR) may longjmp over a live C++ object with a destructor:
 *    glue keeps its data in palloc'd memory and plain structs.
 */
#ifndef TQ_PG_H
#define TQ_PG_H

#include <cstring>
#include <exception>
#include <new>

extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
}

/* Version checks live here and nowhere else. */
#if PG_VERSION_NUM < 130000
#error "turboquant needs PostgreSQL 13 or newer"
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

/* C-linkage SQL-callable function: use in place of PG_FUNCTION_INFO_V1 + definition. */
#define TQ_FUNCTION(name)                 \
	extern "C" {                          \
	PG_FUNCTION_INFO_V1(name);            \
	}                                     \
	extern "C" Datum name(PG_FUNCTION_ARGS)

/*
 * Runs f(); a C++ exception it throws becomes an ERROR raised after the
 * exception is destroyed.  f must not hold destructible objects across
 * PostgreSQL calls that can error.
 */
template <typename F>
static inline void
TqGuard(const char *what, F &&f)
{
	char		msg[256];
	bool		failed = false;
	bool		oom = false;

	try
	{
		f();
	}
	catch (const std::bad_alloc &)
	{
		failed = oom = true;
		msg[0] = '\0';
	}
	catch (const std::exception &e)
	{
		failed = true;
		strlcpy(msg, e.what(), sizeof(msg));
	}
	catch (...)
	{
		failed = true;
		strlcpy(msg, "unknown C++ exception", sizeof(msg));
	}
	if (oom)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY),
						errmsg("out of memory in turboquant %s", what)));
	if (failed)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
						errmsg("turboquant %s failed: %s", what, msg)));
}

#endif /* TQ_PG_H */
