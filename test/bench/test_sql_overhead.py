"""bench/sql_overhead.py at a tiny size: it runs, measures the index it built, and reports the
codes each scan scored (all of them flat, a part with lists); never asserts timings."""
import json

from conftest import extension_state, unavailable


def test_sql_overhead_tiny(pg_dsn, libtqcore, tmp_path):
    import sql_overhead

    if extension_state(pg_dsn, "turboquant") is None:
        unavailable("the turboquant extension is not installed in the test server")
    path = sql_overhead.main(["--dsn", pg_dsn, "--n", "20000", "--dims", "40", "--lists", "0,40",
                              "--queries", "5", "--rounds", "1", "--lib", str(libtqcore),
                              "--out-dir", str(tmp_path)])
    rows = json.loads(path.read_text())["rows"]
    assert [(r["dim"], r["lists"]) for r in rows] == [(40, "0"), (40, "40")]
    flat, lists = rows
    assert flat["slots"] == 20000                # a flat scan scores every code
    # the default probes scan about 4,000 rows (16 of 40 lists of ~500 here): a part
    assert 0 < lists["slots"] < 20000
    for r in rows:
        assert r["kernel_ms"] > 0 and r["server_ms"] > 0 and r["client_ms"] > 0
