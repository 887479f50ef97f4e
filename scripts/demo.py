#!/usr/bin/env python3
"""The README's demo: a similarity search over npm package summaries.

Loads ../shared/data/npm-use512 (20,000 Universal Sentence Encoder embeddings
and their texts) into a tqvector table with binary COPY, builds a turboquant
index at 2 bits, and asks for the packages nearest to a few held-out ones,
beside the exact answer.  Without the data set (a fresh clone has no
../shared) it says so first and searches seeded synthetic vectors: it then
shows only that the index answers like exact search, nothing about meaning.  Connects with the usual PG* environment variables (the
demo script runs it inside a throwaway cluster).
"""
import gzip
import json
import os
import struct
import sys
import time

import numpy as np
import psycopg

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.environ.get("TQ_DATA_DIR", os.path.join(HERE, "..", "..", "shared", "data"))


def read_fvecs(path):
    raw = np.fromfile(path, dtype=np.int32)
    dim = raw[0]
    return raw.reshape(-1, dim + 1)[:, 1:].view(np.float32)


def read_texts(path):
    with gzip.open(path, "rt") as f:
        return [json.loads(line) for line in f]


def tqvector_binary(v):
    """tqvector's binary form: int16 dim, int16 unused, float4 big-endian."""
    return struct.pack(">hh", len(v), 0) + np.asarray(v, dtype=">f4").tobytes()


def main():
    root = os.path.join(DATA, "npm-use512")
    if os.path.exists(os.path.join(root, "base.fvecs")):
        base, queries = read_fvecs(os.path.join(root, "base.fvecs")), read_fvecs(os.path.join(root, "query.fvecs"))
        texts, qtexts = read_texts(os.path.join(root, "base_texts.jsonl.gz")), read_texts(os.path.join(root, "query_texts.jsonl.gz"))
    else:
        print("=" * 78)
        print(f"NO REAL DATA: the npm-use512 embeddings are not at {root}.")
        print("This run searches 20,000 RANDOM SYNTHETIC vectors instead: the 'nearest'")
        print("items below are noise, not meaning; they only show that the index returns")
        print("what exact search returns.  Set TQ_DATA_DIR to a directory holding")
        print("npm-use512/ to search real embeddings.")
        print("=" * 78)
        rng = np.random.default_rng(7)
        base = rng.standard_normal((20000, 512)).astype(np.float32)
        queries = base[:5] + 0.1 * rng.standard_normal((5, 512)).astype(np.float32)
        texts = [f"synthetic item {i}" for i in range(len(base))]
        qtexts = [f"near item {i}" for i in range(5)]

    with psycopg.connect(autocommit=True) as conn:
        cur = conn.cursor()
        cur.execute("CREATE EXTENSION IF NOT EXISTS turboquant")
        cur.execute("DROP TABLE IF EXISTS packages")
        cur.execute(f"CREATE TABLE packages (id int PRIMARY KEY, summary text, embedding tqvector({base.shape[1]}))")
        t0 = time.time()
        with cur.copy("COPY packages (id, summary, embedding) FROM STDIN WITH (FORMAT binary)") as copy:
            copy.set_types(["int4", "text", "bytea"])
            for i, (v, t) in enumerate(zip(base, texts)):
                copy.write_row((i, t, tqvector_binary(v)))
        print(f"loaded {len(base):,} vectors of {base.shape[1]} dimensions in {time.time() - t0:.1f} s")
        cur.execute("VACUUM ANALYZE packages")
        t0 = time.time()
        cur.execute("CREATE INDEX ON packages USING turboquant (embedding tqvector_cosine_ops) WITH (bits = 2)")
        print(f"built the turboquant index (2 bits) in {time.time() - t0:.2f} s")
        cur.execute("SELECT pg_size_pretty(pg_relation_size('packages_embedding_idx')), "
                    "pg_size_pretty(pg_total_relation_size('packages'))")
        isz, tsz = cur.fetchone()
        print(f"index {isz}, table {tsz}\n")

        q = "[" + ",".join(repr(float(x)) for x in queries[0]) + "]"
        cur.execute("EXPLAIN (COSTS OFF) SELECT id FROM packages ORDER BY embedding <=> %s::tqvector LIMIT 5", (q,))
        print("\n".join(r[0] if len(r[0]) < 90 else r[0][:86] + " ...)" for r in cur.fetchall()), "\n")
        for qi in range(3):
            q = "[" + ",".join(repr(float(x)) for x in queries[qi]) + "]"
            t0 = time.perf_counter()
            cur.execute("SELECT id, summary, round((embedding <=> %s::tqvector)::numeric, 4) "
                        "FROM packages ORDER BY embedding <=> %s::tqvector LIMIT 5", (q, q))
            rows = cur.fetchall()
            ms = (time.perf_counter() - t0) * 1000
            cur.execute("SET enable_indexscan = off")
            cur.execute("SELECT id FROM packages ORDER BY embedding <=> %s::tqvector LIMIT 5", (q,))
            exact = [r[0] for r in cur.fetchall()]
            cur.execute("RESET enable_indexscan")
            print(f"nearest to \"{qtexts[qi]}\"  ({ms:.1f} ms, same as exact search: {[r[0] for r in rows] == exact})")
            for r in rows:
                print(f"   {r[2]}  {r[1]}")
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
