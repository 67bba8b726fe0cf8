"""Fixtures for the unit tests of the app's pure modules (rag, quality, pricing, ratelimit)."""

from __future__ import annotations

import pytest

from demo_app.app.rag import Retriever


@pytest.fixture(scope="session")
def retriever() -> Retriever:
    """The real retriever over the bundled corpus, built once for the whole session."""
    return Retriever.from_corpus()


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
