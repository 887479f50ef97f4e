/*
 * rotation.cpp — the seeded orthogonal rotation.
 *
 * TurboQuant needs one fixed random rotation R of R^D (D = padded_dim) so that
 * every coordinate of R u, for any unit u, follows the same known law.  A dense
 * Haar rotation is the textbook choice but costs D^2 floats (38 MB at 3072) and
 * seconds of QR to build.  We use what turbovec 1.0 measured to be as good:
 * two rounds of
 *
 *     seeded permutation  ->  random sign flips  ->  normalized Walsh-Hadamard
 *
 * Each step is orthogonal, so the product is.  The permutation spreads
 * ordered energy (PCA / Matryoshka embeddings put most of it in the first
 * coordinates), the signs make the Hadamard mix act like a random one, and the
 * second round removes the structure a single round leaves (one round maps a
 * one-hot input to a +-1/sqrt(P) vector, far from Gaussian).
 *
 * D need not be a power of two.  With P the largest power of two <= D we apply
 * the normalized Hadamard on coordinates [0, P) and then on [D-P, D): two
 * orthogonal maps on overlapping windows, which together touch every
 * coordinate; the next round's permutation re-mixes the two windows.  A
 * second set of random signs sits between the two windows: without it the
 * overlap [D-P, P) of a Hadamard row is itself a Hadamard row of the smaller
 * size, which the second window maps back to a spike (the unit test saw
 * kurtosis 25 for one-hot inputs at D = 1536 before this was added).
 *
 * Storage is two uint16 permutations and four sign bitmaps in the Quantizer
 * blob (about 4.5 bytes per dim), built by Fisher-Yates from splitmix64: an
 * integer generator, so the rotation is bit-identical on every platform and
 * compiler.  Building it at D = 16000 takes well under a millisecond.
 */
#include <cmath>
#include <cstring>

#include "scan_internal.h"

