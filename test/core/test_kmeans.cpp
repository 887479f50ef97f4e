/*
 * test_kmeans.cpp — k-means for partitions: determinism, objective, planted
 * clusters, empty-cluster repair, k > n, and batched assignment and centroid
 * ranking against brute-force loops in double.
 */
#include <algorithm>
#include <gtest/gtest.h>
#include <numeric>
#include <set>
#include <string>

#include "test_util.h"

using namespace turboquant;
using tqtest::Rng;

namespace {

std::vector<float>
RandomData(size_t n, uint32_t dim, uint64_t seed)
{
	Rng r(seed);
	std::vector<float> x(n * dim);
	for (auto &v : x)
		v = (float) r.Gauss();
	return x;
}

/* n points around `clusters` centres far apart (spread sigma), labels out. */
std::vector<float>
Planted(size_t n, uint32_t dim, uint32_t clusters, double sigma, uint64_t seed,
		std::vector<uint32_t> *label)
{
	Rng r(seed);
	std::vector<float> centre(clusters * dim);
	for (auto &v : centre)
		v = (float) (r.Gauss() * 10.0);
	std::vector<float> x(n * dim);
	label->resize(n);
	for (size_t i = 0; i < n; i++) {
		uint32_t c = (uint32_t) (i % clusters);
		(*label)[i] = c;
		for (uint32_t j = 0; j < dim; j++)
			x[i * dim + j] = centre[c * dim + j] + (float) (r.Gauss() * sigma);
	}
	return x;
}

struct Trained {
	std::vector<float> c;
	KMeansStats st;
	bool ok;
};

Trained
Train(const std::vector<float> &x, uint32_t dim, uint32_t k, Metric m, uint64_t seed, int iters,
	  KMeansInit init = KMeansInit::kPlusPlus)
{
	size_t n = x.size() / dim;
	std::vector<uint8_t> scratch(KMeansScratchBytes(n, dim, k) + 8);
	Trained t;
	t.c.assign((size_t) k * dim, -7.0f);
	t.ok = KMeansTrainEx(x.data(), n, dim, k, m, seed, iters, init, t.c.data(), scratch.data(), &t.st);
	return t;
}

/* Brute-force distance in double (definitions of turboquant.h). */
double
RefDist(const float *x, const float *c, uint32_t dim, Metric m)
{
	double dot = 0, xx = 0, l2 = 0;
	for (uint32_t j = 0; j < dim; j++) {
		dot += (double) x[j] * c[j];
		xx += (double) x[j] * x[j];
		l2 += ((double) x[j] - c[j]) * ((double) x[j] - c[j]);
	}
	if (m == Metric::kL2)
		return l2;
	if (m == Metric::kCosine)
		return 1.0 - (xx > 0 ? dot / std::sqrt(xx) : 0.0);
	return -dot;
}

std::vector<uint32_t>
Assign(const std::vector<float> &c, uint32_t k, uint32_t dim, Metric m, const std::vector<float> &x,
	   std::vector<float> *dist = nullptr)
{
	size_t n = x.size() / dim;
	std::vector<uint8_t> scratch(AssignScratchBytes(dim, k) + 8);
	std::vector<uint32_t> out(n, UINT32_MAX);
	std::vector<float> d(n);
	AssignNearest(c.data(), k, dim, m, x.data(), n, out.data(), d.data(), scratch.data() + 8);
	if (dist != nullptr)
		*dist = d;
	return out;
}

const Metric kMetrics[] = {Metric::kL2, Metric::kCosine, Metric::kInnerProduct};

} /* namespace */

