"""The conversation store keeps a bounded, expiring history per conversation id."""

from __future__ import annotations

import pytest

from demo_app.app.conversations import ConversationStore, Turn
from demo_app.app.rag import Hit, build_messages


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _store(clock: Clock | None = None, **limits: float) -> ConversationStore:
    spec = {"max_conversations": 3, "max_turns": 3, "max_chars": 1000, "ttl_s": 60.0, **limits}
    return ConversationStore(clock=clock or Clock(), **spec)  # type: ignore[arg-type]


class TestHistory:
    """Each begin() returns the turns recorded before, oldest first, and the request's turn number."""

    def test_turns_accumulate_in_order(self):
        store = _store()
        assert store.begin("c1") == ((), 1)
        store.record("c1", "q1", "a1")
        assert store.begin("c1") == ((Turn("q1", "a1"),), 2)
        store.record("c1", "q2", "a2")
        history, turn = store.begin("c1")
        assert [t.question for t in history] == ["q1", "q2"] and turn == 3

    def test_conversations_do_not_mix(self):
        store = _store()
        store.begin("c1")
        store.record("c1", "q1", "a1")
        assert store.begin("c2") == ((), 1)

    def test_a_failed_request_takes_a_turn_number_but_adds_no_history(self):
        store = _store()
        store.begin("c1")  # the LLM failed: nothing recorded
        assert store.begin("c1") == ((), 2)


class TestBounds:
    """Number of conversations, turns, characters and age are all capped."""

    def test_only_the_last_max_turns_are_kept(self):
        store = _store(max_turns=2)
        for i in range(5):
            store.begin("c")
            store.record("c", f"q{i}", f"a{i}")
        history, turn = store.begin("c")
        assert [t.question for t in history] == ["q3", "q4"] and turn == 6

    def test_history_stays_under_max_chars(self):
        store = _store(max_chars=25)
        for i in range(4):
            store.record("c", f"question {i}", f"answer {i}")  # 18 characters a turn
        history, _ = store.begin("c")
        assert [t.question for t in history] == ["question 3"]
        assert sum(t.chars for t in history) <= 25

    def test_a_turn_longer_than_max_chars_is_not_kept(self):
        store = _store(max_chars=10)
        store.record("c", "q" * 6, "a" * 6)
        assert store.begin("c")[0] == ()

    def test_least_recently_used_conversation_is_forgotten_first(self):
        store = _store(max_conversations=2)
        for cid in ("a", "b"):
            store.begin(cid)
            store.record(cid, "q", "x")
        store.begin("a")  # a is now the most recently used
        store.begin("c")  # evicts b
        assert len(store) == 2
        assert store.begin("b") == ((), 1)  # b was forgotten
        assert len(store) == 2

    def test_a_conversation_expires_ttl_after_its_last_request(self):
        clock = Clock()
        store = _store(clock, ttl_s=60.0)
        store.begin("c")
        store.record("c", "q", "a")
        clock.now += 59
        assert store.begin("c")[1] == 2  # still alive, and the request refreshes it
        clock.now += 59
        assert store.begin("c")[0] == (Turn("q", "a"),)
        clock.now += 60
        assert len(store) == 0
        assert store.begin("c") == ((), 1)

    @pytest.mark.parametrize("limits", [{"max_conversations": 0}, {"max_turns": 0}, {"max_chars": 0}, {"ttl_s": 0}])
    def test_limits_must_be_positive(self, limits):
        with pytest.raises(ValueError):
            _store(**limits)


class TestMessages:
    """The history goes between the shared system prompt and the new question."""

    def test_history_follows_the_system_prompt(self):
        hits = [Hit(doc_id="kb-001", title="t", text="Uploads are limited to 50 MB.", score=3.0)]
        plain = build_messages("What is the upload limit?", hits, "qa")
        messages = build_messages("And for videos?", hits, "qa", [("What is the upload limit?", "50 MB [kb-001].")])
        assert messages[0] == plain[0]  # same system prompt: the cached prefix is unchanged
        assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
        assert messages[1]["content"] == "What is the upload limit?" and messages[2]["content"] == "50 MB [kb-001]."
        assert messages[-1] == {"role": "user", "content": "And for videos?"}
