"""The demo RAG/agent app: `python -m demo_app.app` serves /v1/ask, /v1/agent, /healthz and /metrics."""
