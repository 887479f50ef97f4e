#!/usr/bin/env python3
"""Makes a real-text embedding set (1M rows by default) from text in Debian packages.
`python3 bench/make_textset.py --help`; docs/benchmark.md has the recipe."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tqbench.textset import main  # noqa: E402

if __name__ == "__main__":
    main()
