/*
 * tqutils.cpp — page layout arithmetic, metapage access and the per-backend
 * index cache shared by build, insert, scan and vacuum.
 *
 * The stripe geometry (see tqindex.h) is a pure function of the code layout
 * and G; G is chosen once at build and stored in the metapage, so a change of
 * the chooser never changes where an existing index keeps its codes.
 */
#include "tqindex.h"
#include "tqvector.h"

extern "C" {
#include "access/genam.h"
#include "access/relation.h"
#include "pgstat.h"
#include "storage/buf_internals.h"
#include "storage/bufpage.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"
}

using turboquant::Layout;
using turboquant::Metric;

/* Offset of the first code chunk on page `page` of a stripe. */
uint32
TqPageDataStart(const TqStripeGeometry *geo, uint32 page)
{
	uint32		start = MAXALIGN(SizeOfPageHeaderData);

	if (page == 0)
		start += geo->groups * TQ_GROUP_HEADER_SIZE;
	return TYPEALIGN(TQ_CHUNK_ALIGN, start);
}

/* Fills geo for G = groups; geo->pages = 0 when G groups cannot fit. */
void
TqGeometryCompute(const Layout *layout, uint32 groups, TqStripeGeometry *geo)
{
	uint32		slice;
	uint32		first_cap;
	uint32		cap;

	memset(geo, 0, sizeof(*geo));
	geo->base = 1;
	geo->groups = groups;
	geo->chunk_bytes = layout->chunk_bytes;
	geo->n_chunks = layout->n_chunks;
	slice = groups * layout->chunk_bytes;
	cap = TQ_PAGE_DATA_END - TqPageDataStart(geo, 1);
	if (TqPageDataStart(geo, 0) > TQ_PAGE_DATA_END || cap / slice == 0)
		return;
	first_cap = TQ_PAGE_DATA_END - TqPageDataStart(geo, 0);
	geo->chunks_first = Min(first_cap / slice, layout->n_chunks);
	geo->chunks_per_page = cap / slice;
	geo->pages = 1 + (layout->n_chunks - geo->chunks_first + geo->chunks_per_page - 1) /
		geo->chunks_per_page;
}

/*
 * Picks G to store the most vectors per page among stripes of at most
 * `max_pages_soft` pages (more only when one group needs more); among equals,
 * the smallest G (fewer pages touched per insert, less space held by a small
 * table or list).
 */
void
TqGeometryChoose(const Layout *layout, uint32 max_pages_soft, TqStripeGeometry *geo)
{
	TqStripeGeometry best;
	TqStripeGeometry cur;
	uint32		max_pages;

	TqGeometryCompute(layout, 1, &best);
	if (best.pages == 0)
		elog(ERROR, "turboquant: a code chunk of %u bytes does not fit a page",
			 layout->chunk_bytes);
	max_pages = Max(best.pages, max_pages_soft);
	for (uint32 g = 2; g <= TQ_MAX_GROUPS_PER_STRIPE; g++)
	{
		TqGeometryCompute(layout, g, &cur);
		if (cur.pages == 0 || cur.pages > max_pages)
			continue;
		/* vectors per page: g / pages > best.groups / best.pages, in integers */
		if ((uint64) g * best.pages > (uint64) best.groups * cur.pages)
			best = cur;
	}
	*geo = best;
}

/* First chunk (of each group) stored on stripe page `page`. */
uint32
TqPageFirstChunk(const TqStripeGeometry *geo, uint32 page)
{
	if (page == 0)
		return 0;
	return geo->chunks_first + (page - 1) * geo->chunks_per_page;
}

/* Number of chunks (of each group) stored on stripe page `page`. */
uint32
TqPageChunkCount(const TqStripeGeometry *geo, uint32 page)
{
	uint32		first = TqPageFirstChunk(geo, page);
	uint32		n = page == 0 ? geo->chunks_first : geo->chunks_per_page;

	if (first >= geo->n_chunks)
		return 0;
	return Min(n, geo->n_chunks - first);
}

/* Group `group`'s chunk slice on stripe page `pageno`. */
uint8 *
TqPageGroupChunks(Page page, const TqStripeGeometry *geo, uint32 pageno, uint32 group)
{
	return (uint8 *) page + TqPageDataStart(geo, pageno) +
		(size_t) group * TqPageChunkCount(geo, pageno) * geo->chunk_bytes;
}

