"""Sharded mode (--shards N): N shard clusters behind one postgres_fdw coordinator, all on this machine.

What it builds (every cluster a throwaway one on 127.0.0.1, like --temp-cluster):
  shards      N clusters, each with turboquant and a table tqbench_tq (id int8, v tqvector(d)) holding
              the rows of one hash partition of id, loaded with binary COPY straight into the shard;
  coordinator one cluster with postgres_fdw; tqbench_tq (id, v) PARTITION BY HASH (id), partition i a
              foreign table tqbench_tq_s<i> on server shard<i> (extensions 'turboquant',
              async_capable 'true', fetch_size --fdw-fetch-size); with --shard-single-node also a
              local table tqbench_tq_all holding every row (the one-node baseline, same index).

Which rows go to which shard is asked of the coordinator (satisfies_hash_partition), so the rows
loaded directly into shard i are exactly the ones the coordinator routes there.

Per --tq-bits x --tq-lists: the same turboquant index on every shard (built concurrently) and on
tqbench_tq_all; then per turboquant.probes x turboquant.rerank setting (set on the shards with ALTER
DATABASE, so every new postgres_fdw connection has it, and with SET on the coordinator):

  1node     SELECT id FROM tqbench_tq_all ORDER BY v <=> $1 LIMIT k        (one node, all rows)
  naive     SELECT id FROM tqbench_tq ORDER BY v <=> $1 LIMIT k            (the parent table)
  union-merge  SELECT id, d FROM ((SELECT id, v <=> $1 AS d FROM tqbench_tq_s0 ORDER BY v <=> $1
               LIMIT k) UNION ALL ... ) s ORDER BY d LIMIT k              (Merge Append: one shard after another)
  union     the same inside WITH s AS MATERIALIZED (...) SELECT id, d FROM s ORDER BY d LIMIT k
               (an Append of async foreign scans: the recommended shape)
  tq_search SELECT id FROM tq_search(NULL::tqbench_tq, 'v', $1, k) when the extension has that helper
  shard<i>  SELECT id, v <=> $1 FROM tqbench_tq ORDER BY v <=> $1 LIMIT k, straight to shard i

Coordinator overhead, per query q (1 client):  union latency(q) - max_i shard<i> latency(q): what the
coordinator adds on top of the slowest shard answering the same query directly (its own parse/plan,
the postgres_fdw round trips, the merge).  Its median, mean and p99 are reported, with
union latency(q) - sum_i shard<i> latency(q) (negative when the shards ran concurrently).
The union answer is also checked against the merge of the shards' direct answers (by distance):
"merge_agreement" is the share of queries where the two id lists are equal.

Rows and bytes shipped per query: EXPLAIN (ANALYZE, VERBOSE) of the naive and union statements
for the first --shard-explain queries: per foreign scan the Remote SQL, rows returned, whether it
ran asynchronously; rows fetched = rows returned rounded up to fetch_size (postgres_fdw fetches
through a cursor in batches) unless the remote SQL has a LIMIT; bytes = rows fetched x the mean
text size of the columns the remote SQL selects (postgres_fdw transfers text), measured on shard 0.
"""
from __future__ import annotations

import contextlib
import json
import math
import re
import threading
import time

import numpy as np

from . import pg, runner

PARENT, ALL = "tqbench_tq", "tqbench_tq_all"


def add_arguments(p):
    g = p.add_argument_group("sharded mode (postgres_fdw)")
    g.add_argument("--shards", type=int, default=0,
                   help="N > 0: start N shard clusters and a coordinator on this machine and measure the "
                        "sharded query shapes (see docs/benchmark.md); 0 = off")
    g.add_argument("--shard-single-node", default="on", choices=("on", "off"),
                   help="also load every row into one table on the coordinator and measure it (the 1-node "
                        "baseline, same index options)")
    g.add_argument("--fdw-fetch-size", type=int, default=100, help="postgres_fdw fetch_size of the shard servers")
    g.add_argument("--fdw-tuple-cost", default="0.2",
                   help="postgres_fdw fdw_tuple_cost of the shard servers: at PostgreSQL 15's default (0.01) the "
                        "planner keeps the LIMIT on the coordinator (costs tie); 0.2 is PostgreSQL 17's default")
    g.add_argument("--shard-explain", type=int, default=5,
                   help="queries explained with EXPLAIN (ANALYZE, VERBOSE) per shape for rows/bytes shipped")
    g.add_argument("--shard-size-bits", default="",
                   help="after the sweep, also build the index at these bit widths on every shard only to "
                        "record sizes and tq_index_stats (no queries), e.g. '2,3'")
    g.add_argument("--coordinator-shared-buffers", default=None,
                   help="coordinator shared_buffers (default: --shared-buffers with --shard-single-node on, "
                        "else 128MB)")


