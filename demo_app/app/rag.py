"""BM25 retrieval over the bundled help-center corpus, and the chat prompt built from its hits.

Pure code: no telemetry, no app imports. The app times `Retriever.search` and records the
`retrieve documents` span and `llmapp_rag_*` metrics around it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import bm25s
import numpy as np

from demo_app.prompts import Prompt, PromptLibrary, load_prompts

__all__ = [
    "DEFAULT_CORPUS_PATH",
    "FEATURES",
    "STOPWORDS",
    "Document",
    "Hit",
    "Retriever",
    "build_messages",
    "default_prompts",
    "system_prompt",
    "load_corpus",
    "tokenize",
]

DEFAULT_CORPUS_PATH = Path(__file__).resolve().parents[1] / "data" / "corpus.jsonl"
FEATURES: tuple[str, ...] = ("qa", "summarize", "support")

# A short list on purpose: BM25's IDF already down-weights common words. We only drop words
# that carry no topic at all, including the question words users type ("how do I ...").
STOPWORDS: frozenset[str] = frozenset(
    [
        "a", "about", "above", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be", "because", "been", "before", "being",
        "below", "between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "done", "down", "during", "each", "either", "else", "etc",
        "every", "few", "for", "from", "further", "get", "gets", "got", "had", "has", "have", "having", "he", "her", "here", "hers", "him", "his", "how", "i",
        "if", "in", "into", "is", "it", "its", "itself", "just", "let", "lets", "like", "may", "me", "might", "more", "most", "much", "must", "my", "myself",
        "no", "nor", "not", "now", "of", "off", "on", "once", "one", "only", "or", "other", "our", "ours", "out", "over", "own", "per", "please", "same",
        "shall", "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them", "then", "there", "these", "they", "this", "those",
        "through", "to", "too", "under", "until", "up", "upon", "us", "use", "used", "using", "very", "via", "want", "was", "way", "we", "were", "what",
        "when", "where", "whether", "which", "while", "who", "whom", "whose", "why", "will", "with", "within", "without", "would", "yes", "yet", "you",
        "your", "yours", "yourself", "aren't", "can't", "couldn't", "didn't", "doesn't", "don't", "hasn't", "haven't", "i'd", "i'll", "i'm", "i've", "isn't",
        "it's", "let's", "shouldn't", "that's", "there's", "wasn't", "weren't", "what's", "won't", "wouldn't", "you're", "you've"
    ]
)

# Numbers are kept whole ("1,000" -> "1000", "2.5" stays) because answers are checked on them;
# words keep an inner apostrophe so "don't" is one token that the stopword/stem step can drop.
_TOKEN_RE = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?|[a-z]+(?:'[a-z]+)?")


def _stem(word: str) -> str:
    """Strip common English inflections so 'sharing', 'shared' and 'shares' meet at 'shar'.

    Deliberately crude (no download, no dependency): it only has to map a word's forms to the
    same key on both the index and the query side, not to produce a dictionary word.
    """
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    for suffix in ("ing", "ed", "es", "s"):
        if (
            len(word) - len(suffix) >= 3
            and word.endswith(suffix)
            and not word.endswith(("ss", "eed"))  # keep "access", "speed" whole
        ):
            word = word[: -len(suffix)]
            break
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Lower-case, split into words and numbers, drop stopwords, stem; order is kept."""
    tokens: list[str] = []
    for raw in _TOKEN_RE.findall(text.lower()):
        if raw[0].isdigit():
            tokens.append(raw.replace(",", ""))
        elif len(raw) > 1 and raw not in STOPWORDS:
            # Stopwords are checked before stemming only: "notes" stems to "not", which must
            # stay a (content) token.
            tokens.append(_stem(raw))
    return tokens


@dataclass(frozen=True)
class Document:
    """One help-center article from corpus.jsonl."""

    id: str
    title: str
    category: str
    text: str
    questions: tuple[str, ...]


@dataclass(frozen=True)
class Hit:
    """A retrieved document with its BM25 score (higher is better; always > 0)."""

    doc_id: str
    title: str
    text: str
    score: float


def load_corpus(path: Path | str = DEFAULT_CORPUS_PATH) -> list[Document]:
    """Read a JSON-lines corpus; fail with the line number on a malformed or duplicate entry."""
    path = Path(path)
    documents: list[Document] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                raw = json.loads(line)
                doc = Document(
                    id=str(raw["id"]),
                    title=str(raw["title"]),
                    category=str(raw["category"]),
                    text=str(raw["text"]),
                    questions=tuple(str(q) for q in raw.get("questions", ())),
                )
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(f"{where}: bad corpus entry ({exc!r})") from exc
            if doc.id in seen:
                raise ValueError(f"{where}: duplicate document id {doc.id!r}")
            seen.add(doc.id)
            documents.append(doc)
    if not documents:
        raise ValueError(f"{path}: corpus is empty")
    return documents