TEST(KMeans, DeterministicFromSeed)
{
	auto x = RandomData(3000, 24, 1);
	for (Metric m : kMetrics) {
		for (KMeansInit init : {KMeansInit::kPlusPlus, KMeansInit::kRandom, KMeansInit::kPlusPlusSampled}) {
			Trained a = Train(x, 24, 40, m, 99, 8, init);
			Trained b = Train(x, 24, 40, m, 99, 8, init);
			Trained c = Train(x, 24, 40, m, 100, 8, init);
			ASSERT_TRUE(a.ok && b.ok && c.ok);
			EXPECT_EQ(0, std::memcmp(a.c.data(), b.c.data(), a.c.size() * sizeof(float)));
			EXPECT_NE(0, std::memcmp(a.c.data(), c.c.data(), a.c.size() * sizeof(float)));
		}
	}
}

TEST(KMeans, ObjectiveNeverRises)
{
	auto x = RandomData(4000, 16, 2);
	for (Metric m : {Metric::kL2, Metric::kCosine}) {
		double prev = 1e300;
		for (int iters = 1; iters <= 8; iters++) {
			Trained t = Train(x, 16, 64, m, 5, iters, KMeansInit::kRandom);
			ASSERT_TRUE(t.ok);
			EXPECT_LE(t.st.final_objective, prev * (1 + 1e-6)) << "iters " << iters;
			EXPECT_LE(t.st.final_objective, t.st.init_objective * (1 + 1e-6));
			prev = t.st.final_objective;
		}
		/* Lloyd rounds must actually improve on a random init. */
		Trained t = Train(x, 16, 64, m, 5, 20, KMeansInit::kRandom);
		EXPECT_LT(t.st.final_objective, 0.95 * t.st.init_objective);
		EXPECT_GT(t.st.iterations_run, 2);
	}
}

TEST(KMeans, RecoversPlantedClusters)
{
	std::vector<uint32_t> label;
	const uint32_t dim = 32, k = 12;
	auto x = Planted(2400, dim, k, 0.5, 3, &label);
	for (Metric m : {Metric::kL2, Metric::kCosine}) {
		Trained t = Train(x, dim, k, m, 11, 10);
		ASSERT_TRUE(t.ok);
		auto a = Assign(t.c, k, dim, m, x);
		/* Each planted cluster maps to exactly one list, and lists are distinct. */
		std::vector<uint32_t> list_of(k, UINT32_MAX);
		for (size_t i = 0; i < label.size(); i++) {
			if (list_of[label[i]] == UINT32_MAX)
				list_of[label[i]] = a[i];
			EXPECT_EQ(list_of[label[i]], a[i]) << "point " << i;
		}
		std::set<uint32_t> distinct(list_of.begin(), list_of.end());
		EXPECT_EQ(distinct.size(), k);
		if (m == Metric::kCosine)
			for (uint32_t c = 0; c < k; c++) {
				double s = 0;
				for (uint32_t j = 0; j < dim; j++)
					s += (double) t.c[c * dim + j] * t.c[c * dim + j];
				EXPECT_NEAR(s, 1.0, 1e-5);
			}
	}
}

TEST(KMeans, EmptyClustersRepaired)
{
	/* 300 copies of one point and 40 distinct others: a random init puts most
	 * centroids on the copies, so all but one of those start empty. */
	const uint32_t dim = 8, k = 20;
	auto x = RandomData(340, dim, 4);
	for (size_t i = 1; i < 300; i++)
		std::memcpy(&x[i * dim], &x[0], dim * sizeof(float));
	for (Metric m : {Metric::kL2, Metric::kCosine}) {
		Trained t = Train(x, dim, k, m, 6, 10, KMeansInit::kRandom);
		ASSERT_TRUE(t.ok);
		EXPECT_GT(t.st.empty_repaired, 5u);
		auto a = Assign(t.c, k, dim, m, x);
		std::set<uint32_t> used(a.begin(), a.end());
		EXPECT_EQ(used.size(), k);
	}
}

