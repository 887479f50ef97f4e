/*
 * scan_simde.cpp — 256-bit scan kernels written with simde (AVX2 semantics).
 *
 * On x86 this file is compiled with -mavx2 -mfma -mbmi2 and simde maps every
 * call to the native instruction; the dispatcher only selects it when the CPU
 * has AVX2.  Elsewhere (ARM) simde translates to NEON.
 *
 * Nibble kernel: a 64-byte chunk is two 256-bit halves, each holding two
 * unit groups (one per 128-bit lane).  The low nibbles look up slots 0..15,
 * the high nibbles slots 16..31, with one in-lane vpshufb each against the
 * units' 16-entry tables.  Byte results are widened to 16 bits by splitting
 * even and odd bytes (mask / shift), which keeps slot order recoverable
 * without unpacking, and added into four uint16 accumulators.  Each uint16
 * lane receives 2 entries <= 255 per chunk, so after 128 chunks (65280) the
 * accumulators are flushed into the uint32 acc: sums stay exact at any d.
 *
 * 3-bit kernel: as above per pair, but each nibble is looked up in all four
 * sub-tables and the selector bit planes, expanded from bits to byte masks
 * (broadcast, byte shuffle, and, compare), choose among them with blends.
 */
#include <cstring>

#include <simde/x86/avx2.h>

#include "core/scan_internal.h"

