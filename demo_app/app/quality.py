"""Deterministic, explainable answer-quality heuristics: faithfulness and relevancy in [0, 1].

Not an LLM judge: cheap word-overlap scores that move when answers drift away from the
retrieved context or from the question, which is what the `LLMQualityDrop` alert watches.

Definitions (T(x) = the set of content terms of x, produced by `rag.tokenize`: lower-cased,
stopwords dropped, crude stemming, numbers kept whole; citation markers like `[kb-001]` are
removed from the answer first):

    A = T(answer)    Q = T(question)    C = union of T(c) for c in contexts

    faithfulness = |A ∩ C| / |A|                       (0 when A is empty)
        the share of the answer's terms that occur in the retrieved context, so a made-up
        number or name lowers it.

    coverage     = |Q ∩ A| / |Q|                       (1 when Q is empty: nothing to miss)
    on_topic     = share of the answer's sentences (those with content terms) that contain
                   at least one question term          (1 when Q is empty)
    relevancy    = ( 0.5 * min(1, coverage / FULL_COVERAGE) + 0.5 * on_topic )
                   * min(1, |A| / MIN_ANSWER_TERMS)
                   * (REFUSAL_FACTOR if the answer is a refusal else 1)
        how much of the question the answer talks about, and whether it stays on it. Answers
        paraphrase ("annual price" for "cost yearly"), so covering FULL_COVERAGE of the
        question terms already counts as full coverage, and the sentence share credits an
        answer that keeps to the subject. Very short answers and "I don't know" answers are
        penalised. A made-up answer can be relevant: faithfulness is what catches it.

An empty answer scores 0 on both. The `explanation` dict lists the numbers behind each score
and the (first few) unsupported and missing terms, so a low score can be read, not guessed.

Evaluation events: `evaluation_results` turns the scores into the attributes of one
`gen_ai.evaluation.result` event per score (semconv-genai): its name, value, a pass/fail label
against PASS_THRESHOLD and an explanation made of the numbers only (the listed terms are
words of the question and the answer, content that must not leave the process).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .rag import tokenize

__all__ = [
    "EVALUATION_EVENT",
    "FULL_COVERAGE",
    "MIN_ANSWER_TERMS",
    "PASS_THRESHOLD",
    "REFUSAL_FACTOR",
    "QualityScores",
    "evaluation_results",
    "is_refusal",
    "score_answer",
]

FULL_COVERAGE = 0.5  # share of question terms that already counts as full coverage
MIN_ANSWER_TERMS = 4  # fewer content terms than this scales relevancy down linearly
REFUSAL_FACTOR = 0.2  # an "I don't know" answer keeps at most 20 % of its relevancy
_LISTED_TERMS = 10  # how many unsupported/missing terms the explanation lists
# A score at or above this is labelled "pass", below "fail": the LLMQualityDrop alert's
# MIN_FAITHFULNESS (prometheus/rules/llm-alerts.yml) and the RAG dashboard's line, used for
# relevancy too so one number means "good enough" everywhere.
PASS_THRESHOLD = 0.5
EVALUATION_EVENT = "gen_ai.evaluation.result"

_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+|\n+")
_CITATION_RE = re.compile(r"\[[^\]\n]{1,40}\]")
_REFUSAL_RE = re.compile(
    r"\bi (?:do not|don't|dont) know\b"
    r"|\bi(?:'m| am) not sure\b"
    r"|\b(?:cannot|can't|unable to) (?:answer|help with)\b"
    r"|\bi (?:could not|couldn't) find\b"
    r"|\bno (?:relevant )?information (?:about|on|in)\b"
    r"|\b(?:context|documents?) (?:does|do)(?: not|n't) (?:contain|mention|say|cover)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class QualityScores:
    """Both scores are in [0, 1]; `explanation` holds the numbers they were computed from."""

    faithfulness: float
    relevancy: float
    explanation: dict[str, Any] = field(default_factory=dict)


def is_refusal(answer: str) -> bool:
    """True when the answer says it does not know (the model declining, not answering)."""
    return _REFUSAL_RE.search(answer.replace("\u2019", "'")) is not None


def score_answer(question: str, answer: str, contexts: Sequence[str]) -> QualityScores:
    """Score one answer against its question and the retrieved context texts."""
    answer = _CITATION_RE.sub(" ", answer)
    answer_terms = _terms(answer)
    question_terms = _terms(question)
    context_terms: set[str] = set()
    for context in contexts:
        context_terms |= _terms(context)

    refusal = is_refusal(answer)
    supported = answer_terms & context_terms
    covered = question_terms & answer_terms
    on_topic, sentences = _on_topic_share(answer, question_terms)

    if not answer_terms:
        faithfulness = relevancy = coverage = length_factor = 0.0
    else:
        faithfulness = len(supported) / len(answer_terms)
        coverage = len(covered) / len(question_terms) if question_terms else 1.0
        length_factor = min(1.0, len(answer_terms) / MIN_ANSWER_TERMS)
        relevancy = (0.5 * min(1.0, coverage / FULL_COVERAGE) + 0.5 * on_topic) * length_factor
        if refusal:
            relevancy *= REFUSAL_FACTOR

    explanation: dict[str, Any] = {
        "answer_terms": len(answer_terms),
        "supported_terms": len(supported),
        "unsupported_terms": sorted(answer_terms - context_terms)[:_LISTED_TERMS],
        "question_terms": len(question_terms),
        "covered_terms": len(covered),
        "missing_terms": sorted(question_terms - answer_terms)[:_LISTED_TERMS],
        "coverage": round(coverage, 4),
        "sentences": sentences,
        "on_topic_share": round(on_topic, 4),
        "length_factor": round(length_factor, 4),
        "refusal": refusal,
        "context_count": len(contexts),
    }
    return QualityScores(
        faithfulness=_clamp(faithfulness),
        relevancy=_clamp(relevancy),
        explanation=explanation,
    )


def evaluation_results(scores: QualityScores) -> list[dict[str, Any]]:
    """The attributes of one gen_ai.evaluation.result event per score (faithfulness, relevancy).

    Numbers only: the explanation says how the score was reached without a word of the
    question, the answer or the context.
    """
    e = scores.explanation
    faithfulness = (
        f"{e.get('supported_terms', 0)} of {e.get('answer_terms', 0)} answer terms found in the "
        f"{e.get('context_count', 0)} retrieved documents (ratio {scores.faithfulness:.2f})"
    )
    relevancy = (
        f"{e.get('covered_terms', 0)} of {e.get('question_terms', 0)} question terms covered (coverage "
        f"{e.get('coverage', 0.0):.2f}, full at {FULL_COVERAGE:.2f}), {e.get('on_topic_share', 0.0):.2f} of "
        f"{e.get('sentences', 0)} sentences on topic, length factor {e.get('length_factor', 0.0):.2f}"
        + (f", refusal factor {REFUSAL_FACTOR:.2f}" if e.get("refusal") else "")
    )
    return [
        {
            "gen_ai.evaluation.name": name,
            "gen_ai.evaluation.score.value": value,
            "gen_ai.evaluation.score.label": "pass" if value >= PASS_THRESHOLD else "fail",
            "gen_ai.evaluation.explanation": explanation,
        }
        for name, value, explanation in (
            ("faithfulness", scores.faithfulness, faithfulness),
            ("relevancy", scores.relevancy, relevancy),
        )
    ]


def _terms(text: str) -> set[str]:
    return set(tokenize(text))


def _on_topic_share(answer: str, question_terms: set[str]) -> tuple[float, int]:
    """(share of sentences mentioning a question term, number of sentences with content)."""
    sentence_terms = [
        terms for sentence in _SENTENCE_RE.split(answer) if (terms := _terms(sentence))
    ]
    if not sentence_terms:
        return 0.0, 0
    if not question_terms:
        return 1.0, len(sentence_terms)
    mentioning = sum(1 for terms in sentence_terms if terms & question_terms)
    return mentioning / len(sentence_terms), len(sentence_terms)


def _clamp(value: float) -> float:
    # Rounded so the same answer always records the same histogram sample.
    return round(min(1.0, max(0.0, value)), 4)
