/*
 * tqindex.h — the turboquant index access method: constants, page layout,
 * structs and prototypes.
 *
 * Storage in one picture:
 *
 *   block 0                  metapage (TqMetaPageData)
 *   blocks 1..C              centroids of the lists (float32, packed across pages)
 *   blocks C+1..C+D          list directory (TqListEntry per list)
 *   blocks B..B+P-1          stripe 0        (B = first stripe block, in the metapage)
 *   blocks B+P..B+2P-1       stripe 1   ...
 *
 * The index is partitioned into lists (IVF): a vector lives in the list of
 * its nearest centroid, and a list is a chain of stripes (head to tail in
 * ascending stripe number, linked through the stripes' first pages).  A flat
 * index is the one-list case: no centroids, one directory entry, every
 * stripe in the one chain.
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
 * Stripe s is always at blocks B + s*P .. B + s*P + P - 1 (TqStripeBlock is the
 * one place that knows it): a stripe whose creation crashed before the
 * metapage counted it is simply initialised again by the next one.
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
 * On-disk format.  1: flat stripes from block 1.  2: lists (centroid pages,
 * list directory, stripe chains).  Indexes of another version must be
 * rebuilt (REINDEX); TqReadMeta says so.
 */
#define TQ_PAGE_VERSION		2
#define TQ_PAGE_ID			0xFF91		/* last 2 bytes of every page's special space */
#define TQ_METAPAGE_BLKNO	0
#define TQ_INVALID_STRIPE	0xFFFFFFFFu

/* Option limits and defaults */
#define TQ_DEFAULT_BITS		4
#define TQ_MIN_BITS			2
#define TQ_MAX_BITS			4
#define TQ_DEFAULT_SEED		0x5451			/* any fixed value; stored in the metapage */
#define TQ_DEFAULT_RERANK	200
#define TQ_MAX_RERANK		100000
#define TQ_MAX_GROUPS_PER_STRIPE 32
#define TQ_MAX_PAGES_PER_STRIPE_SOFT 16		/* G > 1 only while P stays this small */
#define TQ_LISTS_AUTO		(-1)	/* reloption default: lists from the table size */
#define TQ_MAX_LISTS		32768
#define TQ_DEFAULT_PROBES	16
#define TQ_KMEANS_ITERATIONS 10
#define TQ_SAMPLES_PER_LIST	64		/* k-means training sample, at most */
/* Tables below this many rows get a flat index by default (measured, see README). */
#define TQ_AUTO_LISTS_MIN_ROWS 20000

/* Build phases in pg_stat_progress_create_index (tqbuildphasename) */
#define TQ_PHASE_SAMPLE		2
#define TQ_PHASE_TRAIN		3
#define TQ_PHASE_ASSIGN		4
#define TQ_PHASE_WRITE		5
#define TQ_PHASE_WAL		6

/* Page flags (special space) */
#define TQ_PAGE_META		(1 << 0)
#define TQ_PAGE_STRIPE_HEAD	(1 << 1)
#define TQ_PAGE_STRIPE_CONT	(1 << 2)
#define TQ_PAGE_CENTROIDS	(1 << 3)
#define TQ_PAGE_DIRECTORY	(1 << 4)

/* Support procedure: returns the opclass's metric (turboquant::Metric). */
#define TQ_METRIC_PROC		1
#define TQ_NPROCS			1

typedef struct TqPageOpaqueData
{
	uint32		stripe;			/* stripe number (data pages) */
	uint32		list;			/* list the stripe belongs to (data pages) */
	uint32		next;			/* next stripe of the list, TQ_INVALID_STRIPE at its tail
								 * (meaningful on a stripe's first page) */
	uint16		flags;
	uint16		page_id;		/* TQ_PAGE_ID, last */
} TqPageOpaqueData;
typedef TqPageOpaqueData *TqPageOpaque;

#define TqPageGetOpaque(page) ((TqPageOpaque) PageGetSpecialPointer(page))
/* Where the special space starts: data ends here. */
#define TQ_PAGE_DATA_END	(BLCKSZ - MAXALIGN(sizeof(TqPageOpaqueData)))
/* Code chunks start 64-byte aligned (relative to the page) for the kernels. */
#define TQ_CHUNK_ALIGN		64

typedef struct TqMetaPageData
{
	uint32		magic;
	uint32		version;
	uint32		dims;			/* 0 until the first vector is seen */
	uint32		padded_dim;
	uint16		bits;
	uint16		metric;			/* turboquant::Metric */
	uint32		groups_per_stripe;	/* G */
	uint32		pages_per_stripe;	/* P */
	uint64		seed;
	uint32		n_stripes;		/* stripes in use; stripe s at first_stripe + s*P */
	uint32		n_lists;		/* 1 = flat */
	uint64		n_inserted;		/* vectors ever added (informational) */
	uint64		n_built;		/* vectors indexed by the build (for drift) */
	uint32		centroid_blkno; /* first centroid page (n_lists > 1) */
	uint32		n_centroid_pages;
	uint32		dir_blkno;		/* first directory page */
	uint32		n_dir_pages;
	uint32		first_stripe;	/* block of stripe 0 */
	uint32		unused;
} TqMetaPageData;
typedef TqMetaPageData *TqMetaPage;

#define TqPageGetMeta(page) ((TqMetaPage) PageGetContents(page))

/* One group's header on the stripe's first page. */
typedef struct TqGroupHeader
{
	uint32		used_mask;		/* bit s: slot s holds a vector */
	uint32		unused;
	ItemPointerData tids[turboquant::kBlockVectors];
	float		norms[turboquant::kBlockVectors];
	float		factors[turboquant::kBlockVectors];
} TqGroupHeader;

