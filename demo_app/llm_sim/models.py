"""The simulated model catalogue: one table of latency and behaviour profiles.

Prices are not here on purpose: a provider bills, the app estimates cost from its own
model catalogue (demo_app/data/models/simulator.yaml), exactly as with a real provider. The
simulator does not read that file (it and the app meet only over HTTP); the names below
must be the catalogue's, and tests/unit/test_catalogue.py fails when they drift.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ModelProfile", "MODELS", "MODEL_NAMES", "get_model"]


@dataclass(frozen=True)
class ModelProfile:
    """How one simulated model behaves.

    Latency = (ttft_s + prefill_s_per_1k * prompt_tokens / 1000) * jitter
              + completion_tokens * per_token_s * jitter,
    where jitter is a log-normal factor with median 1 and sigma `jitter_sigma`: a right
    tail like real serving latency, so p95 sits above the median.
    """

    name: str
    ttft_s: float  # time to first token for a tiny prompt
    per_token_s: float  # time per output token (the inverse of the decode speed)
    prefill_s_per_1k: float  # extra time to first token per 1000 prompt tokens
    jitter_sigma: float
    max_sentences: int  # the longest answer it composes, in context sentences
    distraction: float  # chance to swap one chosen sentence for a random context one
    context_window: int  # prompt tokens it accepts
    max_output_tokens: int  # hard cap on completion tokens, even during a token blow-up


# Large is slow and careful, small is fast and a little sloppy: the app's quality
# scores and latency panels show the trade-off when it falls back to a cheaper model.
MODELS: dict[str, ModelProfile] = {
    p.name: p
    for p in (
        ModelProfile("sim-large", 0.45, 0.030, 0.05, 0.10, 4, 0.00, 128_000, 4096),
        ModelProfile("sim-medium", 0.25, 0.015, 0.03, 0.10, 3, 0.05, 32_000, 4096),
        ModelProfile("sim-small", 0.10, 0.006, 0.01, 0.10, 2, 0.15, 16_000, 2048),
    )
}
MODEL_NAMES: tuple[str, ...] = tuple(MODELS)


def get_model(name: str) -> ModelProfile | None:
    """The profile of model `name`, or None when the simulator does not serve it."""
    return MODELS.get(name)