TEST(KMeans, MoreListsThanPoints)
{
	const uint32_t dim = 6;
	auto x = RandomData(5, dim, 7);
	for (Metric m : kMetrics) {
		for (uint32_t k : {5u, 8u}) {
			Trained t = Train(x, dim, k, m, 1, 10);
			ASSERT_TRUE(t.ok);
			for (float v : t.c)
				EXPECT_TRUE(std::isfinite(v));
			Metric pm = PartitionMetric(m);
			auto a = Assign(t.c, k, dim, pm, x);
			std::set<uint32_t> used(a.begin(), a.end());
			EXPECT_EQ(used.size(), 5u);
			for (uint32_t l : used)
				EXPECT_LT(l, 5u); /* repeated centroids lose ties to the first copy */
		}
	}
	std::vector<float> c(8 * dim);
	std::vector<uint8_t> scratch(KMeansScratchBytes(5, dim, 8) + 8);
	EXPECT_FALSE(KMeansTrain(x.data(), 0, dim, 8, Metric::kL2, 1, 5, c.data(), scratch.data()));
	EXPECT_FALSE(KMeansTrain(x.data(), 5, dim, 0, Metric::kL2, 1, 5, c.data(), scratch.data()));
	EXPECT_EQ(KMeansScratchBytes(SIZE_MAX / 2, 1000, 1000), 0u);
}

TEST(KMeans, AssignNearestEqualsBruteForce)
{
	for (uint32_t dim : {1u, 3u, 37u, 130u}) {
		auto x = RandomData(1100, dim, 8 + dim);
		auto cv = RandomData(53, dim, 9 + dim);
		for (Metric m : kMetrics) {
			std::vector<float> c = cv;
			if (m == Metric::kCosine)
				for (uint32_t j = 0; j < 53; j++) {
					double s = 0;
					for (uint32_t t = 0; t < dim; t++)
						s += (double) c[j * dim + t] * c[j * dim + t];
					for (uint32_t t = 0; t < dim; t++)
						c[j * dim + t] = (float) (c[j * dim + t] / std::sqrt(s));
				}
			std::vector<float> d;
			auto a = Assign(c, 53, dim, m, x, &d);
			size_t n = x.size() / dim;
			for (size_t i = 0; i < n; i++) {
				uint32_t best = 0;
				double bd = 1e300;
				for (uint32_t j = 0; j < 53; j++) {
					double dd = RefDist(&x[i * dim], &c[j * dim], dim, m);
					if (dd < bd) {
						bd = dd;
						best = j;
					}
				}
				double tol = 1e-4 * (1 + std::fabs(bd));
				ASSERT_LT(a[i], 53u);
				/* Same list, or one at the same distance within float rounding. */
				double got = RefDist(&x[i * dim], &c[a[i] * dim], dim, m);
				EXPECT_TRUE(a[i] == best || got - bd <= tol)
					<< "dim " << dim << " metric " << (int) m << " i " << i;
				EXPECT_NEAR(d[i], bd, tol) << "dim " << dim << " metric " << (int) m;
			}
		}
	}
}

TEST(KMeans, RankCentroidsOrderExact)
{
	const uint32_t dim = 50, k = 300;
	auto c = RandomData(k, dim, 12);
	auto q = RandomData(20, dim, 13);
	for (Metric m : kMetrics) {
		for (size_t qi = 0; qi < 20; qi++) {
			std::vector<uint32_t> order(k);
			std::vector<float> dist(k);
			RankCentroids(c.data(), k, dim, m, &q[qi * dim], order.data(), dist.data());
			std::vector<std::pair<double, uint32_t>> ref(k);
			for (uint32_t j = 0; j < k; j++) {
				ref[j] = {RefDist(&q[qi * dim], &c[j * dim], dim, m), j};
				EXPECT_NEAR(dist[j], ref[j].first, 1e-4 * (1 + std::fabs(ref[j].first)));
			}
			std::sort(ref.begin(), ref.end());
			std::vector<bool> seen(k, false);
			for (uint32_t r = 0; r < k; r++) {
				ASSERT_LT(order[r], k);
				EXPECT_FALSE(seen[order[r]]);
				seen[order[r]] = true;
				/* Exact order up to float rounding of genuinely near ties. */
				if (order[r] != ref[r].second) {
					EXPECT_NEAR(ref[r].first, RefDist(&q[qi * dim], &c[order[r] * dim], dim, m),
								1e-5 * (1 + std::fabs(ref[r].first)));
				}
				if (r > 0) {
					EXPECT_LE(dist[order[r - 1]], dist[order[r]]);
				}
			}
		}
	}
	/* Ties go to the smaller index; NaN ranks last. */
	std::vector<float> cc = {1, 0, 1, 0, 0, 1};
	float qq[2] = {1, 0};
	uint32_t order[3];
	float dist[3];
	RankCentroids(cc.data(), 3, 2, Metric::kL2, qq, order, dist);
	EXPECT_EQ(order[0], 0u);
	EXPECT_EQ(order[1], 1u);
	EXPECT_EQ(order[2], 2u);
	cc[0] = NAN;
	RankCentroids(cc.data(), 3, 2, Metric::kL2, qq, order, dist);
	EXPECT_EQ(order[0], 1u);
	EXPECT_EQ(order[2], 0u);
}

