"""Exact k-nearest-neighbour ground truth, computed blockwise with numpy.

Distances are computed in float64 over blocks of queries x blocks of base rows, keeping a
running top-k per query, so memory stays bounded (a 1M x 1536 base needs only one base block
in float64 at a time).  Ties are broken by the smaller id, as in the shared data sets.
Distances follow the SQL operators: l2 (<->), cosine distance 1 - cos (<=>; a zero vector is
treated as farthest), negative inner product (<#>).
"""
from __future__ import annotations

import numpy as np


def distances(metric, q, x, qnorm=None, xnorm=None):
    """(len(q), len(x)) float64 distances; smaller is nearer."""
    q = np.asarray(q, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    dot = q @ x.T
    if metric == "ip":
        return -dot
    if qnorm is None:
        qnorm = np.linalg.norm(q, axis=1)
    if xnorm is None:
        xnorm = np.linalg.norm(x, axis=1)
    if metric == "l2":
        d2 = qnorm[:, None] ** 2 - 2.0 * dot + xnorm[None, :] ** 2
        return np.sqrt(np.maximum(d2, 0.0))
    if metric == "cosine":
        denom = qnorm[:, None] * xnorm[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            d = 1.0 - dot / denom
        d[~np.isfinite(d)] = np.inf
        return d
    raise ValueError(f"unknown metric {metric!r}")


def _merge(best_d, best_i, d, ids, k):
    """Top-k of the union of (best_d, best_i) and a new block, ties to the smaller id."""
    cd = np.concatenate([best_d, d], axis=1)
    ci = np.concatenate([best_i, np.broadcast_to(ids, d.shape)], axis=1)
    kk = min(k, cd.shape[1])
    part = np.argpartition(cd, kk - 1, axis=1)[:, :kk]
    sd = np.take_along_axis(cd, part, axis=1)
    si = np.take_along_axis(ci, part, axis=1)
    # Rows where a value equal to the k-th distance was left out need an exact tie-break.
    kth = sd.max(axis=1)
    ties = np.nonzero((cd <= kth[:, None]).sum(axis=1) > kk)[0]
    for r in ties:
        sel = np.nonzero(cd[r] <= kth[r])[0]
        order = np.lexsort((ci[r, sel], cd[r, sel]))[:kk]
        sd[r], si[r] = cd[r, sel[order]], ci[r, sel[order]]
    order = np.lexsort((si, sd), axis=1)
    return np.take_along_axis(sd, order, axis=1), np.take_along_axis(si, order, axis=1)


def knn(base, queries, k=100, metric="cosine", query_block=1024, base_block=16384, progress=None):
    """(ids int64 (nq, k), distances float64 (nq, k)), exact, nearest first."""
    base = np.asarray(base)
    queries = np.asarray(queries)
    n, nq = base.shape[0], queries.shape[0]
    k = min(k, n)
    ids = np.empty((nq, k), dtype=np.int64)
    dist = np.empty((nq, k), dtype=np.float64)
    xnorm = None
    if metric != "ip":
        # a block at a time: a float64 copy of a 3M x 768 base would take 18 GB
        xnorm = np.empty(n)
        for s in range(0, n, base_block):
            xnorm[s:s + base_block] = np.linalg.norm(base[s:s + base_block].astype(np.float64), axis=1)
    steps = ((nq + query_block - 1) // query_block) * ((n + base_block - 1) // base_block)
    done = 0
    for qs in range(0, nq, query_block):
        q = queries[qs:qs + query_block]
        qnorm = np.linalg.norm(q.astype(np.float64), axis=1) if metric != "ip" else None
        best_d = np.empty((q.shape[0], 0))
        best_i = np.empty((q.shape[0], 0), dtype=np.int64)
        for bs in range(0, n, base_block):
            be = min(n, bs + base_block)
            d = distances(metric, q, base[bs:be], qnorm, None if xnorm is None else xnorm[bs:be])
            best_d, best_i = _merge(best_d, best_i, d, np.arange(bs, be, dtype=np.int64), k)
            done += 1
            if progress:
                progress(done, steps)
        ids[qs:qs + q.shape[0]] = best_i
        dist[qs:qs + q.shape[0]] = best_d
    return ids, dist


def brute_force(base, queries, k, metric):
    """Reference: full distance matrix and a stable sort (tests only; O(nq * n) memory)."""
    d = distances(metric, queries, base)
    order = np.argsort(d, axis=1, kind="stable")[:, :k]
    return order.astype(np.int64)