/* Group `group`'s header on a stripe's first page. */
TqGroupHeader *
TqPageGroupHeader(Page page, uint32 group)
{
	return (TqGroupHeader *) (PageGetContents(page) + (size_t) group * TQ_GROUP_HEADER_SIZE);
}

/* Errors for a page TqCheckPage refused, saying why. */
void
TqPageError(Page page, Relation index, BlockNumber blkno)
{
	if (PageIsNew(page) || PageGetSpecialSize(page) != MAXALIGN(sizeof(TqPageOpaqueData)))
		ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
						errmsg("index \"%s\" contains unexpected page at block %u",
							   RelationGetRelationName(index), blkno)));
	ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
					errmsg("index \"%s\" has a page of the wrong kind at block %u",
						   RelationGetRelationName(index), blkno)));
}

/*
 * Appends block `expect` to the index and returns it exclusively locked.
 * Stripes sit at fixed block numbers, so getting any other block is an error.
 */
Buffer
TqExtendTo(Relation index, BlockNumber expect)
{
	Buffer		buf;

	LockRelationForExtension(index, ExclusiveLock);
	buf = ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, NULL);
	UnlockRelationForExtension(index, ExclusiveLock);
	if (BufferGetBlockNumber(buf) != expect)
		elog(ERROR, "turboquant: extended \"%s\" to block %u, expected %u",
			 RelationGetRelationName(index), BufferGetBlockNumber(buf), expect);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	return buf;
}

/*
 * Initialises page `pageno` of stripe `stripe` of list `list`: empty groups,
 * zero codes, no next stripe.
 */
void
TqInitDataPage(Page page, const TqStripeGeometry *geo, uint32 stripe, uint32 pageno,
			   uint32 list)
{
	TqPageOpaque opaque;
	uint32		end;

	PageInit(page, BLCKSZ, sizeof(TqPageOpaqueData));
	opaque = TqPageGetOpaque(page);
	opaque->stripe = stripe;
	opaque->list = list;
	opaque->next = TQ_INVALID_STRIPE;
	opaque->flags = pageno == 0 ? TQ_PAGE_STRIPE_HEAD : TQ_PAGE_STRIPE_CONT;
	opaque->page_id = TQ_PAGE_ID;
	if (pageno == 0)
	{
		for (uint32 g = 0; g < geo->groups; g++)
		{
			TqGroupHeader *gh = TqPageGroupHeader(page, g);

			gh->used_mask = 0;
			for (uint32 s = 0; s < turboquant::kBlockVectors; s++)
				ItemPointerSetInvalid(&gh->tids[s]);
		}
	}
	/* pd_lower covers all data, so generic WAL sees every change */
	end = TqPageDataStart(geo, pageno) +
		geo->groups * TqPageChunkCount(geo, pageno) * geo->chunk_bytes;
	Assert(end <= TQ_PAGE_DATA_END);
	((PageHeader) page)->pd_lower = end;
}

/* Initialises a centroid or directory page whose first `used` bytes are data. */
void
TqInitPlainPage(Page page, uint16 flags, Size used)
{
	TqPageOpaque opaque;

	PageInit(page, BLCKSZ, sizeof(TqPageOpaqueData));
	opaque = TqPageGetOpaque(page);
	opaque->flags = flags;
	opaque->page_id = TQ_PAGE_ID;
	Assert(used <= TQ_PAGE_CONTENT_BYTES);
	((PageHeader) page)->pd_lower = MAXALIGN(SizeOfPageHeaderData) + used;
}

/* Initialises the metapage with the given contents. */
void
TqInitMetaPage(Page page, const TqMetaPageData *contents)
{
	TqPageOpaque opaque;
	TqMetaPage	meta;

	PageInit(page, BLCKSZ, sizeof(TqPageOpaqueData));
	opaque = TqPageGetOpaque(page);
	opaque->flags = TQ_PAGE_META;
	opaque->page_id = TQ_PAGE_ID;
	meta = TqPageGetMeta(page);
	*meta = *contents;
	((PageHeader) page)->pd_lower = (char *) meta + sizeof(TqMetaPageData) - (char *) page;
}

/*
 * Metapage contents for an index of `dims` dimensions (0 = not known yet,
 * then n_lists must be 1) and `n_lists` lists: the stripe geometry and the
 * block map are chosen here, once, for the index's lifetime.
 */
