/*
 * turboquant.cpp — the library's one module-level file.
 *
 * PG_MODULE_MAGIC must appear exactly once in the shared library; it lives
 * here so that no feature file has to own it.  Module initialisation
 * (_PG_init, GUCs) belongs here too.
 */
#include "tq_pg.h"

extern "C" {
PG_MODULE_MAGIC;
PGDLLEXPORT void _PG_init(void);
}

void		TqIndexInit(void);

/* Module load: registers the index's options and GUCs. */
void
_PG_init(void)
{
	TqIndexInit();
}
