#!/usr/bin/env python3
"""turboquant SQL benchmark.  `python3 bench/run.py --help`; docs/benchmark.md explains it all."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tqbench.runner import main  # noqa: E402

if __name__ == "__main__":
    main()
