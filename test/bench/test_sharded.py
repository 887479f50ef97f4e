"""The runner's sharded mode (--shards N): query shapes, pushdown, async, merge, overhead, sizes.

Offline tests check the SQL it sends and its parsing; one end-to-end run starts 2 shard clusters and
a coordinator (throwaway, loopback) at a tiny size.  Never asserts a time."""
import json
import re

import pytest

from conftest import IN_CI, extension_state, unavailable


# ---- offline ------------------------------------------------------------------------------

def test_union_sql_shapes():
    from tqbench import sharded

    s = sharded.union_sql(3, "<=>", 7)
    assert s.startswith("WITH s AS MATERIALIZED (")
    assert s.count("LIMIT 7") == 4                       # one per shard + the merge
    for i in range(3):
        assert f"FROM tqbench_tq_s{i} ORDER BY v <=> %(q)s LIMIT 7" in s
    assert "%s" not in s                                 # one $1, not one parameter per use
    m = sharded.union_sql(2, "<->", 5, concurrent=False)
    assert "MATERIALIZED" not in m and m.endswith("ORDER BY d LIMIT 5")
    assert sharded.shard_sql("<#>", 3) == ("SELECT id, v <#> %(q)s AS d FROM tqbench_tq "
                                           "ORDER BY v <#> %(q)s LIMIT 3")


def test_remote_columns():
    from tqbench.sharded import ShardedRun

    rc = ShardedRun._remote_columns
    assert rc("SELECT id, v FROM public.t ORDER BY (v OPERATOR(public.<=>) '[1,2]') LIMIT 10::bigint") == ["id", "v"]
    assert rc("SELECT id, (v OPERATOR(public.<=>) $1::tqvector) FROM public.t") == ["id", "d"]
    assert rc("SELECT NULL FROM public.t") == []
    assert rc("garbage") == []


def test_shards_refuse_a_dsn():
    from tqbench import runner

    with pytest.raises(SystemExit, match="--shards starts its own clusters"):
        runner.main(["--shards", "2", "--n", "100", "--dim", "8", "--nq", "2", "--dsn", "host=nowhere",
                     "--cache-dir", "", "--no-charts", "--no-progress"])


# ---- end to end: 2 shards + coordinator --------------------------------------------------

@pytest.fixture(scope="module")
def sharded_run(tmp_path_factory, pg_dsn):
    from tqbench import runner

    # The sharded mode starts its own clusters with pg_config's binaries; the test server only
    # tells whether the extensions are installed there.
    if extension_state(pg_dsn, "turboquant") is None:
        unavailable("the turboquant extension is not installed")
    if extension_state(pg_dsn, "postgres_fdw") is None:
        unavailable("postgres_fdw is not installed")
    out = tmp_path_factory.mktemp("sharded")
    args = ["--shards", "2", "--n", "3000", "--dim", "32", "--nq", "40", "--k", "10", "--clients", "1,2",
            "--tq-bits", "4", "--tq-lists", "8", "--tq-probes", "1,8", "--tq-rerank", "200",
            "--shard-size-bits", "2", "--warmup", "2", "--shard-explain", "2", "--shared-buffers", "32MB",
            "--cache-dir", "", "--no-charts", "--no-progress", "--out-dir", str(out)]
    try:
        path = runner.main(args)
    except RuntimeError as e:   # a cluster that does not start (no initdb, no postgres user, ...)
        if IN_CI:
            raise
        pytest.skip(f"cannot start the shard clusters: {e}")
    return json.loads(path.read_text()), path


def _rows(doc, engine, **kw):
    return [r for r in doc["results"] if r["engine"] == engine and all(r.get(k) == v for k, v in kw.items())]


def test_every_shape_measured(sharded_run):
    doc, _ = sharded_run
    for engine in ("turboquant-1node", "sharded-naive", "sharded-union-merge", "sharded-union",
                   "shard0-direct", "shard1-direct"):
        rows = _rows(doc, engine, clients=1)
        assert len(rows) == 2, engine                      # probes 1 and 8
        for r in rows:
            assert r["nq"] == 40 and r["rows_mean"] == 10, engine
    for engine in ("turboquant-1node", "sharded-naive", "sharded-union"):
        assert len(_rows(doc, engine, clients=2)) == 2


def test_rows_split_by_the_coordinators_hash(sharded_run):
    doc, _ = sharded_run
    per = doc["sharded"]["rows_per_shard"]
    assert sum(per) == 3000 and min(per) > 1000            # hash of id: about half each
    assert [ld["rows"] for ld in doc["sharded"]["loads"]] == per


