/*
 * tqbuild.cpp — CREATE INDEX / REINDEX / TRUNCATE for turboquant.
 *
 * A partitioned build runs in four phases, reported in
 * pg_stat_progress_create_index:
 *
 *   sampling     draws a uniform reservoir sample of vectors (at most what
 *                training uses, memory bounded by maintenance_work_mem) and
 *                counts or estimates the rows, which choose the number of
 *                lists when the user did not: a block sample (as ANALYZE)
 *                when the table has more blocks than the sample needs rows,
 *                else one pass (TqSample);
 *   training     k-means on (a prefix of) the sample, in the core (Eigen,
 *                deterministic from the index's seed, spherical for
 *                cosine); the centroids go to their pages at once;
 *   assigning and encoding
 *                a second pass takes the vectors in batches, assigns each
 *                batch to its nearest centroids with one matrix product
 *                (core) and encodes them; each encoded vector (list, heap
 *                TID, norm, factor, 4-bit packed codes) goes into a
 *                tuplesort keyed by (list, TID), which spills to disk beyond
 *                maintenance_work_mem, so any table size builds;
 *   writing      the sorted stream fills stripes list after list: a list is
 *                a run of consecutive stripes chained head to tail, then the
 *                list directory and the metapage are written.
 *
 * The assigning and encoding pass runs in parallel with
 * max_parallel_maintenance_workers (see "parallel assigning and encoding"
 * below); sampling, training and writing stay in the leader.
 *
 * A flat index (lists = 0, or a table too small for lists to pay) is the
 * one-list case of the same writer: no sampling, no training, no sort (one
 * list is already in order), the table read once and each vector packed
 * straight into the stripe being assembled, exactly as before lists existed.
 *
 * Stripes are assembled in backend-local memory (one stripe, P pages) and
 * appended to the index through the buffer manager without WAL; at the end
 * the whole relation is WAL-logged in bulk with log_newpage_range — far
 * cheaper than a record per page, and safe because nobody else can see the
 * index until the build commits.
 *
 * A column without a declared dimension takes its dimension from the first
 * vector; an empty table with such a column leaves dims = 0 in the metapage
 * (and one list) and the first insert fills it in (so TRUNCATE works on such
 * tables too).
 */
#include "tqindex.h"
#include "tqvector.h"

extern "C" {
#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "catalog/pg_operator_d.h"
#include "catalog/pg_type_d.h"
#include "commands/progress.h"
#include "common/pg_prng.h"
#include "executor/instrument.h"
#include "miscadmin.h"
#include "optimizer/optimizer.h"
#include "storage/bufmgr.h"
#include "storage/condition_variable.h"
#include "storage/procarray.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/snapmgr.h"
#include "pgstat.h"
#include "portability/instr_time.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/sampling.h"
#include "utils/tuplesort.h"
}

#include <cmath>

using turboquant::Metric;

#define TQ_ASSIGN_BATCH 1024	/* vectors assigned to lists per matrix product */

/* What the tuplesort carries for one vector, after its varlena header and key. */
typedef struct TqSortItem
{
	uint8		key[10];		/* list (4 bytes) then heap TID (6 bytes), big-endian */
	uint8		pad[2];
	float		factor;
	uint8		norm[sizeof(double)];	/* a double, unaligned: memcpy */
	uint8		codes[FLEXIBLE_ARRAY_MEMBER];	/* two 4-bit codes per byte */
} TqSortItem;

typedef struct TqBuildState
{
	Relation	index;
	Metric		metric;
	int			bits;
	uint64		seed;
	int			lists_opt;		/* TQ_LISTS_AUTO, 0 or a count */
	uint32		dims;			/* 0 until known */
	uint32		n_lists;
	TqMetaPageData meta;		/* metapage contents once dims are known */
	const TqIndexCache *cache;	/* NULL until dims are known */
	MemoryContext buildctx;		/* lives for the whole build */
	MemoryContext tmpctx;		/* reset after every tuple */

	/* sampling */
	float	   *sample;
	uint32		sample_cap;
	uint64		sample_target;	/* rows the sample needs at most (TqSampleTarget) */
	uint32		n_sample;
	uint64		rows_seen;		/* rows the sampling pass saw */
	double		rows_estimate;	/* rows of the table (exact after a full pass) */
	pg_prng_state prng;

	/* assigning and encoding */
	float	   *batch_x;
	ItemPointerData *batch_tid;
	uint32	   *batch_list;
	const float **batch_ptrs;	/* EncodeBatch: the batch's vectors */
	uint8	   *batch_codes;	/* their codes, padded_dim bytes each */
	double	   *batch_norms;
	float	   *batch_factors;
	float	   *batch_scratch;
	uint32		batch_n;
	void	   *assign_scratch;
	Tuplesortstate *sort;
	TqSortItem *item;			/* one sort record being filled (after its header) */
	Size		item_size;		/* with header */
	uint64		indtuples;

	/* writing */
	char	   *pages;			/* P pages of the stripe being filled */
	uint32		stripe;			/* its number */
	uint32		fill;			/* vectors in it */
	uint32		cur_list;		/* its list */
	TqListEntry *dir;			/* n_lists entries */
	uint8	   *codes;
	uint8	   *group_codes;	/* codes of the group being filled (32 x padded_dim) */
	float	   *scratch;

	int			phase;			/* TQ_PHASE_*, 0 before the first */
	instr_time	phase_start;
} TqBuildState;

/*
 * The lists chosen for a table of `rows` rows when the user did not say:
 * flat below TQ_AUTO_LISTS_MIN_ROWS, then rows/250 up to 62,500 rows (250
 * lists), then 2 sqrt(rows) up to TQ_AUTO_LISTS_CAP lists, and sqrt(rows) once
 * that is more (from 1M rows).  Measured (docs/design.md, "Lists"): at 20K rows
 * lists of ~250 rows (80) beat both 20 and 141 lists, and 200 lists lost at
 * recall 0.99; on 100K x 768 synthetic rows 632 lists reached recall@10 0.99 at
 * 2.1x the QPS of sqrt(rows) = 316 lists (3,269 against 1,553), and 1,000 lists
 * at 1M rows reach 0.99 at 3-4 probes; at 60K real rows 240, 600 and 1,000
 * lists were within 10% at 0.95.  Past the cap training grows with lists
 * squared (1M rows: 1,000 lists train in about 4 s of a 17 s build).
 */
static uint32
TqAutoLists(uint64 rows)
{
	double		root;
	double		lists;

	if (rows < TQ_AUTO_LISTS_MIN_ROWS)
		return 1;
	root = floor(sqrt((double) rows) + 0.5);
	if (rows <= (uint64) TQ_AUTO_ROWS_PER_LIST * TQ_AUTO_ROWS_PER_LIST)
		lists = floor((double) rows / TQ_AUTO_ROWS_PER_LIST);
	else
		lists = Max(root, Min(2.0 * root, (double) TQ_AUTO_LISTS_CAP));
	return (uint32) Max(2.0, Min((double) TQ_MAX_LISTS, lists));
}

/*
 * Sets the dimension once known (and the lists decided): metapage contents,
 * cache, stripe buffer, scratch.  The centroid pages must already be written.
 */
