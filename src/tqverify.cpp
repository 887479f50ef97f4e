/*
 * tqverify.cpp — tq_index_check(regclass): an amcheck for turboquant.
 *
 * Checks every page the metapage accounts for (kind, stripe number, geometry),
 * every used slot (valid heap TID, finite norm and factor), and — with one
 * pass over the table under an MVCC snapshot — that every row visible to it
 * with a non-NULL vector is indexed exactly once, with the norm of its vector.
 * Any failure is an ERROR with ERRCODE_INDEX_CORRUPTED naming the first
 * problem found; success returns the number of index entries.  Takes only
 * AccessShareLock, so it runs beside inserts, scans and VACUUM, and on a hot
 * standby (the TAP tests call it after each ordeal, and during one).
 *
 * Running beside writers dictates two choices.  The snapshot is taken before
 * the index is read: a row visible to it was indexed before it, and VACUUM
 * cannot remove the entry of a row our snapshot still sees, so a visible row
 * missing from the index is corruption, never a race (with the snapshot taken
 * after the index pass, a row inserted into an already-read stripe and
 * committed meanwhile looked missing).  And a heap TID found twice is
 * reported only when the table pass sees a row at that TID: while the index
 * is read, VACUUM may clear a dead row's slot, the heap reuse the TID and an
 * insert put it in a stripe read later, so the same TID legitimately appears
 * twice for a row no snapshot of ours can see.
 */
#include "tqindex.h"
#include "tqvector.h"

#include <cmath>

extern "C" {
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

typedef struct TqCheckEntry
{
	ItemPointerData tid;
	double		norm;
	bool		dup;			/* another entry has the same heap TID */
} TqCheckEntry;

typedef struct TqCheckState
{
	Relation	index;
	TqCheckEntry *entries;
	int64		n;
	int64		rows;
} TqCheckState;

static int
TqCheckEntryCmp(const void *a, const void *b)
{
	return ItemPointerCompare((ItemPointer) &((const TqCheckEntry *) a)->tid,
							  (ItemPointer) &((const TqCheckEntry *) b)->tid);
}

/* Raises the corruption error. */
static void
TqCorrupt(Relation index, const char *what, ItemPointer tid)
{
	if (tid)
		ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
						errmsg("index \"%s\" is corrupted: %s (heap tid (%u,%u))",
							   RelationGetRelationName(index), what,
							   ItemPointerGetBlockNumberNoCheck(tid),
							   ItemPointerGetOffsetNumberNoCheck(tid))));
	ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
					errmsg("index \"%s\" is corrupted: %s",
						   RelationGetRelationName(index), what)));
}

/* Heap pass: every visible row must be in the index. */
static void
TqCheckCallback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
				bool tupleIsAlive, void *state)
{
	TqCheckState *st = (TqCheckState *) state;
	TqCheckEntry key;
	TqCheckEntry *e;
	TqVector   *vec;
	double		norm;

	if (isnull[0])
		return;
	st->rows++;
	key.tid = *tid;
	e = (TqCheckEntry *) bsearch(&key, st->entries, st->n, sizeof(TqCheckEntry),
								 TqCheckEntryCmp);
	if (e == NULL)
		TqCorrupt(st->index, "table row missing from the index", tid);
	if (e->dup)
		TqCorrupt(st->index, "heap tid indexed twice", tid);
	vec = DatumGetTqVector(values[0]);
	/* in double like Encode, so huge and tiny elements neither overflow nor vanish */
	norm = TqL2NormD(vec->x, vec->dim);
	if (fabs(norm - e->norm) > 1e-9 * norm)
		TqCorrupt(st->index, "stored norm differs from the row's vector", tid);
	if ((Pointer) vec != DatumGetPointer(values[0]))
		pfree(vec);
}

