/*
 * tqcore_capi.cpp — a C ABI over the TurboQuant core for the kernel benchmark
 * (bench/kernel_bench.py loads bench/libtqcore.so with ctypes).
 *
 * It is a flat in-memory index: every vector encoded into 32-vector blocks,
 * searched by scanning all blocks with the core's kernels and keeping a top-k.
 * No re-ranking: the benchmark compares the quantized order itself with FAISS
 * IndexPQFastScan at the same code bytes per vector.
 *
 * Search scans groups of 32 blocks with ScanBlocks and pushes the distances
 * that can enter the top-k while they are still in L1.
 * Threads split a batch's queries (a single query runs on one thread; the
 * benchmark's "single-query, 2 threads" is two callers each asking one query
 * at a time, as two database clients would).
 *
 * Only the functions below are exported; nothing throws across them.
 */
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <thread>
#include <vector>

#include "core/turboquant.h"

namespace tq = turboquant;

namespace {

struct Index {
	void *qz_mem = nullptr;
	const tq::Quantizer *qz = nullptr;
	tq::Layout layout{};
	size_t n = 0;
	size_t n_blocks = 0;
	uint8_t *blocks = nullptr; /* n_blocks * block_bytes, 64-byte aligned */
	std::vector<double> norms;
	std::vector<float> factors;
};

void *
AlignedAlloc(size_t bytes)
{
	return std::aligned_alloc(64, (bytes + 63) / 64 * 64);
}

/*
 * Scans blocks [b0, b1) for one prepared query into t: ScanBlocks over groups
 * of kGroup blocks (the core's own loop, kernel picked once per call), then a
 * top-k pass over the group's distances while they are still in L1.
 */
constexpr size_t kGroup = 32;

void
ScanRange(const Index *ix, const uint8_t *lut, size_t b0, size_t b1, tq::TopK *t, double *dist)
{
	const size_t bb = ix->layout.block_bytes;

	for (size_t g = b0; g < b1; g += kGroup) {
		size_t nb = std::min(kGroup, b1 - g);
		tq::ScanBlocks(lut, ix->blocks + g * bb, nb, ix->norms.data() + g * tq::kBlockVectors,
					   ix->factors.data() + g * tq::kBlockVectors, dist);
		const size_t base = g * tq::kBlockVectors;
		const size_t slots = std::min(nb * tq::kBlockVectors, ix->n - base);
		/*
		 * As the extension's scan (TqScanScoreGroup): once the heap is full,
		 * one branch-free pass per 32 slots finds those at or below its worst.
		 */
		for (size_t b0 = 0; b0 < slots; b0 += tq::kBlockVectors) {
			const size_t m = std::min<size_t>(tq::kBlockVectors, slots - b0);
			const double *d = dist + b0;
			uint32_t mask = m == 32 ? 0xFFFFFFFFu : (1u << m) - 1;
			if (t->size == t->k && t->k > 0) {
				const double worst = t->dist[0];
				uint32_t pass = 0;
				for (uint32_t s = 0; s < tq::kBlockVectors; s++)
					pass |= (uint32_t) (d[s] <= worst) << s;
				mask &= pass;
			}
			while (mask) {
				uint32_t s = (uint32_t) __builtin_ctz(mask);
				mask &= mask - 1;
				if (tq::TopKAccepts(t, d[s]))
					tq::TopKPush(t, d[s], base + b0 + s);
			}
		}
	}
}

/* One query over blocks [b0, b1), results sorted into ids/dists (k each, -1 padded). */
void
SearchOne(const Index *ix, tq::Metric metric, const float *q, uint32_t k, size_t b0, size_t b1,
		  int64_t *ids, float *dists, uint8_t *lut, float *scratch, double *tdist, uint64_t *tid)
{
	tq::PrepareQuery(ix->qz, metric, q, lut, scratch);
	tq::TopK t;
	tq::TopKInit(&t, tdist, tid, k);
	alignas(64) double dist[kGroup * tq::kBlockVectors];
	ScanRange(ix, lut, b0, b1, &t, dist);
	tq::TopKSort(&t);
	for (uint32_t i = 0; i < k; i++) {
		ids[i] = i < t.size ? (int64_t) t.id[i] : -1;
		dists[i] = i < t.size ? (float) t.dist[i] : 0.0f;
	}
}

struct Buffers {
	uint8_t *lut;
	float *scratch;
	std::vector<double> tdist;
	std::vector<uint64_t> tid;

	Buffers(const Index *ix, uint32_t k)
		: lut((uint8_t *) AlignedAlloc(tq::QueryLutSize(ix->qz))),
		  scratch((float *) AlignedAlloc(sizeof(float) * tq::ScratchFloats(ix->qz))), tdist(k), tid(k)
	{
	}
	~Buffers()
	{
		std::free(lut);
		std::free(scratch);
	}
};

} /* namespace */

