/*
 * tqinsert.cpp — adding one vector to a turboquant index.
 *
 * The vector is encoded before any lock is taken.  It then goes into a free
 * slot: first of the last stripe, then of a stripe VACUUM reported to the free
 * space map, else of a new stripe.
 *
 * Writing a slot touches every page of its stripe (a group's codes run across
 * all P pages), possibly more pages than one generic WAL record may hold.
 * Crash consistency comes from the order: with the stripe's first page locked
 * exclusively, the continuation pages are written first, in records of up to
 * MAX_GENERIC_XLOG_PAGES pages, and the first page — slot bit, heap TID,
 * norm, factor and its own chunks — last, in one record.  A slot whose bit is
 * clear is ignored by every reader, so a crash between records leaves only
 * garbage codes in a free slot, overwritten by the next insert.  Scans read
 * the first page before the others and only score slots whose bit they saw,
 * so they never trust half-written codes either.
 *
 * A new stripe is created with the metapage locked exclusively, which
 * serialises stripe creation: its pages (re-)initialised with the new vector
 * already in slot 0, then the metapage's stripe count raised.  Pages left over
 * by a creation that crashed before the count was raised are simply reused.
 *
 * Locks: stripe first page, then continuation pages in block order; the
 * metapage is never taken while holding a stripe page.
 */
#include "tqindex.h"
#include "tqvector.h"

extern "C" {
#include "storage/indexfsm.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"
}

typedef struct TqEncoded
{
	uint8	   *codes;
	double		norm;
	float		factor;
	ItemPointerData tid;
} TqEncoded;

/* Writes slot (group, slot) on stripe page `pageno` (already registered). */
static void
TqPackOnPage(const TqIndexCache *cache, Page page, uint32 pageno, uint32 group,
			 uint32 slot, const TqEncoded *enc)
{
	const TqStripeGeometry *geo = &cache->geo;
	uint32		first = TqPageFirstChunk(geo, pageno);
	uint32		n = TqPageChunkCount(geo, pageno);

	turboquant::PackSlot(turboquant::QuantizerLayout(cache->qz), enc->codes, slot,
						 first, first + n, TqPageGroupChunks(page, geo, pageno, group));
	if (pageno == 0)
	{
		TqGroupHeader *gh = TqPageGroupHeader(page, group);

		gh->used_mask |= (uint32) 1 << slot;
		gh->tids[slot] = enc->tid;
		gh->norms[slot] = enc->norm;
		gh->factors[slot] = enc->factor;
	}
}

/*
 * Puts the vector into a free slot of stripe `stripe`; false when the stripe
 * is full.  *more says whether free slots remain after this one.
 */
static bool
TqInsertIntoStripe(Relation index, const TqIndexCache *cache, uint32 stripe,
				   const TqEncoded *enc, bool *more)
{
	const TqStripeGeometry *geo = &cache->geo;
	Buffer		head = ReadBuffer(index, TqStripeBlock(geo, stripe, 0));
	Page		page;
	uint32		group = 0;
	uint32		slot = 0;
	bool		found = false;
	uint32		free_slots = 0;
	GenericXLogState *state;

	LockBuffer(head, BUFFER_LOCK_EXCLUSIVE);
	page = BufferGetPage(head);
	TqCheckPage(page, index, BufferGetBlockNumber(head), TQ_PAGE_STRIPE_HEAD);
	for (uint32 g = 0; g < geo->groups; g++)
	{
		uint32		mask = TqPageGroupHeader(page, g)->used_mask;

		free_slots += __builtin_popcount(~mask);
		if (mask != 0xFFFFFFFFu && !found)
		{
			group = g;
			slot = __builtin_ctz(~mask);
			found = true;
		}
	}
	*more = free_slots > 1;
	if (!found)
	{
		UnlockReleaseBuffer(head);
		return false;
	}

	/* continuation pages first, up to MAX_GENERIC_XLOG_PAGES per record */
	for (uint32 p = 1; p < geo->pages; p += MAX_GENERIC_XLOG_PAGES)
	{
		Buffer		bufs[MAX_GENERIC_XLOG_PAGES];
		uint32		n = Min((uint32) MAX_GENERIC_XLOG_PAGES, geo->pages - p);

		state = GenericXLogStart(index);
		for (uint32 i = 0; i < n; i++)
		{
			Page		cpage;

			bufs[i] = ReadBuffer(index, TqStripeBlock(geo, stripe, p + i));
			LockBuffer(bufs[i], BUFFER_LOCK_EXCLUSIVE);
			cpage = GenericXLogRegisterBuffer(state, bufs[i], 0);
			TqCheckPage(cpage, index, BufferGetBlockNumber(bufs[i]), TQ_PAGE_STRIPE_CONT);
			TqPackOnPage(cache, cpage, p + i, group, slot, enc);
		}
		GenericXLogFinish(state);
		for (uint32 i = 0; i < n; i++)
			UnlockReleaseBuffer(bufs[i]);
	}

	/* the first page last: this record makes the slot visible */
	state = GenericXLogStart(index);
	page = GenericXLogRegisterBuffer(state, head, 0);
	TqPackOnPage(cache, page, 0, group, slot, enc);
	GenericXLogFinish(state);
	UnlockReleaseBuffer(head);
	return true;
}

/*
 * Creates stripe `expect` holding the vector in its first slot; false when
 * another backend created it first (the caller retries).
 */
