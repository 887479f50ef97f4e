"""A large real-text embedding set from public text that Debian packages ship (docs/benchmark.md).

Neural sentence encoders are far too slow for a million texts on two cores, so, like the shared
debian-fasttext300 set, vectors are averaged word vectors of a fastText (or word2vec) model
trained on the texts themselves with gensim (PyPI).  Texts are the definitions and quotations of
the GNU Collaborative International Dictionary of English (dict-gcide), WordNet glosses and usage
examples (wordnet-base), the sentences of the Linux kernel documentation (linux-doc) and of the
Debian package descriptions in the apt lists (`apt-cache dumpavail`) and of the Python, Perl and
PostgreSQL manuals (python3.11-doc, perl-doc, postgresql-doc-15): all public, all installed with
apt-get.

Steps (each timed in manifest.json):
  1. collect texts from the sources, clean and deduplicate them (exact, case-folded), shuffle with
     a fixed seed, keep n + nq (the last nq are the queries, so no query is in the base);
  2. tokenise (lower case, letters/digits) and train the word model on all kept texts;
  3. embed each text as the mean of its word vectors (fastText gives out-of-vocabulary words a
     vector from their character n-grams); texts whose vector is zero are dropped;
  4. write base.fvecs, query.fvecs, exact top-100 gt_cos.ivecs and gt_l2.ivecs, and the texts.

Usage:
  apt-get install dict-gcide wordnet-base linux-doc python3.11-doc perl-doc postgresql-doc-15 \
      emacs-common debian-handbook
  python3 -m venv ~/.venv-textset && ~/.venv-textset/bin/pip install -r bench/textset-requirements.txt
  ~/.venv-textset/bin/python bench/make_textset.py --n 1000000 --out ~/data/debtext-ft300
  python3 bench/run.py --dataset ~/data/debtext-ft300 ...
The word model is trained with several threads, so vectors differ slightly between runs (gensim
is only deterministic with one worker: --workers 1); the texts, their order and the split are
deterministic.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

GCIDE = "/usr/share/dictd/gcide.dict.dz"
WORDNET = "/usr/share/wordnet"
LINUX_DOC = "/usr/share/doc/linux-doc/Documentation"

_WS = re.compile(r"\s+")
_TOKEN = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")


def _clean(t):
    return _WS.sub(" ", t).strip()


def _keep(t, lo=4, hi=80):
    """A text worth embedding: lo..hi words, mostly letters."""
    words = t.split(" ")
    if not (lo <= len(words) <= hi):
        return False
    letters = sum(c.isalpha() for c in t)
    return letters >= 0.6 * len(t)


def gcide_texts(path=GCIDE):
    """Definitions and quotations of the dictionary, one per paragraph."""
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        data = f.read()
    for para in re.split(r"\n\s*\n", data):
        t = re.sub(r"\[[^\]]*\]", " ", para)          # [1913 Webster], etymologies
        t = re.sub(r"\\[^\\]*\\", " ", t)              # pronunciations
        t = re.sub(r"--\s*[A-Z][\w. ]*\.?\s*$", " ", t)  # --Author. citations
        t = t.replace("{", "").replace("}", "")
        t = re.sub(r"^\s*\d+\.\s*", "", _clean(t))     # sense numbers
        t = re.sub(r"^(\(\w\)\s*)", "", t)
        # A definition lists its senses and examples with ';': the whole and each clause are texts.
        if ";" in t and _keep(t, 4, 80):
            yield t
        for c in (t.split(";") if ";" in t else [t]):
            c = _clean(re.sub(r"^(as|e\.g\.),\s*", "", c.strip()))
            if _keep(c):
                yield c


def wordnet_texts(folder=WORDNET):
    """Glosses: the definition and each quoted usage example as separate texts."""
    for pos in ("noun", "verb", "adj", "adv"):
        p = Path(folder) / f"data.{pos}"
        if not p.exists():
            continue
        with open(p, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("  ") or " | " not in line:
                    continue
                for part in line.split(" | ", 1)[1].split(";"):
                    t = _clean(part.strip().strip('"'))
                    if _keep(t, 3):
                        yield t


def _prose(folder, pattern):
    """Sentences of the prose paragraphs of text files (rst, pod, html) under a folder."""
    import html as htmlmod

    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            if not re.search(pattern, name):
                continue
            p = os.path.join(root, name)
            opener = gzip.open if name.endswith(".gz") else open
            try:
                with opener(p, "rt", encoding="utf-8", errors="replace") as f:
                    data = f.read()
            except OSError:
                continue
            if ".htm" in name:
                data = re.sub(r"(?is)<(pre|script|style|table)\b.*?</\1>", "\n\n", data)
                data = re.sub(r"(?i)</?(p|div|li|h\d|dt|dd|br)\b[^>]*>", "\n\n", data)
                data = htmlmod.unescape(re.sub(r"<[^>]+>", "", data))
            for para in re.split(r"\n\s*\n", data):
                lines = para.split("\n")
                if lines[0].startswith(("\t", "    ", "..", "|", "+", "=", "::", ">>>", "$")):
                    continue   # code, directives, tables, pod commands
                t = re.sub(r"[`*]+|:\w+:|[A-Z]<([^>]*)>", lambda m: m.group(1) or "", _clean(para))
                for s in _SENT.split(t):
                    if _keep(s, 5, 60):
                        yield s


def linux_doc_texts(folder=LINUX_DOC):
    """Sentences of the kernel documentation prose (markup, tables and code blocks skipped)."""
    return _prose(folder, r"\.(rst|txt)(\.gz)?$")


def manual_texts():
    """Sentences of the Python, Perl, PostgreSQL and GNU manuals (python3.11-doc, perl-doc,
    postgresql-doc-15, emacs-common and every other info manual installed) and the Debian
    Administrator's Handbook (debian-handbook)."""
    for folder, pattern in (("/usr/share/doc/python3.11/html/_sources", r"\.rst\.txt$"),
                            ("/usr/share/info", r"\.info(-\d+)?(\.gz)?$"),
                            ("/usr/share/doc/debian-handbook/html/en-US", r"\.html$"),
                            ("/usr/share/perl/5.36", r"\.(pod|pm)$"),
                            ("/usr/share/doc/postgresql-doc-15/html", r"\.html$")):
        yield from _prose(folder, pattern)


