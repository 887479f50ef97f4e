#!/usr/bin/env python3
"""Core scan kernel vs FAISS IndexPQFastScan at the same code bytes per vector.

The seed project's headline table, reproduced: for each data set and bit width,
  turboquant  the core library (bench/libtqcore.so via ctypes): encode, then a flat scan of
              all codes with the SIMD fast-scan kernel and a top-k — no exact re-ranking;
  faiss       IndexPQFastScan(d, M, nbits=4), M = d/2 for 2 bits/dim, M = d for 4 bits/dim,
              trained on the base (PyPI faiss-cpu; never the Debian build, which has no SIMD);
and reports single-query and 1000-query-batch throughput with 1 and 2 threads, R@1@k for
k = 1..64 (true nearest neighbour within the first k of the quantized order), recall@10,
and "wrong lists": queries whose returned top-64 holds none of the true top-10 (FAISS's
8-bit tables summed into 16-bit totals were seen to do this at M = 1536).

Build the shim first:  make -C bench   (or make -C bench CORE_DIR=/other/checkout/src)
Run:                   python3 bench/kernel_bench.py            (defaults below; --help)
"""
from __future__ import annotations

import argparse
import ctypes
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tqbench import datasets, envinfo, groundtruth, metrics  # noqa: E402

HERE = Path(__file__).resolve().parent
METRIC_CODE = {"l2": 0, "cosine": 1, "ip": 2}
KS = metrics.R1_KS


class TqCore:
    """ctypes wrapper of bench/libtqcore.so (tqcore_capi.cpp)."""

    def __init__(self, path):
        self.lib = lib = ctypes.CDLL(str(path))
        lib.tqc_build.restype = ctypes.c_void_p
        lib.tqc_build.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint64]
        lib.tqc_free.argtypes = [ctypes.c_void_p]
        lib.tqc_code_bytes.restype = ctypes.c_double
        lib.tqc_code_bytes.argtypes = [ctypes.c_void_p]
        lib.tqc_search.restype = ctypes.c_int
        lib.tqc_search.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_uint32,
                                   ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
        lib.tqc_simd_level.restype = ctypes.c_char_p

    def simd(self):
        return self.lib.tqc_simd_level().decode()

    def build(self, base, bits, seed):
        base = np.ascontiguousarray(base, dtype=np.float32)
        h = self.lib.tqc_build(base.ctypes.data, base.shape[0], base.shape[1], bits, seed)
        if not h:
            raise RuntimeError(f"tqc_build failed (dim {base.shape[1]}, bits {bits})")
        return h

    def free(self, h):
        self.lib.tqc_free(h)

    def code_bytes(self, h):
        return self.lib.tqc_code_bytes(h)

    def search(self, h, q, metric, k, threads):
        q = np.ascontiguousarray(q, dtype=np.float32)
        ids = np.empty((q.shape[0], k), dtype=np.int64)
        dist = np.empty((q.shape[0], k), dtype=np.float32)
        rc = self.lib.tqc_search(h, q.ctypes.data, q.shape[0], METRIC_CODE[metric], k, threads,
                                 ids.ctypes.data, dist.ctypes.data)
        if rc != 0:
            raise RuntimeError("tqc_search failed")
        return ids


def timed(fn, *a):
    t0 = time.perf_counter()
    out = fn(*a)
    return out, time.perf_counter() - t0


def quality(ids, gt):
    """R@1@k, recall@10 and wrong lists of a (nq, >=64) id matrix."""
    r1 = metrics.r1_at_k(ids, gt, KS)
    wrong = int(sum(1 for got, truth in zip(ids, gt) if not (set(got[:64].tolist()) & set(truth[:10].tolist()))))
    return {"r1_at_k": r1, "recall10": metrics.recall_at_k(ids, gt, 10), "wrong_lists": wrong}


def single_stream_qps(search_one, queries, n, threads, k):
    """QPS of `threads` callers each asking one query at a time (engine runs each on one thread)."""
    import threading

    n = min(n, queries.shape[0])
    barrier = threading.Barrier(threads + 1)

    def work(t):
        barrier.wait()
        for i in range(t, n, threads):
            search_one(queries[i], k)

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    barrier.wait()
    t0 = time.perf_counter()
    for th in pool:
        th.join()
    return n / (time.perf_counter() - t0), n


def bench_engine(name, search_batch, search_one, queries, gt, threads, single_n, k, repeat):
    """Quality from one batch search; throughput (median of `repeat`) per mode and thread count.

    batch:  all queries in one call, the engine's threads split them;
    single: one query per call, `threads` concurrent callers (1-thread engine calls).
    """
    out = {"engine": name, "throughput": []}
    ids = search_batch(queries, k, 1)
    search_batch(queries[:20], k, max(threads))  # warm both paths
    search_one(queries[0], k)
    for t in threads:
        batch = [queries.shape[0] / timed(search_batch, queries, k, t)[1] for _ in range(repeat)]
        single = [single_stream_qps(search_one, queries, single_n, t, k) for _ in range(repeat)]
        out["throughput"].append({"threads": t, "batch_qps": float(np.median(batch)),
                                  "batch_queries": int(queries.shape[0]),
                                  "single_qps": float(np.median([x[0] for x in single])),
                                  "single_queries": single[0][1]})
    out.update(quality(ids, gt))
    return out