class Retriever:
    """A BM25 index over title + text of each document; build once, search from any thread.

    `search` only reads the index (numpy arrays and dicts that are never mutated after
    `__init__`), so concurrent searches need no lock.
    """

    def __init__(self, documents: Iterable[Document]) -> None:
        self._documents: tuple[Document, ...] = tuple(documents)
        if not self._documents:
            raise ValueError("Retriever needs at least one document")
        # The title is short and on-topic, so it is counted twice: a cheap field boost.
        corpus_tokens = [tokenize(f"{doc.title} {doc.title} {doc.text}") for doc in self._documents]
        self._index = bm25s.BM25()
        self._index.index(corpus_tokens, show_progress=False)
        self._vocab: dict[str, int] = dict(self._index.vocab_dict)

    @classmethod
    def from_corpus(cls, path: Path | str = DEFAULT_CORPUS_PATH) -> Retriever:
        """Load `corpus.jsonl` and index it (well under a second for the bundled corpus)."""
        return cls(load_corpus(path))

    @property
    def documents(self) -> tuple[Document, ...]:
        return self._documents

    def __len__(self) -> int:
        return len(self._documents)

    def search(self, query: str, k: int = 4, min_score: float = 0.0) -> list[Hit]:
        """Return up to `k` documents scoring above `min_score`, best first.

        A query sharing no indexed word with the corpus (e.g. off-topic) returns [].
        """
        if k <= 0:
            return []
        # Unknown words are dropped here: bm25s only scores ids that exist in its vocabulary.
        token_ids = [self._vocab[t] for t in tokenize(query) if t in self._vocab]
        if not token_ids:
            return []
        scores = self._index.get_scores(token_ids)
        k = min(k, len(self._documents))
        # argpartition + sort of k items: O(n) for any corpus size, deterministic order on ties.
        candidates = np.argpartition(-scores, k - 1)[:k]
        ranked = sorted(candidates.tolist(), key=lambda i: (-float(scores[i]), i))
        hits: list[Hit] = []
        for i in ranked:
            score = float(scores[i])
            if score <= min_score or score <= 0.0:
                break
            doc = self._documents[i]
            hits.append(Hit(doc_id=doc.id, title=doc.title, text=doc.text, score=score))
        return hits


# The house rules every feature's system prompt starts with, word for word. A real assistant's
# system prompt carries this kind of policy text, and keeping it first and identical is what
# makes providers' automatic prefix caching work: OpenAI (and the simulator) serve the longest
# prompt prefix they saw recently from cache, so a stable ~400-token opening is cached on every
# call while the retrieved context after it changes. Edit it and every cached prefix is gone
# (the cache-bust scenario fakes exactly that).
_HOUSE_RULES = (
    "Nimbus assistant house rules, version 2026-11. These rules apply to every answer you give. "
    "Nimbus is a note-taking and team-wiki product; its users are customers, administrators and "
    "people evaluating a plan. Write in plain, friendly English, in the second person, and prefer "
    "short sentences over long ones. Do not use marketing language, exclamation marks or emoji. "
    "Keep every number, price, limit, date, plan name and menu path exactly as the context writes "
    "it, including units and currency; never round, convert or estimate them. When the context "
    "gives steps, keep their order and name each menu item the way the product shows it, for "
    "example Settings > Workspace > Security. Never ask for, repeat or store passwords, API keys, "
    "recovery codes, card numbers or other secrets, even when the user offers them; tell the user "
    "to remove them from the conversation instead. Never promise refunds, discounts, credits, legal "
    "outcomes or release dates that the context does not state. Do not give advice about other "
    "companies' products, and do not speculate about how Nimbus is built inside. If the question "
    "is about an account's own data, billing details or an incident in progress, explain what the "
    "context says and point to Nimbus support for anything that needs access to the account. "
    "If the context contradicts itself, say so and quote both statements with their document ids. "
    "Answer in the language of the question when the context allows it; otherwise answer in English. "
    "The task for this conversation follows."
)



@cache
def default_prompts() -> PromptLibrary:
    """The shipped prompt files (demo_app/data/prompts), one library per process."""
    return load_prompts(required=FEATURES)


def system_prompt(instructions: str) -> str:
    """The fixed part of a system prompt (house rules, then a prompt's `instructions`), without the context.

    The one place the system prompt is put together, also for the system-prompt-leak guardrail.
    """
    return f"{_HOUSE_RULES}\n\n{instructions}"


def build_messages(
    question: str,
    hits: Sequence[Hit],
    feature: str,
    history: Sequence[tuple[str, str]] = (),
    prompt: Prompt | None = None,
) -> list[dict[str, str]]:
    """OpenAI chat messages: a system message (house rules, `prompt`'s text - by default the
    live version of the feature's prompt in the shipped files - and context lines), the
    conversation's earlier turns (`history`: (question, answer) pairs, oldest first) as user and
    assistant messages, then the question.

    Each context line is `[doc_id] text`, so the model (or the simulator) can cite and quote it.
    The history goes after the system message, never before or inside it: the house rules stay
    the prompt's first tokens, the prefix the provider's cache serves for every request.
    """
    system = system_prompt((prompt or default_prompts().live(feature)).text)
    context = "\n".join(f"[{hit.doc_id}] {hit.text}" for hit in hits) if hits else "(no matching documents)"
    earlier = [
        message
        for asked, answered in history
        for message in ({"role": "user", "content": asked}, {"role": "assistant", "content": answered})
    ]
    return [
        {"role": "system", "content": f"{system}\n\nContext:\n{context}"},
        *earlier,
        {"role": "user", "content": question},
    ]
