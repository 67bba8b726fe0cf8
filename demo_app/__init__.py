"""llm-obs-stack demo: an instrumented RAG/agent app, its LLM simulator, an alert receiver and a load generator."""