def debian_texts():
    """Sentences of the Debian package descriptions this machine's apt lists know (apt-cache dumpavail)."""
    import subprocess

    out = subprocess.run(["apt-cache", "dumpavail"], capture_output=True, text=True, errors="replace").stdout
    desc = []
    for line in out.split("\n") + ["X:"]:
        if line.startswith("Description:"):
            desc = [line[len("Description:"):].strip()]
        elif line.startswith(" ") and desc:
            desc.append("" if line.strip() == "." else line.strip())
        elif desc:
            text = " ".join(desc)
            desc = []
            for s in _SENT.split(_clean(text)):
                if _keep(s, 4, 60):
                    yield s


SOURCES = {"gcide": gcide_texts, "wordnet": wordnet_texts, "linux-doc": linux_doc_texts,
           "debian": debian_texts, "manuals": manual_texts}


def collect(sources, limit, seed=1, log=print):
    """Distinct texts from the sources, shuffled with the seed; at most limit of them."""
    seen, texts, origin = set(), [], []
    for name in sources:
        t0 = time.perf_counter()
        before = len(texts)
        for t in SOURCES[name]():
            key = t.lower()
            if key not in seen:
                seen.add(key)
                texts.append(t)
                origin.append(name)
        log(f"{name}: {len(texts) - before} distinct texts ({time.perf_counter() - t0:.1f} s)")
    order = np.random.default_rng(seed).permutation(len(texts))[:limit]
    return [texts[i] for i in order], [origin[i] for i in order]


def tokenize(t):
    return _TOKEN.findall(t.lower())


def train(token_lists, model="fasttext", dim=300, epochs=5, workers=2, seed=1, min_count=3):
    """A gensim word model trained on the tokenised texts (CBOW, window 5)."""
    from gensim.models import FastText, Word2Vec

    cls = FastText if model == "fasttext" else Word2Vec
    kw = dict(vector_size=dim, window=5, min_count=min_count, sg=0, epochs=epochs, workers=workers, seed=seed)
    if model == "fasttext":
        kw.update(min_n=3, max_n=6, bucket=200_000)   # gensim's 2M buckets x 300 floats = 2.4 GB
    return cls(sentences=token_lists, **kw)