extern "C" {

/* Encodes n x dim floats; returns an opaque index or NULL. */
void *
tqc_build(const float *base, size_t n, uint32_t dim, int bits, uint64_t seed)
{
	try {
		size_t qsize = tq::QuantizerSize(dim, bits);
		if (qsize == 0)
			return nullptr;
		Index *ix = new Index();
		ix->qz_mem = AlignedAlloc(qsize);
		if (!tq::QuantizerInit(ix->qz_mem, dim, bits, seed)) {
			std::free(ix->qz_mem);
			delete ix;
			return nullptr;
		}
		ix->qz = (const tq::Quantizer *) ix->qz_mem;
		ix->layout = tq::QuantizerLayout(ix->qz);
		ix->n = n;
		ix->n_blocks = (n + tq::kBlockVectors - 1) / tq::kBlockVectors;
		size_t bytes = ix->n_blocks * ix->layout.block_bytes;
		ix->blocks = (uint8_t *) AlignedAlloc(bytes);
		std::memset(ix->blocks, 0, bytes);
		ix->norms.assign(ix->n_blocks * tq::kBlockVectors, 0.0);
		ix->factors.assign(ix->n_blocks * tq::kBlockVectors, 0.0f);
		/* A block at a time: EncodeBatch + PackBlock, as an index build does. */
		std::vector<uint8_t> codes((size_t) tq::kBlockVectors * ix->layout.padded_dim);
		std::vector<float> scratch(tq::EncodeBatchScratchFloats(ix->qz));
		const float *ptr[tq::kBlockVectors];
		for (size_t i = 0; i < n; i += tq::kBlockVectors) {
			uint32_t m = (uint32_t) std::min<size_t>(tq::kBlockVectors, n - i);
			for (uint32_t j = 0; j < m; j++)
				ptr[j] = base + (i + j) * dim;
			tq::EncodeBatch(ix->qz, ptr, m, codes.data(), &ix->norms[i], &ix->factors[i], scratch.data());
			tq::PackBlock(ix->layout, codes.data(), m, 0, ix->layout.n_chunks,
						  ix->blocks + i / tq::kBlockVectors * ix->layout.block_bytes);
		}
		return ix;
	} catch (...) {
		return nullptr;
	}
}

void
tqc_free(void *p)
{
	Index *ix = (Index *) p;
	if (!ix)
		return;
	std::free(ix->blocks);
	std::free(ix->qz_mem);
	delete ix;
}

/* Code bytes per vector (block bytes / 32) and the per-vector floats kept beside them. */
double
tqc_code_bytes(const void *p)
{
	const Index *ix = (const Index *) p;
	return (double) ix->layout.block_bytes / tq::kBlockVectors;
}

/*
 * Searches nq queries (row-major nq x dim); metric 0 = L2, 1 = cosine, 2 = inner
 * product.  Writes nq x k ids (-1 when fewer) and estimated distances.
 * Returns 0 on success.
 */
int
tqc_search(const void *p, const float *queries, size_t nq, int metric, uint32_t k, int threads, int64_t *ids,
		   float *dists)
{
	try {
		const Index *ix = (const Index *) p;
		const uint32_t dim = ix->layout.dim;
		const tq::Metric m = (tq::Metric) metric;
		threads = std::max(1, threads);
		auto worker = [&](size_t q0, size_t q1) {
			Buffers buf(ix, k);
			for (size_t q = q0; q < q1; q++)
				SearchOne(ix, m, queries + q * dim, k, 0, ix->n_blocks, ids + q * k, dists + q * k, buf.lut,
						  buf.scratch, buf.tdist.data(), buf.tid.data());
		};
		if (threads == 1 || nq < 2) {
			worker(0, nq);
			return 0;
		}
		std::vector<std::thread> pool;
		for (int t = 0; t < threads; t++)
			pool.emplace_back(worker, nq * t / threads, nq * (t + 1) / threads);
		for (auto &th : pool)
			th.join();
		return 0;
	} catch (...) {
		return -1;
	}
}

/* Name of the kernel set in use. */
const char *
tqc_simd_level(void)
{
	return tq::KernelSetName(tq::ActiveKernelSet());
}

/* The kernel sets this CPU runs, best first, space separated. */
const char *
tqc_kernel_sets(void)
{
	static char buf[256];
	size_t used = 0;
	buf[0] = '\0';
	for (int i = 0; i < tq::KernelSetCount(); i++)
		if (tq::KernelSetRuns(i))
			used += (size_t) std::snprintf(buf + used, sizeof(buf) - used, "%s%s", used ? " " : "",
										   tq::KernelSetName(i));
	return buf;
}

/* Forces a kernel set by name ("auto" = the best); 1 on success, 0 if this CPU cannot run it. */
int
tqc_set_simd(const char *name)
{
	if (name != nullptr && std::strcmp(name, "auto") == 0)
		return tq::SetKernelSet(-1) ? 1 : 0;
	int set = tq::FindKernelSet(name);
	return set >= 0 && tq::SetKernelSet(set) ? 1 : 0;
}

} /* extern "C" */
