#!/usr/bin/env python3
"""turboquant from Python: psycopg 3 + numpy.

Loads vectors with binary COPY into a temporary table of its own (it never touches
your tables, and is gone when the connection closes), builds a turboquant index and
queries it with a numpy array as the parameter.  Run:

    python3 examples/python_example.py ["postgresql connection string"]

(with no argument, libpq's defaults and environment variables PGHOST, PGDATABASE, ...
choose the database; the turboquant extension must be installed in it or creatable).
"""
import struct
import sys

import numpy as np
import psycopg
from psycopg.adapt import Dumper, Loader
from psycopg.pq import Format
from psycopg.types import TypeInfo


def register_tqvector(conn):
    """numpy float arrays <-> tqvector, in binary (int16 dim, int16 0, dim x float4, big-endian)."""
    info = TypeInfo.fetch(conn, "tqvector")
    if info is None:
        raise RuntimeError("tqvector not found: run CREATE EXTENSION turboquant first")
    info.register(conn)

    class TqvectorDumper(Dumper):
        format = Format.BINARY
        oid = info.oid

        def dump(self, obj):
            a = np.asarray(obj, dtype=">f4")
            return struct.pack(">hh", a.shape[0], 0) + a.tobytes()

    class TqvectorBinaryLoader(Loader):
        format = Format.BINARY

        def load(self, data):
            dim, _ = struct.unpack_from(">hh", data)
            return np.frombuffer(data, dtype=">f4", count=dim, offset=4).astype(np.float32)

    class TqvectorTextLoader(Loader):
        def load(self, data):
            return np.array(bytes(data).decode()[1:-1].split(","), dtype=np.float32)

    conn.adapters.register_dumper(np.ndarray, TqvectorDumper)
    conn.adapters.register_loader(info.oid, TqvectorBinaryLoader)
    conn.adapters.register_loader(info.oid, TqvectorTextLoader)


def main(dsn="", n=10_000, dim=128, bits=4):
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((n, dim), dtype=np.float32)

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS turboquant")
        register_tqvector(conn)
        # A temporary table: private to this connection, dropped when it closes.
        conn.execute(f"CREATE TEMPORARY TABLE example_items (id bigint PRIMARY KEY, embedding tqvector({dim}))")

        # Load with binary COPY: fast, and no text formatting of floats.
        with conn.cursor().copy("COPY example_items (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "tqvector"])
            for i, v in enumerate(vectors):
                copy.write_row((i, v))

        conn.execute("CREATE INDEX ON example_items USING turboquant (embedding tqvector_cosine_ops) "
                     f"WITH (bits = {bits})")
        conn.execute("ANALYZE example_items")

        # Query with a numpy array; turboquant.rerank = candidates re-ranked with exact distances.
        conn.execute("SET turboquant.rerank = 100")
        query = vectors[42] + 0.01 * rng.standard_normal(dim, dtype=np.float32)
        rows = conn.execute("SELECT id, embedding <=> %s AS distance FROM example_items "
                            "ORDER BY embedding <=> %s LIMIT 5", (query, query)).fetchall()
        for id_, distance in rows:
            print(f"{id_:>6}  {distance:.4f}")

        # Vectors come back as numpy arrays.
        v = conn.execute("SELECT embedding FROM example_items WHERE id = %s", (rows[0][0],)).fetchone()[0]
        print("nearest vector:", v[:4], "...")
        return rows, v


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")
