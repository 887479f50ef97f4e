/*
 * quantizer.cpp — layout, encoding, packing and query tables.
 *
 * Encoding.  x -> norm = |x| (in double, kept in double: the norm of a finite
 * float vector can exceed FLT_MAX or fall below the float range) -> r = R (x / norm) -> one Lloyd-Max code per rotated
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
 *   bits 3: the awkward one.  A pair of dims has a 6-bit index; we split it
 *   into a nibble (low 2 bits of each code) stored as above, and 2 selector
 *   bits (the high bits) choosing one of four 16-entry sub-tables.  Selector
 *   bits are stored as bit planes: per pair, four 16-bit words (first-code
 *   high bit for slots 0..15 and 16..31, then the second code's), interleaved
 *   over the chunk's 4 pairs into four uint64 words whose bit j*16+t is
 *   exactly the byte-lane of slot t of pair j in a 512-bit register, i.e. an
 *   AVX-512 mask register, ready for masked shuffles.  A chunk is 4 pairs =
 *   64 nibble bytes + 32 selector bytes = 96 bytes, exactly 3 bits per dim.
 *   Its tables come twice per plane: as 4 sub-tables of 4 pairs x 16 (for
 *   in-lane shuffles), then as 4 pairs x 64 (index s << 4 | nib) for the
 *   AVX-512 VBMI kernel, whose vpermb looks a pair up in one instruction
 *   (masked shuffles over sub-tables cost twice as many lookups).
 *
 * Query tables.  The query is normalized and rotated once; each unit gets its
 * 16 (or 4 x 16) float entries e = sum_i q_i * centroid[code_i], then is
 * quantized to integers with its own offset (its minimum) and one global
 * scale mapping the widest unit range to the largest entry.  Scores are
 * offset_sum + acc / scale.  The error per unit is at most half a step of the
 * widest unit, independent of d: unlike FAISS we never shrink the scale to
 * keep 16-bit sums from overflowing; kernels instead widen to 32 bits often
 * enough (scan_*.cpp), so sums are exact for any d <= kMaxDim.
 *
 * 8-bit entries (255 levels) turned out too coarse on tightly clustered data:
 * on debian-fasttext300 at 4 bits, R@1@1 is 0.857 with float tables but 0.834
 * with 255 levels (0.851 with 511, 0.858 with 65535; simulated in float).  So
 * tables can have two byte planes: entry = low + 256 * high, 16-bit, scanned
 * with a second shuffle per nibble into separate accumulators (~1.5x the
 * kernel work, sums still exact: 16000 * 65535 < 2^32).  kDefaultLutPlanes
 * picks the planes per bit width; the lut header records the choice.
 */
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "scan_internal.h"

