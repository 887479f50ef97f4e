/*
 * scan_avx512.cpp — AVX-512BW scan kernels, selected at run time.
 *
 * One group is one 512-bit register: four 16-byte unit groups, one per lane,
 * looked up against the chunk's four 16-entry tables (also one register) with
 * a single in-lane vpshufb for the low nibbles (slots 0..15) and one for the
 * high nibbles (slots 16..31).  Bytes are summed 16 bits at a time the FAISS
 * way (a += r; b += r >> 8; even bytes = a - (b << 8) at the flush, exact
 * modulo 2^16), three instructions per shuffle.  Each uint16 lane gets one
 * entry <= 255 per chunk, so 256 chunks fit (65280) before a flush into the
 * uint32 acc.  Two-plane tables (16-bit entries) run a second set of
 * shuffles and accumulators on the high-byte plane, flushed shifted by 8.
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
 * Two kernel sets live here: "avx512" (AVX-512BW) and "avx512vnni".  Built
 * with AVX-512 flags only on x86; elsewhere both sets say they do not run.
 */
#include "scan_internal.h"

#if defined(__AVX512BW__) && defined(__AVX512F__)
/* GCC 12 warns inside its own headers about _mm512_undefined-based helpers. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#define TQ_HAVE_AVX512 1
#include "encode_lanes.h"
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

/* AVX-512BW nibble kernel (bits 1, 2, 4) with P table planes: one chunk per register. */
template <int P>
void
ScanNibbleAvx512(const uint8_t *lut, const uint8_t *chunks, uint32_t n, uint32_t *acc) noexcept
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
				__m512i t = _mm512_loadu_si512(lut + p * kLutGroupBytes);
				__m512i rl = _mm512_shuffle_epi8(t, nl);
				__m512i rh = _mm512_shuffle_epi8(t, nh);
				a[p][0] = _mm512_add_epi16(a[p][0], rl);
				b[p][0] = _mm512_add_epi16(b[p][0], _mm512_srli_epi16(rl, 8));
				a[p][1] = _mm512_add_epi16(a[p][1], rh);
				b[p][1] = _mm512_add_epi16(b[p][1], _mm512_srli_epi16(rh, 8));
			}
			chunks += kGroupBytes;
			lut += P * kLutGroupBytes;
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
		__m512i t = _mm512_loadu_si512(lut + p * kLutGroupBytes);
		al[p] = _mm512_dpbusd_epi32(al[p], _mm512_permutexvar_epi8(il, t), ones);
		ah[p] = _mm512_dpbusd_epi32(ah[p], _mm512_permutexvar_epi8(ih, t), ones);
	}
}

/* VBMI + VNNI nibble kernel with P planes; uint32 sums need no flush. */
template <int P>
TQ_TARGET_VNNI void
ScanNibbleVnni(const uint8_t *lut, const uint8_t *chunks, uint32_t n, uint32_t *acc) noexcept
{
	/* byte 4t + j <- byte 16j + t */
	alignas(64) static const uint8_t tr_bytes[64] = {
		0,  16, 32, 48, 1,  17, 33, 49, 2,  18, 34, 50, 3,  19, 35, 51, 4,  20, 36, 52, 5,  21,
		37, 53, 6,  22, 38, 54, 7,  23, 39, 55, 8,  24, 40, 56, 9,  25, 41, 57, 10, 26, 42, 58,
		11, 27, 43, 59, 12, 28, 44, 60, 13, 29, 45, 61, 14, 30, 46, 62, 15, 31, 47, 63};
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
		VnniStep<P>(lut + P * kLutGroupBytes, chunks + kGroupBytes, tr, m0f, offs, ones, al1, ah1);
		chunks += 2 * kGroupBytes;
		lut += 2 * P * kLutGroupBytes;
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

bool
Avx512Runs() noexcept
{
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
		   __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
		   __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2");
}

bool
Avx512VnniRuns() noexcept
{
	return Avx512Runs() && __builtin_cpu_supports("avx512vbmi") &&
		   __builtin_cpu_supports("avx512vnni");
}

} /* namespace */

const KernelSet kAvx512Kernels = {
	"avx512", Avx512Runs, {ScanNibbleAvx512<1>, ScanNibbleAvx512<2>}, EncodeLanes, EstimateLanes};
const KernelSet kAvx512VnniKernels = {
	"avx512vnni", Avx512VnniRuns, {ScanNibbleVnni<1>, ScanNibbleVnni<2>}, EncodeLanes, EstimateLanes};

#else /* !TQ_HAVE_AVX512 */

namespace {

bool
NotHere() noexcept
{
	return false;
}

} /* namespace */

const KernelSet kAvx512Kernels = {"avx512", NotHere, {nullptr, nullptr}, nullptr, nullptr};
const KernelSet kAvx512VnniKernels = {"avx512vnni", NotHere, {nullptr, nullptr}, nullptr, nullptr};

#endif

} /* namespace turboquant */
