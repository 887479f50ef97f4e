#!/usr/bin/env python3
"""Quick numpy simulations behind the partitioned index's defaults (docs/design.md).

Spherical k-means (k-means++ on 8 rows per list for the init, like src/core/kmeans.cpp) on a sample,
rows assigned to the nearest centroid, queries probing the nearest lists; reports the recall@10 of an
exact search inside the probed lists ("ceiling") and the mean rows scanned.  Not the index itself:
the SQL benchmark is bench/run.py.

  python3 bench/partition_sim.py lists  debian-fasttext300 120,238,476,1000      rows scanned per list count
  python3 bench/partition_sim.py budget debian-fasttext300 238                   fixed probes vs a rows budget
  python3 bench/partition_sim.py train  synthetic 316 [64x10,64x6]               sample rows per list x rounds
Real sets are read from ../shared/data (or TQ_BENCH_DATA); synthetic is bench/run.py's default 100K x 512.
"""
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tqbench import datasets  # noqa: E402


def load(name, nq):
    if name == "synthetic":
        spec = datasets.SyntheticSpec(n=100000, dim=512, nq=nq, clusters=512, decay=1.0, spread=1.0,
                                      offset=1.3, seed=42)
        ds = datasets.load("synthetic", "cosine", n=100000, nq=nq, data_dir=None, synth=spec,
                           base=None, query=None, gt=None)
        x, q = ds.base.astype(np.float32), ds.queries.astype(np.float32)
    else:
        d = datasets.DEFAULT_DATA_DIR / name
        x = datasets.read_fvecs(d / "base.fvecs").astype(np.float32)
        q = datasets.read_fvecs(d / "query.fvecs").astype(np.float32)[:nq]
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    gt = np.argsort(-(q @ x.T), axis=1)[:, :10]
    return x, q, gt


def train(x, k, per_list, rounds, seed=7):
    rng = np.random.default_rng(seed)
    s = x[rng.choice(len(x), min(len(x), per_list * k), replace=False)]
    sub = s[rng.choice(len(s), min(len(s), 8 * k), replace=False)]
    c = [sub[rng.integers(len(sub))]]
    d = 1 - sub @ c[0]
    for _ in range(k - 1):
        p = np.maximum(d, 0)
        c.append(sub[rng.choice(len(sub), p=p / p.sum())])
        d = np.minimum(d, 1 - sub @ c[-1])
    c = np.array(c)
    for _ in range(rounds):
        a = np.argmax(s @ c.T, axis=1)
        for j in range(k):
            m = s[a == j]
            if len(m):
                v = m.sum(0)
                c[j] = v / np.linalg.norm(v)
    return c


def probe_stats(x, q, gt, c, probes):
    assign = np.argmax(x @ c.T, axis=1)
    sizes = np.bincount(assign, minlength=len(c))
    order = np.argsort(-(q @ c.T), axis=1)
    gl = assign[gt]
    out = []
    for p in probes:
        pl = order[:, :p]
        ceil = np.mean([np.isin(gl[i], pl[i]).mean() for i in range(len(q))])
        out.append((p, sizes[pl].sum(1).mean(), ceil))
    return out, sizes, order, gl


def main():
    mode, name = sys.argv[1], sys.argv[2]
    x, q, gt = load(name, 1000 if name != "synthetic" else 300)
    if mode == "lists":
        for k in [int(v) for v in sys.argv[3].split(",")]:
            c = train(x, k, 32, 8)
            res, sizes, _, _ = probe_stats(x, q, gt, c, [4, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 64])
            print(f"{name} lists {k} (rows per list max {sizes.max()}, avg {sizes.mean():.0f}): " +
                  "; ".join(f"p{p} {r:.0f} rows {ce:.4f}" for p, r, ce in res if p <= k), flush=True)
    elif mode == "budget":
        k = int(sys.argv[3])
        c = train(x, k, 32, 8)
        res, sizes, order, gl = probe_stats(x, q, gt, c, [6, 8, 10, 12, 16, 20, 24, 32])
        for p, r, ce in res:
            print(f"{name} lists {k} fixed probes {p}: rows {r:.0f} ceiling {ce:.4f}")
        for budget in (2000, 3000, 4000, 5000, 6000):
            rec, rws = [], []
            for i in range(len(q)):
                cs = np.cumsum(sizes[order[i]])
                p = int(np.searchsorted(cs, budget) + 1)
                rws.append(cs[p - 1])
                rec.append(np.isin(gl[i], order[i, :p]).mean())
            print(f"{name} lists {k} rows budget {budget}: rows {np.mean(rws):.0f} ceiling {np.mean(rec):.4f}")
    elif mode == "train":
        k = int(sys.argv[3])
        budgets = [(64, 10), (32, 5), (64, 5), (32, 10)]
        if len(sys.argv) > 4:   # e.g. 64x10,64x6
            budgets = [tuple(int(v) for v in b.split("x")) for b in sys.argv[4].split(",")]
        for per_list, rounds in budgets:
            t = time.time()
            c = train(x, k, per_list, rounds)
            res, sizes, _, _ = probe_stats(x, q, gt, c, [8, 16, 32])
            print(f"{name} lists {k} sample {per_list}/list rounds {rounds}: " +
                  "; ".join(f"p{p} {ce:.4f} ({r:.0f} rows)" for p, r, ce in res) +
                  f"; max list {sizes.max()}; {time.time() - t:.1f} s", flush=True)


if __name__ == "__main__":
    main()
