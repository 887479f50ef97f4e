/*
 * tqindex.h — the turboquant index access method: constants, page layout,
 * structs and prototypes.
 *
 * Storage in one picture:
 *
 *   block 0            metapage (TqMetaPageData)
 *   blocks 1..P        stripe 0
 *   blocks P+1..2P     stripe 1   ...
 *
 * A stripe holds G groups of 32 vectors (the scan kernel's block) on P
 * consecutive pages.  Its first page starts with G group headers (which slots
 * are in use, their heap TIDs, norms and correction factors); then every page
 * of the stripe holds the same range of code chunks for each of the G groups,
 * one group's slice after the other.  A group's codes therefore continue from
 * page to page at chunk boundaries, which is how a 24 kB block of 1536-d codes
 * (or a 256 kB one at 16000-d) lives on 8 kB pages, and how small groups share
 * a page without waste: G and P are chosen once per index (TqStripeGeometry)
 * to pack pages as full as possible, so the index is close to
 * bits/32 of the raw float32 size plus TIDs.
 *
 * Stripe s is always at blocks 1 + s*P .. s*P + P: no pointers to follow, the
 * scan reads pages in physical order, and a stripe whose creation crashed
 * before the metapage counted it is simply initialised again by the next one.
 */
#ifndef TQINDEX_H
#define TQINDEX_H

#include "core/turboquant.h"
#include "tq_pg.h"

extern "C" {
#include "access/amapi.h"
#include "access/generic_xlog.h"
#include "access/reloptions.h"
#include "nodes/pathnodes.h"
#include "storage/bufmgr.h"
#include "utils/relcache.h"
}

#define TQ_MAGIC_NUMBER		0x54515649	/* "TQVI" */

/*
 * The on-disk format version, stored in the metapage and checked by
 * TqCheckFormat (tqutils.cpp) whenever the metapage is read.  Bump it when
 * anything an existing index depends on changes: the page layouts below
 * (metapage, group header, stripe geometry), or the code layout and
 * quantizer (rotation, codebooks, chunk packing, the meaning of norm and
 * factor).  An index of another version is refused with a REINDEX hint
 * rather than read as garbage.
 *   1  first release (float norms)
 *   2  norms stored as double; metapage without implicit padding
 */
#define TQ_FORMAT_VERSION	2
#define TQ_PAGE_ID			0xFF91		/* last 2 bytes of every page's special space */
#define TQ_METAPAGE_BLKNO	0
#define TQ_FIRST_STRIPE_BLKNO 1

/* Option limits and defaults */
#define TQ_DEFAULT_BITS		4
#define TQ_MIN_BITS			2
#define TQ_MAX_BITS			4
#define TQ_DEFAULT_SEED		0x5451			/* any fixed value; stored in the metapage */
#define TQ_DEFAULT_RERANK	200
#define TQ_MAX_RERANK		100000
#define TQ_MAX_GROUPS_PER_STRIPE 32
#define TQ_MAX_PAGES_PER_STRIPE_SOFT 16		/* G > 1 only while P stays this small */

/* Page flags (special space) */
#define TQ_PAGE_META		(1 << 0)
#define TQ_PAGE_STRIPE_HEAD	(1 << 1)
#define TQ_PAGE_STRIPE_CONT	(1 << 2)

/* Support procedure 1: returns the opclass's metric (turboquant::Metric). */
#define TQ_METRIC_PROC		1
/*
 * Support procedure 2 (optional): converts the column's type to tqvector
 * (turboquant_pgvector's opclasses for vector and halfvec name their cast).
 * Without it the column is a tqvector.
 */
#define TQ_CONVERT_PROC		2
#define TQ_NPROCS			2

typedef struct TqPageOpaqueData
{
	uint32		stripe;			/* stripe number (data pages) */
	uint16		flags;
	uint16		page_id;		/* TQ_PAGE_ID, last */
} TqPageOpaqueData;
typedef TqPageOpaqueData *TqPageOpaque;

