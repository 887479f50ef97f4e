/*
 * encode_lanes.h — the batched encoder and the estimate conversion, compiled
 * once per kernel set.
 *
 * Each kernel-set file (scan_<isa>.cpp) includes this header inside its own
 * ISA flags and exports EncodeLanes and EstimateLanes through its KernelSet, so the same source
 * becomes SSE2, AVX2, AVX-512 or NEON code.  Everything here is in an
 * anonymous namespace: each translation unit keeps its own copy, and no
 * inline function compiled for one ISA can be picked by the linker for
 * another.
 *
 * kRotateLanes vectors are encoded together, stored lane-interleaved
 * (coordinate i of vector v at a[i * kRotateLanes + v]), so every step is a
 * vertical operation on a row of lanes (GCC vector extensions, no
 * intrinsics).  Each lane performs exactly the operations of the one-vector
 * Encode (quantizer.cpp, rotation.cpp) in the same order, and the core is
 * built with -ffp-contract=off, so the codes, norms and factors are
 * bit-identical to Encode's on every ISA (tested per kernel set):
 *   - norms: each lane sums x[i]^2 in double in index order, as VectorNorm;
 *   - rotation: scale (in double), permutation and signs fused into one pass,
 *     then the Walsh-Hadamard windows with three butterfly stages per pass
 *     over memory (the same adds and subtracts, fewer loads and stores);
 *     sign flips are XORs of the sign bit, which is what negation does;
 *   - quantization: one compare per boundary per row of lanes; the same
 *     compares count, per lane, the coordinates above each boundary, from
 *     which the per-level histogram of FactorOf follows exactly.
 */
#ifndef TURBOQUANT_ENCODE_LANES_H
#define TURBOQUANT_ENCODE_LANES_H

#include <cmath>
#include <cstring>

#include "scan_internal.h"

