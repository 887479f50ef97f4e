/*
 * test_scan.cpp — packing and scan kernels: every SIMD level against the
 * scalar specification, chunk-split scans, overflow probes, and the link
 * between integer accumulators and float inner products.
 */
#include <gtest/gtest.h>

#include "core/scan_internal.h" /* to build one-plane tables from two-plane ones */
#include "test_util.h"

using namespace turboquant;
using tqtest::AlignedBuf;
using tqtest::Qz;
using tqtest::Rng;

namespace {

const uint32_t kDims[] = {1, 3, 7, 8, 16, 17, 24, 31, 33, 200, 300, 768, 1536, 3072, 4096, 16000};

/* Restores the automatic level after a test that forces one. */
struct LevelGuard {
	~LevelGuard()
	{
		SetSimdLevel(SimdLevel::kAuto);
		SetAvx512Vnni(true);
	}
};

/* Kernel variants to compare: each SIMD level, and AVX-512 without VNNI too. */
struct Variant {
	SimdLevel level;
	bool vnni;
	const char *name;
};
const Variant kVariants[] = {{SimdLevel::kScalar, false, "scalar"},
							 {SimdLevel::kSimde, false, "simde"},
							 {SimdLevel::kAvx512, false, "avx512bw"},
							 {SimdLevel::kAvx512, true, "avx512vnni"}};

/* Forces a variant; false when this CPU cannot run it. */
bool
UseVariant(const Variant &v)
{
	if (v.vnni && !Avx512VnniSupported())
		return false;
	if (!SetSimdLevel(v.level))
		return false;
	SetAvx512Vnni(v.vnni);
	return true;
}

enum class CodeKind { kRandom, kAllMax, kAllZero, kAlternating };

/* Fills a block with codes of the given kind; returns the codes per slot. */
std::vector<uint8_t>
FillBlock(const Layout &l, CodeKind kind, uint64_t seed, uint8_t *block)
{
	Rng rng(seed);
	int levels = 1 << l.bits;
	std::vector<uint8_t> codes((size_t) kBlockVectors * l.padded_dim);
	for (uint32_t s = 0; s < kBlockVectors; s++) {
		uint8_t *c = codes.data() + (size_t) s * l.padded_dim;
		for (uint32_t i = 0; i < l.padded_dim; i++) {
			switch (kind) {
			case CodeKind::kRandom:
				c[i] = (uint8_t) (rng.Next() % levels);
				break;
			case CodeKind::kAllMax:
				c[i] = (uint8_t) (levels - 1);
				break;
			case CodeKind::kAllZero:
				c[i] = 0;
				break;
			case CodeKind::kAlternating:
				c[i] = (uint8_t) (((i + s) & 1) ? levels - 1 : 0);
				break;
			}
		}
		PackSlot(l, c, s, 0, l.n_chunks, block);
	}
	return codes;
}

/* Rewrites a two-plane lut in place as one plane (keeping the low bytes). */
void
ToOnePlane(uint8_t *lut)
{
	LutHeader *h = reinterpret_cast<LutHeader *>(lut);
	if (h->planes != 2)
		return;
	uint32_t half = h->lut_chunk_bytes / 2;
	uint8_t *t = lut + kLutHeaderBytes;
	for (uint32_t c = 0; c < h->n_chunks; c++)
		std::memmove(t + (size_t) c * half, t + (size_t) c * h->lut_chunk_bytes, half);
	h->planes = 1;
	h->lut_chunk_bytes = half;
}

/* A query lut for a random (or adversarial) query, with the given planes. */
void
MakeLut(const Qz &qz, uint64_t seed, bool all_max, uint8_t *lut, uint32_t planes = 2)
{
	const Layout &l = qz.L();
	Rng rng(seed);
	std::vector<float> q(l.dim);
	for (auto &v : q)
		v = (float) rng.Gauss();
	std::vector<float> scratch(ScratchFloats(qz.q));
	PrepareQuery(qz.q, Metric::kInnerProduct, q.data(), lut, scratch.data());
	if (all_max)
		std::memset(lut + 64, 255, QueryLutSize(qz.q) - 64);
	if (planes == 1)
		ToOnePlane(lut);
}

std::vector<uint32_t>
ScanAt(SimdLevel level, const uint8_t *lut, const uint8_t *block, uint32_t n_chunks)
{
	EXPECT_TRUE(SetSimdLevel(level));
	SetAvx512Vnni(false);
	std::vector<uint32_t> acc(kBlockVectors, 0);
	ScanChunks(lut, block, 0, n_chunks, acc.data());
	return acc;
}

} /* namespace */

