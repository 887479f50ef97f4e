/*
 * tqscan.cpp — ORDER BY embedding <op> $1 over a turboquant index.
 *
 * First the lists: the query's distance to every centroid ranks them (core;
 * with many lists estimated from the centroids' own codes with the query's
 * tables, exactly for a shortlist of the nearest, RankCentroidsCoded), and
 * the scan works on a region of that ranking at a time — first the
 * `turboquant.probes` nearest lists, then, when the executor wants more rows
 * than those lists hold (a WHERE clause rejected rows, or no LIMIT), the next
 * ones, each region as large as everything scanned before it, until every
 * list is done.  A flat index is one list in one region.
 *
 * Within a region the scan works in passes.  Each pass scores every code of
 * the region's lists (walking each list's stripe chain) with the query's
 * lookup tables (the core's SIMD kernels, straight from shared buffers, one
 * page locked at a time), keeps the best `batch` candidates that come after
 * the previous pass's last one in (estimate, heap TID) order, fetches
 * their rows from the table under the scan's snapshot, computes the exact
 * distance with the very function the operator uses, and returns them sorted
 * by it.  When the executor asks for more rows than a pass gave (a WHERE
 * clause rejected some), the next pass takes the following candidates, four
 * times as many each time, so a selective filter costs a few passes, never a
 * short result; when a region has no unseen slot left the next region starts,
 * and the scan ends only when no unseen slot remains in any list — and then
 * returns the table's rows whose vector is NULL, with a NULL distance, last,
 * as a sequential scan orders them (tqscan_nulls.cpp).
 *
 * Each pass returns the better half of the rows it knows exactly and holds the
 * rest back to merge with the next pass's (or region's) candidates, so rows come in exact
 * distance order within a pass and usually across passes too (never
 * guaranteed: the index cannot know a lower bound for unseen rows).
 * With turboquant.rerank = 0 nothing is fetched and rows come in estimate order.
 *
 * Invisible rows are dropped during re-ranking (the executor would drop them
 * anyway).  Slots whose bit was clear when a pass read the stripe's first page
 * are ignored even if an insert fills them while the pass reads on, so
 * half-written codes are never scored.  Stripes created after the scan read
 * the metapage are not visited (chains ascend, so a chain walk stops at the
 * first one).
 */
#include "tqindex.h"
#include "tqvector.h"

