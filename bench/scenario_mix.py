"""The full scenario mix: every endpoint, feature, tier, team, model, streaming, agents, every fault kind and every prompt version.

Used by bench/cardinality.py to reach the largest label set the app can produce: whatever
series the contract allows and the app can mint, this mix should mint. Bounded: a fixed list
of requests per fault, short fault TTLs, a client timeout.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from typing import Any

import httpx

from demo_app.budgets import load_budgets
from demo_app.config import FEATURES, MODELS, TIERS  # the contract's tiers/features, the simulator catalogue's models
from demo_app.prompts import load_prompts

__all__ = ["FAULTS", "ROLLOUTS", "MODELS", "FEATURES", "TIERS", "FREE_BURST_REQUESTS", "run_mix", "mix_app_env"]

# (kind, rate, value): rates below 1 so retries, fallbacks and successes all happen under each.
FAULTS: tuple[tuple[str | None, float, float | None], ...] = (
    (None, 0.0, None),
    ("error", 0.5, 503),
    ("error", 0.5, 500),
    ("rate_limit", 0.5, 1.0),
    ("latency", 0.5, 0.3),
    ("token_blowup", 1.0, 8.0),
    ("quality_drop", 1.0, None),
    ("timeout", 0.5, 2.0),
    ("cache_bust", 0.5, None),
)
# Every prompt version the files define beyond the one live at start (qa v2 with the shipped
# files): one fault-free pass each with that version rolled out (PUT /admin/prompts/{name}),
# so the prompt_version label takes every value it can.
_PROMPTS = load_prompts()
ROLLOUTS: tuple[tuple[str, str], ...] = tuple(
    (name, version) for name in _PROMPTS.names() for version in _PROMPTS.versions(name) if version != _PROMPTS.live(name).version
)
# Every team of the budgets file, no team, a team it does not list (both recorded as _other),
# and the demo key of support-bot (Authorization: Bearer), spread over the requests.
TEAMS: tuple[str, ...] = (*load_budgets().teams, "", "marketing", "key:sk-demo-support-bot")
QUESTIONS = (
    "How do I rotate an API key?",
    "What does the enterprise plan include?",
    "Summarise the incident response policy.",
    "What is the capital of Mongolia?",  # off-topic: nothing retrieved
)
AGENT_TASKS = (
    "Research our refund policy and compute how many days a customer has, then write a short answer.",
    "Find the rate limits of each tier and count the words of the summary.",
)
INVALID = (
    ("/v1/ask", {"question": "", "user_tier": "free", "feature": "qa"}),
    ("/v1/ask", {"question": "hi", "user_tier": "platinum", "feature": "qa"}),
    ("/v1/agent", {"task": "x", "user_tier": "free", "max_steps": 500}),
)


# The final burst over the free tier's bucket: that many requests, all at once.
FREE_BURST_REQUESTS = 40


def _free_tier_requests() -> int:
    """Free-tier requests the mix sends before its final burst (each may take a token)."""
    per_pass = sum(1 for _, _, body in _requests() if body is not None and body.get("user_tier") == "free")
    return per_pass * (len(FAULTS) + len(ROLLOUTS))


def mix_app_env() -> dict[str, str]:
    """App settings for the mix: a short LLM timeout (the timeout fault), generous tier limits
    except the free tier, whose bucket the final burst exhausts so app-side rate limiting shows
    up too.

    The free bucket holds exactly the free-tier requests of the passes (plus those the app
    refuses with 422 before the limiter) and refills at one token per 1,000 s, so the
    final burst gets 429s however fast or slow the machine serves the mix: the outcome
    follows from the configuration, not from the request rate.
    """
    return {
        "LLM_TIMEOUT_S": "1",
        "LLM_RETRY_BACKOFF_S": "0.05",
        "LLM_RETRY_BACKOFF_MAX_S": "0.2",
        "LLM_RETRY_AFTER_CAP_S": "0.2",
        "RATE_LIMIT_FREE_PER_S": "0.001",
        "RATE_LIMIT_FREE_BURST": str(_free_tier_requests()),
        "RATE_LIMIT_PRO_PER_S": "1000",
        "RATE_LIMIT_PRO_BURST": "1000",
        "RATE_LIMIT_ENTERPRISE_PER_S": "1000",
        "RATE_LIMIT_ENTERPRISE_BURST": "1000",
    }


def _requests() -> list[tuple[str, str, dict[str, Any] | None]]:
    """(method, path, body) for one pass of the mix under one fault."""
    out: list[tuple[str, str, dict[str, Any] | None]] = []
    teams = itertools.cycle(TEAMS)
    for (feature, tier, model, stream), question in zip(
        itertools.product(FEATURES, TIERS, MODELS, (False, True)), itertools.cycle(QUESTIONS)
    ):
        body = {"question": question, "user_tier": tier, "feature": feature, "stream": stream, "model": model}
        out.append(("POST", "/v1/ask", _with_team(body, next(teams))))
    for tier, task in zip(TIERS, itertools.cycle(AGENT_TASKS)):
        out.append(("POST", "/v1/agent", _with_team({"task": task, "user_tier": tier, "max_steps": 4}, next(teams))))
    out += [("POST", path, body) for path, body in INVALID]
    out += [("GET", "/healthz", None), ("GET", "/no-such-route", None), ("DELETE", "/v1/ask", None)]
    return out


def _with_team(body: dict[str, Any], team: str) -> dict[str, Any]:
    """`body` naming `team`; "key:<key>" sends the key instead (popped into a header by _send)."""
    if team.startswith("key:"):
        return {**body, "_key": team.removeprefix("key:")}
    return {**body, "team": team} if team else body


async def _send(client: httpx.AsyncClient, method: str, path: str, body: dict[str, Any] | None, counts: Counter) -> None:
    headers = {}
    if body is not None and "_key" in body:
        body = dict(body)
        headers["Authorization"] = f"Bearer {body.pop('_key')}"
    try:
        if body is not None and body.get("stream"):
            async with client.stream(method, path, json=body, headers=headers) as resp:
                async for _ in resp.aiter_bytes():
                    pass
                counts[resp.status_code] += 1
            return
        resp = await client.request(method, path, json=body, headers=headers)
        counts[resp.status_code] += 1
    except httpx.HTTPError as exc:
        counts[type(exc).__name__] += 1


async def _run(app_url: str, sim_url: str, concurrency: int) -> dict[str, Any]:
    counts: Counter = Counter()
    slots = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=app_url, timeout=30) as client, httpx.AsyncClient(base_url=sim_url, timeout=10) as sim:

        async def one(method: str, path: str, body: dict[str, Any] | None) -> None:
            async with slots:
                await _send(client, method, path, body, counts)

        for kind, rate, value in FAULTS:
            await sim.delete("/faults")
            if kind:
                fault: dict[str, Any] = {"kind": kind, "rate": rate, "ttl_s": 60}
                if value is not None:
                    fault["value"] = value
                (await sim.post("/faults", json=fault)).raise_for_status()
            await asyncio.gather(*(one(m, p, b) for m, p, b in _requests()))
        await sim.delete("/faults")
        for name, version in ROLLOUTS:
            (await client.put(f"/admin/prompts/{name}", json={"version": version, "ttl_s": 120})).raise_for_status()
            try:
                await asyncio.gather(*(one(m, p, b) for m, p, b in _requests()))
            finally:
                await client.delete(f"/admin/prompts/{name}")
        # A body over the app's size limit (64 KiB by default): 413 before anything parses it.
        oversized = await client.post("/v1/ask", content=b" " * (256 * 1024), headers={"Content-Type": "application/json"})
        counts[oversized.status_code] += 1
        # A burst over the free tier's bucket: the app refuses with 429 (source="app").
        burst = {"question": QUESTIONS[0], "user_tier": "free", "feature": "qa"}
        await asyncio.gather(*(one("POST", "/v1/ask", burst) for _ in range(FREE_BURST_REQUESTS)))
    return {str(k): v for k, v in sorted(counts.items(), key=lambda kv: str(kv[0]))}


def run_mix(app_url: str, sim_url: str, concurrency: int = 8) -> dict[str, Any]:
    """Drive the whole mix once; returns the response count by status."""
    return asyncio.run(_run(app_url, sim_url, concurrency))