static void
TqBuildSetDims(TqBuildState *st, uint32 dims)
{
	const TqIndexCache *cache;
	/* may run in the per-tuple context (dims from the first vector) */
	MemoryContext old = MemoryContextSwitchTo(st->buildctx);

	st->dims = dims;
	st->meta = TqMakeMeta(dims, st->bits, st->metric, st->seed, st->n_lists);
	/* a private copy: detoasting a row may rebuild the relcache entry */
	cache = TqCopyCache(TqGetCache(st->index, &st->meta), CurrentMemoryContext);
	st->cache = cache;
	st->pages = (char *) TqPallocAligned((size_t) cache->geo.pages * BLCKSZ, 64);
	st->codes = (uint8 *) palloc(turboquant::QuantizerLayout(cache->qz).padded_dim);
	st->group_codes = (uint8 *) palloc0((Size) turboquant::kBlockVectors *
										turboquant::QuantizerLayout(cache->qz).padded_dim);
	st->scratch = (float *) TqPallocAligned(sizeof(float) * turboquant::ScratchFloats(cache->qz), 64);
	st->batch_x = (float *) MemoryContextAllocHuge(CurrentMemoryContext,
												   sizeof(float) * (size_t) dims * TQ_ASSIGN_BATCH);
	st->batch_tid = (ItemPointerData *) palloc(sizeof(ItemPointerData) * TQ_ASSIGN_BATCH);
	st->batch_list = (uint32 *) palloc0(sizeof(uint32) * TQ_ASSIGN_BATCH);
	st->batch_ptrs = (const float **) palloc(sizeof(float *) * TQ_ASSIGN_BATCH);
	st->batch_codes = (uint8 *) MemoryContextAllocHuge(CurrentMemoryContext,
													   (size_t) TQ_ASSIGN_BATCH *
													   turboquant::QuantizerLayout(cache->qz).padded_dim);
	st->batch_norms = (double *) palloc(sizeof(double) * TQ_ASSIGN_BATCH);
	st->batch_factors = (float *) palloc(sizeof(float) * TQ_ASSIGN_BATCH);
	st->batch_scratch = (float *) TqPallocAligned(sizeof(float) *
												  turboquant::EncodeBatchScratchFloats(cache->qz), 64);
	if (st->n_lists > 1)
		st->assign_scratch = palloc(Max(turboquant::AssignScratchBytes(dims, st->n_lists), 8));
	st->item_size = VARHDRSZ + offsetof(TqSortItem, codes) +
		(turboquant::QuantizerLayout(cache->qz).padded_dim + 1) / 2;
	for (uint32 p = 0; p < cache->geo.pages; p++)
		TqInitDataPage(st->pages + (size_t) p * BLCKSZ, &cache->geo, st->stripe, p, 0);
	MemoryContextSwitchTo(old);
}

/* ---- writing ------------------------------------------------------------ */

/*
 * Packs the codes of the stripe's last group (its first `fill % 32` slots, or
 * all 32) into the stripe's pages, 32 slots at a time.
 */
static void
TqPackGroup(TqBuildState *st)
{
	const TqStripeGeometry *geo = &st->cache->geo;
	const turboquant::Layout &layout = turboquant::QuantizerLayout(st->cache->qz);
	uint32		group;
	uint32		n;

	if (st->fill == 0)
		return;
	group = (st->fill - 1) / turboquant::kBlockVectors;
	n = st->fill - group * turboquant::kBlockVectors;
	for (uint32 p = 0; p < geo->pages; p++)
	{
		Page		page = st->pages + (size_t) p * BLCKSZ;
		uint32		first = TqPageFirstChunk(geo, p);

		turboquant::PackBlock(layout, st->group_codes, n, first, first + TqPageChunkCount(geo, p),
							  TqPageGroupChunks(page, geo, p, group));
	}
}

/*
 * Appends the assembled stripe to the index and starts the next one;
 * `chained` says whether the next stripe continues the same list.
 */
static void
TqFlushStripe(TqBuildState *st, bool chained)
{
	const TqStripeGeometry *geo = &st->cache->geo;
	TqListEntry *e = &st->dir[st->cur_list];

	if (st->fill % turboquant::kBlockVectors != 0)
		TqPackGroup(st);		/* a full group was packed when it filled */
	TqPageGetOpaque(st->pages)->next = chained ? st->stripe + 1 : TQ_INVALID_STRIPE;
	for (uint32 p = 0; p < geo->pages; p++)
	{
		Buffer		buf = TqExtendTo(st->index, TqStripeBlock(geo, st->stripe, p));

		memcpy(BufferGetPage(buf), st->pages + (size_t) p * BLCKSZ, BLCKSZ);
		MarkBufferDirty(buf);
		UnlockReleaseBuffer(buf);
	}
	if (e->head == TQ_INVALID_STRIPE)
		e->head = st->stripe;
	e->tail = st->stripe;
	e->n_stripes++;
	st->stripe++;
	st->fill = 0;
	for (uint32 p = 0; p < geo->pages; p++)
		TqInitDataPage(st->pages + (size_t) p * BLCKSZ, geo, st->stripe, p, st->cur_list);
}

/*
 * Adds one encoded vector to the next slot of list `list`'s stripe: its
 * header now, its codes when the group of 32 is complete (TqPackGroup).
 */
static void
TqBuildAdd(TqBuildState *st, uint32 list, const uint8 *codes, double norm, float factor,
		   const ItemPointerData *tid)
{
	const TqStripeGeometry *geo = &st->cache->geo;
	uint32		group;
	uint32		slot;
	TqGroupHeader *gh;

	Assert(list < st->n_lists && list >= st->cur_list);
	if (list != st->cur_list)
	{
		if (st->fill > 0)
			TqFlushStripe(st, false);
		st->cur_list = list;
		for (uint32 p = 0; p < geo->pages; p++)
			TqPageGetOpaque(st->pages + (size_t) p * BLCKSZ)->list = list;
	}
	else if (st->fill == geo->groups * turboquant::kBlockVectors)
		TqFlushStripe(st, true);

	group = st->fill / turboquant::kBlockVectors;
	slot = st->fill % turboquant::kBlockVectors;
	memcpy(st->group_codes + (size_t) slot * turboquant::QuantizerLayout(st->cache->qz).padded_dim,
		   codes, turboquant::QuantizerLayout(st->cache->qz).padded_dim);
	gh = TqPageGroupHeader(st->pages, group);
	gh->used_mask |= (uint32) 1 << slot;
	gh->tids[slot] = *tid;
	gh->norms[slot] = norm;
	gh->factors[slot] = factor;
	st->fill++;
	st->dir[list].n_built++;
	if (slot == turboquant::kBlockVectors - 1)
		TqPackGroup(st);
}

/* Writes the centroid pages (blocks right after the metapage). */
static void
TqWriteCentroids(TqBuildState *st, const TqMetaPageData *meta, const float *centroids)
{
	uint64		total = (uint64) meta->n_lists * meta->dims;
	uint64		done = 0;

	for (uint32 p = 0; p < meta->n_centroid_pages; p++)
	{
		Buffer		buf = TqExtendTo(st->index, meta->centroid_blkno + p);
		uint64		n = Min((uint64) TQ_CENTROID_FLOATS_PER_PAGE, total - done);
		Page		page = BufferGetPage(buf);

		TqInitPlainPage(page, TQ_PAGE_CENTROIDS, n * sizeof(float));
		memcpy(PageGetContents(page), centroids + done, n * sizeof(float));
		MarkBufferDirty(buf);
		UnlockReleaseBuffer(buf);
		done += n;
	}
}