def test_union_equals_merged_shard_answers_and_naive(sharded_run):
    doc, _ = sharded_run
    for o in doc["sharded"]["overhead"]:
        assert o["merge_agreement"] == 1.0, o["settings"]
        assert o["overhead_vs_slowest_ms"]["p50"] == o["overhead_vs_slowest_ms"]["p50"]   # not NaN
        assert len(o["shard_p50_ms"]) == 2
    for probes in (1, 8):
        st = {"turboquant.probes": probes, "turboquant.rerank": 200}
        naive = [r for r in _rows(doc, "sharded-naive", clients=1) if r["settings"] == st][0]
        union = [r for r in _rows(doc, "sharded-union", clients=1) if r["settings"] == st][0]
        merge = [r for r in _rows(doc, "sharded-union-merge", clients=1) if r["settings"] == st][0]
        # the same per-shard index scans: the same answers, whatever the shape
        assert naive["recall"] == pytest.approx(union["recall"]) == pytest.approx(merge["recall"])
    # every list probed on every shard with a large rerank: (nearly) exact
    best = max(r["recall"] for r in _rows(doc, "sharded-union", clients=1))
    assert best >= 0.97
    # one shard alone misses the other shard's neighbours
    assert max(r["recall"] for r in _rows(doc, "shard0-direct")) < 0.8


def test_limit_pushed_and_shards_async(sharded_run):
    doc, _ = sharded_run
    union = [r for r in _rows(doc, "sharded-union", clients=1) if r.get("shipped")]
    naive = [r for r in _rows(doc, "sharded-naive", clients=1) if r.get("shipped")]
    merge = [r for r in _rows(doc, "sharded-union-merge", clients=1) if r.get("shipped")]
    assert union and naive and merge
    u, n, m = union[0]["shipped"], naive[0]["shipped"], merge[0]["shipped"]
    assert u["scans_per_query"] == 2 and u["async_scans"] == 2
    assert m["async_scans"] == 0                           # Merge Append runs shard after shard
    assert all(re.search(r"LIMIT 10\b", s) for s in u["remote_sql"])
    assert not any("LIMIT" in s for s in n["remote_sql"])
    assert u["rows_fetched_mean"] == 20                    # k per shard
    assert n["rows_fetched_mean"] >= 100                   # a whole fetch_size batch per shard
    assert n["bytes_mean"] > 4 * u["bytes_mean"]


def test_sizes_and_markdown(sharded_run):
    doc, path = sharded_run
    idx = doc["sharded"]["indexes"]
    b4 = [i for i in idx if i["label"].startswith("turboquant b=4")][0]
    b2 = [i for i in idx if i["label"].startswith("turboquant b=2")][0]
    assert b2.get("sizes_only") and not b4.get("sizes_only")
    assert b4["single_node"]["index_bytes"] > 0 and "single_node" not in b2
    for i in (b2, b4):
        assert len(i["shards"]) == 2
        assert all(s["stats"] and s["stats"]["lists"] == 8 for s in i["shards"])
    assert sum(s["index_bytes"] for s in b2["shards"]) < sum(s["index_bytes"] for s in b4["shards"])
    assert not _rows(doc, "sharded-union", index=b2["label"])     # sizes only: never queried
    md = path.with_suffix(".md").read_text()
    assert "| UNION ALL in MATERIALIZED CTE (async Append) | 0.95 |" in md
    assert "Coordinator overhead per query" in md and "Every setting measured (1 client)" in md
    assert re.search(r"\| probes=1, rerank=200 \| parent table \(naive\) \| [\d.]+ \| [\d.]+ \|", md) and "| turboquant b=2 lists=8 | shard 1 |" in md


def test_tq_search_helper_when_present(sharded_run):
    doc, _ = sharded_run
    if not doc["sharded"]["tq_search"]:
        pytest.skip("this turboquant has no tq_search function")
    for st in ({"turboquant.probes": 1, "turboquant.rerank": 200}, {"turboquant.probes": 8, "turboquant.rerank": 200}):
        union = [r for r in _rows(doc, "sharded-union", clients=1) if r["settings"] == st][0]
        helper = [r for r in _rows(doc, "sharded-tq_search", clients=1) if r["settings"] == st][0]
        assert helper["rows_mean"] == 10
        assert helper["recall"] == pytest.approx(union["recall"])   # the same union, built by the helper