extern "C" {
#include "access/heapam.h"
#include "access/relscan.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

#include <algorithm>
#include <cmath>
#include <limits>

using turboquant::kBlockVectors;
using turboquant::Metric;

#define TQ_APPROX_BATCH 100		/* pass size when nothing is re-ranked */
#define TQ_BATCH_GROWTH 4
#define TQ_MAX_BATCH	(1 << 22)	/* candidates per pass: bounded memory, any table size */

typedef struct TqResult
{
	double		dist;
	uint64		id;				/* TqTidToId: ties broken by it */
	ItemPointerData tid;
} TqResult;

typedef struct TqScanOpaqueData
{
	Relation	index;
	const TqIndexCache *cache;
	Metric		metric;
	MemoryContext scanctx;		/* lives as long as the scan */
	TqNullScan *nulls;			/* last phase: rows with NULL vectors (tqscan_nulls.cpp) */
	MemoryContext passctx;		/* reset every pass */

	/* query */
	TqVector   *query;			/* as a tqvector; NULL: ORDER BY against NULL */
	Datum		query_value;	/* the ORDER BY argument as given (re-ranking) */
	uint8	   *lut;
	float	   *scratch;

	/* lists */
	uint32		n_lists;
	double		rows;			/* rows the index holds (metapage), for TqProbes */
	uint32	   *order;			/* lists, nearest centroid first */
	float	   *list_dist;
	uint32	   *heads;			/* each list's first stripe when the scan started */
	uint32		region_begin;	/* the region being scanned: order[begin .. end) */
	uint32		region_end;
	uint64		region_slots;	/* used slots the last pass saw in the region */

	/* pass state */
	bool		started;
	bool		exhausted;
	uint32		n_stripes;		/* stripes when the scan started */
	uint32		first_batch;
	uint32		batch;
	bool		have_bound;
	double		bound_est;
	uint64		bound_id;
	TqResult   *results;
	int			nresults;		/* rows to return: results[0 .. nresults) */
	int			next;
	int			nheld;			/* re-ranked rows held back: results[nresults ..) */
	TqResult   *held;			/* where they wait while the next pass runs */
	int			held_cap;

	/* fetching rows for re-ranking */
	IndexFetchTableData *fetch;
	TupleTableSlot *slot;
	IndexInfo  *indexInfo;
	EState	   *estate;
	bool		heap_direct;	/* a heap table: read its pages through buffer hints */
	Buffer		heap_buf;		/* the table page pinned last (heap_direct) */

	/* one stripe's headers, copied under the first page's lock */
	uint32	   *used;
	double	   *norms;
	float	   *factors;
	ItemPointerData *tids;
	uint32		next_stripe;	/* the stripe's next in its list */
	uint32	   *acc;
	double	   *est;

	/* what the scan did, for DEBUG1 at its end (bench/sql_overhead.py reads it) */
	uint64		stat_slots;		/* used slots scored */
	uint64		stat_pages;		/* index pages read */
	uint32		stat_passes;
} TqScanOpaqueData;
typedef TqScanOpaqueData *TqScanOpaque;

/* ambeginscan */
IndexScanDesc
tqbeginscan(Relation index, int nkeys, int norderbys)
{
	IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
	TqScanOpaque so = (TqScanOpaque) palloc0(sizeof(TqScanOpaqueData));

	so->index = index;
	so->metric = TqIndexMetric(index);
	so->scanctx = AllocSetContextCreate(CurrentMemoryContext, "turboquant scan",
										ALLOCSET_DEFAULT_SIZES);
	so->passctx = AllocSetContextCreate(so->scanctx, "turboquant scan pass",
										ALLOCSET_DEFAULT_SIZES);
	/* the AM owns the arrays for ORDER BY values */
	scan->xs_orderbyvals = (Datum *) palloc0(sizeof(Datum) * Max(norderbys, 1));
	scan->xs_orderbynulls = (bool *) palloc(sizeof(bool) * Max(norderbys, 1));
	scan->opaque = so;
	return scan;
}

/* amrescan: remembers the query; the work starts at the first gettuple. */
void
tqrescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys)
{
	TqScanOpaque so = (TqScanOpaque) scan->opaque;
	MemoryContext old;

	if (norderbys > 0)
		memmove(scan->orderByData, orderbys, norderbys * sizeof(ScanKeyData));
	so->started = false;
	so->exhausted = false;
	so->nulls = NULL;			/* in scanctx; reset below */
	so->have_bound = false;
	so->nresults = so->next = so->nheld = 0;
	so->stat_slots = so->stat_pages = 0;
	so->stat_passes = 0;
	MemoryContextReset(so->passctx);
	if (so->query)
	{
		if (PointerGetDatum(so->query) != so->query_value)
			pfree(DatumGetPointer(so->query_value));
		pfree(so->query);
		so->query = NULL;
	}
	if (scan->numberOfOrderBys == 0 || (scan->orderByData[0].sk_flags & SK_ISNULL))
		return;
	old = MemoryContextSwitchTo(so->scanctx);
	/* the operator's argument type: tqvector, or vector/halfvec converted */
	so->query_value = PointerGetDatum(PG_DETOAST_DATUM_COPY(scan->orderByData[0].sk_argument));
	/* detoasted already; a tqvector column's query is that same copy */
	so->query = (TqVector *) DatumGetPointer(TqIndexValueToTqvector(scan->indexRelation,
																	so->query_value));
	MemoryContextSwitchTo(old);
}

/*
 * Takes the scan's own copy of the index cache (see TqCopyCache: the relcache
 * may drop rd_amcache while re-ranking opens a TOAST table) and allocates the
 * buffers sized by it, unless a rescan can keep what it has.
 */
