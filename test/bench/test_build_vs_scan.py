"""bench/build_vs_scan.py at a tiny size: it runs a scan and each build kind, alternately, and
reports positive times and their ratios; never asserts timings."""
import json

from conftest import extension_state, unavailable


def test_build_vs_scan_tiny(pg_dsn, tmp_path):
    import build_vs_scan

    if extension_state(pg_dsn, "turboquant") is None:
        unavailable("the turboquant extension is not installed in the test server")
    path = build_vs_scan.main(["--dsn", pg_dsn, "--n", "25000", "--dims", "40", "--bits", "2,4",
                               "--rounds", "1", "--out-dir", str(tmp_path)])
    rows = json.loads(path.read_text())["rows"]
    assert [(r["dim"], r["bits"], r["build"]) for r in rows] == [
        (40, 2, "flat"), (40, 2, "lists"), (40, 4, "flat"), (40, 4, "lists")]
    for r in rows:
        assert r["n"] == 25000
        assert r["scan_s"] > 0 and r["build_s"] > 0
        assert abs(r["ratio"] - r["build_s"] / r["scan_s"]) < 1e-9
