"""The traffic mix: which request to send next, drawn from seeded random choices.

A `Mix` holds the proportions (agent vs. RAG, streaming, tiers, features, teams, invalid and
off-topic shares, pinned models); a `TrafficGenerator` turns it into concrete requests.
Teams: a request names its team in the body (`team`), or, for a share of the teams with a
demo API key, sends that key as `Authorization: Bearer` instead, so both ways the app
attributes spend (demo_app/budgets.py) carry traffic.
Conversations: a share of the /v1/ask requests are turns of multi-turn sessions (2-4 turns
by default, same tier, feature and team, follow-up questions about the same document) that
send a `conversation_id`; the turns of open sessions are interleaved with the other traffic,
one arrival each, so the request rate stays the mix's. The driver sends a session's turns in
order, each after the previous one has been answered.
Scenarios override parts of the mix (all traffic on sim-large, only the free tier...).
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from demo_app.loadgen.corpus import ATTACK_QUESTIONS, OFF_TOPIC_QUESTIONS, CorpusDoc, agent_task, paraphrase

__all__ = ["Mix", "Request", "TrafficGenerator", "DEFAULT_MIX", "DEMO_TEAM_KEYS"]

RequestKind = Literal["ask", "agent", "invalid", "attack"]


# Demo API keys (not secrets) whose fingerprints demo_app/data/budgets.yaml lists for their team.
DEMO_TEAM_KEYS: Mapping[str, str] = MappingProxyType({"support-bot": "sk-demo-support-bot"})


def _frozen(d: Mapping[str, float]) -> Mapping[str, float]:
    return MappingProxyType(dict(d))


@dataclass(frozen=True)
class Mix:
    """Proportions of the traffic. Shares are fractions of all requests (0..1)."""

    agent_share: float = 0.15  # /v1/agent tasks; the rest are /v1/ask questions
    stream_share: float = 0.20  # of /v1/ask requests, how many ask for a streamed answer (agents never stream)
    invalid_share: float = 0.03  # malformed requests the app must refuse with 4xx
    off_topic_share: float = 0.05  # of /v1/ask questions, ones the corpus cannot answer
    # Of the /v1/ask questions, prompt injections and jailbreaks (ATTACK_QUESTIONS) that the
    # input guardrails block with a 400: none in ordinary traffic, the prompt-injection scenario's wave.
    attack_share: float = 0.0
    tiers: Mapping[str, float] = field(default_factory=lambda: _frozen({"free": 0.6, "pro": 0.3, "enterprise": 0.1}))
    features: Mapping[str, float] = field(default_factory=lambda: _frozen({"qa": 0.6, "summarize": 0.2, "support": 0.2}))
    # Model pinned in the request body; "" means "let the app pick the feature's default".
    models: Mapping[str, float] = field(default_factory=lambda: _frozen({"": 1.0}))
    # Team billed for the request; "" means "send no team" (recorded as _other). The default
    # never sends `batch`: that team's traffic is the budget-burn scenario's batch job.
    teams: Mapping[str, float] = field(default_factory=lambda: _frozen({"search": 0.5, "support-bot": 0.3, "": 0.2}))
    # Of the requests for a team with a demo key (DEMO_TEAM_KEYS), the share that sends the key
    # (Authorization: Bearer) instead of the `team` field.
    key_share: float = 0.5
    # A full supervisor -> researcher/analyst/writer run takes 7-9 LLM turns: this range
    # gives a mix of finished runs and runs stopped at their step limit.
    max_steps: tuple[int, int] = (5, 10)
    # Of the /v1/ask requests, the share that are turns of a conversation (conversation_id),
    # and how many turns a conversation has (inclusive range).
    conversation_share: float = 0.25
    conversation_turns: tuple[int, int] = (2, 4)

    def __post_init__(self) -> None:
        lo, hi = self.conversation_turns
        if not 1 <= lo <= hi:
            raise ValueError(f"Mix.conversation_turns must be a range 1 <= lo <= hi, got {self.conversation_turns}")
        for name in ("agent_share", "stream_share", "invalid_share", "off_topic_share", "attack_share", "key_share", "conversation_share"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Mix.{name} must be within 0..1, got {value}")
        if self.off_topic_share + self.conversation_share >= 1.0:
            raise ValueError("Mix.off_topic_share + Mix.conversation_share must be below 1")
        if self.agent_share + self.invalid_share > 1.0:
            raise ValueError("Mix.agent_share + Mix.invalid_share must not exceed 1")
        for name in ("tiers", "features", "models", "teams"):
            weights = getattr(self, name)
            if not weights or any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
                raise ValueError(f"Mix.{name} needs at least one positive weight, got {dict(weights)}")
            object.__setattr__(self, name, _frozen(weights))

    def replace(self, **overrides: Any) -> Mix:
        """A copy with some proportions changed (scenarios use this)."""
        return dataclasses.replace(self, **overrides)


DEFAULT_MIX = Mix()


@dataclass(frozen=True)
class Request:
    """One request to send: path and JSON body, plus what we know about it for statistics."""

    kind: RequestKind
    path: str
    body: dict[str, Any]
    tier: str
    feature: str
    stream: bool = False
    off_topic: bool = False
    team: str = ""  # the team the request is billed to ("" none), by body field or key
    headers: Mapping[str, str] = field(default_factory=dict)  # e.g. Authorization for a team's demo key
    conversation_id: str = ""  # the session this turn belongs to ("" none)
    turn: int = 0  # its turn number in the session, from 1 (0 outside one)


@dataclass
class _Session:
    """An open conversation: what its turns share, and how many are left to send."""

    conversation_id: str
    tier: str
    feature: str
    team: dict[str, str]
    headers: dict[str, str]
    questions: tuple[str, ...]
    turns: int
    model: str = ""  # pinned model ("" the feature's default), as the mix's `models` says
    sent: int = 0


def _billed(body: Mapping[str, str], headers: Mapping[str, str]) -> str:
    """The team a request's body field or demo key names ("" for none)."""
    if "team" in body:
        return body["team"]
    key = headers.get("Authorization", "").removeprefix("Bearer ")
    return next((team for team, k in DEMO_TEAM_KEYS.items() if k == key), "")


