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

/* Restores the automatic set after a test that forces one. */
struct SetGuard {
	~SetGuard()
	{
		SetKernelSet(-1);
	}
};

/* Names of the sets this CPU runs and of those it cannot, printed by the tests. */
std::string
SetList(bool runs)
{
	std::string out;
	for (int i = 0; i < KernelSetCount(); i++)
		if (KernelSetRuns(i) == runs)
			out += std::string(out.empty() ? "" : " ") + KernelSetName(i);
	return out.empty() ? "(none)" : out;
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
	uint8_t *t = lut + kLutHeaderBytes;
	uint32_t groups = h->n_chunks * h->groups;
	for (uint32_t g = 0; g < groups; g++)
		std::memmove(t + (size_t) g * kLutGroupBytes, t + (size_t) g * 2 * kLutGroupBytes,
					 kLutGroupBytes);
	h->planes = 1;
	h->lut_chunk_bytes /= 2;
}

/* Makes a lut two-plane: entries become (random high byte) << 8 | low byte, or all 65535. */
void
ToTwoPlanes(uint8_t *lut, uint64_t seed, bool all_max)
{
	LutHeader *h = reinterpret_cast<LutHeader *>(lut);
	if (h->planes != 1)
		return;
	uint8_t *t = lut + kLutHeaderBytes;
	uint32_t groups = h->n_chunks * h->groups;
	Rng rng(seed);
	for (uint32_t g = groups; g-- > 0;) {
		std::memmove(t + (size_t) g * 2 * kLutGroupBytes, t + (size_t) g * kLutGroupBytes,
					 kLutGroupBytes);
		uint8_t *hi = t + (size_t) g * 2 * kLutGroupBytes + kLutGroupBytes;
		for (uint32_t i = 0; i < kLutGroupBytes; i++)
			hi[i] = all_max ? 255 : (uint8_t) rng.Next();
	}
	h->planes = 2;
	h->lut_chunk_bytes *= 2;
}

/* A query lut for a random (or adversarial: all entries maximal) query. */
void
MakeLut(const Qz &qz, uint64_t seed, bool all_max, uint8_t *lut, uint32_t planes)
{
	const Layout &l = qz.L();
	Rng rng(seed);
	std::vector<float> q(l.dim);
	for (auto &v : q)
		v = (float) rng.Gauss();
	std::vector<float> scratch(ScratchFloats(qz.q));
	PrepareQuery(qz.q, Metric::kInnerProduct, q.data(), lut, scratch.data());
	LutHeader *h = reinterpret_cast<LutHeader *>(lut);
	ToOnePlane(lut);
	if (all_max)
		std::memset(lut + kLutHeaderBytes, 255, (size_t) h->lut_chunk_bytes * h->n_chunks);
	if (planes == 2)
		ToTwoPlanes(lut, seed, all_max);
}