/* Writes (or, with extend, first appends) the directory pages from st->dir. */
static void
TqWriteDirectory(TqBuildState *st, const TqMetaPageData *meta, bool extend)
{
	for (uint32 p = 0; p < meta->n_dir_pages; p++)
	{
		BlockNumber blkno = meta->dir_blkno + p;
		Buffer		buf;
		uint32		first = p * TQ_LISTS_PER_DIR_PAGE;
		uint32		n = Min((uint32) TQ_LISTS_PER_DIR_PAGE, meta->n_lists - first);
		Page		page;

		if (extend)
			buf = TqExtendTo(st->index, blkno);
		else
		{
			buf = ReadBuffer(st->index, blkno);
			LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		}
		page = BufferGetPage(buf);
		TqInitPlainPage(page, TQ_PAGE_DIRECTORY, n * sizeof(TqListEntry));
		memcpy(PageGetContents(page), st->dir + first, n * sizeof(TqListEntry));
		MarkBufferDirty(buf);
		UnlockReleaseBuffer(buf);
	}
}

/* ---- assigning and encoding --------------------------------------------- */

/*
 * Assigns the batched vectors to lists and encodes them: into the tuplesort
 * when there are lists, straight into the stripe writer when flat.
 */
static void
TqProcessBatch(TqBuildState *st)
{
	const TqIndexCache *cache = st->cache;
	uint32		padded = turboquant::QuantizerLayout(cache->qz).padded_dim;

	if (st->batch_n == 0)
		return;
	if (st->n_lists > 1)
		turboquant::AssignNearest(cache->centroids, st->n_lists, st->dims, cache->mi->partition,
								  st->batch_x, st->batch_n, st->batch_list, NULL,
								  st->assign_scratch);
	/* the core's batched encoder: the same codes as Encode, several times faster */
	for (uint32 i = 0; i < st->batch_n; i++)
		st->batch_ptrs[i] = st->batch_x + (size_t) i * st->dims;
	turboquant::EncodeBatch(cache->qz, st->batch_ptrs, st->batch_n, st->batch_codes,
							st->batch_norms, st->batch_factors, st->batch_scratch);
	for (uint32 i = 0; i < st->batch_n; i++)
	{
		const uint8 *codes = st->batch_codes + (size_t) i * padded;
		double		norm = st->batch_norms[i];
		float		factor = st->batch_factors[i];

		if (st->sort == NULL)
		{
			TqBuildAdd(st, 0, codes, norm, factor, &st->batch_tid[i]);
			continue;
		}
		{
			TqSortItem *it = st->item;
			uint32		list = st->batch_list[i];
			BlockNumber blk = ItemPointerGetBlockNumberNoCheck(&st->batch_tid[i]);
			OffsetNumber off = ItemPointerGetOffsetNumberNoCheck(&st->batch_tid[i]);

			it->key[0] = list >> 24;
			it->key[1] = list >> 16;
			it->key[2] = list >> 8;
			it->key[3] = list;
			it->key[4] = blk >> 24;
			it->key[5] = blk >> 16;
			it->key[6] = blk >> 8;
			it->key[7] = blk;
			it->key[8] = off >> 8;
			it->key[9] = off;
			memcpy(it->norm, &norm, sizeof(double));
			it->factor = factor;
			for (uint32 d = 0; d < padded; d += 2)
				it->codes[d / 2] = codes[d] | (d + 1 < padded ? codes[d + 1] << 4 : 0);
			tuplesort_putdatum(st->sort, PointerGetDatum((char *) it - VARHDRSZ), false);
		}
	}
	st->batch_n = 0;
}

/* table_index_build_scan callback of the second pass: one heap tuple. */
static void
TqAssignCallback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
				 bool tupleIsAlive, void *state)
{
	TqBuildState *st = (TqBuildState *) state;
	MemoryContext old;
	const TqVector *vec;

	if (isnull[0])
		return;
	old = MemoryContextSwitchTo(st->tmpctx);
	vec = TqIndexDatumVector(index, values[0]);
	if (st->cache == NULL)
		TqBuildSetDims(st, vec->dim);
	TqCheckVectorDims(st->dims, vec->dim);
	memcpy(st->batch_x + (size_t) st->batch_n * st->dims, vec->x, sizeof(float) * st->dims);
	st->batch_tid[st->batch_n++] = *tid;
	if (st->batch_n == TQ_ASSIGN_BATCH)
		TqProcessBatch(st);
	MemoryContextSwitchTo(old);
	MemoryContextReset(st->tmpctx);
	st->indtuples++;
	if ((st->indtuples & 1023) == 0)
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, st->indtuples);
}

/* ---- sampling and training ---------------------------------------------- */

/*
 * Rows the sample needs at most.  With `lists` given: TQ_SAMPLES_PER_LIST per
 * list.  Chosen from the table size: the lists a table of twice the rows the
 * planner statistics (or, before any ANALYZE, the relation's size at the
 * column's declared width) suggest would get, so the sample does not grow
 * with maintenance_work_mem (at 1M rows of 768-d it used to copy the whole
 * table).  A table larger than the guess still builds: training then uses
 * fewer sample rows per list.
 */
static uint64
TqSampleTarget(TqBuildState *st, Relation heap)
{
	double		rows = heap->rd_rel->reltuples;

	if (st->lists_opt > 0)
		return (uint64) st->lists_opt * TQ_SAMPLES_PER_LIST;
	if (rows < 0)
	{
		int32		typmod = TupleDescAttr(RelationGetDescr(st->index), 0)->atttypmod;
		double		width = typmod > 0 ? 4.0 * typmod + 40.0 : 0.0;
		double		per_page = width > 0 ? Max(1.0, floor(BLCKSZ / width)) : MaxHeapTuplesPerPage;

		rows = (double) RelationGetNumberOfBlocks(heap) * per_page;
	}
	return (uint64) TqAutoLists((uint64) Min(2.0 * rows + 1.0, 1e15)) * TQ_SAMPLES_PER_LIST;
}

/*
 * table_index_build_scan callback of the sampling pass: reservoir sampling.
 * Whether a row enters the sample is drawn before its vector is read, so the
 * rows that do not (most of a large table) cost no detoasting or copying.
 */
static void
TqSampleCallback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
				 bool tupleIsAlive, void *state)
{
	TqBuildState *st = (TqBuildState *) state;
	MemoryContext old;
	const TqVector *vec;
	uint64		slot;

	if (isnull[0])
		return;
	/* Algorithm R: row i replaces a random slot with probability cap / (i + 1) */
	if (st->sample != NULL)
	{
		if (st->rows_seen < st->sample_cap)
			slot = st->rows_seen;
		else
			slot = pg_prng_uint64_range(&st->prng, 0, st->rows_seen);
		if (slot >= st->sample_cap)
		{
			st->rows_seen++;
			if ((st->rows_seen & 1023) == 0)
				pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, st->rows_seen);
			return;
		}
	}
	else
		slot = 0;
	old = MemoryContextSwitchTo(st->tmpctx);
	vec = TqIndexDatumVector(index, values[0]);
	if (st->dims == 0)
		st->dims = vec->dim;
	TqCheckVectorDims(st->dims, vec->dim);
	if (st->sample == NULL)
	{
		/* the sample may use all of maintenance_work_mem: nothing else is held now */
		uint64		cap = (uint64) maintenance_work_mem * 1024 / (sizeof(float) * st->dims);

		cap = Min(cap, st->sample_target);
		cap = Min(cap, (uint64) TQ_MAX_LISTS * TQ_SAMPLES_PER_LIST);
		st->sample_cap = (uint32) Max(cap, 1);
		st->sample = (float *) MemoryContextAllocHuge(st->buildctx, sizeof(float) * st->dims *
													  (size_t) st->sample_cap);
	}
	memcpy(st->sample + slot * st->dims, vec->x, sizeof(float) * st->dims);
	st->n_sample = Max(st->n_sample, (uint32) slot + 1);
	st->rows_seen++;
	MemoryContextSwitchTo(old);
	MemoryContextReset(st->tmpctx);
	if ((st->rows_seen & 1023) == 0)
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, st->rows_seen);
}