#define TqPageGetOpaque(page) ((TqPageOpaque) PageGetSpecialPointer(page))
/* Where the special space starts: data ends here. */
#define TQ_PAGE_DATA_END	(BLCKSZ - MAXALIGN(sizeof(TqPageOpaqueData)))
/* Code chunks start 64-byte aligned (relative to the page) for the kernels. */
#define TQ_CHUNK_ALIGN		64

/*
 * The metapage's contents.  Sizes and offsets are pinned below: changing
 * them changes the format (bump TQ_FORMAT_VERSION and the asserts together).
 */
typedef struct TqMetaPageData
{
	uint32		magic;
	uint32		version;		/* TQ_FORMAT_VERSION */
	uint32		dims;			/* 0 until the first vector is seen */
	uint32		padded_dim;
	uint16		bits;
	uint16		metric;			/* turboquant::Metric */
	uint32		groups_per_stripe;	/* G */
	uint32		pages_per_stripe;	/* P */
	uint32		n_stripes;		/* stripes in use; stripe s at 1 + s*P */
	uint64		seed;
	uint64		n_inserted;		/* vectors ever added (informational) */
} TqMetaPageData;
typedef TqMetaPageData *TqMetaPage;

static_assert(offsetof(TqMetaPageData, magic) == 0, "metapage layout");
static_assert(offsetof(TqMetaPageData, version) == 4, "metapage layout");
static_assert(offsetof(TqMetaPageData, dims) == 8, "metapage layout");
static_assert(offsetof(TqMetaPageData, padded_dim) == 12, "metapage layout");
static_assert(offsetof(TqMetaPageData, bits) == 16, "metapage layout");
static_assert(offsetof(TqMetaPageData, metric) == 18, "metapage layout");
static_assert(offsetof(TqMetaPageData, groups_per_stripe) == 20, "metapage layout");
static_assert(offsetof(TqMetaPageData, pages_per_stripe) == 24, "metapage layout");
static_assert(offsetof(TqMetaPageData, n_stripes) == 28, "metapage layout");
static_assert(offsetof(TqMetaPageData, seed) == 32, "metapage layout");
static_assert(offsetof(TqMetaPageData, n_inserted) == 40, "metapage layout");
static_assert(sizeof(TqMetaPageData) == 48, "metapage layout");

#define TqPageGetMeta(page) ((TqMetaPage) PageGetContents(page))

/*
 * One group's header on the stripe's first page.  Norms are doubles: the norm
 * of a legal vector can exceed FLT_MAX or be smaller than the float range
 * (see turboquant::Encode).  Layout pinned like the metapage's.
 */
typedef struct TqGroupHeader
{
	uint32		used_mask;		/* bit s: slot s holds a vector */
	uint32		unused;
	double		norms[turboquant::kBlockVectors];
	float		factors[turboquant::kBlockVectors];
	ItemPointerData tids[turboquant::kBlockVectors];
} TqGroupHeader;

#define TQ_GROUP_HEADER_SIZE MAXALIGN(sizeof(TqGroupHeader))

static_assert(turboquant::kBlockVectors == 32, "group header layout");
static_assert(sizeof(ItemPointerData) == 6, "group header layout");
static_assert(offsetof(TqGroupHeader, used_mask) == 0, "group header layout");
static_assert(offsetof(TqGroupHeader, norms) == 8, "group header layout");
static_assert(offsetof(TqGroupHeader, factors) == 264, "group header layout");
static_assert(offsetof(TqGroupHeader, tids) == 392, "group header layout");
static_assert(sizeof(TqGroupHeader) == 584, "group header layout");
static_assert(TQ_GROUP_HEADER_SIZE == 584, "group header layout");
static_assert(sizeof(TqPageOpaqueData) == 8, "page special space layout");

