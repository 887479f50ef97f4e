"""--reuse-tables: a later run reuses the tables and the HNSW index of an earlier one with the same
rows and HNSW parameters, measures the same graph, and never lets the kept HNSW index answer another
engine's queries (tiny sizes, never asserts timings)."""
import pytest

from conftest import run_tiny

ARGS = ["--n", "1500", "--dim", "16", "--nq", "15", "--k", "10", "--clients", "1",
        "--tq-bits", "4", "--tq-lists", "0", "--tq-rerank", "50", "--hnsw-ef-search", "10,40",
        "--ivf-lists", "20", "--ivf-probes", "2", "--exact-queries", "15", "--warmup", "1",
        "--no-progress", "--no-charts", "--cache-dir", "", "--reuse-tables"]
KEPT = "tqbench_pgv_hnsw_m16_efc64"


def _indexes(dsn):
    from tqbench import pg

    with pg.connect(dsn) as conn:
        return {r[0]: r[1] for r in conn.execute(
            "SELECT i.relname, t.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_class t ON t.oid = x.indrelid WHERE t.relname LIKE 'tqbench%'").fetchall()}


def _drop_tables(dsn):
    from tqbench import pg

    with pg.connect(dsn) as conn:
        conn.execute("DROP TABLE IF EXISTS tqbench_tq, tqbench_pgv, tqbench_pgv_ivf")


def _hnsw(doc):
    return [i for i in doc["indexes"] if i["engine"] == "pgvector-hnsw"]


def _recalls(doc, engine):
    return {(r["index"], tuple(sorted(r["settings"].items()))): r["recall"]
            for r in doc["results"] if r["engine"] == engine}


@pytest.fixture(scope="module")
def runs(pg_dsn, tmp_path_factory):
    out = tmp_path_factory.mktemp("reuse")
    _drop_tables(pg_dsn)
    try:
        first, tq, vec = run_tiny(pg_dsn, out, ARGS)
        if vec is None:
            pytest.skip("the vector extension (pgvector) is not installed in the test server")
        after_first = _indexes(pg_dsn)
        second, _, _ = run_tiny(pg_dsn, out, ARGS)
        after_second = _indexes(pg_dsn)
        other, _, _ = run_tiny(pg_dsn, out, ARGS + ["--seed", "7"])
        yield first, second, other, after_first, after_second, tq
    finally:
        _drop_tables(pg_dsn)


def test_first_run_builds_and_keeps_the_hnsw_index(runs):
    first, _, _, after_first, _, _ = runs
    (h,) = _hnsw(first)
    assert not h.get("reused") and h["build_s"] > 0 and h["index_bytes"] > 0
    assert not any(load.get("reused") for load in first["loads"].values())
    # Kept: the HNSW index on its table; nothing else (IVFFlat and turboquant indexes are dropped).
    assert after_first == {KEPT: "tqbench_pgv"}, after_first


def test_second_run_reuses_tables_and_the_same_graph(runs):
    first, second, _, _, after_second, tq = runs
    assert after_second == {KEPT: "tqbench_pgv"}, after_second
    for table, load in second["loads"].items():
        assert load.get("reused") is True, (table, load)
        assert "copy_s" not in load
    (h1,), (h2,) = _hnsw(first), _hnsw(second)
    assert h2.get("reused") is True
    assert h2["build_s"] == h1["build_s"] and h2["ddl"] == h1["ddl"]     # the building run's figures
    assert h2["index_bytes"] == h1["index_bytes"]
    # The same graph searched with the same ef_search finds the same neighbours.
    r1, r2 = _recalls(first, "pgvector-hnsw"), _recalls(second, "pgvector-hnsw")
    assert r1 and r1 == r2
    # Every engine still ran, each on its own index: never the kept HNSW index for IVFFlat, never
    # any index for the exact baseline.
    for doc in (first, second):
        plans = {r["engine"]: r["plan"] for r in doc["results"] if "plan" in r}
        assert "Index" not in plans["exact"], plans
        assert plans["pgvector-hnsw"] == f"Index Scan using {KEPT}", plans
        assert plans["pgvector-ivfflat"] == "Index Scan using tqbench_pgv_ivf_idx", plans
        if tq is not None and "turboquant" in plans:
            assert plans["turboquant"] == "Index Scan using tqbench_tq_idx", plans
        exact = [r for r in doc["results"] if r["engine"] == "exact"]
        assert exact and all(r["recall"] == 1.0 for r in exact)


def test_other_rows_are_reloaded_and_rebuilt(runs):
    first, _, other, _, _, _ = runs
    assert not any(load.get("reused") for load in other["loads"].values())
    (h,) = _hnsw(other)
    assert not h.get("reused")


def test_reuse_refuses_drift():
    from tqbench import runner

    with pytest.raises(SystemExit, match="drift"):
        runner.main(ARGS + ["--drift", "0.5", "--dsn", "host=/nonexistent"])
