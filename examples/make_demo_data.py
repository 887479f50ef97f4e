#!/usr/bin/env python3
"""Makes the demo's data set (examples/data/): real texts and their all-MiniLM-L6-v2 embeddings.

    python3 examples/make_demo_data.py                    # re-embed the texts stored in the repository
    python3 examples/make_demo_data.py --texts FILE.jsonl.gz [--n 5000]   # choose other texts first

Texts: 5,000 npm package summaries (public package metadata written by each
package's authors, as published by the npm registry), one JSON string per line
in npm-packages.jsonl.gz.  They were taken in order from the npm-use512 set
(shuffled, deduplicated summaries), keeping those of 25 characters or more.
Embeddings: examples/minilm.py (numpy, offline), stored as float16 (3.8 MB;
float16 keeps cosine distances to about 1e-3, far below the gaps between
neighbours).  The demo's stored queries (demo-queries.json) are embedded too,
so the demo runs without the model, saying so.
"""
import argparse
import gzip
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from minilm import MiniLM  # noqa: E402

DATA = os.path.join(HERE, "data")
TEXTS = os.path.join(DATA, "npm-packages.jsonl.gz")
VECS = os.path.join(DATA, "npm-packages.minilm384.f16.npy")
QUERIES = os.path.join(DATA, "demo-queries.json")
QVECS = os.path.join(DATA, "demo-queries.minilm384.f16.npy")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--texts", help="a .jsonl.gz of JSON strings to take texts from (default: keep the stored ones)")
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--min-chars", type=int, default=25)
    args = ap.parse_args()
    if args.texts:
        with gzip.open(args.texts, "rt") as f:
            texts = [t for t in (json.loads(line) for line in f) if len(t) >= args.min_chars][:args.n]
        with gzip.GzipFile(TEXTS, "wb", mtime=0) as f:
            f.write("".join(json.dumps(t) + "\n" for t in texts).encode())
    with gzip.open(TEXTS, "rt") as f:
        texts = [json.loads(line) for line in f]
    with open(QUERIES) as f:
        queries = json.load(f)
    model = MiniLM()
    t0 = time.time()
    vecs = model.embed(texts)
    print(f"embedded {len(texts)} texts in {time.time() - t0:.1f} s")
    np.save(VECS, vecs.astype(np.float16))
    np.save(QVECS, model.embed(queries).astype(np.float16))
    print(f"wrote {VECS} and {QVECS}")


if __name__ == "__main__":
    main()
