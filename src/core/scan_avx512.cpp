/*
 * scan_avx512.cpp — AVX-512BW scan kernels, selected at run time.
 *
 * One chunk is one 512-bit register: four 16-byte unit groups, one per lane,
 * looked up against the chunk's four 16-entry tables (also one register) with
 * a single in-lane vpshufb for the low nibbles (slots 0..15) and one for the
 * high nibbles (slots 16..31).  Bytes are widened to uint16 by an even/odd
 * split (and / shift), and each uint16 lane gets one entry <= 255 per chunk,
 * so 256 chunks fit (65280) before a flush into the uint32 acc.
 *
 * 3-bit: the chunk's selector words are, by construction of the layout,
 * AVX-512 byte masks (bit j*16+t = lane j, byte t).  The four sub-table
 * lookups merge with masked shuffles (vpshufb with a merge mask), so the
 * selection costs no blend instructions: 4 shuffles per nibble half.
 *
 * Built with AVX-512 flags only on x86; otherwise the entry points fall back
 * to the scalar kernels and report not compiled, so dispatch never picks them.
 */
#include <cstring>

#include "core/scan_internal.h"

#if defined(__AVX512BW__) && defined(__AVX512F__)
/* GCC 12 warns inside its own headers about _mm512_undefined-based helpers. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#define TQ_HAVE_AVX512 1
#endif

namespace turboquant {

#ifdef TQ_HAVE_AVX512

namespace {

constexpr uint32_t kFlushChunks = 256;

/* Widens and adds the four uint16 accumulators into acc in slot order. */
inline void
FlushAcc(__m512i le, __m512i lo, __m512i he, __m512i ho, uint32_t *acc)
{
	/*
	 * Lane j, uint16 i of le holds slot 2i (of unit j); sum the four lanes in
	 * 32 bits, then interleave even and odd slots back into order.
	 */
	auto lanesum = [](__m512i v) -> __m256i {
		__m512i w0 = _mm512_cvtepu16_epi32(_mm512_castsi512_si256(v));      /* lanes 0,1 */
		__m512i w1 = _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(v, 1)); /* lanes 2,3 */
		__m512i s = _mm512_add_epi32(w0, w1);
		return _mm256_add_epi32(_mm512_castsi512_si256(s), _mm512_extracti64x4_epi64(s, 1));
	};
	__m256i e = lanesum(le), o = lanesum(lo);
	/* e = slots 0,2,..,14; o = 1,3,..,15 (8 x uint32 each). */
	__m256i a = _mm256_unpacklo_epi32(e, o); /* 0 1 2 3 | 8 9 10 11 */
	__m256i b = _mm256_unpackhi_epi32(e, o); /* 4 5 6 7 | 12 13 14 15 */
	__m256i s0 = _mm256_permute2x128_si256(a, b, 0x20);
	__m256i s1 = _mm256_permute2x128_si256(a, b, 0x31);
	__m256i *p = reinterpret_cast<__m256i *>(acc);
	_mm256_storeu_si256(p, _mm256_add_epi32(_mm256_loadu_si256(p), s0));
	_mm256_storeu_si256(p + 1, _mm256_add_epi32(_mm256_loadu_si256(p + 1), s1));
	e = lanesum(he);
	o = lanesum(ho);
	a = _mm256_unpacklo_epi32(e, o);
	b = _mm256_unpackhi_epi32(e, o);
	s0 = _mm256_permute2x128_si256(a, b, 0x20);
	s1 = _mm256_permute2x128_si256(a, b, 0x31);
	_mm256_storeu_si256(p + 2, _mm256_add_epi32(_mm256_loadu_si256(p + 2), s0));
	_mm256_storeu_si256(p + 3, _mm256_add_epi32(_mm256_loadu_si256(p + 3), s1));
}

inline uint64_t
LoadU64(const uint8_t *p)
{
	uint64_t v;
	std::memcpy(&v, p, 8);
	return v;
}

} /* namespace */

bool
tq_avx512_compiled() noexcept
{
	return true;
}