TQ_FUNCTION(tq_index_check)
{
	Oid			indexoid = PG_GETARG_OID(0);
	Relation	index = index_open(indexoid, AccessShareLock);
	Relation	heap;
	TqMetaPageData meta;
	TqCheckState st;
	Snapshot	snapshot;
	int64		cap = 1024;

	if (index->rd_indam->ambuild != tqbuild)
		ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
						errmsg("\"%s\" is not a turboquant index",
							   RelationGetRelationName(index))));
	heap = table_open(index->rd_index->indrelid, AccessShareLock);
	/* before reading the index: see the essay above */
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	meta = TqReadMeta(index);
	memset(&st, 0, sizeof(st));
	st.index = index;
	st.entries = (TqCheckEntry *) palloc(sizeof(TqCheckEntry) * cap);

	if (meta.dims == 0)
	{
		if (meta.n_stripes != 0)
			TqCorrupt(index, "stripes without a dimension", NULL);
	}
	else
	{
		const TqIndexCache *cache = TqGetCache(index, &meta);
		const TqStripeGeometry *geo = &cache->geo;

		if (meta.padded_dim != turboquant::QuantizerLayout(cache->qz).padded_dim)
			TqCorrupt(index, "metapage padded dimension disagrees with the quantizer", NULL);
		if (RelationGetNumberOfBlocks(index) < TqStripeBlock(geo, meta.n_stripes, 0))
			TqCorrupt(index, "relation shorter than its stripes", NULL);
		for (uint32 stripe = 0; stripe < meta.n_stripes; stripe++)
		{
			for (uint32 p = 0; p < geo->pages; p++)
			{
				BlockNumber blkno = TqStripeBlock(geo, stripe, p);
				Buffer		buf = ReadBuffer(index, blkno);
				Page		page;

				LockBuffer(buf, BUFFER_LOCK_SHARE);
				page = BufferGetPage(buf);
				TqCheckPage(page, index, blkno, p == 0 ? TQ_PAGE_STRIPE_HEAD : TQ_PAGE_STRIPE_CONT);
				if (TqPageGetOpaque(page)->stripe != stripe)
					TqCorrupt(index, "page belongs to another stripe", NULL);
				for (uint32 g = 0; p == 0 && g < geo->groups; g++)
				{
					TqGroupHeader *gh = TqPageGroupHeader(page, g);

					for (uint32 s = 0; s < turboquant::kBlockVectors; s++)
					{
						if (!((gh->used_mask >> s) & 1))
							continue;
						if (!ItemPointerIsValid(&gh->tids[s]))
							TqCorrupt(index, "used slot without a heap tid", NULL);
						if (!std::isfinite(gh->norms[s]) || gh->norms[s] < 0 ||
							!std::isfinite(gh->factors[s]))
							TqCorrupt(index, "used slot with an invalid norm or factor",
									  &gh->tids[s]);
						if (st.n == cap)
						{
							cap *= 2;
							st.entries = (TqCheckEntry *) repalloc_huge(st.entries,
																		 sizeof(TqCheckEntry) * cap);
						}
						st.entries[st.n].tid = gh->tids[s];
						st.entries[st.n].norm = gh->norms[s];
						st.entries[st.n].dup = false;
						st.n++;
					}
				}
				UnlockReleaseBuffer(buf);
			}
		}
	}

	qsort(st.entries, st.n, sizeof(TqCheckEntry), TqCheckEntryCmp);
	for (int64 i = 1; i < st.n; i++)
		if (ItemPointerEquals(&st.entries[i - 1].tid, &st.entries[i].tid))
			st.entries[i - 1].dup = st.entries[i].dup = true;

	{
		TableScanDesc scan = table_beginscan_strat(heap, snapshot, 0, NULL, true, false);
		IndexInfo  *indexInfo = BuildIndexInfo(index);

		indexInfo->ii_Concurrent = true;
		table_index_build_scan(heap, index, indexInfo, true, false, TqCheckCallback, &st, scan);
		UnregisterSnapshot(snapshot);
	}

	table_close(heap, AccessShareLock);
	index_close(index, AccessShareLock);
	PG_RETURN_INT64(st.n);
}
