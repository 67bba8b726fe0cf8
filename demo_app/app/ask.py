"""The /v1/ask pipeline: retrieve, generate (plain or streaming), score the answer."""

from __future__ import annotations

from demo_app.app.llm import ChatResult
from demo_app.app.quality import QualityScores, score_answer
from demo_app.app.rag import Hit, build_messages
from demo_app.app.services import Services
from demo_app.telemetry import get_logger, set_attributes

__all__ = ["answer_question"]

_log = get_logger()


async def answer_question(
    services: Services, *, question: str, feature: str, user_tier: str, team: str, stream: bool, model: str | None
) -> tuple[ChatResult, list[Hit], QualityScores]:
    """Answer `question` from the corpus; LLMError when the provider fails for good."""
    requested = model or services.settings.model_for(feature)
    hits = services.retriever.search(question, feature)
    messages = build_messages(question, hits, feature)
    result = await services.llm.chat(messages, model=requested, feature=feature, user_tier=user_tier, team=team, stream=stream)
    scores = _evaluate(services, question, result.text, hits, feature)
    _log.info(
        "question answered",
        feature=feature,
        user_tier=user_tier,
        gen_ai_request_model=requested,
        gen_ai_response_model=result.model,
        retries=result.retries,
        fallback_used=result.fallback_used,
        faithfulness=scores.faithfulness,
        relevancy=scores.relevancy,
        question_chars=len(question),  # the length, never the text: questions are customer data
    )
    return result, hits, scores


def _evaluate(services: Services, question: str, answer: str, hits: list[Hit], feature: str) -> QualityScores:
    tracer = services.tel.tracer("demo_app.app.quality")
    with tracer.start_as_current_span("evaluate answer") as span:
        scores = score_answer(question, answer, [h.text for h in hits])
        set_attributes(
            span,
            {"gen_ai.evaluation.faithfulness": scores.faithfulness, "gen_ai.evaluation.relevancy": scores.relevancy},
        )
    quality = services.tel.metric("llmapp_quality_score")
    quality.labels(metric="faithfulness", feature=feature).observe(scores.faithfulness)
    quality.labels(metric="relevancy", feature=feature).observe(scores.relevancy)
    return scores

