"""Tests of the benchmarks' pure parts (bench/): the benchmarks themselves run with `make bench`."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# bench/ is not an installed package (the project's package is demo_app): import it from the tree.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
