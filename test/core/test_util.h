/*
 * test_util.h — helpers shared by the core unit tests: a deterministic RNG,
 * aligned buffers, a quantizer holder, and the location of the real data.
 */
#ifndef TQ_TEST_UTIL_H
#define TQ_TEST_UTIL_H

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/turboquant.h"

namespace tqtest {

/* xorshift-based generator: reproducible test inputs without std distributions. */
struct Rng {
	uint64_t s;
	explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ULL + 1)
	{
	}
	uint64_t Next()
	{
		uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
		z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
		return z ^ (z >> 31);
	}
	double Uniform()
	{
		return (Next() >> 11) * (1.0 / 9007199254740992.0);
	}
	double Gauss()
	{
		double u1 = Uniform(), u2 = Uniform();
		if (u1 < 1e-300)
			u1 = 1e-300;
		return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
	}
};

/* A 64-byte aligned byte buffer. */
struct AlignedBuf {
	uint8_t *p = nullptr;
	size_t n = 0;
	explicit AlignedBuf(size_t bytes) : n(bytes)
	{
		p = static_cast<uint8_t *>(std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64));
		std::memset(p, 0, (bytes + 63) / 64 * 64 + 64);
	}
	~AlignedBuf()
	{
		std::free(p);
	}
	AlignedBuf(const AlignedBuf &) = delete;
	AlignedBuf &operator=(const AlignedBuf &) = delete;
};

/* Owns a Quantizer blob and its scratch. */
struct Qz {
	std::unique_ptr<AlignedBuf> mem;
	std::vector<float> scratch;
	const turboquant::Quantizer *q = nullptr;
	Qz(uint32_t dim, int bits, uint64_t seed = 42)
	{
		mem.reset(new AlignedBuf(turboquant::QuantizerSize(dim, bits)));
		turboquant::QuantizerInit(mem->p, dim, bits, seed);
		q = reinterpret_cast<const turboquant::Quantizer *>(mem->p);
		scratch.resize(turboquant::ScratchFloats(q));
	}
	const turboquant::Layout &L() const
	{
		return turboquant::QuantizerLayout(q);
	}
};

/* Directory of the real data sets (TQ_DATA_DIR, else <repo>/../shared/data). */
std::string DataDir();
/* Reads an .fvecs / .ivecs file; false if absent. */
bool ReadVecs(const std::string &path, std::vector<float> *data, uint32_t *dim, uint32_t *n);
bool ReadIvecs(const std::string &path, std::vector<int32_t> *data, uint32_t *dim, uint32_t *n);
/* Whether CI=true is set (missing data must then fail, not skip). */
bool InCi();

} /* namespace tqtest */

#endif
