"""The runner's partition parts: lists/probes sweeps, IVFFlat lists sweep, build phases, the drift
scenario, the summary against HNSW and the QPS-vs-N chart (tiny sizes, never asserts timings)."""
import json

import numpy as np
import pytest

from conftest import has_am, run_tiny


# ---- offline: no server ------------------------------------------------------------------

def test_drift_split_is_a_partition_along_the_main_direction():
    from tqbench import drift

    rng = np.random.default_rng(1)
    x = rng.standard_normal((3000, 16)).astype(np.float32)
    x[:, 3] *= 10          # main direction: axis 3
    b, d = drift.split(x, "l2", 0.5)
    assert b.size + d.size == 3000 and d.size == 1000
    assert np.intersect1d(b, d).size == 0
    assert np.array_equal(np.sort(np.concatenate([b, d])), np.arange(3000))
    # One side of axis 3 (sign of the component is arbitrary): the two groups do not overlap much.
    lo, hi = sorted([x[b, 3].mean(), x[d, 3].mean()])
    assert hi - lo > 10
    b2, d2 = drift.split(x, "l2", 0.5)
    assert np.array_equal(b, b2) and np.array_equal(d, d2)
    with pytest.raises(ValueError):
        drift.split(x[:1], "l2", 0.5)


def test_drift_plan_ground_truth_uses_original_ids():
    from tqbench import drift, groundtruth

    rng = np.random.default_rng(2)
    x = rng.standard_normal((600, 8)).astype(np.float32)
    q = rng.standard_normal((5, 8)).astype(np.float32)
    gt_all, _ = groundtruth.knn(x, q, k=10, metric="cosine")
    p = drift.plan(x, q, "cosine", 0.5, gt_all, 10)
    assert set(p.gt_before.ravel()) <= set(p.build_ids.tolist())
    ref = groundtruth.brute_force(x[p.build_ids], q, 10, "cosine")
    assert np.array_equal(p.gt_before, p.build_ids[np.asarray(ref)])


def test_phase_durations():
    from tqbench.runner import phase_durations

    d = phase_durations([("sampling", 0.1), ("training", 0.5), ("writing", 2.0)], 3.0)
    assert d == pytest.approx({"sampling": 0.4, "training": 1.5, "writing": 1.0})
    assert phase_durations([], 1.0) == {}


def _row(engine, index, recall, qps, settings, drift=None):
    r = {"engine": engine, "index": index, "recall": recall, "qps": qps, "settings": settings, "k": 10,
         "clients": 1, "p50_ms": 1.0, "p99_ms": 2.0, "r1_at_k": {"1": recall}}
    if drift:
        r["drift"] = drift
    return r


def _doc(n, tq_qps=(100, 50), h_qps=(40, 20)):
    return {"dataset": {"name": f"synthetic-{n}x8", "n": n, "dim": 8, "nq": 10, "metric": "cosine"},
            "indexes": [{"engine": "turboquant", "index": "turboquant b=4 lists=10", "build_s": 1.0,
                         "index_bytes": 100, "phases": {"training": 0.5}},
                        {"engine": "pgvector-hnsw", "index": "hnsw", "build_s": 30.0, "index_bytes": 1000}],
            "results": [_row("turboquant", "turboquant b=4 lists=10", 0.96, tq_qps[0], {"turboquant.probes": 4}),
                        _row("turboquant", "turboquant b=4 lists=10", 0.995, tq_qps[1], {"turboquant.probes": 16}),
                        _row("turboquant", "turboquant b=4 lists=10 +drift", 0.93, 90, {"turboquant.probes": 4}, "after"),
                        _row("turboquant", "turboquant b=4 lists=10 +drift", 0.99, 45, {"turboquant.probes": 16}, "after"),
                        _row("pgvector-hnsw", "hnsw", 0.97, h_qps[0], {"hnsw.ef_search": 40}),
                        _row("pgvector-hnsw", "hnsw", 0.992, h_qps[1], {"hnsw.ef_search": 100}),
                        _row("pgvector-hnsw", "hnsw", 0.90, 400, {"hnsw.ef_search": 10}),
                        _row("exact", "seqscan", 1.0, 5, {})]}