def run_dataset(ds, args, core, faiss, printer):
    rows = []
    threads = [int(x) for x in args.threads.split(",")]
    k = max(KS)
    d = ds.dim
    for bits in [int(x) for x in args.bits.split(",")]:
        row = {"dataset": ds.name, "n": ds.n, "dim": d, "bits": bits, "metric": ds.metric}
        if core is not None:
            h, build_s = timed(core.build, ds.base, bits, args.seed)
            try:
                res = bench_engine("turboquant",
                                   lambda q, kk, t: core.search(h, q, ds.metric, kk, t),
                                   lambda q, kk: core.search(h, q[None, :], ds.metric, kk, 1),
                                   ds.queries, ds.gt, threads, args.single_queries, k, args.repeat)
                res.update({"build_s": build_s, "code_bytes_per_vector": core.code_bytes(h),
                            "extra_bytes_per_vector": 8, "simd": core.simd()})
            finally:
                core.free(h)
            row["turboquant"] = res
        if faiss is not None:
            m = d // 2 if bits == 2 else d if bits == 4 else None
            if m is None or d % 2:
                row["faiss"] = {"skipped": f"no IndexPQFastScan equivalent of {bits} bits/dim at d={d}"}
            else:
                ip = ds.metric in ("cosine", "ip")
                base, q = ds.base, ds.queries
                if ds.metric == "cosine":
                    base = base / np.maximum(np.linalg.norm(base, axis=1, keepdims=True), 1e-30)
                    q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-30)
                base = np.ascontiguousarray(base, dtype=np.float32)
                q = np.ascontiguousarray(q, dtype=np.float32)
                index = faiss.IndexPQFastScan(d, m, 4, faiss.METRIC_INNER_PRODUCT if ip else faiss.METRIC_L2)
                faiss.omp_set_num_threads(max(threads))
                _, train_s = timed(index.train, base)
                _, add_s = timed(index.add, base)

                def fsearch(qq, kk, t):
                    faiss.omp_set_num_threads(t)
                    return index.search(qq, kk)[1]

                def fsingle(qq, kk):
                    faiss.omp_set_num_threads(1)   # per calling thread: one OpenMP thread each
                    return index.search(qq[None, :], kk)[1]

                res = bench_engine("faiss", fsearch, fsingle, q, ds.gt, threads, args.single_queries, k,
                                   args.repeat)
                res.update({"train_s": train_s, "build_s": add_s, "M": m, "nbits": 4,
                            "code_bytes_per_vector": m * 4 / 8, "extra_bytes_per_vector": 0})
                row["faiss"] = res
                del index
        rows.append(row)
        printer(row)
    return rows


def print_row(row):
    for eng in ("turboquant", "faiss"):
        r = row.get(eng)
        if r is None:
            continue
        if "skipped" in r:
            print(f"{row['dataset']:<22} {row['bits']:>2}b {eng:<10} skipped: {r['skipped']}", flush=True)
            continue
        tp = " ".join(f"{x['threads']}t batch {x['batch_qps']:8.1f} single {x['single_qps']:7.1f}"
                      for x in r["throughput"])
        r1 = " ".join(f"{r['r1_at_k'][str(kk)]:.3f}" for kk in (1, 2, 4, 8, 64))
        print(f"{row['dataset']:<22} {row['bits']:>2}b {eng:<10} {r['code_bytes_per_vector']:6.0f}B "
              f"R@1@1,2,4,8,64 {r1}  R@10 {r['recall10']:.3f} wrong {r['wrong_lists']:>3}  QPS {tp}",
              flush=True)


def markdown(doc):
    out = [f"Hardware: {doc['hardware']}  ", f"turboquant SIMD level: {doc.get('simd')}; faiss-cpu "
           f"{doc['libraries'].get('faiss-cpu')}; metric {doc['args']['metric']}; no re-ranking.", "",
           "| data | bits | engine | code B/vec | R@1@1 | R@1@2 | R@1@4 | R@1@8 | R@1@64 | R@10 | wrong lists |"
           + "".join(f" {m} {t}t QPS |" for t in doc["threads"] for m in ("batch", "single")),
           "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|" + "---:|" * (2 * len(doc["threads"]))]
    for row in doc["rows"]:
        for eng in ("turboquant", "faiss"):
            r = row.get(eng)
            if not r or "skipped" in r:
                continue
            tps = {x["threads"]: x for x in r["throughput"]}
            cells = "".join(f" {tps[t]['batch_qps']:.0f} | {tps[t]['single_qps']:.0f} |" for t in doc["threads"])
            out.append(f"| {row['dataset']} ({row['n']}x{row['dim']}) | {row['bits']} | {eng} | "
                       f"{r['code_bytes_per_vector']:.0f} | "
                       + " | ".join(f"{r['r1_at_k'][str(kk)]:.3f}" for kk in (1, 2, 4, 8, 64))
                       + f" | {r['recall10']:.3f} | {r['wrong_lists']} |" + cells)
    return "\n".join(out)