/* A partial ranking: the first `sorted` entries equal the full ranking's, the rest is a
 * permutation of the others, and SelectNearest continues it exactly as the full one. */
TEST(KMeans, RankCentroidsPartial)
{
	const uint32_t dim = 20, k = 257;
	auto c = RandomData(k, dim, 21);
	auto q = RandomData(5, dim, 22);
	for (Metric m : kMetrics) {
		for (size_t qi = 0; qi < 5; qi++) {
			std::vector<uint32_t> full(k), part(k);
			std::vector<float> dist(k), dist2(k);
			RankCentroids(c.data(), k, dim, m, &q[qi * dim], full.data(), dist.data());
			for (uint32_t sorted : {0u, 1u, 16u, 100u, k, k + 5}) {
				RankCentroids(c.data(), k, dim, m, &q[qi * dim], part.data(), dist2.data(), sorted);
				uint32_t s = std::min(sorted, k);
				for (uint32_t r = 0; r < s; r++)
					ASSERT_EQ(part[r], full[r]) << "sorted " << sorted << " rank " << r;
				std::vector<uint32_t> rest(part.begin() + s, part.end()), want(full.begin() + s, full.end());
				std::sort(rest.begin(), rest.end());
				std::sort(want.begin(), want.end());
				ASSERT_EQ(rest, want);
				/* the next regions, as a scan takes them */
				for (uint32_t done = s, step = 7; done < k; done += step) {
					uint32_t take = std::min(step, k - done);
					SelectNearest(dist2.data(), part.data() + done, k - done, take);
					for (uint32_t r = done; r < done + take; r++)
						ASSERT_EQ(part[r], full[r]) << "region at " << done;
				}
			}
		}
	}
}

/*
 * Every build of the matrix work (baseline, AVX2, AVX-512; the kernel set in force
 * chooses one) equals brute force up to float rounding and trains equally good
 * centroids. Each build is reached through the first kernel set that runs it here.
 */
