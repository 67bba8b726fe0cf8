"""Conversation memory for /v1/ask: a bounded, expiring history of turns per conversation id.

A caller that sends the same `conversation_id` again gets its earlier questions and answers
sent to the model before the new question (after the shared system prompt, so the cached
prompt prefix stays the same for every request; see rag.build_messages). The history lives in
this process's memory only, and is bounded four ways so no caller can grow it without limit:

  - at most `max_conversations` conversations; the least recently used one is forgotten first;
  - at most `max_turns` turns per conversation (the oldest dropped first);
  - at most `max_chars` characters of question + answer text per conversation (the oldest
    turns dropped first, so the history sent with a question never exceeds it; a single turn
    longer than that is not kept at all);
  - a conversation unused for `ttl_s` seconds is forgotten (its next request starts at turn 1).

`turn` counts the requests made in a conversation since the app first saw it (or since it
expired), failed ones included: it orders a conversation's traces, it is not a history size.
The texts are kept for the model only: they are never logged or put on spans (the id, the turn
number and the history's size are).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from threading import Lock

__all__ = ["CONVERSATION_ID", "ConversationStore", "Turn"]

# The conversation of the request being served (None outside one): the LLM client puts it on
# its chat spans without every caller passing it down.
CONVERSATION_ID: ContextVar[str | None] = ContextVar("llmapp_conversation_id", default=None)


@dataclass(frozen=True)
class Turn:
    """One question and the answer it got."""

    question: str
    answer: str

    @property
    def chars(self) -> int:
        return len(self.question) + len(self.answer)


@dataclass
class _Conversation:
    turns: list[Turn] = field(default_factory=list)
    requests: int = 0  # requests seen (the last turn number handed out)
    last_used: float = 0.0


class ConversationStore:
    """The app's conversations, bounded in number, turns, characters and age (see the module docstring)."""

    def __init__(
        self,
        *,
        max_conversations: int,
        max_turns: int,
        max_chars: int,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if min(max_conversations, max_turns, max_chars) < 1 or ttl_s <= 0:
            raise ValueError("conversation limits must be positive")
        self.max_conversations, self.max_turns, self.max_chars, self.ttl_s = max_conversations, max_turns, max_chars, ttl_s
        self._clock = clock
        self._conversations: OrderedDict[str, _Conversation] = OrderedDict()
        # The handlers run on one event loop, but a lock costs nothing and keeps the store
        # safe for any caller (tests, threads).
        self._lock = Lock()

    def __len__(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._conversations)

    def begin(self, conversation_id: str) -> tuple[tuple[Turn, ...], int]:
        """(the history to send, oldest first; this request's turn number, from 1)."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            conversation = self._conversations.get(conversation_id)
            if conversation is None:
                conversation = self._conversations[conversation_id] = _Conversation()
                while len(self._conversations) > self.max_conversations:
                    self._conversations.popitem(last=False)
            self._conversations.move_to_end(conversation_id)
            conversation.requests += 1
            conversation.last_used = now
            return tuple(conversation.turns), conversation.requests

    def record(self, conversation_id: str, question: str, answer: str) -> None:
        """Keep an answered turn (a conversation forgotten meanwhile starts again with it)."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            conversation = self._conversations.get(conversation_id)
            if conversation is None:
                conversation = self._conversations[conversation_id] = _Conversation(requests=1)
                while len(self._conversations) > self.max_conversations:
                    self._conversations.popitem(last=False)
            self._conversations.move_to_end(conversation_id)
            conversation.last_used = now
            turns = [*conversation.turns, Turn(question, answer)][-self.max_turns :]
            while turns and sum(t.chars for t in turns) > self.max_chars:
                turns.pop(0)
            conversation.turns = turns

    def _expire(self, now: float) -> None:
        # Least recently used first: stop at the first one still alive.
        while self._conversations:
            oldest_id, oldest = next(iter(self._conversations.items()))
            if now - oldest.last_used < self.ttl_s:
                break
            del self._conversations[oldest_id]
