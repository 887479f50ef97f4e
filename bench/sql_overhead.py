#!/usr/bin/env python3
"""PostgreSQL's overhead on a turboquant scan: SQL p50 at turboquant.rerank = 0 vs the raw kernel.

For each dimension, on synthetic Gaussian vectors (no private data needed):
  sql     `SELECT id FROM t ORDER BY v <=> $1 LIMIT 10` with turboquant.rerank = 0, prepared,
          binary parameter, one client, the index's pages in shared buffers; p50 of the
          client-side latency and of the server's own execution time (EXPLAIN ANALYZE);
  kernel  the core library alone (bench/libtqcore.so): the same (dim, bits, seed), so the same
          codes for a flat index, one query per call, flat scan + top-10, p50.  With lists the
          kernel scans as many codes as the SQL scan scored (the scan reports its count at
          DEBUG1: "turboquant scan: N slots ..."), taken from the start of the same base.
The ratio sql / kernel is the cost of PostgreSQL around the kernel (buffer lookups, pins, locks,
page checks, executor, protocol).  Both sides use the same kernel set (--simd forces one on both).

  make -C bench libtqcore.so
  python3 bench/sql_overhead.py [--dsn "host=... port=..."] [--n 100000] [--dims 384,1536]
                                [--bits 4] [--lists 0,auto] [--queries 200] [--simd avx2]
Without --dsn it starts a throwaway cluster (bench/tqbench/pg.py) with the extension installed
in the PostgreSQL that pg_config names.  Keep --n modest on a shared machine: only ratios
measured in the same run mean much there.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from tqbench import envinfo, pg  # noqa: E402
from kernel_table import load_core  # noqa: E402

SEED = 21585  # the index's default seed (TQ_DEFAULT_SEED, 0x5451), passed explicitly to both
SLOTS_RE = re.compile(r"turboquant scan: (\d+) slots")


def kernel_p50(core, base, queries, bits, reps):
    """p50 seconds of one flat-scan top-10 query over `base` (cosine, as the SQL side)."""
    n, d = base.shape
    base = np.ascontiguousarray(base, dtype=np.float32)
    h = core.tqc_build(base.ctypes.data, n, d, bits, SEED)
    if not h:
        raise RuntimeError("tqc_build failed")
    ids = np.empty((1, 10), dtype=np.int64)
    dist = np.empty((1, 10), dtype=np.float32)
    times = []
    try:
        for _ in range(reps):
            for q in queries:
                q = np.ascontiguousarray(q, dtype=np.float32)
                t0 = time.perf_counter()
                core.tqc_search(h, q.ctypes.data, 1, 1, 10, 1, ids.ctypes.data, dist.ctypes.data)
                times.append(time.perf_counter() - t0)
    finally:
        core.tqc_free(h)
    return statistics.median(times)


def sql_side(conn, table, queries, reps):
    """(client p50 s, server execution p50 s, median slots scored) for the prepared query."""
    sql = f"SELECT id FROM {table} ORDER BY v <=> %s LIMIT 10"
    slots = []
    notices = []
    conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
    conn.execute("SET client_min_messages = debug1")
    for q in queries[:20]:
        notices.clear()
        conn.execute(sql, (q,), prepare=True).fetchall()
        found = [int(m.group(1)) for m in map(SLOTS_RE.search, notices) if m]
        if not found:
            raise RuntimeError("the scan reported no slot count (is the index used? is this the "
                               "turboquant that reports it at DEBUG1?)")
        slots.append(found[-1])
    conn.execute("SET client_min_messages = notice")
    explain = conn.execute(f"EXPLAIN (COSTS OFF) SELECT id FROM {table} ORDER BY v <=> %s LIMIT 10",
                           (queries[0],)).fetchall()
    if not any("Index Scan" in r[0] for r in explain):
        raise RuntimeError("the plan does not use the index:\n" + "\n".join(r[0] for r in explain))
    for q in queries[:20]:  # warm: every page in shared buffers
        conn.execute(sql, (q,), prepare=True).fetchall()
    client = []
    for _ in range(reps):
        for q in queries:
            t0 = time.perf_counter()
            conn.execute(sql, (q,), prepare=True).fetchall()
            client.append(time.perf_counter() - t0)
    server = []
    for q in queries:
        rows = conn.execute(f"EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) SELECT id FROM {table} "
                            f"ORDER BY v <=> %s LIMIT 10", (q,)).fetchall()
        for (line,) in rows:
            m = re.search(r"Execution Time: ([0-9.]+) ms", line)
            if m:
                server.append(float(m.group(1)) / 1e3)
    return statistics.median(client), statistics.median(server), int(statistics.median(slots))


def run(args, dsn):
    core = load_core(args.lib)
    core.tqc_simd_level.restype = ctypes.c_char_p
    if args.simd and not core.tqc_set_simd(args.simd.encode()):
        raise SystemExit(f"this CPU cannot run kernel set {args.simd}")
    rng = np.random.default_rng(args.seed)
    rows = []
    with pg.connect(dsn) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS turboquant")
        pg.register_vector(conn, "tqvector")
        conn.execute("SELECT '[1]'::tqvector")  # loads the library: its GUCs exist from here on
        if args.simd:
            conn.execute("SELECT set_config('turboquant.simd', %s, false)", (args.simd,))
        conn.execute("SET turboquant.rerank = 0")
        conn.execute("SET enable_seqscan = off")
        simd = conn.execute("SHOW turboquant.simd").fetchone()[0]
        print(f"# {envinfo.hardware_line()}")
        print(f"# kernel set: sql {simd}, kernel {core.tqc_simd_level().decode()}")
        print("| d | bits | lists | slots scored | kernel p50 ms | sql server p50 ms | sql client p50 ms "
              "| server / kernel | client / kernel |")
        print("|---:|---:|---|---:|---:|---:|---:|---:|---:|")
        for d in [int(x) for x in args.dims.split(",")]:
            base = rng.standard_normal((args.n, d), dtype=np.float32)
            queries = rng.standard_normal((args.queries, d), dtype=np.float32)
            table = f"tq_sql_overhead_{d}"
            conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.execute(f"CREATE TABLE {table} (id int8, v tqvector({d}))")
            pg.copy_vectors(conn, table, base)
            conn.execute(f"VACUUM ANALYZE {table}")
            for bits in [int(b) for b in args.bits.split(",")]:
                for lists in args.lists.split(","):
                    conn.execute(f"DROP INDEX IF EXISTS {table}_idx")
                    opts = f"bits = {bits}, seed = {SEED}" + ("" if lists == "auto" else f", lists = {lists}")
                    conn.execute(f"CREATE INDEX {table}_idx ON {table} USING turboquant "
                                 f"(v tqvector_cosine_ops) WITH ({opts})")
                    client, server, slots = sql_side(conn, table, queries, args.reps)
                    sub = base if slots >= args.n else base[:max(32, slots)]
                    kern = kernel_p50(core, sub, queries, bits, args.reps)
                    row = {"dim": d, "bits": bits, "lists": lists, "n": args.n, "slots": slots,
                           "kernel_p50_ms": kern * 1e3, "sql_server_p50_ms": server * 1e3,
                           "sql_client_p50_ms": client * 1e3}
                    rows.append(row)
                    print(f"| {d} | {bits} | {lists} | {slots} | {kern * 1e3:.3f} | {server * 1e3:.3f} | "
                          f"{client * 1e3:.3f} | {server / kern:.2f} | {client / kern:.2f} |", flush=True)
            conn.execute(f"DROP TABLE {table}")
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(prog="bench/sql_overhead.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--dsn", default=None, help="an existing server (\"\" = libpq environment); "
                   "default: a throwaway cluster")
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--dims", default="384,1536")
    p.add_argument("--bits", default="4")
    p.add_argument("--lists", default="0,auto", help="comma list: 0 (flat), auto, or a count")
    p.add_argument("--queries", type=int, default=100)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--simd", default=None, help="force a kernel set on both sides (e.g. avx2)")
    p.add_argument("--lib", default=str(HERE / "libtqcore.so"))
    p.add_argument("--out-dir", default=str(HERE / "results"))
    args = p.parse_args(argv)
    if args.dsn is None:
        with pg.TempCluster({"shared_buffers": "'512MB'"}) as cluster:
            rows = run(args, cluster.dsn)
    else:
        rows = run(args, args.dsn)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"sql-overhead-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({"hardware": envinfo.hardware_line(), "args": vars(args), "rows": rows},
                               indent=1) + "\n")
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