/*
 * The sampling pass.  A table with more blocks than the sample needs rows is
 * read block-sampled (Knuth's Algorithm S over the blocks, as ANALYZE does:
 * up to one block per sample row, every live row of a chosen block offered to
 * the reservoir), so a large table is not read twice; the rows are then
 * estimated from the rows per sampled block.  Smaller tables, and indexes on
 * an expression or with a WHERE clause (which need the executor to compute
 * what is indexed), take a full pass.  Deterministic from the seed.
 */
static void
TqSample(TqBuildState *st, Relation heap, IndexInfo *indexInfo)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(heap);
	AttrNumber	attnum = indexInfo->ii_IndexAttrNumbers[0];
	uint64		target = Min(st->sample_target, (uint64) TQ_MAX_LISTS * TQ_SAMPLES_PER_LIST);
	BlockSamplerData bs;
	BufferAccessStrategy strategy;
	TableScanDesc scan;
	TupleTableSlot *slot;
	TransactionId oldest_xmin;
	double		liverows = 0;
	double		deadrows = 0;
	BlockNumber sampled = 0;

	if (attnum == 0 || indexInfo->ii_Predicate != NIL || (uint64) nblocks <= target)
	{
		table_index_build_scan(heap, st->index, indexInfo, true, true, TqSampleCallback, st, NULL);
		st->rows_estimate = (double) st->rows_seen;
		return;
	}
	BlockSampler_Init(&bs, nblocks, (int) Min(target, (uint64) INT_MAX), (uint32) st->seed);
	strategy = GetAccessStrategy(BAS_BULKREAD);
	oldest_xmin = GetOldestNonRemovableTransactionId(heap);
	scan = table_beginscan_analyze(heap);
	slot = table_slot_create(heap, NULL);
	while (BlockSampler_HasMore(&bs))
	{
		BlockNumber blk = BlockSampler_Next(&bs);

		CHECK_FOR_INTERRUPTS();
		if (!table_scan_analyze_next_block(scan, blk, strategy))
			continue;
		sampled++;
		while (table_scan_analyze_next_tuple(scan, oldest_xmin, &liverows, &deadrows, slot))
		{
			bool		isnull;
			Datum		value = slot_getattr(slot, attnum, &isnull);

			TqSampleCallback(st->index, &slot->tts_tid, &value, &isnull, true, st);
		}
	}
	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	FreeAccessStrategy(strategy);
	/* live rows per sampled block, over the whole table (ANALYZE's estimate) */
	st->rows_estimate = sampled > 0 ? floor(liverows / sampled * nblocks + 0.5) : 0;
	elog(DEBUG1, "turboquant build of \"%s\": sampled %u of %u blocks, %.0f live rows, about %.0f rows",
		 RelationGetRelationName(st->index), sampled, nblocks, liverows, st->rows_estimate);
}

/* The sample rows training uses: reservoir slots are exchangeable, so any prefix is a uniform sample. */
static uint64
TqTrainRows(const TqBuildState *st)
{
	return Min((uint64) st->n_sample, (uint64) st->n_lists * TQ_SAMPLES_PER_LIST);
}

/* Trains the centroids from the sample; returns them (n_lists x dims). */
static float *
TqTrain(TqBuildState *st)
{
	size_t		n = TqTrainRows(st);
	size_t		scratch_bytes = turboquant::KMeansScratchBytes(n, st->dims, st->n_lists);
	float	   *centroids;
	void	   *scratch;

	if (scratch_bytes == 0)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						errmsg("turboquant: k-means of %zu vectors into %u lists is too large",
							   n, st->n_lists)));
	centroids = (float *) MemoryContextAllocHuge(st->buildctx,
												 sizeof(float) * (size_t) st->n_lists * st->dims);
	scratch = MemoryContextAllocHuge(st->buildctx, scratch_bytes);
	if (!turboquant::KMeansTrain(st->sample, n, st->dims, st->n_lists,
								 TqGetMetricInfo(st->metric)->partition, st->seed,
								 TQ_KMEANS_ITERATIONS, centroids, scratch))
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY),
						errmsg("turboquant: k-means training of %u lists failed", st->n_lists)));
	pfree(scratch);
	return centroids;
}

static void TqBuildInit(TqBuildState *st, Relation index);

/* Starts the sort of encoded vectors (a participant's, or the leader's merge). */
static void
TqBuildBeginSort(TqBuildState *st, int sortmem, SortCoordinate coordinate)
{
	st->sort = tuplesort_begin_datum(BYTEAOID, ByteaLessOperator, InvalidOid, false, sortmem,
									 coordinate, TUPLESORT_NONE);
	st->item = (TqSortItem *) ((char *) palloc0(st->item_size) + VARHDRSZ);
	SET_VARSIZE((char *) st->item - VARHDRSZ, st->item_size);
}

/* ---- parallel assigning and encoding ------------------------------------ */

/*
 * With max_parallel_maintenance_workers, the second pass (assigning and
 * encoding: the matrix products and the encoding, the build's heaviest part)
 * runs in parallel, as nbtsort does for btree: workers and the leader each
 * scan blocks of the table (a parallel table scan), assign and encode what
 * they read, and sort it into their own run of a shared tuplesort; the leader
 * then merges the runs and writes the stripes alone.  The sort key (list,
 * heap TID) makes the result independent of who read what: a parallel build
 * writes the same pages as a serial one.  Workers read the centroids from
 * their pages (already in shared buffers) and everything else from the
 * shared state, never from the metapage, which is written last.
 */
#define TQ_PARALLEL_KEY_SHARED		UINT64CONST(0xA7D0000000000001)
#define TQ_PARALLEL_KEY_TUPLESORT	UINT64CONST(0xA7D0000000000002)
#define TQ_PARALLEL_KEY_QUERY_TEXT	UINT64CONST(0xA7D0000000000003)
#define TQ_PARALLEL_KEY_WAL_USAGE	UINT64CONST(0xA7D0000000000004)
#define TQ_PARALLEL_KEY_BUFFER_USAGE UINT64CONST(0xA7D0000000000005)
#define TQ_PARALLEL_KEY_TRAIN		UINT64CONST(0xA7D0000000000006)

typedef struct TqParallelShared
{
	Oid			heaprelid;
	Oid			indexrelid;
	bool		isconcurrent;
	int			scantuplesortstates;
	TqMetaPageData meta;		/* the block map and quantizer of the index being built */
	ConditionVariable workersdonecv;
	slock_t		mutex;
	int			nparticipantsdone;
	double		reltuples;
	uint64		indtuples;

	/*
	 * Parallel training (train_n > 0): for each Lloyd round the leader
	 * publishes the centroids and bumps train_round; every participant claims
	 * blocks of sample rows (train_align rows each, aligned as the core
	 * requires) and assigns them; the leader finishes the round once all
	 * blocks are done.  train_over: centroids written, go on to assigning.
	 */
	uint64		train_n;
	uint64		train_align;
	uint64		train_blocks;
	turboquant::KMeansState train_state;	/* dims, k, metric and build, for KMeansAssignRows */
	int			train_round;
	bool		train_over;
	uint64		train_next;		/* next block to claim in train_round */
	uint64		train_done;		/* blocks finished in train_round */
	ConditionVariable traincv;	/* participants wait for a round or the end */
	ConditionVariable rounddonecv;	/* the leader waits for a round's blocks */
	/* a ParallelTableScanDescData follows, BUFFERALIGNed */
} TqParallelShared;

