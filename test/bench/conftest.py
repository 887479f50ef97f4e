"""Shared fixtures for the benchmark-suite tests: the bench/ package and a PostgreSQL server.

The server is the one libpq's PG* environment variables point at (e.g. under pg_virtualenv),
else a throwaway cluster started here.  Without any server the SQL tests are skipped with
the reason shown — except under CI=true, where a missing server or extension is a failure.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason):
    """Skip locally, fail in CI."""
    if IN_CI:
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_dsn():
    from tqbench import pg

    if any(os.environ.get(v) for v in ("PGHOST", "PGPORT", "PGDATABASE", "PGSERVICE")):
        try:
            with pg.connect(""):
                pass
        except Exception as e:
            unavailable(f"no PostgreSQL server reachable through PG* environment variables: {e}")
        yield ""
        return
    try:
        cluster = pg.TempCluster({"shared_buffers": "'128MB'"})
        cluster.__enter__()
    except Exception as e:
        unavailable(f"cannot start a throwaway PostgreSQL cluster: {e}")
    try:
        yield cluster.dsn
    finally:
        cluster.__exit__(None, None, None)


def extension_state(dsn, name):
    from tqbench import pg

    with pg.connect(dsn) as conn:
        return pg.try_extension(conn, name)[0]


def has_am(dsn, name):
    from tqbench import pg

    with pg.connect(dsn) as conn:
        return conn.execute("SELECT 1 FROM pg_am WHERE amname = %s", (name,)).fetchone() is not None


def run_tiny(pg_dsn, out, args):
    """Runs the benchmark runner with args on pg_dsn into out; returns (result doc, tq, vec),
    tq and vec the installed versions of turboquant and vector (None when absent)."""
    import json

    from tqbench import runner

    tq = extension_state(pg_dsn, "turboquant")
    vec = extension_state(pg_dsn, "vector")
    if tq is None and vec is None:
        unavailable("neither the turboquant nor the vector extension is installed in the test server")
    if IN_CI and tq is None:
        pytest.fail("CI=true and the turboquant extension is not installed in the test server")
    path = runner.main(args + ["--dsn", pg_dsn, "--out-dir", str(out)])
    return json.loads(path.read_text()), tq, vec


@pytest.fixture(scope="module")
def libtqcore():
    """bench/libtqcore.so, the core shim the kernel benchmarks load (built by bench/Makefile)."""
    if shutil.which("make") is None or shutil.which("g++") is None:
        if IN_CI:
            pytest.fail("CI=true and no C++ toolchain to build bench/libtqcore.so")
        pytest.skip("no C++ toolchain to build bench/libtqcore.so")
    r = subprocess.run(["make", "-s", "-C", str(ROOT / "bench"), "libtqcore.so"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return ROOT / "bench" / "libtqcore.so"
