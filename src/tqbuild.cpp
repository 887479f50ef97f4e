/*
 * tqbuild.cpp — CREATE INDEX / REINDEX / TRUNCATE for turboquant.
 *
 * Build reads the table once (table_index_build_scan, which reports block
 * progress), encodes each vector as it arrives and packs it straight into a
 * stripe assembled in backend-local memory.  When a stripe is full its pages
 * are appended to the index through the buffer manager without WAL, and at
 * the end the whole relation is WAL-logged in bulk with log_newpage_range —
 * far cheaper than a record per page, and safe because nobody else can see
 * the index until the build commits.  Memory is one stripe (P pages), however
 * large the table: there is nothing to sort and nothing to train.
 *
 * A column without a declared dimension takes its dimension from the first
 * vector; an empty table with such a column leaves dims = 0 in the metapage
 * and the first insert fills it in (so TRUNCATE works on such tables too).
 */
#include "tqindex.h"
#include "tqvector.h"

extern "C" {
#include "access/tableam.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"
}

#define TQ_PHASE_ENCODE	2
#define TQ_PHASE_WAL	3

typedef struct TqBuildState
{
	Relation	index;
	turboquant::Metric metric;
	int			bits;
	uint64		seed;
	TqMetaPageData meta;		/* metapage contents once dims are known */
	const TqIndexCache *cache;	/* NULL until dims are known */
	char	   *pages;			/* P pages of the stripe being filled */
	uint32		stripe;			/* its number */
	uint32		fill;			/* vectors in it */
	uint64		indtuples;
	uint8	   *codes;
	float	   *scratch;
	MemoryContext buildctx;		/* lives for the whole build */
	MemoryContext tmpctx;		/* reset after every tuple */
} TqBuildState;

/* Sets the dimension once known: cache, stripe buffer, scratch. */
static void
TqBuildSetDims(TqBuildState *st, uint32 dims)
{
	const TqIndexCache *cache;
	/* may run in the per-tuple context (dims from the first vector) */
	MemoryContext old = MemoryContextSwitchTo(st->buildctx);

	st->meta = TqMakeMeta(dims, st->bits, st->metric, st->seed);
	/* a private copy: detoasting a row may rebuild the relcache entry */
	cache = TqCopyCache(TqGetCache(st->index, &st->meta), CurrentMemoryContext);
	st->cache = cache;
	st->pages = (char *) TqPallocAligned((size_t) cache->geo.pages * BLCKSZ, 64);
	st->codes = (uint8 *) palloc(turboquant::QuantizerLayout(cache->qz).padded_dim);
	st->scratch = (float *) TqPallocAligned(sizeof(float) * turboquant::ScratchFloats(cache->qz), 64);
	for (uint32 p = 0; p < cache->geo.pages; p++)
		TqInitDataPage(st->pages + (size_t) p * BLCKSZ, &cache->geo, st->stripe, p);
	MemoryContextSwitchTo(old);
}

/* Appends the assembled stripe to the index and starts the next one. */
static void
TqFlushStripe(TqBuildState *st)
{
	const TqStripeGeometry *geo = &st->cache->geo;

	for (uint32 p = 0; p < geo->pages; p++)
	{
		Buffer		buf = TqExtendTo(st->index, TqStripeBlock(geo, st->stripe, p));

		memcpy(BufferGetPage(buf), st->pages + (size_t) p * BLCKSZ, BLCKSZ);
		MarkBufferDirty(buf);
		UnlockReleaseBuffer(buf);
	}
	st->stripe++;
	st->fill = 0;
	for (uint32 p = 0; p < geo->pages; p++)
		TqInitDataPage(st->pages + (size_t) p * BLCKSZ, geo, st->stripe, p);
}

/* Encodes one vector into the next slot of the stripe being assembled. */
static void
TqBuildAdd(TqBuildState *st, const TqVector *vec, ItemPointer tid)
{
	const TqIndexCache *cache;
	const TqStripeGeometry *geo;
	uint32		group;
	uint32		slot;
	double		norm;
	float		factor;
	TqGroupHeader *gh;

	if (st->cache == NULL)
		TqBuildSetDims(st, vec->dim);
	cache = st->cache;
	geo = &cache->geo;
	TqCheckVectorDims(cache->dims, vec->dim);

	turboquant::Encode(cache->qz, vec->x, st->codes, &norm, &factor, st->scratch);
	group = st->fill / turboquant::kBlockVectors;
	slot = st->fill % turboquant::kBlockVectors;
	for (uint32 p = 0; p < geo->pages; p++)
	{
		Page		page = st->pages + (size_t) p * BLCKSZ;
		uint32		first = TqPageFirstChunk(geo, p);
		uint32		n = TqPageChunkCount(geo, p);

		turboquant::PackSlot(turboquant::QuantizerLayout(cache->qz), st->codes, slot,
							 first, first + n, TqPageGroupChunks(page, geo, p, group));
	}
	gh = TqPageGroupHeader(st->pages, group);
	gh->used_mask |= (uint32) 1 << slot;
	gh->tids[slot] = *tid;
	gh->norms[slot] = norm;
	gh->factors[slot] = factor;
	if (++st->fill == geo->groups * turboquant::kBlockVectors)
		TqFlushStripe(st);
}