def union_sql(shards, op, k, concurrent=True):
    """UNION ALL of per-shard top-k subqueries, merged.  concurrent=False: the plain form, which the
    planner runs as a Merge Append (shard after shard); True: the union inside a MATERIALIZED CTE,
    which makes it a plain Append of async foreign scans (shards at once) and a top-k sort."""
    parts = [f"(SELECT id, v {op} %(q)s AS d FROM {PARENT}_s{i} ORDER BY v {op} %(q)s LIMIT {int(k)})"
             for i in range(shards)]
    if concurrent:
        return (f"WITH s AS MATERIALIZED ({' UNION ALL '.join(parts)}) "
                f"SELECT id, d FROM s ORDER BY d LIMIT {int(k)}")
    return f"SELECT id, d FROM ({' UNION ALL '.join(parts)}) s ORDER BY d LIMIT {int(k)}"


def shard_sql(op, k):
    return f"SELECT id, v {op} %(q)s AS d FROM {PARENT} ORDER BY v {op} %(q)s LIMIT {int(k)}"


class Clusters:
    """The coordinator and N shards (pg.TempCluster each); dsns as attributes."""

    def __init__(self, args):
        self.args = args
        self.shards = []
        self.coord = None

    def _settings(self, shared_buffers):
        s = {"shared_buffers": f"'{shared_buffers}'", "jit": "off", "max_connections": 50}
        for kv in self.args.pg_setting:
            k, _, v = kv.partition("=")
            s[k.strip()] = v.strip()
        return s

    def __enter__(self):
        a = self.args
        try:
            for _ in range(a.shards):
                c = pg.TempCluster(self._settings(a.shared_buffers))
                c.__enter__()
                self.shards.append(c)
            csb = a.coordinator_shared_buffers or (a.shared_buffers if a.shard_single_node == "on" else "128MB")
            self.coord = pg.TempCluster(self._settings(csb))
            self.coord.__enter__()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        for c in ([self.coord] if self.coord else []) + self.shards:
            c.__exit__(None, None, None)

    def describe(self):
        return (f"{len(self.shards)} shard clusters + 1 coordinator, throwaway, on 127.0.0.1 "
                f"(shard shared_buffers={self.args.shared_buffers}, ports "
                f"{', '.join(str(c.port) for c in self.shards)}; coordinator port {self.coord.port})")


