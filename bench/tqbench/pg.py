"""PostgreSQL plumbing: a throwaway cluster, connections, binary vectors, binary COPY.

tqvector and pgvector's vector share one binary wire format (int16 dim, int16 unused = 0,
dim x float4, all big-endian), so the same encoder serves both types; only the type OID differs.
"""
from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import psycopg
from psycopg.adapt import Dumper
from psycopg.pq import Format

COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
COPY_TRAILER = struct.pack(">h", -1)


def vector_bytes(a):
    """One vector in the binary send/recv form."""
    a = np.asarray(a, dtype=np.float32).ravel()
    return struct.pack(">hh", a.shape[0], 0) + a.astype(">f4").tobytes()


def register_vector(conn, typname):
    """Makes numpy float arrays bind as `typname` (tqvector or vector) in binary on conn."""
    oid = conn.execute("SELECT to_regtype(%s)::oid", (typname,)).fetchone()[0]
    if not oid:
        raise LookupError(f"type {typname} does not exist")

    class VectorBinaryDumper(Dumper):
        format = Format.BINARY

        def dump(self, obj):
            return vector_bytes(obj)

    VectorBinaryDumper.oid = oid
    conn.adapters.register_dumper(np.ndarray, VectorBinaryDumper)
    return oid


def copy_rows(vectors, first_id=0, ids=None):
    """Binary COPY rows (id int8, v <vector type>) for a block of vectors, built with numpy.

    Ids are first_id, first_id + 1, ... unless `ids` (one per vector) is given."""
    n, d = vectors.shape
    row = np.dtype([("nf", ">i2"), ("l1", ">i4"), ("id", ">i8"), ("l2", ">i4"),
                    ("dim", ">i2"), ("unused", ">i2"), ("v", ">f4", (d,))])
    out = np.empty(n, dtype=row)
    out["nf"] = 2
    out["l1"] = 8
    out["id"] = np.arange(first_id, first_id + n) if ids is None else np.asarray(ids, dtype=np.int64)
    out["l2"] = 4 + 4 * d
    out["dim"] = d
    out["unused"] = 0
    out["v"] = vectors
    return out.tobytes()


def copy_vectors(conn, table, vectors, chunk=5000, progress=None, ids=None):
    """Loads vectors with ids 0..n-1 (or `ids`) into table(id, v) with one binary COPY."""
    n = vectors.shape[0]
    with conn.cursor() as cur:
        with cur.copy(f"COPY {table} (id, v) FROM STDIN WITH (FORMAT BINARY)") as cp:
            cp.write(COPY_HEADER)
            for s in range(0, n, chunk):
                block = np.ascontiguousarray(vectors[s:s + chunk], dtype=np.float32)
                cp.write(copy_rows(block, s, None if ids is None else ids[s:s + chunk]))
                if progress:
                    progress(block.shape[0])
            cp.write(COPY_TRAILER)


def connect(dsn, **kw):
    """An autocommit connection (dsn "" means libpq environment variables)."""
    return psycopg.connect(dsn, autocommit=True, **kw)


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bindir():
    out = subprocess.run(["pg_config", "--bindir"], check=True, capture_output=True, text=True)
    return Path(out.stdout.strip())


