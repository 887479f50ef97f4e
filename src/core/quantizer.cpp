/*
 * quantizer.cpp — layout, encoding, packing and query tables.
 *
 * Encoding.  x -> norm = |x| (in double, kept in double: the norm of a finite
 * float vector can exceed FLT_MAX or fall below the float range) -> r = R (x / norm) -> one
 Lloyd-Max code per rotated
 * coordinate -> factor.  The factor corrects the score of the reconstruction
 * x_hat = centroid[codes] so that <q_rot, x_hat> * factor estimates <q_unit, u>.
 * Two choices were measured on real data (test/core/test_recall.cpp):
 * 1 / |x_hat| (project onto the sphere: the reference numpy TurboQuant) and
 * 1 / <r, x_hat> (turbovec's unbiased inner product).  1 / |x_hat| ranks
 * better (see the report in the test output), so it is what Encode stores.
 *
 * Code layout.  Vectors are stored 32 to a block; a block is n_chunks chunks
 * of chunk_bytes, chunk c holding rotated coordinates [c*chunk_dims, ...) of
 * all 32 slots, so a block can be cut at any chunk boundary (8 kB pages) and
 * the pieces scanned one after the other into the same accumulators.  The
 * scan is FAISS's "fast scan": a *unit* is a 4-bit index with a 16-entry
 * 8-bit lookup table, and one in-lane byte shuffle looks up 16 slots at once.
 *   bits 4: a unit is one dim;  bits 2: a pair of dims (c0 | c1 << 2);
 *   bits 1: four dims.  All three share the nibble kernel.  A unit's group is
 *   16 bytes: byte t = nib[slot t] | nib[slot t + 16] << 4.  A chunk is four
 *   units (64 bytes: one AVX-512 register, one cache line).
 *   bits 3: a pair of dims has a 6-bit index, too many for one 16-entry
 *   table (the old layout used four sub-tables picked by selector bits: 4-7x
 *   the 2-bit cost on AVX2).  Instead the 3-bit codebook is additive:
 *   centroid[k] = A[k & 3] + (k >> 2) * delta (codebook.cpp: Lloyd-Max under
 *   that constraint, +7% MSE against the free 3-bit quantizer), so a code's
 *   contribution q * centroid splits exactly into q * A[low 2 bits] plus
 *   q * delta * (high bit).  The low bits of a pair of dims form one unit,
 *   the high bits of four dims another: 0.75 units per dim, exactly the mean
 *   of 2 bits (0.5) and 4 bits (1), scanned by the same nibble kernel as every
 *   other width.  A chunk is 16 dims: units 0..7 the low-bit pairs (dims 2u,
 *   2u+1), units 8..11 the high bits of dims 4m..4m+3 (bit i = dim 4m+i):
 *   three groups, 192 bytes, exactly 3 bits per dim.
 *   In every layout unit u of a chunk is the 16 bytes at offset 16u.

 * Query tables.  The query is normalized and rotated once; each unit gets its
 * 16 (or 4 x 16) float entries e = sum_i q_i * centroid[code_i], then is
 * quantized to integers with its own offset (its minimum) and one global
 * scale mapping the widest unit range to the largest entry.  Scores are
 * offset_sum + acc / scale.  The error per unit is at most half a step of the
 * widest unit, independent of d: unlike FAISS we never shrink the scale to
 * keep 16-bit sums from overflowing; kernels instead widen to 32 bits often
 * enough (scan_*.cpp), so sums are exact for any d <= kMaxDim.
 *
 * Table precision.  8-bit entries (255 levels) cost some R@1@1 on tightly
 * clustered data (debian-fasttext300, 4 bits: 0.858 with 16-bit entries,
 * 0.833 with 8-bit), but re-ranking wins it back: recall@10 at the default
 * re-rank budget (200) is >= 0.998 on every shared set at 2, 3 and 4 bits
 * either way (test_recall.cpp prints and asserts it).  8-bit tables halve the
 * kernel work, so they are the default, except for tiny vectors (at most 32
 * units: see kTwoPlaneMaxUnits).  Tables can have two byte
 * planes (entry = low + 256 * high, 16-bit, a second shuffle per nibble into
 * separate accumulators; sums exact: 16000 * 65535 < 2^32), forced with
 * TURBOQUANT_LUT_PLANES=2 for experiments; the lut header records the choice.
 */
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "scan_internal.h"