/* PackSlot then UnpackSlot gives the codes back, and other slots keep theirs. */
TEST(Pack, RoundTripAndIsolation)
{
	for (int bits = 1; bits <= 4; bits++) {
		for (uint32_t dim : {1u, 7u, 33u, 300u, 1536u}) {
			Qz qz(dim, bits);
			const Layout &l = qz.L();
			ASSERT_EQ(l.block_bytes * 8, bits * l.padded_dim * kBlockVectors);
			ASSERT_EQ(l.padded_dim % l.chunk_dims, 0u);
			AlignedBuf block(l.block_bytes);
			auto codes = FillBlock(l, CodeKind::kRandom, dim * 10 + bits, block.p);
			std::vector<uint8_t> out(l.padded_dim);
			for (uint32_t s = 0; s < kBlockVectors; s++) {
				UnpackSlot(l, block.p, s, out.data());
				ASSERT_EQ(0, std::memcmp(out.data(), codes.data() + s * l.padded_dim, l.padded_dim))
					<< "bits " << bits << " dim " << dim << " slot " << s;
			}
			/* Rewrite slot 5 (in two chunk ranges) with new codes: only it changes. */
			Rng rng(7);
			std::vector<uint8_t> fresh(l.padded_dim);
			for (auto &c : fresh)
				c = (uint8_t) (rng.Next() % (1u << bits));
			uint32_t mid = l.n_chunks / 2;
			PackSlot(l, fresh.data(), 5, 0, mid, block.p);
			PackSlot(l, fresh.data(), 5, mid, l.n_chunks, block.p + (size_t) mid * l.chunk_bytes);
			for (uint32_t s = 0; s < kBlockVectors; s++) {
				UnpackSlot(l, block.p, s, out.data());
				const uint8_t *want = s == 5 ? fresh.data() : codes.data() + s * l.padded_dim;
				ASSERT_EQ(0, std::memcmp(out.data(), want, l.padded_dim)) << "slot " << s;
			}
		}
	}
}

/* Every SIMD level returns the scalar accumulators, for all dims, bits and code kinds. */
TEST(Scan, AllLevelsEqualScalar)
{
	LevelGuard guard;
	int compared = 0;
	for (int bits = 1; bits <= 4; bits++) {
		for (uint32_t dim : kDims) {
			Qz qz(dim, bits);
			const Layout &l = qz.L();
			AlignedBuf block(l.block_bytes);
			AlignedBuf lut(QueryLutSize(qz.q));
			for (CodeKind kind : {CodeKind::kRandom, CodeKind::kAllMax, CodeKind::kAllZero,
								  CodeKind::kAlternating}) {
				for (int variant = 0; variant < 4; variant++) {
					bool all_max = variant & 1;
					uint32_t planes = variant & 2 ? 1 : 2;
					FillBlock(l, kind, dim + bits, block.p);
					MakeLut(qz, dim * 3 + bits, all_max, lut.p, planes);
					auto want = ScanAt(SimdLevel::kScalar, lut.p, block.p, l.n_chunks);
					if (all_max) {
						/* Every unit adds the largest entry: the largest possible sum. */
						uint32_t max_entry = planes == 2 ? 65535u : 255u;
						uint32_t units = l.bits == 3 ? l.padded_dim / 2
													 : l.padded_dim / (l.bits == 4   ? 1
																	   : l.bits == 2 ? 2
																					 : 4);
						for (uint32_t s = 0; s < kBlockVectors; s++)
							ASSERT_EQ(want[s], max_entry * units);
					}
					for (const Variant &v : kVariants) {
						if (!UseVariant(v))
							continue;
						std::vector<uint32_t> got(kBlockVectors, 0);
						ScanChunks(lut.p, block.p, 0, l.n_chunks, got.data());
						ASSERT_EQ(want, got)
							<< v.name << " bits " << bits << " dim " << dim << " kind "
							<< (int) kind << " max " << all_max << " planes " << planes;
						compared++;
					}
				}
			}
		}
	}
	EXPECT_GT(compared, 0);
	std::printf("compared %d kernel runs; best level here: %s\n", compared,
				SimdLevelName(BestSimdLevel()));
}

/* Scanning a block in pieces at arbitrary chunk boundaries adds up to the whole. */
TEST(Scan, ChunkSplitsSumToWhole)
{
	LevelGuard guard;
	Rng rng(99);
	for (int bits = 2; bits <= 4; bits++) {
		for (uint32_t dim : {33u, 300u, 1536u, 16000u}) {
			Qz qz(dim, bits);
			const Layout &l = qz.L();
			AlignedBuf block(l.block_bytes);
			AlignedBuf lut(QueryLutSize(qz.q));
			FillBlock(l, CodeKind::kRandom, dim, block.p);
			for (uint32_t planes : {2u, 1u})
				for (const Variant &v : kVariants) {
					MakeLut(qz, dim, false, lut.p, planes);
					if (!UseVariant(v))
						continue;
					std::vector<uint32_t> whole(kBlockVectors, 0), parts(kBlockVectors, 0);
					ScanChunks(lut.p, block.p, 0, l.n_chunks, whole.data());
					/* Copy pieces to separate buffers, as if on different pages. */
					uint32_t c = 0;
					while (c < l.n_chunks) {
						uint32_t n = 1 + (uint32_t) (rng.Next() % (l.n_chunks - c));
						std::vector<uint8_t> page(block.p + (size_t) c * l.chunk_bytes,
												  block.p + (size_t) (c + n) * l.chunk_bytes);
						ScanChunks(lut.p, page.data(), c, n, parts.data());
						c += n;
					}
					ASSERT_EQ(whole, parts) << v.name << " bits " << bits << " dim " << dim;
				}
		}
	}
}