def test_summary_ratios_against_hnsw():
    from tqbench import report

    s = report.summary(_doc(1000), [0.95, 0.99])
    tq = next(e for e in s["indexes"] if e["index"] == "turboquant b=4 lists=10")
    assert tq["at"]["0.95"]["qps"] == 100 and tq["at"]["0.95"]["qps_vs_hnsw"] == pytest.approx(2.5)
    assert tq["at"]["0.99"]["qps_vs_hnsw"] == pytest.approx(2.5)
    assert tq["at"]["0.95"]["p50_qps_vs_hnsw"] == pytest.approx(1.0)   # equal medians in this fake run
    assert tq["build_speedup_vs_hnsw"] == pytest.approx(30) and tq["size_vs_hnsw"] == pytest.approx(0.1)
    assert tq["phases"] == {"training": 0.5}
    h = next(e for e in s["indexes"] if e["index"] == "hnsw")
    assert h["at"]["0.95"]["qps"] == 40   # ef_search=10 is faster but below 0.95
    assert not any(e["engine"] == "exact" for e in s["indexes"])
    (d,) = s["drift"]
    assert d["worst_delta"] == pytest.approx(-0.03) and d["at_first_0.95"]["after"] == 0.93
    text = report.summary_text(s)
    assert "2.50x HNSW" in text and "worst recall change -0.0300" in text
    md = report.summary_markdown(s)
    assert "| turboquant b=4 lists=10 | before |" in md and "x HNSW" in md


def test_combine_runs_on_the_same_data():
    """An HNSW-only run and a turboquant run on the same rows: one summary with ratios across them."""
    from tqbench import report

    full = _doc(1000)
    hnsw_only = dict(full, indexes=[i for i in full["indexes"] if i["engine"] == "pgvector-hnsw"],
                     results=[r for r in full["results"] if r["engine"] == "pgvector-hnsw"],
                     skipped=[{"engine": "turboquant", "reason": "--skip-turboquant given"}])
    tq_only = dict(full, indexes=[i for i in full["indexes"] if i["engine"] != "pgvector-hnsw"],
                   results=[r for r in full["results"] if r["engine"] != "pgvector-hnsw"],
                   skipped=[{"engine": "pgvector-hnsw", "reason": "not in --engines"}])
    alone = report.summary(tq_only, [0.95, 0.99])
    assert next(e for e in alone["indexes"] if e["index"] == "turboquant b=4 lists=10")["at"]["0.95"]["qps_vs_hnsw"] is None
    doc = report.combine([hnsw_only, tq_only])
    assert len(doc["results"]) == len(full["results"]) and len(doc["indexes"]) == 2
    assert doc["skipped"] == [] and len(doc["combined_from"]) == 2
    by_index = lambda sm: sorted(sm["indexes"], key=lambda e: e["index"])
    assert by_index(doc["summary"]) == by_index(report.summary(full, [0.95, 0.99]))
    tq = next(e for e in doc["summary"]["indexes"] if e["index"] == "turboquant b=4 lists=10")
    assert tq["at"]["0.95"]["qps_vs_hnsw"] == pytest.approx(2.5) and tq["build_speedup_vs_hnsw"] == pytest.approx(30)
    with pytest.raises(ValueError, match="different datasets"):
        report.combine([hnsw_only, _doc(2000)])


def test_frontier_keeps_only_undominated_settings():
    from tqbench import report

    pts = [(0.90, 500, "p4,r20"), (0.90, 400, "p4,r50"), (0.95, 450, "p8,r20"), (0.95, 300, "p8,r50"),
           (0.99, 200, "p16,r20"), (0.98, 150, "p16,r50")]
    assert report._frontier(sorted(pts)) == [(0.90, 500, "p4,r20"), (0.95, 450, "p8,r20"), (0.99, 200, "p16,r20")]


def test_scaling_chart(tmp_path):
    from tqbench import report

    docs = [_doc(1000), _doc(10000, tq_qps=(80, 40), h_qps=(30, 15))]
    pts = report.scaling_points(docs, 0.95)
    assert pts["turboquant lists"] == [(1000, 100), (10000, 80)]
    assert pts["pgvector-hnsw"] == [(1000, 40), (10000, 30)]
    assert "exact" not in pts
    p = report.scaling_chart(docs, tmp_path / "scaling.png")
    assert p.exists() and p.stat().st_size > 1000
    paths = []
    for i, d in enumerate(docs):
        paths.append(tmp_path / f"r{i}.json")
        paths[-1].write_text(json.dumps(d))
    report.main(["--scaling", str(tmp_path / "s2.png"), *map(str, paths), "--threshold", "0.99"])
    assert (tmp_path / "s2.png").exists()
    # Two runs at one N: the line takes the best of them, each run keeps its own point.
    docs.append(_doc(10000, tq_qps=(120, 30), h_qps=(20, 25)))
    assert report.scaling_points(docs, 0.95)["turboquant lists"] == [(1000, 100), (10000, 120)]
    assert report.scaling_points(docs, 0.99)["pgvector-hnsw"] == [(1000, 20), (10000, 25)]
    assert report.scaling_runs(docs, 0.95)["pgvector-hnsw"] == [(1000, 40, 0), (10000, 25, 2), (10000, 30, 1)]
    assert report.scaling_points(docs, 0.95, with_exact=True)["exact (seq scan)"] == [(1000, 5), (10000, 5)]
    paths.append(tmp_path / "r2.json")
    paths[-1].write_text(json.dumps(docs[-1]))
    report.main(["--scaling", str(tmp_path / "s3.png"), *map(str, paths), "--threshold", "0.95,0.99"])
    assert (tmp_path / "s3.png").stat().st_size > (tmp_path / "s2.png").stat().st_size