static void
TqScanAlloc(TqScanOpaque so, const TqIndexCache *cache)
{
	MemoryContext old;
	uint32		slots = cache->geo.groups * kBlockVectors;

	if (so->cache != NULL && so->cache->dims == cache->dims && so->cache->bits == cache->bits &&
		so->cache->seed == cache->seed && so->cache->n_lists == cache->n_lists &&
		so->cache->geo.base == cache->geo.base)
		return;
	old = MemoryContextSwitchTo(so->scanctx);
	/* without centroids: TqScanStartLists reads them from rd_amcache */
	so->cache = TqCopyCache(cache, so->scanctx, false);
	cache = so->cache;
	so->lut = (uint8 *) TqPallocAligned(turboquant::QueryLutSize(cache->qz), 64);
	so->scratch = (float *) TqPallocAligned(sizeof(float) * turboquant::ScratchFloats(cache->qz), 64);
	so->used = (uint32 *) palloc(sizeof(uint32) * cache->geo.groups);
	so->norms = (double *) palloc(sizeof(double) * slots);
	so->factors = (float *) palloc(sizeof(float) * slots);
	so->tids = (ItemPointerData *) palloc(sizeof(ItemPointerData) * slots);
	so->acc = (uint32 *) TqPallocAligned(sizeof(uint32) * slots, 64);
	so->est = (double *) palloc(sizeof(double) * slots);
	so->n_lists = cache->n_lists;
	so->order = (uint32 *) palloc(sizeof(uint32) * cache->n_lists);
	so->list_dist = (float *) palloc(sizeof(float) * cache->n_lists);
	so->heads = (uint32 *) palloc(sizeof(uint32) * cache->n_lists);
	MemoryContextSwitchTo(old);
}

/*
 * Adds the codes of one stripe page (chunks [first, first + n) of each group)
 * into acc: scored in place in the shared buffer, the groups' slices one
 * after the other.  Without a query (ORDER BY NULL, or no ORDER BY) the LUT
 * is never prepared and nothing is scored.
 */
static inline void
TqScanPageChunks(TqScanOpaque so, Page page, uint32 pageno, const uint32 *used, uint32 *acc)
{
	const TqStripeGeometry *geo = &so->cache->geo;
	uint32		first = TqPageFirstChunk(geo, pageno);
	uint32		n = TqPageChunkCount(geo, pageno);
	const uint8 *chunks;
	size_t		slice;

	if (n == 0 || so->query == NULL)
		return;
	chunks = TqPageGroupChunks(page, geo, pageno, 0);
	slice = (size_t) n * geo->chunk_bytes;
	for (uint32 g = 0; g < geo->groups; g++, chunks += slice)
	{
		if (used[g] != 0)
			turboquant::ScanChunks(so->lut, chunks, first, n, acc + g * kBlockVectors);
	}
}

/*
 * A candidate's id is its heap TID as a number: it breaks ties between equal
 * estimates (so passes continue exactly where the previous one stopped) and
 * needs no second look at the index page to find the row.
 */
static inline uint64
TqTidToId(const ItemPointerData *tid)
{
	return ((uint64) ItemPointerGetBlockNumberNoCheck(tid) << 16) |
		ItemPointerGetOffsetNumberNoCheck(tid);
}

static inline void
TqIdToTid(uint64 id, ItemPointerData *tid)
{
	ItemPointerSet(tid, (BlockNumber) (id >> 16), (OffsetNumber) (id & 0xFFFF));
}

/* Is (est, id) after the previous pass's last candidate? */
static inline bool
TqAfterBound(TqScanOpaque so, double est, uint64 id)
{
	return !so->have_bound || est > so->bound_est ||
		(est == so->bound_est && id > so->bound_id);
}

/*
 * Turns one group's accumulators into estimates and offers its used slots to
 * topk.  norms, factors and tids are the group header's (on the page, or
 * copied from it).
 */
static inline void
TqScanScoreGroup(TqScanOpaque so, turboquant::TopK *topk, uint32 mask, const uint32 *acc,
				 const double *norms, const float *factors, const ItemPointerData *tids)
{
	double	   *est = so->est;

	if (mask == 0)
		return;
	so->region_slots += __builtin_popcount(mask);
	so->stat_slots += __builtin_popcount(mask);
	if (so->query)
		turboquant::EstimateDistances(so->lut, acc, norms, factors, est);
	else
		memset(est, 0, sizeof(double) * kBlockVectors);
	/*
	 * Once topk is full, only slots at or below its worst can enter: find
	 * them with one branch-free pass over the 32 estimates (NaN compares
	 * false; it counts as infinity below, which cannot beat a finite worst).
	 */
	if (topk->size == topk->k && topk->k > 0 && !std::isinf(topk->dist[0]))
	{
		double		worst = topk->dist[0];
		uint32		pass = 0;

		for (uint32 s = 0; s < kBlockVectors; s++)
			pass |= (uint32) (est[s] <= worst) << s;
		mask &= pass;
	}
	while (mask)
	{
		uint32		s = __builtin_ctz(mask);
		double		e = est[s];

		/* estimates are double and cannot overflow; never lose a slot anyway */
		if (std::isnan(e))
			e = std::numeric_limits<double>::infinity();

		mask &= mask - 1;
		if (turboquant::TopKAccepts(topk, e))
		{
			uint64		id = TqTidToId(&tids[s]);

			if (TqAfterBound(so, e, id))
				turboquant::TopKPush(topk, e, id);
		}
	}
}

