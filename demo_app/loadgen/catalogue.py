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
from typing import Any

from demo_app.loadgen.driver import LoadStream
from demo_app.loadgen.mix import DEFAULT_MIX

__all__ = ["Fault", "ExpectedAlert", "Scenario", "SCENARIOS", "get_scenario", "THRESHOLD_BUDGET_S", "SLO_BUDGET_S"]

THRESHOLD_BUDGET_S = 90.0  # threshold alerts: rate window fills + `for:` + group_wait, with room
SLO_BUDGET_S = 240.0  # burn-rate alerts: both windows of the pair must exceed the factor
ALWAYS_ALLOWED = frozenset({"Watchdog"})  # fires all the time by design (dead man's switch)


@dataclass(frozen=True)
class Fault:
    """A fault for the simulator's POST /faults (see demo_app/llm_sim/faults.py for `value`)."""

    kind: str
    rate: float = 1.0
    value: float | None = None
    model: str | None = None  # None: every model

    def body(self, ttl_s: float) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": self.kind, "rate": self.rate, "ttl_s": max(1, min(3600, int(ttl_s)))}
        if self.value is not None:
            body["value"] = self.value
        if self.model is not None:
            body["model"] = self.model
        return body


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


# Background traffic every scenario keeps running: the ordinary mix at a few requests/s,
# so every ratio in the rules has a denominator and the dashboards have data. Tiers are
# kept to pro/enterprise, whose token buckets this rate never empties - only the
# rate-limit scenario should see app-side 429s.
_BACKGROUND = _stream(2.0, "background", tiers={"pro": 0.75, "enterprise": 0.25})

# The SLO alerts are allowed wherever user-facing latency or errors really degrade.
_LATENCY_SLO = frozenset({"LLMLatencySLOFastBurn", "LLMLatencySLOSlowBurn"})
_AVAILABILITY_SLO = frozenset({"LLMAvailabilitySLOFastBurn", "LLMAvailabilitySLOSlowBurn"})

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        name="baseline",
        description="No fault, ordinary traffic: nothing but Watchdog may fire.",
        expected=(ExpectedAlert("Watchdog"),),
        load=(_stream(2.0, "background"),),
        budget_s=180.0,
        observe_s=150.0,
        delivered_since_start=False,
    ),
    Scenario(
        name="error-spike",
        description="Half of sim-large's calls fail with HTTP 500; retries and fallback hide most of it from users.",
        expected=(ExpectedAlert("LLMHighErrorRate", {"gen_ai_request_model": "sim-large"}),),
        faults=(Fault("error", rate=0.5, value=500, model="sim-large"),),
        load=(_BACKGROUND, _stream(2.0, "sim-large", tiers={"pro": 1.0}, agent_share=0.0, models={"sim-large": 1.0})),
        allowed=_LATENCY_SLO,
    ),
    Scenario(
        name="latency-spike",
        description="Every sim-medium call gets 4.5 s more time to first token.",
        expected=(ExpectedAlert("LLMHighLatencyP95", {"gen_ai_request_model": "sim-medium"}),),
        faults=(Fault("latency", rate=1.0, value=4.5, model="sim-medium"),),
        load=(_BACKGROUND,),
        allowed=_LATENCY_SLO,
    ),
    Scenario(
        name="cost-spike",
        description="A release pins every request to sim-large, the most expensive model, at three times the traffic.",
        expected=(ExpectedAlert("LLMCostSpike"),),
        load=(_BACKGROUND, _stream(4.0, "sim-large", tiers={"pro": 0.7, "enterprise": 0.3}, models={"sim-large": 1.0})),
        allowed=_LATENCY_SLO | {"LLMHighLatencyP95"},
    ),
    Scenario(
        name="token-blowup",
        description="sim-small starts rambling: answers eight times longer than usual.",
        expected=(ExpectedAlert("LLMTokenBlowup", {"gen_ai_request_model": "sim-small"}),),
        faults=(Fault("token_blowup", rate=1.0, value=8.0, model="sim-small"),),
        load=(_BACKGROUND, _stream(1.0, "summaries", tiers={"pro": 1.0}, agent_share=0.0, features={"summarize": 1.0})),
        allowed=_LATENCY_SLO | {"LLMCostSpike", "LLMHighLatencyP95"},
    ),
    Scenario(
        name="rate-limit-storm",
        description="The provider answers 429 to half the calls while a free-tier client bursts past its token bucket.",
        expected=(ExpectedAlert("LLMProviderRateLimitStorm"), ExpectedAlert("LLMAppRateLimitRejections")),
        faults=(Fault("rate_limit", rate=0.5, value=1.0),),
        load=(_BACKGROUND, _stream(6.0, "free-burst", tiers={"free": 1.0}, agent_share=0.0, features={"summarize": 1.0})),
        allowed=_LATENCY_SLO | _AVAILABILITY_SLO | {"LLMHighErrorRate", "LLMHighLatencyP95"},
    ),
    Scenario(
        name="quality-drop",
        description="Answers ignore the retrieved context (a broken prompt template, say): faithfulness collapses.",
        expected=(ExpectedAlert("LLMQualityDrop"),),
        faults=(Fault("quality_drop", rate=1.0),),
        load=(_BACKGROUND,),
    ),
    Scenario(
        name="slo-burn",
        description="Every model fails 80% of calls: after retries and fallback enough requests fail to burn the error budget fast.",
        expected=(ExpectedAlert("LLMAvailabilitySLOFastBurn"),),
        # Below LLMProviderOutage's 90%, which would otherwise inhibit the error-rate alerts.
        faults=(Fault("error", rate=0.8, value=503),),
        load=(_BACKGROUND,),
        allowed=_LATENCY_SLO | _AVAILABILITY_SLO | {"LLMHighErrorRate", "LLMHighLatencyP95"},
        budget_s=SLO_BUDGET_S,
    ),
    Scenario(
        name="provider-outage",
        description="sim-large answers 503 to every call: the outage alert fires and inhibits its error-rate alert.",
        expected=(ExpectedAlert("LLMProviderOutage", {"gen_ai_request_model": "sim-large"}),),
        faults=(Fault("error", rate=1.0, value=503, model="sim-large"),),
        load=(_BACKGROUND, _stream(2.0, "sim-large", tiers={"pro": 1.0}, agent_share=0.0, models={"sim-large": 1.0})),
        inhibited=(ExpectedAlert("LLMHighErrorRate", {"gen_ai_request_model": "sim-large"}),),
        allowed=_LATENCY_SLO,
    ),
)


def get_scenario(name: str) -> Scenario:
    for scenario in SCENARIOS:
        if scenario.name == name:
            return scenario
    raise KeyError(f"unknown scenario {name!r}; known: {', '.join(s.name for s in SCENARIOS)}")
