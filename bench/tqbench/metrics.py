"""Recall measures used in every result row."""
from __future__ import annotations

import numpy as np

R1_KS = (1, 2, 4, 8, 16, 32, 64)


def recall_at_k(results, gt, k):
    """Mean over queries of |returned[:k] ∩ true top-k| / k (missing rows count as misses)."""
    total = 0.0
    for got, truth in zip(results, gt):
        total += len(set(int(i) for i in got[:k]) & set(int(i) for i in truth[:k])) / k
    return total / max(1, len(results))


def r1_at_k(results, gt, ks=R1_KS):
    """R@1@k: the fraction of queries whose true nearest neighbour is in the first k returned.

    The seed project's metric.  Only k <= the number of rows each query asked for is meaningful;
    callers pass the ks that fit.
    """
    out = {}
    for k in ks:
        hit = sum(1 for got, truth in zip(results, gt) if int(truth[0]) in set(int(i) for i in got[:k]))
        out[str(k)] = hit / max(1, len(results))
    return out


def percentile_ms(latencies_s, p):
    """Percentile of latencies (seconds in, milliseconds out)."""
    if len(latencies_s) == 0:
        return float("nan")
    return float(np.percentile(np.asarray(latencies_s) * 1000.0, p))
