/*
 * turboquant.h — the TurboQuant core library: pure C++, no PostgreSQL.
 *
 * This header is the whole contract between the core and its callers (the
 * PostgreSQL glue in src/, the unit tests in test/core/, the benchmarks in
 * bench/).  It is C-friendly in spirit: every object a caller keeps is a
 * trivially-copyable blob in caller-provided memory, so the glue can palloc it
 * in a relcache memory context and never run a C++ destructor.  Every function
 * here is noexcept: nothing throws across this boundary.
 *
 * Pipeline (docs/design.md):
 *   encode:  x -> (norm = |x|, u = x/|x|) -> r = R u (padded) -> Lloyd-Max codes
 *            per coordinate -> factor (per-vector correction) -> packed into a
 *            32-vector block at a slot.
 *   search:  q -> rotate once -> per-query 8-bit lookup tables -> SIMD scan of
 *            blocks (integer accumulators) -> float estimate of <q_unit, u> ->
 *            metric-specific distance estimate -> top-k -> exact re-rank (caller).
 */
#ifndef TURBOQUANT_CORE_H
#define TURBOQUANT_CORE_H

#ifdef POSTGRES_H
#error "src/core must not see PostgreSQL headers"
#endif

#include <cstddef>
#include <cstdint>

namespace turboquant {

/* Limits shared with the SQL type. */
constexpr uint32_t kMaxDim = 16000;
/* Vectors per code block: the unit the scan kernels work on. */
constexpr uint32_t kBlockVectors = 32;
constexpr int kMinBits = 1;
constexpr int kMaxBits = 4;

enum class Metric : uint8_t { kL2 = 0, kCosine = 1, kInnerProduct = 2 };

/* ---- SIMD kernel sets ---------------------------------------------------- */

/*
 * The scan kernels come in sets, one per instruction set: "scalar" (the
 * specification), "avx2", "avx512" (AVX-512BW), "avx512vnni" (AVX-512 with
 * VBMI and VNNI), "neon".  Every set returns exactly the scalar results.
 * PrepareQuery records the active set in the query's tables, so a query uses
 * one set throughout.  The environment variable TURBOQUANT_SIMD names the
 * initial set (auto, or a set name); an unknown or unrunnable name means auto.
 */
/* Sets this build knows (whether or not this CPU runs them). */
int KernelSetCount() noexcept;
const char *KernelSetName(int set) noexcept;
/* Whether this build has the set's kernels and this CPU runs them. */
bool KernelSetRuns(int set) noexcept;
/* The set's index, or -1 for an unknown name ("auto" is not a set). */
int FindKernelSet(const char *name) noexcept;
/* The preferred set this CPU runs. */
int BestKernelSet() noexcept;
/* Forces a set (-1 = auto, the best); false (and no change) if this CPU cannot run it. */
bool SetKernelSet(int set) noexcept;
/* The set in force (never -1). */
int ActiveKernelSet() noexcept;
/* The set TURBOQUANT_SIMD names if this CPU runs it, else -1 (auto). */
int KernelSetFromEnvironment() noexcept;

/* ---- Codebooks ---------------------------------------------------------- */

/*
 * Lloyd-Max quantizer for one coordinate of a uniformly random unit vector in
 * `dim` dimensions (density proportional to (1-t^2)^((dim-3)/2) on [-1,1]),
 * in absolute units (multiply Gaussian-unit tables by 1/sqrt(dim) to compare).
 * centroid[0..2^bits) ascending; boundary[i] separates centroid i and i+1.
 */
struct Codebook {
	int bits;
	uint32_t dim;
	float centroid[16];
	float boundary[15];
	double mse_per_coordinate; /* expected squared error per coordinate */
};
/* Computes (memoised per (dim, bits)); false for bits outside 1..4 or dim < 1. */
bool GetCodebook(uint32_t dim, int bits, Codebook *out) noexcept;

/* ---- Quantizer: everything fixed by (dim, bits, seed) ------------------- */

/*
 * How the codes of one 32-vector block are laid out.  A block's codes are
 * n_chunks chunks of chunk_bytes each; chunk c covers rotated coordinates
 * [c*chunk_dims, (c+1)*chunk_dims).  Kernels can start and stop at any chunk
 * boundary, so a block larger than a page can be split across pages at chunk
 * boundaries and scanned piece by piece into the same accumulators.
 */
struct Layout {
	uint32_t dim;        /* input dimension */
	uint32_t padded_dim; /* rotated dimension, a multiple of chunk_dims */
	int bits;            /* 2, 3 or 4 for scanning; 1 allowed for encode/decode */
	uint32_t chunk_dims;
	uint32_t chunk_bytes;
	uint32_t n_chunks;
	uint32_t block_bytes; /* n_chunks * chunk_bytes */
};

/* Opaque, trivially copyable, position independent (no internal pointers). */
struct Quantizer;

/* Bytes needed for a Quantizer; 0 when (dim, bits) is not supported. */
size_t QuantizerSize(uint32_t dim, int bits) noexcept;
/* Bytes of one block of 32 vectors' codes (Layout::block_bytes); 0 when not supported. */
size_t BlockBytes(uint32_t dim, int bits) noexcept;
/*
 * Builds the quantizer (rotation from seed, codebook, layout) in `mem`
 * (QuantizerSize bytes, 16-byte aligned).  Deterministic for (dim, bits, seed)
 * on every platform.  Milliseconds even at dim = 16000.
 */
bool QuantizerInit(void *mem, uint32_t dim, int bits, uint64_t seed) noexcept;
const Layout &QuantizerLayout(const Quantizer *qz) noexcept;
const Codebook &QuantizerCodebook(const Quantizer *qz) noexcept;

/* Scratch floats any call below may need: 2 * padded_dim + 64. */
size_t ScratchFloats(const Quantizer *qz) noexcept;

/* Applies the orthogonal rotation: in has dim floats, out padded_dim floats. */
void Rotate(const Quantizer *qz, const float *in, float *out, float *scratch) noexcept;
/* Inverse rotation: in padded_dim floats, out dim floats. */
void RotateInverse(const Quantizer *qz, const float *in, float *out, float *scratch) noexcept;

/*
 * Encodes x (dim floats, finite): codes[padded_dim] (one code per byte),
 * *norm = |x|, *factor = the per-vector correction applied to the estimated
 * inner product (so that estimate(<q,u>) = lut_sum * factor).  A zero vector
 * encodes to norm 0, factor 0.  Norms are doubles: the norm of a finite float
 * vector can exceed FLT_MAX ([3e38,3e38]) or lie below the float subnormal
 * range, never the double range (sqrt(kMaxDim) * FLT_MAX is about 4.3e40).
 */
void Encode(const Quantizer *qz, const float *x, uint8_t *codes, double *norm,
			float *factor, float *scratch) noexcept;
/*
 * Encodes n vectors, x[i] pointing at dim floats each: codes n * padded_dim
 * bytes (vector i at i * padded_dim), norms[n], factors[n]; exactly what
 * Encode gives for each, several times faster (vectors are rotated 8 at a
 * time).  scratch: EncodeBatchScratchFloats(qz) floats (17 * padded_dim + 64).
 */
size_t EncodeBatchScratchFloats(const Quantizer *qz) noexcept;
void EncodeBatch(const Quantizer *qz, const float *const *x, uint32_t n, uint8_t *codes,
				 double *norms, float *factors, float *scratch) noexcept;
/* Reconstructs an approximation of x (dim floats) from its codes, for tests. */
void Decode(const Quantizer *qz, const uint8_t *codes, double norm, float *out,
			float *scratch) noexcept;

/*
 * Writes one vector's codes into slot `slot` (0..31) of a block, for chunks
 * [chunk_begin, chunk_end) only; `chunks` points at chunk chunk_begin.  The
 * slot's previous bits in those chunks are replaced, other slots untouched.
 */
void PackSlot(const Layout &layout, const uint8_t *codes, uint32_t slot,
			  uint32_t chunk_begin, uint32_t chunk_end, uint8_t *chunks) noexcept;
/*
 * Packs the codes of n <= 32 vectors (padded_dim bytes each, consecutive, as
 * EncodeBatch writes them) into slots 0..n-1 of chunks [chunk_begin,
 * chunk_end) of a block, whole bytes at a time; slots n..31 get code 0.
 * Equals PackSlot for each slot into a zeroed block, several times faster.
 */
void PackBlock(const Layout &layout, const uint8_t *codes, uint32_t n, uint32_t chunk_begin,
			   uint32_t chunk_end, uint8_t *chunks) noexcept;
/* Reads back one slot's codes from a whole block (for tests and checks). */
void UnpackSlot(const Layout &layout, const uint8_t *block, uint32_t slot,
				uint8_t *codes) noexcept;

/* ---- Queries ------------------------------------------------------------ */

/* Bytes of a query's lookup tables (64-byte aligned buffer expected). */
size_t QueryLutSize(const Quantizer *qz) noexcept;
/*
 * Rotates q (dim floats) and builds its 8-bit lookup tables in lut (QueryLutSize
 * bytes, 64-byte aligned).  The lut remembers the metric and |q|.
 */
void PrepareQuery(const Quantizer *qz, Metric metric, const float *q,
				  uint8_t *lut, float *scratch) noexcept;

/*
 * Adds the integer table sums of chunks [chunk_begin, chunk_begin + n) of one
 * block into acc[32] (one per slot).  `chunks` points at chunk chunk_begin.
 * Exact integer arithmetic: no overflow for any dim <= kMaxDim; every SIMD level
 * returns the same acc as the scalar kernel.
 */
void ScanChunks(const uint8_t *lut, const uint8_t *chunks, uint32_t chunk_begin,
				uint32_t n, uint32_t acc[kBlockVectors]) noexcept;

/*
 * Turns a block's accumulators (all chunks summed) into distance estimates for
 * the lut's metric (smaller = closer): L2 -> squared distance, cosine -> 1 - cos,
 * inner product -> -<q,x>.  norm/factor are the slots' stored values.
 * Computed and returned in double: with norms up to ~4.3e40 the squared terms
 * reach ~1.8e81, far beyond float, and a float estimate would overflow (to
 * NaN or infinity) for any |x| above ~1.8e19 and rank such rows arbitrarily.
 */
void EstimateDistances(const uint8_t *lut, const uint32_t acc[kBlockVectors],
					   const double *norm, const float *factor,
					   double out[kBlockVectors]) noexcept;

/* Convenience: a whole contiguous array of blocks (block_bytes each). */
void ScanBlocks(const uint8_t *lut, const uint8_t *blocks, size_t n_blocks,
				const double *norms, const float *factors, double *out) noexcept;

/* ---- Top-k -------------------------------------------------------------- */

/*
 * Keeps the k smallest (distance, id) pairs seen; caller owns the arrays
 * (capacity k).  Ties broken by the smaller id, so results are deterministic.
 */
struct TopK {
	double *dist;
	uint64_t *id;
	uint32_t k;
	uint32_t size;
};
void TopKInit(TopK *t, double *dist, uint64_t *id, uint32_t k) noexcept;
/* Returns whether d could enter (fast reject for the scan loop). */
inline bool TopKAccepts(const TopK *t, double d) noexcept
{
	return t->size < t->k || d <= t->dist[0];
}
void TopKPush(TopK *t, double d, uint64_t id) noexcept;
/* Sorts the kept pairs ascending in place (dist[0] nearest). */
void TopKSort(TopK *t) noexcept;

/* ==== k-means for partitions (kmeans.cpp) ================================
 *
 * Coarse centroids for a partitioned (IVF-style) index: lists are learned,
 * codes stay data-oblivious.  All matrix work is Eigen (distances of a block
 * of vectors to every centroid as |x|^2 - 2 X C^T + |c|^2, one GEMM per
 * block) over caller buffers; every function is noexcept and allocates
 * nothing itself (Eigen's GEMM may take a temporary packing buffer from the
 * heap; a failure there is caught: training returns false, assignment falls
 * back to a plain loop).
 *
 * Layout: data, centroids and queries are row-major float arrays (row i =
 * dim floats at p + i * dim), finite values only.  Scratch needs only
 * 8-byte alignment (palloc is fine).
 *
 * Distances, the same everywhere below (smaller = nearer, ties to the
 * smaller centroid index):
 *   kL2           squared L2 distance |x - c|^2 (plain Lloyd k-means).
 *   kCosine       1 - <x/|x|, c>: spherical k-means, the data normalised,
 *                 centroids renormalised to unit length after every update
 *                 (a zero vector is at distance 1 from every centroid).
 *   kInnerProduct -<x, c> (largest inner product first).
 * Which of these a partitioned index uses is chosen by measurement (kmeans.cpp
 * essay): rows are trained and assigned with PartitionMetric(index metric),
 * queries rank lists with PartitionRankMetric(index metric).  They differ only
 * for inner product: lists by L2 (balanced), probe order by inner product.
 *
 * Determinism: the same (data, n, dim, k, metric, seed, iterations) give the
 * same centroids on every run of the same build: own PRNG (splitmix64), no
 * std:: distributions, single-threaded Eigen (EIGEN_DONT_PARALLELIZE), sums in
 * double in a fixed order.  Builds for different ISAs may round GEMM sums
 * differently in the last bit, so ties can resolve differently across them.
 */

/* The metric lists are trained and rows assigned with, for an index metric. */
Metric PartitionMetric(Metric index_metric) noexcept;
/* The metric a query ranks the lists with (RankCentroids), for an index metric. */
Metric PartitionRankMetric(Metric index_metric) noexcept;

/* Bytes of scratch KMeansTrain needs (0 if the sizes overflow). */
size_t KMeansScratchBytes(size_t n, uint32_t dim, uint32_t k) noexcept;

/*
 * Trains k centroids (written to centroids[k * dim]) from n vectors.  Init is
 * k-means++ (D^2 sampling) on a random subset of min(n, 8k) points (measured
 * against full k-means++ and random init, see kmeans.cpp), then `iterations` Lloyd rounds (stops early once no
 * assignment changes).  Empty clusters are repaired each round by moving the
 * point farthest from its centroid (taken from a cluster of size > 1) into
 * the empty one.  k > n: every point becomes a centroid and the remaining
 * k - n repeat points cyclically (their lists stay empty, since ties go to the
 * smaller index); callers should clamp k to n.  Returns false for n == 0,
 * k == 0, dim == 0 or dim > kMaxDim, or if Eigen could not get memory.
 * For kCosine the returned centroids have unit length.
 */
bool KMeansTrain(const float *data, size_t n, uint32_t dim, uint32_t k, Metric metric,
				 uint64_t seed, int iterations, float *centroids, void *scratch) noexcept;

/* How KMeansTrainEx seeds (kPlusPlusSampled is what KMeansTrain uses). */
enum class KMeansInit : uint8_t {
	kPlusPlus = 0,        /* k-means++ over all n points */
	kRandom = 1,          /* k distinct random points */
	kPlusPlusSampled = 2, /* k-means++ over a random subset of min(n, 8k) points */
};
/* The init KMeansTrain uses. */
constexpr KMeansInit kKMeansDefaultInit = KMeansInit::kPlusPlusSampled;
/* What a training run did (for tests and benchmarks). */
struct KMeansStats {
	int iterations_run;      /* Lloyd rounds performed */
	uint32_t empty_repaired; /* empty clusters refilled, over all rounds */
	double init_objective;   /* sum of distances after init (first assignment) */
	double final_objective;  /* sum of distances at the last assignment */
	double init_seconds;     /* wall time of the init */
	double total_seconds;    /* wall time of the whole training */
};
/* KMeansTrain with a chosen init and statistics (stats may be null). */
bool KMeansTrainEx(const float *data, size_t n, uint32_t dim, uint32_t k, Metric metric,
				   uint64_t seed, int iterations, KMeansInit init, float *centroids,
				   void *scratch, KMeansStats *stats) noexcept;

/*
 * Training one Lloyd round at a time, for a caller that spreads each round's
 * assignment over several processes (a parallel index build):
 *
 *   KMeansStart(...)                      init (the state lives in st and scratch)
 *   while (!st.done) {
 *     KMeansAssignRows(C, data, b, e, labels, dist, ascratch, &st)
 *                                         for ranges [b, e) covering [0, n), each b
 *                                         a multiple of KMeansAssignAlign(dim, k),
 *                                         in any process (ascratch: AssignScratchBytes)
 *     KMeansFinishRound(data, C, scratch, labels, dist, &st)
 *   }
 *
 * gives exactly KMeansTrainEx's centroids: aligned ranges are the same
 * matrix-product blocks KMeansTrainEx computes.  Every process must run the
 * build KMeansStart chose (st.build), which KMeansAssignRows does.
 */
/* The builds of the k-means matrix work (KMeansBuild names the one in force). */
enum class KMeansBuildId : uint8_t { kBaseline, kAvx2, kAvx512 };
struct KMeansState {
	size_t n;
	uint32_t dim, k;
	Metric metric; /* the training metric (L2 or cosine) */
	int iterations;
	int round;     /* rounds finished */
	bool done;
	KMeansBuildId build; /* which build of the matrix work started the training */
	KMeansStats stats;
};
bool KMeansStart(const float *data, size_t n, uint32_t dim, uint32_t k, Metric metric,
				 uint64_t seed, int iterations, KMeansInit init, float *centroids, void *scratch,
				 KMeansState *st) noexcept;
bool KMeansAssignRows(const float *centroids, const float *data, size_t begin, size_t end,
					  uint32_t *labels, float *dist, void *scratch, const KMeansState *st) noexcept;
bool KMeansFinishRound(const float *data, float *centroids, void *scratch, const uint32_t *labels,
					   const float *dist, KMeansState *st) noexcept;
size_t KMeansAssignAlign(uint32_t dim, uint32_t k) noexcept;

/* Bytes of scratch AssignNearest needs for (dim, k), any n. */
size_t AssignScratchBytes(uint32_t dim, uint32_t k) noexcept;
/*
 * Nearest centroid of each of n vectors x: out_list[i] in [0, k), out_dist[i]
 * its distance (definitions above; out_dist may be null).  Blocks of vectors
 * against all centroids in one GEMM each.  Equals a brute-force loop up to
 * float rounding of the distances.
 */
void AssignNearest(const float *centroids, uint32_t k, uint32_t dim, Metric metric, const float *x,
				   size_t n, uint32_t *out_list, float *out_dist, void *scratch) noexcept;

/*
 * All k centroids ranked for one query q (dim floats): dist[c] = distance of
 * q to centroid c (indexed by centroid), order[0..k) the centroid indices
 * nearest first (ties: smaller index; NaN last).  The probe order of a scan.
 * With `sorted` < k only order[0..sorted) is guaranteed to be the `sorted`
 * nearest in that order; the other indices follow in unspecified order
 * (SelectNearest orders more of them later): a scan probing 16 of 1000
 * lists need not sort all 1000.
 */
void RankCentroids(const float *centroids, uint32_t k, uint32_t dim, Metric metric, const float *q,
				   uint32_t *order, float *dist, uint32_t sorted = UINT32_MAX) noexcept;
/*
 * Which build of the k-means matrix work (training, AssignNearest,
 * RankCentroids) runs now: "avx512" (when the CPU has AVX-512 F/DQ/VL/BW and
 * the kernel set in force is an AVX-512 one), "avx2" (AVX2 + FMA, when the CPU
 * has them and the kernel set in force is an AVX2 or AVX-512 one) or
 * "baseline".
 */
const char *KMeansBuild() noexcept;
/*
 * Reorders the centroid indices order[0..n) so that order[0..take) are the
 * `take` nearest by dist (indexed by centroid), in RankCentroids' order.
 */
void SelectNearest(const float *dist, uint32_t *order, uint32_t n, uint32_t take) noexcept;

/*
 * Coded centroids: the k centroids encoded with the index's own quantizer and
 * packed in scan blocks, so a query ranks the lists with the scan kernels on
 * bits/32 of the float bytes (1,000 x 300-d centroids: 150 kB at 4 bits
 * instead of 1.2 MB read per query) and computes exact distances only for a
 * shortlist.  `mem`: CentroidCodesBytes(dim, bits, k) bytes, 64-byte aligned.
 * EncodeCentroids needs CentroidCodesScratchFloats(qz) floats of scratch.
 */
size_t CentroidCodesBytes(uint32_t dim, int bits, uint32_t k) noexcept;
size_t CentroidCodesScratchFloats(const Quantizer *qz) noexcept;
void EncodeCentroids(const Quantizer *qz, const float *centroids, uint32_t k, void *mem,
					 float *scratch) noexcept;
/*
 * Like RankCentroids, from the coded centroids and the query's lookup tables
 * (PrepareQuery on qz, the quantizer the codes were made with, for metric and q): every centroid's
 * distance is first estimated from its codes, then the `shortlist` nearest by
 * estimate (at least `sorted`) get the exact distance RankCentroids computes,
 * and order[0..sorted) are the `sorted` nearest of the shortlist by it.  The
 * other entries of dist stay estimates (the order of later probes).
 * est: (k + 31) / 32 * 32 doubles of scratch.  For cosine the centroids are
 * unit vectors (as spherical k-means trains them), so that the estimate
 * (1 - cos) and the exact distance (1 - <q/|q|, c>) agree.
 */
void RankCentroidsCoded(const Quantizer *qz, const uint8_t *lut, const void *codes, const float *centroids, uint32_t k,
						uint32_t dim, Metric metric, const float *q, uint32_t *order, float *dist,
						uint32_t sorted, uint32_t shortlist, double *est) noexcept;

/*
 * The shortlist RankCentroidsCoded needs to probe `sorted` lists at `bits`
 * bits as exactly as RankCentroids (measured on trained centroids, test
 * KMeans.RankCentroidsCodedFindsTheExactNearest): 2 * sorted + 32 at 4 bits,
 * twice that with the coarser 2- and 3-bit codes.
 */
uint32_t CodedRankShortlist(uint32_t sorted, int bits) noexcept;

/* ==== end of k-means ===================================================== */

} /* namespace turboquant */

#endif /* TURBOQUANT_CORE_H */