/* Scans with a forced set (PrepareQuery chose one; the test overrides it in the header). */
std::vector<uint32_t>
ScanWith(int set, uint8_t *lut, const uint8_t *block, uint32_t chunk_begin, uint32_t n,
		 std::vector<uint32_t> acc = std::vector<uint32_t>(kBlockVectors, 0))
{
	reinterpret_cast<LutHeader *>(lut)->kernel_set = (uint32_t) set;
	ScanChunks(lut, block, chunk_begin, n, acc.data());
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

/*
 * Every kernel set this CPU runs returns the scalar accumulators, for awkward
 * dims, all bit widths, code kinds, both table precisions and all-maximal
 * tables (the largest possible sums).  Prints which sets ran and which this
 * CPU could not run.
 */
TEST(Scan, AllSetsEqualScalar)
{
	const int scalar = FindKernelSet("scalar");
	ASSERT_GE(scalar, 0);
	std::vector<int> compared(KernelSetCount(), 0);
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
					uint32_t planes = variant & 2 ? 2 : 1;
					FillBlock(l, kind, dim + bits, block.p);
					MakeLut(qz, dim * 3 + bits, all_max, lut.p, planes);
					auto want = ScanWith(scalar, lut.p, block.p, 0, l.n_chunks);
					if (all_max) {
						/* Every unit adds the largest entry. */
						uint32_t max_entry = planes == 2 ? 65535u : 255u;
						uint32_t units = l.n_chunks * 4 * (l.chunk_bytes / 64);
						for (uint32_t s = 0; s < kBlockVectors; s++)
							ASSERT_EQ(want[s], max_entry * units);
					}
					for (int set = 0; set < KernelSetCount(); set++) {
						if (set == scalar || !KernelSetRuns(set))
							continue;
						auto got = ScanWith(set, lut.p, block.p, 0, l.n_chunks);
						ASSERT_EQ(want, got)
							<< KernelSetName(set) << " bits " << bits << " dim " << dim << " kind "
							<< (int) kind << " max " << all_max << " planes " << planes;
						compared[set]++;
					}
				}
			}
		}
	}
	std::string ran = "scalar";
	for (int set = 0; set < KernelSetCount(); set++)
		if (compared[set] > 0)
			ran += std::string(" ") + KernelSetName(set);
	std::printf("kernel sets ran against scalar: %s; not run (this CPU or build lacks them): %s\n",
				ran.c_str(), SetList(false).c_str());
	for (int set = 0; set < KernelSetCount(); set++)
		if (KernelSetRuns(set) && set != scalar) {
			EXPECT_GT(compared[set], 0) << KernelSetName(set);
		}
}

/*
 * Every kernel set's estimate conversion (EstimateLanes, compiled at each
 * set's width) returns the scalar set's doubles bit for bit, for every metric,
 * accumulators from 0 to the largest a scan can reach, zero and huge norms.
 */
TEST(Scan, EstimatesEqualScalarPerSet)
{
	const int scalar = FindKernelSet("scalar");
	ASSERT_GE(scalar, 0);
	int compared = 0;
	for (uint32_t dim : {3u, 300u, 1536u}) {
		Qz qz(dim, 4);
		AlignedBuf lut(QueryLutSize(qz.q));
		std::vector<float> q(dim), scratch(ScratchFloats(qz.q));
		Rng rng(dim);
		for (auto &v : q)
			v = (float) rng.Gauss();
		for (Metric m : {Metric::kL2, Metric::kCosine, Metric::kInnerProduct}) {
			PrepareQuery(qz.q, m, q.data(), lut.p, scratch.data());
			uint32_t acc[kBlockVectors];
			double norms[kBlockVectors];
			float factors[kBlockVectors];
			for (uint32_t t = 0; t < kBlockVectors; t++) {
				acc[t] = t == 0 ? 0u : t == 1 ? (uint32_t) kMaxDim * kLutMaxEntry2 : (uint32_t) (rng.Next() >> 40);
				norms[t] = t == 2 ? 0.0 : t == 3 ? 1e30 : std::fabs(rng.Gauss()) * 10;
				factors[t] = t == 4 ? 0.0f : (float) (1.0 + 0.1 * rng.Gauss());
			}
			double want[kBlockVectors], got[kBlockVectors];
			reinterpret_cast<LutHeader *>(lut.p)->kernel_set = (uint32_t) scalar;
			EstimateDistances(lut.p, acc, norms, factors, want);
			for (int set = 0; set < KernelSetCount(); set++) {
				if (set == scalar || !KernelSetRuns(set))
					continue;
				reinterpret_cast<LutHeader *>(lut.p)->kernel_set = (uint32_t) set;
				EstimateDistances(lut.p, acc, norms, factors, got);
				ASSERT_EQ(0, std::memcmp(want, got, sizeof(want)))
					<< KernelSetName(set) << " dim " << dim << " metric " << (int) m;
				compared++;
			}
		}
	}
	if (compared == 0)
		GTEST_LOG_(INFO) << "only the scalar set runs here";
}

