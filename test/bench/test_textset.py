"""bench/make_textset.py's parts that need neither gensim nor the Debian text packages: text
extraction from small made-up files, cleaning, tokenising, and averaging word vectors."""
import gzip

import numpy as np


def test_prose_extraction(tmp_path):
    from tqbench import textset

    (tmp_path / "a.rst").write_text(
        "Title\n=====\n\nThe scheduler picks the next task to run. It keeps a red-black tree of tasks.\n\n"
        "    code_block(that, is, skipped);\n\n.. note:: a directive\n")
    with gzip.open(tmp_path / "b.html.gz", "wt") as f:
        f.write("<html><p>Vacuum reclaims storage occupied by dead tuples &amp; more.</p>"
                "<pre>SELECT 1; SELECT 2; SELECT 3;</pre></html>")
    (tmp_path / "c.bin").write_text("Not read at all because of its name suffix here.")
    got = list(textset._prose(str(tmp_path), r"\.(rst|html)(\.gz)?$"))
    assert "The scheduler picks the next task to run." in got
    assert "It keeps a red-black tree of tasks." in got
    assert "Vacuum reclaims storage occupied by dead tuples & more." in got
    assert not any("code_block" in t or "SELECT" in t or "suffix" in t for t in got)


def test_keep_and_tokenize():
    from tqbench import textset

    assert textset._keep("a short but real sentence")
    assert not textset._keep("too short")
    assert not textset._keep("1234 5678 9012 3456 7890 ---- ====")
    assert textset.tokenize("Don't PANIC: 42 towels!") == ["don't", "panic", "42", "towels"]


class FakeWV:
    """The two things embed() uses of gensim's KeyedVectors, plus n-gram vectors for unknown words."""

    def __init__(self):
        self.index_to_key = ["red", "green", "blue"]
        self.key_to_index = {w: i for i, w in enumerate(self.index_to_key)}
        self.vectors = np.eye(3, dtype=np.float32)

    def __getitem__(self, w):
        if w == "unseen":
            return np.array([0, 0, 4], dtype=np.float32)
        raise KeyError(w)


def test_embed_means_word_vectors():
    from tqbench import textset

    toks = [["red", "green"], ["blue", "unseen", "red"], ["nothing", "known"], [], ["green"]]
    out = textset.embed(FakeWV(), toks)
    assert out.dtype == np.float32 and out.shape == (5, 3)
    np.testing.assert_allclose(out[0], [0.5, 0.5, 0])
    np.testing.assert_allclose(out[1], [1 / 3, 0, 5 / 3])      # (1,0,0)+(0,0,1)+(0,0,4), over 3
    np.testing.assert_allclose(out[2], 0)                      # no vector for any word: dropped later
    np.testing.assert_allclose(out[3], 0)
    np.testing.assert_allclose(out[4], [0, 1, 0])


def test_embed_across_blocks():
    """More texts than one gather block (10,000), with empty texts at a block's edges: every text
    still gets the mean of its own words."""
    from tqbench import textset

    rng = np.random.default_rng(3)
    words = ["red", "green", "blue", "unseen", "nothing"]
    toks = [[words[j] for j in rng.integers(0, 5, size=rng.integers(0, 6))] for _ in range(25_003)]
    toks[9_999] = toks[10_000] = toks[19_999] = []
    out = textset.embed(FakeWV(), toks)
    vec = {"red": [1, 0, 0], "green": [0, 1, 0], "blue": [0, 0, 1], "unseen": [0, 0, 4]}
    for i in list(range(0, 25_003, 997)) + [9_998, 9_999, 10_000, 10_001, 19_999, 20_000, 25_002]:
        known = [vec[w] for w in toks[i] if w in vec]
        want = np.mean(known, axis=0) if known else np.zeros(3)
        np.testing.assert_allclose(out[i], want, rtol=1e-6, err_msg=str((i, toks[i])))


def test_collect_dedups_and_shuffles(monkeypatch):
    from tqbench import textset

    monkeypatch.setitem(textset.SOURCES, "x", lambda: iter(["one two three four", "One Two Three Four",
                                                            "five six seven eight", "nine ten eleven twelve"]))
    texts, origin = textset.collect(["x"], 10, seed=3, log=lambda m: None)
    assert sorted(texts) == ["five six seven eight", "nine ten eleven twelve", "one two three four"]
    assert origin == ["x"] * 3
    again, _ = textset.collect(["x"], 10, seed=3, log=lambda m: None)
    assert again == texts
