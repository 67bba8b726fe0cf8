"""`python -m bench.peer`: the peer benchmark (see bench/peer/run.py)."""

from bench.peer.run import main

main()
