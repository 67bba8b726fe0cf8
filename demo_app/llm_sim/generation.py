"""The simulated model: answers composed from the given context, token counts and latency.

Pure functions of the request and a random.Random, so a given seed and request always
produce the same answer. The answer is extractive: the app's system message carries
the retrieved documents as lines `[doc_id] text`; the model picks the context sentences
that share the most words with the user's question (1 to `max_sentences` of them, each
cited as `[doc_id]`) and adds one sentence per tool result. Good retrieval therefore
means a good answer; with nothing relevant it answers "I don't know ..." (always that
prefix, so a caller can recognise refusals). A system prompt that asks for answers from
"general knowledge" gets what a model without grounding gives: a fluent, generic answer that
names the question's topic and ignores the context (a bad prompt rollout's symptom).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from demo_app.llm_sim.models import ModelProfile
from demo_app.llm_sim.tokens import count_prompt_tokens, count_tokens, message_text, truncate_to_tokens
from demo_app.llm_sim.toolcalls import ToolCall, latest_user_text, next_tool_call

__all__ = [
    "Completion",
    "Timing",
    "ContextSentence",
    "content_words",
    "parse_context",
    "compose_answer",
    "filler_answer",
    "general_answer",
    "asks_general_knowledge",
    "ramble",
    "generate",
    "plan_timing",
    "request_key",
    "make_rng",
    "DONT_KNOW_PREFIX",
]

DONT_KNOW_PREFIX = "I don't know"
_DONT_KNOW = (
    "I don't know: the provided context does not answer this question.",
    "I don't know, the documents I was given do not cover this.",
    "I don't know. I could not find this in the provided context.",
)
# Generic sentences for the quality_drop fault: fluent, but made of words no question
# or document about the corpus is likely to contain.
_FILLER = (
    "That is an interesting question, and there are many ways to look at it.",
    "In general, everything depends on a number of factors that vary from case to case.",
    "Many people find that a balanced approach works well over time.",
    "It is always a good idea to keep the bigger picture in mind.",
    "Results may vary, so keep an open mind and revisit things later.",
    "There is rarely one single answer that fits every situation perfectly.",
    "Experience shows that patience usually pays off in the end.",
)
# Connectors made of stop words only: a rambling answer is longer, not less faithful, so
# the token_blowup fault moves token and cost metrics without tripping the quality alert.
_RAMBLE_CONNECTORS = ("Again,", "Also,", "So,", "That is,", "Once more,", "And again,")
_STOPWORDS = frozenset(
    """a about above after again all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers him his how i if in into is it its itself just me more most my no nor not
    now of off on once only or other our ours out over own same she should so some such than that the
    their theirs them then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours tell please explain
    describe give show""".split()  # noqa: SIM905 - 130 words read better as prose than as 130 quoted items
)
_WORD = re.compile(r"[a-z0-9]+")
_GENERAL_KNOWLEDGE = re.compile(r"\bgeneral knowledge\b", re.IGNORECASE)
_TOPIC_WORDS = 3  # question words a general answer names: enough to sound on topic
_DOC_LINE = re.compile(r"^\s*\[([^\]\s][^\]]{0,80})\]\s+(\S.*)$")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+")
_SHORT_TOOL_RESULT_CHARS = 200
_CITATION = re.compile(r"\s*\[[^\]\s][^\]]{0,80}\]")


def content_words(text: str) -> set[str]:
    """Lower-cased words of `text` without stop words, plural -s stripped ("alerts" ~ "alert")."""
    words = set()
    for word in _WORD.findall(text.lower()):
        if word in _STOPWORDS or len(word) < 2:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        words.add(word)
    return words


@dataclass(frozen=True)
class ContextSentence:
    doc_id: str | None
    text: str
    position: int  # order of appearance, used to break ties


def _sentences(text: str) -> list[str]:
    out = []
    for sentence in _SENTENCE_SPLIT.split(text.strip()):
        sentence = sentence.strip()
        if sentence:
            out.append(sentence if sentence[-1] in ".!?" else sentence + ".")
    return out


def parse_context(messages: Sequence[Mapping[str, Any]]) -> tuple[list[ContextSentence], list[tuple[str, str]]]:
    """Context sentences (from `[doc_id] text` lines and long tool results) and short tool results.

    Document lines are read from system, developer, user and tool messages. A tool
    result without document lines becomes (tool name, text) when short, like a
    calculator's "84", or plain context sentences when long.
    """
    names_by_call = {
        call.get("id"): (call.get("function") or {}).get("name", "tool")
        for m in messages
        if m.get("role") == "assistant"
        for call in (m.get("tool_calls") or ())
    }
    sentences: list[ContextSentence] = []
    tool_results: list[tuple[str, str]] = []
    seen: set[str] = set()

    def add(doc_id: str | None, text: str) -> None:
        for sentence in _sentences(text):
            if sentence not in seen:
                seen.add(sentence)
                sentences.append(ContextSentence(doc_id, sentence, len(sentences)))

    for message in messages:
        role = message.get("role")
        if role not in ("system", "developer", "user", "tool"):
            continue
        text = message_text(message.get("content"))
        doc_lines = [m for line in text.splitlines() if (m := _DOC_LINE.match(line))]
        for match in doc_lines:
            add(match.group(1).strip(), match.group(2))
        if role == "tool" and not doc_lines and text.strip():
            if len(text) <= _SHORT_TOOL_RESULT_CHARS and "\n" not in text.strip():
                tool_results.append((str(names_by_call.get(message.get("tool_call_id"), "tool")), text.strip()))
            else:
                add(None, text)
    return sentences, tool_results


def _question(messages: Sequence[Mapping[str, Any]]) -> str:
    """The latest user message without any document lines it carries."""
    text = latest_user_text(messages)
    kept = [line for line in text.splitlines() if not _DOC_LINE.match(line)]
    return "\n".join(kept).strip() or text


def compose_answer(messages: Sequence[Mapping[str, Any]], profile: ModelProfile, rng: random.Random) -> str:
    """The model's text answer: tool results first, then the best-matching context sentences."""
    sentences, tool_results = parse_context(messages)
    question = content_words(_question(messages))
    parts = [f"The {name} tool returned {result.rstrip('.')}." for name, result in tool_results]
    scored = sorted(
        ((len(question & content_words(s.text)), s) for s in sentences),
        key=lambda pair: (-pair[0], pair[1].position),
    )
    # Keep sentences at least half as relevant as the best one: a real model does not
    # pad its answer with sentences that merely share one word with the question.
    best = scored[0][0] if scored else 0
    relevant = [s for score, s in scored if score > 0 and score * 2 >= best]
    if not relevant and not parts:
        return rng.choice(_DONT_KNOW)
    budget = max(1, rng.randint(1, profile.max_sentences) - len(parts))
    chosen = relevant[:budget]
    # Smaller models sometimes add a sentence that does not answer the question (in place
    # of their weakest one when they had several).
    others = [s for s in sentences if s not in chosen]
    if chosen and others and rng.random() < profile.distraction:
        if len(chosen) > 1:
            chosen.pop()
        chosen.append(rng.choice(others))
    parts += [f"{s.text} [{s.doc_id}]" if s.doc_id else s.text for s in chosen]
    return " ".join(parts)


