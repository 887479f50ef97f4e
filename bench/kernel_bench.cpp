/*
 * kernel_bench.cpp — single-query scan speed of each kernel set.
 *
 * For bits in {2, 3, 4} and d in {128, 384, 768, 1536, 3072}: random codes for N
 * vectors (default 100,000; -n N), one query's tables, and the time per vector
 * of ScanBlocks (scan + estimate) with every kernel set this CPU runs, beside the
 * time to merely read the same bytes (a 64-bit sum over the codes: the
 * memory-bound floor).  A second table repeats a small working set (4,096
 * vectors, codes in cache) many times.  Not part of the test suite.
 *
 * A third table times encoding (EncodeBatch + PackBlock) against reading the
 * same float vectors.
 *
 *   bench/kernel_bench [-n N] [-c CACHED_N] [-r REPEATS] [--no-encode] [--no-kmeans]
 */
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/turboquant.h"

using namespace turboquant;

namespace {

struct Rng {
	uint64_t s;
	uint64_t Next()
	{
		uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
		z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
		return z ^ (z >> 31);
	}
};

double
Now()
{
	return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
		.count();
}

/* Reads every byte (as 64-bit words); the result is printed so it is not optimised away. */
uint64_t
ReadBytes(const uint8_t *p, size_t n)
{
	const uint64_t *w = reinterpret_cast<const uint64_t *>(p);
	uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	size_t i = 0, nw = n / 8;
	for (; i + 4 <= nw; i += 4) {
		s0 += w[i];
		s1 += w[i + 1];
		s2 += w[i + 2];
		s3 += w[i + 3];
	}
	for (; i < nw; i++)
		s0 += w[i];
	return s0 + s1 + s2 + s3;
}

/* One table: ns/vector per level plus the read floor, for n vectors repeated `reps` times. */
void
RunTable(const char *title, size_t n, int reps)
{
	std::printf("\n%s: N = %zu vectors, %d repetition(s), ns per vector per query\n", title, n,
				reps);
	std::printf("%5s %5s %9s %10s", "bits", "dim", "bytes/vec", "read");
	for (int set = KernelSetCount() - 1; set >= 0; set--)
		if (KernelSetRuns(set))
			std::printf(" %10s", KernelSetName(set));
	std::printf("\n");
	volatile uint64_t sink = 0;
	for (int bits : {2, 3, 4}) {
		for (uint32_t dim : {128u, 384u, 768u, 1536u, 3072u}) {
			size_t qsize = QuantizerSize(dim, bits);
			uint8_t *qmem = static_cast<uint8_t *>(std::aligned_alloc(64, (qsize + 63) / 64 * 64));
			QuantizerInit(qmem, dim, bits, 1);
			const Quantizer *qz = reinterpret_cast<const Quantizer *>(qmem);
			const Layout &l = QuantizerLayout(qz);
			size_t nb = (n + kBlockVectors - 1) / kBlockVectors;
			size_t bytes = nb * l.block_bytes;
			uint8_t *blocks =
				static_cast<uint8_t *>(std::aligned_alloc(64, (bytes + 63) / 64 * 64));
			Rng rng{(uint64_t) dim * 7 + bits};
			for (size_t i = 0; i < bytes; i += 8) {
				uint64_t v = rng.Next();
				std::memcpy(blocks + i, &v, std::min<size_t>(8, bytes - i));
			}
			std::vector<double> norms(nb * kBlockVectors, 1.0), out(nb * kBlockVectors);
			std::vector<float> factors(nb * kBlockVectors, 1.0f), q(dim), scratch(ScratchFloats(qz));
			for (auto &v : q)
				v = (float) ((rng.Next() >> 11) * (1.0 / 9007199254740992.0) - 0.5);
			size_t lsize = QueryLutSize(qz);
			uint8_t *lut = static_cast<uint8_t *>(std::aligned_alloc(64, (lsize + 63) / 64 * 64));

			double vecs = (double) nb * kBlockVectors * reps;
			/* Warm up, then best of 3. */
			auto best = [&](auto fn) {
				fn();
				double b = 1e30;
				for (int t = 0; t < 3; t++) {
					double t0 = Now();
					fn();
					b = std::min(b, Now() - t0);
				}
				return b * 1e9 / vecs;
			};
			double read_ns = best([&] {
				for (int r = 0; r < reps; r++)
					sink = sink + ReadBytes(blocks, bytes);
			});
			std::vector<double> lv;
			for (int set = KernelSetCount() - 1; set >= 0; set--) {
				if (!SetKernelSet(set))
					continue;
				PrepareQuery(qz, Metric::kCosine, q.data(), lut, scratch.data());
				lv.push_back(best([&] {
					for (int r = 0; r < reps; r++)
						ScanBlocks(lut, blocks, nb, norms.data(), factors.data(), out.data());
				}));
			}
			SetKernelSet(-1);
			std::printf("%5d %5u %9u %10.2f", bits, dim, l.block_bytes / kBlockVectors, read_ns);
			for (double v : lv)
				std::printf(" %10.2f", v);
			std::printf("\n");
			std::free(lut);
			std::free(blocks);
			std::free(qmem);
		}
	}
	if (sink == 42)
		std::printf("\n");
}

/*
 * Encoding throughput: EncodeBatch + PackBlock per vector (what an index build
 * does per row), beside the time to read the same float vectors (the core's
 * share of a sequential scan: a scan reads every vector once).
 */
void
RunEncode(size_t n)
{
	std::printf("\nEncoding: N = %zu vectors, ns per vector (EncodeBatch + PackBlock, 32 at a time)\n",
				n);
	std::printf("%5s %5s %10s %10s %8s\n", "bits", "dim", "read f32", "encode", "ratio");
	volatile uint64_t sink = 0;
	for (int bits : {2, 3, 4}) {
		for (uint32_t dim : {128u, 384u, 768u, 1536u, 3072u}) {
			size_t qsize = QuantizerSize(dim, bits);
			uint8_t *qmem = static_cast<uint8_t *>(std::aligned_alloc(64, (qsize + 63) / 64 * 64));
			QuantizerInit(qmem, dim, bits, 1);
			const Quantizer *qz = reinterpret_cast<const Quantizer *>(qmem);
			const Layout &l = QuantizerLayout(qz);
			Rng rng{(uint64_t) dim * 11 + bits};
			std::vector<float> x(n * dim);
			for (auto &v : x)
				v = (float) ((rng.Next() >> 11) * (1.0 / 9007199254740992.0) - 0.5);
			std::vector<uint8_t> codes((size_t) kBlockVectors * l.padded_dim),
				blocks((n + kBlockVectors - 1) / kBlockVectors * l.block_bytes);
			std::vector<double> norms(kBlockVectors);
			std::vector<float> factors(kBlockVectors), scratch(EncodeBatchScratchFloats(qz));
			const float *ptr[kBlockVectors];
			auto best = [&](auto fn) {
				double b = 1e30;
				for (int t = 0; t < 3; t++) {
					double t0 = Now();
					fn();
					b = std::min(b, Now() - t0);
				}
				return b * 1e9 / (double) n;
			};
			double read_ns = best([&] {
				sink = sink + ReadBytes(reinterpret_cast<const uint8_t *>(x.data()), x.size() * 4);
			});
			double enc_ns = best([&] {
				for (size_t i = 0; i < n; i += kBlockVectors) {
					uint32_t m = (uint32_t) std::min<size_t>(kBlockVectors, n - i);
					for (uint32_t j = 0; j < m; j++)
						ptr[j] = x.data() + (i + j) * dim;
					EncodeBatch(qz, ptr, m, codes.data(), norms.data(), factors.data(),
								scratch.data());
					PackBlock(l, codes.data(), m, 0, l.n_chunks,
							  blocks.data() + i / kBlockVectors * l.block_bytes);
				}
			});
			std::printf("%5d %5u %10.1f %10.1f %8.1f\n", bits, dim, read_ns, enc_ns, enc_ns / read_ns);
			std::free(qmem);
		}
	}
	if (sink == 42)
		std::printf("\n");
}

} /* namespace */