TEST(KMeans, EveryBuildAgrees)
{
	const uint32_t dim = 40, k = 37;
	const size_t n = 2000;
	auto x = RandomData(n, dim, 31);
	std::vector<std::string> builds;
	std::vector<double> objective;
	for (int set = 0; set < KernelSetCount(); set++) {
		if (!KernelSetRuns(set))
			continue;
		ASSERT_TRUE(SetKernelSet(set));
		std::string build = KMeansBuild();
		if (set == FindKernelSet("scalar")) {
			EXPECT_EQ(build, "baseline");
		}
		if (std::find(builds.begin(), builds.end(), build) != builds.end())
			continue;
		builds.push_back(build);
		double obj = 0;
		for (Metric m : kMetrics) {
			std::vector<float> c(k * dim), c2(k * dim);
			std::vector<uint8_t> scratch(KMeansScratchBytes(n, dim, k));
			ASSERT_TRUE(KMeansTrain(x.data(), n, dim, k, m, 5, 6, c.data(), scratch.data()));
			ASSERT_TRUE(KMeansTrain(x.data(), n, dim, k, m, 5, 6, c2.data(), scratch.data()));
			EXPECT_EQ(c, c2) << "deterministic within build " << build;
			std::vector<uint8_t> as(AssignScratchBytes(dim, k));
			std::vector<uint32_t> a(n);
			std::vector<float> d(n);
			Metric pm = PartitionMetric(m);
			AssignNearest(c.data(), k, dim, pm, x.data(), n, a.data(), d.data(), as.data());
			for (size_t i = 0; i < n; i++) {
				double best = RefDist(&x[i * dim], &c[0], dim, pm);
				for (uint32_t j = 1; j < k; j++)
					best = std::min(best, RefDist(&x[i * dim], &c[j * dim], dim, pm));
				ASSERT_NEAR(RefDist(&x[i * dim], &c[a[i] * dim], dim, pm), best, 1e-4 * (1 + std::fabs(best)))
					<< "build " << build;
				if (m == Metric::kL2)
					obj += best;
			}
			std::vector<uint32_t> order(k);
			std::vector<float> rd(k);
			RankCentroids(c.data(), k, dim, m, x.data(), order.data(), rd.data());
			for (uint32_t r = 1; r < k; r++)
				EXPECT_LE(rd[order[r - 1]], rd[order[r]]) << "build " << build;
		}
		objective.push_back(obj);
	}
	SetKernelSet(-1);
	size_t base = std::find(builds.begin(), builds.end(), "baseline") - builds.begin();
	ASSERT_LT(base, builds.size()) << "the scalar set runs the baseline build";
	/* same seed, same data: every build's L2 objective agrees closely with the baseline's */
	for (size_t b = 0; b < builds.size(); b++)
		EXPECT_NEAR(objective[b], objective[base], 0.01 * objective[base]) << "build " << builds[b];
	std::string ran;
	for (const auto &b : builds)
		ran += " " + b;
	std::string missing;
	for (const char *b : {"avx2", "avx512"})
		if (std::find(builds.begin(), builds.end(), b) == builds.end())
			missing += std::string(" ") + b;
	GTEST_LOG_(INFO) << "k-means builds run here:" << ran
					 << (missing.empty() ? "" : "; not on this CPU:" + missing);
}

/*
 * Training round by round, each round's assignment split into uneven aligned
 * ranges computed in a shuffled order (as a parallel build's participants
 * do), gives exactly KMeansTrainEx's centroids and statistics, under every kernel
 * set this CPU runs (and so every k-means build).
 */
