"""The scenario catalogue: each failure we can stage, the alert it must fire, and its budget.

A scenario is data: faults to inject into the LLM simulator, the load to drive, the
alert(s) that must reach the receiver, the alerts allowed to fire as side effects, and
a time budget. The runner (runner.py) and the end-to-end tests read the same table, so
the demo and its proof cannot drift apart. Thresholds live in prometheus/rules/; the
loads here are sized to cross them clearly, not barely.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from demo_app.loadgen.driver import LoadStream
from demo_app.loadgen.mix import DEFAULT_MIX

__all__ = ["Fault", "PromptRollout", "ExpectedAlert", "Scenario", "SCENARIOS", "get_scenario", "THRESHOLD_BUDGET_S", "SLO_BUDGET_S", "ERROR_RATE_BUDGET_S"]

THRESHOLD_BUDGET_S = 90.0  # threshold alerts: rate window fills + `for:` + group_wait, with room
SLO_BUDGET_S = 240.0  # burn-rate alerts: both windows of the pair must exceed the factor
ALWAYS_ALLOWED = frozenset({"Watchdog"})  # fires all the time by design (dead man's switch)


@dataclass(frozen=True)
class Fault:
    """A fault for POST /faults of the simulator (target "sim", demo_app/llm_sim/faults.py) or
    of the MCP tool server (target "tools", demo_app/mcp_tools/faults.py: kinds error and
    latency, `tool` instead of `model`)."""

    kind: str
    rate: float = 1.0
    value: float | None = None
    model: str | None = None  # None: every model
    target: Literal["sim", "tools"] = "sim"
    tool: str | None = None  # target "tools": None is every tool

    def body(self, ttl_s: float) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": self.kind, "rate": self.rate, "ttl_s": max(1, min(3600, int(ttl_s)))}
        if self.value is not None:
            body["value"] = self.value
        if self.model is not None:
            body["model"] = self.model
        if self.tool is not None:
            body["tool"] = self.tool
        return body


@dataclass(frozen=True)
class PromptRollout:
    """A prompt version put live for the run: PUT /admin/prompts/{name} with a TTL (demo_app/app/admin.py)."""

    name: str
    version: str

    def body(self, ttl_s: float) -> dict[str, Any]:
        return {"version": self.version, "ttl_s": max(1, min(3600, int(ttl_s)))}


@dataclass(frozen=True)
class ExpectedAlert:
    """An alert by name, optionally with labels it must carry (e.g. the faulty model)."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", MappingProxyType(dict(self.labels)))

    def matches(self, labels: Mapping[str, str]) -> bool:
        return labels.get("alertname") == self.name and all(labels.get(k) == v for k, v in self.labels.items())

    def __str__(self) -> str:
        if not self.labels:
            return self.name
        return self.name + "{" + ",".join(f'{k}="{v}"' for k, v in self.labels.items()) + "}"


@dataclass(frozen=True)
class Scenario:
    """One stageable failure and what must happen when it is staged."""

    name: str
    description: str
    expected: tuple[ExpectedAlert, ...]  # every one must be delivered to the receiver
    load: tuple[LoadStream, ...]
    faults: tuple[Fault, ...] = ()
    rollouts: tuple[PromptRollout, ...] = ()  # prompt versions made live for the run (reverted after it)
    allowed: frozenset[str] = frozenset()  # alert names that may fire as side effects
    # Alerts that must fire in Prometheus but never reach the receiver (an inhibition rule
    # silences them while the expected alert fires).
    inhibited: tuple[ExpectedAlert, ...] = ()
    budget_s: float = THRESHOLD_BUDGET_S
    observe_s: float = 0.0  # keep the load running at least this long (baseline: prove quiet)
    # Only count notifications received after the fault was injected. Watchdog fires
    # from the stack's start, so the baseline accepts any Watchdog notification.
    delivered_since_start: bool = True

    @property
    def primary(self) -> ExpectedAlert:
        return self.expected[0]

    @property
    def permitted(self) -> frozenset[str]:
        """Every alert name that may fire during this scenario without it being a failure."""
        return self.allowed | ALWAYS_ALLOWED | {e.name for e in self.expected} | {i.name for i in self.inhibited}


