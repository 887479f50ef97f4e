"""The SQL benchmark: load, build, query, measure, report.

Phases of one run (each prints as it goes and lands in one JSON file):
  1. dataset: resolve --dataset, compute exact ground truth when it is missing (cached);
  2. server: --dsn, or libpq environment variables (PGHOST, PGPORT, ...), or a throwaway
     cluster on 127.0.0.1 (--temp-cluster, the default when neither is given);
  3. per engine family that the server has:
       turboquant  table of tqvector loaded with binary COPY; exact sequential scan on a query
                   subset (the baseline); then per --tq-bits and --tq-lists an index (lists = 0:
                   flat; partitioned: swept over --tq-probes x --tq-rerank, turboquant.probes and
                   turboquant.rerank; flat: over --tq-rerank);
       pgvector    table of vector (same rows); exact scan; HNSW (m, ef_construction) swept over
                   hnsw.ef_search; IVFFlat per --ivf-lists (0 = sqrt(N)) swept over ivfflat.probes;
     every build is timed, with its phases as pg_stat_progress_create_index reports them;
  3b. --drift F: the table first holds only the rows on one side of the data's main direction
     (n / (1 + F) of them); after each index is measured, the other F * n / (1 + F) rows (a
     different distribution) are inserted through the index and the same settings are measured
     again against the ground truth of all rows ("<index> +drift" in the results);
  4. per setting and k: every query once, one at a time per client (`ORDER BY v <op> $1 LIMIT k`,
     prepared, binary parameter), recording recall@k, R@1@k, QPS and p50/p99 latency;
     with several --clients the queries are shared out and QPS is the aggregate;
  5. JSON under --out-dir and PNG charts; a summary of QPS at recall@10 thresholds as ratios
     against the best HNSW setting measured in the same run, build time and size ratios.

Nothing is tuned to a dataset: every knob is a flag with a documented default (docs/benchmark.md).
Timing never feeds back into what is run.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np
from psycopg import sql as psql

from . import datasets, drift, envinfo, groundtruth, metrics, pg

ENGINES = ("exact", "turboquant", "pgvector-hnsw", "pgvector-ivfflat")
OPERATORS = {"cosine": "<=>", "l2": "<->", "ip": "<#>"}
TQ_OPCLASS = {"cosine": "tqvector_cosine_ops", "l2": "tqvector_l2_ops", "ip": "tqvector_ip_ops"}
PGV_OPCLASS = {"cosine": "vector_cosine_ops", "l2": "vector_l2_ops", "ip": "vector_ip_ops"}
PGV_MAX_INDEX_DIM = 2000
TQ_TABLE, PGV_TABLE = "tqbench_tq", "tqbench_pgv"
PGV_IVF_TABLE = "tqbench_pgv_ivf"   # --reuse-tables: IVFFlat on its own copy, away from the kept HNSW index
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "results"
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "turboquant-bench"


def int_list(s):
    return [int(x) for x in str(s).split(",") if x.strip() != ""]


def str_list(s):
    return [x.strip() for x in str(s).split(",") if x.strip()]


def build_parser():
    p = argparse.ArgumentParser(
        prog="bench/run.py",
        description="turboquant SQL benchmark: recall, QPS, latency, build time and size against "
                    "exact search and pgvector.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    d = p.add_argument_group("dataset")
    d.add_argument("--dataset", default="synthetic",
                   help="synthetic | npm-use512 | debian-fasttext300 | a folder (base.*, query.*, gt_*.ivecs) "
                        "| an ann-benchmarks .hdf5 file | files (with --base/--query)")
    d.add_argument("--metric", default="cosine", choices=datasets.METRICS)
    d.add_argument("--n", type=int, default=None,
                   help="base rows (synthetic: default 100000; real sets: all; fewer = prefix, ground truth recomputed)")
    d.add_argument("--dim", type=int, default=512, help="synthetic dimension")
    d.add_argument("--nq", type=int, default=1000, help="queries (first nq of the set)")
    d.add_argument("--clusters", type=int, default=512, help="synthetic cluster count")
    d.add_argument("--decay", type=float, default=1.0, help="synthetic spectrum decay (anisotropy)")
    d.add_argument("--spread", type=float, default=1.0, help="synthetic within-cluster / between-cluster std")
    d.add_argument("--offset", type=float, default=1.3, help="synthetic common mean, relative norm")
    d.add_argument("--seed", type=int, default=42, help="synthetic seed")
    d.add_argument("--data-dir", default=str(datasets.DEFAULT_DATA_DIR), help="folder of the named real sets")
    d.add_argument("--base", help="base vectors file (.fvecs/.bvecs/.npy) with --dataset files")
    d.add_argument("--query", help="query vectors file with --dataset files")
    d.add_argument("--gt", help="ground-truth ids (.ivecs/.npy) for --metric; computed when absent")
    d.add_argument("--cache-dir", default=str(DEFAULT_CACHE), help="computed ground truth cache ('' = off)")

    s = p.add_argument_group("server")
    s.add_argument("--dsn", default=None, help="libpq connection string; default: PG* environment if set, "
                                                "else a throwaway cluster")
    s.add_argument("--temp-cluster", action="store_true", help="always use a throwaway cluster on 127.0.0.1")
    s.add_argument("--pg-setting", action="append", default=[], metavar="NAME=VALUE",
                   help="extra postgresql.conf line for the throwaway cluster (repeatable)")
    s.add_argument("--shared-buffers", default="1GB", help="throwaway cluster shared_buffers")
    s.add_argument("--maintenance-work-mem", default="2GB", help="SET before every CREATE INDEX")
    s.add_argument("--keep-tables", action="store_true", help="leave the tqbench_* tables in place")
    s.add_argument("--reuse-tables", action="store_true",
                   help="keep the tables and the HNSW index, and reuse them in a later run when they hold "
                        "the same rows (dataset fingerprint) and the HNSW index has the same m and "
                        "ef_construction (its build time and size are those of the run that built it); "
                        "IVFFlat then runs on its own copy of the rows, where the kept HNSW index cannot "
                        "answer its queries")

    e = p.add_argument_group("what to run")
    e.add_argument("--engines", default=",".join(ENGINES), help="comma list of " + ", ".join(ENGINES))
    e.add_argument("--skip-turboquant", action="store_true", help="do not use the turboquant extension at all")
    e.add_argument("--skip-pgvector", action="store_true", help="do not use the vector extension at all")
    e.add_argument("--k", default="10,100", help="LIMIT values")
    e.add_argument("--clients", default="1,2",
                   help="concurrent clients; counts above 1 run for the smallest k only")
    e.add_argument("--warmup", type=int, default=20, help="untimed queries per client before each measurement")
    e.add_argument("--exact-queries", type=int, default=50,
                   help="queries for the exact sequential-scan baseline (on the first table loaded)")
    e.add_argument("--parallel-workers", type=int, default=None,
                   help="max_parallel_maintenance_workers SET before every CREATE INDEX (all engines "
                        "alike); default: the server's setting")
    e.add_argument("--drift", type=float, default=0.0,
                   help="build on n/(1+F) rows from one side of the data's main direction, then insert "
                        "the other F*n/(1+F) rows and measure again (0 = off; the issue's scenario is 0.5)")
    e.add_argument("--thresholds", default="0.95,0.99", help="recall@10 levels of the summary")

    t = p.add_argument_group("turboquant")
    t.add_argument("--tq-bits", default="2,3,4", help="one index per value")
    t.add_argument("--tq-options", default="", help="extra index options, e.g. 'seed=7' (appended to WITH)")
    t.add_argument("--tq-rerank", default="0,20,50,100,200", help="turboquant.rerank sweep")
    t.add_argument("--tq-lists", default="default",
                   help="one index per value: an integer (lists = N; 0 = flat) or 'default' (no lists "
                        "option: the access method chooses)")
    t.add_argument("--tq-probes", default="1,2,4,8,16,32",
                   help="turboquant.probes sweep for partitioned indexes (values above lists are skipped)")

    v = p.add_argument_group("pgvector")
    v.add_argument("--hnsw-m", type=int, default=16)
    v.add_argument("--hnsw-ef-construction", type=int, default=64)
    v.add_argument("--hnsw-ef-search", default="10,20,40,100,200,400",
                   help="hnsw.ef_search sweep (values below k are skipped: HNSW returns at most ef_search rows)")
    v.add_argument("--ivf-lists", default="0", help="one IVFFlat index per value; 0 = round(sqrt(N))")
    v.add_argument("--ivf-probes", default="1,2,4,8,16,32", help="ivfflat.probes sweep")

    from . import sharded

    sharded.add_arguments(p)

    o = p.add_argument_group("output")
    o.add_argument("--out-dir", default=str(DEFAULT_OUT), help="where the JSON and PNG files go")
    o.add_argument("--tag", default="", help="appended to the result file name")
    o.add_argument("--no-charts", action="store_true")
    o.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


# ---- printing ------------------------------------------------------------------------------

class Printer:
    """A readable table on stdout, one line per measurement, as they happen."""

    HEAD = (f"{'engine':<18} {'index':<22} {'setting':<24} {'k':>4} {'cl':>3} {'recall':>7} "
            f"{'R@1@1':>6} {'QPS':>9} {'p50 ms':>8} {'p99 ms':>8}")

    def __init__(self, out=sys.stdout):
        self.out = out
        self.headed = False

    def say(self, msg):
        print(msg, file=self.out, flush=True)

    def row(self, r):
        if not self.headed:
            self.say(self.HEAD)
            self.say("-" * len(self.HEAD))
            self.headed = True
        setting = ",".join(f"{k.split('.')[-1]}={v}" for k, v in r["settings"].items()) or "-"
        r11 = r["r1_at_k"].get("1", float("nan"))
        self.say(f"{r['engine']:<18} {r['index']:<22} {setting:<24} {r['k']:>4} {r['clients']:>3} "
                 f"{r['recall']:>7.4f} {r11:>6.3f} {r['qps']:>9.1f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f}")


def progress_bar(total, desc, enabled):
    """A tqdm bar (or a no-op) with an update(n) method."""
    if enabled:
        try:
            from tqdm import tqdm

            return tqdm(total=total, desc=desc, unit="rows", unit_scale=True, leave=False,
                        file=sys.stderr, dynamic_ncols=True)
        except ImportError:
            pass

    class Null:
        def update(self, n=1):
            pass

        def close(self):
            pass

    return Null()


# ---- dataset + ground truth ---------------------------------------------------------------

def prepare_dataset(args, printer, kmax):
    synth = datasets.SyntheticSpec(n=args.n or 100_000, dim=args.dim, nq=args.nq, clusters=args.clusters,
                                   decay=args.decay, spread=args.spread, offset=args.offset, seed=args.seed)
    t0 = time.perf_counter()
    ds = datasets.load(args.dataset, args.metric, n=args.n, nq=args.nq, data_dir=args.data_dir,
                       synth=synth, base=args.base, query=args.query, gt=args.gt, in_memory=False)
    printer.say(f"dataset {ds.name}: n={ds.n} dim={ds.dim} queries={ds.nq} metric={ds.metric} "
                f"({time.perf_counter() - t0:.1f} s)")
    if ds.gt is not None and ds.gt.shape[1] >= kmax:
        ds.info["ground_truth"] = "provided"
        return ds
    cache = None
    if args.cache_dir:
        cache = Path(args.cache_dir) / f"gt-{datasets.fingerprint(ds)}-k{kmax}.npy"
        if cache.exists():
            ds.gt = np.load(cache)
            ds.info["ground_truth"] = f"computed (cached {cache.name})"
            printer.say(f"ground truth: cached {cache}")
            return ds
    t0 = time.perf_counter()
    bar = progress_bar(100, "ground truth %", not args.no_progress)
    last = [0]

    def tick(done, total):
        pct = int(100 * done / total)
        bar.update(pct - last[0])
        last[0] = pct

    ds.gt, _ = groundtruth.knn(ds.base, ds.queries, k=kmax, metric=ds.metric, progress=tick)
    bar.close()
    ds.info["ground_truth"] = "computed"
    printer.say(f"ground truth: exact top-{kmax} computed in {time.perf_counter() - t0:.1f} s")
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, ds.gt)
    return ds


# ---- measurements ------------------------------------------------------------------------

@dataclasses.dataclass
class Target:
    """One table in the server and how to query it."""
    table: str
    typname: str
    engine_prefix: str  # "turboquant" or "pgvector"


def query_sql(target, metric, k):
    return f"SELECT id FROM {target.table} ORDER BY v {OPERATORS[metric]} %s LIMIT {int(k)}"


def session_setup(conn, typname, settings, index=False):
    pg.register_vector(conn, typname)
    conn.execute("SET jit = off")
    if index:
        # Measure the index even where the planner would pick a scan + sort (small tables).
        conn.execute("SET enable_seqscan = off")
    else:
        # The exact baseline: never an index (a kept HNSW index may exist with --reuse-tables).
        conn.execute("SET enable_indexscan = off")
        conn.execute("SET enable_bitmapscan = off")
    for name, value in settings.items():
        conn.execute(f"SET {name} = {value}")


def explain_node(dsn, target, metric, k, settings, query, index):
    """The scan node the planner picks: 'Index Scan using <name>' or 'Seq Scan' etc."""
    with pg.connect(dsn) as conn:
        session_setup(conn, target.typname, settings, index)
        plan = conn.execute("EXPLAIN (FORMAT JSON) " + query_sql(target, metric, k), (query,)).fetchone()[0]
    node = plan[0]["Plan"]
    while node.get("Plans") and node["Node Type"] in ("Limit", "Gather Merge", "Gather", "Sort", "Result"):
        if node["Node Type"] == "Sort":
            return "Sort over " + node["Plans"][0]["Node Type"]
        node = node["Plans"][0]
    return node["Node Type"] + (f" using {node['Index Name']}" if "Index Name" in node else "")


def measure(dsn, target, metric, queries, gt, k, clients, settings, warmup, index):
    """Runs every query once (shared out over `clients` connections); returns the row dict."""
    return measure_sql(dsn, query_sql(target, metric, k), target.typname, queries, gt, k, clients,
                       settings, warmup, index)


def measure_sql(dsn, sql, typname, queries, gt, k, clients, settings, warmup, index, keep=False):
    """measure() for any statement whose parameters are all the query vector (first column = id):
    %s placeholders (one parameter each) or %(q)s (one parameter, however often it appears).

    keep=True adds "_lat" (seconds per query) and "_rows" (every returned row) to the dict."""
    nq = queries.shape[0]
    named = "%(q)s" in sql   # one $1 however often the vector appears

    def params(vec):
        return {"q": vec} if named else (vec,) * sql.count("%s")

    conns = []
    try:
        for _ in range(clients):
            c = pg.connect(dsn)
            session_setup(c, typname, settings, index)
            conns.append(c)
        for c in conns:
            for i in range(min(warmup, nq)):
                c.execute(sql, params(queries[i]), prepare=True).fetchall()
        results = [None] * nq
        full = [None] * nq
        lat = np.zeros(nq)
        errors = []
        start = threading.Barrier(clients + 1)

        def work(ci):
            try:
                cur = conns[ci].cursor()
                start.wait()
                for i in range(ci, nq, clients):
                    t0 = time.perf_counter()
                    rows = cur.execute(sql, params(queries[i]), prepare=True).fetchall()
                    lat[i] = time.perf_counter() - t0
                    results[i] = [r[0] for r in rows]
                    if keep:
                        full[i] = rows
            except Exception as e:  # reported below, never swallowed
                errors.append(e)
                start.abort()

        threads = [threading.Thread(target=work, args=(ci,)) for ci in range(clients)]
        for t in threads:
            t.start()
        start.wait()
        t0 = time.perf_counter()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        if errors:
            raise errors[0]
    finally:
        for c in conns:
            c.close()
    ks = [kk for kk in metrics.R1_KS if kk <= k]
    extra = {"_lat": lat, "_rows": full} if keep else {}
    return {**extra, "k": k, "clients": clients, "nq": nq, "settings": dict(settings),
            "recall": metrics.recall_at_k(results, gt, k),
            "r1_at_k": metrics.r1_at_k(results, gt, ks),
            "rows_mean": float(np.mean([len(r) for r in results])),
            "qps": nq / wall, "wall_s": wall,
            "mean_ms": float(np.mean(lat) * 1000), "p50_ms": metrics.percentile_ms(lat, 50),
            "p99_ms": metrics.percentile_ms(lat, 99)}


def phase_durations(seen, total_s):
    """{phase: seconds} from (phase, first seen at) pairs polled during a build of total_s seconds."""
    out = {}
    for i, (name, t) in enumerate(seen):
        end = seen[i + 1][1] if i + 1 < len(seen) else total_s
        out[name] = out.get(name, 0.0) + max(0.0, end - t)
    return out


def tq_index_stats(conn, index):
    """tq_index_stats of a turboquant index as a dict (None when this build has no such function)."""
    try:
        with conn.transaction():
            cur = conn.execute("SELECT * FROM tq_index_stats(%s::regclass)", (index,))
            names = [c.name for c in cur.description]
            row = cur.fetchone()
    except Exception:
        return None
    return None if row is None else {n: (float(v) if isinstance(v, float) else v) for n, v in zip(names, row)}


def tq_index_lists(conn, index):
    """Lists of a turboquant index from tq_index_stats (None when unknown)."""
    st = tq_index_stats(conn, index)
    if st is None or st.get("lists") is None:
        return None
    return int(st["lists"])


class Run:
    """State of one benchmark run: the server, the dataset, the result document."""

    def __init__(self, args, ds, dsn, printer):
        self.args, self.ds, self.dsn, self.p = args, ds, dsn, printer
        self.ks = int_list(args.k)
        self.clients = int_list(args.clients)
        self.engines = set(str_list(args.engines))
        unknown = self.engines - set(ENGINES)
        if unknown:
            raise SystemExit(f"unknown engine(s): {', '.join(sorted(unknown))}")
        self.doc = {"indexes": [], "results": [], "skipped": [], "loads": {}, "drift": []}
        self.plan = None
        self.gt = ds.gt
        if args.reuse_tables and args.drift:
            raise SystemExit("--reuse-tables and --drift cannot be combined (drift changes the table's rows)")
        if args.drift:
            printer.say(f"drift: splitting the rows (fraction {args.drift})")
            t0 = time.perf_counter()
            self.plan = drift.plan(ds.base, ds.queries, ds.metric, args.drift, ds.gt, ds.gt.shape[1])
            self.gt = self.plan.gt_before
            self.doc["drift_plan"] = self.plan.describe()
            printer.say(f"drift: {self.plan.build_ids.size} rows before the build, {self.plan.drift_ids.size} "
                        f"inserted after it ({time.perf_counter() - t0:.1f} s)")

    def skip(self, engine, reason):
        self.p.say(f"SKIP {engine}: {reason}")
        self.doc["skipped"].append({"engine": engine, "reason": reason})

    # -- loading
    def table_key(self, target):
        """What a reusable table holds: the dataset's fingerprint, rows and type (its COMMENT)."""
        ds = self.ds
        if getattr(self, "_fingerprint", None) is None:
            self._fingerprint = datasets.fingerprint(ds)
        return f"tqbench {self._fingerprint} n={ds.n} dim={ds.dim} {target.typname}"

    def load(self, conn, target):
        ds = self.ds
        if self.args.reuse_tables:
            key = self.table_key(target)
            have = conn.execute("SELECT obj_description(to_regclass(%s), 'pg_class')",
                                (target.table,)).fetchone()[0]
            if have == key:
                rows = conn.execute(f"SELECT count(*) FROM {target.table}").fetchone()[0]
                if rows == ds.n:
                    # Indexes other than a kept HNSW index are leftovers of an interrupted run.
                    for (name,) in conn.execute(
                            "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                            "WHERE x.indrelid = %s::regclass AND i.relname NOT LIKE %s",
                            (target.table, f"{target.table}\\_hnsw\\_%")).fetchall():
                        conn.execute(f"DROP INDEX {name}")
                    sizes = pg.relation_sizes(conn, target.table)
                    info = {"rows": rows, "reused": True, **sizes}
                    self.doc["loads"][target.table] = info
                    self.p.say(f"reusing {target.table} ({target.typname}): {rows} rows, table "
                               f"{sizes['table_bytes'] / 2**20:.1f} MiB (--reuse-tables)")
                    return info
        conn.execute(f"DROP TABLE IF EXISTS {target.table}")
        conn.execute(f"CREATE TABLE {target.table} (id int8 NOT NULL, v {target.typname}({ds.dim}) NOT NULL)")
        rows = ds.n if self.plan is None else int(self.plan.build_ids.size)
        bar = progress_bar(rows, f"COPY {target.table}", not self.args.no_progress)
        t0 = time.perf_counter()
        if self.plan is None:
            pg.copy_vectors(conn, target.table, ds.base, progress=bar.update)
        else:
            pg.copy_vectors(conn, target.table, ds.base[self.plan.build_ids], progress=bar.update,
                            ids=self.plan.build_ids)
        copy_s = time.perf_counter() - t0
        bar.close()
        t1 = time.perf_counter()
        conn.execute(f"VACUUM (ANALYZE) {target.table}")
        vac_s = time.perf_counter() - t1
        if self.args.reuse_tables:
            conn.execute(psql.SQL("COMMENT ON TABLE {} IS {}").format(psql.Identifier(target.table),
                                                                     psql.Literal(self.table_key(target))))
        sizes = pg.relation_sizes(conn, target.table)
        info = {"rows": rows, "copy_s": copy_s, "vacuum_analyze_s": vac_s,
                "rows_per_s": rows / copy_s if copy_s > 0 else None, **sizes}
        self.doc["loads"][target.table] = info
        self.p.say(f"loaded {rows} rows into {target.table} ({target.typname}) with binary COPY in {copy_s:.1f} s "
                   f"({info['rows_per_s']:.0f} rows/s); table {sizes['table_bytes'] / 2**20:.1f} MiB")
        return info

    # -- one sweep over settings for the current index
    def sweep(self, engine, label, target, settings_list, exact=False, gt=None, phase=None):
        ds = self.ds
        gt = self.gt if gt is None else gt
        kmin = min(self.ks)
        for settings in settings_list:
            for k in self.ks:
                if engine == "pgvector-hnsw" and settings.get("hnsw.ef_search", k) < k:
                    continue
                for clients in (self.clients if k == kmin and not exact else [1]):
                    nq = min(ds.nq, self.args.exact_queries) if exact else ds.nq
                    warm = min(self.args.warmup, 2) if exact else self.args.warmup  # seq scans are slow
                    r = measure(self.dsn, target, ds.metric, ds.queries[:nq], gt[:nq], k, clients,
                                settings, warm, not exact)
                    r.update({"engine": engine, "index": label})
                    if phase is not None:
                        r["drift"] = phase
                    if k == kmin and clients == 1:
                        r["plan"] = explain_node(self.dsn, target, ds.metric, k, settings, ds.queries[0], not exact)
                    self.doc["results"].append(r)
                    self.p.row(r)

    # -- index build with progress from pg_stat_progress_create_index
    def build(self, conn, engine, label, target, ddl, options, index=None):
        index = index or f"{target.table}_idx"
        conn.execute(f"DROP INDEX IF EXISTS {index}")
        conn.execute(f"SET maintenance_work_mem = '{self.args.maintenance_work_mem}'")
        if self.args.parallel_workers is not None:
            conn.execute(f"SET max_parallel_maintenance_workers = {int(self.args.parallel_workers)}")
        workers = conn.execute("SELECT current_setting('max_parallel_maintenance_workers')").fetchone()[0]
        done = threading.Event()
        rows = self.ds.n if self.plan is None else int(self.plan.build_ids.size)
        bar = progress_bar(rows, f"build {label}", not self.args.no_progress)
        seen_phases = []   # (phase, seconds since the build started when first seen)

        def watch():
            seen = 0
            try:
                with pg.connect(self.dsn) as w:
                    while not done.wait(0.2):
                        row = w.execute("SELECT tuples_done, tuples_total, blocks_done, blocks_total, phase "
                                        "FROM pg_stat_progress_create_index WHERE relid = %s::regclass",
                                        (target.table,)).fetchone()
                        if row:
                            if not seen_phases or seen_phases[-1][0] != row[4]:
                                seen_phases.append((row[4], time.perf_counter() - t0))
                            cur = row[0] if row[1] else int(rows * row[2] / row[3]) if row[3] else 0
                            if cur > seen:
                                bar.update(cur - seen)
                                seen = cur
            except Exception:
                pass  # progress is cosmetic; phases are best effort (polled every 0.2 s)

        watcher = threading.Thread(target=watch, daemon=True)
        t0 = time.perf_counter()
        watcher.start()
        try:
            conn.execute(ddl)
        finally:
            build_s = time.perf_counter() - t0
            done.set()
            watcher.join()
            bar.close()
        idx_bytes = conn.execute(f"SELECT pg_relation_size('{index}')").fetchone()[0]
        sizes = pg.relation_sizes(conn, target.table)
        info = {"engine": engine, "index": label, "options": options, "ddl": ddl, "build_s": build_s,
                "index_bytes": idx_bytes, "table_bytes": sizes["table_bytes"],
                "maintenance_work_mem": self.args.maintenance_work_mem,
                "max_parallel_maintenance_workers": int(workers),
                "phases": phase_durations(seen_phases, build_s)}
        self.doc["indexes"].append(info)
        ph = ", ".join(f"{k} {v:.1f} s" for k, v in info["phases"].items())
        self.p.say(f"built {label} in {build_s:.1f} s: index {idx_bytes / 2**20:.1f} MiB, "
                   f"table {sizes['table_bytes'] / 2**20:.1f} MiB" + (f" (phases: {ph})" if ph else ""))
        return info

    # -- after an index was measured: the drift scenario, then drop it
    def finish_index(self, conn, engine, label, target, settings_list, keep=None):
        if self.plan is not None:
            ids = self.plan.drift_ids
            bar = progress_bar(ids.size, f"insert drift rows {label}", not self.args.no_progress)
            t0 = time.perf_counter()
            pg.copy_vectors(conn, target.table, self.ds.base[ids], progress=bar.update, ids=ids)
            insert_s = time.perf_counter() - t0
            bar.close()
            conn.execute(f"ANALYZE {target.table}")
            idx_bytes = conn.execute(f"SELECT pg_relation_size('{target.table}_idx')").fetchone()[0]
            entry = {"engine": engine, "index": label, "rows": int(ids.size), "insert_s": insert_s,
                     "rows_per_s": ids.size / insert_s if insert_s else None, "index_bytes_after": idx_bytes}
            if engine == "turboquant":
                entry["stats_before"] = self.doc["indexes"][-1].get("stats")
                entry["stats_after"] = tq_index_stats(conn, f"{target.table}_idx")
            self.doc["drift"].append(entry)
            self.p.say(f"inserted {ids.size} drift rows through {label} in {insert_s:.1f} s "
                       f"({ids.size / max(insert_s, 1e-9):.0f} rows/s); index now {idx_bytes / 2**20:.1f} MiB")
            self.sweep(engine, label + " +drift", target, settings_list, gt=self.plan.gt_after, phase="after")
        if keep is not None:
            return   # a kept HNSW index (--reuse-tables)
        conn.execute(f"DROP INDEX {target.table}_idx")
        if self.plan is not None:
            conn.execute(f"DELETE FROM {target.table} WHERE id = ANY(%s)", (self.plan.drift_ids.tolist(),))
            conn.execute(f"VACUUM (ANALYZE) {target.table}")

    def exact(self, target):
        """The sequential-scan baseline, once per run: on the first table loaded."""
        if "exact" not in self.engines or any(r["engine"] == "exact" for r in self.doc["results"]):
            return
        self.sweep("exact", f"seqscan {target.typname}", target, [{}], exact=True)

    def turboquant(self, conn):
        a, ds = self.args, self.ds
        if a.skip_turboquant:
            return self.skip("turboquant", "--skip-turboquant given")
        if not ({"turboquant", "exact"} & self.engines):
            return
        ver, why = pg.try_extension(conn, "turboquant")
        self.doc["extensions"]["turboquant"] = ver
        if ver is None:
            return self.skip("turboquant", f"extension not available in this server ({why})")
        target = Target(TQ_TABLE, "tqvector", "turboquant")
        self.load(conn, target)   # loads the library: its GUCs exist from here on
        for guc in ("turboquant.rerank", "turboquant.simd"):
            self.doc["postgres"]["settings"][guc] = conn.execute("SELECT current_setting(%s, true)",
                                                                 (guc,)).fetchone()[0]
        self.exact(target)
        if "turboquant" not in self.engines:
            return
        if not conn.execute("SELECT 1 FROM pg_am WHERE amname = 'turboquant'").fetchone():
            return self.skip("turboquant", "the turboquant index access method is not in this build "
                                           "(type only); index results skipped")
        opclass = TQ_OPCLASS[ds.metric]
        for bits in int_list(a.tq_bits):
            for lists in str_list(a.tq_lists):
                self.turboquant_index(conn, target, opclass, bits, lists)

    def turboquant_index(self, conn, target, opclass, bits, lists):
        """One turboquant index (bits, lists) built, swept, drifted, dropped."""
        a = self.args
        extra = [o.strip() for o in a.tq_options.split(",") if o.strip()]
        opts = [f"bits = {bits}"] + ([] if lists == "default" else [f"lists = {int(lists)}"]) + extra
        label = f"turboquant b={bits}" + ("" if lists == "default" else
                                          " flat" if int(lists) == 0 else f" lists={int(lists)}")
        label += f" {a.tq_options}" if a.tq_options else ""
        ddl = (f"CREATE INDEX {TQ_TABLE}_idx ON {TQ_TABLE} USING turboquant (v {opclass}) "
               f"WITH ({', '.join(opts)})")
        try:
            self.build(conn, "turboquant", label, target, ddl, {"bits": bits, "lists": lists, "extra": a.tq_options})
        except Exception as e:
            if lists == "default" or 'parameter "lists"' not in str(e):
                raise
            if int(lists) != 0:
                return self.skip("turboquant", f"{label}: this build has no lists option ({str(e).strip()})")
            # An access method without lists is flat: build it as before.
            ddl = ddl.replace(", lists = 0", "")
            self.build(conn, "turboquant", label, target, ddl, {"bits": bits, "lists": lists, "extra": a.tq_options})
        self.doc["indexes"][-1]["stats"] = tq_index_stats(conn, f"{TQ_TABLE}_idx")
        n_lists = tq_index_lists(conn, f"{TQ_TABLE}_idx")
        if n_lists is None and lists != "default":
            n_lists = int(lists)
        if n_lists is None:   # 'default' on a build that does not say: partitioned if probes exist
            n_lists = 1 if conn.execute("SELECT current_setting('turboquant.probes', true)").fetchone()[0] else 0
            n_lists = 10**9 if n_lists else 0
        self.doc["indexes"][-1]["lists"] = n_lists if n_lists < 10**9 else None
        reranks = int_list(a.tq_rerank)
        if n_lists <= 1:   # flat: the one-list case (tq_index_stats reports 1 list)
            settings = [{"turboquant.rerank": r} for r in reranks]
        else:
            settings = [{"turboquant.probes": p, "turboquant.rerank": r}
                        for p in int_list(a.tq_probes) if p <= n_lists for r in reranks]
        self.sweep("turboquant", label, target, settings)
        self.finish_index(conn, "turboquant", label, target, settings)

    def pgvector(self, conn):
        a, ds = self.args, self.ds
        wanted = {"pgvector-hnsw", "pgvector-ivfflat"} & self.engines
        if a.skip_pgvector:
            return self.skip("pgvector", "--skip-pgvector given")
        if not wanted and "exact" not in self.engines:
            return
        ver, why = pg.try_extension(conn, "vector")
        self.doc["extensions"]["vector"] = ver
        if ver is None:
            return self.skip("pgvector", f"the vector extension (pgvector) is not installed in this server ({why})")
        target = Target(PGV_TABLE, "vector", "pgvector")
        self.load(conn, target)
        self.exact(target)
        if ds.dim > PGV_MAX_INDEX_DIM:
            for e in sorted(wanted):
                self.skip(e, f"pgvector indexes vector columns of at most {PGV_MAX_INDEX_DIM} dimensions "
                             f"(dataset has {ds.dim})")
            return
        opclass = PGV_OPCLASS[ds.metric]
        ivf_target = target
        if "pgvector-ivfflat" in wanted and a.ivf_lists.strip() and a.reuse_tables:
            # The kept HNSW index would answer IVFFlat's queries on the same table.
            ivf_target = Target(PGV_IVF_TABLE, "vector", "pgvector")
            self.load(conn, ivf_target)
        self.release_base()
        if "pgvector-hnsw" in wanted:
            self.hnsw(conn, target, opclass)
        if "pgvector-ivfflat" in wanted and a.ivf_lists.strip():
            self.ivfflat(conn, ivf_target, opclass)

    def release_base(self):
        """Every table is loaded: the base vectors are not needed any more (1M x 768 holds 3 GB
        through long index builds).  Drift inserts rows later, so it keeps them."""
        ds = self.ds
        if self.plan is None and not isinstance(ds.base, np.memmap):
            n, d = ds.base.shape
            ds.base = np.broadcast_to(np.zeros((1, d), dtype=np.float32), (n, d))

    def hnsw(self, conn, target, opclass):
        a = self.args
        label = f"hnsw m={a.hnsw_m} efc={a.hnsw_ef_construction}"
        keep = f"{PGV_TABLE}_hnsw_m{a.hnsw_m}_efc{a.hnsw_ef_construction}" if a.reuse_tables else None
        name = keep or f"{PGV_TABLE}_idx"
        ddl = (f"CREATE INDEX {name} ON {PGV_TABLE} USING hnsw (v {opclass}) "
               f"WITH (m = {a.hnsw_m}, ef_construction = {a.hnsw_ef_construction})")
        kept = None
        if keep is not None:
            # One kept HNSW index per table: another m / ef_construction's would answer our queries.
            for (other,) in conn.execute(
                    "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                    "WHERE x.indrelid = %s::regclass AND i.relname <> %s", (PGV_TABLE, keep)).fetchall():
                conn.execute(f"DROP INDEX {other}")
            kept = conn.execute("SELECT obj_description(to_regclass(%s), 'pg_class')", (keep,)).fetchone()[0]
        if kept:
            info = json.loads(kept)
            info.update({"reused": True, "index_bytes": conn.execute(
                "SELECT pg_relation_size(%s::regclass)", (keep,)).fetchone()[0]})
            self.doc["indexes"].append(info)
            self.p.say(f"reusing {label} ({keep}): built in {info['build_s']:.1f} s by the run of "
                       f"{info.get('built_at', '?')}, index {info['index_bytes'] / 2**20:.1f} MiB")
        else:
            if keep is not None:   # left by an interrupted build (no comment yet): never trusted
                conn.execute(f"DROP INDEX IF EXISTS {keep}")
            info = self.build(conn, "pgvector-hnsw", label, target, ddl,
                              {"m": a.hnsw_m, "ef_construction": a.hnsw_ef_construction}, index=name)
            if keep is not None:
                info["built_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
                conn.execute(psql.SQL("COMMENT ON INDEX {} IS {}").format(psql.Identifier(keep),
                                                                         psql.Literal(json.dumps(info))))
        settings = [{"hnsw.ef_search": e} for e in int_list(a.hnsw_ef_search)]
        self.sweep("pgvector-hnsw", label, target, settings)
        self.finish_index(conn, "pgvector-hnsw", label, target, settings, keep=keep)

    def ivfflat(self, conn, target, opclass):
        a, ds = self.args, self.ds
        rows = ds.n if self.plan is None else int(self.plan.build_ids.size)
        for lists in int_list(a.ivf_lists):
            lists = lists or max(1, round(math.sqrt(rows)))
            label = f"ivfflat lists={lists}"
            ddl = (f"CREATE INDEX {target.table}_idx ON {target.table} USING ivfflat (v {opclass}) "
                   f"WITH (lists = {lists})")
            self.build(conn, "pgvector-ivfflat", label, target, ddl, {"lists": lists})
            settings = [{"ivfflat.probes": pr} for pr in int_list(a.ivf_probes) if pr <= lists]
            self.sweep("pgvector-ivfflat", label, target, settings)
            self.finish_index(conn, "pgvector-ivfflat", label, target, settings)

    def execute(self):
        with pg.connect(self.dsn) as conn:
            self.doc["postgres"] = pg.server_info(conn)
            self.doc["extensions"] = {}
            self.p.say(self.doc["postgres"]["version"].split(",")[0])
            try:
                self.turboquant(conn)
                self.pgvector(conn)
                from . import report
                self.doc["summary"] = report.summary(self.doc, [float(t) for t in str_list(self.args.thresholds)])
                self.p.say(report.summary_text(self.doc["summary"]))
            finally:
                if not (self.args.keep_tables or self.args.reuse_tables):
                    for t in (TQ_TABLE, PGV_TABLE, PGV_IVF_TABLE):
                        conn.execute(f"DROP TABLE IF EXISTS {t}")
        return self.doc


def pick_server(args):
    """(context manager yielding a dsn, description)."""
    import contextlib

    if args.dsn is not None and not args.temp_cluster:
        return contextlib.nullcontext(args.dsn), "given connection string"
    if not args.temp_cluster and any(os.environ.get(v) for v in ("PGHOST", "PGPORT", "PGDATABASE", "PGSERVICE")):
        return contextlib.nullcontext(""), "server from PG* environment variables"

    @contextlib.contextmanager
    def temp():
        settings = {"shared_buffers": f"'{args.shared_buffers}'", "jit": "off"}
        for kv in args.pg_setting:
            k, _, v = kv.partition("=")
            settings[k.strip()] = v.strip()
        with pg.TempCluster(settings) as c:
            yield c.dsn

    return temp(), f"throwaway cluster on 127.0.0.1 (shared_buffers={args.shared_buffers})"


def main(argv=None):
    args = build_parser().parse_args(argv)
    printer = Printer()
    ks = int_list(args.k)
    if not ks or min(ks) < 1:
        raise SystemExit("--k needs positive values")
    started = dt.datetime.now(dt.timezone.utc)
    t_start = time.perf_counter()
    ds = prepare_dataset(args, printer, max(100, max(ks)))
    libs_before = envinfo.installed_extension_libraries()
    if args.shards > 0:
        from . import sharded

        if args.dsn is not None:
            raise SystemExit("--shards starts its own clusters: leave out --dsn")
        with sharded.clusters(args) as cl:
            where = cl.describe()
            printer.say(f"server: {where}")
            doc = sharded.ShardedRun(args, ds, cl, printer).execute()
    else:
        ctx, where = pick_server(args)
        printer.say(f"server: {where}")
        with ctx as dsn:
            run = Run(args, ds, dsn, printer)
            doc = run.execute()
    m = envinfo.machine()
    out = {"format": "turboquant-bench/1", "started_at": started.isoformat(timespec="seconds"),
           "duration_s": time.perf_counter() - t_start,
           "command": " ".join(["python3 bench/run.py"] + list(argv if argv is not None else sys.argv[1:])),
           "args": vars(args), "machine": m, "hardware": envinfo.hardware_line(m),
           "libraries": envinfo.libraries(), "source": envinfo.source(), "server": where,
           "installed_extension_libraries": libs_before,
           "dataset": ds.describe(), **doc}
    if envinfo.installed_extension_libraries() != libs_before:
        out["warning"] = "an extension library was reinstalled on this machine during the run"
        printer.say("WARNING: " + out["warning"])
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = (f"{ds.name}-{ds.metric}-{started.strftime('%Y%m%d-%H%M%S')}" + (f"-{args.shards}shards" if args.shards else "")
            + (f"-{args.tag}" if args.tag else ""))
    path = out_dir / f"{stem}.json"
    path.write_text(json.dumps(out, indent=1, default=str) + "\n")
    printer.say(f"results: {path}")
    if args.shards > 0:
        from . import sharded

        md = out_dir / f"{stem}.md"
        md.write_text(sharded.markdown(out, [float(t) for t in str_list(args.thresholds)], min(ks)))
        printer.say(f"table: {md}")
    if not args.no_charts:
        from . import report

        for png in report.charts(out, out_dir / stem):
            printer.say(f"chart: {png}")
    printer.say(f"total {out['duration_s']:.0f} s")
    return path