/* The training area (TQ_PARALLEL_KEY_TRAIN): sample, centroids, labels, distances. */
typedef struct TqTrainArea
{
	float	   *sample;			/* train_n x dims */
	float	   *centroids;		/* k x dims */
	uint32	   *labels;			/* train_n */
	float	   *dist;			/* train_n */
} TqTrainArea;

#define TqParallelTableScan(shared) \
	((ParallelTableScanDesc) ((char *) (shared) + BUFFERALIGN(sizeof(TqParallelShared))))

/* What the leader keeps between starting the workers and the end of the build. */
typedef struct TqParallelLeader
{
	ParallelContext *pcxt;
	Snapshot	snapshot;
	WalUsage   *walusage;
	BufferUsage *bufferusage;
	TqParallelShared *shared;
	Sharedsort *sharedsort;
} TqParallelLeader;

/* Bytes of the training area for n sample rows, k lists. */
static Size
TqTrainAreaSize(uint64 n, uint32 k, uint32 dims)
{
	Size		sz = MAXALIGN(mul_size(mul_size(n, dims), sizeof(float)));

	sz = add_size(sz, MAXALIGN(mul_size(mul_size(k, dims), sizeof(float))));
	sz = add_size(sz, MAXALIGN(mul_size(n, sizeof(uint32))));
	return add_size(sz, MAXALIGN(mul_size(n, sizeof(float))));
}

static TqTrainArea
TqTrainAreaAt(char *base, uint64 n, uint32 k, uint32 dims)
{
	TqTrainArea a;

	a.sample = (float *) base;
	base += MAXALIGN(n * dims * sizeof(float));
	a.centroids = (float *) base;
	base += MAXALIGN((Size) k * dims * sizeof(float));
	a.labels = (uint32 *) base;
	base += MAXALIGN(n * sizeof(uint32));
	a.dist = (float *) base;
	return a;
}

/*
 * Claims and assigns blocks of sample rows for training round `round` until
 * none is left (or the round is over); signals the leader after the last.
 */
static void
TqTrainAssignBlocks(TqParallelShared *shared, const TqTrainArea *area, int round, void *ascratch)
{
	for (;;)
	{
		uint64		b;
		uint64		begin;
		uint64		end;
		bool		last;

		SpinLockAcquire(&shared->mutex);
		if (shared->train_round != round || shared->train_next >= shared->train_blocks)
		{
			SpinLockRelease(&shared->mutex);
			return;
		}
		b = shared->train_next++;
		SpinLockRelease(&shared->mutex);

		begin = b * shared->train_align;
		end = Min(shared->train_n, begin + shared->train_align);
		if (!turboquant::KMeansAssignRows(area->centroids, area->sample, begin, end, area->labels,
										  area->dist, ascratch, &shared->train_state))
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY),
							errmsg("turboquant: k-means assignment failed")));

		SpinLockAcquire(&shared->mutex);
		last = ++shared->train_done == shared->train_blocks;
		SpinLockRelease(&shared->mutex);
		if (last)
			ConditionVariableSignal(&shared->rounddonecv);
		CHECK_FOR_INTERRUPTS();
	}
}

/* A worker's part of the training: every round's blocks until training is over. */
static void
TqTrainWorker(TqParallelShared *shared, const TqTrainArea *area)
{
	void	   *ascratch = NULL;
	int			seen = 0;

	for (;;)
	{
		int			round;
		bool		over;

		SpinLockAcquire(&shared->mutex);
		round = shared->train_round;
		over = shared->train_over;
		SpinLockRelease(&shared->mutex);
		if (over)
			break;
		if (round == seen)
		{
			ConditionVariableSleep(&shared->traincv, WAIT_EVENT_PARALLEL_CREATE_INDEX_SCAN);
			continue;
		}
		seen = round;
		if (ascratch == NULL)
			ascratch = palloc(turboquant::AssignScratchBytes(shared->train_state.dim,
															 shared->train_state.k));
		TqTrainAssignBlocks(shared, area, round, ascratch);
	}
	ConditionVariableCancelSleep();
	if (ascratch != NULL)
		pfree(ascratch);
}

/*
 * One participant's share: scan its blocks, assign, encode, sort its run.
 * `progress` only for the leader (pg_stat_progress_create_index is its own).
 */
static void
TqParallelScanAndSort(TqParallelShared *shared, Sharedsort *sharedsort, Relation heap,
					  Relation index, int sortmem, bool progress)
{
	TqBuildState st;
	SortCoordinate coordinate = (SortCoordinate) palloc0(sizeof(SortCoordinateData));
	IndexInfo  *indexInfo = BuildIndexInfo(index);
	TableScanDesc scan;
	double		reltuples;

	TqBuildInit(&st, index);
	st.n_lists = shared->meta.n_lists;
	TqBuildSetDims(&st, shared->meta.dims);
	coordinate->isWorker = true;
	coordinate->nParticipants = -1;
	coordinate->sharedsort = sharedsort;
	TqBuildBeginSort(&st, sortmem, coordinate);
	indexInfo->ii_Concurrent = shared->isconcurrent;
	scan = table_beginscan_parallel(heap, TqParallelTableScan(shared));
	reltuples = table_index_build_scan(heap, index, indexInfo, true, progress,
									   TqAssignCallback, &st, scan);
	TqProcessBatch(&st);
	tuplesort_performsort(st.sort);

	SpinLockAcquire(&shared->mutex);
	shared->nparticipantsdone++;
	shared->reltuples += reltuples;
	shared->indtuples += st.indtuples;
	SpinLockRelease(&shared->mutex);
	ConditionVariableSignal(&shared->workersdonecv);
	tuplesort_end(st.sort);
	MemoryContextDelete(st.tmpctx);
}

/* Entry point of a parallel build worker (looked up by name: exported). */
extern "C" PGDLLEXPORT void
tq_parallel_build_main(dsm_segment *seg, shm_toc *toc)
{
	TqParallelShared *shared = (TqParallelShared *) shm_toc_lookup(toc, TQ_PARALLEL_KEY_SHARED, false);
	Sharedsort *sharedsort = (Sharedsort *) shm_toc_lookup(toc, TQ_PARALLEL_KEY_TUPLESORT, false);
	char	   *query = (char *) shm_toc_lookup(toc, TQ_PARALLEL_KEY_QUERY_TEXT, true);
	LOCKMODE	heaplock = shared->isconcurrent ? ShareUpdateExclusiveLock : ShareLock;
	LOCKMODE	indexlock = shared->isconcurrent ? RowExclusiveLock : AccessExclusiveLock;
	Relation	heap;
	Relation	index;
	WalUsage   *walusage;
	BufferUsage *bufferusage;

	debug_query_string = query;
	pgstat_report_activity(STATE_RUNNING, debug_query_string);
	heap = table_open(shared->heaprelid, heaplock);
	index = index_open(shared->indexrelid, indexlock);
	tuplesort_attach_shared(sharedsort, seg);
	InstrStartParallelQuery();
	if (shared->train_n > 0)
	{
		char	   *base = (char *) shm_toc_lookup(toc, TQ_PARALLEL_KEY_TRAIN, false);
		TqTrainArea area = TqTrainAreaAt(base, shared->train_n, shared->meta.n_lists,
										 shared->meta.dims);

		TqTrainWorker(shared, &area);
	}
	TqParallelScanAndSort(shared, sharedsort, heap, index,
						  maintenance_work_mem / shared->scantuplesortstates, false);
	walusage = (WalUsage *) shm_toc_lookup(toc, TQ_PARALLEL_KEY_WAL_USAGE, false);
	bufferusage = (BufferUsage *) shm_toc_lookup(toc, TQ_PARALLEL_KEY_BUFFER_USAGE, false);
	InstrEndParallelQuery(&bufferusage[ParallelWorkerNumber], &walusage[ParallelWorkerNumber]);
	index_close(index, indexlock);
	table_close(heap, heaplock);
}

