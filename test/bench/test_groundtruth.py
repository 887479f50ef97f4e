"""Blockwise exact ground truth against brute force, and the recall measures."""
import numpy as np
import pytest

from tqbench import groundtruth, metrics


@pytest.mark.parametrize("metric", ["cosine", "l2", "ip"])
def test_blockwise_matches_brute_force(metric):
    rng = np.random.default_rng(7)
    base = rng.standard_normal((1000, 16)).astype(np.float32)
    q = rng.standard_normal((37, 16)).astype(np.float32)
    ids, dist = groundtruth.knn(base, q, k=25, metric=metric, query_block=10, base_block=97)
    ref = groundtruth.brute_force(base, q, 25, metric)
    np.testing.assert_array_equal(ids, ref)
    assert np.all(np.diff(dist, axis=1) >= 0)


def test_ties_go_to_smaller_id():
    base = np.zeros((50, 4), dtype=np.float32)
    base[:, 0] = 1.0                       # 50 identical vectors
    base[7] = [0, 1, 0, 0]
    q = np.array([[1, 0, 0, 0]], dtype=np.float32)
    ids, _ = groundtruth.knn(base, q, k=10, metric="l2", base_block=8)
    assert ids[0].tolist() == [0, 1, 2, 3, 4, 5, 6, 8, 9, 10]


def test_zero_vector_is_farthest_for_cosine():
    base = np.array([[0, 0], [1, 0], [0, 1]], dtype=np.float32)
    ids, _ = groundtruth.knn(base, np.array([[1, 1]], dtype=np.float32), k=3, metric="cosine")
    assert ids[0].tolist() == [1, 2, 0]


def test_k_larger_than_n():
    base = np.eye(3, dtype=np.float32)
    ids, _ = groundtruth.knn(base, base, k=100, metric="l2")
    assert ids.shape == (3, 3) and ids[:, 0].tolist() == [0, 1, 2]


def test_recall_measures():
    gt = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    res = [[1, 2, 9, 4], [6, 5]]
    assert metrics.recall_at_k(res, gt, 4) == pytest.approx((3 / 4 + 2 / 4) / 2)
    assert metrics.recall_at_k(res, gt, 1) == pytest.approx(0.5)
    r1 = metrics.r1_at_k(res, gt, (1, 2, 4))
    assert r1 == {"1": 0.5, "2": 1.0, "4": 1.0}
    assert metrics.percentile_ms([0.001, 0.002, 0.003], 50) == pytest.approx(2.0)
