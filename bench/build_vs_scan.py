#!/usr/bin/env python3
"""Index build throughput against a sequential scan of the same table.

Issue 9 asks that encoding (rotation, quantization, packing) keep a build close to the time
PostgreSQL needs just to read the table once.  For each dimension, on synthetic Gaussian vectors
(no private data needed), in one backend, without parallel workers:
  scan    `SELECT count(*) FROM t WHERE tqvector_l2_squared_distance(v, v) >= 0`: every row read
          and its vector detoasted once, as a build reads it (the distance of a vector to itself
          is a cheap pass over its floats);
  flat    `CREATE INDEX ... WITH (lists = 0, bits = B)`: read, encode, pack and write every row
          (the flat build is the encoding path alone: no sampling, training or sort);
  lists   the default partitioned build (sampling, k-means, assigning and encoding, sort,
          writing), for scale.
Scan and builds alternate, --rounds times; each reports its best round (the least disturbed on a
shared machine) as wall time and the backend's CPU time, and the ratio build / scan.

  python3 bench/build_vs_scan.py [--dsn "host=... port=..."] [--n 200000] [--dims 384,768,1536]
                                 [--bits 2,4] [--rounds 3] [--simd avx2]
Without --dsn it starts a throwaway cluster (bench/tqbench/pg.py) with the extension installed in
the PostgreSQL that pg_config names.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from tqbench import envinfo, pg  # noqa: E402
from sql_overhead import backend_cpu  # noqa: E402


def timed(conn, pid, sql):
    """(wall s, backend CPU s or None) of one statement."""
    c0 = backend_cpu(pid)
    t0 = time.perf_counter()
    conn.execute(sql)
    wall = time.perf_counter() - t0
    c1 = backend_cpu(pid)
    return wall, (None if c0 is None or c1 is None else c1 - c0)


def best(samples):
    """Best wall and best CPU of several (wall, cpu) samples."""
    walls = [w for w, _ in samples]
    cpus = [c for _, c in samples if c is not None]
    return min(walls), (min(cpus) if cpus else None)


def run(args, dsn):
    rng = np.random.default_rng(args.seed)
    rows = []
    with pg.connect(dsn) as conn:
        simd = pg.turboquant_session(conn, args.simd)
        conn.execute("SET max_parallel_workers_per_gather = 0")
        conn.execute("SET max_parallel_maintenance_workers = 0")
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        print(f"# {envinfo.hardware_line()}")
        print(f"# kernel set {simd}; {args.n} rows; best of {args.rounds} rounds; one backend, "
              "no parallel workers")
        print("| d | bits | build | scan s | build s | build / scan | scan CPU s | build CPU s "
              "| CPU ratio | build rows/s |")
        print("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
        for d in [int(x) for x in args.dims.split(",")]:
            table = f"tq_build_vs_scan_{d}"
            conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.execute(f"CREATE TABLE {table} (id int8, v tqvector({d}))")
            pg.copy_vectors(conn, table, rng.standard_normal((args.n, d), dtype=np.float32))
            conn.execute(f"VACUUM ANALYZE {table}")
            scan_sql = f"SELECT count(*) FROM {table} WHERE tqvector_l2_squared_distance(v, v) >= 0"
            conn.execute(scan_sql)  # warm: the table in cache
            for bits in [int(b) for b in args.bits.split(",")]:
                for kind in args.builds.split(","):
                    opts = f"bits = {bits}" + (", lists = 0" if kind == "flat" else "")
                    build_sql = (f"CREATE INDEX {table}_idx ON {table} USING turboquant "
                                 f"(v tqvector_cosine_ops) WITH ({opts})")
                    scans, builds = [], []
                    for _ in range(args.rounds):
                        scans.append(timed(conn, pid, scan_sql))
                        builds.append(timed(conn, pid, build_sql))
                        conn.execute(f"DROP INDEX {table}_idx")
                    sw, sc = best(scans)
                    bw, bc = best(builds)
                    row = {"dim": d, "bits": bits, "build": kind, "n": args.n, "scan_s": sw,
                           "build_s": bw, "scan_cpu_s": sc, "build_cpu_s": bc, "ratio": bw / sw,
                           "cpu_ratio": None if not sc or bc is None else bc / sc}
                    rows.append(row)
                    cpu = "- | - | -" if row["cpu_ratio"] is None else \
                        f"{sc:.3f} | {bc:.3f} | {row['cpu_ratio']:.2f}"
                    print(f"| {d} | {bits} | {kind} | {sw:.3f} | {bw:.3f} | {row['ratio']:.2f} | "
                          f"{cpu} | {args.n / bw:,.0f} |", flush=True)
            conn.execute(f"DROP TABLE {table}")
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(prog="bench/build_vs_scan.py", description=__doc__.split("\n\n")[0])
    pg.add_measurement_args(p, n=200_000, dims="384,768,1536", bits="2,4", rounds=3)
    p.add_argument("--builds", default="flat,lists", help="comma list of flat and lists")
    p.add_argument("--out-dir", default=str(HERE / "results"))
    args = p.parse_args(argv)
    return pg.run_and_save(run, args, {"shared_buffers": "'1GB'", "maintenance_work_mem": "'1GB'"}, args.out_dir, "build-vs-scan")


if __name__ == "__main__":
    main()
