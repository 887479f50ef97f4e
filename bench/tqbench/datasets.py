"""Dataset readers, writers and the seeded synthetic generator.

Formats: ``.fvecs`` / ``.ivecs`` / ``.bvecs`` (TexMex: per row an int32 dimension then the
values, little-endian), ``.npy``, and ann-benchmarks ``.hdf5`` (``train``, ``test``,
``neighbors``, attribute ``distance``).  Named real sets live in the shared data folder
(``npm-use512``, ``debian-fasttext300``: base.fvecs, query.fvecs, gt_cos.ivecs, gt_l2.ivecs).

Nothing here knows about PostgreSQL.  Every array handed out is float32 C-contiguous for
vectors and int64 for ids.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import numpy as np

METRICS = ("cosine", "l2", "ip")
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = Path(os.environ.get("TQ_BENCH_DATA", REPO_ROOT.parent / "shared" / "data"))
NAMED_SETS = ("npm-use512", "debian-fasttext300")


# ---- TexMex formats ---------------------------------------------------------------------

def _read_vecs(path, value_dtype, mmap):
    """Reads a TexMex file whose rows are int32 dim followed by dim values of value_dtype."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        return np.zeros((0, 0), dtype=value_dtype)
    dim = int(np.fromfile(path, dtype="<i4", count=1)[0])
    if dim <= 0:
        raise ValueError(f"{path}: bad dimension {dim}")
    vsize = np.dtype(value_dtype).itemsize
    row = 4 + dim * vsize
    if size % row:
        raise ValueError(f"{path}: size {size} is not a multiple of the row size {row}")
    n = size // row
    raw = (np.memmap(path, dtype=np.uint8, mode="r", shape=(n, row)) if mmap
           else np.fromfile(path, dtype=np.uint8).reshape(n, row))
    # A memory-mapped file is checked at its ends only, so a prefix of a huge file stays cheap.
    heads = raw[[0, n - 1], :4] if mmap else raw[:, :4]
    if not np.all(np.ascontiguousarray(heads).view("<i4") == dim):
        raise ValueError(f"{path}: rows have different dimensions")
    # A view (no copy): the value columns of every row, reinterpreted.
    return raw[:, 4:].view(np.dtype(value_dtype).newbyteorder("<"))


def read_fvecs(path, mmap=False):
    """float32 matrix from an .fvecs file (a read-only strided view of the file when mmap)."""
    a = _read_vecs(path, np.float32, mmap)
    return a if mmap else np.ascontiguousarray(a, dtype=np.float32)


def read_ivecs(path, mmap=False):
    """int32 matrix from an .ivecs file."""
    return np.ascontiguousarray(_read_vecs(path, np.int32, mmap), dtype=np.int32)


def read_bvecs(path, mmap=False):
    """uint8 matrix from a .bvecs file (as uint8; callers convert)."""
    return _read_vecs(path, np.uint8, mmap)


def _write_vecs(path, arr, dtype):
    arr = np.asarray(arr)
    if arr.ndim != 2:
        raise ValueError("expected a 2-D array")
    n, d = arr.shape
    out = np.empty((n, 4 + d * np.dtype(dtype).itemsize), dtype=np.uint8)
    out[:, :4] = np.full((n, 1), d, dtype="<i4").view(np.uint8)
    out[:, 4:] = np.ascontiguousarray(arr, dtype=np.dtype(dtype).newbyteorder("<")).view(np.uint8).reshape(n, -1)
    out.tofile(path)


def write_fvecs(path, arr):
    _write_vecs(path, arr, np.float32)


def write_ivecs(path, arr):
    _write_vecs(path, arr, np.int32)


def write_bvecs(path, arr):
    _write_vecs(path, arr, np.uint8)