TEST(KMeans, RoundByRoundEqualsTrain)
{
	const uint32_t dim = 48, k = 29;
	const size_t n = 3001;
	auto x = RandomData(n, dim, 77);
	for (int set = 0; set < KernelSetCount(); set++) {
		if (!KernelSetRuns(set))
			continue;
		ASSERT_TRUE(SetKernelSet(set));
		for (Metric m : kMetrics) {
			std::vector<float> want(k * dim), got(k * dim);
			std::vector<uint8_t> s1(KMeansScratchBytes(n, dim, k)), s2(s1.size());
			KMeansStats ws;
			ASSERT_TRUE(KMeansTrainEx(x.data(), n, dim, k, m, 9, 8, kKMeansDefaultInit, want.data(),
									  s1.data(), &ws));
			KMeansState st;
			ASSERT_TRUE(KMeansStart(x.data(), n, dim, k, m, 9, 8, kKMeansDefaultInit, got.data(),
									s2.data(), &st));
			size_t align = KMeansAssignAlign(dim, k);
			ASSERT_GT(align, 0u);
			std::vector<uint8_t> as(AssignScratchBytes(dim, k));
			std::vector<uint32_t> labels(n);
			std::vector<float> dist(n);
			int rounds = 0;
			while (!st.done) {
				/* ranges of 1, 3 and 2 alignment units, last one short, done back to front */
				std::vector<std::pair<size_t, size_t>> ranges;
				size_t at = 0;
				for (int r = 0; at < n; r++) {
					size_t len = align * (size_t) (1 + (r * 2) % 3);
					ranges.emplace_back(at, std::min(n, at + len));
					at += len;
				}
				ASSERT_GE(ranges.size(), 2u);
				for (size_t r = ranges.size(); r-- > 0;)
					ASSERT_TRUE(KMeansAssignRows(got.data(), x.data(), ranges[r].first,
												 ranges[r].second, labels.data(), dist.data(),
												 as.data(), &st));
				ASSERT_TRUE(KMeansFinishRound(x.data(), got.data(), s2.data(), labels.data(),
											  dist.data(), &st));
				ASSERT_LT(++rounds, 100);
			}
			EXPECT_EQ(0, std::memcmp(want.data(), got.data(), sizeof(float) * want.size()))
				<< "set " << KernelSetName(set) << " metric " << (int) m;
			EXPECT_EQ(ws.iterations_run, st.stats.iterations_run);
			EXPECT_EQ(ws.final_objective, st.stats.final_objective);
			EXPECT_EQ(ws.empty_repaired, st.stats.empty_repaired);
		}
	}
	SetKernelSet(-1);
}

TEST(KMeans, PartitionMetrics)
{
	/* Cosine and L2 use their own metric throughout; inner product assigns rows by
	 * L2 (balanced lists) and ranks lists by inner product. */
	EXPECT_EQ(PartitionMetric(Metric::kL2), Metric::kL2);
	EXPECT_EQ(PartitionMetric(Metric::kCosine), Metric::kCosine);
	EXPECT_EQ(PartitionMetric(Metric::kInnerProduct), Metric::kL2);
	EXPECT_EQ(PartitionRankMetric(Metric::kL2), Metric::kL2);
	EXPECT_EQ(PartitionRankMetric(Metric::kCosine), Metric::kCosine);
	EXPECT_EQ(PartitionRankMetric(Metric::kInnerProduct), Metric::kInnerProduct);
}

/*
 * Ranking from the coded centroids: the shortlist gets the exact distances, the
 * first `sorted` are the nearest of it in exact order, every kernel set gives
 * the same order, and on trained centroids the probes chosen are the exact
 * ranking's (the shortlist holds the true nearest ones) but for lists at the
 * edge, as near the last one probed as float noise.  The queries here are far
 * from every centroid (cos ~0.1), the estimates' worst case.
 */
