/*
 * partition_bench.cpp — core-only measurements behind the partitioned index
 * (issue 8), on the real sets (.fvecs with exact ground truth):
 *
 *   init      k-means++ vs random vs k-means++ on a subset: init time, total
 *             training time, objective after init and after training.
 *   ip        inner product: which rule assigns and ranks lists (L2 to the
 *             centroids, or largest inner product), by recall@10 of an exact
 *             search inside the probed lists at equal probes.
 *   train     training budget: rows per list of the sample and Lloyd rounds
 *             against the recall ceiling of the probed lists and the time.
 *   residual  TurboQuant codes of the vector ("direct") vs of its residual to
 *             the list centroid, at equal bits: R@1@1, R@1@10 of the estimates
 *             and recall@10 after exact re-rank of the best R candidates, at
 *             a few probes.  Residual scores use a per-list query table for
 *             q - c (same kernels, L2 of residuals), and, as "res1", one table
 *             for q with |q-x|^2 = |q|^2 + |x|^2 - 2<q,c> - 2<q,r>.
 *
 * Build and run (no server):  make bench-partitions
 *   ./bench/partition_bench DATA_DIR [set ...]     (sets: npm-use512 debian-fasttext300)
 */
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/turboquant.h"
#include "../test/core/test_util.h"

using namespace turboquant;