namespace turboquant {

namespace {

/* Table planes by bit width (index = bits); see the essay above. */
const uint32_t kDefaultLutPlanes[5] = {1, 2, 2, 2, 2};

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
		l->chunk_bytes = kNibbleChunkBytes;
		break;
	case 2:
		l->chunk_dims = 8;
		l->chunk_bytes = kNibbleChunkBytes;
		break;
	case 3:
		l->chunk_dims = 8;
		l->chunk_bytes = kBits3ChunkBytes;
		break;
	default:
		l->chunk_dims = 4;
		l->chunk_bytes = kNibbleChunkBytes;
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

/* Quantizes one rotated coordinate: the number of boundaries below it. */
inline uint8_t
QuantizeCoordinate(const Codebook &cb, int levels, float v)
{
	int code = 0;
	for (int k = 0; k + 1 < levels; k++)
		code += v > cb.boundary[k];
	return (uint8_t) code;
}

inline uint32_t
UnitDims(int bits)
{
	return bits == 4 ? 1 : bits == 2 ? 2 : 4;
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

/* Sets or clears bit `bit` of the little-endian uint64 at p. */
inline void
PutBit(uint8_t *p, uint32_t bit, uint32_t v)
{
	uint8_t m = (uint8_t) (1u << (bit & 7));
	if (v)
		p[bit >> 3] |= m;
	else
		p[bit >> 3] &= (uint8_t) ~m;
}

inline uint32_t
GetBit(const uint8_t *p, uint32_t bit)
{
	return (p[bit >> 3] >> (bit & 7)) & 1u;
}

} /* namespace */

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
	/*
	 * In double: the sum of squares of finite floats is at most
	 * kMaxDim * FLT_MAX^2 (about 1.8e81) and at least the square of the
	 * smallest subnormal (about 2e-90), both well inside the double range,
	 * so the norm of every legal vector is exact to double rounding.
	 */
	double ss = 0.0;
	for (uint32_t i = 0; i < l.dim; i++)
		ss += (double) x[i] * (double) x[i];
	double n = std::sqrt(ss);
	float *r = scratch;
	if (!(n > 0.0) || !std::isfinite(n)) {
		/* Zero (or, against the contract, non-finite) vector: any codes, a zero score. */
		uint8_t mid = (uint8_t) (levels / 2 - (levels > 1 ? 1 : 0));
		std::memset(codes, levels > 1 ? mid : 0, l.padded_dim);
		*norm = 0.0;
		*factor = 0.0f;
		return;
	}
	/* x[i] / n is computed in double, so subnormal components normalise exactly. */
	RotateScaled(qz, x, 1.0 / n, r, scratch + l.padded_dim);
	double xx = 0.0;
	for (uint32_t i = 0; i < l.padded_dim; i++) {
		uint8_t c = QuantizeCoordinate(cb, levels, r[i]);
		codes[i] = c;
		double v = cb.centroid[c];
		xx += v * v;
	}
	*norm = n;
	*factor = xx > 0.0 ? (float) (1.0 / std::sqrt(xx)) : 0.0f;
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
		if (l.bits == 3) {
			for (uint32_t j = 0; j < 4; j++) {
				uint32_t c0 = cc[2 * j] & 7, c1 = cc[2 * j + 1] & 7;
				PutNibble(p + 16 * j, slot, (c0 & 3) | ((c1 & 3) << 2));
				uint32_t bit = j * 16 + (slot & 15);
				uint32_t hi = slot >> 4;
				PutBit(p + 64 + 8 * (0 + hi), bit, c0 >> 2);
				PutBit(p + 64 + 8 * (2 + hi), bit, c1 >> 2);
			}
		} else {
			uint32_t ud = UnitDims(l.bits);
			uint32_t mask = (1u << l.bits) - 1;
			for (uint32_t j = 0; j < 4; j++) {
				uint32_t nib = 0;
				for (uint32_t i = 0; i < ud; i++)
					nib |= (cc[j * ud + i] & mask) << (l.bits * i);
				PutNibble(p + 16 * j, slot, nib);
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
			for (uint32_t j = 0; j < 4; j++) {
				uint32_t nib = GetNibble(p + 16 * j, slot);
				uint32_t bit = j * 16 + (slot & 15);
				uint32_t hi = slot >> 4;
				cc[2 * j] = (uint8_t) ((nib & 3) | (GetBit(p + 64 + 8 * hi, bit) << 2));
				cc[2 * j + 1] = (uint8_t) ((nib >> 2) | (GetBit(p + 64 + 8 * (2 + hi), bit) << 2));
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
	size_t per = l.bits == 3 ? kBits3LutChunkBytes : kNibbleLutChunkBytes;
	/* Room for two planes whatever LutPlanes says, so the size depends on qz alone. */
	return kLutHeaderBytes + 2 * per * l.n_chunks;
}

/* Table planes per bit width (TURBOQUANT_LUT_PLANES=1|2 overrides, for experiments). */
uint32_t
LutPlanes(int bits) noexcept
{
	static const int forced = [] {
		const char *env = std::getenv("TURBOQUANT_LUT_PLANES");
		return env != nullptr && (env[0] == '1' || env[0] == '2') ? env[0] - '0' : 0;
	}();
	if (forced)
		return (uint32_t) forced;
	return kDefaultLutPlanes[bits];
}

namespace {

/* Float entries of one unit: 16 for nibble layouts, 64 (4 sub-tables) for 3 bits. */
inline int
UnitEntries(const Quantizer *qz, const float *q, uint32_t unit, float *e)
{
	const Codebook &cb = qz->codebook;
	int bits = qz->layout.bits;
	if (bits == 3) {
		float q0 = q[2 * unit], q1 = q[2 * unit + 1];
		for (int s = 0; s < 4; s++)
			for (int nib = 0; nib < 16; nib++) {
				int c0 = (nib & 3) | ((s & 1) << 2);
				int c1 = ((nib >> 2) & 3) | ((s >> 1) << 2);
				e[s * 16 + nib] = q0 * cb.centroid[c0] + q1 * cb.centroid[c1];
			}
		return 64;
	}
	uint32_t ud = UnitDims(bits);
	int mask = (1 << bits) - 1;
	const float *qq = q + unit * ud;
	for (int nib = 0; nib < 16; nib++) {
		float v = 0.0f;
		for (uint32_t i = 0; i < ud; i++)
			v += qq[i] * cb.centroid[(nib >> (bits * i)) & mask];
		e[nib] = v;
	}
	return 16;
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
	h->planes = LutPlanes(l.bits);
	uint32_t plane_bytes = l.bits == 3 ? kBits3LutChunkBytes : kNibbleLutChunkBytes;
	h->lut_chunk_bytes = plane_bytes * h->planes;
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

	uint32_t units = l.bits == 3 ? l.padded_dim / 2 : l.padded_dim / UnitDims(l.bits);
	float e[64];
	float max_range = 0.0f;
	double offset_sum = 0.0;
	for (uint32_t u = 0; u < units; u++) {
		int ne = UnitEntries(qz, r, u, e);
		float lo = e[0], hi = e[0];
		for (int k = 1; k < ne; k++) {
			lo = std::fmin(lo, e[k]);
			hi = std::fmax(hi, e[k]);
		}
		mins[u] = lo;
		offset_sum += lo;
		max_range = std::fmax(max_range, hi - lo);
	}
	float scale = max_range > 0.0f ? (float) max_entry / max_range : 1.0f;
	h->scale = scale;
	h->offset_sum = (float) offset_sum;

	for (uint32_t u = 0; u < units; u++) {
		int ne = UnitEntries(qz, r, u, e);
		uint32_t chunk = u / 4, j = u % 4;
		uint8_t *t = tables + (size_t) chunk * h->lut_chunk_bytes;
		for (int k = 0; k < ne; k++) {
			float v = std::floor((e[k] - mins[u]) * scale + 0.5f);
			int iv = v < 0.0f ? 0 : v > (float) max_entry ? max_entry : (int) v;
			/* Sub-table s of pair j lives at s*64 + 16j (3 bits); unit j at 16j otherwise. */
			size_t at = (k / 16) * 64 + 16 * j + (k % 16);
			t[at] = (uint8_t) (iv & 0xFF);
			if (h->planes == 2)
				t[plane_bytes + at] = (uint8_t) (iv >> 8);
			if (l.bits == 3) {
				/* The same entries again, pair by pair (64j + k), for the VBMI kernel. */
				size_t pat = kBits3PairTablesOffset + 64 * j + k;
				t[pat] = (uint8_t) (iv & 0xFF);
				if (h->planes == 2)
					t[plane_bytes + pat] = (uint8_t) (iv >> 8);
			}
		}
	}
}

/* Adds the table sums of n chunks into acc, with the active kernel. */
void
ScanChunks(const uint8_t *lut, const uint8_t *chunks, uint32_t chunk_begin, uint32_t n,
		   uint32_t acc[kBlockVectors]) noexcept
{
	const LutHeader *h = reinterpret_cast<const LutHeader *>(lut);
	ScanKernel k = SelectScanKernel(h->bits, h->planes);
	k(lut + kLutHeaderBytes + (size_t) chunk_begin * h->lut_chunk_bytes, chunks, n, acc);
}

/*
 * Turns accumulators into metric distance estimates, in double (see the
 * header): c estimates <q_unit, u>; norms and |q| enter only here.
 */
void
EstimateDistances(const uint8_t *lut, const uint32_t acc[kBlockVectors], const double *norm,
				  const float *factor, double out[kBlockVectors]) noexcept
{
	const LutHeader *h = reinterpret_cast<const LutHeader *>(lut);
	double inv = 1.0 / h->scale, off = h->offset_sum, qn = h->qnorm;
	/* every metric is a case and there is no default: -Wswitch names a new one */
	switch ((Metric) h->metric) {
	case Metric::kL2:
		for (uint32_t t = 0; t < kBlockVectors; t++) {
			double c = (off + (double) acc[t] * inv) * factor[t];
			out[t] = qn * qn + norm[t] * norm[t] - 2.0 * qn * norm[t] * c;
		}
		return;
	case Metric::kCosine:
		for (uint32_t t = 0; t < kBlockVectors; t++)
			out[t] = 1.0 - (off + (double) acc[t] * inv) * factor[t];
		return;
	case Metric::kInnerProduct:
		for (uint32_t t = 0; t < kBlockVectors; t++)
			out[t] = -qn * norm[t] * ((off + (double) acc[t] * inv) * factor[t]);
		return;
	}
	/*
	 * Unreachable: PrepareQuery stores a Metric, and the glue checks the
	 * opclass's value before making one.  Rank such slots last, not as IP.
	 */
	for (uint32_t t = 0; t < kBlockVectors; t++)
		out[t] = std::nan("");
}

/* Flat scan over contiguous blocks: distances for every slot. */
void
ScanBlocks(const uint8_t *lut, const uint8_t *blocks, size_t n_blocks, const double *norms,
		   const float *factors, double *out) noexcept
{
	const LutHeader *h = reinterpret_cast<const LutHeader *>(lut);
	ScanKernel k = SelectScanKernel(h->bits, h->planes); /* dispatch once per call */
	const uint8_t *tables = lut + kLutHeaderBytes;
	size_t block_bytes =
		(size_t) h->n_chunks * (h->bits == 3 ? kBits3ChunkBytes : kNibbleChunkBytes);
	alignas(64) uint32_t acc[kBlockVectors];
	for (size_t b = 0; b < n_blocks; b++) {
		std::memset(acc, 0, sizeof(acc));
		k(tables, blocks + b * block_bytes, h->n_chunks, acc);
		EstimateDistances(lut, acc, norms + b * kBlockVectors, factors + b * kBlockVectors,
						  out + b * kBlockVectors);
	}
}

} /* namespace turboquant */