def main(argv=None):
    p = argparse.ArgumentParser(prog="bench/kernel_bench.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--datasets", default=None,
                   help="comma list: named sets, synthetic-<dim>, folders or .hdf5 files (default: "
                        "npm-use512,debian-fasttext300 where --data-dir has them, then synthetic-1536,"
                        "synthetic-3072)")
    p.add_argument("--n", type=int, default=100_000, help="base rows of synthetic-<dim> sets")
    p.add_argument("--nq", type=int, default=1000, help="queries (the batch size)")
    p.add_argument("--single-queries", type=int, default=200, help="queries timed one at a time")
    p.add_argument("--bits", default="2,4", help="bits per dimension (FAISS equivalents exist for 2 and 4)")
    p.add_argument("--threads", default="1,2", help="batch: engine threads; single: concurrent callers")
    p.add_argument("--repeat", type=int, default=3, help="timings are the median of this many runs")
    p.add_argument("--metric", default="cosine", choices=datasets.METRICS)
    p.add_argument("--seed", type=int, default=42, help="quantizer seed and synthetic seed")
    p.add_argument("--data-dir", default=str(datasets.DEFAULT_DATA_DIR))
    p.add_argument("--cache-dir", default=str(Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                                              / "turboquant-bench"), help="ground truth cache ('' = off)")
    p.add_argument("--lib", default=str(HERE / "libtqcore.so"), help="the core shim (make -C bench)")
    p.add_argument("--no-faiss", action="store_true")
    p.add_argument("--no-turboquant", action="store_true")
    p.add_argument("--out-dir", default=str(HERE / "results"))
    p.add_argument("--tag", default="")
    args = p.parse_args(argv)
    if args.datasets is None:
        # a fresh clone has no data sets: run on what this machine has, say what is missing
        named = ["npm-use512", "debian-fasttext300"]
        have = [n for n in named if (Path(args.data_dir) / n).is_dir()]
        for n in sorted(set(named) - set(have)):
            print(f"note: {n} not in {args.data_dir}: skipped (put it there, or pass --data-dir)", flush=True)
        args.datasets = ",".join(have + ["synthetic-1536", "synthetic-3072"])

    core = None
    if not args.no_turboquant:
        if not Path(args.lib).exists():
            raise SystemExit(f"{args.lib} not found: build it with `make -C bench`")
        core = TqCore(args.lib)
    faiss = None
    if not args.no_faiss:
        import faiss  # noqa: F811  (PyPI faiss-cpu)
    started = dt.datetime.now(dt.timezone.utc)
    t_start = time.perf_counter()
    rows = []
    for spec in [s.strip() for s in args.datasets.split(",") if s.strip()]:
        if spec.startswith("synthetic-"):
            dim = int(spec.split("-", 1)[1])
            ds = datasets.load("synthetic", args.metric, synth=datasets.SyntheticSpec(
                n=args.n, dim=dim, nq=args.nq, seed=args.seed))
        else:
            ds = datasets.load(spec, args.metric, nq=args.nq, data_dir=args.data_dir)
        if ds.gt is None or ds.gt.shape[1] < 64:
            cache = Path(args.cache_dir) / f"gt-{datasets.fingerprint(ds)}-k100.npy" if args.cache_dir else None
            if cache is not None and cache.exists():
                ds.gt = np.load(cache)
            else:
                t0 = time.perf_counter()
                ds.gt, _ = groundtruth.knn(ds.base, ds.queries, k=100, metric=ds.metric)
                print(f"{ds.name}: ground truth in {time.perf_counter() - t0:.1f} s", flush=True)
                if cache is not None:
                    cache.parent.mkdir(parents=True, exist_ok=True)
                    np.save(cache, ds.gt)
        print(f"{ds.name}: n={ds.n} dim={ds.dim} queries={ds.nq} metric={ds.metric}", flush=True)
        rows += run_dataset(ds, args, core, faiss, print_row)
        del ds
    m = envinfo.machine()
    doc = {"format": "turboquant-kernel-bench/1", "started_at": started.isoformat(timespec="seconds"),
           "duration_s": time.perf_counter() - t_start,
           "command": " ".join(["python3 bench/kernel_bench.py"] + list(argv if argv is not None else sys.argv[1:])),
           "args": vars(args), "machine": m, "hardware": envinfo.hardware_line(m),
           "libraries": envinfo.libraries(), "source": envinfo.source(),
           "simd": core.simd() if core else None, "threads": [int(x) for x in args.threads.split(",")],
           "rows": rows}
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / (f"kernel-{started.strftime('%Y%m%d-%H%M%S')}" + (f"-{args.tag}" if args.tag else "") + ".json")
    path.write_text(json.dumps(doc, indent=1) + "\n")
    print(markdown(doc))
    print(f"results: {path}")
    return path


if __name__ == "__main__":
    main()