class TempCluster:
    """A throwaway cluster: initdb in a temporary folder, listening on 127.0.0.1 only.

    As root the server runs as the `postgres` OS user (initdb refuses root).  Trust
    authentication is safe here only because nothing but loopback can reach it.
    """

    def __init__(self, settings=None, keep=False):
        self.settings = dict(settings or {})
        self.keep = keep
        self.dir = None
        self.port = None

    def _run(self, args, **kw):
        prefix = []
        if os.geteuid() == 0:
            prefix = ["runuser", "-u", "postgres", "--"]
        return subprocess.run(prefix + [str(a) for a in args], check=True, capture_output=True, text=True, **kw)

    def __enter__(self):
        bindir = pg_bindir()
        self.dir = Path(tempfile.mkdtemp(prefix="tqbench-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        data = self.dir / "data"
        self.port = _free_port()
        self._run([bindir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                   "--no-sync", "--locale=C"])
        conf = {"listen_addresses": "'127.0.0.1'", "port": self.port,
                "unix_socket_directories": f"'{self.dir}'", "fsync": "off",
                "synchronous_commit": "off", "full_page_writes": "off"}
        conf.update(self.settings)
        with open(data / "postgresql.auto.conf", "a") as f:
            for k, v in conf.items():
                f.write(f"{k} = {v}\n")
        try:
            self._run([bindir / "pg_ctl", "-D", data, "-l", self.dir / "server.log", "-w", "-t", "60", "start"])
        except subprocess.CalledProcessError as e:
            log = (self.dir / "server.log").read_text() if (self.dir / "server.log").exists() else ""
            raise RuntimeError(f"temporary cluster failed to start: {e.stderr}\n{log}") from e
        return self

    @property
    def dsn(self):
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    def __exit__(self, *exc):
        try:
            self._run([pg_bindir() / "pg_ctl", "-D", self.dir / "data", "-m", "fast", "-w", "stop"])
        except subprocess.CalledProcessError:
            pass
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def server_info(conn):
    """PostgreSQL version and the settings that move benchmark numbers."""
    names = ["shared_buffers", "work_mem", "maintenance_work_mem", "effective_cache_size",
             "max_parallel_workers_per_gather", "max_parallel_maintenance_workers", "jit",
             "fsync", "synchronous_commit"]
    return {"version": conn.execute("SELECT version()").fetchone()[0],
            "server_version_num": int(conn.execute("SHOW server_version_num").fetchone()[0]),
            "settings": {n: conn.execute("SELECT current_setting(%s)", (n,)).fetchone()[0] for n in names}}


def try_extension(conn, name):
    """(installed version, None) after CREATE EXTENSION IF NOT EXISTS, or (None, reason)."""
    try:
        conn.execute(f"CREATE EXTENSION IF NOT EXISTS {name}")
    except psycopg.Error as e:
        return None, str(e).strip().splitlines()[0]
    v = conn.execute("SELECT extversion FROM pg_extension WHERE extname = %s", (name,)).fetchone()
    return v[0], None


def relation_sizes(conn, rel):
    """Heap and total (with TOAST and indexes) size of a relation in bytes."""
    r = conn.execute("SELECT pg_relation_size(%s::regclass), pg_table_size(%s::regclass),"
                     " pg_total_relation_size(%s::regclass)", (rel, rel, rel)).fetchone()
    return {"heap_bytes": r[0], "table_bytes": r[1], "total_bytes": r[2]}


def wait_ready(dsn, timeout=30):
    t0 = time.time()
    while True:
        try:
            with connect(dsn):
                return
        except psycopg.OperationalError:
            if time.time() - t0 > timeout:
                raise
            time.sleep(0.2)


def turboquant_session(conn, simd=None):
    """Readies a measurement script's connection: the extension, its library loaded (so its GUCs
    exist), `simd` forced when given; returns the kernel set in force."""
    conn.execute("CREATE EXTENSION IF NOT EXISTS turboquant")
    conn.execute("SELECT '[1]'::tqvector")
    if simd:
        conn.execute("SELECT set_config('turboquant.simd', %s, false)", (simd,))
    return conn.execute("SHOW turboquant.simd").fetchone()[0]


def add_measurement_args(p, n, dims, bits, rounds, rounds_help=None, simd_help="force a kernel set (e.g. avx2)"):
    """The arguments the measurement scripts share (server, table size, dims, bits, rounds, seed,
    kernel set); each adds its own and --out-dir after them."""
    p.add_argument("--dsn", default=None, help="an existing server (\"\" = libpq environment); "
                   "default: a throwaway cluster")
    p.add_argument("--n", type=int, default=n)
    p.add_argument("--dims", default=dims)
    p.add_argument("--bits", default=bits)
    p.add_argument("--rounds", type=int, default=rounds, help=rounds_help)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--simd", default=None, help=simd_help)


def run_and_save(run, args, settings, out_dir, prefix):
    """The measurement scripts' common ending: run(args, dsn) on args.dsn (None: a throwaway
    cluster with `settings`), then their rows, hardware line and arguments to
    out_dir/<prefix>-<local time>.json, whose path is returned."""
    import json

    from . import envinfo

    if args.dsn is None:
        with TempCluster(settings) as cluster:
            rows = run(args, cluster.dsn)
    else:
        rows = run(args, args.dsn)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({"hardware": envinfo.hardware_line(), "args": vars(args), "rows": rows},
                               indent=1) + "\n")
    print(f"\nresults: {path}")
    return path
