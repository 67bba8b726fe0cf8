"""Retrieval with its telemetry: the `retrieve documents` span and the llmapp_rag_* metrics.

The BM25 index itself (rag.py) stays pure; this wrapper is where /v1/ask and the
researcher agent's search_documents tool both go, so both are measured the same way.
"""

from __future__ import annotations

import time

from demo_app.app.rag import Hit, Retriever
from demo_app.telemetry import Telemetry, set_attributes

__all__ = ["InstrumentedRetriever"]


class InstrumentedRetriever:
    """`search(query, feature)` = Retriever.search in a span, with duration, count and top score."""

    def __init__(self, retriever: Retriever, tel: Telemetry, k: int) -> None:
        self._retriever = retriever
        self._tracer = tel.tracer("demo_app.app.retrieval")
        self._k = k
        self._duration = tel.metric("llmapp_rag_retrieval_duration_seconds")
        self._returned = tel.metric("llmapp_rag_documents_returned")
        self._top = tel.metric("llmapp_rag_top_score")

    def search(self, query: str, feature: str) -> list[Hit]:
        with self._tracer.start_as_current_span("retrieve documents") as span:
            started = time.perf_counter()
            hits = self._retriever.search(query, k=self._k)
            elapsed = time.perf_counter() - started
            top = hits[0].score if hits else 0.0
            set_attributes(
                span,
                {
                    "app.rag.documents_returned": len(hits),
                    "app.rag.top_score": top,
                    "app.rag.document_ids": [h.doc_id for h in hits],
                    "app.feature": feature,
                },
            )
            self._duration.labels().observe(elapsed)
            self._returned.labels().observe(len(hits))
            self._top.labels().observe(top)
            return hits
