#!/usr/bin/env python3
"""Markdown from result files.

  python3 bench/report.py bench/results/X.json                      tables of one run
  python3 bench/report.py bench/results/X.json --charts             and redraw its charts
  python3 bench/report.py X.json --performance [kernel-Y.json]      the README "Performance" section
  python3 bench/report.py --scaling OUT.png A.json B.json ...       QPS at recall@10 >= 0.95 vs N
  python3 bench/report.py --scaling OUT.png --threshold 0.95,0.99 A.json ...   one panel per level
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tqbench.report import main  # noqa: E402

if __name__ == "__main__":
    main()
