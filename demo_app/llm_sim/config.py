"""Settings of the LLM simulator, read from the environment once at start."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["SimSettings"]


class SimSettings(BaseSettings):
    """`python -m demo_app.llm_sim` settings; names are the environment variables (any case)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8081, ge=1, le=65535)
    # Multiplies every modelled latency (not fault latencies, which are absolute):
    # 1.0 is the profile table, 0 answers at once (tests use 0 or 0.02).
    llm_sim_latency_scale: float = Field(default=1.0, ge=0, le=100)
    # With the same seed, the same request gets the same answer, usage and fault decision.
    llm_sim_seed: int = 0
    # Prompt caching (cache.py): the shortest cached prefix (OpenAI: 1024; lower here because
    # the demo's prompts are about 900 tokens), how long an entry lives after its last use, and
    # the most 128-token blocks kept (least recently used evicted first; about 100 bytes each).
    llm_sim_cache_min_tokens: int = Field(default=256, ge=128, le=65_536, multiple_of=128)
    llm_sim_cache_ttl_s: float = Field(default=300.0, ge=0, le=86_400)
    llm_sim_cache_max_blocks: int = Field(default=20_000, ge=0, le=1_000_000)