/* Where things are inside a stripe; derived from (layout, G). */
typedef struct TqStripeGeometry
{
	uint32		groups;			/* G */
	uint32		pages;			/* P */
	uint32		chunk_bytes;
	uint32		n_chunks;
	uint32		chunks_first;	/* chunks per group on the first page */
	uint32		chunks_per_page;	/* chunks per group on later pages */
} TqStripeGeometry;

/* Options (WITH (...)) */
typedef struct TqOptions
{
	int32		vl_len_;
	int			bits;
	int			seed;
} TqOptions;

/*
 * Per-backend, per-index cache in rd_amcache: metapage facts that never
 * change once dims is known, and the quantizer built from them.
 */
typedef struct TqIndexCache
{
	uint32		dims;
	int			bits;
	turboquant::Metric metric;
	uint64		seed;
	TqStripeGeometry geo;
	turboquant::Quantizer *qz;	/* in the same allocation */
} TqIndexCache;

/* GUCs */
extern int	tq_rerank;

/* tqutils.cpp */
void		TqGeometryCompute(const turboquant::Layout *layout, uint32 groups,
							  TqStripeGeometry *geo);
void		TqGeometryChoose(const turboquant::Layout *layout, TqStripeGeometry *geo);
uint32		TqPageFirstChunk(const TqStripeGeometry *geo, uint32 page);
uint32		TqPageChunkCount(const TqStripeGeometry *geo, uint32 page);
uint32		TqPageDataStart(const TqStripeGeometry *geo, uint32 page);
uint8	   *TqPageGroupChunks(Page page, const TqStripeGeometry *geo, uint32 pageno,
							  uint32 group);
TqGroupHeader *TqPageGroupHeader(Page page, uint32 group);
void		TqInitDataPage(Page page, const TqStripeGeometry *geo, uint32 stripe,
						   uint32 pageno);
void		TqInitMetaPage(Page page, const TqMetaPageData *contents);
TqMetaPageData TqMakeMeta(uint32 dims, int bits, turboquant::Metric metric, uint64 seed);
Buffer		TqExtendTo(Relation index, BlockNumber expect);
void		TqCheckPage(Page page, Relation index, BlockNumber blkno, uint16 expect_flags);
TqMetaPageData TqReadMeta(Relation index);
const TqIndexCache *TqGetCache(Relation index, const TqMetaPageData *meta);
TqIndexCache *TqCopyCache(const TqIndexCache *cache, MemoryContext cxt);
turboquant::Metric TqIndexMetric(Relation index);
int			TqIndexBits(Relation index);
uint64		TqIndexSeed(Relation index);
uint32		TqIndexTypmodDims(Relation index);
void		TqCheckVectorDims(uint32 expect, int got);
void		TqCheckFormat(Relation index, const TqMetaPageData *meta);
Datum		TqIndexValueToTqvector(Relation index, Datum value);
inline BlockNumber
TqStripeBlock(const TqStripeGeometry *geo, uint32 stripe, uint32 page)
{
	return TQ_FIRST_STRIPE_BLKNO + stripe * geo->pages + page;
}

/* AM callbacks */
extern "C" {
IndexBuildResult *tqbuild(Relation heap, Relation index, struct IndexInfo *indexInfo);
void		tqbuildempty(Relation index);
bool		tqinsert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid,
					 Relation heap, IndexUniqueCheck checkUnique, bool indexUnchanged,
					 struct IndexInfo *indexInfo);
IndexBulkDeleteResult *tqbulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
									IndexBulkDeleteCallback callback, void *callback_state);
IndexBulkDeleteResult *tqvacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats);
IndexScanDesc tqbeginscan(Relation index, int nkeys, int norderbys);
void		tqrescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys);
bool		tqgettuple(IndexScanDesc scan, ScanDirection dir);
void		tqendscan(IndexScanDesc scan);
}

#endif /* TQINDEX_H */
