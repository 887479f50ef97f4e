/*
 * tqinsert.cpp — adding one vector to a turboquant index.
 *
 * The vector is encoded and assigned to the list of its nearest centroid
 * before any lock is taken (a flat index has one list; centroids never change
 * after the build, so no insert ever needs retraining).  It then goes into a
 * free slot of that list: first of the list's tail stripe, then of the
 * stripes from the list's free-space hint (set by VACUUM) to the tail, else
 * of a new stripe appended to the list.
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
 * already in slot 0, then one record links it in: the metapage's stripe count
 * raised, the list's directory entry pointed at it as its tail, and the old
 * tail's next pointer set (three pages, one record: a crash leaves the chain
 * either without the stripe or with it).  Pages left over by a creation that
 * crashed before that record are simply reused.
 *
 * Locks, in this order when nested: metapage, stripe first page (then its
 * continuation pages in block order), directory page.  The metapage is never
 * taken while holding a stripe or directory page.
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
 * Puts the vector into a free slot of stripe `stripe` of list `list`; false
 * when the stripe is full.  *more says whether free slots remain after this
 * one, *next is the list's next stripe.
 */
static bool
TqInsertIntoStripe(Relation index, const TqIndexCache *cache, uint32 list, uint32 stripe,
				   const TqEncoded *enc, bool *more, uint32 *next)
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
	if (TqPageGetOpaque(page)->list != list || TqPageGetOpaque(page)->stripe != stripe)
		ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
						errmsg("index \"%s\" has stripe %u in the wrong list",
							   RelationGetRelationName(index), stripe)));
	*next = TqPageGetOpaque(page)->next;
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

/* List `list`'s directory entry, read under a share lock. */
static TqListEntry
TqReadListEntry(Relation index, const TqMetaPageData *meta, uint32 list)
{
	BlockNumber blkno = TqDirEntryBlock(meta, list);
	Buffer		buf = ReadBuffer(index, blkno);
	TqListEntry e;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	TqCheckPage(BufferGetPage(buf), index, blkno, TQ_PAGE_DIRECTORY);
	e = *TqDirEntry(BufferGetPage(buf), list);
	UnlockReleaseBuffer(buf);
	return e;
}

/* Sets list `list`'s free-space hint to `to` if it is still `from`. */
static void
TqSetFreeHint(Relation index, const TqMetaPageData *meta, uint32 list, uint32 from, uint32 to)
{
	BlockNumber blkno = TqDirEntryBlock(meta, list);
	Buffer		buf = ReadBuffer(index, blkno);

	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	TqCheckPage(BufferGetPage(buf), index, blkno, TQ_PAGE_DIRECTORY);
	if (TqDirEntry(BufferGetPage(buf), list)->free_hint == from)
	{
		GenericXLogState *state = GenericXLogStart(index);

		TqDirEntry(GenericXLogRegisterBuffer(state, buf, 0), list)->free_hint = to;
		GenericXLogFinish(state);
	}
	UnlockReleaseBuffer(buf);
}

/*
 * Creates stripe `expect` in list `list` holding the vector in its first
 * slot; false when another backend created a stripe first (the caller
 * retries).
 */