TEST(KMeans, RankCentroidsCodedFindsTheExactNearest)
{
	const uint32_t dim = 96, k = 400, nq = 60, sorted = 16;
	const size_t n = 4000;
	std::vector<uint32_t> label;
	auto x = Planted(n + nq, dim, 50, 4.0, 41, &label);
	for (Metric m : kMetrics) {
		std::vector<float> c(k * dim);
		std::vector<uint8_t> scratch(KMeansScratchBytes(n, dim, k));
		ASSERT_TRUE(KMeansTrain(x.data(), n, dim, k, PartitionMetric(m), 7, 6, c.data(),
								scratch.data()));
		for (int bits : {2, 3, 4}) {
			const uint32_t shortlist = CodedRankShortlist(sorted, bits);
			tqtest::Qz qz(dim, bits);
			tqtest::AlignedBuf codes(CentroidCodesBytes(dim, bits, k)), lut(QueryLutSize(qz.q));
			std::vector<float> es(CentroidCodesScratchFloats(qz.q));
			EncodeCentroids(qz.q, c.data(), k, codes.p, es.data());
			size_t hit = 0, want = 0;
			for (uint32_t qi = 0; qi < nq; qi++) {
				const float *q = &x[(n + qi) * dim];
				std::vector<uint32_t> full(k), order(k), first;
				std::vector<float> fd(k), dist(k);
				std::vector<double> est((k + 31) / 32 * 32);
				RankCentroids(c.data(), k, dim, PartitionRankMetric(m), q, full.data(), fd.data());
				for (int set = 0; set < KernelSetCount(); set++) {
					if (!KernelSetRuns(set))
						continue;
					ASSERT_TRUE(SetKernelSet(set));
					PrepareQuery(qz.q, m, q, lut.p, qz.scratch.data());
					RankCentroidsCoded(qz.q, lut.p, codes.p, c.data(), k, dim, PartitionRankMetric(m), q,
									   order.data(), dist.data(), sorted, shortlist, est.data());
					std::vector<uint32_t> perm(order);
					std::sort(perm.begin(), perm.end());
					for (uint32_t i = 0; i < k; i++)
						ASSERT_EQ(perm[i], i);
					/* float rounding of a dot product grows with |q| |c| (cancellation) */
					for (uint32_t r = 0; r < shortlist; r++) {
						const float *cr = &c[order[r] * dim];
						double scale = std::sqrt(std::inner_product(cr, cr + dim, cr, 0.0)) *
							(m == Metric::kCosine ? 1.0 : std::sqrt(std::inner_product(q, q + dim, q, 0.0)));
						EXPECT_NEAR(dist[order[r]], fd[order[r]], 1e-4 * (1 + std::fabs(fd[order[r]])) + 1e-5 * scale);
					}
					for (uint32_t r = 1; r < sorted; r++)
						EXPECT_LE(dist[order[r - 1]], dist[order[r]]);
					if (first.empty())
						first.assign(order.begin(), order.begin() + sorted);
					else
						ASSERT_TRUE(std::equal(first.begin(), first.end(), order.begin()))
							<< "kernel set " << KernelSetName(set);
				}
				SetKernelSet(-1);
				std::set<uint32_t> truth(full.begin(), full.begin() + sorted);
				for (uint32_t r = 0; r < sorted; r++)
					hit += truth.count(first[r]);
				/* a list missed is one at the edge: within 1% of the exact 16th's distance */
				std::set<uint32_t> got(first.begin(), first.end());
				for (uint32_t r = 0; r < sorted; r++) {
					if (!got.count(full[r])) {
						EXPECT_LE(std::fabs(fd[full[r]] - fd[full[sorted - 1]]),
								  0.01 * std::fabs(fd[full[sorted - 1]]))
							<< "metric " << (int) m << " bits " << bits << " query " << qi << " missed #" << r;
					}
				}
				want += sorted;
			}
			double captured = (double) hit / want;
			GTEST_LOG_(INFO) << "metric " << (int) m << " bits " << bits << ": " << captured
							 << " of the exact nearest " << sorted << " lists probed";
			EXPECT_GE(captured, 0.995) << "metric " << (int) m << " bits " << bits;
		}
	}
	/* a shortlist of every list is the exact ranking */
	tqtest::Qz qz(dim, 4);
	std::vector<float> c = RandomData(k, dim, 5);
	tqtest::AlignedBuf codes(CentroidCodesBytes(dim, 4, k)), lut(QueryLutSize(qz.q));
	std::vector<float> es(CentroidCodesScratchFloats(qz.q));
	EncodeCentroids(qz.q, c.data(), k, codes.p, es.data());
	std::vector<uint32_t> full(k), order(k);
	std::vector<float> fd(k), dist(k);
	std::vector<double> est((k + 31) / 32 * 32);
	RankCentroids(c.data(), k, dim, Metric::kL2, x.data(), full.data(), fd.data(), sorted);
	PrepareQuery(qz.q, Metric::kL2, x.data(), lut.p, qz.scratch.data());
	RankCentroidsCoded(qz.q, lut.p, codes.p, c.data(), k, dim, Metric::kL2, x.data(), order.data(),
					   dist.data(), sorted, k, est.data());
	for (uint32_t r = 0; r < sorted; r++)
		EXPECT_EQ(order[r], full[r]);
}
