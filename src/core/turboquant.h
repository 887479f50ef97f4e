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
 * Pipeline (DESIGN.md):
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

} /* namespace turboquant */

#endif /* TURBOQUANT_CORE_H */