namespace turboquant {
namespace {

typedef float FLanes __attribute__((vector_size(4 * kRotateLanes)));
typedef int32_t ILanes __attribute__((vector_size(4 * kRotateLanes)));
typedef double DLanes __attribute__((vector_size(8 * kRotateLanes)));

/*
 * GCC warns that passing wide vectors by value changes the ABI without the
 * matching ISA flags; these helpers are internal to each including file
 * (anonymous namespace), so no ABI is involved.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

inline FLanes
LoadRow(const float *p)
{
	FLanes v;
	std::memcpy(&v, p, sizeof(v));
	return v;
}

inline void
StoreRow(float *p, FLanes v)
{
	std::memcpy(p, &v, sizeof(v));
}

/* The sign bit in every lane where bit i of the bitmap is set. */
inline ILanes
SignMask(const uint8_t *signs, uint32_t i)
{
	int32_t bit = (int32_t) (((uint32_t) (signs[i >> 3] >> (i & 7)) & 1u) << 31);
	return ILanes{} + bit;
}

/*
 * -1 in the lanes where r > b.  Without AVX (SSE2, NEON: 16-byte registers)
 * GCC lowers a 32-byte float compare element by element, so it is done as
 * two 16-byte halves there.
 */
inline ILanes
Above(FLanes r, float b)
{
#if defined(__AVX__)
	return (ILanes) (r > b);
#else
	typedef float F4 __attribute__((vector_size(16)));
	typedef int32_t I4 __attribute__((vector_size(16)));
	F4 half[2];
	I4 gt[2];
	std::memcpy(half, &r, sizeof(half));
	gt[0] = half[0] > b;
	gt[1] = half[1] > b;
	ILanes out;
	std::memcpy(&out, gt, sizeof(out));
	return out;
#endif
}

inline FLanes
FlipSign(FLanes v, ILanes mask)
{
	return (FLanes) ((ILanes) v ^ mask);
}

/* One radix-2 stage of stride h over rows [0, n). */
inline void
Stage1(float *a, uint32_t n, uint32_t h)
{
	const uint32_t w = kRotateLanes;
	for (uint32_t i = 0; i < n; i += 2 * h) {
		float *x = a + (size_t) i * w, *y = a + (size_t) (i + h) * w;
		for (uint32_t j = 0; j < h; j++) {
			FLanes u = LoadRow(x + j * w), v = LoadRow(y + j * w);
			StoreRow(x + j * w, u + v);
			StoreRow(y + j * w, u - v);
		}
	}
}

/*
 * Stages h, 2h and 4h in one pass: eight rows at stride h are loaded once and
 * go through the three butterflies in registers.  Each value meets the same
 * partner with the same operation as in three separate stages.  kScaled
 * multiplies the results by `scale` (the first pass of FwhtRows folds the
 * normalization in there, as Fwht does).
 */
template <bool kScaled>
inline void
Stage3(float *a, uint32_t n, uint32_t h, float scale)
{
	const uint32_t w = kRotateLanes;
	const size_t s = (size_t) h * w;
	auto put = [scale](float *p, FLanes v) { StoreRow(p, kScaled ? v * scale : v); };
	for (uint32_t i = 0; i < n; i += 8 * h) {
		for (uint32_t j = 0; j < h; j++) {
			float *x = a + ((size_t) i + j) * w;
			FLanes x0 = LoadRow(x), x1 = LoadRow(x + s), x2 = LoadRow(x + 2 * s),
				   x3 = LoadRow(x + 3 * s), x4 = LoadRow(x + 4 * s), x5 = LoadRow(x + 5 * s),
				   x6 = LoadRow(x + 6 * s), x7 = LoadRow(x + 7 * s);
			FLanes b0 = x0 + x1, b1 = x0 - x1, b2 = x2 + x3, b3 = x2 - x3;
			FLanes b4 = x4 + x5, b5 = x4 - x5, b6 = x6 + x7, b7 = x6 - x7;
			FLanes c0 = b0 + b2, c2 = b0 - b2, c1 = b1 + b3, c3 = b1 - b3;
			FLanes c4 = b4 + b6, c6 = b4 - b6, c5 = b5 + b7, c7 = b5 - b7;
			put(x, c0 + c4);
			put(x + 4 * s, c0 - c4);
			put(x + s, c1 + c5);
			put(x + 5 * s, c1 - c5);
			put(x + 2 * s, c2 + c6);
			put(x + 6 * s, c2 - c6);
			put(x + 3 * s, c3 + c7);
			put(x + 7 * s, c3 - c7);
		}
	}
}

/* Normalized Walsh-Hadamard transform of n rows (n a power of two), as Fwht. */
inline void
FwhtRows(float *a, uint32_t n)
{
	float s = (float) (1.0 / std::sqrt((double) n));
	uint32_t h = 1;
	if (n >= 8) {
		/* The first three stages, with the normalization folded in as in Fwht. */
		Stage3<true>(a, n, 1, s);
		h = 8;
		for (; h * 8 <= n; h *= 8)
			Stage3<false>(a, n, h, 1.0f);
		for (; h < n; h *= 2)
			Stage1(a, n, h);
		return;
	}
	for (; h < n; h *= 2)
		Stage1(a, n, h);
	for (uint32_t i = 0; i < n; i++)
		StoreRow(a + (size_t) i * kRotateLanes, LoadRow(a + (size_t) i * kRotateLanes) * s);
}

/* One round's Hadamard windows: [0,P), signs, then [D-P,D), as ApplyWindows. */
inline void
WindowsRows(const Quantizer *qz, int round, float *a)
{
	uint32_t d = qz->layout.padded_dim, p = qz->window;
	FwhtRows(a, p);
	if (p < d) {
		const uint8_t *signs = QuantizerSigns(qz, 2 + round);
		for (uint32_t i = 0; i < d; i++) {
			float *r = a + (size_t) i * kRotateLanes;
			StoreRow(r, FlipSign(LoadRow(r), SignMask(signs, i)));
		}
		FwhtRows(a + (size_t) (d - p) * kRotateLanes, p);
	}
}

/* In-place transpose of 8 rows of 8 floats: t[j][v] becomes t[v][j]. */
inline void
Transpose8(FLanes t[8])
{
	static_assert(kRotateLanes == 8, "Transpose8 needs 8 lanes");
	FLanes a[8], b[8];
	for (int p = 0; p < 8; p += 2) {
		a[p] = __builtin_shufflevector(t[p], t[p + 1], 0, 8, 1, 9, 4, 12, 5, 13);
		a[p + 1] = __builtin_shufflevector(t[p], t[p + 1], 2, 10, 3, 11, 6, 14, 7, 15);
	}
	for (int p = 0; p < 8; p += 4) {
		b[p] = __builtin_shufflevector(a[p], a[p + 2], 0, 1, 8, 9, 4, 5, 12, 13);
		b[p + 1] = __builtin_shufflevector(a[p], a[p + 2], 2, 3, 10, 11, 6, 7, 14, 15);
		b[p + 2] = __builtin_shufflevector(a[p + 1], a[p + 3], 0, 1, 8, 9, 4, 5, 12, 13);
		b[p + 3] = __builtin_shufflevector(a[p + 1], a[p + 3], 2, 3, 10, 11, 6, 7, 14, 15);
	}
	for (int j = 0; j < 4; j++) {
		t[j] = __builtin_shufflevector(b[j], b[j + 4], 0, 1, 2, 3, 8, 9, 10, 11);
		t[j + 4] = __builtin_shufflevector(b[j], b[j + 4], 4, 5, 6, 7, 12, 13, 14, 15);
	}
}

/*
 * Transposes an 8 x 8 byte matrix held in eight 64-bit words (byte v of
 * word k becomes byte k of word v), three rounds of masked swaps.
 */
inline void
TransposeBytes8(uint64_t m[8])
{
	for (int k = 0; k < 8; k += 2) {
		uint64_t a = m[k], b = m[k + 1];
		uint64_t t = ((a >> 8) ^ b) & 0x00FF00FF00FF00FFULL;
		m[k] = a ^ (t << 8);
		m[k + 1] = b ^ t;
	}
	for (int k = 0; k < 8; k += 4)
		for (int j = 0; j < 2; j++) {
			uint64_t a = m[k + j], b = m[k + j + 2];
			uint64_t t = ((a >> 16) ^ b) & 0x0000FFFF0000FFFFULL;
			m[k + j] = a ^ (t << 16);
			m[k + j + 2] = b ^ t;
		}
	for (int j = 0; j < 4; j++) {
		uint64_t a = m[j], b = m[j + 4];
		uint64_t t = ((a >> 32) ^ b) & 0x00000000FFFFFFFFULL;
		m[j] = a ^ (t << 32);
		m[j + 4] = b ^ t;
	}
}

/*
 * Quantizes the rotated rows of one batch: out[v] gets lane v's pd codes
 * (the number of boundaries below each value); above[b] counts, per lane,
 * the coordinates above boundary b.  LEVELS is a template argument so the
 * boundary loop unrolls and the counters stay in registers.
 */
template <int LEVELS>
void
QuantizeRows(const Codebook &cb, const float *rows, uint32_t pd, uint8_t *const out[8],
			 uint32_t above_out[][kRotateLanes])
{
	const uint32_t w = kRotateLanes;
	ILanes above[LEVELS > 1 ? LEVELS - 1 : 1] = {};
	float bound[LEVELS > 1 ? LEVELS - 1 : 1];
	for (int b = 0; b + 1 < LEVELS; b++)
		bound[b] = cb.boundary[b];
	uint32_t k = 0;
	for (; k + 8 <= pd; k += 8) {
		uint64_t word[8];
		for (uint32_t j = 0; j < 8; j++) {
			FLanes r = LoadRow(rows + (size_t) (k + j) * w);
			ILanes code = {};
			for (int b = 0; b + 1 < LEVELS; b++) {
				ILanes gt = Above(r, bound[b]); /* -1 where above */
				code -= gt;
				above[b] -= gt;
			}
			typedef uint8_t Bytes8 __attribute__((vector_size(8)));
			Bytes8 c8 = __builtin_convertvector(code, Bytes8);
			std::memcpy(&word[j], &c8, 8);
		}
		TransposeBytes8(word);
		for (uint32_t v = 0; v < 8; v++)
			std::memcpy(out[v] + k, &word[v], 8);
	}
	for (; k < pd; k++) {
		FLanes r = LoadRow(rows + (size_t) k * w);
		ILanes code = {};
		for (int b = 0; b + 1 < LEVELS; b++) {
			ILanes gt = Above(r, bound[b]);
			code -= gt;
			above[b] -= gt;
		}
		for (uint32_t v = 0; v < w; v++)
			out[v][k] = (uint8_t) code[v];
	}
	for (int b = 0; b + 1 < LEVELS; b++)
		for (uint32_t v = 0; v < w; v++)
			above_out[b][v] = (uint32_t) above[b][v];
}

/*
 * Encodes n vectors (any n), kRotateLanes at a time; the contract of
 * EncodeBatch.  scratch: EncodeBatchScratchFloats(qz) floats.
 */
void
EncodeLanes(const Quantizer *qz, const float *const *x, uint32_t n, uint8_t *codes, double *norms,
			float *factors, float *scratch) noexcept
{
	const uint32_t w = kRotateLanes;
	const Layout &l = qz->layout;
	const Codebook &cb = qz->codebook;
	const int levels = 1 << l.bits;
	const uint32_t dim = l.dim, pd = l.padded_dim;
	float *rows = scratch, *tmp = scratch + (size_t) pd * w;
	uint8_t *spare = reinterpret_cast<uint8_t *>(tmp + (size_t) pd * w);
	const uint16_t *perm0 = QuantizerPerm(qz, 0), *perm1 = QuantizerPerm(qz, 1);
	const uint8_t *signs0 = QuantizerSigns(qz, 0), *signs1 = QuantizerSigns(qz, 1);

	for (uint32_t first = 0; first < n; first += w) {
		uint32_t m = n - first < w ? n - first : w;
		/* Lanes past m repeat vector `first`: their results are never stored. */
		const float *in[kRotateLanes];
		for (uint32_t v = 0; v < w; v++)
			in[v] = x[first + (v < m ? v : 0)];

		/*
		 * The vectors lane-interleaved into rows (8 x 8 transposes), and the
		 * norms: per lane, the sum of squares in double, in index order.
		 */
		DLanes ss = {};
		float *xr = rows;
		uint32_t i = 0;
		for (; i + 8 <= dim; i += 8) {
			FLanes t[8];
			for (uint32_t v = 0; v < 8; v++)
				t[v] = LoadRow(in[v] + i);
			Transpose8(t);
			for (uint32_t j = 0; j < 8; j++) {
				DLanes e = __builtin_convertvector(t[j], DLanes);
				ss += e * e;
				StoreRow(xr + (size_t) (i + j) * w, t[j]);
			}
		}
		for (; i < dim; i++) {
			FLanes t;
			for (uint32_t v = 0; v < w; v++)
				t[v] = in[v][i];
			DLanes e = __builtin_convertvector(t, DLanes);
			ss += e * e;
			StoreRow(xr + (size_t) i * w, t);
		}
		DLanes scale;
		bool live[kRotateLanes];
		uint32_t n_live = 0;
		for (uint32_t v = 0; v < w; v++) {
			double nv = std::sqrt(ss[v]);
			live[v] = v < m && nv > 0.0 && std::isfinite(nv);
			scale[v] = live[v] ? 1.0 / nv : 0.0;
			if (v < m) {
				if (live[v]) {
					norms[first + v] = nv;
					n_live++;
				} else
					EncodeZeroVector(levels, pd, codes + (size_t) (first + v) * pd,
									 norms + first + v, factors + first + v);
			}
		}
		if (n_live == 0)
			continue;

		/* Scale (in double), then the first round's permutation and signs, in one pass. */
		for (uint32_t k = 0; k < pd; k++) {
			uint32_t p = perm0[k];
			FLanes r = {};
			if (p < dim)
				r = __builtin_convertvector(
					__builtin_convertvector(LoadRow(xr + (size_t) p * w), DLanes) * scale, FLanes);
			StoreRow(tmp + (size_t) k * w, FlipSign(r, SignMask(signs0, k)));
		}
		WindowsRows(qz, 0, tmp);
		for (uint32_t k = 0; k < pd; k++)
			StoreRow(rows + (size_t) k * w,
					 FlipSign(LoadRow(tmp + (size_t) perm1[k] * w), SignMask(signs1, k)));
		WindowsRows(qz, 1, rows);

		/*
		 * Codes: the number of boundaries below each value, stored for every
		 * lane (lanes without a live vector write to a spare row).
		 */
		uint8_t *out[kRotateLanes];
		for (uint32_t v = 0; v < w; v++)
			out[v] = v < m && live[v] ? codes + (size_t) (first + v) * pd : spare;
		uint32_t above[15][kRotateLanes];
		switch (levels) {
		case 2:
			QuantizeRows<2>(cb, rows, pd, out, above);
			break;
		case 4:
			QuantizeRows<4>(cb, rows, pd, out, above);
			break;
		case 8:
			QuantizeRows<8>(cb, rows, pd, out, above);
			break;
		default:
			QuantizeRows<16>(cb, rows, pd, out, above);
			break;
		}
		for (uint32_t v = 0; v < m; v++) {
			if (!live[v])
				continue;
			uint32_t count[16];
			for (int k = 0; k < levels; k++) {
				uint32_t ge = k == 0 ? pd : above[k - 1][v];
				uint32_t gt = k + 1 < levels ? above[k][v] : 0;
				count[k] = ge - gt;
			}
			factors[first + v] = FactorFromCounts(cb, levels, count);
		}
	}
}

/*
 * EstimateDistances (quantizer.cpp) for this kernel set: the accumulators of a
 * block to distance estimates in double; c estimates <q_unit, u>, and the
 * norms and |q| enter only here.  Plain loops the compiler vectorizes at this
 * file's width (8 doubles with AVX-512, 4 with AVX2, 2 with SSE2 and NEON):
 * the accumulators stay below 2^31 (kMaxDim units x kLutMaxEntry2 < 2^31), so
 * they convert exactly through int32, which every ISA converts packed; each
 * slot sees the same IEEE operations in the same order whatever the width
 * (and the core is built with -ffp-contract=off), so every set returns the
 * scalar set's doubles bit for bit (tested per set).
 */
void
EstimateLanes(const uint8_t *lut, const uint32_t *acc, const double *norm, const float *factor,
			  double *out)
{
	const LutHeader *h = reinterpret_cast<const LutHeader *>(lut);
	double inv = 1.0 / h->scale, off = h->offset_sum, qn = h->qnorm;
	static_assert((uint64_t) kMaxDim * kLutMaxEntry2 < (1ull << 31), "acc fits in int32");
	alignas(64) double c[kBlockVectors];
	for (uint32_t t = 0; t < kBlockVectors; t++)
		c[t] = (off + (double) (int32_t) acc[t] * inv) * (double) factor[t];
	/* every metric is a case and there is no default: -Wswitch names a new one */
	switch ((Metric) h->metric) {
	case Metric::kL2:
		for (uint32_t t = 0; t < kBlockVectors; t++)
			out[t] = qn * qn + norm[t] * norm[t] - 2.0 * qn * norm[t] * c[t];
		return;
	case Metric::kCosine:
		for (uint32_t t = 0; t < kBlockVectors; t++)
			out[t] = 1.0 - c[t];
		return;
	case Metric::kInnerProduct:
		for (uint32_t t = 0; t < kBlockVectors; t++)
			out[t] = -qn * norm[t] * c[t];
		return;
	}
	/*
	 * Unreachable: PrepareQuery stores a Metric, and the glue checks the
	 * opclass's value before making one.  Rank such slots last, not as IP.
	 */
	for (uint32_t t = 0; t < kBlockVectors; t++)
		out[t] = std::nan("");
}

} /* namespace */
} /* namespace turboquant */

#endif /* TURBOQUANT_ENCODE_LANES_H */
