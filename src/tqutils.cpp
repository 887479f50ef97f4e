/*
 * tqutils.cpp — page layout arithmetic, metapage access and the per-backend
 * index cache shared by build, insert, scan and vacuum.
 *
 * The stripe geometry (see tqindex.h) is a pure function of the code layout
 * and G; G is chosen once at build and stored in the metapage, so a change of
 * the chooser never changes where an existing index keeps its codes.
 */
#include "tqindex.h"

extern "C" {
#include "access/genam.h"
#include "access/relation.h"
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
 * Picks G to store the most vectors per page; among equals, the smallest G
 * (fewer pages touched per insert, less space held by a small table).
 */
void
TqGeometryChoose(const Layout *layout, TqStripeGeometry *geo)
{
	TqStripeGeometry best;
	TqStripeGeometry cur;
	uint32		max_pages;

	TqGeometryCompute(layout, 1, &best);
	if (best.pages == 0)
		elog(ERROR, "turboquant: a code chunk of %u bytes does not fit a page",
			 layout->chunk_bytes);
	max_pages = Max(best.pages, (uint32) TQ_MAX_PAGES_PER_STRIPE_SOFT);
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

/* Initialises page `pageno` of stripe `stripe`: empty groups, zero codes. */
void
TqInitDataPage(Page page, const TqStripeGeometry *geo, uint32 stripe, uint32 pageno)
{
	TqPageOpaque opaque;
	uint32		end;

	PageInit(page, BLCKSZ, sizeof(TqPageOpaqueData));
	opaque = TqPageGetOpaque(page);
	opaque->stripe = stripe;
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
 * Metapage contents for an index of `dims` dimensions (0 = not known yet):
 * the stripe geometry is chosen here, once, for the index's lifetime.
 */
TqMetaPageData
TqMakeMeta(uint32 dims, int bits, Metric metric, uint64 seed)
{
	TqMetaPageData meta;

	memset(&meta, 0, sizeof(meta));
	meta.magic = TQ_MAGIC_NUMBER;
	meta.version = TQ_FORMAT_VERSION;
	meta.bits = bits;
	meta.metric = (uint16) metric;
	meta.seed = seed;
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
		TqGeometryChoose(&layout, &geo);
		meta.dims = dims;
		meta.padded_dim = layout.padded_dim;
		meta.groups_per_stripe = geo.groups;
		meta.pages_per_stripe = geo.pages;
		pfree(raw);
	}
	return meta;
}

/* Errors unless the page is an initialised turboquant page of the given kind. */
void
TqCheckPage(Page page, Relation index, BlockNumber blkno, uint16 expect_flags)
{
	TqPageOpaque opaque;

	if (PageIsNew(page) || PageGetSpecialSize(page) != MAXALIGN(sizeof(TqPageOpaqueData)))
		ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
						errmsg("index \"%s\" contains unexpected page at block %u",
							   RelationGetRelationName(index), blkno)));
	opaque = TqPageGetOpaque(page);
	if (opaque->page_id != TQ_PAGE_ID || (opaque->flags & expect_flags) == 0)
		ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
						errmsg("index \"%s\" has a page of the wrong kind at block %u",
							   RelationGetRelationName(index), blkno)));
}

/* Copies the metapage contents out, checking the magic number. */
TqMetaPageData
TqReadMeta(Relation index)
{
	Buffer		buf = ReadBuffer(index, TQ_METAPAGE_BLKNO);
	Page		page;
	TqMetaPageData meta;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	TqCheckPage(page, index, TQ_METAPAGE_BLKNO, TQ_PAGE_META);
	meta = *TqPageGetMeta(page);
	UnlockReleaseBuffer(buf);
	TqCheckFormat(index, &meta);
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

/*
 * Returns the backend's cache for this index (quantizer, geometry), building
 * it on first use.  Only valid once the metapage knows the dimension.
 */
const TqIndexCache *
TqGetCache(Relation index, const TqMetaPageData *meta)
{
	TqIndexCache *cache = (TqIndexCache *) index->rd_amcache;
	size_t		head = sizeof(TqIndexCache);
	size_t		qsize;
	char	   *mem;

	Assert(meta->dims > 0);
	if (cache != NULL && cache->dims == meta->dims && cache->bits == meta->bits &&
		cache->seed == meta->seed)
		return cache;
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
	/* one chunk, as rd_amcache must be; the quantizer 64-byte aligned inside */
	mem = (char *) MemoryContextAlloc(index->rd_indexcxt, head + qsize + 63);
	cache = (TqIndexCache *) mem;
	cache->qz = (turboquant::Quantizer *) TYPEALIGN(64, mem + head);
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
	TqGeometryCompute(&turboquant::QuantizerLayout(cache->qz), meta->groups_per_stripe,
					  &cache->geo);
	if (cache->geo.pages != meta->pages_per_stripe)
	{
		pfree(mem);
		ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
						errmsg("index \"%s\" has inconsistent stripe geometry",
							   RelationGetRelationName(index))));
	}
	index->rd_amcache = cache;
	return cache;
}

/*
 * A private copy of an index cache (quantizer included) in `cxt`.  rd_amcache
 * is freed whenever the index's relcache entry is rebuilt — which can happen
 * at any heavyweight lock acquisition, e.g. when a build or a scan detoasts a
 * vector — so work that outlives such a moment keeps its own copy.  The
 * quantizer is position independent, so a byte copy is a valid quantizer.
 */
TqIndexCache *
TqCopyCache(const TqIndexCache *cache, MemoryContext cxt)
{
	size_t		qsize = turboquant::QuantizerSize(cache->dims, cache->bits);
	TqIndexCache *copy = (TqIndexCache *) MemoryContextAlloc(cxt, sizeof(TqIndexCache) + qsize + 63);

	*copy = *cache;
	copy->qz = (turboquant::Quantizer *) TYPEALIGN(64, (char *) copy + sizeof(TqIndexCache));
	memcpy(copy->qz, cache->qz, qsize);
	return copy;
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

/* WITH (seed = ...) or the default. */
uint64
TqIndexSeed(Relation index)
{
	TqOptions  *opts = (TqOptions *) index->rd_options;

	return opts ? (uint64) opts->seed : TQ_DEFAULT_SEED;
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