/* Scanning a block in pieces at arbitrary chunk boundaries adds up to the whole. */
TEST(Scan, ChunkSplitsSumToWhole)
{
	Rng rng(99);
	for (int bits = 1; bits <= 4; bits++) {
		for (uint32_t dim : {33u, 300u, 1536u, 16000u}) {
			Qz qz(dim, bits);
			const Layout &l = qz.L();
			AlignedBuf block(l.block_bytes);
			AlignedBuf lut(QueryLutSize(qz.q));
			FillBlock(l, CodeKind::kRandom, dim, block.p);
			for (uint32_t planes : {2u, 1u})
				for (int set = 0; set < KernelSetCount(); set++) {
					if (!KernelSetRuns(set))
						continue;
					MakeLut(qz, dim, false, lut.p, planes);
					reinterpret_cast<LutHeader *>(lut.p)->kernel_set = (uint32_t) set;
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
					ASSERT_EQ(whole, parts)
						<< KernelSetName(set) << " bits " << bits << " dim " << dim;
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
			/*
			 * Rounding: at most half a step per unit, step = widest unit range / 255,
			 * a unit's range at most (its dims) x (widest coordinate) x (its centroid
			 * span); 3 bits: pairs span 2 (A[3] - A[0]), high-bit units 4 delta.
			 */
			double widest = 0;
			for (uint32_t i = 0; i < l.padded_dim; i++)
				widest = std::fmax(widest, std::fabs(qr[i]) / qn);
			int levels = 1 << bits;
			double span = bits == 3
							  ? std::fmax(2.0 * (cb.centroid[3] - cb.centroid[0]),
										  4.0 * (cb.centroid[4] - cb.centroid[0]))
							  : (cb.centroid[levels - 1] - cb.centroid[0]) * (bits == 4   ? 1
																			  : bits == 2 ? 2
																						  : 4);
			double units = l.n_chunks * 4.0 * (l.chunk_bytes / 64);
			uint32_t planes = reinterpret_cast<const LutHeader *>(lut.p)->planes;
			double step = widest * span / (planes == 2 ? 65535.0 : 255.0);
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

/* The set table: names, forcing a set, refusing unknown ones, and auto = the best. */
TEST(Scan, KernelSetDispatch)
{
	SetGuard guard;
	ASSERT_GE(KernelSetCount(), 2);
	int scalar = FindKernelSet("scalar");
	ASSERT_GE(scalar, 0);
	EXPECT_TRUE(KernelSetRuns(scalar));
	EXPECT_EQ(FindKernelSet("no-such-set"), -1);
	EXPECT_EQ(FindKernelSet("auto"), -1);
	EXPECT_FALSE(SetKernelSet(KernelSetCount()));
	EXPECT_TRUE(SetKernelSet(scalar));
	EXPECT_EQ(ActiveKernelSet(), scalar);
	/* PrepareQuery records the set, so a query keeps it even if the setting changes. */
	Qz qz(100, 4);
	AlignedBuf lut(QueryLutSize(qz.q));
	std::vector<float> q(100, 1.0f);
	PrepareQuery(qz.q, Metric::kL2, q.data(), lut.p, qz.scratch.data());
	EXPECT_EQ(reinterpret_cast<LutHeader *>(lut.p)->kernel_set, (uint32_t) scalar);
	EXPECT_TRUE(SetKernelSet(-1));
	EXPECT_EQ(ActiveKernelSet(), BestKernelSet());
	EXPECT_TRUE(KernelSetRuns(BestKernelSet()));
	/* The best is the first runnable set of the table. */
	for (int i = 0; i < BestKernelSet(); i++)
		EXPECT_FALSE(KernelSetRuns(i)) << KernelSetName(i);
	for (int i = 0; i < KernelSetCount(); i++)
		if (!KernelSetRuns(i)) {
			EXPECT_FALSE(SetKernelSet(i)) << KernelSetName(i);
		}
#if defined(__x86_64__)
	/* The CPU flags and the table agree. */
	EXPECT_EQ(KernelSetRuns(FindKernelSet("avx2")), (bool) __builtin_cpu_supports("avx2"));
	EXPECT_EQ(KernelSetRuns(FindKernelSet("avx512")), (bool) __builtin_cpu_supports("avx512bw"));
	EXPECT_FALSE(KernelSetRuns(FindKernelSet("neon")));
#elif defined(__aarch64__)
	EXPECT_TRUE(KernelSetRuns(FindKernelSet("neon")));
	EXPECT_FALSE(KernelSetRuns(FindKernelSet("avx2")));
#endif
	std::printf("kernel sets this CPU runs: %s; cannot run: %s; best: %s; TURBOQUANT_SIMD=%s\n",
				SetList(true).c_str(), SetList(false).c_str(), KernelSetName(BestKernelSet()),
				std::getenv("TURBOQUANT_SIMD") ? std::getenv("TURBOQUANT_SIMD") : "(unset)");
	/* TURBOQUANT_SIMD naming a runnable set is what the environment reports. */
	const char *env = std::getenv("TURBOQUANT_SIMD");
	int want = FindKernelSet(env);
	EXPECT_EQ(KernelSetFromEnvironment(), want >= 0 && KernelSetRuns(want) ? want : -1);
}

/*
 * Encoding is bit-identical on every platform: a hash of the codes, norms and
 * factors of fixed inputs (integers scaled by powers of two: exact on every
 * FPU) for several dims, bits and seeds.  The hash is printed; when
 * TQ_EXPECT_CODES_HASH is set (scripts/test_aarch64.sh sets it to the x86
 * build's hash before running the aarch64 build under qemu) it must match.
 */
TEST(Encode, SameCodesOnEveryPlatform)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a 64 */
	auto mix = [&h](const void *p, size_t n) {
		const uint8_t *b = static_cast<const uint8_t *>(p);
		for (size_t i = 0; i < n; i++) {
			h ^= b[i];
			h *= 1099511628211ULL;
		}
	};
	for (int bits = 1; bits <= 4; bits++)
		for (uint32_t dim : {3u, 31u, 300u, 768u, 1000u, 3072u})
			for (uint64_t seed : {1u, 42u}) {
				Qz qz(dim, bits, seed);
				const Layout &l = qz.L();
				const Codebook &cb = QuantizerCodebook(qz.q);
				mix(cb.centroid, sizeof(cb.centroid));
				Rng rng(dim * 31 + bits * 7 + seed);
				std::vector<float> x(dim);
				std::vector<uint8_t> codes(l.padded_dim);
				for (int v = 0; v < 20; v++) {
					for (auto &e : x)
						e = (float) ((int) (rng.Next() % 4001) - 2000) / 1024.0f;
					double norm;
					float factor;
					Encode(qz.q, x.data(), codes.data(), &norm, &factor, qz.scratch.data());
					mix(codes.data(), codes.size());
					mix(&norm, sizeof(norm));
					mix(&factor, sizeof(factor));
				}
			}
	char hex[32];
	std::snprintf(hex, sizeof(hex), "%016llx", (unsigned long long) h);
	std::printf("codes hash: %s\n", hex);
	const char *want = std::getenv("TQ_EXPECT_CODES_HASH");
	if (want != nullptr && want[0] != '\0') {
		EXPECT_STREQ(hex, want) << "codes differ from the reference platform's";
	}
}

/*
 * EncodeBatch, with every kernel set's batch encoder, equals Encode vector by
 * vector (dims with and without 8-wide tails, batches with partial lane
 * groups); PackBlock equals PackSlot into a zeroed block.
 */
TEST(Encode, BatchAndPackBlockEqualOneByOne)
{
	SetGuard guard;
	std::printf("batch encoders ran: %s; not run: %s\n", SetList(true).c_str(),
				SetList(false).c_str());
	for (int set = 0; set < KernelSetCount(); set++) {
		if (!KernelSetRuns(set))
			continue;
		ASSERT_TRUE(SetKernelSet(set));
		SCOPED_TRACE(KernelSetName(set));
		for (int bits = 1; bits <= 4; bits++)
			for (uint32_t dim : {1u, 9u, 17u, 300u, 1536u}) {
				Qz qz(dim, bits);
				const Layout &l = qz.L();
				Rng rng(dim * 5 + bits);
				for (uint32_t n : {1u, 7u, 9u, 16u, 17u, 32u}) {
					std::vector<float> x((size_t) n * dim);
					for (auto &v : x)
						v = (float) rng.Gauss();
					/* A zero vector and a huge one among them. */
					for (uint32_t k = 0; k < dim; k++)
						x[k] = 0.0f;
					if (n > 3)
						x[(size_t) 3 * dim] = 3e38f;
					std::vector<const float *> ptr(n);
					for (uint32_t i = 0; i < n; i++)
						ptr[i] = x.data() + (size_t) i * dim;
					std::vector<uint8_t> codes((size_t) n * l.padded_dim), one(l.padded_dim);
					std::vector<double> norms(n);
					std::vector<float> factors(n);
					std::vector<float> bscratch(EncodeBatchScratchFloats(qz.q));
					EncodeBatch(qz.q, ptr.data(), n, codes.data(), norms.data(), factors.data(),
								bscratch.data());
					AlignedBuf want(l.block_bytes), got(l.block_bytes);
					for (uint32_t i = 0; i < n; i++) {
						double nv;
						float fv;
						Encode(qz.q, ptr[i], one.data(), &nv, &fv, qz.scratch.data());
						ASSERT_EQ(0,
								  std::memcmp(one.data(), codes.data() + (size_t) i * l.padded_dim,
											  l.padded_dim));
						ASSERT_EQ(nv, norms[i]);
						ASSERT_EQ(fv, factors[i]);
						PackSlot(l, one.data(), i, 0, l.n_chunks, want.p);
					}
					std::memset(got.p, 0xA5, l.block_bytes);
					/* In two chunk ranges, as across pages. */
					uint32_t mid = l.n_chunks / 2;
					PackBlock(l, codes.data(), n, 0, mid, got.p);
					PackBlock(l, codes.data(), n, mid, l.n_chunks,
							  got.p + (size_t) mid * l.chunk_bytes);
					ASSERT_EQ(0, std::memcmp(want.p, got.p, l.block_bytes))
						<< "bits " << bits << " dim " << dim << " n " << n;
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

/*
 * PrepareQuery's per-unit ranges (computed from each dim's extreme terms, not
 * from the 16 entries) are exact: every unit's smallest entry is 0 and the
 * widest unit reaches the largest entry, so no entry is clamped.
 */
TEST(Scan, TablesSpanExactly)
{
	for (int bits = 1; bits <= 4; bits++)
		for (uint32_t dim : {5u, 64u, 300u, 1536u}) {
			Qz qz(dim, bits);
			Rng rng(dim + 13 * bits);
			std::vector<float> q(dim);
			for (auto &v : q)
				v = (float) rng.Gauss();
			AlignedBuf lut(QueryLutSize(qz.q));
			PrepareQuery(qz.q, Metric::kCosine, q.data(), lut.p, qz.scratch.data());
			const LutHeader *h = reinterpret_cast<const LutHeader *>(lut.p);
			const uint8_t *t = lut.p + kLutHeaderBytes;
			uint32_t widest = 0, groups = h->n_chunks * h->groups;
			for (uint32_t g = 0; g < groups; g++)
				for (uint32_t j = 0; j < 4; j++) {
					uint32_t lo = 1u << 20, hi = 0;
					for (uint32_t i = 0; i < 16; i++) {
						const uint8_t *p = t + (size_t) g * h->planes * kLutGroupBytes + 16 * j + i;
						uint32_t e =
							p[0] + (h->planes == 2 ? (uint32_t) p[kLutGroupBytes] << 8 : 0);
						lo = std::min(lo, e);
						hi = std::max(hi, e);
					}
					ASSERT_EQ(lo, 0u) << "bits " << bits << " dim " << dim << " group " << g;
					widest = std::max(widest, hi);
				}
			EXPECT_EQ(widest, h->planes == 2 ? 65535u : 255u) << "bits " << bits << " dim " << dim;
		}
}
