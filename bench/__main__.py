"""`python -m bench` runs every benchmark and writes bench/results/README.md (see bench/run.py)."""

from bench.run import main

main()
