"""The /v1/ask pipeline: retrieve, generate (plain or streaming), score the answer.

With a `conversation_id` the conversation's earlier turns (ConversationStore, bounded and
expiring) go to the model before the question, and the answered turn is kept for the next
one. The id is put where a conversation is looked up: `gen_ai.conversation.id` on the server
span (with `app.conversation.turn`), on the chat and evaluation spans and events, and the
`gen_ai_conversation_id` field on the log lines logged inside the request; never on a metric
(one series per conversation would be unbounded).

Each quality score is also a `gen_ai.evaluation.result` event (semconv-genai) on the
`evaluate answer` span and a log record with that event name, linked to the answer by
`gen_ai.response.id`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import structlog
from opentelemetry import trace

from demo_app.app.conversations import CONVERSATION_ID, Turn
from demo_app.app.guard import GuardrailBlocked, guard
from demo_app.app.llm import ChatResult
from demo_app.app.quality import EVALUATION_EVENT, QualityScores, evaluation_results, score_answer
from demo_app.app.rag import Hit, build_messages, system_prompt
from demo_app.app.services import Services
from demo_app.telemetry import add_request_fields, get_logger, mask, set_attributes

__all__ = ["REFUSAL", "answer_question"]

# The answer of a request whose answer an output guardrail blocked (the response says
# guardrail_blocked: true); fixed, so it cannot carry anything of the blocked answer.
REFUSAL = "Sorry, I can't share that answer. Please rephrase your question or contact Nimbus support."

_log = get_logger()


async def answer_question(
    services: Services,
    *,
    question: str,
    feature: str,
    user_tier: str,
    team: str,
    stream: bool,
    model: str | None,
    conversation_id: str | None = None,
) -> tuple[ChatResult, list[Hit], QualityScores]:
    """Answer `question` from the corpus (and the conversation's history); LLMError when the provider
    fails for good, GuardrailBlocked when an input guardrail blocks the question.

    The question goes through the input guardrails first (redacted where they redact), the answer
    through the output guardrails; an output block replaces the answer by REFUSAL (`result.guardrail_blocked`).
    """
    requested = model or services.settings.model_for(feature)
    question = guard(services, "input", question, feature)
    with _conversation(services, conversation_id) as history:
        hits = services.retriever.search(question, feature)
        # The live version is read once, so the messages and the span name the same one even if
        # an admin switches versions while this request is in flight.
        prompt = services.prompts.live(feature)
        messages = build_messages(question, hits, feature, [(t.question, t.answer) for t in history], prompt)
        result = await services.llm.chat(
            messages, model=requested, feature=feature, user_tier=user_tier, team=team, stream=stream, prompt=prompt
        )
        result = _guard_answer(services, result, feature, system_prompt(prompt.text))
        scores = _evaluate(services, question, result, hits, feature, prompt.version)
        if conversation_id is not None:
            services.conversations.record(conversation_id, question, result.text)
        answered = {
            "feature": feature,
            "user_tier": user_tier,
            "gen_ai_request_model": requested,
            "gen_ai_response_model": result.model,
            "retries": result.retries,
            "fallback_used": result.fallback_used,
            "faithfulness": scores.faithfulness,
            "relevancy": scores.relevancy,
            "question_chars": len(question),  # the length, never the text: questions are customer data
            **({"history_turns": len(history)} if conversation_id is not None else {}),
        }
        # On the request's own "request" line (same trace and span), not a line of its own.
        if not add_request_fields(**answered):
            _log.info("question answered", **answered)
    return result, hits, scores


def _guard_answer(services: Services, result: ChatResult, feature: str, system: str) -> ChatResult:
    """`result` with its text through the output guardrails (`system`: the system prompt the
    answer must not repeat): redacted, or REFUSAL when blocked."""
    try:
        text = guard(services, "output", result.text, feature, system)
    except GuardrailBlocked:
        return replace(result, text=REFUSAL, guardrail_blocked=True)
    return result if text == result.text else replace(result, text=text)


@contextmanager
def _conversation(services: Services, conversation_id: str | None) -> Iterator[tuple[Turn, ...]]:
    """The conversation's history; its id on the server span, the chat spans and the log lines inside."""
    if conversation_id is None:
        yield ()
        return
    history, turn = services.conversations.begin(conversation_id)
    set_attributes(trace.get_current_span(), {"gen_ai.conversation.id": conversation_id, "app.conversation.turn": turn})
    token = CONVERSATION_ID.set(conversation_id)
    try:
        with structlog.contextvars.bound_contextvars(gen_ai_conversation_id=conversation_id, conversation_turn=turn):
            yield history
    finally:
        CONVERSATION_ID.reset(token)


def _evaluate(services: Services, question: str, result: ChatResult, hits: list[Hit], feature: str, prompt_version: str) -> QualityScores:
    tracer = services.tel.tracer("demo_app.app.quality")
    with tracer.start_as_current_span("evaluate answer") as span:
        scores = score_answer(question, result.text, [h.text for h in hits])
        link = {"gen_ai.response.id": result.response_id or None, "gen_ai.conversation.id": CONVERSATION_ID.get()}
        set_attributes(
            span,
            {"gen_ai.evaluation.faithfulness": scores.faithfulness, "gen_ai.evaluation.relevancy": scores.relevancy, **link},
        )
        present = {key: value for key, value in link.items() if value is not None}
        for attributes in evaluation_results(scores):
            event = {**attributes, **present}
            if span.is_recording():
                span.add_event(EVALUATION_EVENT, mask(event))
            # The same event as a log record (OTLP event_name), in this span so it carries the
            # trace id. Its conversation id is the gen_ai_conversation_id field every line of the
            # conversation has: as gen_ai.conversation.id too, Loki (which turns dots into
            # underscores) would get the same key twice.
            event.pop("gen_ai.conversation.id", None)
            _log.info(EVALUATION_EVENT, event_name=EVALUATION_EVENT, **event)
    quality = services.tel.metric("llmapp_quality_score")
    # By prompt version: a rollout's answers are scored apart from the version they replace.
    quality.labels(metric="faithfulness", feature=feature, prompt_version=prompt_version).observe(scores.faithfulness)
    quality.labels(metric="relevancy", feature=feature, prompt_version=prompt_version).observe(scores.relevancy)
    return scores
