/*
 * scan_avx512.cpp — AVX-512BW scan kernels, selected at run time.
 *
 * One chunk is one 512-bit register: four 16-byte unit groups, one per lane,
 * looked up against the chunk's four 16-entry tables (also one register) with
 * a single in-lane vpshufb for the low nibbles (slots 0..15) and one for the
 * high nibbles (slots 16..31).  Bytes are summed 16 bits at a time the FAISS
 * way (a += r; b += r >> 8; even bytes = a - (b << 8) at the flush, exact
 * modulo 2^16), three instructions per shuffle.  Each uint16 lane gets one
 * entry <= 255 per chunk, so 256 chunks fit (65280) before a flush into the
 * uint32 acc.  Two-plane tables (16-bit entries) run a second set of
 * shuffles and accumulators on the high-byte plane, flushed shifted by 8.
 *
 * 3-bit: the chunk's selector words are, by construction of the layout,
 * AVX-512 byte masks (bit j*16+t = lane j, byte t).  The four sub-table
 * lookups merge with masked shuffles (vpshufb with a merge mask), so the
 * selection costs no blend instructions: 4 shuffles per nibble half.
 *
 * VBMI + VNNI variant of the nibble kernel (Ice Lake, Zen 4 and later).  The
 * FAISS accumulation costs three instructions per shuffle and a flush every
 * 256 chunks.  vpdpbusd instead sums four adjacent bytes straight into a
 * uint32 lane, exact with no flush, in one instruction, if the four bytes of
 * a slot's four units are adjacent.  The stored layout keeps units in lanes
 * (so AVX2 and NEON can use in-lane shuffles), so the kernel first transposes
 * the chunk with one vpermb (byte 4t+j <- byte 16j+t), then looks entries up
 * with vpermb in the whole 64-byte table (index = 16j + nibble, the unit
 * offset merged by vpternlog).  Per chunk and plane: 2 lookups + 2 dot
 * products, plus 4 shared instructions; two chunks in flight hide the
 * vpdpbusd latency.  Lane t of the sums is slot t (low nibbles) or t+16.
 *
 * Built with AVX-512 flags only on x86; otherwise the entry points fall back
 * to the scalar kernels and report not compiled, so dispatch never picks them.
 */
#include <cstring>

#include "scan_internal.h"

#if defined(__AVX512BW__) && defined(__AVX512F__)
/* GCC 12 warns inside its own headers about _mm512_undefined-based helpers. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#define TQ_HAVE_AVX512 1
/*
 * The VBMI + VNNI kernels get those ISAs per function, not per file, so the
 * plain AVX-512BW kernels here can never pick up an instruction a BW-only CPU
 * (Skylake-X) lacks; dispatch checks the CPU before choosing them.
 */
#define TQ_TARGET_VNNI __attribute__((target("avx512vbmi,avx512vnni")))
#endif

