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
 * units' 16-entry tables.  Byte results are summed 16 bits at a time the
 * FAISS way: a += r (both bytes of each word at once) and b += r >> 8 (odd
 * bytes); at a flush the even-byte sums are a - (b << 8), exact modulo 2^16
 * because each true sum stays below 2^16.  Each uint16 lane receives 2
 * entries <= 255 per chunk, so after 128 chunks (65280) the accumulators are
 * flushed into the uint32 acc: sums stay exact at any d.  With two table
 * planes (16-bit entries) the high-byte plane has its own accumulators,
 * shifted left by 8 when flushed.
 *
 * 3-bit kernel: as above per pair, but each nibble is looked up in all four
 * sub-tables and the selector bit planes, expanded from bits to byte masks
 * (broadcast, byte shuffle, and, compare), choose among them with blends.
 */
#include <cstring>

#include <simde/x86/avx2.h>

#include "scan_internal.h"

namespace turboquant {

namespace {

constexpr uint32_t kFlushChunks = 128;

/*
 * Adds one side's sums into acc16 (16 slots): a holds even+odd bytes packed
 * per word, b the odd bytes; lanes are summed, entries shifted by `shift`.
 */
inline void
FlushSide(simde__m256i a, simde__m256i b, int shift, uint32_t *acc16)
{
	simde__m256i even = simde_mm256_sub_epi16(a, simde_mm256_slli_epi16(b, 8));
	alignas(32) uint16_t e[16], o[16];
	simde_mm256_store_si256(reinterpret_cast<simde__m256i *>(e), even);
	simde_mm256_store_si256(reinterpret_cast<simde__m256i *>(o), b);
	for (int i = 0; i < 8; i++) {
		acc16[2 * i] += ((uint32_t) e[i] + e[8 + i]) << shift;
		acc16[2 * i + 1] += ((uint32_t) o[i] + o[8 + i]) << shift;
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

inline simde__m256i
Load256(const uint8_t *p)
{
	return simde_mm256_loadu_si256(reinterpret_cast<const simde__m256i *>(p));
}

/* Looks up nibbles in 4 sub-tables and selects per byte by two expanded bit planes. */
inline simde__m256i
Lookup3(const simde__m256i t[4], simde__m256i nib, simde__m256i m0, simde__m256i m1)
{
	simde__m256i r01 = simde_mm256_blendv_epi8(simde_mm256_shuffle_epi8(t[0], nib),
											   simde_mm256_shuffle_epi8(t[1], nib), m0);
	simde__m256i r23 = simde_mm256_blendv_epi8(simde_mm256_shuffle_epi8(t[2], nib),
											   simde_mm256_shuffle_epi8(t[3], nib), m0);
	return simde_mm256_blendv_epi8(r01, r23, m1);
}

/* 256-bit nibble kernel (bits 1, 2, 4) with P table planes. */
template <int P>
inline void
ScanNibbleSimde(const uint8_t *lut, const uint8_t *chunks, uint32_t n, uint32_t *acc)
{
	const simde__m256i m0f = simde_mm256_set1_epi8(0x0f);
	while (n > 0) {
		uint32_t batch = n < kFlushChunks ? n : kFlushChunks;
		n -= batch;
		simde__m256i a[P][2], b[P][2];
		for (int p = 0; p < P; p++)
			a[p][0] = a[p][1] = b[p][0] = b[p][1] = simde_mm256_setzero_si256();
		for (uint32_t c = 0; c < batch; c++) {
			for (int h = 0; h < 2; h++) {
				simde__m256i v = Load256(chunks + 32 * h);
				simde__m256i nl = simde_mm256_and_si256(v, m0f);
				simde__m256i nh = simde_mm256_and_si256(simde_mm256_srli_epi16(v, 4), m0f);
				for (int p = 0; p < P; p++) {
					simde__m256i t = Load256(lut + p * kNibbleLutChunkBytes + 32 * h);
					simde__m256i rl = simde_mm256_shuffle_epi8(t, nl);
					simde__m256i rh = simde_mm256_shuffle_epi8(t, nh);
					a[p][0] = simde_mm256_add_epi16(a[p][0], rl);
					b[p][0] = simde_mm256_add_epi16(b[p][0], simde_mm256_srli_epi16(rl, 8));
					a[p][1] = simde_mm256_add_epi16(a[p][1], rh);
					b[p][1] = simde_mm256_add_epi16(b[p][1], simde_mm256_srli_epi16(rh, 8));
				}
			}
			chunks += kNibbleChunkBytes;
			lut += P * kNibbleLutChunkBytes;
		}
		for (int p = 0; p < P; p++) {
			FlushSide(a[p][0], b[p][0], 8 * p, acc);
			FlushSide(a[p][1], b[p][1], 8 * p, acc + 16);
		}
	}
}

/* 256-bit 3-bit kernel with P table planes. */
template <int P>
inline void
ScanBits3Simde(const uint8_t *lut, const uint8_t *chunks, uint32_t n, uint32_t *acc)
{
	const simde__m256i m0f = simde_mm256_set1_epi8(0x0f);
	while (n > 0) {
		uint32_t batch = n < kFlushChunks ? n : kFlushChunks;
		n -= batch;
		simde__m256i a[P][2], b[P][2];
		for (int p = 0; p < P; p++)
			a[p][0] = a[p][1] = b[p][0] = b[p][1] = simde_mm256_setzero_si256();
		for (uint32_t c = 0; c < batch; c++) {
			uint64_t w0 = LoadU64(chunks + 64), w1 = LoadU64(chunks + 72);
			uint64_t w2 = LoadU64(chunks + 80), w3 = LoadU64(chunks + 88);
			for (int h = 0; h < 2; h++) {
				simde__m256i v = Load256(chunks + 32 * h);
				simde__m256i nl = simde_mm256_and_si256(v, m0f);
				simde__m256i nh = simde_mm256_and_si256(simde_mm256_srli_epi16(v, 4), m0f);
				int sh = 32 * h;
				simde__m256i ml0 = ExpandBits32((uint32_t) (w0 >> sh));
				simde__m256i ml1 = ExpandBits32((uint32_t) (w2 >> sh));
				simde__m256i mh0 = ExpandBits32((uint32_t) (w1 >> sh));
				simde__m256i mh1 = ExpandBits32((uint32_t) (w3 >> sh));
				for (int p = 0; p < P; p++) {
					simde__m256i t[4];
					for (int s = 0; s < 4; s++)
						t[s] = Load256(lut + p * kBits3LutChunkBytes + 64 * s + 32 * h);
					simde__m256i rl = Lookup3(t, nl, ml0, ml1);
					simde__m256i rh = Lookup3(t, nh, mh0, mh1);
					a[p][0] = simde_mm256_add_epi16(a[p][0], rl);
					b[p][0] = simde_mm256_add_epi16(b[p][0], simde_mm256_srli_epi16(rl, 8));
					a[p][1] = simde_mm256_add_epi16(a[p][1], rh);
					b[p][1] = simde_mm256_add_epi16(b[p][1], simde_mm256_srli_epi16(rh, 8));
				}
			}
			chunks += kBits3ChunkBytes;
			lut += P * kBits3LutChunkBytes;
		}
		for (int p = 0; p < P; p++) {
			FlushSide(a[p][0], b[p][0], 8 * p, acc);
			FlushSide(a[p][1], b[p][1], 8 * p, acc + 16);
		}
	}
}

} /* namespace */

bool
tq_simde_compiled() noexcept
{
	return true;
}

void
tq_scan_nibble_simde(const uint8_t *lut, const uint8_t *chunks, uint32_t n, uint32_t *acc) noexcept
{
	ScanNibbleSimde<1>(lut, chunks, n, acc);
}

void
tq_scan_nibble2_simde(const uint8_t *lut, const uint8_t *chunks, uint32_t n, uint32_t *acc) noexcept
{
	ScanNibbleSimde<2>(lut, chunks, n, acc);
}

void
tq_scan_bits3_simde(const uint8_t *lut, const uint8_t *chunks, uint32_t n, uint32_t *acc) noexcept
{
	ScanBits3Simde<1>(lut, chunks, n, acc);
}

void
tq_scan_bits3_2_simde(const uint8_t *lut, const uint8_t *chunks, uint32_t n, uint32_t *acc) noexcept
{
	ScanBits3Simde<2>(lut, chunks, n, acc);
}

} /* namespace turboquant */
