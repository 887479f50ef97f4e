"""The Python example in examples/ runs as documented."""
import importlib.util

import numpy as np

from conftest import ROOT, extension_state, has_am, unavailable


def load_example():
    spec = importlib.util.spec_from_file_location("python_example", ROOT / "examples" / "python_example.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_python_example(pg_dsn, capsys):
    if extension_state(pg_dsn, "turboquant") is None or not has_am(pg_dsn, "turboquant"):
        unavailable("the turboquant extension with its index access method is not installed in the test server")
    mod = load_example()
    rows, v = mod.main(pg_dsn, n=2000, dim=32)
    assert rows[0][0] == 42                         # the query is a slightly moved copy of row 42
    assert len(rows) == 5
    assert all(rows[i][1] <= rows[i + 1][1] for i in range(4))
    assert isinstance(v, np.ndarray) and v.shape == (32,) and v.dtype == np.float32
    np.testing.assert_array_equal(v, np.random.default_rng(0).standard_normal((2000, 32), dtype=np.float32)[42])
    assert "nearest vector" in capsys.readouterr().out


def test_tqvector_binary_round_trip(pg_dsn):
    """The example's adapters: numpy -> binary parameter -> server -> numpy, bit for bit."""
    if extension_state(pg_dsn, "turboquant") is None:
        unavailable("the turboquant extension is not installed in the test server")
    import psycopg

    mod = load_example()
    a = np.array([1.5, -2.25, 3e-7, 0.0], dtype=np.float32)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        mod.register_tqvector(conn)
        assert conn.execute("SELECT %s::text", (a,)).fetchone()[0] == "[1.5,-2.25,3e-07,0]"
        np.testing.assert_array_equal(conn.execute("SELECT %s", (a,)).fetchone()[0], a)
        np.testing.assert_array_equal(conn.execute("SELECT %s", (a,), binary=True).fetchone()[0], a)


def test_readme_shows_the_tested_example():
    """The README's Python block is this very file, so what users copy is what runs here."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index("### From Python")
    block = readme[readme.index("```python\n", start) + len("```python\n"):]
    block = block[:block.index("```\n")]
    assert block == (ROOT / "examples" / "python_example.py").read_text()


def test_example_leaves_users_tables_alone(pg_dsn):
    """A user's own `items` table (the README's Getting started creates one) survives the example, twice."""
    if extension_state(pg_dsn, "turboquant") is None or not has_am(pg_dsn, "turboquant"):
        unavailable("the turboquant extension with its index access method is not installed in the test server")
    import psycopg

    mod = load_example()
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        # an `items` table already there is someone's: only watch it, never create or drop it
        ours = conn.execute("SELECT to_regclass('items') IS NULL").fetchone()[0]
        if ours:
            conn.execute("CREATE TABLE items (id int, note text)")
            conn.execute("INSERT INTO items VALUES (1, 'mine')")
        before = conn.execute("SELECT count(*) FROM items").fetchone()[0]
        try:
            for _ in range(2):
                mod.main(pg_dsn, n=300, dim=8)
            assert conn.execute("SELECT count(*) FROM items").fetchone()[0] == before
            assert conn.execute("SELECT to_regclass('example_items')").fetchone()[0] is None
        finally:
            if ours:
                conn.execute("DROP TABLE items")