/* table_index_build_scan callback: one heap tuple. */
static void
TqBuildCallback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
				bool tupleIsAlive, void *state)
{
	TqBuildState *st = (TqBuildState *) state;
	MemoryContext old;

	if (isnull[0])
		return;
	old = MemoryContextSwitchTo(st->tmpctx);
	TqBuildAdd(st, DatumGetTqVector(TqIndexValueToTqvector(index, values[0])), tid);
	MemoryContextSwitchTo(old);
	MemoryContextReset(st->tmpctx);
	st->indtuples++;
	if ((st->indtuples & 1023) == 0)
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, st->indtuples);
}

/* Writes the final metapage into block 0. */
static void
TqWriteMeta(TqBuildState *st)
{
	Buffer		buf = ReadBuffer(st->index, TQ_METAPAGE_BLKNO);
	TqMetaPageData meta = st->cache ? st->meta : TqMakeMeta(0, st->bits, st->metric, st->seed);

	meta.n_stripes = st->stripe;
	meta.n_inserted = st->indtuples;
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	TqInitMetaPage(BufferGetPage(buf), &meta);
	MarkBufferDirty(buf);
	UnlockReleaseBuffer(buf);
}

/* Common set-up of the build state. */
static void
TqBuildInit(TqBuildState *st, Relation index)
{
	memset(st, 0, sizeof(*st));
	st->index = index;
	st->metric = TqIndexMetric(index);
	st->bits = TqIndexBits(index);
	st->seed = TqIndexSeed(index);
	st->buildctx = CurrentMemoryContext;
	st->tmpctx = AllocSetContextCreate(CurrentMemoryContext, "turboquant build tuple",
									   ALLOCSET_DEFAULT_SIZES);
	/* a stale cache from a previous incarnation (REINDEX) must not be used */
	if (index->rd_amcache)
	{
		pfree(index->rd_amcache);
		index->rd_amcache = NULL;
	}
}

/* ambuild: builds the index from the table's current contents. */
IndexBuildResult *
tqbuild(Relation heap, Relation index, IndexInfo *indexInfo)
{
	TqBuildState st;
	IndexBuildResult *result;
	double		reltuples;
	uint32		dims;
	Buffer		metabuf;

	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));
	TqBuildInit(&st, index);

	/* block 0 is the metapage; written for real at the end */
	metabuf = TqExtendTo(index, TQ_METAPAGE_BLKNO);
	PageInit(BufferGetPage(metabuf), BLCKSZ, sizeof(TqPageOpaqueData));
	MarkBufferDirty(metabuf);
	UnlockReleaseBuffer(metabuf);

	dims = TqIndexTypmodDims(index);
	if (dims > 0)
		TqBuildSetDims(&st, dims);

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, TQ_PHASE_ENCODE);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL,
								 (int64) Max(heap->rd_rel->reltuples, 0));
	reltuples = table_index_build_scan(heap, index, indexInfo, true, true,
									   TqBuildCallback, &st, NULL);
	if (st.cache != NULL && st.fill > 0)
		TqFlushStripe(&st);
	TqWriteMeta(&st);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, st.indtuples);

	if (RelationNeedsWAL(index))
	{
		pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, TQ_PHASE_WAL);
		log_newpage_range(index, MAIN_FORKNUM, 0, RelationGetNumberOfBlocks(index), true);
	}
	MemoryContextDelete(st.tmpctx);

	result = (IndexBuildResult *) palloc(sizeof(IndexBuildResult));
	result->heap_tuples = reltuples;
	result->index_tuples = (double) st.indtuples;
	return result;
}

/* ambuildempty: the init fork of an unlogged index (just a metapage). */
void
tqbuildempty(Relation index)
{
	TqMetaPageData meta = TqMakeMeta(TqIndexTypmodDims(index), TqIndexBits(index),
									 TqIndexMetric(index), TqIndexSeed(index));
	Buffer		buf;

	buf = ReadBufferExtended(index, INIT_FORKNUM, P_NEW, RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	START_CRIT_SECTION();
	TqInitMetaPage(BufferGetPage(buf), &meta);
	MarkBufferDirty(buf);
	log_newpage_buffer(buf, true);
	END_CRIT_SECTION();
	UnlockReleaseBuffer(buf);
}
