"""The drift scenario: build on one distribution, insert rows from another, measure again.

The split is made from the data itself so it works for every set: rows are ordered by their
projection on the main direction of the data (the top principal component, from a seeded
sample; cosine data are normalised first), the last F / (1 + F) of them are held back.  The
index is built on the rest, so its training sample never saw the held-back region; the
held-back rows are then inserted through the index.  Recall is measured at the same settings
before (ground truth over the build rows) and after (ground truth over all rows).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from . import groundtruth


@dataclasses.dataclass
class DriftPlan:
    fraction: float
    build_ids: np.ndarray      # ids (row numbers of the dataset) loaded before the build, ascending
    drift_ids: np.ndarray      # ids inserted after the build, ascending
    gt_before: np.ndarray      # ground truth (ids) over build_ids
    gt_after: np.ndarray       # ground truth (ids) over all rows

    def describe(self):
        return {"fraction": self.fraction, "build_rows": int(self.build_ids.size),
                "drift_rows": int(self.drift_ids.size),
                "split": "rows ordered by projection on the top principal component; the highest "
                         "fraction/(1+fraction) are inserted after the build"}


def split(base, metric, fraction, seed=7, sample=20000):
    """(build_ids, drift_ids): the drift rows are the highest projections on the main direction."""
    n = base.shape[0]
    if not (fraction > 0):
        raise ValueError("drift fraction must be positive")
    n_drift = int(round(n * fraction / (1.0 + fraction)))
    if n_drift < 1 or n_drift >= n:
        raise ValueError(f"drift fraction {fraction} leaves no rows on one side (n = {n})")
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(n, size=min(n, sample), replace=False))

    def prep(x):
        x = np.asarray(x, dtype=np.float64)
        if metric == "cosine":
            nrm = np.linalg.norm(x, axis=1, keepdims=True)
            x = x / np.where(nrm > 0, nrm, 1.0)
        return x

    s = prep(base[idx])
    mean = s.mean(axis=0)
    _, _, vt = np.linalg.svd(s - mean, full_matrices=False)
    direction = vt[0]
    proj = np.empty(n)
    for a in range(0, n, 65536):
        proj[a:a + 65536] = (prep(base[a:a + 65536]) - mean) @ direction
    order = np.argsort(proj, kind="stable")
    return np.sort(order[:n - n_drift]), np.sort(order[n - n_drift:])


def plan(base, queries, metric, fraction, gt_all, kmax, progress=None):
    """The split and both ground truths (gt_all: over all rows, already computed)."""
    build_ids, drift_ids = split(base, metric, fraction)
    gt_sub, _ = groundtruth.knn(base[build_ids], queries, k=kmax, metric=metric, progress=progress)
    gt_before = build_ids[gt_sub]
    return DriftPlan(fraction, build_ids, drift_ids, gt_before, gt_all)