def read_vectors(path, mmap=False):
    """Any supported vector file (.fvecs, .bvecs, .npy) as a float32 matrix.

    With mmap the result may be a read-only view in the file's own dtype (uint8 for .bvecs):
    slice it first, then convert, so a prefix of a huge file costs only the prefix.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".fvecs":
        return read_fvecs(path, mmap)
    if suffix == ".bvecs":
        a = read_bvecs(path, mmap)
        return a if mmap else a.astype(np.float32)
    if suffix == ".npy":
        arr = np.load(path, mmap_mode="r" if mmap else None)
        if arr.ndim != 2:
            raise ValueError(f"{path}: expected a 2-D array, got shape {arr.shape}")
        return arr if mmap else np.ascontiguousarray(arr, dtype=np.float32)
    raise ValueError(f"{path}: unsupported vector file (use .fvecs, .bvecs or .npy)")


def read_ids(path):
    """Ground-truth neighbour ids (.ivecs or .npy) as int64."""
    path = Path(path)
    if path.suffix.lower() == ".ivecs":
        return read_ivecs(path).astype(np.int64)
    if path.suffix.lower() == ".npy":
        return np.load(path).astype(np.int64)
    raise ValueError(f"{path}: unsupported id file (use .ivecs or .npy)")


# ---- ann-benchmarks HDF5 ------------------------------------------------------------------

HDF5_METRICS = {"angular": "cosine", "cosine": "cosine", "euclidean": "l2", "l2": "l2",
                "ip": "ip", "dot": "ip"}


def read_hdf5(path):
    """(base, queries, neighbors or None, metric or None) from an ann-benchmarks file."""
    import h5py

    with h5py.File(path, "r") as f:
        base = np.ascontiguousarray(f["train"][:], dtype=np.float32)
        queries = np.ascontiguousarray(f["test"][:], dtype=np.float32)
        gt = f["neighbors"][:].astype(np.int64) if "neighbors" in f else None
        dist = f.attrs.get("distance")
        if isinstance(dist, bytes):
            dist = dist.decode()
    return base, queries, gt, HDF5_METRICS.get(str(dist).lower()) if dist is not None else None


def write_hdf5(path, base, queries, neighbors=None, distance="angular"):
    """Writes an ann-benchmarks style file (used by tests and for exporting sets)."""
    import h5py

    with h5py.File(path, "w") as f:
        f.attrs["distance"] = distance
        f.create_dataset("train", data=np.asarray(base, dtype=np.float32))
        f.create_dataset("test", data=np.asarray(queries, dtype=np.float32))
        if neighbors is not None:
            f.create_dataset("neighbors", data=np.asarray(neighbors, dtype=np.int32))


# ---- Synthetic data -----------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class SyntheticSpec:
    """A seeded clustered, anisotropic Gaussian mixture (see synthetic())."""
    n: int = 100_000
    dim: int = 512
    nq: int = 1000
    clusters: int = 512
    decay: float = 1.0      # per-axis std of coordinate j is (1 + j)^-(decay/2): PCA-like ordering
    spread: float = 1.0     # within-cluster std relative to the between-cluster std
    offset: float = 1.3     # norm of a common mean vector, relative to the typical centre norm
    seed: int = 42


def synthetic(spec: SyntheticSpec):
    """Base and query vectors from one seeded mixture (queries drawn apart from the base).

    Real embeddings are anisotropic (a large common mean component; variance concentrated in
    few directions, often ordered by axis after PCA or in Matryoshka models) and clustered.
    This mimics both: cluster centres and within-cluster noise share a power-law spectrum over
    the axes, and every vector gets the same mean offset.  The defaults were set once so that a
    20K x 512 draw resembles npm-use512 (real sentence embeddings) on four statistics: norm of
    the mean unit vector 0.68 (real 0.69), mean top-1 cosine 0.82 (0.80), top-100 cosine 0.67
    (0.69), IVF recall@10 with one probe of sqrt(N) lists 0.45 (0.44).  Deterministic for a given spec on
    every platform (numpy PCG64); rows are drawn in fixed chunks of 65,536 so 1M x 1536 needs
    no float64 copy of the whole set.
    """
    chunk = 65536
    rng = np.random.default_rng(spec.seed)
    d = spec.dim
    scale = (1.0 + np.arange(d)) ** (-spec.decay / 2.0)
    scale *= np.sqrt(d / np.sum(scale ** 2))          # E|centre|^2 = d
    centres = rng.standard_normal((spec.clusters, d)) * scale
    mean = rng.standard_normal(d)
    mean *= spec.offset * np.sqrt(d) / np.linalg.norm(mean)
    weights = rng.dirichlet(np.full(spec.clusters, 2.0))   # clusters of unequal sizes

    def draw(count, stream):
        out = np.empty((count, d), dtype=np.float32)
        r = np.random.default_rng([spec.seed, stream])
        for s in range(0, count, chunk):
            m = min(chunk, count - s)
            lab = r.choice(spec.clusters, size=m, p=weights)
            noise = r.standard_normal((m, d)) * (scale * spec.spread)
            out[s:s + m] = (centres[lab] + noise + mean) / np.sqrt(d)
        return out

    return draw(spec.n, 1), draw(spec.nq, 2)


# ---- The dataset object -------------------------------------------------------------------

@dataclasses.dataclass
class Dataset:
    name: str
    base: np.ndarray                 # (n, d) float32
    queries: np.ndarray              # (nq, d) float32
    metric: str
    gt: np.ndarray | None = None     # (nq, >= k) int64 ids, nearest first, for `metric`
    info: dict = dataclasses.field(default_factory=dict)

    @property
    def n(self):
        return self.base.shape[0]

    @property
    def dim(self):
        return self.base.shape[1]

    @property
    def nq(self):
        return self.queries.shape[0]

    def describe(self):
        return {"name": self.name, "n": self.n, "dim": self.dim, "nq": self.nq,
                "metric": self.metric, **self.info}


def _limit(ds: Dataset, n=None, nq=None, in_memory=True):
    """Keeps the first n base rows and nq queries; drops ground truth that no longer holds.

    in_memory=False leaves a float32 base that is a view of its file as it is (the SQL runner
    reads it in chunks: a 3M x 768 set is 9 GB, which the machine needs for the servers)."""
    if nq is not None and nq < ds.nq:
        ds.queries = ds.queries[:nq]
        if ds.gt is not None:
            ds.gt = ds.gt[:nq]
    if n is not None and n < ds.n:
        ds.base = ds.base[:n]
        ds.gt = None                 # neighbours of a prefix differ: recompute
        ds.info["subset_of_base"] = True
    if in_memory or ds.base.dtype != np.float32:
        ds.base = np.ascontiguousarray(ds.base, dtype=np.float32)
    ds.queries = np.ascontiguousarray(ds.queries, dtype=np.float32)
    return ds


DEMO_SET = "minilm-npm5k"


def load_demo(metric):
    """The demo's set, shipped in the repository (examples/data): 5,000 npm package summaries
    embedded with all-MiniLM-L6-v2 (384-d, unit length, stored as float16); the last 500 rows are
    the queries, the first 4,500 the base.  Ground truth is computed."""
    vecs = np.load(REPO_ROOT / "examples" / "data" / "npm-packages.minilm384.f16.npy").astype(np.float32)
    return Dataset(DEMO_SET, np.ascontiguousarray(vecs[:4500]), np.ascontiguousarray(vecs[4500:]), metric, None,
                   {"source": "examples/data/npm-packages.minilm384.f16.npy (rows 0-4499 base, 4500-4999 queries)"})


def load_named(name, metric, data_dir=DEFAULT_DATA_DIR):
    """One of the real sets in the shared data folder."""
    folder = Path(data_dir) / name
    if not folder.is_dir():
        raise FileNotFoundError(f"dataset {name!r} not found in {data_dir} (set --data-dir or TQ_BENCH_DATA)")
    return load_folder(folder, metric, name=name)


def load_folder(folder, metric, name=None):
    """A folder with base.{fvecs,bvecs,npy}, query.* and optional gt_{cos,l2,ip}.ivecs."""
    folder = Path(folder)

    def find(stem):
        for ext in (".fvecs", ".bvecs", ".npy"):
            for s in (stem, stem + "s"):
                p = folder / (s + ext)
                if p.exists():
                    return p
        return None

    base_p, query_p = find("base"), find("query")
    if base_p is None or query_p is None:
        raise FileNotFoundError(f"{folder}: needs base.* and query.* (.fvecs, .bvecs or .npy)")
    gt = None
    gt_name = {"cosine": "gt_cos", "l2": "gt_l2", "ip": "gt_ip"}[metric]
    for ext in (".ivecs", ".npy"):
        if (folder / (gt_name + ext)).exists():
            gt = read_ids(folder / (gt_name + ext))
            break
    return Dataset(name or folder.name, read_vectors(base_p, mmap=True), read_vectors(query_p, mmap=True),
                   metric, gt, {"source": str(folder)})


def load(spec: str, metric: str, *, n=None, nq=None, data_dir=DEFAULT_DATA_DIR,
         synth: SyntheticSpec | None = None, base=None, query=None, gt=None, in_memory=True):
    """Resolves a --dataset value into a Dataset (ground truth may still be None).

    spec: "synthetic", a named set, a folder, an .hdf5 file, or "files" with base/query/gt paths.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}")
    if spec == "synthetic":
        s = synth or SyntheticSpec()
        if n is not None or nq is not None:
            s = dataclasses.replace(s, n=n or s.n, nq=nq or s.nq)
        b, q = synthetic(s)
        return Dataset(f"synthetic-{s.n}x{s.dim}", b, q, metric, None,
                       {"source": "synthetic", "synthetic": dataclasses.asdict(s)})
    if spec == "files" or base is not None:
        if base is None or query is None:
            raise ValueError("--base and --query are both needed")
        ds = Dataset(Path(base).stem, read_vectors(base, mmap=True), read_vectors(query, mmap=True), metric,
                     read_ids(gt) if gt else None, {"source": str(base)})
        return _limit(ds, n, nq, in_memory)
    if spec in NAMED_SETS:
        return _limit(load_named(spec, metric, data_dir), n, nq, in_memory)
    if spec == DEMO_SET:
        return _limit(load_demo(metric), n, nq, in_memory)
    p = Path(spec)
    if p.suffix.lower() in (".hdf5", ".h5"):
        b, q, g, file_metric = read_hdf5(p)
        if file_metric is not None and file_metric != metric:
            g = None                     # its neighbours are for another metric
        ds = Dataset(p.stem, b, q, metric, g, {"source": str(p), "file_metric": file_metric})
        return _limit(ds, n, nq, in_memory)
    if p.is_dir():
        return _limit(load_folder(p, metric), n, nq, in_memory)
    if (Path(data_dir) / spec).is_dir():
        return _limit(load_folder(Path(data_dir) / spec, metric), n, nq, in_memory)
    raise ValueError(f"unknown dataset {spec!r}: use synthetic, {DEMO_SET}, {', '.join(NAMED_SETS)}, "
                     "a folder or an .hdf5 file")


def fingerprint(ds: Dataset):
    """A short hash of the vectors and metric: the cache key for computed ground truth."""
    h = hashlib.sha1()
    h.update(json.dumps([ds.metric, ds.base.shape, ds.queries.shape]).encode())
    for s in range(0, ds.n, 65536):
        h.update(ds.base[s:s + 65536].tobytes())
    h.update(ds.queries.tobytes())
    return h.hexdigest()[:16]
