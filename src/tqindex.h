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
 * The on-disk format version, stored in the metapage and checked by
 * TqCheckFormat (tqutils.cpp) whenever the metapage is read.  Bump it when
 * anything an existing index depends on changes: the page layouts below
 * (metapage, group header, stripe geometry), or the code layout and
 * quantizer (rotation, codebooks, chunk packing, the meaning of norm and
 * factor).  An index of another version is refused with a REINDEX hint
 * rather than read as garbage.
 *   1  first release (float norms)
 *   2  norms stored as double; metapage without implicit padding
 *   3  lists: centroid pages, a list directory, stripes chained per list
 *      (list and next stripe in a 16-byte special space), stripes after them
 */
#define TQ_FORMAT_VERSION	3
#define TQ_PAGE_ID			0xFF91		/* last 2 bytes of every page's special space */
#define TQ_METAPAGE_BLKNO	0
#define TQ_INVALID_STRIPE	0xFFFFFFFFu

/* Option limits and defaults */
#define TQ_DEFAULT_BITS		4
#define TQ_MIN_BITS			2
#define TQ_MAX_BITS			4
#define TQ_DEFAULT_SEED		0x5451			/* any fixed value; stored in the metapage */
#define TQ_RERANK_AUTO		(-1)	/* turboquant.rerank default: by bits (TqRerank) */
#define TQ_MAX_RERANK		100000
#define TQ_MAX_GROUPS_PER_STRIPE 32
#define TQ_MAX_PAGES_PER_STRIPE_SOFT 16		/* G > 1 only while P stays this small */
#define TQ_MAX_PAGES_PER_STRIPE_LISTS 4		/* the same with lists (a tail stripe per list) */
#define TQ_LISTS_AUTO		(-1)	/* reloption default: lists from the table size */
#define TQ_MAX_LISTS		32768
#define TQ_PROBES_AUTO		0		/* turboquant.probes default: by lists (TqProbes) */
#define TQ_MIN_AUTO_PROBES	16		/* recall@10 >= 0.95 on the real sets (README) */
#define TQ_AUTO_PROBE_ROWS	4000	/* ... and at least this many rows scanned */
/*
 * Training budget.  On the real sets 32 sample rows per list and 5 Lloyd rounds
 * probed as well as 64 and 10 (bench/results/partition_bench-train.txt), but on
 * 100K synthetic rows from 512 clusters (316 lists) they lost recall at equal
 * rows scanned; 64 rows and 6 rounds did not (bench/results/partition_sim.txt),
 * and on 1M x 768 synthetic rows they matched 10 rounds' recall at equal probes
 * and cut the build from 20.0 to 16.6 s (docs/design.md).
 */
#define TQ_KMEANS_ITERATIONS 6
#define TQ_SAMPLES_PER_LIST	64		/* k-means training sample, at most */
/* Tables below this many rows get a flat index by default (measured, see README). */
#define TQ_AUTO_LISTS_MIN_ROWS 20000
#define TQ_AUTO_ROWS_PER_LIST 250	/* up to 62,500 rows; 2 sqrt(rows) lists beyond */
#define TQ_AUTO_LISTS_CAP	1000	/* ... up to this many, then sqrt(rows) (TqAutoLists) */

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
	uint32		n_stripes;		/* stripes in use; stripe s at first_stripe + s*P */
	uint64		seed;
	uint64		n_inserted;		/* vectors ever added (informational) */
	uint64		n_built;		/* vectors indexed by the build (for drift) */
	uint32		n_lists;		/* 1 = flat */
	uint32		centroid_blkno; /* first centroid page (n_lists > 1) */
	uint32		n_centroid_pages;
	uint32		dir_blkno;		/* first directory page */
	uint32		n_dir_pages;
	uint32		first_stripe;	/* block of stripe 0 */
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
static_assert(offsetof(TqMetaPageData, n_built) == 48, "metapage layout");
static_assert(offsetof(TqMetaPageData, n_lists) == 56, "metapage layout");
static_assert(offsetof(TqMetaPageData, centroid_blkno) == 60, "metapage layout");
static_assert(offsetof(TqMetaPageData, n_centroid_pages) == 64, "metapage layout");
static_assert(offsetof(TqMetaPageData, dir_blkno) == 68, "metapage layout");
static_assert(offsetof(TqMetaPageData, n_dir_pages) == 72, "metapage layout");
static_assert(offsetof(TqMetaPageData, first_stripe) == 76, "metapage layout");
static_assert(sizeof(TqMetaPageData) == 80, "metapage layout");

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
static_assert(sizeof(TqPageOpaqueData) == 16, "page special space layout");
static_assert(offsetof(TqPageOpaqueData, page_id) == 14, "page special space layout");

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
 * Each metric's facts the index needs, in one place: how a kernel estimate
 * becomes the value the operator would report (rerank = 0), and how vectors are
 * compared with centroids (the core's PartitionMetric: spherical k-means for
 * cosine).  Re-ranking calls the ORDER BY operator's own function instead,
 * so an index scan returns exactly what the operator computes.
 */
typedef struct TqMetricInfo
{
	turboquant::Metric metric;
	const char *name;
	double		(*report) (double estimate);
	/* the metric lists are trained and rows assigned with (core's choice); scans
	 * rank lists with turboquant::PartitionRankMetric(metric) */
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
	/*
	 * The centroids encoded for ranking with the scan kernels
	 * (turboquant::EncodeCentroids), room in the same allocation when n_lists
	 * > 1; made by the first scan that ranks with them (TqCentroidCodes), so
	 * builds and inserts never pay for them.  NULL in copies.
	 */
	void	   *centroid_codes;
	bool		codes_ready;
} TqIndexCache;

/* GUCs */
extern int	tq_rerank;
extern int	tq_probes;
int			TqRerank(int bits);
uint32		TqProbes(uint32 n_lists, double rows);

/* tqutils.cpp */
void		TqGeometryCompute(const turboquant::Layout *layout, uint32 groups,
							  TqStripeGeometry *geo);
void		TqGeometryChoose(const turboquant::Layout *layout, uint32 max_pages_soft,
							 TqStripeGeometry *geo);
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
const void *TqCentroidCodes(const TqIndexCache *cache);
TqIndexCache *TqCopyCache(const TqIndexCache *cache, MemoryContext cxt,
						  bool with_centroids = true);
turboquant::Metric TqIndexMetric(Relation index);
int			TqIndexBits(Relation index);
uint64		TqIndexSeed(Relation index);
uint32		TqIndexTypmodDims(Relation index);
void		TqCheckVectorDims(uint32 expect, int got);
void		TqCheckFormat(Relation index, const TqMetaPageData *meta);
Datum		TqIndexValueToTqvector(Relation index, Datum value);
void		TqCheckQueryDims(Relation index, int index_dims, int query_dims);

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

/* Recent-buffer hints (tqutils.cpp): ReadBuffer without the buffer-mapping lookup. */
struct TqBufferHints;
TqBufferHints *TqGetBufferHints(Relation rel);
TqBufferHints *TqGetHeapBufferHints(Relation heap);
Buffer		TqReadBufferHinted(Relation rel, TqBufferHints *h, BlockNumber blkno);
void		TqPrefetchHinted(const TqBufferHints *h, BlockNumber blkno, Size header_bytes);
void		TqPrefetchHintedItem(const TqBufferHints *h, ItemPointer tid);

/* tqscan_nulls.cpp: rows with NULL vectors, after every indexed row */
struct TqNullScan;
bool		TqScanNextNull(IndexScanDesc scan, TqNullScan **state, MemoryContext cxt);

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