TqMetaPageData
TqMakeMeta(uint32 dims, int bits, Metric metric, uint64 seed, uint32 n_lists)
{
	TqMetaPageData meta;

	Assert(n_lists >= 1 && (n_lists == 1 || dims > 0));
	memset(&meta, 0, sizeof(meta));
	meta.magic = TQ_MAGIC_NUMBER;
	meta.version = TQ_FORMAT_VERSION;
	meta.bits = bits;
	meta.metric = (uint16) metric;
	meta.seed = seed;
	meta.n_lists = n_lists;
	meta.centroid_blkno = TQ_METAPAGE_BLKNO + 1;
	meta.n_centroid_pages = n_lists > 1 ?
		(uint32) (((uint64) n_lists * dims + TQ_CENTROID_FLOATS_PER_PAGE - 1) /
				  TQ_CENTROID_FLOATS_PER_PAGE) : 0;
	meta.dir_blkno = meta.centroid_blkno + meta.n_centroid_pages;
	meta.n_dir_pages = (n_lists + TQ_LISTS_PER_DIR_PAGE - 1) / TQ_LISTS_PER_DIR_PAGE;
	meta.first_stripe = meta.dir_blkno + meta.n_dir_pages;
	if (dims > 0)
	{
		size_t		qsize = turboquant::QuantizerSize(dims, bits);
		char	   *raw;
		void	   *tmp;
		TqStripeGeometry geo;

		if (qsize == 0)
			elog(ERROR, "turboquant: unsupported dims %u bits %d", dims, bits);
		/* the code layout decides G; a throwaway quantizer gives it */
		raw = (char *) palloc(qsize + 63);
		tmp = (void *) TYPEALIGN(64, raw);
		if (!turboquant::QuantizerInit(tmp, dims, bits, seed))
			elog(ERROR, "turboquant: could not build quantizer");
		const Layout &layout = turboquant::QuantizerLayout((turboquant::Quantizer *) tmp);
		/* every list keeps a partly filled tail stripe: small stripes waste less */
		TqGeometryChoose(&layout, n_lists > 1 ? TQ_MAX_PAGES_PER_STRIPE_LISTS :
						 TQ_MAX_PAGES_PER_STRIPE_SOFT, &geo);
		meta.dims = dims;
		meta.padded_dim = layout.padded_dim;
		meta.groups_per_stripe = geo.groups;
		meta.pages_per_stripe = geo.pages;
		pfree(raw);
	}
	return meta;
}

/*
 * Copies the metapage contents out, checking the magic number and the format
 * version (before the page kind: the special space of older formats differs).
 */
TqMetaPageData
TqReadMeta(Relation index)
{
	Buffer		buf = ReadBuffer(index, TQ_METAPAGE_BLKNO);
	Page		page;
	TqMetaPageData meta;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	memset(&meta, 0, sizeof(meta));
	if (!PageIsNew(page))
		memcpy(&meta, PageGetContents(page), sizeof(meta));
	if (meta.magic == TQ_MAGIC_NUMBER && meta.version != TQ_FORMAT_VERSION)
	{
		UnlockReleaseBuffer(buf);
		TqCheckFormat(index, &meta);
	}
	TqCheckPage(page, index, TQ_METAPAGE_BLKNO, TQ_PAGE_META);
	UnlockReleaseBuffer(buf);
	TqCheckFormat(index, &meta);
	if (meta.n_lists < 1 || meta.n_lists > TQ_MAX_LISTS || meta.first_stripe < 2 ||
		(meta.n_lists > 1 && meta.dims == 0) ||
		meta.first_stripe != meta.dir_blkno + meta.n_dir_pages)
		ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
						errmsg("index \"%s\" has an invalid metapage",
							   RelationGetRelationName(index))));
	return meta;
}

/*
 * Errors unless the metapage is a turboquant metapage of the format this
 * build reads (TQ_FORMAT_VERSION).  Every reader of an index comes through
 * TqReadMeta, hence here, before it interprets any other page.
 */
void
TqCheckFormat(Relation index, const TqMetaPageData *meta)
{
	if (meta->magic != TQ_MAGIC_NUMBER)
		ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
						errmsg("index \"%s\" is not a turboquant index",
							   RelationGetRelationName(index))));
	if (meta->version != TQ_FORMAT_VERSION)
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						errmsg("index \"%s\" has on-disk format version %u, but this turboquant build reads only version %u",
							   RelationGetRelationName(index), meta->version,
							   (uint32) TQ_FORMAT_VERSION),
						errhint("Rebuild it in the current format with REINDEX INDEX %s.",
								quote_identifier(RelationGetRelationName(index)))));
}