# ---- against a server -------------------------------------------------------------------

TINY = ["--n", "1500", "--dim", "24", "--nq", "15", "--k", "10", "--clients", "1", "--tq-bits", "4",
        "--tq-lists", "0,8", "--tq-probes", "1,8", "--tq-rerank", "50", "--hnsw-ef-search", "10,40",
        "--ivf-lists", "0,8", "--ivf-probes", "1,8", "--drift", "0.5", "--exact-queries", "10",
        "--warmup", "1", "--no-progress", "--cache-dir", "", "--no-charts", "--parallel-workers", "0"]


@pytest.fixture(scope="module")
def drift_doc(pg_dsn, tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    doc, tq, vec = run_tiny(pg_dsn, out, TINY)
    return doc, tq, vec, pg_dsn


def test_drift_and_sweeps(drift_doc):
    doc, tq, vec, dsn = drift_doc
    assert doc["drift_plan"]["build_rows"] == 1000 and doc["drift_plan"]["drift_rows"] == 500
    for load in doc["loads"].values():
        assert load["rows"] == 1000
    measured = {r["index"] for r in doc["results"] if r["engine"] != "exact"}
    for i in doc["indexes"]:
        assert isinstance(i["phases"], dict) and i["max_parallel_maintenance_workers"] == 0
        assert i["index"] in measured and i["index"] + " +drift" in measured, i["index"]
    for d in doc["drift"]:
        assert d["rows"] == 500 and d["index_bytes_after"] > 0
    after = [r for r in doc["results"] if r.get("drift") == "after"]
    assert after and all(r["index"].endswith(" +drift") for r in after)
    if vec is not None:
        ivf = sorted(i["options"]["lists"] for i in doc["indexes"] if i["engine"] == "pgvector-ivfflat")
        assert ivf == [8, 32]    # round(sqrt(1000)) and 8
        assert {r["settings"]["ivfflat.probes"] for r in doc["results"] if r["engine"] == "pgvector-ivfflat"} == {1, 8}
        s = doc["summary"]
        assert s["hnsw"]["before"]["0.95"] is None or s["hnsw"]["before"]["0.95"]["qps"] > 0
        hn = [e for e in s["indexes"] if e["engine"] == "pgvector-hnsw" and e["drift"] == "before"]
        assert hn and hn[0]["build_speedup_vs_hnsw"] == pytest.approx(1.0)
    if tq is not None and has_am(dsn, "turboquant"):
        tqi = [i for i in doc["indexes"] if i["engine"] == "turboquant"]
        flat = [i for i in tqi if i["options"]["lists"] == "0"]
        assert flat and flat[0]["lists"] in (0, 1)    # the flat index is the one-list case
        assert all("turboquant.probes" not in r["settings"] for r in doc["results"] if " flat" in r["index"])
        parts = [i for i in tqi if i["options"]["lists"] == "8"]
        if parts:
            assert parts[0]["stats"]["lists"] == 8 and parts[0]["stats"]["rows"] == 1000
            d = next(d for d in doc["drift"] if d["index"] == parts[0]["index"])
            assert d["stats_after"]["rows"] == 1500 and d["stats_before"]["rows"] == 1000
            pr = {r["settings"].get("turboquant.probes") for r in doc["results"]
                  if r["engine"] == "turboquant" and "lists=8" in r["index"]}
            assert pr == {1, 8}
            # Probing every list with a re-rank of 50 out of 1000 rows finds most of the top 10.
            full = [r for r in doc["results"] if r["engine"] == "turboquant" and "lists=8" in r["index"]
                    and not r.get("drift")
                    and r["settings"]["turboquant.probes"] == 8]
            assert full and full[0]["recall"] > 0.5
        else:
            assert any("lists" in s["reason"] for s in doc["skipped"] if s["engine"] == "turboquant")