static bool
TqInsertNewStripe(Relation index, const TqIndexCache *cache, uint32 expect,
				  const TqEncoded *enc)
{
	const TqStripeGeometry *geo = &cache->geo;
	Buffer		metabuf = ReadBuffer(index, TQ_METAPAGE_BLKNO);
	BlockNumber nblocks;
	GenericXLogState *state;
	TqMetaPage	meta;

	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	TqCheckPage(BufferGetPage(metabuf), index, TQ_METAPAGE_BLKNO, TQ_PAGE_META);
	if (TqPageGetMeta(BufferGetPage(metabuf))->n_stripes != expect)
	{
		UnlockReleaseBuffer(metabuf);
		return false;
	}

	nblocks = RelationGetNumberOfBlocks(index);
	for (uint32 p = 0; p < geo->pages; p += MAX_GENERIC_XLOG_PAGES)
	{
		Buffer		bufs[MAX_GENERIC_XLOG_PAGES];
		uint32		n = Min((uint32) MAX_GENERIC_XLOG_PAGES, geo->pages - p);

		state = GenericXLogStart(index);
		for (uint32 i = 0; i < n; i++)
		{
			BlockNumber blkno = TqStripeBlock(geo, expect, p + i);
			Page		page;

			if (blkno < nblocks)
			{
				/* left over by a creation that crashed before it was counted */
				bufs[i] = ReadBuffer(index, blkno);
				LockBuffer(bufs[i], BUFFER_LOCK_EXCLUSIVE);
			}
			else
				bufs[i] = TqExtendTo(index, blkno);
			page = GenericXLogRegisterBuffer(state, bufs[i], GENERIC_XLOG_FULL_IMAGE);
			TqInitDataPage(page, geo, expect, p + i);
			TqPackOnPage(cache, page, p + i, 0, 0, enc);
		}
		GenericXLogFinish(state);
		for (uint32 i = 0; i < n; i++)
			UnlockReleaseBuffer(bufs[i]);
	}

	/* counting the stripe makes it (and the vector) visible */
	state = GenericXLogStart(index);
	meta = TqPageGetMeta(GenericXLogRegisterBuffer(state, metabuf, 0));
	meta->n_stripes = expect + 1;
	meta->n_inserted++;
	GenericXLogFinish(state);
	UnlockReleaseBuffer(metabuf);
	return true;
}

/* Records the dimension in an index built empty on a column without typmod. */
static void
TqInsertSetDims(Relation index, int dims)
{
	Buffer		metabuf = ReadBuffer(index, TQ_METAPAGE_BLKNO);
	TqMetaPage	meta;

	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	TqCheckPage(BufferGetPage(metabuf), index, TQ_METAPAGE_BLKNO, TQ_PAGE_META);
	meta = TqPageGetMeta(BufferGetPage(metabuf));
	if (meta->dims == 0)
	{
		TqMetaPageData contents = TqMakeMeta(dims, meta->bits, (turboquant::Metric) meta->metric,
											 meta->seed);
		GenericXLogState *state = GenericXLogStart(index);

		TqInitMetaPage(GenericXLogRegisterBuffer(state, metabuf, GENERIC_XLOG_FULL_IMAGE),
					   &contents);
		GenericXLogFinish(state);
	}
	UnlockReleaseBuffer(metabuf);
}

/* Adds one vector, retrying when concurrent inserts fill the stripe it chose. */
static void
TqInsertVector(Relation index, const TqVector *vec, ItemPointer tid)
{
	TqMetaPageData meta = TqReadMeta(index);
	const TqIndexCache *cache;
	TqEncoded	enc;
	float	   *scratch;

	if (vec->dim < 1 || vec->dim > TQ_VECTOR_MAX_DIM)
		elog(ERROR, "turboquant: invalid vector dimension %d", vec->dim);
	if (meta.dims == 0)
	{
		TqInsertSetDims(index, vec->dim);
		meta = TqReadMeta(index);
	}
	TqCheckVectorDims(meta.dims, vec->dim);
	/* a private copy, so no relcache rebuild can pull it away mid-insert */
	cache = TqCopyCache(TqGetCache(index, &meta), CurrentMemoryContext);

	enc.codes = (uint8 *) palloc(turboquant::QuantizerLayout(cache->qz).padded_dim);
	scratch = (float *) TqPallocAligned(sizeof(float) * turboquant::ScratchFloats(cache->qz), 64);
	turboquant::Encode(cache->qz, vec->x, enc.codes, &enc.norm, &enc.factor, scratch);
	enc.tid = *tid;

	for (;;)
	{
		BlockNumber blkno;
		bool		more;

		if (meta.n_stripes > 0 &&
			TqInsertIntoStripe(index, cache, meta.n_stripes - 1, &enc, &more))
			return;
		/* stripes with slots freed by VACUUM (the FSM forgets what it hands out) */
		while ((blkno = GetFreeIndexPage(index)) != InvalidBlockNumber)
		{
			uint32		rel = blkno - TQ_FIRST_STRIPE_BLKNO;

			if (blkno >= TQ_FIRST_STRIPE_BLKNO && rel % cache->geo.pages == 0 &&
				rel / cache->geo.pages < meta.n_stripes &&
				TqInsertIntoStripe(index, cache, rel / cache->geo.pages, &enc, &more))
			{
				if (more)
					RecordFreeIndexPage(index, blkno);
				return;
			}
		}
		if (TqInsertNewStripe(index, cache, meta.n_stripes, &enc))
			return;
		meta = TqReadMeta(index);
	}
}

/* aminsert */
bool
tqinsert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid,
		 Relation heap, IndexUniqueCheck checkUnique, bool indexUnchanged,
		 IndexInfo *indexInfo)
{
	MemoryContext ctx;
	MemoryContext old;

	if (isnull[0])
		return false;
	ctx = AllocSetContextCreate(CurrentMemoryContext, "turboquant insert",
								ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(ctx);
	TqInsertVector(index, DatumGetTqVector(TqIndexValueToTqvector(index, values[0])), heap_tid);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(ctx);
	return false;
}