/* Reads the n_lists x dims centroids from their pages into `out`. */
static void
TqReadCentroids(Relation index, const TqMetaPageData *meta, float *out)
{
	uint64		total = (uint64) meta->n_lists * meta->dims;
	uint64		done = 0;

	for (uint32 p = 0; p < meta->n_centroid_pages; p++)
	{
		BlockNumber blkno = meta->centroid_blkno + p;
		Buffer		buf = ReadBuffer(index, blkno);
		Page		page;
		uint64		n = Min((uint64) TQ_CENTROID_FLOATS_PER_PAGE, total - done);

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		TqCheckPage(page, index, blkno, TQ_PAGE_CENTROIDS);
		memcpy(out + done, PageGetContents(page), n * sizeof(float));
		UnlockReleaseBuffer(buf);
		done += n;
	}
	if (done != total)
		ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
						errmsg("index \"%s\" has too few centroid pages",
							   RelationGetRelationName(index))));
}

/* Bytes of a cache for `meta`: header, centroids, then the 64-byte aligned quantizer. */
static size_t
TqCacheQuantizerOffset(const TqMetaPageData *meta)
{
	size_t		off = MAXALIGN(sizeof(TqIndexCache));

	if (meta->n_lists > 1)
		off += sizeof(float) * (size_t) meta->n_lists * meta->dims;
	return off;
}

/*
 * Returns the backend's cache for this index (quantizer, geometry,
 * centroids), building it on first use.  Only valid once the metapage knows
 * the dimension.  Centroids never change after the build (a REINDEX gives a
 * new relfilenode, which resets rd_amcache), so caching them is safe.
 */
const TqIndexCache *
TqGetCache(Relation index, const TqMetaPageData *meta)
{
	TqIndexCache *cache = (TqIndexCache *) index->rd_amcache;
	size_t		head = TqCacheQuantizerOffset(meta);
	size_t		qsize;
	size_t		csize;
	char	   *mem;

	float	   *centroids = NULL;

	Assert(meta->dims > 0);
	if (cache != NULL && cache->dims == meta->dims && cache->bits == meta->bits &&
		cache->seed == meta->seed && cache->n_lists == meta->n_lists &&
		cache->geo.base == meta->first_stripe)
		return cache;
	if (meta->n_lists > 1)
	{
		/* read first: an error here must not leave a half-made cache behind */
		centroids = (float *) palloc_extended(sizeof(float) * (size_t) meta->n_lists * meta->dims,
											  MCXT_ALLOC_HUGE);
		TqReadCentroids(index, meta, centroids);
	}
	if (cache != NULL)
	{
		pfree(cache);
		index->rd_amcache = NULL;
	}
	qsize = turboquant::QuantizerSize(meta->dims, meta->bits);
	if (qsize == 0)
		ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
						errmsg("index \"%s\" has unsupported dims %u or bits %u",
							   RelationGetRelationName(index), meta->dims, meta->bits)));
	/* room for the coded centroids (TqCentroidCodes fills it on first use) */
	csize = meta->n_lists > 1 ?
		turboquant::CentroidCodesBytes(meta->dims, meta->bits, meta->n_lists) : 0;
	/* one chunk, as rd_amcache must be; the quantizer and the codes 64-byte aligned inside */
	mem = (char *) MemoryContextAllocHuge(index->rd_indexcxt, head + qsize + 63 + csize + 63);
	cache = (TqIndexCache *) mem;
	cache->qz = (turboquant::Quantizer *) TYPEALIGN(64, mem + head);
	cache->centroids = meta->n_lists > 1 ? (float *) (mem + MAXALIGN(sizeof(TqIndexCache))) : NULL;
	if (!turboquant::QuantizerInit(cache->qz, meta->dims, meta->bits, meta->seed))
	{
		pfree(mem);
		elog(ERROR, "turboquant: could not build quantizer for dims %u bits %u",
			 meta->dims, meta->bits);
	}
	cache->dims = meta->dims;
	cache->bits = meta->bits;
	cache->metric = (Metric) meta->metric;
	cache->seed = meta->seed;
	cache->n_lists = meta->n_lists;
	cache->mi = TqGetMetricInfo(cache->metric);
	TqGeometryCompute(&turboquant::QuantizerLayout(cache->qz), meta->groups_per_stripe,
					  &cache->geo);
	cache->geo.base = meta->first_stripe;
	if (cache->geo.pages != meta->pages_per_stripe)
	{
		pfree(mem);
		ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
						errmsg("index \"%s\" has inconsistent stripe geometry",
							   RelationGetRelationName(index))));
	}
	cache->centroid_codes = csize > 0 ? (void *) TYPEALIGN(64, (char *) cache->qz + qsize) : NULL;
	cache->codes_ready = false;
	if (cache->centroids)
	{
		memcpy(cache->centroids, centroids, sizeof(float) * (size_t) meta->n_lists * meta->dims);
		pfree(centroids);
	}
	index->rd_amcache = cache;
	return cache;
}