namespace turboquant {

namespace {

/* splitmix64: a tiny, well-mixed 64-bit generator with a fully specified output. */
inline uint64_t
SplitMix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* Uniform integer in [0, n) by Lemire's multiply-shift (deterministic, tiny bias-free enough). */
inline uint32_t
Bounded(uint64_t *state, uint32_t n)
{
	uint64_t r = SplitMix64(state) >> 32;
	return (uint32_t) ((r * n) >> 32);
}

/*
 * In-place normalized fast Walsh-Hadamard transform of n (a power of two)
 * floats.  The first three stages run as one 8-point transform per block of 8
 * (straight-line code the compiler keeps in registers); later stages are
 * long unit-stride loops that vectorize.  The 1/sqrt(n) normalization is
 * folded into the first pass.
 */
void
Fwht(float *a, uint32_t n)
{
	float s = (float) (1.0 / std::sqrt((double) n));
	uint32_t h = 1;
	if (n >= 8) {
		for (uint32_t i = 0; i < n; i += 8) {
			float *x = a + i;
			float b0 = x[0] + x[1], b1 = x[0] - x[1], b2 = x[2] + x[3], b3 = x[2] - x[3];
			float b4 = x[4] + x[5], b5 = x[4] - x[5], b6 = x[6] + x[7], b7 = x[6] - x[7];
			float c0 = b0 + b2, c2 = b0 - b2, c1 = b1 + b3, c3 = b1 - b3;
			float c4 = b4 + b6, c6 = b4 - b6, c5 = b5 + b7, c7 = b5 - b7;
			x[0] = (c0 + c4) * s;
			x[4] = (c0 - c4) * s;
			x[1] = (c1 + c5) * s;
			x[5] = (c1 - c5) * s;
			x[2] = (c2 + c6) * s;
			x[6] = (c2 - c6) * s;
			x[3] = (c3 + c7) * s;
			x[7] = (c3 - c7) * s;
		}
		h = 8;
		s = 1.0f;
	}
	for (; h < n; h <<= 1) {
		for (uint32_t i = 0; i < n; i += 2 * h) {
			float *x = a + i, *y = a + i + h;
			for (uint32_t j = 0; j < h; j++) {
				float u = x[j], v = y[j];
				x[j] = u + v;
				y[j] = u - v;
			}
		}
	}
	if (s != 1.0f)
		for (uint32_t i = 0; i < n; i++)
			a[i] *= s;
}

/*
 * The sign bit of a float where bit i of the bitmap is set: XORing it in is
 * exactly negation, without the unpredictable branch of `bit ? -v : v` (half
 * the bits are set, at random).
 */
inline uint32_t
SignBit(const uint8_t *signs, uint32_t i)
{
	return ((uint32_t) (signs[i >> 3] >> (i & 7)) & 1u) << 31;
}

inline float
WithSign(float v, uint32_t bit)
{
	uint32_t u;
	std::memcpy(&u, &v, sizeof(u));
	u ^= bit;
	std::memcpy(&v, &u, sizeof(v));
	return v;
}

/* Flips the signs of a[i] where bit i of the bitmap is set. */
void
FlipSigns(const uint8_t *signs, float *a, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		a[i] = WithSign(a[i], SignBit(signs, i));
}

/* The Hadamard windows of one round: [0,P), signs, then [D-P,D). */
void
ApplyWindows(const Quantizer *qz, int round, float *a)
{
	uint32_t d = qz->layout.padded_dim, p = qz->window;
	Fwht(a, p);
	if (p < d) {
		FlipSigns(QuantizerSigns(qz, 2 + round), a, d);
		Fwht(a + d - p, p);
	}
}

/* Inverse of ApplyWindows: each step is its own inverse, order reversed. */
void
ApplyWindowsInverse(const Quantizer *qz, int round, float *a)
{
	uint32_t d = qz->layout.padded_dim, p = qz->window;
	if (p < d) {
		Fwht(a + d - p, p);
		FlipSigns(QuantizerSigns(qz, 2 + round), a, d);
	}
	Fwht(a, p);
}

/* dst[i] = sign_i * src[perm[i]]: the permutation and sign flips of one round. */
void
PermuteSign(const Quantizer *qz, int round, const float *src, float *dst)
{
	const uint16_t *perm = QuantizerPerm(qz, round);
	const uint8_t *signs = QuantizerSigns(qz, round);
	uint32_t d = qz->layout.padded_dim;
	for (uint32_t i = 0; i < d; i++)
		dst[i] = WithSign(src[perm[i]], SignBit(signs, i));
}

/* Inverse of PermuteSign: dst[perm[i]] = sign_i * src[i]. */
void
PermuteSignInverse(const Quantizer *qz, int round, const float *src, float *dst)
{
	const uint16_t *perm = QuantizerPerm(qz, round);
	const uint8_t *signs = QuantizerSigns(qz, round);
	uint32_t d = qz->layout.padded_dim;
	for (uint32_t i = 0; i < d; i++)
		dst[perm[i]] = WithSign(src[i], SignBit(signs, i));
}

} /* namespace */

/* Draws the permutations and signs of both rounds from the seed. */
void
InitRotation(Quantizer *qz) noexcept
{
	uint32_t d = qz->layout.padded_dim;
	uint32_t p = 1;
	while (p * 2 <= d)
		p *= 2;
	qz->window = p;
	for (int round = 0; round < 2; round++) {
		/* Independent streams per (seed, dim, round); each draws a perm and two sign maps. */
		uint64_t state =
			qz->seed ^ (0xD1B54A32D192ED03ULL * (uint64_t) (round + 1)) ^ ((uint64_t) d << 32);
		SplitMix64(&state);
		uint16_t *perm =
			reinterpret_cast<uint16_t *>(reinterpret_cast<uint8_t *>(qz) + qz->perm_offset[round]);
		for (uint32_t i = 0; i < d; i++)
			perm[i] = (uint16_t) i;
		for (uint32_t i = d - 1; i > 0; i--) {
			uint32_t j = Bounded(&state, i + 1);
			uint16_t t = perm[i];
			perm[i] = perm[j];
			perm[j] = t;
		}
		for (int k = round; k < 4; k += 2) {
			uint8_t *signs = reinterpret_cast<uint8_t *>(qz) + qz->signs_offset[k];
			uint32_t nbytes = (d + 7) / 8;
			for (uint32_t i = 0; i < nbytes; i += 8) {
				uint64_t r = SplitMix64(&state);
				for (uint32_t b = 0; b < 8 && i + b < nbytes; b++)
					signs[i + b] = (uint8_t) (r >> (8 * b));
			}
		}
	}
}

/* Rotates in*scale (dim floats, zero padded) into out; tmp is padded_dim floats. */
void
RotateScaled(const Quantizer *qz, const float *in, double scale, float *out, float *tmp) noexcept
{
	uint32_t dim = qz->layout.dim, d = qz->layout.padded_dim;
	for (uint32_t i = 0; i < dim; i++)
		out[i] = (float) ((double) in[i] * scale);
	for (uint32_t i = dim; i < d; i++)
		out[i] = 0.0f;
	PermuteSign(qz, 0, out, tmp);
	ApplyWindows(qz, 0, tmp);
	PermuteSign(qz, 1, tmp, out);
	ApplyWindows(qz, 1, out);
}

/* R^T a, truncated to dim coordinates; a and tmp are clobbered. */
void
RotateInverseInPlace(const Quantizer *qz, float *a, float *out, float *tmp) noexcept
{
	uint32_t dim = qz->layout.dim;
	ApplyWindowsInverse(qz, 1, a);
	PermuteSignInverse(qz, 1, a, tmp);
	ApplyWindowsInverse(qz, 0, tmp);
	PermuteSignInverse(qz, 0, tmp, a);
	std::memcpy(out, a, sizeof(float) * dim);
}

/* Applies the rotation: in has dim floats, out padded_dim floats. */
void
Rotate(const Quantizer *qz, const float *in, float *out, float *scratch) noexcept
{
	RotateScaled(qz, in, 1.0, out, scratch);
}

/* Inverse rotation: in padded_dim floats, out dim floats. */
void
RotateInverse(const Quantizer *qz, const float *in, float *out, float *scratch) noexcept
{
	uint32_t d = qz->layout.padded_dim;
	std::memcpy(scratch, in, sizeof(float) * d);
	RotateInverseInPlace(qz, scratch, out, scratch + d);
}

} /* namespace turboquant */