class ShardedRun(runner.Run):
    """The benchmark of one data set over N shards (see the module docstring)."""

    def __init__(self, args, ds, clusters, printer):
        super().__init__(args, ds, clusters.coord.dsn, printer)
        if args.drift:
            raise SystemExit("--drift is not supported with --shards")
        self.cl = clusters
        self.n_shards = len(clusters.shards)
        self.op = runner.OPERATORS[ds.metric]
        self.doc["sharded"] = {"shards": self.n_shards, "fetch_size": args.fdw_fetch_size,
                               "fdw_tuple_cost": args.fdw_tuple_cost,
                               "ports": [c.port for c in clusters.shards], "coordinator_port": clusters.coord.port,
                               "single_node": args.shard_single_node == "on", "indexes": []}

    # -- setup
    def setup(self, conn):
        a, ds = self.args, self.ds
        ver, why = pg.try_extension(conn, "turboquant")
        if ver is None:
            raise SystemExit(f"--shards needs the turboquant extension in the coordinator ({why})")
        self.doc["extensions"]["turboquant"] = ver
        fver, why = pg.try_extension(conn, "postgres_fdw")
        if fver is None:
            raise SystemExit(f"--shards needs postgres_fdw in the coordinator ({why})")
        self.doc["extensions"]["postgres_fdw"] = fver
        conn.execute(f"DROP TABLE IF EXISTS {PARENT}")
        conn.execute(f"CREATE TABLE {PARENT} (id int8 NOT NULL, v tqvector({ds.dim}) NOT NULL) PARTITION BY HASH (id)")
        for i, sh in enumerate(self.cl.shards):
            conn.execute(f"DROP SERVER IF EXISTS shard{i} CASCADE")
            conn.execute(f"CREATE SERVER shard{i} FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', "
                         f"port '{sh.port}', dbname 'postgres', extensions 'turboquant', async_capable 'true', "
                         f"fetch_size '{int(a.fdw_fetch_size)}', fdw_tuple_cost '{a.fdw_tuple_cost}')")
            conn.execute(f"CREATE USER MAPPING FOR CURRENT_USER SERVER shard{i} OPTIONS (user 'postgres')")
            conn.execute(f"CREATE FOREIGN TABLE {PARENT}_s{i} PARTITION OF {PARENT} FOR VALUES WITH "
                         f"(MODULUS {self.n_shards}, REMAINDER {i}) SERVER shard{i} OPTIONS (table_name '{PARENT}')")
        # Which shard each id belongs to, as the coordinator routes it.
        ids = np.arange(ds.n, dtype=np.int64)
        owner = np.full(ds.n, -1)
        for i in range(self.n_shards):
            got = conn.execute(f"SELECT coalesce(array_agg(id), '{{}}') FROM generate_series(0, %s::int8) id "
                               f"WHERE satisfies_hash_partition('{PARENT}'::regclass, %s, %s, id)",
                               (ds.n - 1, self.n_shards, i)).fetchone()[0]
            owner[np.asarray(got, dtype=np.int64)] = i
        if (owner < 0).any():
            raise RuntimeError("some ids belong to no shard")
        self.owner = owner
        loads = []
        for i, sh in enumerate(self.cl.shards):
            with pg.connect(sh.dsn) as sc:
                pg.try_extension(sc, "turboquant")
                mine = ids[owner == i]
                loads.append(self._load(sc, PARENT, mine, f"shard {i}"))
        self.doc["sharded"]["rows_per_shard"] = [int((owner == i).sum()) for i in range(self.n_shards)]
        self.doc["sharded"]["loads"] = loads
        # No ANALYZE of the foreign partitions: PostgreSQL 15's postgres_fdw fetches every remote row
        # (whole vectors, as text) to sample them; the query shapes here do not need the statistics.
        self.p.say(f"coordinator: {PARENT} over {self.n_shards} foreign partitions; rows per shard "
                   f"{self.doc['sharded']['rows_per_shard']}")
        if a.shard_single_node == "on":
            self.doc["sharded"]["single_node_load"] = self._load(conn, ALL, ids, "1 node")
        self.has_tq_search = conn.execute("SELECT to_regproc('tq_search') IS NOT NULL").fetchone()[0]
        self.doc["sharded"]["tq_search"] = self.has_tq_search
        if not self.has_tq_search:
            self.skip("sharded-tq_search", "this turboquant has no tq_search function")
        # The base vectors live in the servers now: free them (1M x 768 is 3 GB) and keep a
        # zero-stride stand-in of the same shape for the result document.
        self.ds.base = np.broadcast_to(np.zeros(ds.dim, dtype=np.float32), (ds.n, ds.dim))
        # mean text size of what postgres_fdw may ship, measured on shard 0 (text transfer)
        with pg.connect(self.cl.shards[0].dsn) as sc:
            r = sc.execute(f"SELECT avg(octet_length(id::text)), avg(octet_length(v::text)) FROM "
                           f"(SELECT * FROM {PARENT} LIMIT 200) s").fetchone()
        self.text_bytes = {"id": float(r[0]), "v": float(r[1]), "d": 18.0}
        self.doc["sharded"]["text_bytes_per_column"] = self.text_bytes

    def _load(self, conn, table, ids, where):
        ds = self.ds
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"CREATE TABLE {table} (id int8 NOT NULL, v tqvector({ds.dim}) NOT NULL)")
        bar = runner.progress_bar(ids.size, f"COPY {where}", not self.args.no_progress)
        t0 = time.perf_counter()
        chunk = 50_000
        for s in range(0, ids.size, chunk):   # the rows of one shard are scattered: copy in slices
            part = ids[s:s + chunk]
            pg.copy_vectors(conn, table, ds.base[part], progress=bar.update, ids=part)
        copy_s = time.perf_counter() - t0
        bar.close()
        conn.execute(f"VACUUM (ANALYZE) {table}")
        sizes = pg.relation_sizes(conn, table)
        self.p.say(f"loaded {ids.size} rows into {table} ({where}) in {copy_s:.1f} s; "
                   f"table {sizes['table_bytes'] / 2**20:.1f} MiB")
        return {"where": where, "rows": int(ids.size), "copy_s": copy_s, **sizes}

    # -- indexes
    def build_all(self, conn, bits, lists, single=True):
        a = self.args
        extra = [o.strip() for o in a.tq_options.split(",") if o.strip()]
        opts = [f"bits = {bits}"] + ([] if lists == "default" else [f"lists = {int(lists)}"]) + extra
        label = f"turboquant b={bits}" + ("" if lists == "default" else
                                          " flat" if int(lists) == 0 else f" lists={int(lists)}")
        opclass = runner.TQ_OPCLASS[self.ds.metric]
        out = {"label": label, "options": opts, "shards": []}
        errors = []

        def build(i, dsn):
            try:
                with pg.connect(dsn) as sc:
                    sc.execute(f"SET maintenance_work_mem = '{a.maintenance_work_mem}'")
                    if a.parallel_workers is not None:
                        sc.execute(f"SET max_parallel_maintenance_workers = {int(a.parallel_workers)}")
                    sc.execute(f"DROP INDEX IF EXISTS {PARENT}_idx")
                    t0 = time.perf_counter()
                    sc.execute(f"CREATE INDEX {PARENT}_idx ON {PARENT} USING turboquant (v {opclass}) "
                               f"WITH ({', '.join(opts)})")
                    b = time.perf_counter() - t0
                    st = runner.tq_index_stats(sc, f"{PARENT}_idx")
                    out["shards"].append({"shard": i, "build_s": b, "stats": st,
                                          "index_bytes": sc.execute(f"SELECT pg_relation_size('{PARENT}_idx')").fetchone()[0],
                                          **pg.relation_sizes(sc, PARENT)})
            except Exception as e:   # re-raised below
                errors.append(e)

        t0 = time.perf_counter()
        threads = [threading.Thread(target=build, args=(i, sh.dsn)) for i, sh in enumerate(self.cl.shards)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        out["shards"].sort(key=lambda s: s["shard"])
        out["wall_s"] = time.perf_counter() - t0
        self.p.say(f"built {label} on {self.n_shards} shards concurrently in {out['wall_s']:.1f} s: "
                   + "; ".join(f"shard {s['shard']} {s['build_s']:.1f} s, index {s['index_bytes'] / 2**20:.1f} MiB, "
                               f"lists {None if s['stats'] is None else s['stats'].get('lists')}"
                               for s in out["shards"]))
        if self.args.shard_single_node == "on" and single:
            target = runner.Target(ALL, "tqvector", "turboquant")
            ddl = (f"CREATE INDEX {ALL}_idx ON {ALL} USING turboquant (v {opclass}) WITH ({', '.join(opts)})")
            info = self.build(conn, "turboquant-1node", label, target, ddl, {"bits": bits, "lists": lists})
            info["stats"] = runner.tq_index_stats(conn, f"{ALL}_idx")
            out["single_node"] = {"build_s": info["build_s"], "index_bytes": info["index_bytes"],
                                  "table_bytes": info["table_bytes"], "stats": info["stats"]}
        self.doc["sharded"]["indexes"].append(out)
        return label, out

    def drop_all(self, conn):
        for sh in self.cl.shards:
            with pg.connect(sh.dsn) as sc:
                sc.execute(f"DROP INDEX IF EXISTS {PARENT}_idx")
        conn.execute(f"DROP INDEX IF EXISTS {ALL}_idx")

    def set_on_shards(self, settings):
        """Settings for every new session on the shards (postgres_fdw's too), with enable_seqscan = off
        as every index measurement of the runner has (small shards would otherwise be scanned whole)."""
        for sh in self.cl.shards:
            with pg.connect(sh.dsn) as sc:
                sc.execute("ALTER DATABASE postgres RESET ALL")
                if settings:
                    sc.execute("ALTER DATABASE postgres SET enable_seqscan = off")
                for name, value in settings.items():
                    sc.execute(f"ALTER DATABASE postgres SET {name} = {value}")

    # -- explain: rows and bytes shipped
    def shipped(self, sql, settings, k):
        """Per explained query: foreign scans' remote SQL, rows, async; rows fetched and bytes (estimate)."""
        out = []
        with pg.connect(self.dsn) as c:
            runner.session_setup(c, "tqvector", settings, True)
            for q in self.ds.queries[:self.args.shard_explain]:
                plan = c.execute("EXPLAIN (ANALYZE, VERBOSE, FORMAT JSON) " + sql,
                                 {"q": q} if "%(q)s" in sql else (q,) * sql.count("%s")).fetchone()[0][0]
                scans = []

                def walk(node):
                    if node["Node Type"] == "Foreign Scan":
                        scans.append(node)
                    for ch in node.get("Plans", []):
                        walk(ch)

                walk(plan["Plan"])
                per = []
                for s in scans:
                    remote = s.get("Remote SQL", "")
                    rows = int(s.get("Actual Rows", 0)) * int(s.get("Actual Loops", 1))
                    # a remote LIMIT n ships min(n, fetch_size) rows in its first fetch
                    lim = re.search(r"\bLIMIT\s+(\d+)", remote)
                    batch = self.args.fdw_fetch_size if lim is None else min(int(lim.group(1)),
                                                                             self.args.fdw_fetch_size)
                    fetched = int(math.ceil(max(rows, 1) / batch) * batch)
                    if lim is not None:
                        fetched = min(fetched, int(lim.group(1)))
                    cols = self._remote_columns(remote)
                    row_bytes = sum(self.text_bytes.get(col, self.text_bytes["d"]) for col in cols)
                    per.append({"relation": s.get("Relation Name"), "remote_sql": remote, "rows": rows,
                                "async": bool(s.get("Async Capable", False)), "fetched_rows": fetched,
                                "columns": cols, "bytes": fetched * row_bytes})
                out.append({"scans": per, "total_ms": plan.get("Execution Time"),
                            "plan_ms": plan.get("Planning Time")})
        rows = [sum(s["fetched_rows"] for s in q["scans"]) for q in out]
        byts = [sum(s["bytes"] for s in q["scans"]) for q in out]
        return {"queries": len(out), "rows_fetched_mean": float(np.mean(rows)) if rows else None,
                "bytes_mean": float(np.mean(byts)) if byts else None,
                "async_scans": sum(1 for q in out[:1] for s in q["scans"] if s["async"]),
                "scans_per_query": len(out[0]["scans"]) if out else 0,
                "remote_sql": [s["remote_sql"] for s in out[0]["scans"]] if out else [],
                "example": out[0] if out else None}

    @staticmethod
    def _remote_columns(remote):
        m = re.match(r"\s*SELECT\s+(.*?)\s+FROM\s", remote, re.S)
        if not m:
            return []
        cols = []
        depth, cur = 0, ""
        for ch in m.group(1):
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            if ch == "," and depth == 0:
                cols.append(cur.strip())
                cur = ""
            else:
                cur += ch
        cols.append(cur.strip())
        return ["id" if c == "id" else "v" if c == "v" else "d" for c in cols if c.upper() != "NULL"]

    # -- one setting
    def measure_setting(self, label, settings):
        ds, a = self.ds, self.args
        kmin = min(self.ks)
        self.set_on_shards(settings)
        for k in self.ks:
            shapes = []
            if a.shard_single_node == "on":
                shapes.append(("turboquant-1node", runner.query_sql(runner.Target(ALL, "tqvector", ""), ds.metric, k)))
            shapes.append(("sharded-naive", runner.query_sql(runner.Target(PARENT, "tqvector", ""), ds.metric, k)))
            shapes.append(("sharded-union-merge", union_sql(self.n_shards, self.op, k, concurrent=False)))
            shapes.append(("sharded-union", union_sql(self.n_shards, self.op, k, concurrent=True)))
            if self.has_tq_search:   # the extension's helper builds the same union (when it has one)
                shapes.append(("sharded-tq_search",
                               f"SELECT id FROM tq_search(NULL::{PARENT}, 'v', %(q)s, {int(k)}, '{self.op}')"))
            kept = {}
            for engine, sql in shapes:
                for clients in (self.clients if k == kmin else [1]):
                    r = runner.measure_sql(self.dsn, sql, "tqvector", ds.queries, self.gt, k, clients, settings,
                                           a.warmup, True, keep=(clients == 1))
                    lat, rows = r.pop("_lat", None), r.pop("_rows", None)
                    if clients == 1:
                        kept[engine] = (lat, rows)
                    r.update({"engine": engine, "index": label, "sql": sql})
                    # (a function call shows no foreign scans in EXPLAIN: tq_search ships what the union does)
                    if clients == 1 and k == kmin and engine in ("sharded-naive", "sharded-union-merge",
                                                                  "sharded-union") and a.shard_explain > 0:
                        r["shipped"] = self.shipped(sql, settings, k)
                    self.doc["results"].append(r)
                    self.p.row(r)
            # each shard answering the same queries directly (1 client): the overhead baseline
            direct = []
            for i, sh in enumerate(self.cl.shards):
                r = runner.measure_sql(sh.dsn, shard_sql(self.op, k), "tqvector", ds.queries, self.gt, k, 1,
                                       settings, a.warmup, True, keep=True)
                direct.append((r.pop("_lat"), r.pop("_rows")))
                r.update({"engine": f"shard{i}-direct", "index": label, "sql": shard_sql(self.op, k),
                          "note": "recall against the global top-k: a shard holds only its share of the rows"})
                self.doc["results"].append(r)
                self.p.row(r)
            self.doc["sharded"].setdefault("overhead", []).append(
                self.overhead(label, settings, k, kept["sharded-union"], direct))

    def overhead(self, label, settings, k, union, direct):
        u_lat, u_rows = union
        d_lat = np.vstack([d[0] for d in direct])
        over_max = u_lat - d_lat.max(axis=0)
        over_sum = u_lat - d_lat.sum(axis=0)
        agree = 0
        for q in range(len(u_rows)):
            merged = sorted((float(r[1]), int(r[0])) for d in direct for r in d[1][q])[:k]
            got = [(float(r[1]), int(r[0])) for r in u_rows[q]]
            # equal as lists of ids, allowing order swaps among equal distances (float text round trip)
            agree += [i for _, i in sorted(got)] == [i for _, i in merged] or \
                sorted(i for _, i in got) == sorted(i for _, i in merged)
        o = {"index": label, "settings": dict(settings), "k": k,
             "union_p50_ms": float(np.percentile(u_lat, 50) * 1000),
             "slowest_shard_p50_ms": float(np.percentile(d_lat.max(axis=0), 50) * 1000),
             "shard_p50_ms": [float(np.percentile(x, 50) * 1000) for x in d_lat],
             "shard_mean_ms": [float(np.mean(x) * 1000) for x in d_lat],
             "overhead_vs_slowest_ms": {"p50": float(np.percentile(over_max, 50) * 1000),
                                        "mean": float(np.mean(over_max) * 1000),
                                        "p99": float(np.percentile(over_max, 99) * 1000)},
             "overhead_vs_sum_ms": {"p50": float(np.percentile(over_sum, 50) * 1000),
                                    "mean": float(np.mean(over_sum) * 1000)},
             "merge_agreement": agree / max(1, len(u_rows))}
        self.p.say(f"  coordinator overhead (union - slowest shard direct) k={k}: p50 "
                   f"{o['overhead_vs_slowest_ms']['p50']:.2f} ms, p99 {o['overhead_vs_slowest_ms']['p99']:.2f} ms; "
                   f"union - sum of shards: p50 {o['overhead_vs_sum_ms']['p50']:.2f} ms; "
                   f"union answer = merge of shard answers for {100 * o['merge_agreement']:.1f}% of queries")
        return o

    def execute(self):
        a = self.args
        with pg.connect(self.dsn) as conn:
            self.doc["postgres"] = pg.server_info(conn)
            self.doc["extensions"] = {}
            self.p.say(self.doc["postgres"]["version"].split(",")[0])
            self.setup(conn)
            for bits in runner.int_list(a.tq_bits):
                for lists in runner.str_list(a.tq_lists):
                    label, built = self.build_all(conn, bits, lists)
                    n_lists = min((s["stats"] or {}).get("lists") or 1 for s in built["shards"])
                    reranks = runner.int_list(a.tq_rerank)
                    if n_lists <= 1:
                        settings = [{"turboquant.rerank": r} for r in reranks]
                    else:
                        settings = [{"turboquant.probes": p, "turboquant.rerank": r}
                                    for p in runner.int_list(a.tq_probes) if p <= n_lists for r in reranks]
                    for st in settings:
                        self.measure_setting(label, st)
                    self.drop_all(conn)
            for bits in runner.int_list(a.shard_size_bits):
                lists = runner.str_list(a.tq_lists)[0]
                label, built = self.build_all(conn, bits, lists, single=False)   # shards only: sizes
                built["sizes_only"] = True
                self.drop_all(conn)
            self.set_on_shards({})
            from . import report
            self.doc["summary"] = report.summary(self.doc, [float(t) for t in runner.str_list(a.thresholds)])
            self.p.say(report.summary_text(self.doc["summary"]))
        return self.doc


@contextlib.contextmanager
def clusters(args):
    with Clusters(args) as c:
        yield c


def _best(rows, t):
    ok = [r for r in rows if r["recall"] >= t]
    return max(ok, key=lambda r: r["qps"]) if ok else None


def markdown(doc, thresholds=(0.95, 0.99), k=10):
    """The sharded run as Markdown: per index and query shape, the fastest setting reaching each
    recall@k threshold (1 client), its QPS with 2 clients, the coordinator overhead and what it shipped."""
    sh = doc["sharded"]
    res = [r for r in doc["results"] if r["k"] == k]
    lines = [f"# Sharded benchmark: {doc['dataset']['name']} ({doc['dataset']['n']} x {doc['dataset']['dim']}, "
             f"{doc['dataset']['metric']}, {doc['dataset']['nq']} queries), {sh['shards']} shards",
             "",
             f"Machine: {doc.get('hardware', '?')}. All clusters on this one machine: {sh['shards']} shards "
             f"+ coordinator share its cores (concurrency, not more hardware). Rows per shard: "
             f"{sh.get('rows_per_shard')}. postgres_fdw fetch_size {sh['fetch_size']}, fdw_tuple_cost "
             f"{sh.get('fdw_tuple_cost')}. Command: `{doc.get('command', '')}`", ""]
    shapes = [("turboquant-1node", "1 node, all rows"), ("sharded-naive", "parent table (naive)"),
              ("sharded-union-merge", "UNION ALL of per-shard LIMIT k (Merge Append)"),
              ("sharded-union", "UNION ALL in MATERIALIZED CTE (async Append)"),
              ("sharded-tq_search", "tq_search(NULL::parent, 'v', $1, k)")]
    over = {(o["index"], json.dumps(o["settings"], sort_keys=True), o["k"]): o for o in sh.get("overhead", [])}
    for built in sh["indexes"]:
        label = built["label"]
        if built.get("sizes_only"):
            continue
        lines += [f"## {label}", "",
                  "| shape | recall@10 target | setting | recall | QPS 1 client | p50 ms | p99 ms | QPS 2 clients "
                  "| rows shipped/query | KiB shipped/query |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for eng, name in shapes:
            one = [r for r in res if r["engine"] == eng and r["index"] == label and r["clients"] == 1]
            if not one:
                continue
            for t in thresholds:
                b = _best(one, t)
                if b is None:
                    lines.append(f"| {name} | {t} | not reached (max {max(r['recall'] for r in one):.4f}) "
                                 f"| | | | | | | |")
                    continue
                two = [r for r in res if r["engine"] == eng and r["index"] == label and r["clients"] == 2
                       and r["settings"] == b["settings"]]
                shp = b.get("shipped") or {}
                setting = ", ".join(f"{n.split('.')[-1]}={v}" for n, v in b["settings"].items())
                lines.append(f"| {name} | {t} | {setting} | {b['recall']:.4f} | {b['qps']:.0f} | {b['p50_ms']:.2f} "
                             f"| {b['p99_ms']:.2f} | {two[0]['qps']:.0f} | " if two else
                             f"| {name} | {t} | {setting} | {b['recall']:.4f} | {b['qps']:.0f} | {b['p50_ms']:.2f} "
                             f"| {b['p99_ms']:.2f} | - | ")
                lines[-1] += (f"{shp['rows_fetched_mean']:.0f} | {shp['bytes_mean'] / 1024:.0f} |"
                              if shp.get("rows_fetched_mean") is not None else "- | - |")
        lines += ["", "Every setting measured (1 client):", "",
                  "| setting | shape | recall | QPS | p50 ms | p99 ms | rows shipped/query | KiB shipped/query |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in res:
            if r["index"] != label or r["clients"] != 1:
                continue
            name = dict(shapes).get(r["engine"], r["engine"])
            setting = ", ".join(f"{n.split('.')[-1]}={v}" for n, v in r["settings"].items())
            shp = r.get("shipped") or {}
            if not shp.get("scans_per_query"):
                shp = {}
            lines.append(f"| {setting} | {name} | {r['recall']:.4f} | {r['qps']:.1f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
                         + (f"{shp['rows_fetched_mean']:.0f} | {shp['bytes_mean'] / 1024:.0f} |"
                            if shp.get("rows_fetched_mean") is not None else "- | - |"))
        lines += ["", "Coordinator overhead per query (1 client) = latency of the async UNION ALL shape minus the "
                      "slowest shard's latency answering the same query directly; per setting:", "",
                  "| setting | union p50 ms | shard p50 ms (each) | overhead p50 ms | overhead mean ms | overhead p99 ms "
                  "| union - sum of shards, p50 ms | answer = merge of shard answers |",
                  "|---|---|---|---|---|---|---|---|"]
        for (lab, st, kk), o in over.items():
            if lab != label or kk != k:
                continue
            setting = ", ".join(f"{n.split('.')[-1]}={v}" for n, v in o["settings"].items())
            lines.append(f"| {setting} | {o['union_p50_ms']:.2f} | {' / '.join(f'{x:.2f}' for x in o['shard_p50_ms'])} "
                         f"| {o['overhead_vs_slowest_ms']['p50']:.2f} | {o['overhead_vs_slowest_ms']['mean']:.2f} "
                         f"| {o['overhead_vs_slowest_ms']['p99']:.2f} | {o['overhead_vs_sum_ms']['p50']:.2f} "
                         f"| {100 * o['merge_agreement']:.1f}% |")
        lines.append("")
        sizes = [f"shard {s['shard']}: index {s['index_bytes'] / 2**20:.1f} MiB, table {s['table_bytes'] / 2**20:.1f} MiB, "
                 f"build {s['build_s']:.1f} s" for s in built["shards"]]
        if built.get("single_node"):
            s1 = built["single_node"]
            sizes.append(f"1 node: index {s1['index_bytes'] / 2**20:.1f} MiB, table {s1['table_bytes'] / 2**20:.1f} MiB, "
                         f"build {s1['build_s']:.1f} s")
        lines += ["Sizes and builds: " + "; ".join(sizes) + f" (shards built concurrently in {built['wall_s']:.1f} s).", ""]
    lines += ["## Index and table sizes", "",
              "| index | where | rows | index bytes | table bytes | index bytes/row | table bytes/row | lists |",
              "|---|---|---|---|---|---|---|---|"]
    for built in sh["indexes"]:
        places = [(f"shard {s['shard']}", s, sh["rows_per_shard"][s["shard"]]) for s in built["shards"]]
        if built.get("single_node"):
            places.append(("1 node", built["single_node"], doc["dataset"]["n"]))
        for where, s, n in places:
            lists = (s.get("stats") or {}).get("lists")
            lines.append(f"| {built['label']} | {where} | {n} | {s['index_bytes']} | {s['table_bytes']} "
                         f"| {s['index_bytes'] / n:.1f} | {s['table_bytes'] / n:.1f} | {lists} |")
    lines.append("")
    ex = next((r.get("shipped") for r in res if r["engine"] == "sharded-union" and r.get("shipped")), None)
    if ex:
        lines += ["Remote SQL of the async UNION ALL shape (shard 0; the vector literal shortened):", "", "```",
                  re.sub(r"'\[[^']{60,}\]'", "'[...]'", ex["remote_sql"][0]), "```", ""]
    ex = next((r.get("shipped") for r in res if r["engine"] == "sharded-naive" and r.get("shipped")), None)
    if ex:
        lines += ["Remote SQL of the naive shape (no LIMIT: postgres_fdw fetches fetch_size rows per cursor batch):",
                  "", "```", re.sub(r"'\[[^']{60,}\]'", "'[...]'", ex["remote_sql"][0]), "```", ""]
    return "\n".join(lines) + "\n"