/*
 * The cache's coded centroids (turboquant::EncodeCentroids), encoded on the
 * first call; NULL for a cache without centroids.  Encoding 1,000 centroids
 * of 768 dimensions takes about 4 ms, once per backend and index.
 */
const void *
TqCentroidCodes(const TqIndexCache *cache)
{
	TqIndexCache *c = (TqIndexCache *) cache;

	if (c->centroids == NULL || c->centroid_codes == NULL)
		return NULL;
	if (!c->codes_ready)
	{
		float	   *scratch = (float *) palloc(sizeof(float) *
											   turboquant::CentroidCodesScratchFloats(c->qz));

		turboquant::EncodeCentroids(c->qz, c->centroids, c->n_lists, c->centroid_codes, scratch);
		pfree(scratch);
		c->codes_ready = true;
	}
	return c->centroid_codes;
}

/*
 * A private copy of an index cache (quantizer and centroids) in
 * `cxt`.  rd_amcache is freed whenever the index's relcache entry is rebuilt
 * — which can happen at any heavyweight lock acquisition, e.g. when a build
 * or a scan detoasts a vector — so work that outlives such a moment keeps its
 * own copy.  The quantizer is position independent, so a byte copy is a
 * valid quantizer.  Without `with_centroids` the copy has none (centroids
 * NULL): a scan ranks the lists from rd_amcache before anything can drop it,
 * and copying n_lists x dims floats per query cost ~5% of a query.
 */
TqIndexCache *
TqCopyCache(const TqIndexCache *cache, MemoryContext cxt, bool with_centroids)
{
	size_t		qsize = turboquant::QuantizerSize(cache->dims, cache->bits);
	size_t		head = MAXALIGN(sizeof(TqIndexCache));
	size_t		csize = cache->centroids && with_centroids ?
		sizeof(float) * (size_t) cache->n_lists * cache->dims : 0;
	char	   *mem = (char *) MemoryContextAllocHuge(cxt, head + csize + qsize + 63);
	TqIndexCache *copy = (TqIndexCache *) mem;

	*copy = *cache;
	copy->centroids = NULL;
	copy->centroid_codes = NULL;
	copy->codes_ready = false;
	if (csize > 0)
	{
		copy->centroids = (float *) (mem + head);
		memcpy(copy->centroids, cache->centroids, csize);
	}
	copy->qz = (turboquant::Quantizer *) TYPEALIGN(64, mem + head + csize);
	memcpy(copy->qz, cache->qz, qsize);
	return copy;
}

/* Block of the directory page holding list `list`'s entry. */
BlockNumber
TqDirEntryBlock(const TqMetaPageData *meta, uint32 list)
{
	return meta->dir_blkno + list / TQ_LISTS_PER_DIR_PAGE;
}

/* List `list`'s entry on its directory page. */
TqListEntry *
TqDirEntry(Page page, uint32 list)
{
	return (TqListEntry *) PageGetContents(page) + list % TQ_LISTS_PER_DIR_PAGE;
}

/* Copies the whole list directory (meta->n_lists entries) into `out`. */
void
TqReadDirectory(Relation index, const TqMetaPageData *meta, TqListEntry *out)
{
	for (uint32 p = 0; p < meta->n_dir_pages; p++)
	{
		BlockNumber blkno = meta->dir_blkno + p;
		Buffer		buf = ReadBuffer(index, blkno);
		uint32		first = p * TQ_LISTS_PER_DIR_PAGE;
		uint32		n = Min((uint32) TQ_LISTS_PER_DIR_PAGE, meta->n_lists - first);
		Page		page;

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		TqCheckPage(page, index, blkno, TQ_PAGE_DIRECTORY);
		memcpy(out + first, PageGetContents(page), sizeof(TqListEntry) * n);
		UnlockReleaseBuffer(buf);
	}
}