/*
 * Starts the parallel workers of a partitioned build when the planner grants
 * any: they first help with the training rounds (the sample's first train_n
 * rows go to shared memory), then scan, assign and encode.  Returns NULL when
 * the build must run serially (no workers, no shared memory).
 */
static ParallelContext *
TqParallelLaunch(TqBuildState *st, Relation heap, Relation index, IndexInfo *indexInfo,
				 uint64 train_n)
{
	int			request = plan_create_index_workers(RelationGetRelid(heap), RelationGetRelid(index));
	ParallelContext *pcxt;
	Snapshot	snapshot;
	Size		estshared;
	Size		estsort;
	Size		esttrain = 0;
	TqParallelShared *shared;
	Sharedsort *sharedsort;
	int			scantuplesortstates;
	TqParallelLeader *leader;
	int			querylen = 0;

	if (request <= 0)
		return NULL;
	EnterParallelMode();
	pcxt = CreateParallelContext("turboquant", "tq_parallel_build_main", request);
	scantuplesortstates = request + 1;	/* the leader participates */
	snapshot = indexInfo->ii_Concurrent ? RegisterSnapshot(GetTransactionSnapshot()) : SnapshotAny;

	estshared = add_size(BUFFERALIGN(sizeof(TqParallelShared)),
						 table_parallelscan_estimate(heap, snapshot));
	shm_toc_estimate_chunk(&pcxt->estimator, estshared);
	estsort = tuplesort_estimate_shared(scantuplesortstates);
	shm_toc_estimate_chunk(&pcxt->estimator, estsort);
	shm_toc_estimate_chunk(&pcxt->estimator, mul_size(sizeof(WalUsage), pcxt->nworkers));
	shm_toc_estimate_chunk(&pcxt->estimator, mul_size(sizeof(BufferUsage), pcxt->nworkers));
	shm_toc_estimate_keys(&pcxt->estimator, 4);
	if (train_n > 0)
	{
		esttrain = TqTrainAreaSize(train_n, st->n_lists, st->dims);
		shm_toc_estimate_chunk(&pcxt->estimator, esttrain);
		shm_toc_estimate_keys(&pcxt->estimator, 1);
	}
	if (debug_query_string)
	{
		querylen = strlen(debug_query_string);
		shm_toc_estimate_chunk(&pcxt->estimator, querylen + 1);
		shm_toc_estimate_keys(&pcxt->estimator, 1);
	}
	InitializeParallelDSM(pcxt);
	if (pcxt->seg == NULL)
	{
		if (IsMVCCSnapshot(snapshot))
			UnregisterSnapshot(snapshot);
		DestroyParallelContext(pcxt);
		ExitParallelMode();
		return NULL;
	}

	shared = (TqParallelShared *) shm_toc_allocate(pcxt->toc, estshared);
	memset(shared, 0, sizeof(TqParallelShared));
	shared->heaprelid = RelationGetRelid(heap);
	shared->indexrelid = RelationGetRelid(index);
	shared->isconcurrent = indexInfo->ii_Concurrent;
	shared->scantuplesortstates = scantuplesortstates;
	shared->meta = st->meta;
	ConditionVariableInit(&shared->workersdonecv);
	ConditionVariableInit(&shared->traincv);
	ConditionVariableInit(&shared->rounddonecv);
	SpinLockInit(&shared->mutex);
	table_parallelscan_initialize(heap, TqParallelTableScan(shared), snapshot);
	sharedsort = (Sharedsort *) shm_toc_allocate(pcxt->toc, estsort);
	tuplesort_initialize_shared(sharedsort, scantuplesortstates, pcxt->seg);
	shm_toc_insert(pcxt->toc, TQ_PARALLEL_KEY_SHARED, shared);
	shm_toc_insert(pcxt->toc, TQ_PARALLEL_KEY_TUPLESORT, sharedsort);
	if (train_n > 0)
	{
		char	   *base = (char *) shm_toc_allocate(pcxt->toc, esttrain);
		TqTrainArea area = TqTrainAreaAt(base, train_n, st->n_lists, st->dims);

		/* the training rows move to shared memory; the local sample is freed */
		memcpy(area.sample, st->sample, sizeof(float) * st->dims * train_n);
		pfree(st->sample);
		st->sample = NULL;
		shared->train_n = train_n;
		shm_toc_insert(pcxt->toc, TQ_PARALLEL_KEY_TRAIN, base);
	}
	else
		shared->train_over = true;
	if (debug_query_string)
	{
		char	   *query = (char *) shm_toc_allocate(pcxt->toc, querylen + 1);

		memcpy(query, debug_query_string, querylen + 1);
		shm_toc_insert(pcxt->toc, TQ_PARALLEL_KEY_QUERY_TEXT, query);
	}
	leader = (TqParallelLeader *) palloc0(sizeof(TqParallelLeader));
	leader->walusage = (WalUsage *) shm_toc_allocate(pcxt->toc,
													 mul_size(sizeof(WalUsage), pcxt->nworkers));
	shm_toc_insert(pcxt->toc, TQ_PARALLEL_KEY_WAL_USAGE, leader->walusage);
	leader->bufferusage = (BufferUsage *) shm_toc_allocate(pcxt->toc,
														   mul_size(sizeof(BufferUsage), pcxt->nworkers));
	shm_toc_insert(pcxt->toc, TQ_PARALLEL_KEY_BUFFER_USAGE, leader->bufferusage);
	leader->pcxt = pcxt;
	leader->snapshot = snapshot;
	leader->shared = shared;
	leader->sharedsort = sharedsort;
	pcxt->private_memory = leader;

	LaunchParallelWorkers(pcxt);
	WaitForParallelWorkersToAttach(pcxt);
	elog(DEBUG1, "turboquant build of \"%s\": %d parallel workers",
		 RelationGetRelationName(index), pcxt->nworkers_launched);
	return pcxt;
}

/*
 * The training with the workers' help: the same rounds, and exactly the same
 * centroids, as KMeansTrain (the core's round-by-round API with aligned
 * blocks).  Returns the centroids (n_lists x dims).
 */
