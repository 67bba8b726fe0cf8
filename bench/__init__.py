"""Benchmarks of llm-obs-stack: telemetry overhead, label cardinality and time to alert (`python -m bench`)."""