/* AVX-512BW nibble kernel (bits 1, 2, 4): one chunk per register. */
void
tq_scan_nibble_avx512(const uint8_t *lut, const uint8_t *chunks, uint32_t n, uint32_t *acc) noexcept
{
	const __m512i m0f = _mm512_set1_epi8(0x0f);
	const __m512i mff = _mm512_set1_epi16(0x00ff);
	while (n > 0) {
		uint32_t batch = n < kFlushChunks ? n : kFlushChunks;
		n -= batch;
		__m512i le = _mm512_setzero_si512(), lo = le, he = le, ho = le;
		for (uint32_t c = 0; c < batch; c++) {
			__m512i v = _mm512_loadu_si512(chunks);
			__m512i t = _mm512_loadu_si512(lut);
			__m512i rl = _mm512_shuffle_epi8(t, _mm512_and_si512(v, m0f));
			__m512i rh = _mm512_shuffle_epi8(t, _mm512_and_si512(_mm512_srli_epi16(v, 4), m0f));
			le = _mm512_add_epi16(le, _mm512_and_si512(rl, mff));
			lo = _mm512_add_epi16(lo, _mm512_srli_epi16(rl, 8));
			he = _mm512_add_epi16(he, _mm512_and_si512(rh, mff));
			ho = _mm512_add_epi16(ho, _mm512_srli_epi16(rh, 8));
			chunks += kNibbleChunkBytes;
			lut += kNibbleLutChunkBytes;
		}
		FlushAcc(le, lo, he, ho, acc);
	}
}

/* AVX-512BW 3-bit kernel: masked shuffles pick the sub-table per byte. */
void
tq_scan_bits3_avx512(const uint8_t *lut, const uint8_t *chunks, uint32_t n, uint32_t *acc) noexcept
{
	const __m512i m0f = _mm512_set1_epi8(0x0f);
	const __m512i mff = _mm512_set1_epi16(0x00ff);
	while (n > 0) {
		uint32_t batch = n < kFlushChunks ? n : kFlushChunks;
		n -= batch;
		__m512i le = _mm512_setzero_si512(), lo = le, he = le, ho = le;
		for (uint32_t c = 0; c < batch; c++) {
			__m512i v = _mm512_loadu_si512(chunks);
			__m512i t0 = _mm512_loadu_si512(lut);
			__m512i t1 = _mm512_loadu_si512(lut + 64);
			__m512i t2 = _mm512_loadu_si512(lut + 128);
			__m512i t3 = _mm512_loadu_si512(lut + 192);
			__mmask64 a0 = LoadU64(chunks + 64), a1 = LoadU64(chunks + 72);
			__mmask64 b0 = LoadU64(chunks + 80), b1 = LoadU64(chunks + 88);
			__m512i nl = _mm512_and_si512(v, m0f);
			__m512i nh = _mm512_and_si512(_mm512_srli_epi16(v, 4), m0f);
			__m512i rl = _mm512_shuffle_epi8(t0, nl);
			rl = _mm512_mask_shuffle_epi8(rl, a0 & ~b0, t1, nl);
			rl = _mm512_mask_shuffle_epi8(rl, ~a0 & b0, t2, nl);
			rl = _mm512_mask_shuffle_epi8(rl, a0 & b0, t3, nl);
			__m512i rh = _mm512_shuffle_epi8(t0, nh);
			rh = _mm512_mask_shuffle_epi8(rh, a1 & ~b1, t1, nh);
			rh = _mm512_mask_shuffle_epi8(rh, ~a1 & b1, t2, nh);
			rh = _mm512_mask_shuffle_epi8(rh, a1 & b1, t3, nh);
			le = _mm512_add_epi16(le, _mm512_and_si512(rl, mff));
			lo = _mm512_add_epi16(lo, _mm512_srli_epi16(rl, 8));
			he = _mm512_add_epi16(he, _mm512_and_si512(rh, mff));
			ho = _mm512_add_epi16(ho, _mm512_srli_epi16(rh, 8));
			chunks += kBits3ChunkBytes;
			lut += kBits3LutChunkBytes;
		}
		FlushAcc(le, lo, he, ho, acc);
	}
}

#else /* !TQ_HAVE_AVX512 */

bool
tq_avx512_compiled() noexcept
{
	return false;
}

void
tq_scan_nibble_avx512(const uint8_t *lut, const uint8_t *chunks, uint32_t n, uint32_t *acc) noexcept
{
	tq_scan_nibble_scalar(lut, chunks, n, acc);
}

void
tq_scan_bits3_avx512(const uint8_t *lut, const uint8_t *chunks, uint32_t n, uint32_t *acc) noexcept
{
	tq_scan_bits3_scalar(lut, chunks, n, acc);
}

#endif

} /* namespace turboquant */