/* The list whose centroid is nearest to x (0 for a flat index). */
uint32
TqNearestList(const TqIndexCache *cache, const float *x)
{
	uint32		list = 0;
	void	   *scratch;

	if (cache->n_lists <= 1)
		return 0;
	scratch = palloc(Max(turboquant::AssignScratchBytes(cache->dims, cache->n_lists), 8));
	turboquant::AssignNearest(cache->centroids, cache->n_lists, cache->dims, cache->mi->partition,
							  x, 1, &list, NULL, scratch);
	pfree(scratch);
	return list;
}

static double
TqReportL2(double est)
{
	return sqrt(Max(est, 0.0));
}

static double
TqReportAsIs(double est)
{
	return est;
}

/* The metric descriptors, indexed by turboquant::Metric. */
static TqMetricInfo tq_metrics[] = {
	{Metric::kL2, "l2", TqReportL2, Metric::kL2},
	{Metric::kCosine, "cosine", TqReportAsIs, Metric::kCosine},
	{Metric::kInnerProduct, "inner product", TqReportAsIs, Metric::kInnerProduct},
};

/* Everything the index needs to know about a metric. */
const TqMetricInfo *
TqGetMetricInfo(Metric metric)
{
	uint32		m = (uint32) metric;

	if (m >= lengthof(tq_metrics))
		elog(ERROR, "turboquant: invalid metric %u", m);
	Assert(tq_metrics[m].metric == metric);
	/* the core decides how each metric partitions */
	tq_metrics[m].partition = turboquant::PartitionMetric(metric);
	return &tq_metrics[m];
}

/* The opclass's metric, from its support procedure. */
Metric
TqIndexMetric(Relation index)
{
	FmgrInfo   *proc = index_getprocinfo(index, 1, TQ_METRIC_PROC);
	int32		m = DatumGetInt32(FunctionCall1(proc, (Datum) 0));

	if (m < 0 || m > (int32) Metric::kInnerProduct)
		elog(ERROR, "turboquant: invalid metric %d", m);
	return (Metric) m;
}

/* WITH (bits = ...) or the default. */
int
TqIndexBits(Relation index)
{
	TqOptions  *opts = (TqOptions *) index->rd_options;

	return opts ? opts->bits : TQ_DEFAULT_BITS;
}

/* WITH (lists = ...): TQ_LISTS_AUTO, 0 (flat) or a count. */
int
TqIndexLists(Relation index)
{
	TqOptions  *opts = (TqOptions *) index->rd_options;

	return opts ? opts->lists : TQ_LISTS_AUTO;
}

/* WITH (seed = ...) or the default. */
uint64
TqIndexSeed(Relation index)
{
	TqOptions  *opts = (TqOptions *) index->rd_options;

	return opts ? (uint64) opts->seed : TQ_DEFAULT_SEED;
}

/* The vector an indexed value stands for (detoasted in the current context). */
const TqVector *
TqIndexDatumVector(Relation index, Datum value)
{
	return DatumGetTqVector(TqIndexValueToTqvector(index, value));
}

/* The column's declared dimension, 0 when it has none. */
uint32
TqIndexTypmodDims(Relation index)
{
	int32		typmod = TupleDescAttr(index->rd_att, 0)->atttypmod;

	return typmod > 0 ? (uint32) typmod : 0;
}

/* Errors when a vector's dimension differs from the index's. */
void
TqCheckVectorDims(uint32 expect, int got)
{
	if ((int) expect != got)
		ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
						errmsg("expected %u dimensions, not %d", expect, got)));
}

/*
 * Errors when a query's dimension differs from the index's, in the words of
 * the column type's own operators ("different halfvec dimensions 3 and 2"
 * for pgvector's types, as tqvector's TqCheckDimsMatch says for tqvector), so
 * an index scan fails as a sequential scan would.
 */
void
TqCheckQueryDims(Relation index, int index_dims, int query_dims)
{
	if (index_dims != query_dims)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different %s dimensions %d and %d",
						format_type_be(TupleDescAttr(index->rd_att, 0)->atttypid),
						index_dims, query_dims)));
}

