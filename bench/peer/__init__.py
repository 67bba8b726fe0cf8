"""The peer benchmark: the same minimal app under each instrumentation library (bench/peer/run.py)."""