namespace turboquant {

namespace {

/*
 * Layouts with at most this many units per vector keep 16-bit tables: there
 * the kernel is a small share of the per-block cost, and a tiny vector has few
 * units to average the table rounding over (an L2 query among near-parallel
 * 2-d vectors of large, varying norm needs the inner product to ~1e-4).
 */
constexpr uint32_t kTwoPlaneMaxUnits = 32;

/* Fills the layout of (dim, bits): chunk geometry per bit width. */
bool
MakeLayout(uint32_t dim, int bits, Layout *l)
{
	if (dim < 1 || dim > kMaxDim || bits < kMinBits || bits > kMaxBits)
		return false;
	l->dim = dim;
	l->bits = bits;
	switch (bits) {
	case 1:
		l->chunk_dims = 16;
		l->chunk_bytes = kGroupBytes;
		break;
	case 2:
		l->chunk_dims = 8;
		l->chunk_bytes = kGroupBytes;
		break;
	case 3:
		l->chunk_dims = 16;
		l->chunk_bytes = 3 * kGroupBytes;
		break;
	default:
		l->chunk_dims = 4;
		l->chunk_bytes = kGroupBytes;
		break;
	}
	l->padded_dim = (dim + l->chunk_dims - 1) / l->chunk_dims * l->chunk_dims;
	l->n_chunks = l->padded_dim / l->chunk_dims;
	l->block_bytes = l->n_chunks * l->chunk_bytes;
	return true;
}

inline size_t
AlignUp(size_t n, size_t a)
{
	return (n + a - 1) / a * a;
}

/*
 * |x| in double: the sum of squares of finite floats is at most
 * kMaxDim * FLT_MAX^2 (about 1.8e81) and at least the square of the smallest
 * subnormal (about 2e-90), both well inside the double range, so the norm of
 * every legal vector is exact to double rounding.
 */
double
VectorNorm(const float *x, uint32_t dim)
{
	double ss = 0.0;
	for (uint32_t i = 0; i < dim; i++)
		ss += (double) x[i] * (double) x[i];
	return std::sqrt(ss);
}

/*
 * Quantizes rotated coordinates: each code is the number of boundaries below
 * the value (nearest centroid).  Boundary by boundary over all coordinates,
 * so the compiler vectorizes the comparisons (4 to 16 at once) instead of a
 * 15-step scalar loop per coordinate at 4 bits.
 */
void
QuantizeRotated(const Codebook &cb, int levels, const float *r, uint32_t n, uint8_t *codes)
{
	std::memset(codes, 0, n);
	for (int k = 0; k + 1 < levels; k++) {
		const float b = cb.boundary[k];
		for (uint32_t i = 0; i < n; i++)
			codes[i] = (uint8_t) (codes[i] + (r[i] > b ? 1 : 0));
	}
}

/*
 * The stored correction 1 / |x_hat|, |x_hat|^2 = sum of the squared centroids
 * of the codes, summed per level from a histogram (exact integer counts, so
 * the result does not depend on the order of summation).
 */
float
FactorOf(const Codebook &cb, int levels, const uint8_t *codes, uint32_t n)
{
	uint32_t count[16] = {0};
	for (uint32_t i = 0; i < n; i++)
		count[codes[i] & 15]++;
	return FactorFromCounts(cb, levels, count);
}

inline uint32_t
UnitDims(int bits)
{
	return bits == 4 ? 1 : bits == 2 ? 2 : 4;
}

/* Units per layout chunk: 4 per nibble group. */
inline uint32_t
UnitsPerChunk(const Layout &l)
{
	return 4 * (l.chunk_bytes / kGroupBytes);
}

/* The 4-bit index of unit u of one vector's chunk (cc: its chunk_dims codes). */
inline uint32_t
UnitNibble(const Layout &l, const uint8_t *cc, uint32_t u)
{
	if (l.bits == 3) {
		if (u < 8)
			return (cc[2 * u] & 3u) | ((cc[2 * u + 1] & 3u) << 2);
		const uint8_t *h = cc + 4 * (u - 8);
		return ((h[0] >> 2) & 1u) | (((h[1] >> 2) & 1u) << 1) | (((h[2] >> 2) & 1u) << 2) |
			   (((h[3] >> 2) & 1u) << 3);
	}
	uint32_t ud = UnitDims(l.bits);
	uint32_t mask = (1u << l.bits) - 1;
	uint32_t nib = 0;
	for (uint32_t i = 0; i < ud; i++)
		nib |= (cc[u * ud + i] & mask) << (l.bits * i);
	return nib;
}

/* Replaces slot's nibble in a 16-byte unit group. */
inline void
PutNibble(uint8_t *group, uint32_t slot, uint32_t nib)
{
	uint8_t *b = group + (slot & 15);
	if (slot < 16)
		*b = (uint8_t) ((*b & 0xF0) | nib);
	else
		*b = (uint8_t) ((*b & 0x0F) | (nib << 4));
}

inline uint32_t
GetNibble(const uint8_t *group, uint32_t slot)
{
	uint8_t b = group[slot & 15];
	return slot < 16 ? (b & 15u) : (b >> 4);
}

} /* namespace */

/* Zero (or, against the contract, non-finite) vector: any codes, a zero score. */
void
EncodeZeroVector(int levels, size_t padded_dim, uint8_t *codes, double *norm,
				 float *factor) noexcept
{
	uint8_t mid = (uint8_t) (levels / 2 - (levels > 1 ? 1 : 0));
	std::memset(codes, levels > 1 ? mid : 0, padded_dim);
	*norm = 0.0;
	*factor = 0.0f;
}

float
FactorFromCounts(const Codebook &cb, int levels, const uint32_t count[16]) noexcept
{
	double xx = 0.0;
	for (int k = 0; k < levels; k++)
		xx += (double) count[k] * ((double) cb.centroid[k] * (double) cb.centroid[k]);
	return xx > 0.0 ? (float) (1.0 / std::sqrt(xx)) : 0.0f;
}

/* Bytes of the Quantizer blob for (dim, bits); 0 if unsupported. */
size_t
QuantizerSize(uint32_t dim, int bits) noexcept
{
	Layout l;
	if (!MakeLayout(dim, bits, &l))
		return 0;
	size_t n = AlignUp(sizeof(Quantizer), 16);
	n += 2 * AlignUp(sizeof(uint16_t) * l.padded_dim, 16);
	n += 4 * AlignUp((l.padded_dim + 7) / 8, 16);
	return n;
}

size_t
BlockBytes(uint32_t dim, int bits) noexcept
{
	Layout l;
	return MakeLayout(dim, bits, &l) ? l.block_bytes : 0;
}

/* Builds the quantizer for (dim, bits, seed) in caller memory. */
bool
QuantizerInit(void *mem, uint32_t dim, int bits, uint64_t seed) noexcept
{
	size_t size = QuantizerSize(dim, bits);
	if (mem == nullptr || size == 0)
		return false;
	std::memset(mem, 0, size);
	Quantizer *qz = static_cast<Quantizer *>(mem);
	qz->magic = kQuantizerMagic;
	qz->total_bytes = (uint32_t) size;
	qz->seed = seed;
	MakeLayout(dim, bits, &qz->layout);
	/* The coordinate law is that of a unit vector in padded_dim dimensions. */
	if (!GetCodebook(qz->layout.padded_dim, bits, &qz->codebook))
		return false;
	size_t off = AlignUp(sizeof(Quantizer), 16);
	for (int r = 0; r < 2; r++) {
		qz->perm_offset[r] = (uint32_t) off;
		off += AlignUp(sizeof(uint16_t) * qz->layout.padded_dim, 16);
	}
	for (int r = 0; r < 4; r++) {
		qz->signs_offset[r] = (uint32_t) off;
		off += AlignUp((qz->layout.padded_dim + 7) / 8, 16);
	}
	InitRotation(qz);
	return true;
}

const Layout &
QuantizerLayout(const Quantizer *qz) noexcept
{
	return qz->layout;
}

const Codebook &
QuantizerCodebook(const Quantizer *qz) noexcept
{
	return qz->codebook;
}

/* Scratch floats any call may need. */
size_t
ScratchFloats(const Quantizer *qz) noexcept
{
	return 2 * (size_t) qz->layout.padded_dim + 64;
}

/* Normalizes, rotates and quantizes x; stores norm and the correction factor. */
void
Encode(const Quantizer *qz, const float *x, uint8_t *codes, double *norm, float *factor,
	   float *scratch) noexcept
{
	const Layout &l = qz->layout;
	const Codebook &cb = qz->codebook;
	int levels = 1 << l.bits;
	double n = VectorNorm(x, l.dim);
	float *r = scratch;
	if (!(n > 0.0) || !std::isfinite(n)) {
		EncodeZeroVector(levels, l.padded_dim, codes, norm, factor);
		return;
	}
	/* x[i] / n is computed in double, so subnormal components normalise exactly. */
	RotateScaled(qz, x, 1.0 / n, r, scratch + l.padded_dim);
	QuantizeRotated(cb, levels, r, l.padded_dim, codes);
	*norm = n;
	*factor = FactorOf(cb, levels, codes, l.padded_dim);
}

/* Scratch floats EncodeBatch needs: two lane-interleaved copies of the vectors, one code row. */
size_t
EncodeBatchScratchFloats(const Quantizer *qz) noexcept
{
	return (2 * kRotateLanes + 1) * (size_t) qz->layout.padded_dim + 64;
}

/*
 * Encodes n vectors with the active kernel set's batch encoder
 * (encode_lanes.h): Encode's results bit for bit, several vectors at a time.
 */
void
EncodeBatch(const Quantizer *qz, const float *const *x, uint32_t n, uint8_t *codes, double *norms,
			float *factors, float *scratch) noexcept
{
	KernelSets()[ActiveKernelSet()]->encode(qz, x, n, codes, norms, factors, scratch);
}

/* Reconstructs norm * R^T centroid[codes]. */
void
Decode(const Quantizer *qz, const uint8_t *codes, double norm, float *out, float *scratch) noexcept
{
	const Layout &l = qz->layout;
	const Codebook &cb = qz->codebook;
	float *a = scratch;
	for (uint32_t i = 0; i < l.padded_dim; i++)
		a[i] = cb.centroid[codes[i] & ((1 << l.bits) - 1)];
	RotateInverseInPlace(qz, a, out, scratch + l.padded_dim);
	for (uint32_t i = 0; i < l.dim; i++)
		out[i] = (float) (out[i] * norm);
}

/* Writes one slot's codes into chunks [chunk_begin, chunk_end) of a block. */
void
PackSlot(const Layout &l, const uint8_t *codes, uint32_t slot, uint32_t chunk_begin,
		 uint32_t chunk_end, uint8_t *chunks) noexcept
{
	if (slot >= kBlockVectors)
		return;
	for (uint32_t c = chunk_begin; c < chunk_end; c++) {
		uint8_t *p = chunks + (size_t) (c - chunk_begin) * l.chunk_bytes;
		const uint8_t *cc = codes + (size_t) c * l.chunk_dims;
		for (uint32_t u = 0; u < UnitsPerChunk(l); u++)
			PutNibble(p + 16 * u, slot, UnitNibble(l, cc, u));
	}
}

/* Packs up to 32 vectors' codes into whole blocks, 16 bytes per unit at a time. */
void
PackBlock(const Layout &l, const uint8_t *codes, uint32_t n, uint32_t chunk_begin,
		  uint32_t chunk_end, uint8_t *chunks) noexcept
{
	if (n > kBlockVectors)
		n = kBlockVectors;
	uint32_t upc = UnitsPerChunk(l);
	for (uint32_t c = chunk_begin; c < chunk_end; c++) {
		uint8_t *p = chunks + (size_t) (c - chunk_begin) * l.chunk_bytes;
		const uint8_t *cc = codes + (size_t) c * l.chunk_dims;
		for (uint32_t u = 0; u < upc; u++) {
			uint8_t *g = p + 16 * u;
			for (uint32_t t = 0; t < 16; t++) {
				uint32_t lo = t < n ? UnitNibble(l, cc + (size_t) t * l.padded_dim, u) : 0;
				uint32_t hi =
					t + 16 < n ? UnitNibble(l, cc + (size_t) (t + 16) * l.padded_dim, u) : 0;
				g[t] = (uint8_t) (lo | (hi << 4));
			}
		}
	}
}

/* Reads one slot's codes back from a whole block. */
void
UnpackSlot(const Layout &l, const uint8_t *block, uint32_t slot, uint8_t *codes) noexcept
{
	if (slot >= kBlockVectors)
		return;
	for (uint32_t c = 0; c < l.n_chunks; c++) {
		const uint8_t *p = block + (size_t) c * l.chunk_bytes;
		uint8_t *cc = codes + (size_t) c * l.chunk_dims;
		if (l.bits == 3) {
			for (uint32_t u = 0; u < 8; u++) {
				uint32_t nib = GetNibble(p + 16 * u, slot);
				cc[2 * u] = (uint8_t) (nib & 3);
				cc[2 * u + 1] = (uint8_t) (nib >> 2);
			}
			for (uint32_t m = 0; m < 4; m++) {
				uint32_t nib = GetNibble(p + 16 * (8 + m), slot);
				for (uint32_t i = 0; i < 4; i++)
					cc[4 * m + i] |= (uint8_t) (((nib >> i) & 1u) << 2);
			}
		} else {
			uint32_t ud = UnitDims(l.bits);
			uint32_t mask = (1u << l.bits) - 1;
			for (uint32_t j = 0; j < 4; j++) {
				uint32_t nib = GetNibble(p + 16 * j, slot);
				for (uint32_t i = 0; i < ud; i++)
					cc[j * ud + i] = (uint8_t) ((nib >> (l.bits * i)) & mask);
			}
		}
	}
}

/* Bytes of a query's tables: header plus one table set per chunk. */
size_t
QueryLutSize(const Quantizer *qz) noexcept
{
	const Layout &l = qz->layout;
	size_t groups = l.chunk_bytes / kGroupBytes;
	/* Room for two planes whatever LutPlanes says, so the size depends on qz alone. */
	return kLutHeaderBytes + 2 * kLutGroupBytes * groups * l.n_chunks;
}

/* Table planes of a layout (TURBOQUANT_LUT_PLANES=1|2 overrides, for experiments). */
uint32_t
LutPlanes(const Layout &l) noexcept
{
	static const int forced = [] {
		const char *env = std::getenv("TURBOQUANT_LUT_PLANES");
		return env != nullptr && (env[0] == '1' || env[0] == '2') ? env[0] - '0' : 0;
	}();
	if (forced)
		return (uint32_t) forced;
	return l.n_chunks * 4 * (l.chunk_bytes / kGroupBytes) <= kTwoPlaneMaxUnits ? 2 : 1;
}

namespace {

/*
 * How a unit's 16 entries follow from its dims' query values: entry[nib] =
 * post * sum over its dims i (in order) of q_i * value[i][nib], value[i][nib]
 * being the centroid that nib's i-th field selects (3 bits: A[low bits] for a
 * pair unit; 1 per set bit with post = delta for a high-bit unit).  Built once
 * per query, so the 16 entries are one vectorizable loop per dim.
 */
struct UnitShape {
	uint32_t dims;
	float post;
	float value[4][16];
};

/* The shapes of a layout: [0] every nibble unit, or the 3-bit pair units; [1] 3-bit high-bit units.
 */
void
MakeUnitShapes(const Quantizer *qz, UnitShape shape[2])
{
	const Codebook &cb = qz->codebook;
	const Layout &l = qz->layout;
	if (l.bits == 3) {
		shape[0].dims = 2;
		shape[0].post = 1.0f;
		shape[1].dims = 4;
		shape[1].post = cb.centroid[4] - cb.centroid[0];
		for (int nib = 0; nib < 16; nib++) {
			shape[0].value[0][nib] = cb.centroid[nib & 3];
			shape[0].value[1][nib] = cb.centroid[nib >> 2];
			for (int i = 0; i < 4; i++)
				shape[1].value[i][nib] = (float) ((nib >> i) & 1);
		}
		return;
	}
	uint32_t ud = UnitDims(l.bits);
	int mask = (1 << l.bits) - 1;
	shape[0].dims = ud;
	shape[0].post = 1.0f;
	for (uint32_t i = 0; i < ud; i++)
		for (int nib = 0; nib < 16; nib++)
			shape[0].value[i][nib] = cb.centroid[(nib >> (l.bits * i)) & mask];
}

/*
 * The 16 float entries of unit k of chunk c (q rotated and normalized):
 * e[nib] = sum_i q_i * centroid[code_i] in dim order (the high-bit units of 3
 * bits: the sum of the set bits' q_i, times delta; a term q * 0 adds nothing).
 */
inline void
UnitEntries(const Quantizer *qz, const UnitShape shape[2], const float *q, uint32_t c, uint32_t k,
			float e[16])
{
	const Layout &l = qz->layout;
	const float *qc = q + (size_t) c * l.chunk_dims;
	const UnitShape &u = shape[l.bits == 3 && k >= 8 ? 1 : 0];
	const float *qq = l.bits == 3 ? (k < 8 ? qc + 2 * k : qc + 4 * (k - 8)) : qc + k * u.dims;
	for (int nib = 0; nib < 16; nib++)
		e[nib] = 0.0f;
	for (uint32_t i = 0; i < u.dims; i++) {
		float qi = qq[i];
		for (int nib = 0; nib < 16; nib++)
			e[nib] += qi * u.value[i][nib];
	}
	if (u.post != 1.0f)
		for (int nib = 0; nib < 16; nib++)
			e[nib] *= u.post;
}

/*
 * The smallest and largest of UnitEntries' 16 values without computing them:
 * each dim contributes independently, so the extremes take each dim's
 * extreme term, summed in the same order with the same products (the very
 * float operations of the extreme entries).
 */
inline void
UnitRange(const Quantizer *qz, const float *q, uint32_t c, uint32_t k, float *lo, float *hi)
{
	const Codebook &cb = qz->codebook;
	const Layout &l = qz->layout;
	const float *qc = q + (size_t) c * l.chunk_dims;
	float a = 0.0f, b = 0.0f;
	if (l.bits == 3 && k >= 8) {
		const float *qq = qc + 4 * (k - 8);
		float delta = cb.centroid[4] - cb.centroid[0];
		for (int i = 0; i < 4; i++) {
			if (qq[i] < 0.0f)
				a += qq[i];
			else
				b += qq[i];
		}
		*lo = a * delta;
		*hi = b * delta;
		return;
	}
	uint32_t ud = l.bits == 3 ? 2 : UnitDims(l.bits);
	float c0 = cb.centroid[0], cm = cb.centroid[l.bits == 3 ? 3 : (1 << l.bits) - 1];
	const float *qq = qc + k * ud;
	for (uint32_t i = 0; i < ud; i++) {
		/* Plain comparisons, not std::fmin/fmax (libm calls): the values are finite. */
		float x = qq[i] * c0, y = qq[i] * cm;
		a += x < y ? x : y;
		b += x < y ? y : x;
	}
	*lo = a;
	*hi = b;
}

} /* namespace */

/* Rotates the normalized query and builds its 8-bit tables. */
void
PrepareQuery(const Quantizer *qz, Metric metric, const float *q, uint8_t *lut,
			 float *scratch) noexcept
{
	const Layout &l = qz->layout;
	LutHeader *h = reinterpret_cast<LutHeader *>(lut);
	std::memset(h, 0, sizeof(*h));
	h->metric = (uint32_t) metric;
	h->bits = (uint32_t) l.bits;
	h->n_chunks = l.n_chunks;
	h->planes = LutPlanes(l);
	h->groups = l.chunk_bytes / kGroupBytes;
	h->lut_chunk_bytes = kLutGroupBytes * h->planes * h->groups;
	h->kernel_set = (uint32_t) ActiveKernelSet();
	int max_entry = h->planes == 2 ? kLutMaxEntry2 : kLutMaxEntry;
	uint8_t *tables = lut + kLutHeaderBytes;

	double ss = 0.0;
	for (uint32_t i = 0; i < l.dim; i++)
		ss += (double) q[i] * (double) q[i];
	double n = std::sqrt(ss);
	h->qnorm = n;
	if (!(n > 0.0) || !std::isfinite(n)) {
		/* Zero query: every score is 0. */
		h->scale = 1.0f;
		h->offset_sum = 0.0f;
		std::memset(tables, 0, (size_t) h->lut_chunk_bytes * l.n_chunks);
		return;
	}
	float *r = scratch;
	float *mins = scratch + l.padded_dim; /* rotation temp, then per-unit minima */
	RotateScaled(qz, q, 1.0 / n, r, mins);

	uint32_t upc = UnitsPerChunk(l);
	float e[16];
	float max_range = 0.0f;
	double offset_sum = 0.0;
	for (uint32_t c = 0; c < l.n_chunks; c++)
		for (uint32_t k = 0; k < upc; k++) {
			float lo, hi;
			UnitRange(qz, r, c, k, &lo, &hi);
			mins[c * upc + k] = lo;
			offset_sum += lo;
			max_range = hi - lo > max_range ? hi - lo : max_range;
		}
	float scale = max_range > 0.0f ? (float) max_entry / max_range : 1.0f;
	h->scale = scale;
	h->offset_sum = (float) offset_sum;

	UnitShape shape[2];
	MakeUnitShapes(qz, shape);
	for (uint32_t c = 0; c < l.n_chunks; c++)
		for (uint32_t k = 0; k < upc; k++) {
			UnitEntries(qz, shape, r, c, k, e);
			/* Unit k's plane 0 in group k / 4 at 16 (k % 4); plane 1 one table further. */
			uint8_t *t = tables + (size_t) c * h->lut_chunk_bytes +
						 (k / 4) * h->planes * kLutGroupBytes + 16 * (k % 4);
			float lo = mins[c * upc + k];
			uint32_t iv16[16];
			for (int i = 0; i < 16; i++) {
				/*
				 * Round to nearest: floor(v) for v >= 0 is the truncation (int) v,
				 * which compiles to one instruction where std::floor without
				 * SSE4.1 is a slow sequence (it was most of PrepareQuery at d = 3072).
				 */
				float v = (e[i] - lo) * scale + 0.5f;
				iv16[i] = v < 1.0f                 ? 0u
						  : v >= (float) max_entry ? (uint32_t) max_entry
												   : (uint32_t) (int) v;
			}
			for (int i = 0; i < 16; i++)
				t[i] = (uint8_t) (iv16[i] & 0xFF);
			if (h->planes == 2)
				for (int i = 0; i < 16; i++)
					t[kLutGroupBytes + i] = (uint8_t) (iv16[i] >> 8);
		}
}

/* Adds the table sums of n chunks into acc, with the active kernel. */
void
ScanChunks(const uint8_t *lut, const uint8_t *chunks, uint32_t chunk_begin, uint32_t n,
		   uint32_t acc[kBlockVectors]) noexcept
{
	const LutHeader *h = reinterpret_cast<const LutHeader *>(lut);
	ScanKernel k = KernelSets()[h->kernel_set]->nibble[h->planes - 1];
	k(lut + kLutHeaderBytes + (size_t) chunk_begin * h->lut_chunk_bytes, chunks, n * h->groups,
	  acc);
}

/*
 * Turns accumulators into metric distance estimates, in double (see the
 * header), with the kernel set the tables were prepared for (EstimateLanes,
 * encode_lanes.h: the same operations at every set's width).
 */
void
EstimateDistances(const uint8_t *lut, const uint32_t acc[kBlockVectors], const double *norm,
				  const float *factor, double out[kBlockVectors]) noexcept
{
	const LutHeader *h = reinterpret_cast<const LutHeader *>(lut);
	KernelSets()[h->kernel_set]->estimate(lut, acc, norm, factor, out);
}

/* Flat scan over contiguous blocks: distances for every slot. */
void
ScanBlocks(const uint8_t *lut, const uint8_t *blocks, size_t n_blocks, const double *norms,
		   const float *factors, double *out) noexcept
{
	const LutHeader *h = reinterpret_cast<const LutHeader *>(lut);
	ScanKernel k = KernelSets()[h->kernel_set]->nibble[h->planes - 1]; /* chosen by PrepareQuery */
	const uint8_t *tables = lut + kLutHeaderBytes;
	uint32_t groups = h->n_chunks * h->groups;
	size_t block_bytes = (size_t) groups * kGroupBytes;
	alignas(64) uint32_t acc[kBlockVectors];
	for (size_t b = 0; b < n_blocks; b++) {
		std::memset(acc, 0, sizeof(acc));
		k(tables, blocks + b * block_bytes, groups, acc);
		EstimateDistances(lut, acc, norms + b * kBlockVectors, factors + b * kBlockVectors,
						  out + b * kBlockVectors);
	}
}

} /* namespace turboquant */