def _stream(rate: float, name: str = "main", start_s: float = 0.0, duration_s: float | None = None, **mix: Any) -> LoadStream:
    return LoadStream(rate=rate, mix=DEFAULT_MIX.replace(**mix) if mix else DEFAULT_MIX, start_s=start_s, duration_s=duration_s, name=name)


# Background traffic every scenario keeps running: the ordinary mix at 2 requests/s, so
# every ratio in the rules has a denominator (each model gets well above the 0.05 calls/s
# the ratio alerts require: sim-large ~0.3/s via `support`, sim-small via `summarize`) and
# the dashboards have data. Faults then act on the model that feature uses.
_BACKGROUND = _stream(2.0, "background")

# The SLO alerts are allowed wherever user-facing latency or errors really degrade.
_LATENCY_SLO = frozenset({"LLMLatencySLOFastBurn", "LLMLatencySLOSlowBurn"})
_AVAILABILITY_SLO = frozenset({"LLMAvailabilitySLOFastBurn", "LLMAvailabilitySLOSlowBurn"})
# Every scenario whose fault makes LLM calls fail: its error type is new to a stack that has
# not seen it in the last hour (always so on a fresh one), see prometheus/rules/errors.yml.
_NEW_ERROR_TYPE = frozenset({"LLMNewErrorType"})
# The budget tickets are allowed wherever a scenario's extra traffic really spends more: a
# feature's or tier's 5-minute spend rate may pass its monthly budget (demo month: 1 hour).
_BUDGET_TICKETS = frozenset({"LLMBudgetProjectedOverrun", "LLMBudgetBurnSlow"})
BUDGET_BURN_S = 135.0  # the 2m window must pass 14.4x (~55 s at ~33x), then `for: 30s`: 88-91 s measured, 1.3x leaves too little room on a busy machine
# LLMHighErrorRate waits `for: 45s` (15 s more than the other threshold alerts, so that
# LLMProviderOutage reaches Alertmanager first and inhibits it): 90 s left too little room -
# two full clean-clone runs delivered it at 86.3 and 84.6 s (pending only after ~35 s: the
# 1m ratio needs sim-large's slow calls to fail and the 0.05 calls/s guard to hold).
ERROR_RATE_BUDGET_S = 120.0

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        name="baseline",
        description="No fault, ordinary traffic: nothing but Watchdog may fire.",
        expected=(ExpectedAlert("Watchdog"),),
        load=(_BACKGROUND,),
        budget_s=180.0,
        observe_s=150.0,
        delivered_since_start=False,
    ),
    Scenario(
        name="error-spike",
        description="Half of sim-large's calls fail with HTTP 500; retries and fallback hide most of it from users.",
        expected=(ExpectedAlert("LLMHighErrorRate", {"gen_ai_request_model": "sim-large"}),),
        faults=(Fault("error", rate=0.5, value=500, model="sim-large"),),
        load=(_BACKGROUND,),
        budget_s=ERROR_RATE_BUDGET_S,
        allowed=_LATENCY_SLO | _NEW_ERROR_TYPE,
    ),
    Scenario(
        name="latency-spike",
        description="Every sim-medium call waits 4.5 s longer for its first token (p95 ~6 s against a 4 s threshold).",
        expected=(ExpectedAlert("LLMHighLatencyP95", {"gen_ai_request_model": "sim-medium"}),),
        faults=(Fault("latency", rate=1.0, value=4.5, model="sim-medium"),),
        load=(_BACKGROUND,),
        allowed=_LATENCY_SLO,
    ),
    Scenario(
        name="cost-spike",
        description="A release pins 2 more requests/s to sim-large, the most expensive model: its spend runs ~7x its baseline.",
        expected=(ExpectedAlert("LLMCostSpike", {"gen_ai_request_model": "sim-large"}),),
        # Paying tiers only: the burst must not run into the free tier's token bucket.
        load=(_BACKGROUND, _stream(2.0, "sim-large", tiers={"pro": 0.7, "enterprise": 0.3}, agent_share=0.0, models={"sim-large": 1.0})),
        allowed=_LATENCY_SLO | _BUDGET_TICKETS,
    ),
    Scenario(
        name="token-blowup",
        description="sim-small starts rambling: answers eight times longer than usual (slower and pricier too).",
        expected=(ExpectedAlert("LLMTokenBlowup", {"gen_ai_request_model": "sim-small"}),),
        faults=(Fault("token_blowup", rate=1.0, value=8.0, model="sim-small"),),
        load=(_BACKGROUND,),
        allowed=_LATENCY_SLO | _BUDGET_TICKETS | {"LLMCostSpike", "LLMHighLatencyP95"},
    ),
    Scenario(
        name="prompt-injection",
        description="An attack wave: 1 request/s of prompt injections and jailbreaks on top of ordinary traffic; the input guardrails refuse each with a 400.",
        expected=(ExpectedAlert("LLMGuardrailBlockSurge", {"stage": "input"}),),
        load=(_BACKGROUND, _stream(1.0, "attack", attack_share=1.0, agent_share=0.0, invalid_share=0.0, conversation_share=0.0)),
        allowed=_BUDGET_TICKETS,
    ),
    Scenario(
        name="rate-limit-storm",
        description="The provider answers 429 to half the calls while a free-tier client bursts at 6 requests/s (its limit: 2/s).",
        expected=(ExpectedAlert("LLMProviderRateLimitStorm"), ExpectedAlert("LLMAppRateLimitRejections", {"user_tier": "free"})),
        faults=(Fault("rate_limit", rate=0.5, value=1.0),),
        load=(_BACKGROUND, _stream(6.0, "free-burst", tiers={"free": 1.0}, agent_share=0.0, features={"summarize": 1.0})),
        allowed=_LATENCY_SLO | _NEW_ERROR_TYPE | _AVAILABILITY_SLO | _BUDGET_TICKETS | {"LLMHighErrorRate", "LLMHighLatencyP95", "LLMCostSpike"},
    ),
    Scenario(
        name="quality-drop",
        description="A prompt rollout ships a bad qa template (v2: answer from general knowledge): answers ignore the retrieved context.",
        expected=(ExpectedAlert("LLMQualityDrop", {"feature": "qa", "prompt_version": "v2"}),),
        # PUT /admin/prompts/qa {"version": "v2", "ttl_s": ...}: the app reverts it by itself
        # if this run dies; the run reverts it when it ends. LLMQualityDrop averages each
        # version's faithfulness on its own, so v2's mean is low from its first scored
        # answers: pending ~16 s, firing after `for: 30s`, delivered at 50.0 and 50.9 s in two
        # native runs (the old fault, diluted by v1's answers in the 2m mean, took 70-77 s).
        rollouts=(PromptRollout("qa", "v2"),),
        load=(_BACKGROUND,),
        allowed=_LATENCY_SLO | _BUDGET_TICKETS,
    ),
    Scenario(
        name="slo-burn",
        description="Every model fails 70% of its calls during a rush of summaries (sim-small, the end of the fallback"
        " chain): over a quarter of the requests fail after retries and fallback, burning the 99% SLO's budget 25x too fast.",
        expected=(ExpectedAlert("LLMAvailabilitySLOFastBurn"),),
        # 70% per call stays far below LLMProviderOutage's 90% (over 30 s windows, ~5 standard
        # deviations at these rates), which would inhibit the availability alerts; the extra
        # summaries make the user-facing error share (0.7^3 = 34% for them) high enough for
        # the 5m window to pass 14.4% in two to three minutes.
        faults=(Fault("error", rate=0.7, value=503),),
        load=(_BACKGROUND, _stream(3.0, "summaries", tiers={"pro": 0.7, "enterprise": 0.3}, agent_share=0.0, features={"summarize": 1.0})),
        allowed=_LATENCY_SLO | _NEW_ERROR_TYPE | _AVAILABILITY_SLO | _BUDGET_TICKETS | {"LLMHighErrorRate", "LLMHighLatencyP95", "LLMCostSpike"},
        budget_s=SLO_BUDGET_S,
    ),
    Scenario(
        name="provider-outage",
        description="sim-large answers 503 to every call: the outage alert fires and inhibits its error-rate alert.",
        expected=(ExpectedAlert("LLMProviderOutage", {"gen_ai_request_model": "sim-large"}),),
        faults=(Fault("error", rate=1.0, value=503, model="sim-large"),),
        load=(_BACKGROUND,),
        inhibited=(ExpectedAlert("LLMHighErrorRate", {"gen_ai_request_model": "sim-large"}),),
        allowed=_LATENCY_SLO | _NEW_ERROR_TYPE,
    ),
    Scenario(
        name="budget-burn",
        description="Team batch starts a backfill: 2 summaries/s pinned to sim-large, about 30x what its"
        " 1 USD budget per demo month (1 hour) allows.",
        expected=(ExpectedAlert("LLMBudgetBurnFast", {"scope": "team", "scope_value": "batch"}),),
        # The job is all of team batch's spend; it also raises feature summarize's and tier
        # enterprise's (the budget tickets may fire for them) and sim-large's (LLMCostSpike).
        # Team batch's own tickets come after its page (the fast burn then inhibits them) or
        # not at all before the run ends. Its summaries share little prompt prefix with sim-large's
        # cached interactive traffic, so they may halve sim-large's cache hit ratio on a steady
        # (now larger) call rate: LLMCacheHitRatioDrop{sim-large} (seen once in a clean-clone run,
        # after its 30-minute baseline stopped being NaN-poisoned by quiet minutes).
        load=(
            _BACKGROUND,
            _stream(2.0, "batch-job", teams={"batch": 1.0}, tiers={"enterprise": 1.0}, agent_share=0.0,
                    features={"summarize": 1.0}, models={"sim-large": 1.0}),
        ),
        allowed=_LATENCY_SLO | _BUDGET_TICKETS | {"LLMCostSpike", "LLMHighLatencyP95", "LLMCacheHitRatioDrop"},
        budget_s=BUDGET_BURN_S,
    ),
    Scenario(
        name="mcp-tool-failure",
        description="A bad deploy of the MCP tool server: every search_documents call crashes; the researcher agents"
        " go on without the documents, their requests still succeed.",
        expected=(ExpectedAlert("LLMToolCallErrors", {"gen_ai_tool_name": "search_documents"}),),
        faults=(Fault("error", target="tools", tool="search_documents"),),
        # Background agents call search_documents ~0.3/s; more agent runs make the ratio's
        # denominator steady well above the alert's 0.05 calls/s guard.
        load=(_BACKGROUND, _stream(0.5, "agents", tiers={"pro": 0.7, "enterprise": 0.3}, agent_share=1.0, invalid_share=0.0,
                                   attack_share=0.0, conversation_share=0.0)),
        allowed=_LATENCY_SLO | _BUDGET_TICKETS,
    ),
    Scenario(
        name="cache-bust",
        description="A deploy changes the shared system prompt: no prompt prefix repeats, so the provider's"
        " prompt cache serves nothing and every input token is paid in full.",
        expected=(ExpectedAlert("LLMCacheHitRatioDrop", {"gen_ai_request_model": "sim-medium"}),),
        faults=(Fault("cache_bust"),),
        load=(_BACKGROUND,),
        # Uncached prompts cost more (the app prices cached tokens lower) and are prefilled again
        # (a slower first token).
        allowed=_LATENCY_SLO | _BUDGET_TICKETS | {"LLMHighLatencyP95"},
    ),
)


def get_scenario(name: str) -> Scenario:
    for scenario in SCENARIOS:
        if scenario.name == name:
            return scenario
    raise KeyError(f"unknown scenario {name!r}; known: {', '.join(s.name for s in SCENARIOS)}")
