/*
 * kmeans.cpp — coarse centroids for partitioned indexes (issue 8).
 *
 * What is learned.  Only the partition: k centroids from a sample of the
 * table.  TurboQuant codes stay data-oblivious (same rotation and codebook for
 * every list).
 *
 * Where the time goes.  Every Lloyd round computes the distance of each of n
 * points to each of k centroids: n * k * dim multiply-adds.  Written as
 * |x|^2 - 2 <x, c> + |c|^2, the middle term for a block of B points is one
 * matrix product X (B x dim) * C^T (dim x k), which Eigen's GEMM runs near the
 * machine's peak; the block size keeps the B x k distance tile and (cosine)
 * the normalised copy of the block in a few MB of scratch.  Centroid updates
 * are sums of rows in double, in point order, so they are the same on every
 * run (no threads, no order depending on timing).
 *
 * Init.  k-means++ (D^2 sampling) needs one pass over the points per centroid
 * (n * k * dim again, but as matrix-vector work).  Measured with
 * bench/partition_bench.cpp (`init`, 10 Lloyd rounds, spherical, results in
 * bench/results/partition_bench-init.txt): after 10 rounds the objective of
 * all three inits agrees within 0.3% (npm-use512 k=80: ++ 4427.7, random
 * 4430.0, ++ on 8k points 4433.9; k=320: 3906.1 / 3901.4 / 3911.3;
 * debian-fasttext300 k=238: 3869.9 / 3860.9 / 3865.8), while full k-means++
 * costs 25% of the training (5.5 s of 21.9 s on fasttext; random 0.08 s,
 * ++ on a subset 0.38 s).  The default is k-means++ on a random subset of 8k
 * points: random's cost, and ++'s spread (no two seeds in one tight clump of
 * duplicates, which random init meets on data with many equal vectors).
 *
 * Metrics.  L2: plain Lloyd.  Cosine: spherical k-means (points normalised on
 * the fly, each centroid renormalised after its mean), distance 1 - cos.
 * Inner product: training is always Lloyd on the raw vectors (the mean is the
 * centroid).  Which rule assigns rows and which ranks lists for a query was
 * measured (bench/partition_bench.cpp `ip`, results in
 * bench/results/partition_bench-ip.txt): recall@10 of an exact search inside
 * the probed lists, with the share of rows scanned, 238 lists:
 *   debian-fasttext300 (norms 0.36-0.82, inner-product truth), 32 probes:
 *     assign L2, rank L2  0.583 (17% scanned)
 *     assign IP, rank IP  0.956 (43%); 8 probes 0.792 (20%): lists unbalanced
 *                         (largest 4901 rows: large-norm centroids win rows)
 *     assign L2, rank IP  0.942 (15%); 16 probes 0.870 (7%)
 *   npm-use512 (unit vectors, so IP is cosine), 80 lists, 16 probes: 0.932
 *     (23%), 0.969 (47%), 0.934 (30%).
 * Assigning by L2 keeps lists balanced; ranking by inner product finds the
 * lists holding the large-norm rows that inner-product answers favour.  At
 * equal work L2/IP wins by far on non-unit data and is close to L2/L2 on unit
 * data: PartitionMetric (assignment) is L2, PartitionRankMetric is IP.
 *
 * Empty clusters.  After each assignment, an empty cluster takes the point
 * farthest from its own centroid among clusters that keep at least one point;
 * the objective can only fall.
 *
 * Speed.  Eigen picks its SIMD width when it is compiled, and the extension is
 * built for baseline x86-64 (SSE2).  The three functions that do matrix work
 * (training, assignment, ranking) are therefore built three times: here for
 * the baseline (namespace km_base) and, on x86-64, by kmeans_avx2.cpp with
 * AVX2 and FMA (km_avx2) and by kmeans_avx512.cpp with AVX-512 (km_avx512),
 * Eigen renamed in each.  The public entry points below follow the scan's
 * kernel set in force (turboquant.simd): the AVX-512 build under an AVX-512
 * set, the AVX2 build under the AVX2 set, the baseline under scalar, so `SET
 * turboquant.simd = ...` (or TURBOQUANT_SIMD) tests every build this CPU runs.
 * Measured: the AVX2 build trains ~2.5x faster than the baseline; the AVX-512
 * build assigns rows ~1.5x faster than the AVX2 one on an AVX-512 Xeon
 * (`make bench-kernels`; docs/benchmark.md, "k-means builds").  Results may differ
 * between builds in the last bits of the distances (FMA, summation order), so
 * two machines can train slightly different centroids; on one machine every
 * build, insert and check uses the same build.
 *
 * Exceptions.  Nothing here throws; Eigen's GEMM may allocate a packing buffer
 * larger than its stack limit with operator new, so every Eigen call is inside
 * a try block: training reports false, assignment and ranking fall back to a
 * plain loop.
 */
#define EIGEN_DONT_PARALLELIZE
#if defined(TQ_KMEANS_AVX512)
/*
 * kmeans_avx2.cpp and kmeans_avx512.cpp compile this file again with AVX2 +
 * FMA and with AVX-512.  Renaming Eigen's namespace gives each build its own
 * copy of every Eigen template, so the linker can never mix two builds'
 * instantiations (the baseline build must not run an AVX2 one on a CPU
 * without it).
 */
