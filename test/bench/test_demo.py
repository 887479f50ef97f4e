"""The demo (scripts/demo.py) and its embedding model (examples/minilm.py).

The model's numpy forward pass is checked against the similarities that
sentence-transformers documents for all-MiniLM-L6-v2; the demo is run as a
user runs it, with the model and without it, against the test server.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, extension_state, has_am, unavailable

sys.path.insert(0, str(ROOT / "examples"))
import minilm  # noqa: E402


def model_or_skip():
    try:
        return minilm.MiniLM()
    except minilm.ModelMissing as e:
        # scripts/setup.sh installs it: in CI its absence is a failure
        unavailable(f"the demo's embedding model is not installed: {e}")


def test_minilm_matches_sentence_transformers():
    """sentence-transformers' quickstart: cosine similarities 0.6660, 0.1046, 0.1411."""
    model = model_or_skip()
    e = model.embed(["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."])
    assert e.shape == (3, 384) and e.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    sims = e @ e.T
    np.testing.assert_allclose([sims[0, 1], sims[0, 2], sims[1, 2]], [0.6660, 0.1046, 0.1411], atol=2e-3)


def test_stored_embeddings_are_the_models():
    """The repository's float16 vectors are what the model gives for the stored texts."""
    import gzip
    import json

    model = model_or_skip()
    with gzip.open(ROOT / "examples" / "data" / "npm-packages.jsonl.gz", "rt") as f:
        texts = [json.loads(next(f)) for _ in range(20)]
    stored = np.load(ROOT / "examples" / "data" / "npm-packages.minilm384.f16.npy")[:20].astype(np.float32)
    np.testing.assert_allclose(model.embed(texts), stored, atol=2e-3)


def run_demo(dsn, args, model=True):
    env = dict(os.environ, DATABASE_URL=dsn)
    if not model:
        env["TQ_DEMO_MODEL"] = "off"
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo.py"), *args], env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


@pytest.fixture
def demo_db(pg_dsn):
    if extension_state(pg_dsn, "turboquant") is None or not has_am(pg_dsn, "turboquant"):
        unavailable("the turboquant extension with its index access method is not installed in the test server")
    import psycopg

    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        before = {r[0] for r in conn.execute("SELECT extname FROM pg_extension")}
    yield pg_dsn
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS demo_packages, demo_packages_pgvector")
        for ext in ("turboquant_pgvector", "vector"):      # leave the database as it was
            if ext not in before:
                conn.execute(f"DROP EXTENSION IF EXISTS {ext}")


def test_demo_with_the_model(demo_db):
    model_or_skip()
    out = run_demo(demo_db, ["http client with retries"])
    assert 'query "http client with retries"  (embedded now with all-MiniLM-L6-v2' in out
    assert "A basic HTTP client for making API requests" in out       # a real text, the nearest
    assert "Index Scan using demo_packages_idx" in out
    assert "the same rows in the same order" in out
    assert out.rstrip().endswith("every answer matched the exact search")


def test_demo_without_the_model_says_so(demo_db):
    out = run_demo(demo_db, ["some query that is not stored"], model=False)
    assert "NOTE: the embedding model is not installed here" in out
    assert 'Cannot embed "some query that is not stored" without it.' in out
    assert 'query "http client with retries"  (stored embedding)' in out
    assert "A basic HTTP client for making API requests" in out
    assert out.rstrip().endswith("every answer matched the exact search")
