"""Machine, software and source versions recorded with every result file."""
from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata

from .datasets import REPO_ROOT


def _cpu():
    model, flags = platform.processor() or "unknown", []
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model in ("unknown", "", platform.processor()):
                    model = line.split(":", 1)[1].strip()
                elif line.startswith(("flags", "Features")) and not flags:
                    flags = line.split(":", 1)[1].split()
    except OSError:
        pass
    simd = sorted(f for f in flags if f.startswith(("avx", "sse4", "fma", "neon", "asimd", "sve")))
    return model, simd


def _mem_gb():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        return None


def _os():
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.platform()


def machine():
    model, simd = _cpu()
    return {"cpu": model, "logical_cpus": os.cpu_count(), "memory_gb": _mem_gb(), "os": _os(),
            "kernel": platform.release(), "arch": platform.machine(), "simd": simd}


def hardware_line(m=None):
    m = m or machine()
    return f"{m['cpu']}, {m['logical_cpus']} logical CPUs, {m['memory_gb']} GB RAM, {m['os']} ({m['arch']})"


def libraries():
    out = {"python": sys.version.split()[0]}
    for name in ("numpy", "psycopg", "psycopg-binary", "matplotlib", "h5py", "faiss-cpu", "tqdm"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    try:
        import psycopg

        out["libpq"] = psycopg.pq.version()
    except Exception:
        pass
    return out


def source():
    """The git commit the benchmark ran from (and whether the tree had local changes)."""
    def git(*a):
        return subprocess.run(["git", "-C", str(REPO_ROOT), *a], capture_output=True, text=True).stdout.strip()
    commit = git("rev-parse", "HEAD")
    return {"commit": commit or None, "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


def installed_extension_libraries(names=("turboquant", "vector")):
    """sha1 and mtime of the extension libraries in this machine's PostgreSQL (pg_config --pkglibdir).

    Meaningful when the server runs here (throwaway cluster): it pins down which build was measured.
    """
    import datetime as dt
    import hashlib
    from pathlib import Path

    try:
        libdir = Path(subprocess.run(["pg_config", "--pkglibdir"], capture_output=True, text=True).stdout.strip())
    except OSError:
        return {}
    out = {}
    for n in names:
        p = libdir / f"{n}.so"
        if p.exists():
            out[n] = {"path": str(p), "sha1": hashlib.sha1(p.read_bytes()).hexdigest(),
                      "mtime": dt.datetime.fromtimestamp(p.stat().st_mtime, dt.timezone.utc).isoformat(timespec="seconds")}
    return out
