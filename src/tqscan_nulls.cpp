/*
 * tqscan_nulls.cpp — the last phase of an ordered scan: rows whose vector is
 * NULL.
 *
 * The index holds no entry for a NULL vector (there is nothing to encode),
 * yet `ORDER BY v <-> q` over a sequential scan returns such rows too, last
 * (their distance is NULL, and NULLS LAST is the default for ascending
 * order).  So that an index never changes a query's answer, a scan that has
 * returned every indexed row goes on with the table's rows whose indexed
 * value is NULL, in heap order, with a NULL distance.  They are found with one
 * pass over the table under the scan's snapshot (table_index_build_scan
 * evaluates index expressions and a partial index's predicate, so exactly the
 * rows the index would cover come back).  The pass runs only when the
 * executor asks for a row after the last indexed one: never for a LIMIT that
 * the indexed rows satisfy.  Scans under a non-MVCC snapshot skip it.
 */
#include "tqindex.h"

extern "C" {
#include "access/relscan.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
}

struct TqNullScan
{
	ItemPointerData *tids;
	int64		n;
	int64		cap;
	int64		next;
	MemoryContext cxt;
};

/* table_index_build_scan callback: keeps the TIDs of rows with a NULL value. */
static void
TqNullCallback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
			   bool tupleIsAlive, void *state)
{
	TqNullScan *ns = (TqNullScan *) state;

	if (!isnull[0])
		return;
	if (ns->n == ns->cap)
	{
		ns->cap *= 2;
		ns->tids = (ItemPointerData *) repalloc_huge(ns->tids, sizeof(ItemPointerData) * ns->cap);
	}
	ns->tids[ns->n++] = *tid;
}

/*
 * Returns the next row with a NULL vector (setting xs_heaptid and a NULL
 * ORDER BY value), false when there is none left.  *state starts NULL; the
 * first call reads the table, in `cxt` (the scan's context).
 */
bool
TqScanNextNull(IndexScanDesc scan, TqNullScan **state, MemoryContext cxt)
{
	TqNullScan *ns = *state;

	if (ns == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		ns = (TqNullScan *) palloc0(sizeof(TqNullScan));
		ns->cap = 64;
		ns->tids = (ItemPointerData *) palloc(sizeof(ItemPointerData) * ns->cap);
		*state = ns;
		if (scan->heapRelation != NULL && scan->xs_snapshot != NULL &&
			IsMVCCSnapshot(scan->xs_snapshot))
		{
			TableScanDesc hscan = table_beginscan_strat(scan->heapRelation, scan->xs_snapshot,
														0, NULL, true, false);
			IndexInfo  *indexInfo = BuildIndexInfo(scan->indexRelation);

			/* an MVCC snapshot: rows visible to it, as for a concurrent build */
			indexInfo->ii_Concurrent = true;
			table_index_build_scan(scan->heapRelation, scan->indexRelation, indexInfo, true,
								   false, TqNullCallback, ns, hscan);
		}
		MemoryContextSwitchTo(old);
	}
	if (ns->next >= ns->n)
		return false;
	scan->xs_heaptid = ns->tids[ns->next++];
	scan->xs_recheck = false;
	scan->xs_recheckorderby = false;
	if (scan->numberOfOrderBys > 0)
	{
		scan->xs_orderbyvals[0] = (Datum) 0;
		scan->xs_orderbynulls[0] = true;
	}
	return true;
}
