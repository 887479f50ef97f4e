#!/usr/bin/env python3
"""Per-ISA scan speed against FAISS IndexPQFastScan, single query, one thread, equal code bytes.

For d in 128, 384, 768, 1536, 3072 and 2, 3, 4 bits per dimension, on synthetic Gaussian vectors
(no private data needed), in one run:
  read       the time to read the same code bytes (numpy sum over them as uint64: the memory floor)
  <set>      turboquant's flat scan + top-10 (bench/libtqcore.so) with each kernel set this CPU runs
             (scalar, avx2, avx512, avx512vnni, neon), forced one after the other
  faiss      IndexPQFastScan(d, M = d * bits / 4, nbits = 4): the same code bytes per vector
             (PyPI faiss-cpu, omp threads = 1), trained on a sample; at 3 bits the vectors are
             zero-padded to 3d/2 dims (FAISS needs d % M == 0; the scan cost depends on M)
as ns per vector per query (mean over single queries, best of --reps passes), with codes out of cache (N rows, default
100,000, capped so the float base stays under 400 MB) and in cache (N = 1 MB of codes).
Per-call overheads (tables, top-k, the Python call) are included for both engines alike; they
matter only in the in-cache table.

  make -C bench && python3 bench/kernel_table.py [--dims 128,768] [--bits 2,4] [--n 100000]
"""
from __future__ import annotations

import argparse
import ctypes
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from tqbench import envinfo  # noqa: E402


def load_core(path):
    lib = ctypes.CDLL(str(path))
    lib.tqc_build.restype = ctypes.c_void_p
    lib.tqc_build.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint64]
    lib.tqc_free.argtypes = [ctypes.c_void_p]
    lib.tqc_search.restype = ctypes.c_int
    lib.tqc_search.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_uint32,
                               ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
    lib.tqc_kernel_sets.restype = ctypes.c_char_p
    lib.tqc_set_simd.restype = ctypes.c_int
    lib.tqc_set_simd.argtypes = [ctypes.c_char_p]
    return lib


def per_query_ns(fn, queries, n, reps):
    """Best of `reps` passes of the mean time of one query, in ns per base vector (the minimum:
    other processes on a shared machine only ever add time)."""
    fn(queries[0])
    passes = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for q in queries:
            fn(q)
        passes.append((time.perf_counter() - t0) / len(queries))
    return min(passes) * 1e9 / n


def read_floor_ns(nbytes, n, reps):
    buf = np.ones(nbytes // 8, dtype=np.uint64)
    buf.sum()
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        buf.sum()
        t.append(time.perf_counter() - t0)
    return min(t) * 1e9 / n


def main(argv=None):
    p = argparse.ArgumentParser(prog="bench/kernel_table.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--dims", default="128,384,768,1536,3072")
    p.add_argument("--bits", default="2,3,4")
    p.add_argument("--n", type=int, default=100_000, help="rows of the out-of-cache table")
    p.add_argument("--cache-bytes", type=int, default=1 << 20, help="code bytes of the in-cache table")
    p.add_argument("--queries", type=int, default=20, help="single queries per timing pass")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--train", type=int, default=5000, help="FAISS training sample")
    p.add_argument("--lib", default=str(HERE / "libtqcore.so"))
    p.add_argument("--no-faiss", action="store_true")
    p.add_argument("--out-dir", default=str(HERE / "results"))
    args = p.parse_args(argv)

    core = load_core(args.lib)
    sets = core.tqc_kernel_sets().decode().split()
    faiss = None
    if not args.no_faiss:
        import faiss  # PyPI faiss-cpu
        faiss.omp_set_num_threads(1)
    m = envinfo.machine()
    print(f"# {envinfo.hardware_line(m)}")
    print(f"# kernel sets this CPU runs: {' '.join(sets)}; faiss-cpu {faiss.__version__ if faiss else 'n/a'}")
    cols = ["read"] + list(reversed(sets)) + (["faiss"] if faiss else [])
    rows = []
    rng = np.random.default_rng(1)
    ids = np.empty((1, 10), dtype=np.int64)
    dist = np.empty((1, 10), dtype=np.float32)
    for where in ("out of cache", "in cache"):
        print(f"\n## codes {where}: ns per vector per query (single query, one thread)")
        print(f"| bits | d | B/vec | N | " + " | ".join(cols) + " | best set / faiss |")
        print("|---:|---:|---:|---:|" + "---:|" * len(cols) + "---:|")
        for bits in [int(b) for b in args.bits.split(",")]:
            for d in [int(x) for x in args.dims.split(",")]:
                bpv = d * bits / 8
                if where == "out of cache":
                    n = min(args.n, int(100_000_000 // d))
                else:
                    n = max(1024, int(args.cache_bytes // bpv))
                n = (n + 31) // 32 * 32
                base = rng.standard_normal((n, d), dtype=np.float32)
                queries = rng.standard_normal((args.queries, d), dtype=np.float32)
                res = {"read": read_floor_ns(int(n * bpv) // 8 * 8, n, 5)}
                h = core.tqc_build(base.ctypes.data, n, d, bits, 42)
                try:
                    for s in sets:
                        core.tqc_set_simd(s.encode())

                        def one(q):
                            core.tqc_search(h, q.ctypes.data, 1, 2, 10, 1, ids.ctypes.data, dist.ctypes.data)
                        res[s] = per_query_ns(one, queries, n, args.reps)
                    core.tqc_set_simd(b"auto")
                finally:
                    core.tqc_free(h)
                if faiss is not None:
                    # M sub-quantizers of 4 bits = d * bits / 8 bytes.  FAISS needs d % M == 0:
                    # at 3 bits (M = 3d/4) the vectors are zero-padded to 3d/2 dims, 2 per
                    # sub-quantizer; the scan's cost depends on M alone.
                    msub = d * bits // 4
                    fd = d if d % msub == 0 else msub * 2
                    fbase, fq = base, queries
                    if fd != d:
                        fbase = np.zeros((n, fd), dtype=np.float32)
                        fbase[:, :d] = base
                        fq = np.zeros((len(queries), fd), dtype=np.float32)
                        fq[:, :d] = queries
                    index = faiss.IndexPQFastScan(fd, msub, 4, faiss.METRIC_INNER_PRODUCT)
                    index.train(fbase[: min(n, args.train)])
                    index.add(fbase)
                    res["faiss"] = per_query_ns(lambda q: index.search(q[None, :], 10), fq, n, args.reps)
                    del fbase
                    del index
                del base
                best = min(res[s] for s in sets)
                ratio = f"{best / res['faiss']:.2f}" if faiss is not None else "-"
                print(f"| {bits} | {d} | {bpv:.0f} | {n} | " + " | ".join(f"{res[c]:.2f}" for c in cols)
                      + f" | {ratio} |", flush=True)
                rows.append({"where": where, "bits": bits, "dim": d, "n": n, "bytes_per_vector": bpv, **res})
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"kernel-table-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({"machine": m, "hardware": envinfo.hardware_line(m), "sets": sets,
                                "libraries": envinfo.libraries(), "rows": rows}, indent=1) + "\n")
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