def filler_answer(rng: random.Random) -> str:
    """A fluent answer that ignores the context (the quality_drop fault)."""
    return " ".join(rng.sample(_FILLER, rng.randint(2, 3)))


def asks_general_knowledge(messages: Sequence[Mapping[str, Any]]) -> bool:
    """True when a system (or developer) message tells the model to answer from general knowledge."""
    return any(
        m.get("role") in ("system", "developer") and _GENERAL_KNOWLEDGE.search(message_text(m.get("content")))
        for m in messages
    )


def general_answer(messages: Sequence[Mapping[str, Any]], rng: random.Random) -> str:
    """An answer from "general knowledge": it names the question's topic, then generic filler that
    no document supports - on topic enough to read well, not grounded in the context."""
    words = [w for w in _WORD.findall(_question(messages).lower()) if w not in _STOPWORDS and len(w) > 1]
    topic = ", ".join(dict.fromkeys(words[:_TOPIC_WORDS])) or "this"
    return f"Great question about {topic}! " + filler_answer(rng)


def ramble(text: str, factor: float, rng: random.Random) -> str:
    """`text` extended to about `factor` times its token count by restating itself (token_blowup)."""
    target = math.ceil(count_tokens(text) * factor)
    if factor <= 1 or not text:
        return text
    pieces = [p for p in _sentences(_CITATION.sub("", text)) if len(p) > 1] or [text]
    out = text
    i = 0
    while count_tokens(out) < target:
        sentence = pieces[i % len(pieces)]
        out += f" {rng.choice(_RAMBLE_CONNECTORS)} {sentence}"
        i += 1
    return truncate_to_tokens(out, target)