namespace turboquant {

namespace {

constexpr uint32_t kFlushChunks = 128;

/* Adds the four uint16 accumulators into acc in slot order. */
inline void
FlushAcc(simde__m256i le, simde__m256i lo, simde__m256i he, simde__m256i ho, uint32_t *acc)
{
	alignas(32) uint16_t a[4][16];
	simde_mm256_store_si256(reinterpret_cast<simde__m256i *>(a[0]), le);
	simde_mm256_store_si256(reinterpret_cast<simde__m256i *>(a[1]), lo);
	simde_mm256_store_si256(reinterpret_cast<simde__m256i *>(a[2]), he);
	simde_mm256_store_si256(reinterpret_cast<simde__m256i *>(a[3]), ho);
	for (int i = 0; i < 8; i++) {
		acc[2 * i] += (uint32_t) a[0][i] + a[0][8 + i];
		acc[2 * i + 1] += (uint32_t) a[1][i] + a[1][8 + i];
		acc[16 + 2 * i] += (uint32_t) a[2][i] + a[2][8 + i];
		acc[17 + 2 * i] += (uint32_t) a[3][i] + a[3][8 + i];
	}
}

/* Byte k of the result is 0xFF when bit k of m is set. */
inline simde__m256i
ExpandBits32(uint32_t m)
{
	const simde__m256i idx = simde_mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
												   2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
	const simde__m256i bit = simde_mm256_set1_epi64x((long long) 0x8040201008040201ULL);
	simde__m256i v = simde_mm256_shuffle_epi8(simde_mm256_set1_epi32((int) m), idx);
	return simde_mm256_cmpeq_epi8(simde_mm256_and_si256(v, bit), bit);
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
tq_simde_compiled() noexcept
{
	return true;
}

/* 256-bit nibble kernel (bits 1, 2, 4). */
void
tq_scan_nibble_simde(const uint8_t *lut, const uint8_t *chunks, uint32_t n, uint32_t *acc) noexcept
{
	const simde__m256i m0f = simde_mm256_set1_epi8(0x0f);
	const simde__m256i mff = simde_mm256_set1_epi16(0x00ff);
	while (n > 0) {
		uint32_t batch = n < kFlushChunks ? n : kFlushChunks;
		n -= batch;
		simde__m256i le = simde_mm256_setzero_si256(), lo = le, he = le, ho = le;
		for (uint32_t c = 0; c < batch; c++) {
			for (int h = 0; h < 2; h++) {
				simde__m256i v = simde_mm256_loadu_si256(
					reinterpret_cast<const simde__m256i *>(chunks + 32 * h));
				simde__m256i t = simde_mm256_loadu_si256(
					reinterpret_cast<const simde__m256i *>(lut + 32 * h));
				simde__m256i nl = simde_mm256_and_si256(v, m0f);
				simde__m256i nh = simde_mm256_and_si256(simde_mm256_srli_epi16(v, 4), m0f);
				simde__m256i rl = simde_mm256_shuffle_epi8(t, nl);
				simde__m256i rh = simde_mm256_shuffle_epi8(t, nh);
				le = simde_mm256_add_epi16(le, simde_mm256_and_si256(rl, mff));
				lo = simde_mm256_add_epi16(lo, simde_mm256_srli_epi16(rl, 8));
				he = simde_mm256_add_epi16(he, simde_mm256_and_si256(rh, mff));
				ho = simde_mm256_add_epi16(ho, simde_mm256_srli_epi16(rh, 8));
			}
			chunks += kNibbleChunkBytes;
			lut += kNibbleLutChunkBytes;
		}
		FlushAcc(le, lo, he, ho, acc);
	}
}

/* One 256-bit half of a 3-bit chunk: looks up nibbles in 4 sub-tables, selects by bit planes. */
inline simde__m256i
Lookup3(const simde__m256i t[4], simde__m256i nib, uint32_t sel0, uint32_t sel1)
{
	simde__m256i m0 = ExpandBits32(sel0), m1 = ExpandBits32(sel1);
	simde__m256i r01 = simde_mm256_blendv_epi8(simde_mm256_shuffle_epi8(t[0], nib),
											   simde_mm256_shuffle_epi8(t[1], nib), m0);
	simde__m256i r23 = simde_mm256_blendv_epi8(simde_mm256_shuffle_epi8(t[2], nib),
											   simde_mm256_shuffle_epi8(t[3], nib), m0);
	return simde_mm256_blendv_epi8(r01, r23, m1);
}

/* 256-bit 3-bit kernel. */
void
tq_scan_bits3_simde(const uint8_t *lut, const uint8_t *chunks, uint32_t n, uint32_t *acc) noexcept
{
	const simde__m256i m0f = simde_mm256_set1_epi8(0x0f);
	const simde__m256i mff = simde_mm256_set1_epi16(0x00ff);
	while (n > 0) {
		uint32_t batch = n < kFlushChunks ? n : kFlushChunks;
		n -= batch;
		simde__m256i le = simde_mm256_setzero_si256(), lo = le, he = le, ho = le;
		for (uint32_t c = 0; c < batch; c++) {
			uint64_t w0 = LoadU64(chunks + 64), w1 = LoadU64(chunks + 72);
			uint64_t w2 = LoadU64(chunks + 80), w3 = LoadU64(chunks + 88);
			for (int h = 0; h < 2; h++) {
				simde__m256i v = simde_mm256_loadu_si256(
					reinterpret_cast<const simde__m256i *>(chunks + 32 * h));
				simde__m256i t[4];
				for (int s = 0; s < 4; s++)
					t[s] = simde_mm256_loadu_si256(
						reinterpret_cast<const simde__m256i *>(lut + 64 * s + 32 * h));
				simde__m256i nl = simde_mm256_and_si256(v, m0f);
				simde__m256i nh = simde_mm256_and_si256(simde_mm256_srli_epi16(v, 4), m0f);
				int sh = 32 * h;
				simde__m256i rl = Lookup3(t, nl, (uint32_t) (w0 >> sh), (uint32_t) (w2 >> sh));
				simde__m256i rh = Lookup3(t, nh, (uint32_t) (w1 >> sh), (uint32_t) (w3 >> sh));
				le = simde_mm256_add_epi16(le, simde_mm256_and_si256(rl, mff));
				lo = simde_mm256_add_epi16(lo, simde_mm256_srli_epi16(rl, 8));
				he = simde_mm256_add_epi16(he, simde_mm256_and_si256(rh, mff));
				ho = simde_mm256_add_epi16(ho, simde_mm256_srli_epi16(rh, 8));
			}
			chunks += kBits3ChunkBytes;
			lut += kBits3LutChunkBytes;
		}
		FlushAcc(le, lo, he, ho, acc);
	}
}

} /* namespace turboquant */