static float *
TqParallelTrain(TqBuildState *st, ParallelContext *pcxt)
{
	TqParallelLeader *leader = (TqParallelLeader *) pcxt->private_memory;
	TqParallelShared *shared = leader->shared;
	TqTrainArea area = TqTrainAreaAt((char *) shm_toc_lookup(pcxt->toc, TQ_PARALLEL_KEY_TRAIN, false),
									 shared->train_n, st->n_lists, st->dims);
	size_t		n = shared->train_n;
	size_t		scratch_bytes = turboquant::KMeansScratchBytes(n, st->dims, st->n_lists);
	void	   *scratch;
	void	   *ascratch;
	float	   *centroids;
	turboquant::KMeansState ks;
	uint64		align = turboquant::KMeansAssignAlign(st->dims, st->n_lists);

	if (scratch_bytes == 0)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						errmsg("turboquant: k-means of %zu vectors into %u lists is too large",
							   n, st->n_lists)));
	scratch = MemoryContextAllocHuge(st->buildctx, scratch_bytes);
	ascratch = palloc(turboquant::AssignScratchBytes(st->dims, st->n_lists));
	if (!turboquant::KMeansStart(area.sample, n, st->dims, st->n_lists,
								 TqGetMetricInfo(st->metric)->partition, st->seed,
								 TQ_KMEANS_ITERATIONS, turboquant::kKMeansDefaultInit,
								 area.centroids, scratch, &ks))
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY),
						errmsg("turboquant: k-means training of %u lists failed", st->n_lists)));
	/* blocks of several alignment units: fewer claims, the same products */
	align *= Max((uint64) 1, (uint64) 1024 / align);
	SpinLockAcquire(&shared->mutex);
	shared->train_state = ks;
	shared->train_align = align;
	shared->train_blocks = (n + align - 1) / align;
	SpinLockRelease(&shared->mutex);

	while (!ks.done)
	{
		int			round;

		/* publish the round (the centroids are already in place) */
		SpinLockAcquire(&shared->mutex);
		shared->train_next = 0;
		shared->train_done = 0;
		round = ++shared->train_round;
		SpinLockRelease(&shared->mutex);
		ConditionVariableBroadcast(&shared->traincv);

		TqTrainAssignBlocks(shared, &area, round, ascratch);
		for (;;)
		{
			bool		done;

			SpinLockAcquire(&shared->mutex);
			done = shared->train_done == shared->train_blocks;
			SpinLockRelease(&shared->mutex);
			if (done)
				break;
			ConditionVariableSleep(&shared->rounddonecv, WAIT_EVENT_PARALLEL_CREATE_INDEX_SCAN);
		}
		ConditionVariableCancelSleep();
		if (!turboquant::KMeansFinishRound(area.sample, area.centroids, scratch, area.labels,
										   area.dist, &ks))
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY),
							errmsg("turboquant: k-means training of %u lists failed", st->n_lists)));
	}
	centroids = (float *) MemoryContextAllocHuge(st->buildctx,
												 sizeof(float) * (size_t) st->n_lists * st->dims);
	memcpy(centroids, area.centroids, sizeof(float) * (size_t) st->n_lists * st->dims);
	pfree(ascratch);
	pfree(scratch);
	return centroids;
}

/*
 * The assigning and encoding pass with the workers (the centroid pages are
 * written): the leader's share, then the merge of every participant's run
 * into st->sort, ready for performsort.
 */
static void
TqParallelAssign(TqBuildState *st, ParallelContext *pcxt, Relation heap, Relation index,
				 double *reltuples)
{
	TqParallelLeader *leader = (TqParallelLeader *) pcxt->private_memory;
	TqParallelShared *shared = leader->shared;
	int			nparticipants = pcxt->nworkers_launched + 1;
	SortCoordinate coordinate;

	SpinLockAcquire(&shared->mutex);
	shared->train_over = true;
	SpinLockRelease(&shared->mutex);
	ConditionVariableBroadcast(&shared->traincv);

	/* the leader's share, then wait for the workers' */
	TqParallelScanAndSort(shared, leader->sharedsort, heap, index,
						  maintenance_work_mem / shared->scantuplesortstates, true);
	for (;;)
	{
		SpinLockAcquire(&shared->mutex);
		if (shared->nparticipantsdone == nparticipants)
		{
			SpinLockRelease(&shared->mutex);
			break;
		}
		SpinLockRelease(&shared->mutex);
		ConditionVariableSleep(&shared->workersdonecv, WAIT_EVENT_PARALLEL_CREATE_INDEX_SCAN);
	}
	ConditionVariableCancelSleep();
	*reltuples = shared->reltuples;
	st->indtuples = shared->indtuples;

	/* the leader's merge of every participant's run */
	coordinate = (SortCoordinate) palloc0(sizeof(SortCoordinateData));
	coordinate->isWorker = false;
	coordinate->nParticipants = nparticipants;
	coordinate->sharedsort = leader->sharedsort;
	TqBuildBeginSort(st, maintenance_work_mem, coordinate);
}

/* Ends the parallel part once the leader has read the merged sort. */
static void
TqParallelEnd(ParallelContext *pcxt)
{
	TqParallelLeader *leader = (TqParallelLeader *) pcxt->private_memory;

	WaitForParallelWorkersToFinish(pcxt);
	for (int i = 0; i < pcxt->nworkers_launched; i++)
		InstrAccumParallelQuery(&leader->bufferusage[i], &leader->walusage[i]);
	if (IsMVCCSnapshot(leader->snapshot))
		UnregisterSnapshot(leader->snapshot);
	pcxt->private_memory = NULL;
	DestroyParallelContext(pcxt);
	ExitParallelMode();
}

/* ---- the build ---------------------------------------------------------- */

/*
 * Enters a build phase: reported in pg_stat_progress_create_index, and the
 * time the previous one took at DEBUG1 (how long each phase takes is what
 * tuning lists and maintenance_work_mem needs).
 */
static void
TqBuildPhase(TqBuildState *st, int phase)
{
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	if (st->phase != 0)
	{
		instr_time	spent = now;

		INSTR_TIME_SUBTRACT(spent, st->phase_start);
		elog(DEBUG1, "turboquant build of \"%s\": phase %d took %.3f s",
			 RelationGetRelationName(st->index), st->phase, INSTR_TIME_GET_DOUBLE(spent));
	}
	st->phase = phase;
	st->phase_start = now;
	if (phase > 0)
		pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, phase);
}

/* Writes the final metapage into block 0. */
static void
TqWriteMeta(TqBuildState *st)
{
	Buffer		buf = ReadBuffer(st->index, TQ_METAPAGE_BLKNO);
	TqMetaPageData meta = st->cache ? st->meta :
		TqMakeMeta(0, st->bits, st->metric, st->seed, st->n_lists);

	meta.n_stripes = st->stripe;
	meta.n_inserted = st->indtuples;
	meta.n_built = st->indtuples;
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
	st->lists_opt = TqIndexLists(index);
	st->dims = TqIndexTypmodDims(index);
	st->n_lists = 1;
	st->buildctx = CurrentMemoryContext;
	st->tmpctx = AllocSetContextCreate(CurrentMemoryContext, "turboquant build tuple",
									   ALLOCSET_DEFAULT_SIZES);
	pg_prng_seed(&st->prng, st->seed);
	/* a stale cache from a previous incarnation (REINDEX) must not be used */
	if (index->rd_amcache)
	{
		pfree(index->rd_amcache);
		index->rd_amcache = NULL;
	}
}

/* Decides the number of lists from the option and what sampling saw. */
static void
TqChooseLists(TqBuildState *st)
{
	uint32		want = st->lists_opt > 0 ? (uint32) st->lists_opt :
		TqAutoLists((uint64) Max(st->rows_estimate, 0.0));

	/* more lists than sampled vectors would leave lists empty by construction */
	st->n_lists = Max(1, Min(want, st->n_sample));
	if (st->lists_opt > 0 && st->n_lists < want)
		ereport(NOTICE,
				(errmsg("turboquant index \"%s\" has %u lists instead of %u: the table has too few rows",
						RelationGetRelationName(st->index), st->n_lists, want),
				 errhint("REINDEX after loading the data.")));
}