@dataclass(frozen=True)
class Completion:
    """One turn of the model: a text answer or a tool call, with its usage."""

    text: str | None
    tool_call: ToolCall | None
    finish_reason: str  # stop | length | tool_calls
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0  # of prompt_tokens, served from the prompt cache (cache.py)


def generate(
    messages: Sequence[Mapping[str, Any]],
    profile: ModelProfile,
    rng: random.Random,
    *,
    tools: Sequence[Mapping[str, Any]] | None = None,
    tool_choice: Any = None,
    max_tokens: int | None = None,
    blowup: float = 1.0,
    quality_drop: bool = False,
) -> Completion:
    """The model's reply to a chat request. Faults shape text answers only, never tool calls."""
    prompt_tokens = count_prompt_tokens(messages, tools)
    call = next_tool_call(messages, tools, tool_choice, rng)
    if call is not None:
        return Completion(None, call, "tool_calls", prompt_tokens, count_tokens(call.name) + count_tokens(call.arguments))
    if quality_drop:
        text = filler_answer(rng)
    elif asks_general_knowledge(messages):
        text = general_answer(messages, rng)
    else:
        text = compose_answer(messages, profile, rng)
    text = ramble(text, blowup, rng)
    limit = min(max_tokens or profile.max_output_tokens, profile.max_output_tokens)
    finish = "stop"
    if count_tokens(text) > limit:
        text, finish = truncate_to_tokens(text, limit), "length"
    return Completion(text, None, finish, prompt_tokens, count_tokens(text))


@dataclass(frozen=True)
class Timing:
    """When the reply's bytes are due: the first token after `ttft_s`, then one token per `per_token_s`."""

    ttft_s: float
    per_token_s: float

    def total_s(self, completion_tokens: int) -> float:
        return self.ttft_s + completion_tokens * self.per_token_s


def plan_timing(profile: ModelProfile, prompt_tokens: int, rng: random.Random, *, scale: float = 1.0, extra_ttft_s: float = 0.0) -> Timing:
    """Latency of one reply: the profile, log-normal jitter, times `scale`, plus unscaled `extra_ttft_s`.

    `prompt_tokens` are the tokens to prefill: a caller passes them without the cached ones,
    which a real server does not compute again."""
    ttft = (profile.ttft_s + profile.prefill_s_per_1k * prompt_tokens / 1000) * rng.lognormvariate(0, profile.jitter_sigma)
    per_token = profile.per_token_s * rng.lognormvariate(0, profile.jitter_sigma)
    return Timing(ttft * scale + extra_ttft_s, per_token * scale)


def request_key(body: Mapping[str, Any]) -> str:
    """A digest of what the request asks for; streaming or not gives the same answer."""
    relevant = {k: v for k, v in body.items() if k not in ("stream", "stream_options")}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()


def make_rng(seed: int, key: str, salt: str = "") -> random.Random:
    """A per-request RNG: the same seed, request and salt always give the same sequence."""
    return random.Random(f"{seed}:{key}:{salt}")