namespace turboquant {

#ifdef TQ_HAVE_AVX512

namespace {

constexpr uint32_t kFlushChunks = 256;

/* Sums the four 128-bit lanes of 32 uint16 into 8 uint32. */
inline __m256i
LaneSum(__m512i v)
{
	__m512i w0 = _mm512_cvtepu16_epi32(_mm512_castsi512_si256(v));       /* lanes 0,1 */
	__m512i w1 = _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(v, 1)); /* lanes 2,3 */
	__m512i s = _mm512_add_epi32(w0, w1);
	return _mm256_add_epi32(_mm512_castsi512_si256(s), _mm512_extracti64x4_epi64(s, 1));
}

/*
 * Adds one side's sums (16 slots) into acc16: a holds both bytes per word,
 * b the odd bytes; even sums are recovered, lanes summed, slots interleaved
 * back into order, entries shifted by `shift` (8 for the high-byte plane).
 */
inline void
FlushSide(__m512i a, __m512i b, int shift, uint32_t *acc16)
{
	__m512i even = _mm512_sub_epi16(a, _mm512_slli_epi16(b, 8));
	__m256i e = LaneSum(even), o = LaneSum(b); /* slots 0,2,..,14 and 1,3,..,15 */
	__m256i lo = _mm256_unpacklo_epi32(e, o);  /* 0 1 2 3 | 8 9 10 11 */
	__m256i hi = _mm256_unpackhi_epi32(e, o);  /* 4 5 6 7 | 12 13 14 15 */
	__m256i s0 = _mm256_permute2x128_si256(lo, hi, 0x20);
	__m256i s1 = _mm256_permute2x128_si256(lo, hi, 0x31);
	__m128i sh = _mm_cvtsi32_si128(shift);
	s0 = _mm256_sll_epi32(s0, sh);
	s1 = _mm256_sll_epi32(s1, sh);
	__m256i *p = reinterpret_cast<__m256i *>(acc16);
	_mm256_storeu_si256(p, _mm256_add_epi32(_mm256_loadu_si256(p), s0));
	_mm256_storeu_si256(p + 1, _mm256_add_epi32(_mm256_loadu_si256(p + 1), s1));
}

inline uint64_t
LoadU64(const uint8_t *p)
{
	uint64_t v;
	std::memcpy(&v, p, 8);
	return v;
}

/* AVX-512BW nibble kernel (bits 1, 2, 4) with P table planes: one chunk per register. */
template <int P>
inline void
ScanNibbleAvx512(const uint8_t *lut, const uint8_t *chunks, uint32_t n, uint32_t *acc)
{
	const __m512i m0f = _mm512_set1_epi8(0x0f);
	while (n > 0) {
		uint32_t batch = n < kFlushChunks ? n : kFlushChunks;
		n -= batch;
		__m512i a[P][2], b[P][2];
		for (int p = 0; p < P; p++)
			a[p][0] = a[p][1] = b[p][0] = b[p][1] = _mm512_setzero_si512();
		for (uint32_t c = 0; c < batch; c++) {
			__m512i v = _mm512_loadu_si512(chunks);
			__m512i nl = _mm512_and_si512(v, m0f);
			__m512i nh = _mm512_and_si512(_mm512_srli_epi16(v, 4), m0f);
			for (int p = 0; p < P; p++) {
				__m512i t = _mm512_loadu_si512(lut + p * kNibbleLutChunkBytes);
				__m512i rl = _mm512_shuffle_epi8(t, nl);
				__m512i rh = _mm512_shuffle_epi8(t, nh);
				a[p][0] = _mm512_add_epi16(a[p][0], rl);
				b[p][0] = _mm512_add_epi16(b[p][0], _mm512_srli_epi16(rl, 8));
				a[p][1] = _mm512_add_epi16(a[p][1], rh);
				b[p][1] = _mm512_add_epi16(b[p][1], _mm512_srli_epi16(rh, 8));
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

/* AVX-512BW 3-bit kernel with P planes: masked shuffles pick the sub-table per byte. */
template <int P>
inline void
ScanBits3Avx512(const uint8_t *lut, const uint8_t *chunks, uint32_t n, uint32_t *acc)
{
	const __m512i m0f = _mm512_set1_epi8(0x0f);
	while (n > 0) {
		uint32_t batch = n < kFlushChunks ? n : kFlushChunks;
		n -= batch;
		__m512i a[P][2], b[P][2];
		for (int p = 0; p < P; p++)
			a[p][0] = a[p][1] = b[p][0] = b[p][1] = _mm512_setzero_si512();
		for (uint32_t c = 0; c < batch; c++) {
			__m512i v = _mm512_loadu_si512(chunks);
			uint64_t a0 = LoadU64(chunks + 64), a1 = LoadU64(chunks + 72);
			uint64_t b0 = LoadU64(chunks + 80), b1 = LoadU64(chunks + 88);
			/* Sub-table masks: s = first-code high bit | second-code high bit << 1. */
			__mmask64 l1 = a0 & ~b0, l2 = ~a0 & b0, l3 = a0 & b0;
			__mmask64 h1 = a1 & ~b1, h2 = ~a1 & b1, h3 = a1 & b1;
			__m512i nl = _mm512_and_si512(v, m0f);
			__m512i nh = _mm512_and_si512(_mm512_srli_epi16(v, 4), m0f);
			for (int p = 0; p < P; p++) {
				const uint8_t *tp = lut + p * kBits3LutChunkBytes;
				__m512i t0 = _mm512_loadu_si512(tp);
				__m512i t1 = _mm512_loadu_si512(tp + 64);
				__m512i t2 = _mm512_loadu_si512(tp + 128);
				__m512i t3 = _mm512_loadu_si512(tp + 192);
				__m512i rl = _mm512_shuffle_epi8(t0, nl);
				rl = _mm512_mask_shuffle_epi8(rl, l1, t1, nl);
				rl = _mm512_mask_shuffle_epi8(rl, l2, t2, nl);
				rl = _mm512_mask_shuffle_epi8(rl, l3, t3, nl);
				__m512i rh = _mm512_shuffle_epi8(t0, nh);
				rh = _mm512_mask_shuffle_epi8(rh, h1, t1, nh);
				rh = _mm512_mask_shuffle_epi8(rh, h2, t2, nh);
				rh = _mm512_mask_shuffle_epi8(rh, h3, t3, nh);
				a[p][0] = _mm512_add_epi16(a[p][0], rl);
				b[p][0] = _mm512_add_epi16(b[p][0], _mm512_srli_epi16(rl, 8));
				a[p][1] = _mm512_add_epi16(a[p][1], rh);
				b[p][1] = _mm512_add_epi16(b[p][1], _mm512_srli_epi16(rh, 8));
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

/* One chunk of the VBMI + VNNI kernel: transpose, look up, dot-accumulate. */
template <int P>
TQ_TARGET_VNNI inline void
VnniStep(const uint8_t *lut, const uint8_t *chunk, __m512i tr, __m512i m0f, __m512i offs,
		 __m512i ones, __m512i *al, __m512i *ah)
{
	__m512i v = _mm512_permutexvar_epi8(tr, _mm512_loadu_si512(chunk));
	/* (nibble & 0x0f) | 16j in one vpternlog: (A & B) | C = 0xEA. */
	__m512i il = _mm512_ternarylogic_epi32(v, m0f, offs, 0xEA);
	__m512i ih = _mm512_ternarylogic_epi32(_mm512_srli_epi16(v, 4), m0f, offs, 0xEA);
	for (int p = 0; p < P; p++) {
		__m512i t = _mm512_loadu_si512(lut + p * kNibbleLutChunkBytes);
		al[p] = _mm512_dpbusd_epi32(al[p], _mm512_permutexvar_epi8(il, t), ones);
		ah[p] = _mm512_dpbusd_epi32(ah[p], _mm512_permutexvar_epi8(ih, t), ones);
	}
}

/* VBMI + VNNI nibble kernel with P planes; uint32 sums need no flush. */
template <int P>
TQ_TARGET_VNNI inline void
ScanNibbleVnni(const uint8_t *lut, const uint8_t *chunks, uint32_t n, uint32_t *acc)
{
	alignas(64) uint8_t tr_bytes[64];
	for (int t = 0; t < 16; t++)
		for (int j = 0; j < 4; j++)
			tr_bytes[4 * t + j] = (uint8_t) (16 * j + t);
	const __m512i tr = _mm512_load_si512(tr_bytes);
	const __m512i m0f = _mm512_set1_epi8(0x0f);
	const __m512i offs = _mm512_set1_epi32(0x30201000);
	const __m512i ones = _mm512_set1_epi8(1);
	__m512i al0[P], ah0[P], al1[P], ah1[P];
	for (int p = 0; p < P; p++)
		al0[p] = ah0[p] = al1[p] = ah1[p] = _mm512_setzero_si512();
	uint32_t c = 0;
	for (; c + 2 <= n; c += 2) {
		VnniStep<P>(lut, chunks, tr, m0f, offs, ones, al0, ah0);
		VnniStep<P>(lut + P * kNibbleLutChunkBytes, chunks + kNibbleChunkBytes, tr, m0f, offs, ones,
					al1, ah1);
		chunks += 2 * kNibbleChunkBytes;
		lut += 2 * P * kNibbleLutChunkBytes;
	}
	if (c < n)
		VnniStep<P>(lut, chunks, tr, m0f, offs, ones, al0, ah0);
	/* At most 4000 chunks x 4 x 255 per plane: the shifted sum still fits in 32 bits. */
	__m512i lo = _mm512_add_epi32(al0[0], al1[0]);
	__m512i hi = _mm512_add_epi32(ah0[0], ah1[0]);
	if (P == 2) {
		lo = _mm512_add_epi32(lo, _mm512_slli_epi32(_mm512_add_epi32(al0[P - 1], al1[P - 1]), 8));
		hi = _mm512_add_epi32(hi, _mm512_slli_epi32(_mm512_add_epi32(ah0[P - 1], ah1[P - 1]), 8));
	}
	_mm512_storeu_si512(acc, _mm512_add_epi32(_mm512_loadu_si512(acc), lo));
	_mm512_storeu_si512(acc + 16, _mm512_add_epi32(_mm512_loadu_si512(acc + 16), hi));
}

/*
 * One chunk of the VBMI + VNNI 3-bit kernel, on the per-pair tables (the
 * second half of each plane: pair j's 64 entries at 256 + 64j, indexed by
 * s << 4 | nib, so one vpermb looks up any byte of pair j).  The selector
 * bits join the nibbles as bits 4 and 5 with masked byte adds (the masks are
 * in layout order).  Two vpermt2b then gather 2 pairs x 32 slots per
 * register, dword m = [m p0, m p1, m+16 p0, m+16 p1] and [m+16 p2, m+16 p3,
 * m p2, m p3]; each register is looked up with one vpermb and one merge-
 * masked vpermb (odd bytes: the second pair), and a word blend of the two
 * results gives dwords of one slot's four pairs, which vpdpbusd sums exactly
 * into uint32 lanes.  Per chunk and plane: 4 lookups, 2 blends, 2 dot
 * products, plus 11 shared instructions.
 */
template <int P>
TQ_TARGET_VNNI inline void
Bits3VnniStep(const uint8_t *lut, const uint8_t *chunk, __m512i g01, __m512i g23, __m512i m0f,
			  __m512i ones, __m512i *al, __m512i *ah)
{
	const __m512i c10 = _mm512_set1_epi8(0x10);
	const __m512i c20 = _mm512_set1_epi8(0x20);
	const __mmask64 odd = 0xAAAAAAAAAAAAAAAAull;
	__m512i v = _mm512_loadu_si512(chunk);
	__mmask64 a0 = _cvtu64_mask64(LoadU64(chunk + 64)), a1 = _cvtu64_mask64(LoadU64(chunk + 72));
	__mmask64 b0 = _cvtu64_mask64(LoadU64(chunk + 80)), b1 = _cvtu64_mask64(LoadU64(chunk + 88));
	__m512i il = _mm512_and_si512(v, m0f);
	__m512i ih = _mm512_and_si512(_mm512_srli_epi16(v, 4), m0f);
	il = _mm512_mask_add_epi8(il, a0, il, c10);
	ih = _mm512_mask_add_epi8(ih, a1, ih, c10);
	il = _mm512_mask_add_epi8(il, b0, il, c20);
	ih = _mm512_mask_add_epi8(ih, b1, ih, c20);
	__m512i x01 = _mm512_permutex2var_epi8(il, g01, ih);
	__m512i x23 = _mm512_permutex2var_epi8(il, g23, ih);
	for (int p = 0; p < P; p++) {
		const uint8_t *tp = lut + p * kBits3LutChunkBytes + kBits3PairTablesOffset;
		__m512i r01 = _mm512_permutexvar_epi8(x01, _mm512_loadu_si512(tp));
		r01 = _mm512_mask_permutexvar_epi8(r01, odd, x01, _mm512_loadu_si512(tp + 64));
		__m512i r23 = _mm512_permutexvar_epi8(x23, _mm512_loadu_si512(tp + 128));
		r23 = _mm512_mask_permutexvar_epi8(r23, odd, x23, _mm512_loadu_si512(tp + 192));
		__m512i yl = _mm512_mask_blend_epi16(0xAAAAAAAAu, r01, r23);
		__m512i yh = _mm512_mask_blend_epi16(0xAAAAAAAAu, r23, r01);
		al[p] = _mm512_dpbusd_epi32(al[p], yl, ones);
		ah[p] = _mm512_dpbusd_epi32(ah[p], yh, ones);
	}
}

/* VBMI + VNNI 3-bit kernel with P planes; uint32 sums need no flush. */
template <int P>
TQ_TARGET_VNNI inline void
ScanBits3Vnni(const uint8_t *lut, const uint8_t *chunks, uint32_t n, uint32_t *acc)
{
	/* Gathers from il (bytes 0..63) and ih (64..127): byte 16j + t is slot t (t+16) of pair j. */
	alignas(64) uint8_t g01_bytes[64], g23_bytes[64];
	for (int m = 0; m < 16; m++) {
		const uint8_t b01[4] = {(uint8_t) m, (uint8_t) (16 + m), (uint8_t) (64 + m),
								(uint8_t) (80 + m)};
		const uint8_t b23[4] = {(uint8_t) (96 + m), (uint8_t) (112 + m), (uint8_t) (32 + m),
								(uint8_t) (48 + m)};
		for (int k = 0; k < 4; k++) {
			g01_bytes[4 * m + k] = b01[k];
			g23_bytes[4 * m + k] = b23[k];
		}
	}
	const __m512i g01 = _mm512_load_si512(g01_bytes), g23 = _mm512_load_si512(g23_bytes);
	const __m512i m0f = _mm512_set1_epi8(0x0f);
	const __m512i ones = _mm512_set1_epi8(1);
	__m512i al0[P], ah0[P], al1[P], ah1[P];
	for (int p = 0; p < P; p++)
		al0[p] = ah0[p] = al1[p] = ah1[p] = _mm512_setzero_si512();
	uint32_t c = 0;
	for (; c + 2 <= n; c += 2) {
		Bits3VnniStep<P>(lut, chunks, g01, g23, m0f, ones, al0, ah0);
		Bits3VnniStep<P>(lut + P * kBits3LutChunkBytes, chunks + kBits3ChunkBytes, g01, g23, m0f,
						 ones, al1, ah1);
		chunks += 2 * kBits3ChunkBytes;
		lut += 2 * P * kBits3LutChunkBytes;
	}
	if (c < n)
		Bits3VnniStep<P>(lut, chunks, g01, g23, m0f, ones, al0, ah0);
	/* At most 2000 chunks x 4 x 255 per plane: the shifted sum still fits in 32 bits. */
	__m512i lo = _mm512_add_epi32(al0[0], al1[0]);
	__m512i hi = _mm512_add_epi32(ah0[0], ah1[0]);
	if (P == 2) {
		lo = _mm512_add_epi32(lo, _mm512_slli_epi32(_mm512_add_epi32(al0[P - 1], al1[P - 1]), 8));
		hi = _mm512_add_epi32(hi, _mm512_slli_epi32(_mm512_add_epi32(ah0[P - 1], ah1[P - 1]), 8));
	}
	_mm512_storeu_si512(acc, _mm512_add_epi32(_mm512_loadu_si512(acc), lo));
	_mm512_storeu_si512(acc + 16, _mm512_add_epi32(_mm512_loadu_si512(acc + 16), hi));
}

} /* namespace */

bool
tq_avx512_compiled() noexcept
{
	return true;
}

TQ_TARGET_VNNI void
tq_scan_nibble_vnni_avx512(const uint8_t *lut, const uint8_t *chunks, uint32_t n,
						   uint32_t *acc) noexcept
{
	ScanNibbleVnni<1>(lut, chunks, n, acc);
}

TQ_TARGET_VNNI void
tq_scan_nibble2_vnni_avx512(const uint8_t *lut, const uint8_t *chunks, uint32_t n,
							uint32_t *acc) noexcept
{
	ScanNibbleVnni<2>(lut, chunks, n, acc);
}

TQ_TARGET_VNNI void
tq_scan_bits3_vnni_avx512(const uint8_t *lut, const uint8_t *chunks, uint32_t n,
						  uint32_t *acc) noexcept
{
	ScanBits3Vnni<1>(lut, chunks, n, acc);
}

TQ_TARGET_VNNI void
tq_scan_bits3_2_vnni_avx512(const uint8_t *lut, const uint8_t *chunks, uint32_t n,
							uint32_t *acc) noexcept
{
	ScanBits3Vnni<2>(lut, chunks, n, acc);
}

void
tq_scan_nibble_avx512(const uint8_t *lut, const uint8_t *chunks, uint32_t n, uint32_t *acc) noexcept
{
	ScanNibbleAvx512<1>(lut, chunks, n, acc);
}

void
tq_scan_nibble2_avx512(const uint8_t *lut, const uint8_t *chunks, uint32_t n,
					   uint32_t *acc) noexcept
{
	ScanNibbleAvx512<2>(lut, chunks, n, acc);
}

void
tq_scan_bits3_avx512(const uint8_t *lut, const uint8_t *chunks, uint32_t n, uint32_t *acc) noexcept
{
	ScanBits3Avx512<1>(lut, chunks, n, acc);
}

void
tq_scan_bits3_2_avx512(const uint8_t *lut, const uint8_t *chunks, uint32_t n,
					   uint32_t *acc) noexcept
{
	ScanBits3Avx512<2>(lut, chunks, n, acc);
}

#else /* !TQ_HAVE_AVX512 */

void
tq_scan_nibble_vnni_avx512(const uint8_t *lut, const uint8_t *chunks, uint32_t n,
						   uint32_t *acc) noexcept
{
	tq_scan_nibble_scalar(lut, chunks, n, acc);
}

void
tq_scan_nibble2_vnni_avx512(const uint8_t *lut, const uint8_t *chunks, uint32_t n,
							uint32_t *acc) noexcept
{
	tq_scan_nibble2_scalar(lut, chunks, n, acc);
}

void
tq_scan_bits3_vnni_avx512(const uint8_t *lut, const uint8_t *chunks, uint32_t n,
						  uint32_t *acc) noexcept
{
	tq_scan_bits3_scalar(lut, chunks, n, acc);
}

void
tq_scan_bits3_2_vnni_avx512(const uint8_t *lut, const uint8_t *chunks, uint32_t n,
							uint32_t *acc) noexcept
{
	tq_scan_bits3_2_scalar(lut, chunks, n, acc);
}

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

void
tq_scan_nibble2_avx512(const uint8_t *lut, const uint8_t *chunks, uint32_t n,
					   uint32_t *acc) noexcept
{
	tq_scan_nibble2_scalar(lut, chunks, n, acc);
}

void
tq_scan_bits3_2_avx512(const uint8_t *lut, const uint8_t *chunks, uint32_t n,
					   uint32_t *acc) noexcept
{
	tq_scan_bits3_2_scalar(lut, chunks, n, acc);
}

#endif

} /* namespace turboquant */