/*
 * Reads one stripe and offers its used slots to topk; sets so->next_stripe.
 *
 * Each page is read under a share lock through the backend's recent-buffer
 * hints (no buffer-mapping lookup when the hint holds), and the next page
 * (or the next stripe's first page) is pulled into the CPU cache while this
 * one is scored.  A one-page stripe is scored entirely in place: its group
 * headers are used on the page under the lock.  A longer stripe copies its
 * headers (used slots, norms, factors, TIDs) under the first page's lock and
 * scores after its last page: slots whose bit was clear then are ignored,
 * so codes an insert writes meanwhile are never scored half-written.
 */
static void
TqScanStripe(IndexScanDesc scan, TqScanOpaque so, TqBufferHints *hints, uint32 stripe,
			 turboquant::TopK *topk)
{
	const TqStripeGeometry *geo = &so->cache->geo;
	Relation	index = scan->indexRelation;
	/* without a query only the first page (slots, TIDs, chain) matters */
	uint32		pages = so->query ? geo->pages : 1;

	for (uint32 p = 0; p < pages; p++)
	{
		BlockNumber blkno = TqStripeBlock(geo, stripe, p);
		Buffer		buf = TqReadBufferHinted(index, hints, blkno);
		Page		page;

		if (p + 1 < pages)
			TqPrefetchHinted(hints, blkno + 1, 0);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		so->stat_pages++;
		page = BufferGetPage(buf);
		TqCheckPage(page, index, blkno, p == 0 ? TQ_PAGE_STRIPE_HEAD : TQ_PAGE_STRIPE_CONT);
		if (p == 0)
		{
			so->next_stripe = TqPageGetOpaque(page)->next;
			if (so->next_stripe != TQ_INVALID_STRIPE && so->next_stripe < so->n_stripes &&
				pages == 1)
				TqPrefetchHinted(hints, TqStripeBlock(geo, so->next_stripe, 0),
								 geo->groups * TQ_GROUP_HEADER_SIZE);
			for (uint32 g = 0; g < geo->groups; g++)
				so->used[g] = TqPageGroupHeader(page, g)->used_mask;
			memset(so->acc, 0, sizeof(uint32) * geo->groups * kBlockVectors);
			if (pages == 1)
			{
				/* the whole stripe on this page: score in place, under this lock */
				TqScanPageChunks(so, page, 0, so->used, so->acc);
				for (uint32 g = 0; g < geo->groups; g++)
				{
					const TqGroupHeader *gh = TqPageGroupHeader(page, g);

					TqScanScoreGroup(so, topk, so->used[g], so->acc + g * kBlockVectors,
									 gh->norms, gh->factors, gh->tids);
				}
				UnlockReleaseBuffer(buf);
				return;
			}
			for (uint32 g = 0; g < geo->groups; g++)
			{
				const TqGroupHeader *gh = TqPageGroupHeader(page, g);

				if (so->used[g] == 0)
					continue;
				memcpy(so->norms + g * kBlockVectors, gh->norms, sizeof(gh->norms));
				memcpy(so->factors + g * kBlockVectors, gh->factors, sizeof(gh->factors));
				memcpy(so->tids + g * kBlockVectors, gh->tids, sizeof(gh->tids));
			}
		}
		else if (p + 1 == pages && so->next_stripe != TQ_INVALID_STRIPE &&
				 so->next_stripe < so->n_stripes)
			TqPrefetchHinted(hints, TqStripeBlock(geo, so->next_stripe, 0),
								 geo->groups * TQ_GROUP_HEADER_SIZE);
		TqScanPageChunks(so, page, p, so->used, so->acc);
		UnlockReleaseBuffer(buf);
	}
	for (uint32 g = 0; g < geo->groups; g++)
		TqScanScoreGroup(so, topk, so->used[g], so->acc + g * kBlockVectors,
						 so->norms + g * kBlockVectors, so->factors + g * kBlockVectors,
						 so->tids + g * kBlockVectors);
}

