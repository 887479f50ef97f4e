/*
 * codebook.cpp — Lloyd-Max scalar quantizers for rotated unit vectors.
 *
 * After a random rotation, each coordinate t of a unit vector in D dimensions
 * has the density f(t) = c_D (1 - t^2)^((D-3)/2) on [-1, 1] (a symmetric Beta,
 * tending to N(0, 1/D)).  The MSE-optimal quantizer with 2^b levels for that
 * density satisfies the Lloyd-Max conditions: every boundary is the midpoint of
 * its two centroids, every centroid the conditional mean of its cell.  We find
 * it by Lloyd iteration over a fine 1-D grid: the density is tabulated once at
 * grid midpoints, prefix sums of its 0th/1st/2nd moments make every iteration
 * O(levels log grid), and cells are cut inside grid intervals by linear
 * interpolation so the fixed point does not snap to the grid.
 *
 * Everything is double precision and deterministic; results are rounded to
 * float at the end, as the codes are scored with float centroids.  Codebooks
 * are memoised in a small static table (a handful of (dim, bits) pairs exist
 * per database), guarded by a mutex because the test and bench programs may
 * be threaded even if PostgreSQL backends are not.
 */
#include <cmath>
#include <cstring>
#include <pthread.h>

#include "scan_internal.h"