/*
 * Per-index and per-query set-up costs (formerly timed asserts in the unit
 * tests): building a quantizer (rotation, codebook memoised) and rotating
 * one vector, at the largest dimensions.  Best of 5.
 */
void
RunSetup()
{
	std::printf("\nSet-up costs, 4 bits (best of 5; PrepareQuery: one query's rotation and tables)\n"
				"%6s %18s %12s %18s %12s\n",
				"dim", "QuantizerInit ms", "Rotate us", "PrepareQuery us", "blob bytes");
	for (uint32_t dim : {128u, 768u, 1536u, 3072u, 16000u}) {
		size_t size = QuantizerSize(dim, 4);
		void *mem = std::aligned_alloc(64, (size + 63) / 64 * 64);
		QuantizerInit(mem, dim, 4, 1); /* memoises the codebook */
		const Quantizer *qz = (const Quantizer *) mem;
		double init = 1e30, rot = 1e30, prep = 1e30;
		std::vector<float> x(dim), r(QuantizerLayout(qz).padded_dim);
		for (uint32_t i = 0; i < dim; i++)
			x[i] = 1.0f + 0.001f * (float) (i % 97);
		std::vector<float> scratch(ScratchFloats(qz));
		uint8_t *lut = static_cast<uint8_t *>(std::aligned_alloc(64, (QueryLutSize(qz) + 63) / 64 * 64));
		for (int t = 0; t < 5; t++) {
			double t0 = Now();
			QuantizerInit(mem, dim, 4, 5 + t);
			init = std::min(init, Now() - t0);
			t0 = Now();
			for (int i = 0; i < 20; i++)
				Rotate(qz, x.data(), r.data(), scratch.data());
			rot = std::min(rot, (Now() - t0) / 20);
			t0 = Now();
			for (int i = 0; i < 20; i++)
				PrepareQuery(qz, Metric::kCosine, x.data(), lut, scratch.data());
			prep = std::min(prep, (Now() - t0) / 20);
		}
		std::printf("%6u %18.3f %12.1f %18.1f %12zu\n", dim, init * 1e3, rot * 1e6, prep * 1e6, size);
		std::free(lut);
		std::free(mem);
	}
}