/*
 * An indexed value or a query as a tqvector.  Every place that reads one
 * (build, insert, scan, tq_index_check) goes through here: the opclass's
 * optional support function 2 converts pgvector's vector or halfvec; without
 * it the value already is a tqvector.  The result may be toasted (identity)
 * or freshly palloc'd in the current memory context.
 */
Datum
TqIndexValueToTqvector(Relation index, Datum value)
{
	if (!OidIsValid(index_getprocid(index, 1, TQ_CONVERT_PROC)))
		return value;
	return FunctionCall1Coll(index_getprocinfo(index, 1, TQ_CONVERT_PROC),
							 index->rd_indcollation[0], value);
}

/*
 * Recent-buffer hints: for each block of an index this backend read, the
 * shared buffer that held it.  A scan reads every page of its lists for every
 * query; ReadBuffer finds each one through the shared buffer-mapping hash
 * table (a hash, a partition lock and cache misses in a table as large as
 * shared_buffers: a fifth of a flat scan's time, measured in
 * docs/performance.md).  ReadRecentBuffer instead pins the remembered buffer
 * after checking, under its header lock, that it still holds that very block
 * of that very relation, so a stale hint costs one failed check and a
 * ReadBuffer, never a wrong page.  The hints know the buffer's address before
 * it is pinned, which also lets the scan pull the next page into the CPU cache
 * while it scores the current one (TqPrefetchHinted).
 *
 * The same serves re-ranking, which reads a few dozen rows of the table per
 * query from pages all over it (TqGetHeapBufferHints).
 *
 * Per backend, in TopMemoryContext, for the last few relations used (keyed by
 * relfilenode, so a REINDEX or TRUNCATE simply starts afresh); at most
 * TQ_HINT_MAX_BLOCKS blocks of an index and TQ_HEAP_HINT_MAX_BLOCKS of a
 * table, beyond which pages are read plainly.  Temporary relations (local
 * buffers) read plainly too.
 */
#define TQ_HINT_SLOTS		6
#define TQ_HINT_MAX_BLOCKS	(1u << 21)	/* 8 MB of hints for a 16 GB index */
#define TQ_HEAP_HINT_MAX_BLOCKS (1u << 19)	/* 2 MB for the first 4 GB of a table */

struct TqBufferHints
{
	RelFileNode node;
	uint32		cap;			/* blocks with room for a hint */
	uint32		max_blocks;		/* the most it grows to */
	Buffer	   *bufs;			/* InvalidBuffer: none */
};

static TqBufferHints tq_hints[TQ_HINT_SLOTS];
static uint32 tq_hints_next;

/* This backend's hints for rel, or NULL when it reads plainly. */
static TqBufferHints *
TqGetHints(Relation rel, uint32 max_blocks)
{
	TqBufferHints *h;

	if (RelationUsesLocalBuffers(rel))
		return NULL;
	for (int i = 0; i < TQ_HINT_SLOTS; i++)
	{
		if (tq_hints[i].bufs != NULL && RelFileNodeEquals(tq_hints[i].node, rel->rd_node))
			return &tq_hints[i];
	}
	h = &tq_hints[tq_hints_next];
	tq_hints_next = (tq_hints_next + 1) % TQ_HINT_SLOTS;
	if (h->bufs != NULL)
		pfree(h->bufs);
	h->bufs = NULL;
	h->cap = 0;
	h->max_blocks = max_blocks;
	h->node = rel->rd_node;
	/* a first size; TqRememberBuffer grows it */
	h->bufs = (Buffer *) MemoryContextAllocExtended(TopMemoryContext, sizeof(Buffer) * 1024,
													MCXT_ALLOC_NO_OOM | MCXT_ALLOC_ZERO);
	if (h->bufs == NULL)
		return NULL;
	h->cap = 1024;
	return h;
}

/* This backend's hints for an index (NULL: read plainly). */
TqBufferHints *
TqGetBufferHints(Relation index)
{
	return TqGetHints(index, TQ_HINT_MAX_BLOCKS);
}

/* The same for the table re-ranking reads rows from. */
TqBufferHints *
TqGetHeapBufferHints(Relation heap)
{
	return TqGetHints(heap, TQ_HEAP_HINT_MAX_BLOCKS);
}

