#!/usr/bin/env python3
"""Writes bench/run.py's synthetic set to a folder (base.fvecs, query.fvecs, gt_<metric>.ivecs).

For sets too large to generate, hold and compute ground truth for beside two database servers
(3M x 768 is 9 GB of float32): `bench/run.py --dataset FOLDER` then reads the base from the file
a chunk at a time (memory-mapped) and the ground truth from gt_<metric>.ivecs.  The rows are the
same as `bench/run.py --n N --dim D` generates (same SyntheticSpec, same seed; the first 1M rows of
the 3M set are the 1M set).

  python3 bench/make_synthetic.py --n 3000000 --dim 768 --nq 200 --out ~/tq-data/synthetic-3000000x768
  python3 bench/run.py --dataset ~/tq-data/synthetic-3000000x768 --metric cosine --nq 200 ...
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tqbench import datasets, groundtruth  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    d = datasets.SyntheticSpec()
    ap.add_argument("--n", type=int, default=d.n)
    ap.add_argument("--dim", type=int, default=d.dim)
    ap.add_argument("--nq", type=int, default=d.nq)
    ap.add_argument("--clusters", type=int, default=d.clusters)
    ap.add_argument("--decay", type=float, default=d.decay)
    ap.add_argument("--spread", type=float, default=d.spread)
    ap.add_argument("--offset", type=float, default=d.offset)
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("--metric", choices=["cosine", "l2", "ip"], default="cosine")
    ap.add_argument("--k", type=int, default=100, help="ground-truth neighbours per query")
    ap.add_argument("--out", required=True, help="folder to write")
    a = ap.parse_args()
    spec = datasets.SyntheticSpec(n=a.n, dim=a.dim, nq=a.nq, clusters=a.clusters, decay=a.decay,
                                  spread=a.spread, offset=a.offset, seed=a.seed)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    base, queries = datasets.synthetic(spec)
    datasets.write_fvecs(out / "query.fvecs", queries)
    with open(out / "base.fvecs", "wb") as f:       # a chunk at a time: no second copy of the base
        for s in range(0, len(base), 100_000):
            datasets.write_fvecs(f, base[s:s + 100_000])
    print(f"wrote {len(base)} x {a.dim} rows and {len(queries)} queries in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    ids, _ = groundtruth.knn(base, queries, k=min(a.k, len(base)), metric=a.metric)
    gt_name = {"cosine": "gt_cos", "l2": "gt_l2", "ip": "gt_ip"}[a.metric]
    datasets.write_ivecs(out / f"{gt_name}.ivecs", ids.astype(np.int32))
    print(f"ground truth (exact top-{ids.shape[1]}, {a.metric}) in {time.perf_counter() - t0:.1f} s: {out}")


if __name__ == "__main__":
    main()