/*
 * The k-means matrix work per build (kmeans.cpp's essay, "Speed"): training
 * and assigning rows to 1,000 centroids of 768-d random data, once under each
 * kernel set that selects a different build.  Best of 2.
 */
void
RunKMeans()
{
	const uint32_t dim = 768, k = 1000;
	const size_t train_n = 16000, assign_n = 20000;
	Rng rng{12345};
	std::vector<float> x(assign_n * dim);
	for (auto &v : x)
		v = (float) ((rng.Next() >> 11) * (1.0 / 9007199254740992.0) - 0.5);
	std::vector<float> c((size_t) k * dim);
	std::vector<uint8_t> scratch(KMeansScratchBytes(train_n, dim, k)),
		ascratch(AssignScratchBytes(dim, k));
	std::vector<uint32_t> labels(assign_n);
	std::vector<float> dist(assign_n);
	std::printf("\nk-means: d = %u, k = %u; train %zu rows x 4 rounds, assign %zu rows (best of 2)\n"
				"%10s %10s %10s %12s\n",
				dim, k, train_n, assign_n, "build", "train s", "assign s", "GFLOP/s");
	std::string done;
	for (int set = 0; set < KernelSetCount(); set++) {
		if (!SetKernelSet(set))
			continue;
		std::string build = KMeansBuild();
		if (done.find("," + build + ",") != std::string::npos)
			continue;
		done += "," + build + ",";
		double train = 1e30, assign = 1e30;
		for (int t = 0; t < 2; t++) {
			double t0 = Now();
			if (!KMeansTrain(x.data(), train_n, dim, k, Metric::kCosine, 7, 4, c.data(),
							 scratch.data()))
				std::printf("training failed\n");
			train = std::min(train, Now() - t0);
			t0 = Now();
			AssignNearest(c.data(), k, dim, Metric::kCosine, x.data(), assign_n, labels.data(),
						  dist.data(), ascratch.data());
			assign = std::min(assign, Now() - t0);
		}
		std::printf("%10s %10.3f %10.3f %12.1f\n", build.c_str(), train, assign,
					2.0 * (double) assign_n * k * dim / assign / 1e9);
	}
	SetKernelSet(-1);
}

int
main(int argc, char **argv)
{
	size_t n = 100000, cached = 4096;
	int reps = 0;
	bool encode = true, kmeans = true;
	for (int i = 1; i < argc; i++) {
		if (std::strcmp(argv[i], "--no-encode") == 0)
			encode = false;
		if (std::strcmp(argv[i], "--no-kmeans") == 0)
			kmeans = false;
	}
	for (int i = 1; i + 1 < argc; i += 2) {
		if (std::strcmp(argv[i], "-n") == 0)
			n = std::strtoull(argv[i + 1], nullptr, 10);
		else if (std::strcmp(argv[i], "-c") == 0)
			cached = std::strtoull(argv[i + 1], nullptr, 10);
		else if (std::strcmp(argv[i], "-r") == 0)
			reps = std::atoi(argv[i + 1]);
	}
	if (reps <= 0)
		reps = (int) std::max<size_t>(1, n / cached);
	std::printf("turboquant kernel bench; best kernel set on this CPU: %s\n",
				KernelSetName(BestKernelSet()));
	RunTable("Codes from memory", n, 1);
	RunTable("Codes in cache", cached, reps);
	RunSetup();
	if (encode)
		RunEncode(std::min<size_t>(n, 20000));
	if (kmeans)
		RunKMeans();
	return 0;
}
