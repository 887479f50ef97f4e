/*
 * scan_scalar.cpp — the reference scan kernels and the SIMD dispatch.
 *
 * The scalar kernels are the specification: every SIMD kernel must add
 * exactly the same integers into acc.  They read the layout byte by byte
 * (see scan_internal.h), so they are also endian-proof.
 *
 * Dispatch: the level is a process-wide atomic, initialised once from
 * TURBOQUANT_SIMD (scalar|simde|avx512) or the best level the CPU runs.
 * Callers fetch a kernel pointer once per call (ScanChunks, ScanBlocks); the
 * inner loops never branch on the level.
 */
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "scan_internal.h"

namespace turboquant {

namespace {

/* Scalar nibble kernel (bits 1, 2, 4): four 16-entry tables per chunk and plane. */
template <int P>
inline void
ScanNibbleScalar(const uint8_t *lut, const uint8_t *chunks, uint32_t n, uint32_t *acc)
{
	for (uint32_t c = 0; c < n; c++) {
		for (uint32_t j = 0; j < 4; j++) {
			const uint8_t *g = chunks + 16 * j;
			const uint8_t *t = lut + 16 * j;
			for (uint32_t s = 0; s < 16; s++) {
				uint32_t lo = g[s] & 15u, hi = g[s] >> 4;
				acc[s] += t[lo];
				acc[s + 16] += t[hi];
				if (P == 2) {
					acc[s] += (uint32_t) t[kNibbleLutChunkBytes + lo] << 8;
					acc[s + 16] += (uint32_t) t[kNibbleLutChunkBytes + hi] << 8;
				}
			}
		}
		chunks += kNibbleChunkBytes;
		lut += P * kNibbleLutChunkBytes;
	}
}

/* Scalar 3-bit kernel: nibble plus two selector bits choose among four sub-tables. */
template <int P>
inline void
ScanBits3Scalar(const uint8_t *lut, const uint8_t *chunks, uint32_t n, uint32_t *acc)
{
	for (uint32_t c = 0; c < n; c++) {
		const uint8_t *sel = chunks + 64;
		for (uint32_t j = 0; j < 4; j++) {
			const uint8_t *g = chunks + 16 * j;
			for (uint32_t s = 0; s < 32; s++) {
				uint32_t nib = s < 16 ? (g[s] & 15u) : (g[s - 16] >> 4);
				uint32_t bit = j * 16 + (s & 15);
				uint32_t hi = s >> 4;
				uint32_t b0 = (sel[8 * hi + (bit >> 3)] >> (bit & 7)) & 1u;
				uint32_t b1 = (sel[8 * (2 + hi) + (bit >> 3)] >> (bit & 7)) & 1u;
				uint32_t idx = (b0 | (b1 << 1)) * 64 + 16 * j + nib;
				acc[s] += lut[idx];
				if (P == 2)
					acc[s] += (uint32_t) lut[kBits3LutChunkBytes + idx] << 8;
			}
		}
		chunks += kBits3ChunkBytes;
		lut += P * kBits3LutChunkBytes;
	}
}

} /* namespace */

/* The reference kernels, one per layout and plane count. */
void
tq_scan_nibble_scalar(const uint8_t *lut, const uint8_t *chunks, uint32_t n, uint32_t *acc) noexcept
{
	ScanNibbleScalar<1>(lut, chunks, n, acc);
}

void
tq_scan_nibble2_scalar(const uint8_t *lut, const uint8_t *chunks, uint32_t n,
					   uint32_t *acc) noexcept
{
	ScanNibbleScalar<2>(lut, chunks, n, acc);
}

void
tq_scan_bits3_scalar(const uint8_t *lut, const uint8_t *chunks, uint32_t n, uint32_t *acc) noexcept
{
	ScanBits3Scalar<1>(lut, chunks, n, acc);
}

void
tq_scan_bits3_2_scalar(const uint8_t *lut, const uint8_t *chunks, uint32_t n,
					   uint32_t *acc) noexcept
{
	ScanBits3Scalar<2>(lut, chunks, n, acc);
}

namespace {

std::atomic<int> g_level{-2}; /* -2: not yet initialised */

/* Whether the CPU (and this build) can run a level. */
bool
LevelSupported(SimdLevel level)
{
	switch (level) {
	case SimdLevel::kScalar:
		return true;
	case SimdLevel::kSimde:
		if (!tq_simde_compiled())
			return false;
#if defined(__x86_64__) || defined(__i386__)
		return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
			   __builtin_cpu_supports("bmi2");
#else
		return true;
#endif
	case SimdLevel::kAvx512:
		if (!tq_avx512_compiled())
			return false;
#if defined(__x86_64__) || defined(__i386__)
		return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
			   __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
			   __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2");
#else
		return false;
#endif
	default:
		return false;
	}
}

/* The level in force, reading TURBOQUANT_SIMD on first use. */
SimdLevel
CurrentLevel()
{
	int v = g_level.load(std::memory_order_relaxed);
	if (v != -2)
		return (SimdLevel) v;
	SimdLevel level = BestSimdLevel();
	const char *env = std::getenv("TURBOQUANT_SIMD");
	if (env != nullptr) {
		SimdLevel want = SimdLevel::kAuto;
		if (std::strcmp(env, "scalar") == 0)
			want = SimdLevel::kScalar;
		else if (std::strcmp(env, "simde") == 0)
			want = SimdLevel::kSimde;
		else if (std::strcmp(env, "avx512") == 0)
			want = SimdLevel::kAvx512;
		if (want != SimdLevel::kAuto && LevelSupported(want))
			level = want;
	}
	int expected = -2;
	g_level.compare_exchange_strong(expected, (int) level);
	return (SimdLevel) g_level.load(std::memory_order_relaxed);
}

} /* namespace */

/* Best level this CPU runs. */
SimdLevel
BestSimdLevel() noexcept
{
	if (LevelSupported(SimdLevel::kAvx512))
		return SimdLevel::kAvx512;
	if (LevelSupported(SimdLevel::kSimde))
		return SimdLevel::kSimde;
	return SimdLevel::kScalar;
}

/* Forces a level; false (no change) when the CPU cannot run it. */
bool
SetSimdLevel(SimdLevel level) noexcept
{
	if (level == SimdLevel::kAuto)
		level = BestSimdLevel();
	if (!LevelSupported(level))
		return false;
	g_level.store((int) level, std::memory_order_relaxed);
	return true;
}

SimdLevel
ActiveSimdLevel() noexcept
{
	return CurrentLevel();
}

const char *
SimdLevelName(SimdLevel level) noexcept
{
	switch (level) {
	case SimdLevel::kAuto:
		return "auto";
	case SimdLevel::kScalar:
		return "scalar";
	case SimdLevel::kSimde:
		return "simde";
	case SimdLevel::kAvx512:
		return "avx512";
	}
	return "unknown";
}

namespace {

std::atomic<bool> g_vnni_enabled{true};

} /* namespace */

/* Whether the CPU runs the VBMI + VNNI nibble kernels (and this build has them). */
bool
Avx512VnniSupported() noexcept
{
	if (!tq_avx512_compiled() || !LevelSupported(SimdLevel::kAvx512))
		return false;
#if defined(__x86_64__) || defined(__i386__)
	return __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512vnni");
#else
	return false;
#endif
}

/* Lets tests run the plain AVX-512BW nibble kernels on a VNNI machine. */
void
SetAvx512Vnni(bool enabled) noexcept
{
	g_vnni_enabled.store(enabled, std::memory_order_relaxed);
}

/* The kernel for a layout and plane count at the active level. */
ScanKernel
SelectScanKernel(uint32_t bits, uint32_t planes) noexcept
{
	int k = (bits == 3 ? 1 : 0) + (planes == 2 ? 2 : 0);
	static const ScanKernel table[3][4] = {
		{tq_scan_nibble_scalar, tq_scan_bits3_scalar, tq_scan_nibble2_scalar,
		 tq_scan_bits3_2_scalar},
		{tq_scan_nibble_simde, tq_scan_bits3_simde, tq_scan_nibble2_simde, tq_scan_bits3_2_simde},
		{tq_scan_nibble_avx512, tq_scan_bits3_avx512, tq_scan_nibble2_avx512,
		 tq_scan_bits3_2_avx512},
	};
	int level = (int) CurrentLevel();
	if (level < 0 || level > 2)
		level = 0;
	if (level == 2 && g_vnni_enabled.load(std::memory_order_relaxed)) {
		static const bool vnni = Avx512VnniSupported();
		if (vnni && bits == 3)
			return planes == 2 ? tq_scan_bits3_2_vnni_avx512 : tq_scan_bits3_vnni_avx512;
		if (vnni)
			return planes == 2 ? tq_scan_nibble2_vnni_avx512 : tq_scan_nibble_vnni_avx512;
	}
	return table[level][k];
}

} /* namespace turboquant */
