"""The SQL runner end to end at a tiny size, against a real server (never asserts timings)."""

import pytest

from conftest import has_am, run_tiny

TINY = ["--n", "2000", "--dim", "32", "--nq", "20", "--k", "10,100", "--clients", "1,2",
        "--tq-bits", "2,4", "--tq-rerank", "0,50", "--hnsw-ef-search", "10,100", "--ivf-probes", "1,4",
        "--exact-queries", "20", "--warmup", "2", "--no-progress", "--cache-dir", ""]


@pytest.fixture(scope="module")
def run_doc(pg_dsn, tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    doc, tq, vec = run_tiny(pg_dsn, out, TINY)
    return doc, out, tq, vec, pg_dsn


def test_document_fields(run_doc):
    doc, out, tq, vec, _ = run_doc
    for key in ("format", "started_at", "command", "args", "machine", "hardware", "libraries", "source",
                "postgres", "extensions", "dataset", "loads", "indexes", "results", "skipped"):
        assert key in doc, key
    assert doc["dataset"]["n"] == 2000 and doc["dataset"]["dim"] == 32 and doc["dataset"]["nq"] == 20
    assert doc["postgres"]["server_version_num"] >= 150000
    for k in ("cpu", "logical_cpus", "os"):
        assert k in doc["machine"]
    assert "numpy" in doc["libraries"] and "psycopg" in doc["libraries"]
    for load in doc["loads"].values():
        assert load["rows"] == 2000 and load["table_bytes"] > 0
    assert doc["results"], "no measurements"
    for r in doc["results"]:
        assert 0.0 <= r["recall"] <= 1.0
        assert all(0.0 <= v <= 1.0 for v in r["r1_at_k"].values())
        assert set(r["r1_at_k"]) == {str(k) for k in (1, 2, 4, 8, 16, 32, 64) if k <= r["k"]}
        for f in ("qps", "p50_ms", "p99_ms", "mean_ms", "rows_mean", "nq", "clients", "settings", "engine", "index"):
            assert f in r
    for i in doc["indexes"]:
        assert i["index_bytes"] > 0 and i["build_s"] >= 0


def test_exact_scan_is_exact(run_doc):
    doc, *_ = run_doc
    exact = [r for r in doc["results"] if r["engine"] == "exact"]
    assert exact, "the exact baseline did not run"
    for r in exact:
        assert r["recall"] == 1.0, r
        assert r["r1_at_k"]["1"] == 1.0
        assert r["rows_mean"] == r["k"]
    plans = [r["plan"] for r in exact if "plan" in r]
    assert plans and all("Index" not in p for p in plans), plans


def test_engines_ran_or_said_why(run_doc):
    doc, out, tq, vec, dsn = run_doc
    engines = {r["engine"] for r in doc["results"]}
    skipped = {s["engine"] for s in doc["skipped"]}
    if vec is None:
        assert "pgvector" in skipped
    else:
        assert {"pgvector-hnsw", "pgvector-ivfflat"} <= engines
        assert any(r["plan"].startswith("Index Scan") for r in doc["results"]
                   if r["engine"] == "pgvector-hnsw" and "plan" in r)
    if tq is not None and has_am(dsn, "turboquant"):
        tqr = [r for r in doc["results"] if r["engine"] == "turboquant"]
        assert {r["settings"]["turboquant.rerank"] for r in tqr} == {0, 50}
        assert {i["options"]["bits"] for i in doc["indexes"] if i["engine"] == "turboquant"} == {2, 4}
        assert all(r["plan"].startswith("Index Scan") for r in tqr if "plan" in r)
        # 50 exact re-ranked candidates out of 2000 should find most true top-10.
        assert max(r["recall"] for r in tqr if r["k"] == 10) > 0.5
    else:
        assert "turboquant" in skipped


def test_charts_written(run_doc):
    doc, out, *_ = run_doc
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert any(p.endswith("-recall-qps.png") for p in pngs)
    assert any(p.endswith("-r1.png") for p in pngs)
    if doc["indexes"]:
        assert any(p.endswith("-build.png") for p in pngs)


def test_markdown_report(run_doc):
    from tqbench import report

    doc, *_ = run_doc
    md = report.markdown(doc)
    assert "| engine |" in md and "exact" in md


def test_performance_section(run_doc):
    from tqbench import report

    doc, out, *_ = run_doc
    path = next(out.glob("*.json"))
    md = report.performance_section(doc, path)
    assert md.startswith("## Performance") and "Generated from a real run" in md
    assert doc["command"] in md and "-recall-qps.png" in md
