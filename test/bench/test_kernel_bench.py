"""The kernel benchmark (core shim vs FAISS fast scan) at a tiny size; never asserts timings."""
import json


def test_kernel_bench_tiny(libtqcore, tmp_path):
    import kernel_bench

    path = kernel_bench.main(["--datasets", "synthetic-64", "--n", "3000", "--nq", "30", "--single-queries", "5",
                              "--repeat", "1", "--threads", "1,2", "--cache-dir", "", "--lib", str(libtqcore),
                              "--out-dir", str(tmp_path)])
    doc = json.loads(path.read_text())
    assert doc["simd"] in ("scalar", "avx2", "avx512", "avx512vnni", "neon")
    assert [r["bits"] for r in doc["rows"]] == [2, 4]
    for row in doc["rows"]:
        for eng in ("turboquant", "faiss"):
            r = row[eng]
            assert set(r["r1_at_k"]) == {"1", "2", "4", "8", "16", "32", "64"}
            assert all(0.0 <= v <= 1.0 for v in r["r1_at_k"].values())
            assert 0 <= r["wrong_lists"] <= 30
            assert [t["threads"] for t in r["throughput"]] == [1, 2]
        # Equal code bytes per vector: d/4 at 2 bits, d/2 at 4 bits.
        assert row["turboquant"]["code_bytes_per_vector"] == row["faiss"]["code_bytes_per_vector"] == 64 * row["bits"] / 8
        # Quantized order alone puts the true nearest neighbour in the top 64 of 3000 almost always.
        assert row["turboquant"]["r1_at_k"]["64"] >= 0.9


def test_shim_matches_numpy_order(libtqcore):
    """At 4 bits the shim's estimated order agrees with the exact order for most top-1s."""
    import numpy as np

    import kernel_bench
    from tqbench import groundtruth

    rng = np.random.default_rng(1)
    base = rng.standard_normal((1000, 40)).astype(np.float32)   # 40: not a multiple of any chunk size
    q = rng.standard_normal((20, 40)).astype(np.float32)
    core = kernel_bench.TqCore(libtqcore)
    h = core.build(base, 4, 42)
    try:
        for metric in ("cosine", "l2", "ip"):
            ids = core.search(h, q, metric, 10, 1)
            gt = groundtruth.brute_force(base, q, 10, metric)
            assert ids.shape == (20, 10) and (ids >= 0).all() and (ids < 1000).all()
            assert np.mean([gt[i, 0] in ids[i] for i in range(20)]) >= 0.9, metric
            # Threads split queries without changing answers.
            np.testing.assert_array_equal(core.search(h, q, metric, 10, 2), ids)
    finally:
        core.free(h)


def test_kernel_bench_runs_without_data_sets(libtqcore, tmp_path, capsys):
    """A fresh clone has no ../shared: the default data sets fall back to synthetic ones, with a note."""
    import kernel_bench

    path = kernel_bench.main(["--data-dir", str(tmp_path / "no-data"), "--n", "600", "--nq", "8",
                              "--single-queries", "2", "--repeat", "1", "--threads", "1", "--bits", "4",
                              "--cache-dir", "", "--no-faiss", "--lib", str(libtqcore),
                              "--out-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "note: npm-use512 not in" in out and "note: debian-fasttext300 not in" in out
    doc = json.loads(path.read_text())
    assert [(r["dim"], r["bits"]) for r in doc["rows"]] == [(1536, 4), (3072, 4)]
    assert all(r["dataset"].startswith("synthetic") for r in doc["rows"])