namespace turboquant {

namespace {

constexpr int kGrid = 1 << 15;
constexpr int kMemoSlots = 64;

struct MemoEntry {
	bool used;
	Codebook cb;
};

MemoEntry g_memo[kMemoSlots];
int g_memo_next = 0;
/* pthread, not std::mutex: locking reports failure as a value, never by throwing */
pthread_mutex_t g_memo_mutex = PTHREAD_MUTEX_INITIALIZER;

/* Prefix moments of the density over the grid, for one dim. */
struct Moments {
	double lo; /* left end of the grid */
	double h;  /* grid step */
	double m0[kGrid + 1];
	double m1[kGrid + 1];
	double m2[kGrid + 1];
};

/* Tabulates f at grid midpoints over the part of [-1,1] where it matters. */
void
TabulateDensity(uint32_t dim, Moments *m)
{
	/* Beyond ~16 standard deviations the density is below 1e-55: cut there. */
	double half = 16.0 / std::sqrt((double) dim);
	if (half > 1.0)
		half = 1.0;
	m->lo = -half;
	m->h = 2.0 * half / kGrid;
	double expo = ((double) dim - 3.0) / 2.0;
	m->m0[0] = m->m1[0] = m->m2[0] = 0.0;
	double total = 0.0;
	for (int i = 0; i < kGrid; i++) {
		double t = m->lo + (i + 0.5) * m->h;
		double w = std::exp(expo * std::log1p(-t * t)) * m->h;
		total += w;
		m->m0[i + 1] = m->m0[i] + w;
		m->m1[i + 1] = m->m1[i] + w * t;
		m->m2[i + 1] = m->m2[i] + w * t * t;
	}
	for (int i = 0; i <= kGrid; i++) {
		m->m0[i] /= total;
		m->m1[i] /= total;
		m->m2[i] /= total;
	}
}

/* Cumulative moments up to x, interpolating inside the grid interval. */
void
CumulativeAt(const Moments *m, double x, double out[3])
{
	double pos = (x - m->lo) / m->h;
	if (pos <= 0) {
		out[0] = out[1] = out[2] = 0;
		return;
	}
	if (pos >= kGrid) {
		out[0] = m->m0[kGrid];
		out[1] = m->m1[kGrid];
		out[2] = m->m2[kGrid];
		return;
	}
	int i = (int) pos;
	double frac = pos - i;
	/* Inside a cell, moments of the partial cell use its density and center. */
	double w = (m->m0[i + 1] - m->m0[i]) * frac;
	double tc = m->lo + (i + 0.5 * frac) * m->h;
	out[0] = m->m0[i] + w;
	out[1] = m->m1[i] + w * tc;
	out[2] = m->m2[i] + w * tc * tc;
}

/*
 * 3 bits: Lloyd iterations restricted to additive codebooks
 * c[k] = A[k & 3] + (k >> 2) * delta, so the scan can look the low two bits
 * and the high bit up in separate tables (quantizer.cpp).  Cells are the
 * nearest-centroid ones; for fixed cells the MSE is a quadratic in (A, delta)
 * minimised alternately: A[l] is the mean of x - hi * delta over cells l and
 * l + 4, delta the mean of x - A[l] over the upper cells.  Starts from the free
 * Lloyd-Max solution; at large d it costs 7% more MSE than that (0.0369 vs
 * 0.0345 per unit vector).  The result is symmetric up to rounding; it is
 * made exactly so, preserving the constraint.
 */
void
ConstrainAdditive(const Moments *m, double sigma, double c[8])
{
	double a[4], delta = 0.0;
	for (int l = 0; l < 4; l++) {
		a[l] = c[l];
		delta += 0.25 * (c[l + 4] - c[l]);
	}
	for (int iter = 0; iter < 20000; iter++) {
		double p[8], m0[8], m1[8], prev[3], cur[3];
		for (int k = 0; k < 8; k++)
			p[k] = a[k & 3] + (k >> 2) * delta;
		CumulativeAt(m, -2.0, prev);
		for (int k = 0; k < 8; k++) {
			double hi = k + 1 < 8 ? 0.5 * (p[k] + p[k + 1]) : 2.0;
			CumulativeAt(m, hi, cur);
			m0[k] = cur[0] - prev[0];
			m1[k] = cur[1] - prev[1];
			std::memcpy(prev, cur, sizeof(prev));
		}
		double change = 0.0;
		for (int l = 0; l < 4; l++) {
			double w = m0[l] + m0[l + 4];
			if (w > 1e-300) {
				double na = (m1[l] + m1[l + 4] - m0[l + 4] * delta) / w;
				change = std::fmax(change, std::fabs(na - a[l]));
				a[l] = na;
			}
		}
		double num = 0.0, den = 0.0;
		for (int l = 0; l < 4; l++) {
			num += m1[l + 4] - m0[l + 4] * a[l];
			den += m0[l + 4];
		}
		if (den > 1e-300) {
			double nd = num / den;
			change = std::fmax(change, std::fabs(nd - delta));
			delta = nd;
		}
		if (change < 1e-13 * sigma)
			break;
	}
	/* Symmetric: A[3 - l] + delta = -A[l]. */
	double s[4];
	for (int l = 0; l < 4; l++)
		s[l] = 0.5 * (a[l] - a[3 - l] - delta);
	for (int k = 0; k < 8; k++)
		c[k] = s[k & 3] + (k >> 2) * delta;
}

/* Runs Lloyd iterations to convergence for one (dim, bits). */
void
ComputeCodebook(uint32_t dim, int bits, Codebook *cb)
{
	static Moments moments; /* 768 kB: static, guarded by the memo mutex */
	Moments *m = &moments;
	TabulateDensity(dim, m);

	int levels = 1 << bits;
	double c[16], b[17];
	double sigma = 1.0 / std::sqrt((double) dim);
	/* Start from evenly spaced centroids over +-2 sigma (+-0.8 for tiny dims). */
	double span = std::fmin(2.0 * sigma, 0.8);
	for (int k = 0; k < levels; k++)
		c[k] = levels == 1 ? 0.0 : -span + 2.0 * span * k / (levels - 1);

	for (int iter = 0; iter < 20000; iter++) {
		b[0] = -2.0;
		b[levels] = 2.0;
		for (int k = 1; k < levels; k++)
			b[k] = 0.5 * (c[k - 1] + c[k]);
		double prev[3], cur[3];
		CumulativeAt(m, b[0], prev);
		double change = 0.0;
		for (int k = 0; k < levels; k++) {
			CumulativeAt(m, b[k + 1], cur);
			double w = cur[0] - prev[0];
			if (w > 1e-300) {
				double nc = (cur[1] - prev[1]) / w;
				change = std::fmax(change, std::fabs(nc - c[k]));
				c[k] = nc;
			}
			std::memcpy(prev, cur, sizeof(prev));
		}
		if (change < 1e-13 * sigma)
			break;
	}

	if (levels == 8)
		ConstrainAdditive(m, sigma, c);

	/* Symmetrize exactly: the density is even, so the quantizer is too. */
	for (int k = 0; k < levels / 2; k++) {
		double v = 0.5 * (c[levels - 1 - k] - c[k]);
		c[k] = -v;
		c[levels - 1 - k] = v;
	}

	double mse = 0.0, prev[3], cur[3];
	CumulativeAt(m, -2.0, prev);
	for (int k = 0; k < levels; k++) {
		double hi = k + 1 < levels ? 0.5 * (c[k] + c[k + 1]) : 2.0;
		CumulativeAt(m, hi, cur);
		mse +=
			(cur[2] - prev[2]) - 2 * c[k] * (cur[1] - prev[1]) + c[k] * c[k] * (cur[0] - prev[0]);
		std::memcpy(prev, cur, sizeof(prev));
	}

	std::memset(cb, 0, sizeof(*cb));
	cb->bits = bits;
	cb->dim = dim;
	for (int k = 0; k < levels; k++)
		cb->centroid[k] = (float) c[k];
	/* Boundaries from the float centroids, so encoding is nearest-centroid exactly. */
	for (int k = 0; k + 1 < levels; k++)
		cb->boundary[k] = (float) (0.5 * ((double) cb->centroid[k] + (double) cb->centroid[k + 1]));
	cb->mse_per_coordinate = mse;
}

} /* namespace */

/* Returns the memoised Lloyd-Max codebook for (dim, bits), computing it once. */
bool
GetCodebook(uint32_t dim, int bits, Codebook *out) noexcept
{
	if (out == nullptr || bits < kMinBits || bits > kMaxBits || dim < 1)
		return false;
	/* Below 3 dims the density is not integrable as written; treat as 3 (uniform). */
	uint32_t d = dim < 3 ? 3 : dim;
	if (pthread_mutex_lock(&g_memo_mutex) != 0)
		return false;
	for (int i = 0; i < kMemoSlots; i++) {
		if (g_memo[i].used && g_memo[i].cb.dim == dim && g_memo[i].cb.bits == bits) {
			*out = g_memo[i].cb;
			pthread_mutex_unlock(&g_memo_mutex);
			return true;
		}
	}
	Codebook cb;
	ComputeCodebook(d, bits, &cb);
	cb.dim = dim;
	MemoEntry &slot = g_memo[g_memo_next];
	g_memo_next = (g_memo_next + 1) % kMemoSlots;
	slot.used = true;
	slot.cb = cb;
	*out = cb;
	pthread_mutex_unlock(&g_memo_mutex);
	return true;
}

} /* namespace turboquant */