def embed(wv, token_lists):
    """Mean word vector of each text (float32); out-of-vocabulary words through wv[word]."""
    index = wv.key_to_index
    extra, extra_vecs = {}, []
    ids, counts = [], np.zeros(len(token_lists), dtype=np.int64)
    nv = len(wv.index_to_key)
    for i, toks in enumerate(token_lists):
        c = 0
        for w in toks:
            j = index.get(w)
            if j is None:
                j = extra.get(w)
                if j is None:
                    try:
                        v = wv[w]          # fastText: from character n-grams
                    except KeyError:
                        continue           # word2vec: no vector for an unseen word
                    j = extra[w] = nv + len(extra_vecs)
                    extra_vecs.append(v)
            ids.append(j)
            c += 1
        counts[i] = c
    table = wv.vectors if not extra_vecs else np.vstack([wv.vectors, np.asarray(extra_vecs)])
    out = np.zeros((len(token_lists), table.shape[1]), dtype=np.float32)
    ids = np.asarray(ids, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    nz = counts > 0
    block = 10000   # texts per gather: ~150K word vectors, ~180 MB at 300-d (100K texts needed ~2 GB at 1M)
    for a in range(0, len(token_lists), block):             # blocks keep the gather small
        sel = np.arange(a, min(a + block, len(token_lists)))
        sel = sel[nz[sel]]
        if sel.size == 0:
            continue
        lo, hi = starts[sel[0]], starts[sel[-1]] + counts[sel[-1]]
        sums = np.add.reduceat(table[ids[lo:hi]], starts[sel] - lo, axis=0)
        out[sel] = sums / counts[sel, None]
    return out


def build(args, log=print):
    from . import datasets, groundtruth

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    times = {}
    t0 = time.perf_counter()
    want = args.n + args.nq
    texts, origin = collect(args.sources, int(want * 1.02) + 100, args.seed, log)
    times["collect_s"] = time.perf_counter() - t0
    if len(texts) < want:
        log(f"only {len(texts)} distinct texts for {want} wanted: base gets {len(texts) - args.nq}")
    t0 = time.perf_counter()
    toks = [tokenize(t) for t in texts]
    times["tokenize_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = train(toks, args.model, args.dim, args.epochs, args.workers, args.seed)
    times["train_s"] = time.perf_counter() - t0
    log(f"trained {args.model} ({len(model.wv.index_to_key)} words) in {times['train_s']:.0f} s")
    t0 = time.perf_counter()
    vecs = embed(model.wv, toks)
    keep = np.flatnonzero(np.linalg.norm(vecs, axis=1) > 0)[:want]
    vecs = vecs[keep]
    texts = [texts[i] for i in keep]
    origin = [origin[i] for i in keep]
    times["embed_s"] = time.perf_counter() - t0
    nq = min(args.nq, len(texts) // 10)
    base, queries = vecs[:-nq], vecs[-nq:]
    datasets.write_fvecs(out / "base.fvecs", base)
    datasets.write_fvecs(out / "query.fvecs", queries)
    for name, part in (("base_texts", range(0, len(texts) - nq)), ("query_texts", range(len(texts) - nq, len(texts)))):
        with gzip.open(out / f"{name}.jsonl.gz", "wt", encoding="utf-8") as f:
            for i in part:
                f.write(json.dumps({"text": texts[i], "source": origin[i]}) + "\n")
    t0 = time.perf_counter()
    for metric, fname in (("cosine", "gt_cos.ivecs"), ("l2", "gt_l2.ivecs")):
        gt, _ = groundtruth.knn(base, queries, k=100, metric=metric)
        datasets.write_ivecs(out / fname, gt.astype(np.int32))
    times["ground_truth_s"] = time.perf_counter() - t0
    norms = np.linalg.norm(base, axis=1)
    manifest = {"texts": len(texts), "base": int(base.shape[0]), "queries": int(nq), "dim": int(base.shape[1]),
                "sources": {s: origin.count(s) for s in args.sources}, "model": args.model,
                "epochs": args.epochs, "workers": args.workers, "seed": args.seed,
                "vocabulary": len(model.wv.index_to_key), "norm_min": float(norms.min()),
                "norm_max": float(norms.max()), "times": times,
                "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:])}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    log(f"wrote {base.shape[0]} x {base.shape[1]} base, {nq} queries to {out}: " +
        ", ".join(f"{k} {v:.0f} s" for k, v in times.items()))
    return manifest


def main(argv=None):
    p = argparse.ArgumentParser(prog="bench/make_textset.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--n", type=int, default=1_000_000, help="base vectors")
    p.add_argument("--nq", type=int, default=1000, help="queries (held apart from the base)")
    p.add_argument("--out", required=True, help="output folder (a dataset folder for bench/run.py)")
    p.add_argument("--sources", default="gcide,wordnet,linux-doc,debian,manuals", help="comma list of " + ", ".join(SOURCES))
    p.add_argument("--model", default="fasttext", choices=("fasttext", "word2vec"))
    p.add_argument("--dim", type=int, default=300)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    import logging   # gensim reports training progress (words/s, % of each epoch) at INFO
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    args.sources = [s.strip() for s in args.sources.split(",") if s.strip()]
    for s in args.sources:
        if s not in SOURCES:
            p.error(f"unknown source {s}")
    return build(args)


if __name__ == "__main__":
    main()
