/*
 * scan_avx2.cpp — the "avx2" kernel set, written for AVX2 with intrinsics.
 *
 * Compiled with -mavx2 -mfma -mbmi2 -mpopcnt on x86 only (Makefile); the
 * dispatcher picks it when the CPU has those, so AVX2-only servers (EPYC
 * before Zen 4, many cloud VMs) get a kernel built for them.
 *
 * A 64-byte group is two 256-bit registers, each holding two unit groups
 * (one per 128-bit lane), and its tables are two registers laid out the same
 * way.  The low nibbles look up slots 0..15, the high nibbles slots 16..31,
 * with one in-lane vpshufb each.  Byte results are summed 16 bits at a time
 * the FAISS fast-scan way: a += r (both bytes of each word at once) and
 * b += r >> 8 (odd bytes); at a flush the even-byte sums are a - (b << 8),
 * exact modulo 2^16 because each true sum stays below 2^16.  Each register
 * half has its own accumulators, so a uint16 lane receives one entry <= 255
 * per group: after 256 groups (65280) they are widened and flushed into the
 * uint32 acc, and sums stay exact at any d.  Two groups per iteration keep two
 * independent sets of loads and shuffles in flight.  With two table planes
 * (16-bit entries) the high-byte plane has its own accumulators, shifted
 * left by 8 when flushed.
 */
#include "scan_internal.h"

#if defined(__AVX2__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define TQ_HAVE_AVX2 1
#include "encode_lanes.h"
#endif

namespace turboquant {

#ifdef TQ_HAVE_AVX2

namespace {

constexpr uint32_t kFlushGroups = 256;

/*
 * Adds one side's sums into acc16 (16 slots): a holds even+odd bytes per
 * word, b the odd bytes; the two lanes are summed, slots restored to order,
 * entries shifted by `shift`.  Called once per register half.
 */
inline void
FlushSide(__m256i a, __m256i b, int shift, uint32_t *acc16)
{
	__m256i even = _mm256_sub_epi16(a, _mm256_slli_epi16(b, 8));
	/* Widen each lane, then add the two lanes (each < 2^16, their sum needs 17 bits). */
	__m256i e32 = _mm256_add_epi32(_mm256_cvtepu16_epi32(_mm256_castsi256_si128(even)),
								   _mm256_cvtepu16_epi32(_mm256_extracti128_si256(even, 1)));
	__m256i o32 = _mm256_add_epi32(_mm256_cvtepu16_epi32(_mm256_castsi256_si128(b)),
								   _mm256_cvtepu16_epi32(_mm256_extracti128_si256(b, 1)));
	/* Interleave even and odd slots back into order, widened to 32 bits. */
	__m256i lo = _mm256_unpacklo_epi32(e32, o32); /* 0 1 2 3 | 8 9 10 11 */
	__m256i hi = _mm256_unpackhi_epi32(e32, o32); /* 4 5 6 7 | 12 13 14 15 */
	__m256i s0 = _mm256_permute2x128_si256(lo, hi, 0x20);
	__m256i s1 = _mm256_permute2x128_si256(lo, hi, 0x31);
	__m128i sh = _mm_cvtsi32_si128(shift);
	s0 = _mm256_sll_epi32(s0, sh);
	s1 = _mm256_sll_epi32(s1, sh);
	__m256i *p = reinterpret_cast<__m256i *>(acc16);
	_mm256_storeu_si256(p, _mm256_add_epi32(_mm256_loadu_si256(p), s0));
	_mm256_storeu_si256(p + 1, _mm256_add_epi32(_mm256_loadu_si256(p + 1), s1));
}

inline __m256i
Load(const uint8_t *p)
{
	return _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p));
}

/* Looks one 32-byte half up in its tables and accumulates both sides. */
inline void
Step(__m256i v, __m256i t, __m256i m0f, __m256i &al, __m256i &bl, __m256i &ah, __m256i &bh)
{
	__m256i rl = _mm256_shuffle_epi8(t, _mm256_and_si256(v, m0f));
	__m256i rh = _mm256_shuffle_epi8(t, _mm256_and_si256(_mm256_srli_epi16(v, 4), m0f));
	al = _mm256_add_epi16(al, rl);
	bl = _mm256_add_epi16(bl, _mm256_srli_epi16(rl, 8));
	ah = _mm256_add_epi16(ah, rh);
	bh = _mm256_add_epi16(bh, _mm256_srli_epi16(rh, 8));
}

/* AVX2 nibble kernel with P table planes. */
template <int P>
void
ScanNibbleAvx2(const uint8_t *lut, const uint8_t *groups, uint32_t n, uint32_t *acc) noexcept
{
	const __m256i m0f = _mm256_set1_epi8(0x0f);
	while (n > 0) {
		uint32_t batch = n < kFlushGroups ? n : kFlushGroups;
		n -= batch;
		/* [plane][half]: accumulators of the low-nibble (l) and high-nibble (h) slots. */
		__m256i al[P][2], bl[P][2], ah[P][2], bh[P][2];
		for (int p = 0; p < P; p++)
			for (int h = 0; h < 2; h++)
				al[p][h] = bl[p][h] = ah[p][h] = bh[p][h] = _mm256_setzero_si256();
		for (uint32_t c = 0; c < batch; c++) {
			__m256i v0 = Load(groups), v1 = Load(groups + 32);
			for (int p = 0; p < P; p++) {
				const uint8_t *t = lut + p * kLutGroupBytes;
				Step(v0, Load(t), m0f, al[p][0], bl[p][0], ah[p][0], bh[p][0]);
				Step(v1, Load(t + 32), m0f, al[p][1], bl[p][1], ah[p][1], bh[p][1]);
			}
			groups += kGroupBytes;
			lut += P * kLutGroupBytes;
		}
		for (int p = 0; p < P; p++) {
			FlushSide(al[p][0], bl[p][0], 8 * p, acc);
			FlushSide(al[p][1], bl[p][1], 8 * p, acc);
			FlushSide(ah[p][0], bh[p][0], 8 * p, acc + 16);
			FlushSide(ah[p][1], bh[p][1], 8 * p, acc + 16);
		}
	}
}

bool
Avx2Runs() noexcept
{
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
		   __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt");
}

} /* namespace */

const KernelSet kAvx2Kernels = {
	"avx2", Avx2Runs, {ScanNibbleAvx2<1>, ScanNibbleAvx2<2>}, EncodeLanes, EstimateLanes};

#else /* !TQ_HAVE_AVX2 */

namespace {

bool
NotHere() noexcept
{
	return false;
}

} /* namespace */

const KernelSet kAvx2Kernels = {"avx2", NotHere, {nullptr, nullptr}, nullptr, nullptr};

#endif

} /* namespace turboquant */