#define TQ_GROUP_HEADER_SIZE MAXALIGN(sizeof(TqGroupHeader))

/* One list's directory entry. */
typedef struct TqListEntry
{
	uint32		head;			/* first stripe, TQ_INVALID_STRIPE when empty */
	uint32		tail;			/* last stripe: where inserts go */
	uint32		free_hint;		/* a stripe of the list VACUUM found with free slots */
	uint32		n_stripes;		/* stripes in the chain */
	uint32		n_built;		/* vectors the build put in the list */
	uint32		unused;
} TqListEntry;

static_assert(sizeof(TqPageOpaqueData) == 16, "page opaque is part of the format");
static_assert(sizeof(TqListEntry) == 24, "directory entry is part of the format");

/* Centroid floats and directory entries per page. */
#define TQ_PAGE_CONTENT_BYTES (TQ_PAGE_DATA_END - MAXALIGN(SizeOfPageHeaderData))
#define TQ_CENTROID_FLOATS_PER_PAGE (TQ_PAGE_CONTENT_BYTES / sizeof(float))
#define TQ_LISTS_PER_DIR_PAGE (TQ_PAGE_CONTENT_BYTES / sizeof(TqListEntry))

/*
 * Where things are inside a stripe, derived from (layout, G), and where
 * stripes start: everything TqStripeBlock needs.
 */
typedef struct TqStripeGeometry
{
	uint32		base;			/* block of stripe 0 */
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
	int			lists;			/* TQ_LISTS_AUTO, 0 (flat) or a count */
} TqOptions;

/*
 * Each metric's facts in one place: the exact distance the operator
 * computes (re-ranking), how a kernel estimate becomes the reported value,
 * and how vectors are compared with centroids (the core's PartitionMetric:
 * spherical k-means for cosine).
 */
typedef struct TqMetricInfo
{
	turboquant::Metric metric;
	const char *name;
	double		(*exact) (const float *a, const float *b, int n);
	double		(*report) (float estimate);
	/* the metric lists are trained, assigned and ranked with (core's choice) */
	turboquant::Metric partition;
} TqMetricInfo;

const TqMetricInfo *TqGetMetricInfo(turboquant::Metric metric);

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
	uint32		n_lists;
	const TqMetricInfo *mi;
	float	   *centroids;		/* n_lists x dims (n_lists > 1), same allocation */
	turboquant::Quantizer *qz;	/* in the same allocation */
} TqIndexCache;

/* GUCs */
extern int	tq_rerank;
extern int	tq_probes;

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
						   uint32 pageno, uint32 list);
void		TqInitMetaPage(Page page, const TqMetaPageData *contents);
void		TqInitPlainPage(Page page, uint16 flags, Size used);
TqMetaPageData TqMakeMeta(uint32 dims, int bits, turboquant::Metric metric, uint64 seed,
						  uint32 n_lists);
Buffer		TqExtendTo(Relation index, BlockNumber expect);
void		TqPageError(Page page, Relation index, BlockNumber blkno);
void		TqReadDirectory(Relation index, const TqMetaPageData *meta, TqListEntry *out);
BlockNumber TqDirEntryBlock(const TqMetaPageData *meta, uint32 list);
TqListEntry *TqDirEntry(Page page, uint32 list);
uint32		TqNearestList(const TqIndexCache *cache, const float *x);
TqMetaPageData TqReadMeta(Relation index);
const TqIndexCache *TqGetCache(Relation index, const TqMetaPageData *meta);
int			TqIndexLists(Relation index);
TqIndexCache *TqCopyCache(const TqIndexCache *cache, MemoryContext cxt);
turboquant::Metric TqIndexMetric(Relation index);
int			TqIndexBits(Relation index);
uint64		TqIndexSeed(Relation index);
uint32		TqIndexTypmodDims(Relation index);
void		TqCheckVectorDims(uint32 expect, int got);

/* Block of page `page` of stripe `stripe`: the one home of stripe addressing. */
static inline BlockNumber
TqStripeBlock(const TqStripeGeometry *geo, uint32 stripe, uint32 page)
{
	return geo->base + stripe * geo->pages + page;
}

/* The stripe whose first page is `blkno`, or TQ_INVALID_STRIPE. */
static inline uint32
TqBlockStripe(const TqStripeGeometry *geo, BlockNumber blkno)
{
	if (blkno < geo->base || (blkno - geo->base) % geo->pages != 0)
		return TQ_INVALID_STRIPE;
	return (blkno - geo->base) / geo->pages;
}

/*
 * Errors unless the page is an initialised turboquant page of one of the
 * given kinds.  Inline: every page a scan reads goes through it.
 */
static inline void
TqCheckPage(Page page, Relation index, BlockNumber blkno, uint16 expect_flags)
{
	const TqPageOpaqueData *opaque = (const TqPageOpaqueData *) ((char *) page + TQ_PAGE_DATA_END);

	if (unlikely(PageIsNew(page) || ((PageHeader) page)->pd_special != TQ_PAGE_DATA_END ||
				 opaque->page_id != TQ_PAGE_ID || (opaque->flags & expect_flags) == 0))
		TqPageError(page, index, blkno);
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

/*
 * The vector an indexed value stands for (tqutils.cpp): the one place build,
 * insert, scan and the checker read an indexed datum.
 */
struct TqVector;
const struct TqVector *TqIndexDatumVector(Relation index, Datum value);

#endif /* TQINDEX_H */
