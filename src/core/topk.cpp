/*
 * topk.cpp — a bounded max-heap of (distance, id) pairs.
 *
 * The root is the worst kept pair, so a scan rejects most candidates with one
 * comparison (TopKAccepts).  Order is total: distance, then id, so equal
 * distances resolve to the smaller id and results are reproducible.  NaN
 * distances are never kept.
 */
#include <cmath>

#include "turboquant.h"

namespace turboquant {

namespace {

/* Whether pair a ranks after pair b (a is "worse"). */
inline bool
Worse(double da, uint64_t ia, double db, uint64_t ib)
{
	return da > db || (da == db && ia > ib);
}

/* Restores the heap below position i in a heap of n pairs. */
void
SiftDown(double *d, uint64_t *id, uint32_t n, uint32_t i)
{
	double dv = d[i];
	uint64_t iv = id[i];
	for (;;) {
		uint32_t l = 2 * i + 1;
		if (l >= n)
			break;
		uint32_t w = l;
		if (l + 1 < n && Worse(d[l + 1], id[l + 1], d[l], id[l]))
			w = l + 1;
		if (!Worse(d[w], id[w], dv, iv))
			break;
		d[i] = d[w];
		id[i] = id[w];
		i = w;
	}
	d[i] = dv;
	id[i] = iv;
}

} /* namespace */

/* Starts an empty heap over caller arrays of capacity k. */
void
TopKInit(TopK *t, double *dist, uint64_t *id, uint32_t k) noexcept
{
	t->dist = dist;
	t->id = id;
	t->k = k;
	t->size = 0;
}

/* Offers one pair: kept if among the k best so far. */
void
TopKPush(TopK *t, double d, uint64_t id) noexcept
{
	if (t->k == 0 || std::isnan(d))
		return;
	if (t->size < t->k) {
		uint32_t i = t->size++;
		while (i > 0) {
			uint32_t p = (i - 1) / 2;
			if (!Worse(d, id, t->dist[p], t->id[p]))
				break;
			t->dist[i] = t->dist[p];
			t->id[i] = t->id[p];
			i = p;
		}
		t->dist[i] = d;
		t->id[i] = id;
		return;
	}
	if (!Worse(t->dist[0], t->id[0], d, id))
		return;
	t->dist[0] = d;
	t->id[0] = id;
	SiftDown(t->dist, t->id, t->size, 0);
}

/* Heap-sorts in place: ascending by (distance, id). */
void
TopKSort(TopK *t) noexcept
{
	for (uint32_t n = t->size; n > 1; n--) {
		double d = t->dist[0];
		uint64_t i = t->id[0];
		t->dist[0] = t->dist[n - 1];
		t->id[0] = t->id[n - 1];
		t->dist[n - 1] = d;
		t->id[n - 1] = i;
		SiftDown(t->dist, t->id, n - 1, 0);
	}
}

} /* namespace turboquant */