/* ambuild: builds the index from the table's current contents. */
IndexBuildResult *
tqbuild(Relation heap, Relation index, IndexInfo *indexInfo)
{
	TqBuildState st;
	IndexBuildResult *result;
	double		reltuples;
	Buffer		metabuf;
	TqMetaPageData map;
	ParallelContext *pcxt = NULL;

	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));
	TqBuildInit(&st, index);

	/* block 0 is the metapage; written for real at the end */
	metabuf = TqExtendTo(index, TQ_METAPAGE_BLKNO);
	PageInit(BufferGetPage(metabuf), BLCKSZ, sizeof(TqPageOpaqueData));
	MarkBufferDirty(metabuf);
	UnlockReleaseBuffer(metabuf);

	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL,
								 (int64) Max(heap->rd_rel->reltuples, 0));
	if (st.lists_opt != 0)
	{
		TqBuildPhase(&st, TQ_PHASE_SAMPLE);
		st.sample_target = TqSampleTarget(&st, heap);
		TqSample(&st, heap, indexInfo);
		TqChooseLists(&st);
	}

	/* the block map: centroids, directory, then stripes */
	map = TqMakeMeta(st.n_lists > 1 ? st.dims : 0, st.bits, st.metric, st.seed, st.n_lists);
	if (st.n_lists > 1)
	{
		float	   *centroids;

		/* the workers join the training rounds, then the assigning pass */
		st.meta = map;			/* what TqBuildSetDims sets later; the workers need it now */
		pcxt = TqParallelLaunch(&st, heap, index, indexInfo, TqTrainRows(&st));
		TqBuildPhase(&st, TQ_PHASE_TRAIN);
		centroids = pcxt != NULL ? TqParallelTrain(&st, pcxt) : TqTrain(&st);
		if (st.sample)
		{
			pfree(st.sample);
			st.sample = NULL;
		}
		TqWriteCentroids(&st, &map, centroids);
		pfree(centroids);
	}
	st.dir = (TqListEntry *) MemoryContextAllocHuge(st.buildctx, sizeof(TqListEntry) * st.n_lists);
	for (uint32 l = 0; l < st.n_lists; l++)
	{
		memset(&st.dir[l], 0, sizeof(TqListEntry));
		st.dir[l].head = st.dir[l].tail = st.dir[l].free_hint = TQ_INVALID_STRIPE;
	}
	TqWriteDirectory(&st, &map, true);	/* placeholder, rewritten at the end */
	if (st.sample)
	{
		pfree(st.sample);
		st.sample = NULL;
	}

	if (st.dims > 0)
		TqBuildSetDims(&st, st.dims);
	TqBuildPhase(&st, TQ_PHASE_ASSIGN);
	if (pcxt != NULL)
		TqParallelAssign(&st, pcxt, heap, index, &reltuples);
	else
	{
		if (st.n_lists > 1)
			TqBuildBeginSort(&st, maintenance_work_mem, NULL);
		reltuples = table_index_build_scan(heap, index, indexInfo, true, true,
										   TqAssignCallback, &st, NULL);
		if (st.cache != NULL)
			TqProcessBatch(&st);
	}
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, st.indtuples);

	if (st.sort != NULL)
	{
		uint32		padded = turboquant::QuantizerLayout(st.cache->qz).padded_dim;
		Datum		d;
		bool		isnull;
		uint64		written = 0;

		TqBuildPhase(&st, TQ_PHASE_WRITE);
		tuplesort_performsort(st.sort);
		while (tuplesort_getdatum(st.sort, true, &d, &isnull, NULL))
		{
			const TqSortItem *it = (const TqSortItem *) VARDATA_ANY(DatumGetPointer(d));
			uint32		list = ((uint32) it->key[0] << 24) | ((uint32) it->key[1] << 16) |
				((uint32) it->key[2] << 8) | it->key[3];
			ItemPointerData tid;
			double		norm;

			memcpy(&norm, it->norm, sizeof(double));
			ItemPointerSet(&tid,
						   ((BlockNumber) it->key[4] << 24) | ((BlockNumber) it->key[5] << 16) |
						   ((BlockNumber) it->key[6] << 8) | it->key[7],
						   (OffsetNumber) (((uint32) it->key[8] << 8) | it->key[9]));
			for (uint32 i = 0; i < padded; i += 2)
			{
				st.codes[i] = it->codes[i / 2] & 0x0F;
				if (i + 1 < padded)
					st.codes[i + 1] = it->codes[i / 2] >> 4;
			}
			TqBuildAdd(&st, list, st.codes, norm, it->factor, &tid);
			pfree(DatumGetPointer(d));
			if ((++written & 1023) == 0)
				CHECK_FOR_INTERRUPTS();
		}
		tuplesort_end(st.sort);
	}
	if (pcxt != NULL)
		TqParallelEnd(pcxt);
	if (st.cache != NULL && st.fill > 0)
		TqFlushStripe(&st, false);
	TqWriteDirectory(&st, &map, false);
	TqWriteMeta(&st);

	if (RelationNeedsWAL(index))
	{
		TqBuildPhase(&st, TQ_PHASE_WAL);
		log_newpage_range(index, MAIN_FORKNUM, 0, RelationGetNumberOfBlocks(index), true);
	}
	TqBuildPhase(&st, -1);
	MemoryContextDelete(st.tmpctx);

	result = (IndexBuildResult *) palloc(sizeof(IndexBuildResult));
	result->heap_tuples = reltuples;
	result->index_tuples = (double) st.indtuples;
	return result;
}

/*
 * ambuildempty: the init fork of an unlogged index: a metapage and an empty
 * one-list directory (an unlogged index starts empty: nothing to train on).
 */
void
tqbuildempty(Relation index)
{
	TqMetaPageData meta = TqMakeMeta(TqIndexTypmodDims(index), TqIndexBits(index),
									 TqIndexMetric(index), TqIndexSeed(index), 1);
	TqListEntry entry;
	Buffer		buf;
	Page		page;

	buf = ReadBufferExtended(index, INIT_FORKNUM, P_NEW, RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	START_CRIT_SECTION();
	TqInitMetaPage(BufferGetPage(buf), &meta);
	MarkBufferDirty(buf);
	log_newpage_buffer(buf, true);
	END_CRIT_SECTION();
	UnlockReleaseBuffer(buf);

	memset(&entry, 0, sizeof(entry));
	entry.head = entry.tail = entry.free_hint = TQ_INVALID_STRIPE;
	buf = ReadBufferExtended(index, INIT_FORKNUM, P_NEW, RBM_NORMAL, NULL);
	if (BufferGetBlockNumber(buf) != meta.dir_blkno)
		elog(ERROR, "turboquant: init fork directory at block %u, expected %u",
			 BufferGetBlockNumber(buf), meta.dir_blkno);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	START_CRIT_SECTION();
	page = BufferGetPage(buf);
	TqInitPlainPage(page, TQ_PAGE_DIRECTORY, sizeof(TqListEntry));
	memcpy(PageGetContents(page), &entry, sizeof(entry));
	MarkBufferDirty(buf);
	log_newpage_buffer(buf, true);
	END_CRIT_SECTION();
	UnlockReleaseBuffer(buf);
}
