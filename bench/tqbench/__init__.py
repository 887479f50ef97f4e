"""turboquant benchmark suite: datasets, ground truth, the SQL runner, reports.

Entry points: ``bench/run.py`` (SQL benchmark) and ``bench/kernel_bench.py``
(core scan kernel vs FAISS fast scan).  See docs/benchmark.md.
"""
__version__ = "0.1.0"