/*
 * Scores every slot of the region's lists and keeps the best `so->batch`
 * after the bound, sorted by estimate.  Returns the number kept.
 */
static uint32
TqScanPass(IndexScanDesc scan, TqScanOpaque so, turboquant::TopK *topk)
{
	double	   *dist = (double *) palloc(sizeof(double) * so->batch);
	uint64	   *ids = (uint64 *) palloc(sizeof(uint64) * so->batch);

	/* fetched once per pass: nothing in a pass uses another index */
	TqBufferHints *hints = TqGetBufferHints(scan->indexRelation);

	turboquant::TopKInit(topk, dist, ids, so->batch);
	so->region_slots = 0;
	for (uint32 i = so->region_begin; i < so->region_end; i++)
	{
		uint32		stripe = so->heads[so->order[i]];

		/* chains ascend: stripes created after the scan started come last */
		while (stripe != TQ_INVALID_STRIPE && stripe < so->n_stripes)
		{
			CHECK_FOR_INTERRUPTS();
			TqScanStripe(scan, so, hints, stripe, topk);
			if (so->next_stripe != TQ_INVALID_STRIPE && so->next_stripe <= stripe)
				ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
								errmsg("index \"%s\" has a list chain out of order at stripe %u",
									   RelationGetRelationName(scan->indexRelation), stripe)));
			stripe = so->next_stripe;
		}
	}
	turboquant::TopKSort(topk);
	return topk->size;
}

/* Sort order of results: distance (NaN last), then slot id. */
static bool
TqResultLess(const TqResult &a, const TqResult &b)
{
	int			c = float8_cmp_internal(a.dist, b.dist);

	return c < 0 || (c == 0 && a.id < b.id);
}

/*
 * Fetches the row version at tid visible to the scan's snapshot into so->slot,
 * as the heap's own index fetch does (pin the page, prune it opportunistically
 * when arriving on it, follow the HOT chain under a share lock), but reading
 * the page through the backend's buffer hints: re-ranking reads a few dozen
 * rows per query from pages all over the table, and the buffer-mapping lookup
 * of each was 8% of a query's time (docs/performance.md).  Only for tables of
 * the heap access method, with an MVCC snapshot (one visible version per TID).
 */
static bool
TqFetchHeapRow(IndexScanDesc scan, TqScanOpaque so, ItemPointer tid)
{
	Relation	heap = scan->heapRelation;
	BlockNumber blkno = ItemPointerGetBlockNumber(tid);
	BufferHeapTupleTableSlot *bslot = (BufferHeapTupleTableSlot *) so->slot;
	bool		all_dead = false;
	bool		found;

	if (!BufferIsValid(so->heap_buf) || BufferGetBlockNumber(so->heap_buf) != blkno)
	{
		if (BufferIsValid(so->heap_buf))
			ReleaseBuffer(so->heap_buf);
		so->heap_buf = InvalidBuffer;	/* released, whatever the read below does */
		/* looked up each time: user code run by an expression index may evict them */
		so->heap_buf = TqReadBufferHinted(heap, TqGetHeapBufferHints(heap), blkno);
		heap_page_prune_opt(heap, so->heap_buf);
	}
	LockBuffer(so->heap_buf, BUFFER_LOCK_SHARE);
	found = heap_hot_search_buffer(tid, heap, so->heap_buf, scan->xs_snapshot, &bslot->base.tupdata,
								   &all_dead, true);
	bslot->base.tupdata.t_self = *tid;
	LockBuffer(so->heap_buf, BUFFER_LOCK_UNLOCK);
	if (!found)
		return false;
	so->slot->tts_tableOid = RelationGetRelid(heap);
	ExecStoreBufferHeapTuple(&bslot->base.tupdata, so->slot, so->heap_buf);
	return true;
}

/*
 * The exact distance between the query and a fetched row's value, computed by
 * the ORDER BY operator's own function on the column's own value (float16 for
 * a halfvec column): an index scan returns exactly what a sequential scan
 * computes.
 */