namespace {

double
Now()
{
	return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Set {
	std::string name;
	uint32_t dim = 0, n = 0, nq = 0;
	std::vector<float> base, query;
	std::vector<int32_t> gt_cos, gt_l2; /* 100 per query */
};

bool
Load(const std::string &dir, const std::string &name, Set *s)
{
	uint32_t d2, n2, gd;
	s->name = name;
	std::string p = dir + "/" + name + "/";
	return tqtest::ReadVecs(p + "base.fvecs", &s->base, &s->dim, &s->n) &&
		   tqtest::ReadVecs(p + "query.fvecs", &s->query, &d2, &s->nq) &&
		   tqtest::ReadIvecs(p + "gt_cos.ivecs", &s->gt_cos, &gd, &n2) &&
		   tqtest::ReadIvecs(p + "gt_l2.ivecs", &s->gt_l2, &gd, &n2);
}

std::vector<float>
Normalised(const std::vector<float> &x, uint32_t dim)
{
	std::vector<float> y(x.size());
	for (size_t i = 0; i < x.size() / dim; i++) {
		double s = 0;
		for (uint32_t j = 0; j < dim; j++)
			s += (double) x[i * dim + j] * x[i * dim + j];
		double inv = s > 0 ? 1 / std::sqrt(s) : 0;
		for (uint32_t j = 0; j < dim; j++)
			y[i * dim + j] = (float) (x[i * dim + j] * inv);
	}
	return y;
}

double
Dot(const float *a, const float *b, uint32_t d)
{
	double s = 0;
	for (uint32_t j = 0; j < d; j++)
		s += (double) a[j] * b[j];
	return s;
}
double
L2(const float *a, const float *b, uint32_t d)
{
	double s = 0;
	for (uint32_t j = 0; j < d; j++)
		s += ((double) a[j] - b[j]) * ((double) a[j] - b[j]);
	return s;
}

std::vector<float>
Train(const std::vector<float> &x, uint32_t dim, uint32_t k, Metric m, KMeansInit init, int iters,
	  KMeansStats *st)
{
	size_t n = x.size() / dim;
	std::vector<uint8_t> scratch(KMeansScratchBytes(n, dim, k));
	std::vector<float> c((size_t) k * dim);
	if (!KMeansTrainEx(x.data(), n, dim, k, m, 1234, iters, init, c.data(), scratch.data(), st)) {
		std::fprintf(stderr, "training failed\n");
		std::exit(1);
	}
	return c;
}

std::vector<uint32_t>
Assign(const std::vector<float> &c, uint32_t k, uint32_t dim, Metric m, const std::vector<float> &x)
{
	std::vector<uint8_t> scratch(AssignScratchBytes(dim, k));
	std::vector<uint32_t> a(x.size() / dim);
	AssignNearest(c.data(), k, dim, m, x.data(), a.size(), a.data(), nullptr, scratch.data());
	return a;
}

void
RunInit(const Set &s, uint32_t k, Metric m)
{
	const char *names[] = {"k-means++", "random", "k-means++(8k subset)"};
	for (int i = 0; i < 3; i++) {
		KMeansStats st;
		Train(s.base, s.dim, k, m, (KMeansInit) i, 10, &st);
		std::printf("init %-18s %-22s k=%5u  init %.2fs total %.2fs  obj(init) %.2f  obj(10 it) %.2f  empty %u  iters %d\n",
					s.name.c_str(), names[i], k, st.init_seconds, st.total_seconds, st.init_objective,
					st.final_objective, st.empty_repaired, st.iterations_run);
		std::fflush(stdout);
	}
}

/* Lists as member arrays. */
std::vector<std::vector<uint32_t>>
Lists(const std::vector<uint32_t> &a, uint32_t k)
{
	std::vector<std::vector<uint32_t>> l(k);
	for (size_t i = 0; i < a.size(); i++)
		l[a[i]].push_back((uint32_t) i);
	return l;
}

void
RunIp(const Set &s, uint32_t k)
{
	/* Exact inner-product top-10 by brute force. */
	std::vector<std::vector<uint32_t>> gt(s.nq);
	for (uint32_t q = 0; q < s.nq; q++) {
		std::vector<std::pair<double, uint32_t>> d(s.n);
		for (uint32_t i = 0; i < s.n; i++)
			d[i] = {-Dot(&s.query[q * s.dim], &s.base[(size_t) i * s.dim], s.dim), i};
		std::partial_sort(d.begin(), d.begin() + 10, d.end());
		for (int j = 0; j < 10; j++)
			gt[q].push_back(d[j].second);
	}
	KMeansStats st;
	auto c = Train(s.base, s.dim, k, Metric::kInnerProduct, KMeansInit::kPlusPlus, 10, &st);
	struct Rule {
		const char *name;
		Metric assign, rank;
	} rules[] = {{"assign L2, rank L2", Metric::kL2, Metric::kL2},
				 {"assign IP, rank IP", Metric::kInnerProduct, Metric::kInnerProduct},
				 {"assign L2, rank IP", Metric::kL2, Metric::kInnerProduct}};
	for (const Rule &r : rules) {
		auto lists = Lists(Assign(c, k, s.dim, r.assign, s.base), k);
		size_t mx = 0;
		for (auto &l : lists)
			mx = std::max(mx, l.size());
		std::printf("ip %-18s %-20s max list %zu:", s.name.c_str(), r.name, mx);
		for (uint32_t probes : {1u, 2u, 4u, 8u, 16u, 32u}) {
			double hit = 0, scanned = 0;
			std::vector<uint32_t> order(k);
			std::vector<float> dist(k);
			for (uint32_t q = 0; q < s.nq; q++) {
				RankCentroids(c.data(), k, s.dim, r.rank, &s.query[q * s.dim], order.data(), dist.data());
				std::vector<std::pair<double, uint32_t>> cand;
				for (uint32_t p = 0; p < probes && p < k; p++)
					for (uint32_t i : lists[order[p]])
						cand.push_back({-Dot(&s.query[q * s.dim], &s.base[(size_t) i * s.dim], s.dim), i});
				scanned += cand.size();
				size_t t = std::min<size_t>(10, cand.size());
				std::partial_sort(cand.begin(), cand.begin() + t, cand.end());
				for (size_t j = 0; j < t; j++)
					hit += std::count(gt[q].begin(), gt[q].end(), cand[j].second);
			}
			std::printf("  p%u %.4f (%.0f%%)", probes, hit / (10.0 * s.nq), 100 * scanned / s.nq / s.n);
		}
		std::printf("\n");
		std::fflush(stdout);
	}
}

/* Codes of a set of vectors, one list after another, 32 to a block. */
struct Coded {
	std::vector<uint8_t> blocks;
	std::vector<double> norms;
	std::vector<float> factors;
	std::vector<size_t> first_block; /* per list */
	std::vector<uint32_t> ids;       /* slot order */
	std::vector<size_t> first_slot;  /* per list */
};

Coded
Encode(tqtest::Qz &qz, const std::vector<std::vector<uint32_t>> &lists, const std::vector<float> &x,
	   const std::vector<float> *centroids, uint32_t dim)
{
	const Layout &L = qz.L();
	Coded c;
	size_t nb = 0;
	for (auto &l : lists)
		nb += (l.size() + 31) / 32;
	c.blocks.assign(nb * L.block_bytes + 64, 0);
	c.norms.assign(nb * 32, 0);
	c.factors.assign(nb * 32, 0);
	std::vector<uint8_t> codes(L.padded_dim);
	std::vector<float> r(dim);
	size_t b = 0;
	for (size_t li = 0; li < lists.size(); li++) {
		c.first_block.push_back(b);
		c.first_slot.push_back(c.ids.size());
		for (size_t j = 0; j < lists[li].size(); j++) {
			uint32_t id = lists[li][j];
			const float *v = &x[(size_t) id * dim];
			if (centroids != nullptr) {
				for (uint32_t t = 0; t < dim; t++)
					r[t] = v[t] - (*centroids)[li * dim + t];
				v = r.data();
			}
			size_t blk = b + j / 32, slot = j % 32;
			turboquant::Encode(qz.q, v, codes.data(), &c.norms[blk * 32 + slot], &c.factors[blk * 32 + slot],
							   qz.scratch.data());
			PackSlot(L, codes.data(), (uint32_t) slot, 0, L.n_chunks, &c.blocks[blk * L.block_bytes]);
			c.ids.push_back(id);
		}
		b += (lists[li].size() + 31) / 32;
	}
	c.first_block.push_back(b);
	return c;
}

/*
 * Residual vs direct on one set.  Metric cosine works on normalised vectors
 * (residual scores are |q_u - x_u|^2 = 2 (1 - cos), same ranking); L2 on raw.
 */
void
RunResidual(const Set &s, uint32_t k, Metric metric, int bits)
{
	bool cos = metric == Metric::kCosine;
	std::vector<float> base = cos ? Normalised(s.base, s.dim) : s.base;
	std::vector<float> query = cos ? Normalised(s.query, s.dim) : s.query;
	const std::vector<int32_t> &gtall = cos ? s.gt_cos : s.gt_l2;
	KMeansStats st;
	auto c = Train(base, s.dim, k, metric, KMeansInit::kPlusPlus, 10, &st);
	auto lists = Lists(Assign(c, k, s.dim, metric, base), k);
	tqtest::Qz qz(s.dim, bits, 42);
	Coded direct = Encode(qz, lists, base, nullptr, s.dim);
	Coded resid = Encode(qz, lists, base, &c, s.dim);
	const Layout &L = qz.L();
	size_t lsize = QueryLutSize(qz.q);
	uint8_t *lut = static_cast<uint8_t *>(std::aligned_alloc(64, (lsize + 63) / 64 * 64));
	const int modes = 3;
	const char *mname[modes] = {"direct", "residual", "res1"};
	const uint32_t probes_list[] = {4, 8, 16, 32};
	const uint32_t reranks[] = {10, 20, 50, 100};
	for (uint32_t probes : probes_list) {
		double r11[modes] = {}, r110[modes] = {}, rec[modes][4] = {}, ceiling = 0;
		std::vector<uint32_t> order(k);
		std::vector<float> cdist(k), qc(s.dim);
		std::vector<double> out;
		for (uint32_t q = 0; q < s.nq; q++) {
			const float *qv = &query[(size_t) q * s.dim];
			const int32_t *gt = &gtall[(size_t) q * 100];
			RankCentroids(c.data(), k, s.dim, metric, qv, order.data(), cdist.data());
			for (uint32_t p = 0; p < probes; p++)
				for (uint32_t i : lists[order[p]])
					ceiling += std::count(gt, gt + 10, (int32_t) i);
			double qq = Dot(qv, qv, s.dim);
			for (int mode = 0; mode < modes; mode++) {
				const Coded &cd = mode == 0 ? direct : resid;
				std::vector<std::pair<float, uint32_t>> est;
				if (mode != 1)
					PrepareQuery(qz.q, mode == 0 ? (cos ? Metric::kCosine : Metric::kL2) : Metric::kInnerProduct,
								 qv, lut, qz.scratch.data());
				for (uint32_t p = 0; p < probes; p++) {
					uint32_t li = order[p];
					const float *cv = &c[(size_t) li * s.dim];
					if (mode == 1) {
						for (uint32_t t = 0; t < s.dim; t++)
							qc[t] = qv[t] - cv[t];
						PrepareQuery(qz.q, Metric::kL2, qc.data(), lut, qz.scratch.data());
					}
					size_t b0 = cd.first_block[li], nb = cd.first_block[li + 1] - b0;
					out.resize(nb * 32);
					ScanBlocks(lut, &cd.blocks[b0 * L.block_bytes], nb, &cd.norms[b0 * 32],
							   &cd.factors[b0 * 32], out.data());
					double qcv = mode == 2 ? Dot(qv, cv, s.dim) : 0;
					for (size_t j = 0; j < lists[li].size(); j++) {
						uint32_t id = cd.ids[cd.first_slot[li] + j];
						float e = (float) out[j];
						if (mode == 2) {
							/* out = -<q, r>;  |q-x|^2 = |q|^2 + |x|^2 - 2<q,c> - 2<q,r> */
							const float *xv = &base[(size_t) id * s.dim];
							e = (float) (qq + Dot(xv, xv, s.dim) - 2 * qcv + 2 * out[j]);
						}
						est.push_back({e, id});
					}
				}
				std::sort(est.begin(), est.end());
				if (!est.empty() && est[0].second == (uint32_t) gt[0])
					r11[mode]++;
				for (size_t j = 0; j < 10 && j < est.size(); j++)
					if (est[j].second == (uint32_t) gt[0])
						r110[mode]++;
				for (int ri = 0; ri < 4; ri++) {
					size_t R = std::min<size_t>(reranks[ri], est.size());
					std::vector<std::pair<double, uint32_t>> ex;
					for (size_t j = 0; j < R; j++) {
						const float *xv = &base[(size_t) est[j].second * s.dim];
						ex.push_back({cos ? -Dot(qv, xv, s.dim) : L2(qv, xv, s.dim), est[j].second});
					}
					size_t t = std::min<size_t>(10, ex.size());
					std::partial_sort(ex.begin(), ex.begin() + t, ex.end());
					for (size_t j = 0; j < t; j++)
						rec[mode][ri] += std::count(gt, gt + 10, (int32_t) ex[j].second);
				}
			}
		}
		for (int mode = 0; mode < modes; mode++)
			std::printf("residual %-18s %-6s bits %d k %u probes %2u  ceiling %.4f  R@1@1 %.4f  R@1@10 %.4f  recall@10 rerank10 %.4f rerank20 %.4f rerank50 %.4f rerank100 %.4f\n",
						s.name.c_str(), mname[mode], bits, k, probes, ceiling / (10.0 * s.nq),
						r11[mode] / s.nq, r110[mode] / s.nq, rec[mode][0] / (10.0 * s.nq),
						rec[mode][1] / (10.0 * s.nq), rec[mode][2] / (10.0 * s.nq), rec[mode][3] / (10.0 * s.nq));
		std::fflush(stdout);
	}
	std::free(lut);
}

/*
 * Training budget: k-means on a random subset of spl * k rows for `iters`
 * rounds, all rows assigned, recall@10 of an exact search inside the probed
 * lists (the ceiling any codes can reach) and the training time.
 */
void
RunTrain(const Set &s, uint32_t k, Metric metric)
{
	bool cos = metric == Metric::kCosine;
	std::vector<float> base = cos ? Normalised(s.base, s.dim) : s.base;
	std::vector<float> query = cos ? Normalised(s.query, s.dim) : s.query;
	const std::vector<int32_t> &gtall = cos ? s.gt_cos : s.gt_l2;
	for (uint32_t spl : {16u, 32u, 64u, 128u}) {
		for (int iters : {3, 5, 10, 20}) {
			size_t m = std::min<size_t>(s.n, (size_t) spl * k);
			/* A seeded subset: every 7919th row modulo n (distinct since 7919 is prime and n < 7919^2). */
			std::vector<float> sample(m * s.dim);
			for (size_t i = 0; i < m; i++) {
				size_t r = (i * 7919) % s.n;
				std::memcpy(&sample[i * s.dim], &base[r * s.dim], sizeof(float) * s.dim);
			}
			KMeansStats st;
			double t0 = Now();
			auto c = Train(sample, s.dim, k, metric, KMeansInit::kPlusPlusSampled, iters, &st);
			double secs = Now() - t0;
			auto lists = Lists(Assign(c, k, s.dim, metric, base), k);
			size_t mx = 0;
			for (auto &l : lists)
				mx = std::max(mx, l.size());
			std::printf("train %-18s k %u rows/list %3u iters %2d  %.2fs  max list %zu:", s.name.c_str(), k, spl,
						iters, secs, mx);
			for (uint32_t probes : {4u, 8u, 16u, 32u}) {
				double hit = 0;
				std::vector<uint32_t> order(k);
				std::vector<float> dist(k);
				for (uint32_t q = 0; q < s.nq; q++) {
					RankCentroids(c.data(), k, s.dim, metric, &query[(size_t) q * s.dim], order.data(), dist.data());
					const int32_t *gt = &gtall[(size_t) q * 100];
					for (uint32_t p = 0; p < probes; p++)
						for (uint32_t i : lists[order[p]])
							hit += std::count(gt, gt + 10, (int32_t) i);
				}
				std::printf("  p%u %.4f", probes, hit / (10.0 * s.nq));
			}
			std::printf("\n");
			std::fflush(stdout);
		}
	}
}

} /* namespace */

int
main(int argc, char **argv)
{
	if (argc < 2) {
		std::fprintf(stderr, "usage: %s DATA_DIR [what] [set ...]  (what: all|init|ip|residual|train)\n", argv[0]);
		return 2;
	}
	std::string dir = argv[1];
	std::string what = argc > 2 ? argv[2] : "all";
	std::vector<std::string> names;
	for (int i = 3; i < argc; i++)
		names.push_back(argv[i]);
	if (names.empty())
		names = {"npm-use512", "debian-fasttext300"};
	for (auto &name : names) {
		Set s;
		if (!Load(dir, name, &s)) {
			std::fprintf(stderr, "cannot read %s/%s\n", dir.c_str(), name.c_str());
			return 1;
		}
		/* Lists by pgvector's rule of thumb for these sizes (rows / 1000 is too few
		 * to be interesting here): about 1 list per 250 rows. */
		uint32_t k = std::max<uint32_t>(16, s.n / 250);
		std::printf("== %s: n %u dim %u queries %u lists %u\n", name.c_str(), s.n, s.dim, s.nq, k);
		if (what == "all" || what == "init") {
			RunInit(s, k, Metric::kCosine);
			RunInit(s, 4 * k, Metric::kCosine);
		}
		if (what == "all" || what == "ip")
			RunIp(s, k);
		if (what == "train")
			RunTrain(s, k, Metric::kCosine);
		if (what == "all" || what == "residual") {
			for (int bits : {2, 4}) {
				RunResidual(s, k, Metric::kCosine, bits);
				if (name == "debian-fasttext300")
					RunResidual(s, k, Metric::kL2, bits);
			}
		}
	}
	return 0;
}
