"""OpenAI-compatible LLM simulator with fault injection (`python -m demo_app.llm_sim`).

Modules: api (routes), schemas (request bodies), faults (registry with TTL and how faults
combine), generation (answers, latency plan), toolcalls (tool choice and arguments),
tokens (token heuristic), models (the catalogue), config (settings).
"""