static bool
TqExactDistance(IndexScanDesc scan, TqScanOpaque so, ItemPointer tid, double *dist)
{
	bool		call_again = false;
	bool		all_dead = false;
	ItemPointerData fetch_tid = *tid;
	ExprContext *econtext = GetPerTupleExprContext(so->estate);
	ScanKey		key = &scan->orderByData[0];
	MemoryContext old;
	Datum		value;
	bool		isnull;

	if (so->heap_direct)
	{
		if (!TqFetchHeapRow(scan, so, &fetch_tid))
			return false;
	}
	else if (!table_index_fetch_tuple(so->fetch, &fetch_tid, scan->xs_snapshot, so->slot,
									  &call_again, &all_dead))
		return false;
	/* detoasted copies and the function's own allocations go with the row */
	ResetExprContext(econtext);
	old = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);
	if (so->indexInfo->ii_IndexAttrNumbers[0] != 0)
		value = slot_getattr(so->slot, so->indexInfo->ii_IndexAttrNumbers[0], &isnull);
	else
	{
		Datum		values[INDEX_MAX_KEYS];
		bool		isnulls[INDEX_MAX_KEYS];

		econtext->ecxt_scantuple = so->slot;
		FormIndexDatum(so->indexInfo, so->slot, so->estate, values, isnulls);
		value = values[0];
		isnull = isnulls[0];
	}
	if (!isnull)
		*dist = DatumGetFloat8(FunctionCall2Coll(&key->sk_func, key->sk_collation,
												 value, so->query_value));
	MemoryContextSwitchTo(old);
	return !isnull;
}

/* Sets up the row fetcher used by re-ranking, once per scan. */
static void
TqScanInitFetch(IndexScanDesc scan, TqScanOpaque so)
{
	MemoryContext old;

	if (so->fetch != NULL)
		return;
	old = MemoryContextSwitchTo(so->scanctx);
	so->fetch = table_index_fetch_begin(scan->heapRelation);
	so->slot = table_slot_create(scan->heapRelation, NULL);
	so->heap_buf = InvalidBuffer;
	so->heap_direct = scan->heapRelation->rd_tableam == GetHeapamTableAmRoutine() &&
		TTS_IS_BUFFERTUPLE(so->slot) && IsMVCCSnapshot(scan->xs_snapshot);
	so->indexInfo = BuildIndexInfo(scan->indexRelation);
	so->estate = CreateExecutorState();
	MemoryContextSwitchTo(old);
}

/* Moves on to the next region of lists: as many as all scanned so far. */
static void
TqNextRegion(TqScanOpaque so)
{
	uint32		done = so->region_end;

	so->region_begin = done;
	so->region_end = (uint32) Min((uint64) so->n_lists,
								  (uint64) done + Max(TqProbes(so->n_lists, so->rows), done));
	/* the ranking ordered only the lists probed first: pick this region's */
	if (so->n_lists > 1 && so->query)
		turboquant::SelectNearest(so->list_dist, so->order + done, so->n_lists - done,
								  so->region_end - done);
	so->have_bound = false;
	so->batch = so->first_batch;
}

/*
 * Runs one pass and leaves the rows to return next in so->results.  Returns
 * false when no unseen slot and no held-back row is left in any list.
 *
 * With re-ranking, a pass returns only the better half of what it knows
 * exactly (its own candidates plus the rows held back by the previous pass)
 * and holds the rest back for the next pass to merge with its candidates.
 * So a LIMIT close to turboquant.rerank still sees twice as many candidates
 * as rows, and rows stay in exact order across passes far more often than
 * the estimates alone would give.  The last pass returns everything.
 */
