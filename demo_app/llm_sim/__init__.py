"""OpenAI-compatible LLM simulator with fault injection (`python -m demo_app.llm_sim`).

Modules: api (builds the app: telemetry, error mapping, model list, health), chat (POST
/v1/chat/completions), streaming (its SSE chunks), fault_admin (/faults), responses
(OpenAI-shaped bodies), schemas (request bodies), faults (registry with TTL and how faults
combine), generation (answers, latency plan), toolcalls (tool choice and arguments),
tokens (token heuristic), models (the catalogue), config (settings).
"""