/* offset_sum + acc/scale matches the float <q_rot, x_hat> within the table rounding. */
TEST(Scan, AccumulatorsEstimateFloatScore)
{
	for (int bits = 1; bits <= 4; bits++) {
		for (uint32_t dim : {17u, 300u, 3072u}) {
			Qz qz(dim, bits);
			const Layout &l = qz.L();
			const Codebook &cb = QuantizerCodebook(qz.q);
			Rng rng(dim + bits);
			std::vector<float> q(dim), qr(l.padded_dim), scratch(ScratchFloats(qz.q));
			for (auto &v : q)
				v = (float) rng.Gauss();
			double qn = 0;
			for (float v : q)
				qn += (double) v * v;
			qn = std::sqrt(qn);
			Rotate(qz.q, q.data(), qr.data(), scratch.data());
			AlignedBuf block(l.block_bytes), lut(QueryLutSize(qz.q));
			auto codes = FillBlock(l, CodeKind::kRandom, dim, block.p);
			PrepareQuery(qz.q, Metric::kCosine, q.data(), lut.p, scratch.data());
			uint32_t acc[kBlockVectors] = {0};
			ScanChunks(lut.p, block.p, 0, l.n_chunks, acc);
			double ones[kBlockVectors], est[kBlockVectors];
			float fones[kBlockVectors];
			for (auto &o : ones)
				o = 1.0;
			for (auto &o : fones)
				o = 1.0f;
			EstimateDistances(lut.p, acc, ones, fones, est);
			/* Rounding: at most half a step per unit, step = widest unit range / 255. */
			double widest = 0;
			for (uint32_t i = 0; i < l.padded_dim; i++)
				widest = std::fmax(widest, std::fabs(qr[i]) / qn);
			double units = bits == 3 ? l.padded_dim / 2.0
									 : l.padded_dim / (bits == 4   ? 1.0
													   : bits == 2 ? 2.0
																   : 4.0);
			uint32_t planes = reinterpret_cast<const LutHeader *>(lut.p)->planes;
			double step = widest * (cb.centroid[(1 << bits) - 1] - cb.centroid[0]) *
						  (bits == 4   ? 1
						   : bits == 1 ? 4
									   : 2) /
						  (planes == 2 ? 65535.0 : 255.0);
			double bound = 0.5 * step * units + 1e-4;
			for (uint32_t s = 0; s < kBlockVectors; s++) {
				double exact = 0;
				for (uint32_t i = 0; i < l.padded_dim; i++)
					exact += qr[i] / qn * cb.centroid[codes[s * l.padded_dim + i]];
				ASSERT_NEAR(1.0 - est[s], exact, bound) << "bits " << bits << " dim " << dim;
				/* And far tighter in practice: rounding errors are random (6 sigma). */
				EXPECT_NEAR(1.0 - est[s], exact, 6.0 * step * std::sqrt(units / 12.0) + 2e-4)
					<< "bits " << bits << " dim " << dim;
			}
		}
	}
}

/*
 * A lookup table whose metric is no Metric enumerator (never made by
 * PrepareQuery) gives NaN estimates, which rank last: it used to fall through
 * to the inner-product formula and rank plausibly.
 */
TEST(Scan, UnknownMetricIsNotInnerProduct)
{
	Qz qz(64, 4);
	const Layout &l = qz.L();
	std::vector<float> q(64, 0.5f), scratch(ScratchFloats(qz.q));
	AlignedBuf lut(QueryLutSize(qz.q)), block(l.block_bytes);
	PrepareQuery(qz.q, Metric::kInnerProduct, q.data(), lut.p, scratch.data());
	uint32_t acc[kBlockVectors] = {0};
	ScanChunks(lut.p, block.p, 0, l.n_chunks, acc);
	double norms[kBlockVectors], out[kBlockVectors];
	float factors[kBlockVectors];
	for (uint32_t s = 0; s < kBlockVectors; s++) {
		norms[s] = 1.0;
		factors[s] = 1.0f;
	}
	EstimateDistances(lut.p, acc, norms, factors, out);
	for (double v : out)
		ASSERT_TRUE(std::isfinite(v));
	reinterpret_cast<LutHeader *>(lut.p)->metric = 7;
	EstimateDistances(lut.p, acc, norms, factors, out);
	for (double v : out)
		EXPECT_TRUE(std::isnan(v)) << v;
}