static bool
TqNextBatch(IndexScanDesc scan, TqScanOpaque so)
{
	turboquant::TopK topk;
	uint32		n;
	MemoryContext old;
	bool		rerank = so->query != NULL && TqRerank(so->cache->bits) > 0;
	bool		region_done;
	bool		last;
	int			known;

	/* the rows held back survive the reset of the pass context */
	if (so->nheld > so->held_cap)
	{
		so->held = (TqResult *) MemoryContextAlloc(so->scanctx, sizeof(TqResult) * so->nheld);
		so->held_cap = so->nheld;
	}
	if (so->nheld > 0)
		memcpy(so->held, so->results + so->nresults, sizeof(TqResult) * so->nheld);
	for (;;)
	{
		MemoryContextReset(so->passctx);
		old = MemoryContextSwitchTo(so->passctx);
		n = TqScanPass(scan, so, &topk);
		so->stat_passes++;
		/* fewer candidates than asked for: every slot of the region has been seen */
		region_done = n < so->batch;
		last = region_done && so->region_end >= so->n_lists;
		if (n > 0 || so->nheld > 0 || last)
			break;
		/* an empty region (empty lists): on to the next */
		MemoryContextSwitchTo(old);
		TqNextRegion(so);
	}
	so->nresults = so->next = 0;
	if (n == 0 && so->nheld == 0)
	{
		MemoryContextSwitchTo(old);
		return false;
	}
	if (n > 0)
	{
		so->have_bound = true;
		so->bound_est = topk.dist[n - 1];
		so->bound_id = topk.id[n - 1];
	}
	so->results = (TqResult *) palloc(sizeof(TqResult) * (n + so->nheld));
	if (so->nheld > 0)
		memcpy(so->results, so->held, sizeof(TqResult) * so->nheld);
	known = so->nheld;
	so->nheld = 0;

	if (rerank)
	{
		TqScanInitFetch(scan, so);
		/* pull every candidate's page header and line pointer toward the CPU first */
		if (so->heap_direct)
		{
			const TqBufferHints *hh = TqGetHeapBufferHints(scan->heapRelation);
			ItemPointerData tid;

			for (uint32 i = 0; i < n; i++)
			{
				TqIdToTid(topk.id[i], &tid);
				TqPrefetchHintedItem(hh, &tid);
			}
		}
	}
	for (uint32 i = 0; i < n; i++)
	{
		TqResult   *r = &so->results[known];

		TqIdToTid(topk.id[i], &r->tid);
		r->id = topk.id[i];
		if (rerank)
		{
			if (!TqExactDistance(scan, so, &r->tid, &r->dist))
				continue;
		}
		else if (so->query == NULL)
			r->dist = 0.0;
		else
			r->dist = so->cache->mi->report(topk.dist[i]);
		known++;
		if ((i & 63) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	so->nresults = known;
	if (rerank)
	{
		std::sort(so->results, so->results + known, TqResultLess);
		if (!last)
		{
			/* return the better half, hold the rest (stored right after it) */
			so->nresults = (known + 1) / 2;
			so->nheld = known - so->nresults;
		}
	}
	MemoryContextSwitchTo(old);
	if (region_done)
	{
		if (!last)
			TqNextRegion(so);
	}
	else
		so->batch = (uint32) Min(Min((uint64) so->batch * TQ_BATCH_GROWTH,
									 Max(so->region_slots, (uint64) so->batch)),
								 (uint64) TQ_MAX_BATCH);
	return true;
}

/* Reads the list directory and ranks the lists for the query. */
static void
TqScanStartLists(IndexScanDesc scan, TqScanOpaque so, const TqMetaPageData *meta)
{
	TqListEntry *dir = (TqListEntry *) palloc(sizeof(TqListEntry) * so->n_lists);

	TqReadDirectory(scan->indexRelation, meta, dir);
	for (uint32 l = 0; l < so->n_lists; l++)
	{
		so->heads[l] = dir[l].head;
		so->order[l] = l;
	}
	pfree(dir);
	/* probe order by the core's rank metric: inner product ranks by inner product
	 * although rows were assigned by L2 (measured, src/core/kmeans.cpp) */
	so->region_begin = 0;
	/* ORDER BY NULL: every row ties, no list is nearer than another */
	so->region_end = so->query ? TqProbes(so->n_lists, so->rows) : so->n_lists;
	/* the relcache's centroids: nothing between here and the ranking can drop
	 * them; only the first region is sorted now (TqNextRegion picks the next) */
	if (so->n_lists > 1 && so->query)
	{
		const TqIndexCache *rc = TqGetCache(scan->indexRelation, meta);
		Metric		rank = turboquant::PartitionRankMetric(so->cache->mi->metric);
		uint32		shortlist = turboquant::CodedRankShortlist(so->region_end, so->cache->bits);
		const void *codes;

		/*
		 * Many lists: estimate every centroid's distance from its codes with
		 * the query's tables (bits/32 of the float bytes), exact distances for
		 * a shortlist of the nearest by estimate.  Few: rank them all exactly.
		 */
		if (shortlist < so->n_lists / 2 && rank == so->metric &&
			(codes = TqCentroidCodes(rc)) != NULL)
		{
			double	   *est = (double *) palloc(sizeof(double) *
												((size_t) so->n_lists + kBlockVectors));

			turboquant::RankCentroidsCoded(rc->qz, so->lut, codes, rc->centroids, so->n_lists,
										   so->cache->dims, rank, so->query->x, so->order,
										   so->list_dist, so->region_end, shortlist, est);
			pfree(est);
		}
		else
			turboquant::RankCentroids(rc->centroids, so->n_lists, so->cache->dims, rank,
									  so->query->x, so->order, so->list_dist, so->region_end);
	}
}

/* amgettuple */
bool
tqgettuple(IndexScanDesc scan, ScanDirection dir)
{
	TqScanOpaque so = (TqScanOpaque) scan->opaque;

	if (!so->started)
	{
		TqMetaPageData meta = TqReadMeta(scan->indexRelation);

		so->started = true;
		pgstat_count_index_scan(scan->indexRelation);

		/*
		 * An index-only scan is planned when the query needs no column (no
		 * column can be returned: amcanreturn is NULL), e.g. count(*) with
		 * enable_seqscan off; the executor still wants an index tuple per
		 * row.  One with every column NULL serves: nothing reads it.
		 */
		if (scan->xs_want_itup && scan->xs_itup == NULL)
		{
			TupleDesc	desc = RelationGetDescr(scan->indexRelation);
			MemoryContext old = MemoryContextSwitchTo(so->scanctx);
			Datum	   *values = (Datum *) palloc0(sizeof(Datum) * desc->natts);
			bool	   *isnull = (bool *) palloc(sizeof(bool) * desc->natts);

			memset(isnull, true, sizeof(bool) * desc->natts);
			scan->xs_itup = index_form_tuple(desc, values, isnull);
			scan->xs_itupdesc = desc;
			MemoryContextSwitchTo(old);
		}
		if (meta.dims == 0 || meta.n_stripes == 0)
		{
			so->exhausted = true;
			return TqScanNextNull(scan, &so->nulls, so->passctx);
		}
		TqScanAlloc(so, TqGetCache(scan->indexRelation, &meta));
		if (so->query)
		{
			/* the operator's own message: the plan must not change the error */
			TqCheckQueryDims(scan->indexRelation, (int) meta.dims, so->query->dim);
			turboquant::PrepareQuery(so->cache->qz, so->metric, so->query->x, so->lut,
									 so->scratch);
		}
		/* later passes see the stripes that existed when the scan started */
		so->n_stripes = meta.n_stripes;
		so->rows = (double) meta.n_inserted;
		TqScanStartLists(scan, so, &meta);
		so->first_batch = so->query && TqRerank(so->cache->bits) > 0 ?
			TqRerank(so->cache->bits) : TQ_APPROX_BATCH;
		so->batch = so->first_batch;
	}
	while (so->next >= so->nresults)
	{
		/* every indexed row returned: rows with NULL vectors come last */
		if (so->exhausted && so->nheld == 0)
			return TqScanNextNull(scan, &so->nulls, so->passctx);
		if (!TqNextBatch(scan, so))
		{
			so->exhausted = true;
			return TqScanNextNull(scan, &so->nulls, so->passctx);
		}
	}
	{
		TqResult   *r = &so->results[so->next++];

		scan->xs_heaptid = r->tid;
		scan->xs_recheck = false;
		scan->xs_recheckorderby = false;
		if (scan->numberOfOrderBys > 0)
		{
			scan->xs_orderbyvals[0] = Float8GetDatum(r->dist);
			scan->xs_orderbynulls[0] = so->query == NULL;
		}
	}
	return true;
}

/* amendscan */
void
tqendscan(IndexScanDesc scan)
{
	TqScanOpaque so = (TqScanOpaque) scan->opaque;

	if (so->started)
		elog(DEBUG1, "turboquant scan: " UINT64_FORMAT " slots scored, " UINT64_FORMAT
			 " pages read, %u passes", so->stat_slots, so->stat_pages, so->stat_passes);
	if (so->slot)
		ExecDropSingleTupleTableSlot(so->slot);
	if (BufferIsValid(so->heap_buf))	/* palloc0: InvalidBuffer until a fetch */
		ReleaseBuffer(so->heap_buf);
	if (so->fetch)
		table_index_fetch_end(so->fetch);
	if (so->estate)
		FreeExecutorState(so->estate);
	MemoryContextDelete(so->scanctx);
	pfree(so);
	scan->opaque = NULL;
}
