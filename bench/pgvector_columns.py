#!/usr/bin/env python3
"""The turboquant index on pgvector's own columns, beside pgvector's HNSW on the same table.

    python3 bench/pgvector_columns.py [--dataset npm-use512] [--out bench/results/pgvector-columns-X.json]

One table with a `vector(d)` and a `halfvec(d)` column holding the same data set
(bench/tqbench/datasets.py: npm-use512 by default; the halfvec column is the
vector rounded by pgvector's own cast), cosine distance.  For each column: a
turboquant index (turboquant_pgvector's vector_cosine_ops / halfvec_cosine_ops)
at 2 and 4 bits, then pgvector's HNSW (m = 16, ef_construction = 64), one index
at a time.  Every query (1,000) runs once per setting from one client,
prepared; recall@10 against the exact top 10 computed here in float64 from the
column's own values (float16-rounded for halfvec).  Needs pgvector and
turboquant_pgvector in the database (PG* environment or DATABASE_URL).
"""
import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tqbench.datasets import load_named  # noqa: E402


def exact_top(base, queries, k=10):
    b = base.astype(np.float64)
    b /= np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-300)
    q = queries.astype(np.float64)
    q /= np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-300)
    sims = q @ b.T
    top = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return top


def literal(v):
    return "[" + ",".join(repr(float(x)) for x in v) + "]"


def run_queries(conn, col, cast, queries, k=10):
    sql = f"SELECT id FROM pgv_bench ORDER BY {col} <=> %s::{cast} LIMIT {k}"
    lits = [literal(q) for q in queries]
    out = []
    with conn.cursor() as cur:
        cur.execute(sql, (lits[0],), prepare=True)       # warm the plan and the caches
        cur.fetchall()
        t0 = time.perf_counter()
        for s in lits:
            cur.execute(sql, (s,), prepare=True)
            out.append([r[0] for r in cur.fetchall()])
        wall = time.perf_counter() - t0
    return out, wall


def recall(got, truth, k=10):
    return float(np.mean([len(set(g[:k]) & set(t[:k].tolist())) / k for g, t in zip(got, truth)]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="npm-use512")
    ap.add_argument("--nq", type=int, default=1000)
    ap.add_argument("--out")
    args = ap.parse_args()
    ds = load_named(args.dataset, "cosine")
    base, queries = ds.base, ds.queries[:args.nq]
    n, d = base.shape
    half = base.astype(np.float16).astype(np.float32)
    qhalf = queries.astype(np.float16).astype(np.float32)
    truth = {"vector": exact_top(base, queries), "halfvec": exact_top(half, qhalf)}
    rows = []
    with psycopg.connect(os.environ.get("DATABASE_URL", ""), autocommit=True) as conn:
        cur = conn.cursor()
        for ext in ("vector", "turboquant", "turboquant_pgvector"):
            cur.execute(f"CREATE EXTENSION IF NOT EXISTS {ext}")
        cur.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        pgv = cur.fetchone()[0]
        cur.execute("DROP TABLE IF EXISTS pgv_bench")
        cur.execute(f"CREATE TABLE pgv_bench (id int PRIMARY KEY, v vector({d}), h halfvec({d}))")
        with cur.copy("COPY pgv_bench (id, v) FROM STDIN") as copy:
            for i, x in enumerate(base):
                copy.write_row((i, literal(x)))
        cur.execute("UPDATE pgv_bench SET h = v::halfvec")
        cur.execute("VACUUM ANALYZE pgv_bench")
        cur.execute("SET maintenance_work_mem = '1GB'")
        cur.execute("SET enable_seqscan = off")
        configs = [("turboquant", "bits = 2, lists = 0", [("turboquant.rerank", 200)]),
                   ("turboquant", "bits = 4, lists = 0", [("turboquant.rerank", 200)]),
                   ("hnsw", "m = 16, ef_construction = 64",
                    [("hnsw.ef_search", 40), ("hnsw.ef_search", 100), ("hnsw.ef_search", 200)])]
        for col, typ in (("v", "vector"), ("h", "halfvec")):
            qs = queries if typ == "vector" else qhalf
            for am, opts, settings in configs:
                t0 = time.perf_counter()
                cur.execute(f"CREATE INDEX pgv_bench_idx ON pgv_bench USING {am} ({col} {typ}_cosine_ops) "
                            f"WITH ({opts})")
                build = time.perf_counter() - t0
                cur.execute("SELECT pg_relation_size('pgv_bench_idx')")
                size = cur.fetchone()[0]
                cur.execute(f"EXPLAIN (COSTS OFF) SELECT id FROM pgv_bench ORDER BY {col} <=> %s::{typ} LIMIT 10",
                            (literal(qs[0]),))
                plan = " ".join(r[0].strip() for r in cur.fetchall())
                assert "pgv_bench_idx" in plan, plan
                for name, val in settings:
                    cur.execute(f"SET {name} = {val}")
                    got, wall = run_queries(conn, col, typ, qs)
                    row = dict(column=typ, index=am, options=opts, setting=f"{name}={val}",
                               recall_at_10=round(recall(got, truth[typ]), 4),
                               qps=round(len(qs) / wall, 1), build_s=round(build, 2),
                               index_mib=round(size / 2**20, 2))
                    rows.append(row)
                    print(json.dumps(row), flush=True)
                    cur.execute(f"RESET {name}")
                cur.execute("DROP INDEX pgv_bench_idx")
        cur.execute("DROP TABLE pgv_bench")
        cur.execute("SELECT version()")
        pgversion = cur.fetchone()[0]
    doc = dict(what="turboquant index on vector and halfvec columns vs pgvector HNSW, same table",
               dataset=dict(name=args.dataset, n=n, dim=d, nq=len(queries), metric="cosine"),
               started_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               machine=dict(cpu=platform.processor() or platform.machine(), cpus=os.cpu_count()),
               postgres=pgversion, pgvector=pgv, command=" ".join(["python3", "bench/pgvector_columns.py"] + sys.argv[1:]),
               note="one client, prepared statements, machine shared with other work: QPS indicative, recall exact",
               rows=rows)
    out = args.out or f"bench/results/pgvector-columns-{args.dataset}-{datetime.datetime.now():%Y%m%d-%H%M%S}.json"
    Path(out).write_text(json.dumps(doc, indent=1) + "\n")
    print("wrote", out)


if __name__ == "__main__":
    main()