#define Eigen EigenTqAvx512
#define TQ_KM_NS km_avx512
#define TQ_KMEANS_VARIANT 1
#elif defined(TQ_KMEANS_AVX2)
#define Eigen EigenTqAvx2
#define TQ_KM_NS km_avx2
#define TQ_KMEANS_VARIANT 1
#else
#define TQ_KM_NS km_base
#endif
#include <Eigen/Core>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>

#include "turboquant.h"

namespace turboquant {

namespace {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using CMapMat = Eigen::Map<const RowMat>;
using MapMat = Eigen::Map<RowMat>;
using CMapVec = Eigen::Map<const Eigen::VectorXf>;
using MapVec = Eigen::Map<Eigen::VectorXf>;
using MapVecD = Eigen::Map<Eigen::VectorXd>;

/* The init KMeansTrain uses (chosen by measurement, see the essay). */
constexpr KMeansInit kDefaultInit = kKMeansDefaultInit;
/* Subset size of kPlusPlusSampled, per centroid. */
constexpr size_t kSampledPerCentroid = 8;

/* splitmix64: the same stream on every platform. */
struct Prng {
	uint64_t s;
	explicit Prng(uint64_t seed) : s(seed ^ 0x5DEECE66DULL)
	{
	}
	uint64_t Next()
	{
		uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
		z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
		return z ^ (z >> 31);
	}
	/* Uniform in [0, 1) with 53 bits. */
	double Uniform()
	{
		return (double) (Next() >> 11) * (1.0 / 9007199254740992.0);
	}
	/* Uniform integer in [0, m), m > 0 (multiply-high, no modulo bias worth noting). */
	uint64_t Below(uint64_t m)
	{
		return (uint64_t) (((unsigned __int128) Next() * m) >> 64);
	}
};

/* Rows per GEMM block: a B x k tile and a B x dim copy of a few MB at most. */
size_t
BlockRows(uint32_t dim, uint32_t k)
{
	size_t b = ((size_t) 1 << 18) / std::max<uint32_t>(k, 1);
	b = std::min<size_t>(b, ((size_t) 1 << 20) / std::max<uint32_t>(dim, 1));
	return std::max<size_t>(8, std::min<size_t>(b, 256));
}

/* Carves 64-byte aligned pieces out of a scratch area (any 8-byte alignment). */
struct Carver {
	uintptr_t p;
	explicit Carver(void *base) : p(reinterpret_cast<uintptr_t>(base))
	{
	}
	template <typename T>
	T *Take(size_t count)
	{
		p = (p + 63) & ~(uintptr_t) 63;
		T *r = reinterpret_cast<T *>(p);
		p += count * sizeof(T);
		return r;
	}
};
/* Bytes a Carver needs for `count` T's (with alignment slack); false on overflow. */
template <typename T>
bool
AddBytes(size_t *total, size_t count)
{
	if (count > (std::numeric_limits<size_t>::max() - 128) / sizeof(T))
		return false;
	size_t b = count * sizeof(T) + 64;
	if (*total > std::numeric_limits<size_t>::max() - b)
		return false;
	*total += b;
	return true;
}

/* 1 / |x| computed in double (0 for a zero vector). */
float
InvNorm(const float *x, uint32_t dim)
{
	double s = 0;
	for (uint32_t j = 0; j < dim; j++)
		s += (double) x[j] * x[j];
	return s > 0 ? (float) (1.0 / std::sqrt(s)) : 0.0f;
}

/* Distance from a dot product, per metric (see turboquant.h). */
inline float
FromDot(Metric m, float dot, float xsq, float csq)
{
	switch (m) {
	case Metric::kL2: {
		float d = xsq + csq - 2.0f * dot;
		return d > 0 ? d : 0.0f;
	}
	case Metric::kCosine:
		return 1.0f - dot;
	default:
		return -dot;
	}
}

/* Scratch of the assignment step. */
struct AssignBufs {
	float *tile;  /* B x k distances (dot products first) */
	float *block; /* B x dim normalised copy (cosine) */
	float *xsq;   /* B squared norms */
	float *csq;   /* k squared norms of the centroids */
	size_t rows;  /* B */
};

size_t
AssignBytes(uint32_t dim, uint32_t k, bool *ok)
{
	size_t b = BlockRows(dim, k), total = 0;
	*ok = AddBytes<float>(&total, b * (size_t) k) && AddBytes<float>(&total, b * (size_t) dim) &&
		  AddBytes<float>(&total, b) && AddBytes<float>(&total, k);
	return total;
}

AssignBufs
CarveAssign(Carver *cv, uint32_t dim, uint32_t k)
{
	AssignBufs a;
	a.rows = BlockRows(dim, k);
	a.tile = cv->Take<float>(a.rows * (size_t) k);
	a.block = cv->Take<float>(a.rows * (size_t) dim);
	a.xsq = cv->Take<float>(a.rows);
	a.csq = cv->Take<float>(k);
	return a;
}

/*
 * Nearest centroid of x[0..n) under metric m (IP = largest dot).  When
 * `changed` is given, out_list holds the previous assignment and the count of
 * points whose list changed is added to it.  Returns false if Eigen threw
 * (nothing useful written then).
 */
bool
AssignCore(const float *C, uint32_t k, uint32_t dim, Metric m, const float *x, size_t n,
		   uint32_t *out_list, float *out_dist, AssignBufs &a, size_t *changed)
{
	try {
		CMapMat Cm(C, k, dim);
		MapVec csq(a.csq, k);
		if (m == Metric::kL2)
			csq.noalias() = Cm.rowwise().squaredNorm();
		for (size_t i0 = 0; i0 < n; i0 += a.rows) {
			size_t b = std::min(a.rows, n - i0);
			const float *xb = x + i0 * dim;
			if (m == Metric::kCosine) {
				for (size_t r = 0; r < b; r++) {
					float inv = InvNorm(xb + r * dim, dim);
					MapVec(a.block + r * dim, dim) = CMapVec(xb + r * dim, dim) * inv;
				}
				xb = a.block;
			} else if (m == Metric::kL2) {
				MapVec(a.xsq, b).noalias() = CMapMat(xb, b, dim).rowwise().squaredNorm();
			}
			MapMat T(a.tile, b, k);
			T.noalias() = CMapMat(xb, b, dim) * Cm.transpose();
			for (size_t r = 0; r < b; r++) {
				float *t = a.tile + r * k;
				float xs = m == Metric::kL2 ? a.xsq[r] : 0.0f;
				/* distances in place, one metric per loop (vectorised), then the argmin:
				 * the same values and choice as FromDot per element */
				if (m == Metric::kL2) {
					for (uint32_t j = 0; j < k; j++) {
						float d = xs + a.csq[j] - 2.0f * t[j];
						t[j] = d > 0 ? d : 0.0f;
					}
				} else if (m == Metric::kCosine) {
					for (uint32_t j = 0; j < k; j++)
						t[j] = 1.0f - t[j];
				} else {
					for (uint32_t j = 0; j < k; j++)
						t[j] = -t[j];
				}
				uint32_t best = 0;
				float bd = t[0];
				for (uint32_t j = 1; j < k; j++) {
					float d = t[j];
					if (d < bd || (std::isnan(bd) && !std::isnan(d))) {
						bd = d;
						best = j;
					}
				}
				if (changed != nullptr && out_list[i0 + r] != best)
					(*changed)++;
				out_list[i0 + r] = best;
				if (out_dist != nullptr)
					out_dist[i0 + r] = bd;
			}
		}
	} catch (...) {
		return false;
	}
	return true;
}

/* The plain-loop assignment (fallback when Eigen cannot get memory). */
void
AssignLoop(const float *C, uint32_t k, uint32_t dim, Metric m, const float *x, size_t n,
		   uint32_t *out_list, float *out_dist)
{
	for (size_t i = 0; i < n; i++) {
		const float *xi = x + i * dim;
		float inv = m == Metric::kCosine ? InvNorm(xi, dim) : 1.0f;
		uint32_t best = 0;
		float bd = 0;
		for (uint32_t j = 0; j < k; j++) {
			const float *c = C + (size_t) j * dim;
			float dot = 0, xs = 0, cs = 0;
			for (uint32_t t = 0; t < dim; t++) {
				dot += xi[t] * c[t];
				xs += xi[t] * xi[t];
				cs += c[t] * c[t];
			}
			float d = FromDot(m, dot * inv, xs, cs);
			if (j == 0 || d < bd || (std::isnan(bd) && !std::isnan(d))) {
				bd = d;
				best = j;
			}
		}
		out_list[i] = best;
		if (out_dist != nullptr)
			out_dist[i] = bd;
	}
}

/* Writes point i (normalised for cosine) as centroid row c. */
void
SetCentroid(float *C, uint32_t c, const float *data, size_t i, uint32_t dim, Metric m)
{
	const float *xi = data + i * dim;
	float *ci = C + (size_t) c * dim;
	float s = m == Metric::kCosine ? InvNorm(xi, dim) : 1.0f;
	if (m == Metric::kCosine && s == 0.0f) {
		/* A zero vector has no direction: any unit vector will do. */
		std::memset(ci, 0, sizeof(float) * dim);
		ci[c % dim] = 1.0f;
		return;
	}
	for (uint32_t t = 0; t < dim; t++)
		ci[t] = xi[t] * s;
}

/* Scratch of training, carved in a fixed order. */
struct TrainBufs {
	uint32_t *assign;
	float *pdist;
	uint32_t *idx;
	float *xinv; /* 1 / |x_i| (cosine) */
	uint64_t *count;
	double *sums;
	AssignBufs a;
};

bool
TrainBytes(size_t n, uint32_t dim, uint32_t k, size_t *out)
{
	size_t total = 0;
	bool ok = AddBytes<uint32_t>(&total, n) && AddBytes<float>(&total, n) &&
			  AddBytes<uint32_t>(&total, n) && AddBytes<float>(&total, n) &&
			  AddBytes<uint64_t>(&total, k) &&
			  (uint64_t) k * dim / std::max<uint32_t>(dim, 1) == k &&
			  AddBytes<double>(&total, (size_t) k * dim);
	bool aok = false;
	size_t ab = AssignBytes(dim, k, &aok);
	if (!ok || !aok || total > std::numeric_limits<size_t>::max() - ab)
		return false;
	*out = total + ab;
	return true;
}

TrainBufs
CarveTrain(void *scratch, size_t n, uint32_t dim, uint32_t k)
{
	Carver cv(scratch);
	TrainBufs t;
	t.assign = cv.Take<uint32_t>(n);
	t.pdist = cv.Take<float>(n);
	t.idx = cv.Take<uint32_t>(n);
	t.xinv = cv.Take<float>(n);
	t.count = cv.Take<uint64_t>(k);
	t.sums = cv.Take<double>((size_t) k * dim);
	t.a = CarveAssign(&cv, dim, k);
	return t;
}

/* Distance of point i to centroid row c (training metric: L2 or cosine). */
inline float
PointDist(const float *data, const float *xinv, size_t i, const float *c, float csq, uint32_t dim,
		  Metric m)
{
	const float *xi = data + i * dim;
	float dot = CMapVec(xi, dim).dot(CMapVec(c, dim));
	if (m == Metric::kCosine)
		return 1.0f - dot * xinv[i];
	float xs = CMapVec(xi, dim).squaredNorm();
	float d = xs + csq - 2.0f * dot;
	return d > 0 ? d : 0.0f;
}

/* Picks a position in [0, m) with probability proportional to w (uniform if all zero). */
size_t
SampleD2(const float *w, size_t m, Prng *rng)
{
	double total = 0;
	for (size_t s = 0; s < m; s++)
		total += w[s];
	double u = rng->Uniform();
	if (!(total > 0) || !std::isfinite(total))
		return (size_t) rng->Below(m);
	double r = u * total, cum = 0;
	size_t last = 0;
	for (size_t s = 0; s < m; s++) {
		if (w[s] <= 0)
			continue;
		last = s;
		cum += w[s];
		if (cum > r)
			return s;
	}
	return last;
}

/* k-means++ over the points idx[0..m). */
void
InitPlusPlus(const float *data, const float *xinv, uint32_t dim, uint32_t k, Metric m,
			 const uint32_t *idx, size_t mcount, float *C, float *w, Prng *rng)
{
	size_t first = (size_t) rng->Below(mcount);
	SetCentroid(C, 0, data, idx[first], dim, m);
	for (uint32_t c = 0; c < k; c++) {
		const float *cr = C + (size_t) c * dim;
		float csq = CMapVec(cr, dim).squaredNorm();
		for (size_t s = 0; s < mcount; s++) {
			float d = PointDist(data, xinv, idx[s], cr, csq, dim, m);
			if (c == 0 || d < w[s])
				w[s] = d;
		}
		if (c + 1 < k)
			SetCentroid(C, c + 1, data, idx[SampleD2(w, mcount, rng)], dim, m);
	}
}

/* Draws the first `take` entries of a random permutation of [0, n) into idx. */
void
PartialShuffle(uint32_t *idx, size_t n, size_t take, Prng *rng)
{
	for (size_t i = 0; i < n; i++)
		idx[i] = (uint32_t) i;
	for (size_t i = 0; i < take && i + 1 < n; i++) {
		size_t j = i + (size_t) rng->Below(n - i);
		std::swap(idx[i], idx[j]);
	}
}

double
Seconds(std::chrono::steady_clock::time_point t0)
{
	return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

} /* namespace */

#ifndef TQ_KMEANS_VARIANT

/* Inner product: rows go to the L2-nearest centroid (measured, see the essay). */
Metric
PartitionMetric(Metric index_metric) noexcept
{
	return index_metric == Metric::kInnerProduct ? Metric::kL2 : index_metric;
}

/* Inner product: queries probe lists by largest inner product (measured, see the essay). */
Metric
PartitionRankMetric(Metric index_metric) noexcept
{
	return index_metric;
}

size_t
KMeansScratchBytes(size_t n, uint32_t dim, uint32_t k) noexcept
{
	size_t b = 0;
	if (n > UINT32_MAX || !TrainBytes(n, dim, k, &b))
		return 0;
	return b;
}

bool
KMeansTrain(const float *data, size_t n, uint32_t dim, uint32_t k, Metric metric, uint64_t seed,
			int iterations, float *centroids, void *scratch) noexcept
{
	return KMeansTrainEx(data, n, dim, k, metric, seed, iterations, kDefaultInit, centroids,
						 scratch, nullptr);
}

size_t
AssignScratchBytes(uint32_t dim, uint32_t k) noexcept
{
	bool ok = false;
	size_t b = AssignBytes(dim, k, &ok);
	return ok ? b : 0;
}

void
SelectNearest(const float *dist, uint32_t *order, uint32_t n, uint32_t take) noexcept
{
	auto key = [dist](uint32_t c) {
		float d = dist[c];
		return std::isnan(d) ? std::numeric_limits<float>::infinity() : d;
	};
	auto less = [&key](uint32_t a, uint32_t b) {
		float da = key(a), db = key(b);
		return da < db || (da == db && a < b);
	};
	take = std::min(take, n);
	if (take == 0)
		return;
	if (take < n)
		std::nth_element(order, order + take - 1, order + n, less);
	std::sort(order, order + take, less);
}

namespace {

struct CodedLayout {
	size_t n_blocks, blocks_bytes, norms_off, factors_off, total;
};

CodedLayout
CodedCentroidsLayout(size_t block_bytes, uint32_t k)
{
	CodedLayout c;
	auto up64 = [](size_t b) { return (b + 63) & ~(size_t) 63; };
	c.n_blocks = (k + kBlockVectors - 1) / kBlockVectors;
	c.blocks_bytes = up64(c.n_blocks * block_bytes);
	c.norms_off = c.blocks_bytes;
	c.factors_off = c.norms_off + up64(c.n_blocks * kBlockVectors * sizeof(double));
	c.total = c.factors_off + up64(c.n_blocks * kBlockVectors * sizeof(float));
	return c;
}

} /* namespace */

size_t
CentroidCodesBytes(uint32_t dim, int bits, uint32_t k) noexcept
{
	size_t block_bytes = BlockBytes(dim, bits);
	return block_bytes == 0 ? 0 : CodedCentroidsLayout(block_bytes, k).total;
}

size_t
CentroidCodesScratchFloats(const Quantizer *qz) noexcept
{
	/* EncodeBatch's scratch, then one block's unpacked codes (bytes) */
	return EncodeBatchScratchFloats(qz) + (kBlockVectors * QuantizerLayout(qz).padded_dim + 3) / 4;
}

void
EncodeCentroids(const Quantizer *qz, const float *centroids, uint32_t k, void *mem,
				float *scratch) noexcept
{
	const Layout &lay = QuantizerLayout(qz);
	CodedLayout c = CodedCentroidsLayout(lay.block_bytes, k);
	uint8_t *base = static_cast<uint8_t *>(mem);
	double *norms = reinterpret_cast<double *>(base + c.norms_off);
	float *factors = reinterpret_cast<float *>(base + c.factors_off);
	uint8_t *codes = reinterpret_cast<uint8_t *>(scratch + EncodeBatchScratchFloats(qz));
	const float *rows[kBlockVectors];

	std::memset(mem, 0, c.total);
	for (size_t b = 0; b < c.n_blocks; b++) {
		uint32_t first = (uint32_t) (b * kBlockVectors);
		uint32_t n = std::min<uint32_t>(kBlockVectors, k - first);
		for (uint32_t i = 0; i < n; i++)
			rows[i] = centroids + (size_t) (first + i) * lay.dim;
		EncodeBatch(qz, rows, n, codes, norms + first, factors + first, scratch);
		PackBlock(lay, codes, n, 0, lay.n_chunks, base + b * lay.block_bytes);
	}
}

uint32_t
CodedRankShortlist(uint32_t sorted, int bits) noexcept
{
	uint64_t s = (uint64_t) sorted * 2 + 32;
	if (bits < 4)
		s *= 2;
	return (uint32_t) std::min<uint64_t>(s, UINT32_MAX);
}

void
RankCentroidsCoded(const Quantizer *qz, const uint8_t *lut, const void *codes, const float *centroids, uint32_t k,
				   uint32_t dim, Metric metric, const float *q, uint32_t *order, float *dist,
				   uint32_t sorted, uint32_t shortlist, double *est) noexcept
{
	if (k == 0)
		return;
	CodedLayout cl = CodedCentroidsLayout(QuantizerLayout(qz).block_bytes, k);
	const uint8_t *base = static_cast<const uint8_t *>(codes);
	const double *norms = reinterpret_cast<const double *>(base + cl.norms_off);
	const float *factors = reinterpret_cast<const float *>(base + cl.factors_off);

	ScanBlocks(lut, base, cl.n_blocks, norms, factors, est);
	for (uint32_t c = 0; c < k; c++) {
		dist[c] = (float) est[c];
		order[c] = c;
	}
	sorted = std::min(sorted, k);
	shortlist = std::min(std::max(shortlist, sorted), k);
	if (shortlist == 0)
		return;
	SelectNearest(dist, order, k, shortlist);
	/* exact distances for the shortlist, as RankCentroids computes them */
	float inv = metric == Metric::kCosine ? InvNorm(q, dim) : 1.0f;
	Eigen::Map<const Eigen::VectorXf> qv(q, dim);
	for (uint32_t i = 0; i < shortlist; i++) {
		Eigen::Map<const Eigen::VectorXf> cv(centroids + (size_t) order[i] * dim, dim);
		dist[order[i]] = metric == Metric::kL2 ? (cv - qv).squaredNorm()
											   : FromDot(metric, cv.dot(qv) * inv, 0.0f, 0.0f);
	}
	SelectNearest(dist, order, shortlist, sorted);
}

#endif /* !TQ_KMEANS_VARIANT */

/* The matrix work, built once per instruction set (see the essay). */
namespace TQ_KM_NS {

/*
 * Init: the training metric, the inverse norms and the first centroids.
 * Returns false on bad arguments or when Eigen threw; st->done is set when
 * k >= n (every point is a centroid, no rounds).
 */
bool
KMeansStart(const float *data, size_t n, uint32_t dim, uint32_t k, Metric metric, uint64_t seed,
			int iterations, KMeansInit init, float *centroids, void *scratch,
			KMeansState *st) noexcept
{
	auto t0 = std::chrono::steady_clock::now();
	*st = KMeansState{};
	st->n = n;
	st->dim = dim;
	st->k = k;
	st->iterations = iterations;
	if (n == 0 || k == 0 || dim == 0 || dim > kMaxDim || n > UINT32_MAX || data == nullptr ||
		centroids == nullptr || scratch == nullptr)
		return false;
	/* Training is Lloyd on raw vectors for IP (the mean is the centroid). */
	Metric m = metric == Metric::kCosine ? Metric::kCosine : Metric::kL2;
	st->metric = m;
	Prng rng(seed);

	if (k >= n) {
		/* Every point is a centroid; extra lists repeat points and stay empty. */
		for (uint32_t c = 0; c < k; c++)
			SetCentroid(centroids, c, data, c % n, dim, m);
		st->stats.init_seconds = Seconds(t0);
		st->done = true;
		return true;
	}

	TrainBufs tb = CarveTrain(scratch, n, dim, k);
	for (size_t i = 0; i < n; i++)
		tb.xinv[i] = m == Metric::kCosine ? InvNorm(data + i * dim, dim) : 1.0f;
	try {
		switch (init) {
		case KMeansInit::kRandom:
			PartialShuffle(tb.idx, n, k, &rng);
			for (uint32_t c = 0; c < k; c++)
				SetCentroid(centroids, c, data, tb.idx[c], dim, m);
			break;
		case KMeansInit::kPlusPlusSampled: {
			size_t mcount = std::min<size_t>(n, kSampledPerCentroid * (size_t) k);
			PartialShuffle(tb.idx, n, mcount, &rng);
			InitPlusPlus(data, tb.xinv, dim, k, m, tb.idx, mcount, centroids, tb.pdist, &rng);
			break;
		}
		default:
			for (size_t i = 0; i < n; i++)
				tb.idx[i] = (uint32_t) i;
			InitPlusPlus(data, tb.xinv, dim, k, m, tb.idx, n, centroids, tb.pdist, &rng);
			break;
		}
	} catch (...) {
		return false;
	}
	st->stats.init_seconds = Seconds(t0);
	st->done = iterations <= 0;
	for (size_t i = 0; i < n; i++)
		tb.assign[i] = UINT32_MAX;
	return true;
}

/*
 * The rest of a Lloyd round once tb.assign and tb.pdist hold the round's
 * assignment (`changed` points moved): objective, the early stop, empty
 * clusters, new centroids.
 */
bool
UpdateRound(const float *data, float *centroids, TrainBufs &tb, size_t changed, KMeansState *st)
{
	size_t n = st->n;
	uint32_t dim = st->dim, k = st->k;
	Metric m = st->metric;
	int it = st->round;
	double obj = 0;
	for (size_t i = 0; i < n; i++)
		obj += tb.pdist[i];
	if (it == 0)
		st->stats.init_objective = obj;
	st->stats.final_objective = obj;
	if (it > 0 && changed == 0) {
		st->done = true;
		return true;
	}
	st->stats.iterations_run = it + 1;

	/* Counts, then empty clusters take the farthest movable point. */
	std::memset(tb.count, 0, sizeof(uint64_t) * k);
	for (size_t i = 0; i < n; i++)
		tb.count[tb.assign[i]]++;
	for (uint32_t c = 0; c < k; c++) {
		if (tb.count[c] != 0)
			continue;
		size_t far = SIZE_MAX;
		float fd = 0;
		for (size_t i = 0; i < n; i++)
			if (tb.count[tb.assign[i]] > 1 && tb.pdist[i] > fd) {
				fd = tb.pdist[i];
				far = i;
			}
		if (far == SIZE_MAX)
			continue; /* all points sit on their centroids: nothing to split */
		tb.count[tb.assign[far]]--;
		tb.assign[far] = c;
		tb.count[c] = 1;
		tb.pdist[far] = 0;
		st->stats.empty_repaired++;
	}

	/* New centroids: means in double, in point order. */
	try {
		std::memset(tb.sums, 0, sizeof(double) * (size_t) k * dim);
		for (size_t i = 0; i < n; i++) {
			const float *xi = data + i * dim;
			double s = tb.xinv[i];
			MapVecD(tb.sums + (size_t) tb.assign[i] * dim, dim) += CMapVec(xi, dim).cast<double>() * s;
		}
		for (uint32_t c = 0; c < k; c++) {
			if (tb.count[c] == 0)
				continue; /* keeps its previous centroid */
			MapVecD sc(tb.sums + (size_t) c * dim, dim);
			double scale;
			if (m == Metric::kCosine) {
				double norm = sc.norm();
				if (!(norm > 0))
					continue; /* members cancel out: keep the previous direction */
				scale = 1.0 / norm;
			} else {
				scale = 1.0 / (double) tb.count[c];
			}
			MapVec(centroids + (size_t) c * dim, dim) = (sc * scale).cast<float>();
		}
	} catch (...) {
		return false;
	}
	st->round++;
	if (st->round >= st->iterations)
		st->done = true;
	return true;
}

bool
KMeansFinishRound(const float *data, float *centroids, void *scratch, const uint32_t *labels,
				  const float *dist, KMeansState *st) noexcept
{
	if (st->done)
		return true;
	TrainBufs tb = CarveTrain(scratch, st->n, st->dim, st->k);
	size_t changed = 0;
	for (size_t i = 0; i < st->n; i++) {
		changed += tb.assign[i] != labels[i];
		tb.assign[i] = labels[i];
		tb.pdist[i] = dist[i];
	}
	return UpdateRound(data, centroids, tb, changed, st);
}

bool
KMeansAssignRows(const float *centroids, const float *data, size_t begin, size_t end,
				 uint32_t *labels, float *dist, void *scratch, const KMeansState *st) noexcept
{
	if (begin >= end)
		return true;
	Carver cv(scratch);
	AssignBufs a = CarveAssign(&cv, st->dim, st->k);
	return AssignCore(centroids, st->k, st->dim, st->metric, data + begin * st->dim, end - begin,
					  labels + begin, dist + begin, a, nullptr);
}

bool
KMeansTrainEx(const float *data, size_t n, uint32_t dim, uint32_t k, Metric metric, uint64_t seed,
			  int iterations, KMeansInit init, float *centroids, void *scratch,
			  KMeansStats *stats) noexcept
{
	auto t0 = std::chrono::steady_clock::now();
	KMeansState st;
	if (stats != nullptr)
		*stats = KMeansStats{};
	if (!TQ_KM_NS::KMeansStart(data, n, dim, k, metric, seed, iterations, init, centroids, scratch,
							   &st))
		return false;
	if (!st.done) {
		TrainBufs tb = CarveTrain(scratch, n, dim, k);
		while (!st.done) {
			size_t changed = 0;
			if (!AssignCore(centroids, k, dim, st.metric, data, n, tb.assign, tb.pdist, tb.a,
							&changed))
				return false;
			if (!UpdateRound(data, centroids, tb, changed, &st))
				return false;
		}
	}
	st.stats.total_seconds = Seconds(t0);
	if (stats != nullptr)
		*stats = st.stats;
	return true;
}

void
AssignNearest(const float *centroids, uint32_t k, uint32_t dim, Metric metric, const float *x,
			  size_t n, uint32_t *out_list, float *out_dist, void *scratch) noexcept
{
	if (k == 0 || dim == 0 || n == 0)
		return;
	Carver cv(scratch);
	AssignBufs a = CarveAssign(&cv, dim, k);
	if (!AssignCore(centroids, k, dim, metric, x, n, out_list, out_dist, a, nullptr))
		AssignLoop(centroids, k, dim, metric, x, n, out_list, out_dist);
}

void
RankCentroids(const float *centroids, uint32_t k, uint32_t dim, Metric metric, const float *q,
			  uint32_t *order, float *dist, uint32_t sorted) noexcept
{
	if (k == 0)
		return;
	float inv = metric == Metric::kCosine ? InvNorm(q, dim) : 1.0f;
	bool done = false;
	try {
		CMapMat Cm(centroids, k, dim);
		CMapVec qv(q, dim);
		MapVec dv(dist, k);
		if (metric == Metric::kL2) {
			/* Exact differences (no cancellation): callers may reuse |q - c|^2. */
			dv.noalias() = (Cm.rowwise() - qv.transpose()).rowwise().squaredNorm();
		} else {
			dv.noalias() = Cm * qv;
			for (uint32_t c = 0; c < k; c++)
				dist[c] = FromDot(metric, dist[c] * inv, 0.0f, 0.0f);
		}
		done = true;
	} catch (...) {
	}
	if (!done) {
		for (uint32_t c = 0; c < k; c++) {
			const float *cr = centroids + (size_t) c * dim;
			float dot = 0, l2 = 0;
			for (uint32_t t = 0; t < dim; t++) {
				dot += q[t] * cr[t];
				l2 += (q[t] - cr[t]) * (q[t] - cr[t]);
			}
			dist[c] = metric == Metric::kL2 ? l2 : FromDot(metric, dot * inv, 0.0f, 0.0f);
		}
	}
	for (uint32_t c = 0; c < k; c++)
		order[c] = c;
	SelectNearest(dist, order, k, std::min(sorted, k));
}

} /* namespace TQ_KM_NS */

#ifndef TQ_KMEANS_VARIANT

#if defined(__x86_64__) || defined(__i386__)
#define TQ_KMEANS_HAVE_X86 1
/* kmeans_avx2.cpp and kmeans_avx512.cpp: the same functions built with AVX2 + FMA and with AVX-512. */
#define TQ_KM_DECLARE(ns)                                                                            \
	namespace ns {                                                                                   \
	bool KMeansTrainEx(const float *data, size_t n, uint32_t dim, uint32_t k, Metric metric,         \
					   uint64_t seed, int iterations, KMeansInit init, float *centroids,             \
					   void *scratch, KMeansStats *stats) noexcept;                                  \
	void AssignNearest(const float *centroids, uint32_t k, uint32_t dim, Metric metric,              \
					   const float *x, size_t n, uint32_t *out_list, float *out_dist,                \
					   void *scratch) noexcept;                                                      \
	void RankCentroids(const float *centroids, uint32_t k, uint32_t dim, Metric metric,              \
					   const float *q, uint32_t *order, float *dist, uint32_t sorted) noexcept;      \
	bool KMeansStart(const float *data, size_t n, uint32_t dim, uint32_t k, Metric metric,           \
					 uint64_t seed, int iterations, KMeansInit init, float *centroids, void *scratch, \
					 KMeansState *st) noexcept;                                                      \
	bool KMeansFinishRound(const float *data, float *centroids, void *scratch,                       \
						   const uint32_t *labels, const float *dist, KMeansState *st) noexcept;     \
	bool KMeansAssignRows(const float *centroids, const float *data, size_t begin, size_t end,       \
						  uint32_t *labels, float *dist, void *scratch,                             \
						  const KMeansState *st) noexcept;                                           \
	}
TQ_KM_DECLARE(km_avx2)
TQ_KM_DECLARE(km_avx512)
#undef TQ_KM_DECLARE
#endif

namespace {

/*
 * The build the kernel set in force calls for, if the CPU runs it (see the
 * essay): AVX-512 for the AVX-512 kernel sets, AVX2 + FMA for the AVX2 one,
 * else the baseline.
 */
KMeansBuildId
ChooseBuild()
{
#ifdef TQ_KMEANS_HAVE_X86
	static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	static const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") &&
		__builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
		__builtin_cpu_supports("avx512bw");
	const char *set = KernelSetName(ActiveKernelSet());
	if (avx512 && std::strncmp(set, "avx512", 6) == 0)
		return KMeansBuildId::kAvx512;
	if (avx2 && std::strncmp(set, "avx", 3) == 0)
		return KMeansBuildId::kAvx2;
#endif
	return KMeansBuildId::kBaseline;
}

} /* namespace */

/* Calls `fn` with the arguments in the namespace of build `b`. */
#ifdef TQ_KMEANS_HAVE_X86
#define TQ_KM_CALL(b, fn, ...)                                                                       \
	((b) == KMeansBuildId::kAvx512 ? km_avx512::fn(__VA_ARGS__)                                      \
	 : (b) == KMeansBuildId::kAvx2 ? km_avx2::fn(__VA_ARGS__)                                        \
								   : km_base::fn(__VA_ARGS__))
#else
#define TQ_KM_CALL(b, fn, ...) km_base::fn(__VA_ARGS__)
#endif

const char *
KMeansBuild() noexcept
{
	switch (ChooseBuild()) {
	case KMeansBuildId::kAvx512:
		return "avx512";
	case KMeansBuildId::kAvx2:
		return "avx2";
	default:
		return "baseline";
	}
}

bool
KMeansTrainEx(const float *data, size_t n, uint32_t dim, uint32_t k, Metric metric, uint64_t seed,
			  int iterations, KMeansInit init, float *centroids, void *scratch,
			  KMeansStats *stats) noexcept
{
	return TQ_KM_CALL(ChooseBuild(), KMeansTrainEx, data, n, dim, k, metric, seed, iterations, init,
					  centroids, scratch, stats);
}

void
AssignNearest(const float *centroids, uint32_t k, uint32_t dim, Metric metric, const float *x,
			  size_t n, uint32_t *out_list, float *out_dist, void *scratch) noexcept
{
	TQ_KM_CALL(ChooseBuild(), AssignNearest, centroids, k, dim, metric, x, n, out_list, out_dist,
			   scratch);
}

void
RankCentroids(const float *centroids, uint32_t k, uint32_t dim, Metric metric, const float *q,
			  uint32_t *order, float *dist, uint32_t sorted) noexcept
{
	TQ_KM_CALL(ChooseBuild(), RankCentroids, centroids, k, dim, metric, q, order, dist, sorted);
}

/*
 * The round-by-round entry points.  The state records which build started
 * the training, so every round of it (in every process) uses that build.
 */
bool
KMeansStart(const float *data, size_t n, uint32_t dim, uint32_t k, Metric metric, uint64_t seed,
			int iterations, KMeansInit init, float *centroids, void *scratch,
			KMeansState *st) noexcept
{
	KMeansBuildId b = ChooseBuild();
	bool ok = TQ_KM_CALL(b, KMeansStart, data, n, dim, k, metric, seed, iterations, init,
						 centroids, scratch, st);
	st->build = b;
	return ok;
}

bool
KMeansFinishRound(const float *data, float *centroids, void *scratch, const uint32_t *labels,
				  const float *dist, KMeansState *st) noexcept
{
	return TQ_KM_CALL(st->build, KMeansFinishRound, data, centroids, scratch, labels, dist, st);
}

bool
KMeansAssignRows(const float *centroids, const float *data, size_t begin, size_t end,
				 uint32_t *labels, float *dist, void *scratch, const KMeansState *st) noexcept
{
	return TQ_KM_CALL(st->build, KMeansAssignRows, centroids, data, begin, end, labels, dist,
					  scratch, st);
}

size_t
KMeansAssignAlign(uint32_t dim, uint32_t k) noexcept
{
	return BlockRows(dim, k);
}

#undef TQ_KM_CALL
#endif /* !TQ_KMEANS_VARIANT */

} /* namespace turboquant */