/* Records that blkno is in buf (no-op when the table cannot grow). */
static void
TqRememberBuffer(TqBufferHints *h, BlockNumber blkno, Buffer buf)
{
	if (blkno >= h->cap)
	{
		uint32		cap = h->cap;
		Buffer	   *bigger;

		if (blkno >= h->max_blocks)
			return;
		while (cap <= blkno)
			cap *= 2;
		cap = Min(cap, h->max_blocks);
		bigger = (Buffer *) MemoryContextAllocExtended(TopMemoryContext, sizeof(Buffer) * cap,
													   MCXT_ALLOC_NO_OOM | MCXT_ALLOC_ZERO);
		if (bigger == NULL)
			return;
		memcpy(bigger, h->bufs, sizeof(Buffer) * h->cap);
		pfree(h->bufs);
		h->bufs = bigger;
		h->cap = cap;
	}
	h->bufs[blkno] = buf;
}

/*
 * ReadBuffer(rel, blkno), through the backend's hint for the block when it
 * still holds (h may be NULL: plain ReadBuffer).  Counts the read in the
 * relation's statistics as ReadBuffer does.
 */
Buffer
TqReadBufferHinted(Relation rel, TqBufferHints *h, BlockNumber blkno)
{
	Buffer		buf;

	if (h != NULL && blkno < h->cap && BufferIsValid(h->bufs[blkno]) &&
		ReadRecentBuffer(rel->rd_node, MAIN_FORKNUM, blkno, h->bufs[blkno]))
	{
		pgstat_count_buffer_read(rel);
		pgstat_count_buffer_hit(rel);
		return h->bufs[blkno];
	}
	buf = ReadBuffer(rel, blkno);
	if (h != NULL && !BufferIsLocal(buf))
		TqRememberBuffer(h, blkno, buf);
	return buf;
}

/*
 * The page the hint names for blkno, its buffer header (which the pin will
 * write) already on its way into the CPU's caches; NULL without a hint.
 */
static inline const char *
TqPrefetchHintedBuffer(const TqBufferHints *h, BlockNumber blkno)
{
	Buffer		buf;

	if (h == NULL || blkno >= h->cap || !BufferIsValid(h->bufs[blkno]))
		return NULL;
	buf = h->bufs[blkno];
	__builtin_prefetch(GetBufferDescriptor(buf - 1), 1, 3);
	return (const char *) BufferGetBlock(buf);
}

/*
 * Asks the CPU to fetch the page the hint names for blkno (its buffer header,
 * page header, special space and the header_bytes after the page header)
 * into its caches: a hint only, never a read of the page's contents, so a
 * stale hint costs nothing but the bandwidth.  The codes that follow stream
 * in by the hardware's own prefetching (measured: prefetching whole pages
 * bought nothing).
 */
void
TqPrefetchHinted(const TqBufferHints *h, BlockNumber blkno, Size header_bytes)
{
	const char *page = TqPrefetchHintedBuffer(h, blkno);

	if (page == NULL)
		return;
	/* the special space (TqCheckPage) and the page and group headers */
	__builtin_prefetch(page + BLCKSZ - 64, 0, 3);
	header_bytes = Min(header_bytes + MAXALIGN(SizeOfPageHeaderData), (Size) BLCKSZ);
	for (Size off = 0; off < header_bytes; off += 64)
		__builtin_prefetch(page + off, 0, 3);
	if (header_bytes == 0)
		__builtin_prefetch(page, 0, 3);
}

/*
 * The same for a heap row about to be fetched: the buffer header, the page
 * header and the row's line pointer (the row itself follows once the line
 * pointer is read under the lock; prefetching it from an unlocked read would
 * buy little for the risk of a torn value).
 */
void
TqPrefetchHintedItem(const TqBufferHints *h, ItemPointer tid)
{
	OffsetNumber off = ItemPointerGetOffsetNumberNoCheck(tid);
	const char *page = TqPrefetchHintedBuffer(h, ItemPointerGetBlockNumberNoCheck(tid));
	Size		lp;

	if (page == NULL)
		return;
	__builtin_prefetch(page, 0, 3);
	lp = SizeOfPageHeaderData + sizeof(ItemIdData) * (Size) Max(off, 1) - sizeof(ItemIdData);
	if (lp < BLCKSZ)
		__builtin_prefetch(page + lp, 0, 3);
}