static bool
TqInsertNewStripe(Relation index, const TqIndexCache *cache, uint32 list, uint32 expect,
				  const TqEncoded *enc)
{
	const TqStripeGeometry *geo = &cache->geo;
	Buffer		metabuf = ReadBuffer(index, TQ_METAPAGE_BLKNO);
	BlockNumber nblocks;
	GenericXLogState *state;
	TqMetaPage	meta;
	TqMetaPageData mcopy;
	TqListEntry entry;
	Buffer		dirbuf;
	Buffer		tailbuf = InvalidBuffer;
	TqListEntry *e;

	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	TqCheckPage(BufferGetPage(metabuf), index, TQ_METAPAGE_BLKNO, TQ_PAGE_META);
	mcopy = *TqPageGetMeta(BufferGetPage(metabuf));
	if (mcopy.n_stripes != expect)
	{
		UnlockReleaseBuffer(metabuf);
		return false;
	}
	/* only stripe creation moves a tail, and it holds the metapage: stable now */
	entry = TqReadListEntry(index, &mcopy, list);

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
			TqInitDataPage(page, geo, expect, p + i, list);
			TqPackOnPage(cache, page, p + i, 0, 0, enc);
		}
		GenericXLogFinish(state);
		for (uint32 i = 0; i < n; i++)
			UnlockReleaseBuffer(bufs[i]);
	}

	/* one record links the stripe in: metapage, old tail, directory entry */
	if (entry.tail != TQ_INVALID_STRIPE)
	{
		tailbuf = ReadBuffer(index, TqStripeBlock(geo, entry.tail, 0));
		LockBuffer(tailbuf, BUFFER_LOCK_EXCLUSIVE);
		TqCheckPage(BufferGetPage(tailbuf), index, BufferGetBlockNumber(tailbuf),
					TQ_PAGE_STRIPE_HEAD);
	}
	dirbuf = ReadBuffer(index, TqDirEntryBlock(&mcopy, list));
	LockBuffer(dirbuf, BUFFER_LOCK_EXCLUSIVE);
	TqCheckPage(BufferGetPage(dirbuf), index, BufferGetBlockNumber(dirbuf), TQ_PAGE_DIRECTORY);

	state = GenericXLogStart(index);
	meta = TqPageGetMeta(GenericXLogRegisterBuffer(state, metabuf, 0));
	meta->n_stripes = expect + 1;
	meta->n_inserted++;
	if (BufferIsValid(tailbuf))
		TqPageGetOpaque(GenericXLogRegisterBuffer(state, tailbuf, 0))->next = expect;
	e = TqDirEntry(GenericXLogRegisterBuffer(state, dirbuf, 0), list);
	if (e->head == TQ_INVALID_STRIPE)
		e->head = expect;
	e->tail = expect;
	e->n_stripes++;
	GenericXLogFinish(state);
	UnlockReleaseBuffer(dirbuf);
	if (BufferIsValid(tailbuf))
		UnlockReleaseBuffer(tailbuf);
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
		/* an index without dims has one list and no stripes: same block map */
		TqMetaPageData contents = TqMakeMeta(dims, meta->bits, (turboquant::Metric) meta->metric,
											 meta->seed, 1);
		GenericXLogState *state;

		if (meta->n_lists != 1 || meta->n_stripes != 0 ||
			contents.first_stripe != meta->first_stripe)
			ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
							errmsg("index \"%s\" has stripes but no dimension",
								   RelationGetRelationName(index))));
		state = GenericXLogStart(index);
		TqInitMetaPage(GenericXLogRegisterBuffer(state, metabuf, GENERIC_XLOG_FULL_IMAGE),
					   &contents);
		GenericXLogFinish(state);
	}
	UnlockReleaseBuffer(metabuf);
}

/*
 * Tries the stripes of list `list` from its free-space hint to its tail;
 * clears or advances the hint as it learns.  True when the vector went in.
 */
static bool
TqInsertFromHint(Relation index, const TqIndexCache *cache, const TqMetaPageData *meta,
				 uint32 list, const TqListEntry *entry, const TqEncoded *enc)
{
	uint32		s = entry->free_hint;

	while (s != TQ_INVALID_STRIPE && s < meta->n_stripes)
	{
		bool		more;
		uint32		next;

		if (TqInsertIntoStripe(index, cache, list, s, enc, &more, &next))
		{
			if (s != entry->free_hint || !more)
				TqSetFreeHint(index, meta, list, entry->free_hint,
							  more ? s : (next != TQ_INVALID_STRIPE ? next : TQ_INVALID_STRIPE));
			return true;
		}
		if (s == entry->tail)
			break;
		if (next != TQ_INVALID_STRIPE && next <= s)
			ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
							errmsg("index \"%s\" has a list chain out of order at stripe %u",
								   RelationGetRelationName(index), s)));
		s = next;
	}
	TqSetFreeHint(index, meta, list, entry->free_hint, TQ_INVALID_STRIPE);
	return false;
}

/* Adds one vector, retrying when concurrent inserts fill the stripe it chose. */
static void
TqInsertVector(Relation index, const TqVector *vec, ItemPointer tid)
{
	TqMetaPageData meta = TqReadMeta(index);
	const TqIndexCache *cache;
	TqEncoded	enc;
	float	   *scratch;
	uint32		list;

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
	list = TqNearestList(cache, vec->x);

	for (;;)
	{
		TqListEntry entry = TqReadListEntry(index, &meta, list);
		bool		more;
		uint32		next;

		if (entry.tail != TQ_INVALID_STRIPE && entry.tail < meta.n_stripes &&
			TqInsertIntoStripe(index, cache, list, entry.tail, &enc, &more, &next))
			return;
		/* stripes of the list with slots freed by VACUUM */
		if (entry.free_hint != TQ_INVALID_STRIPE &&
			TqInsertFromHint(index, cache, &meta, list, &entry, &enc))
			return;
		if (TqInsertNewStripe(index, cache, list, meta.n_stripes, &enc))
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
	TqInsertVector(index, TqIndexDatumVector(index, values[0]), heap_tid);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(ctx);
	return false;
}