def _pick(rng: random.Random, weights: Mapping[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys], k=1)[0]


class TrafficGenerator:
    """Endless, reproducible stream of requests for a mix (same seed, same requests)."""

    def __init__(self, docs: tuple[CorpusDoc, ...], mix: Mix = DEFAULT_MIX, seed: int | None = None) -> None:
        self.mix = mix
        self.rng = random.Random(seed)
        self._docs = docs
        self._questions = [q for d in docs for q in d.questions]
        if not self._questions:
            raise ValueError("the corpus has no questions")
        self._asked_docs = tuple(d for d in docs if d.questions)
        self._sessions: list[_Session] = []  # open conversations, oldest first

    def interarrival(self, rate: float) -> float:
        """Seconds until the next arrival of a Poisson process with `rate` requests/s."""
        return self.rng.expovariate(rate)

    def next(self) -> Request:
        rng, mix = self.rng, self.mix
        tier = _pick(rng, mix.tiers)
        if rng.random() < mix.invalid_share:
            return self._invalid(tier)
        # agent_share is a fraction of all requests, so scale it to the valid ones left.
        team, headers = self._team()
        if rng.random() < mix.agent_share / (1.0 - mix.invalid_share):
            lo, hi = mix.max_steps
            task = {"task": agent_task(self._docs, rng), "user_tier": tier, "max_steps": rng.randint(lo, hi), **team}
            return Request(kind="agent", path="/v1/agent", body=task, tier=tier, feature="agent", team=_billed(team, headers), headers=headers)
        if mix.attack_share and rng.random() < mix.attack_share:
            return self._attack(tier, team, headers)
        off_topic = rng.random() < mix.off_topic_share
        # Off-topic questions stand alone; of the others, a scaled share are conversation turns,
        # so that conversation_share is a share of all /v1/ask requests.
        if not off_topic and rng.random() < mix.conversation_share / (1.0 - mix.off_topic_share):
            return self._conversation_turn(tier, team, headers)
        feature = _pick(rng, mix.features)
        question = rng.choice(OFF_TOPIC_QUESTIONS) if off_topic else paraphrase(rng.choice(self._questions), rng)
        stream = rng.random() < mix.stream_share
        body: dict[str, Any] = {"question": question, "user_tier": tier, "feature": feature, "stream": stream, **team}
        model = _pick(rng, mix.models)
        if model:
            body["model"] = model
        return Request(
            kind="ask", path="/v1/ask", body=body, tier=tier, feature=feature, stream=stream, off_topic=off_topic,
            team=_billed(team, headers), headers=headers,
        )

    def _attack(self, tier: str, team: dict[str, str], headers: dict[str, str]) -> Request:
        """A prompt injection or jailbreak sent as a question (the input guardrails refuse it with a 400)."""
        feature = _pick(self.rng, self.mix.features)
        body: dict[str, Any] = {"question": self.rng.choice(ATTACK_QUESTIONS), "user_tier": tier, "feature": feature, **team}
        return Request(kind="attack", path="/v1/ask", body=body, tier=tier, feature=feature, team=_billed(team, headers), headers=headers)

    # At most this many conversations are open at once; below it a turn starts a new one with
    # probability _START_SHARE (else it continues the oldest), so turns of a conversation are
    # spread between other requests, as a user reads an answer before asking again.
    _MAX_OPEN = 4
    _START_SHARE = 0.35

    def _conversation_turn(self, tier: str, team: dict[str, str], headers: dict[str, str]) -> Request:
        """The next turn of the oldest open conversation, or the first of a new one."""
        rng, mix = self.rng, self.mix
        if not self._sessions or (len(self._sessions) < self._MAX_OPEN and rng.random() < self._START_SHARE):
            doc = rng.choice(self._asked_docs)
            self._sessions.append(
                _Session(
                    # Hex digits and dashes: an id no masker mistakes for a card or phone number.
                    conversation_id=f"lg-{rng.getrandbits(48):012x}",
                    tier=tier,
                    feature=_pick(rng, mix.features),
                    team=team,
                    headers=headers,
                    questions=doc.questions,
                    turns=rng.randint(*mix.conversation_turns),
                    model=_pick(rng, mix.models),
                )
            )
            session = self._sessions[-1]
        else:
            session = self._sessions[0]
        session.sent += 1
        if session.sent >= session.turns:
            self._sessions.remove(session)
        stream = rng.random() < mix.stream_share
        body: dict[str, Any] = {
            "question": paraphrase(rng.choice(session.questions), rng), "user_tier": session.tier, "feature": session.feature,
            "stream": stream, "conversation_id": session.conversation_id, **session.team,
        }
        if session.model:
            body["model"] = session.model
        return Request(
            kind="ask", path="/v1/ask", body=body, tier=session.tier, feature=session.feature, stream=stream,
            team=_billed(session.team, session.headers), headers=session.headers,
            conversation_id=session.conversation_id, turn=session.sent,
        )

    def _team(self) -> tuple[dict[str, str], dict[str, str]]:
        """(body fields, headers) naming the request's team: the `team` field, or the team's demo key."""
        team = _pick(self.rng, self.mix.teams)
        if not team:
            return {}, {}
        key = DEMO_TEAM_KEYS.get(team)
        if key is not None and self.rng.random() < self.mix.key_share:
            return {}, {"Authorization": f"Bearer {key}"}
        return {"team": team}, {}

    def _invalid(self, tier: str) -> Request:
        """A request the app's validation must refuse (4xx), one of the mistakes clients make."""
        question = self.rng.choice(self._questions)
        bodies: list[tuple[str, dict[str, Any]]] = [
            ("/v1/ask", {"question": question, "user_tier": "platinum", "feature": "qa"}),  # unknown tier
            ("/v1/ask", {"question": "", "user_tier": tier, "feature": "qa"}),  # empty question
            ("/v1/ask", {"question": question, "user_tier": tier, "feature": "qa", "temperature": 3}),  # unknown field
            ("/v1/ask", {"question": question, "user_tier": tier, "feature": "translate"}),  # unknown feature
            ("/v1/ask", {"question": question, "user_tier": tier, "feature": "qa", "model": "gpt-9"}),  # unknown model
            ("/v1/ask", {"question": question, "user_tier": tier, "feature": "qa", "team": "Search Team"}),  # team not a slug
            ("/v1/agent", {"task": "Summarise the corpus", "user_tier": tier, "max_steps": 50}),  # out of range
        ]
        path, body = self.rng.choice(bodies)
        return Request(kind="invalid", path=path, body=body, tier=tier, feature=str(body.get("feature", "agent")))
