"""Send the traffic: Poisson arrivals, an async httpx client, bounded concurrency, bounded run.

Each `LoadStream` is an independent Poisson process with its own rate and mix, so a
scenario can lay a burst (say, free-tier requests well above the tier's limit) over a
steady background. Every run is bounded by a duration and/or a request count and by a
stop event, and waits for (or cancels) what is still in flight before it returns.
A conversation's turns (requests with the same `conversation_id`) go out in order: each waits
until the previous turn has been answered (or failed), as a user reads before asking again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter, deque
from dataclasses import dataclass, field

import httpx

from demo_app.loadgen.corpus import CorpusDoc
from demo_app.loadgen.mix import DEFAULT_MIX, Mix, Request, TrafficGenerator

__all__ = ["LoadStream", "Stats", "drive"]


@dataclass(frozen=True)
class LoadStream:
    """One Poisson arrival process: `rate` requests/s with `mix`, from `start_s` for `duration_s` (None: to the end)."""

    rate: float
    mix: Mix = DEFAULT_MIX
    start_s: float = 0.0
    duration_s: float | None = None
    name: str = "main"

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError(f"LoadStream {self.name!r}: rate must be > 0, got {self.rate}")


@dataclass
class Stats:
    """What the client saw: counts by outcome, latencies, cost, and a sample of trace ids."""

    sent: int = 0
    done: int = 0
    ok: int = 0
    rate_limited: int = 0  # 429 from the app (its own token bucket, or a provider 429 passed on)
    client_errors: int = 0  # other 4xx
    server_errors: int = 0  # 5xx
    transport_errors: int = 0  # timeouts, refused connections
    invalid_sent: int = 0  # deliberately malformed requests
    invalid_refused: int = 0  # ... that the app refused with a 4xx, as it should
    attacks_sent: int = 0  # prompt injections and jailbreaks (Mix.attack_share)
    attacks_blocked: int = 0  # ... that the input guardrails refused with a 400, as they should
    cost_usd: float = 0.0
    by_status: Counter = field(default_factory=Counter)
    latencies: deque = field(default_factory=lambda: deque(maxlen=20_000))
    trace_ids: deque = field(default_factory=lambda: deque(maxlen=2_000))
    started: float = field(default_factory=time.monotonic)

    @property
    def error_pct(self) -> float:
        """Share of finished requests that failed on the server side (5xx or no answer), in percent."""
        failed = self.server_errors + self.transport_errors
        return 100.0 * failed / self.done if self.done else 0.0

    @property
    def p95_s(self) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]

    def as_dict(self) -> dict:
        return {
            "sent": self.sent,
            "done": self.done,
            "ok": self.ok,
            "rate_limited": self.rate_limited,
            "client_errors": self.client_errors,
            "server_errors": self.server_errors,
            "transport_errors": self.transport_errors,
            "invalid_sent": self.invalid_sent,
            "invalid_refused": self.invalid_refused,
            "attacks_sent": self.attacks_sent,
            "attacks_blocked": self.attacks_blocked,
            "error_pct": round(self.error_pct, 2),
            "p95_s": None if self.p95_s is None else round(self.p95_s, 3),
            "cost_usd": round(self.cost_usd, 6),
            "by_status": {str(k): v for k, v in sorted(self.by_status.items(), key=lambda kv: str(kv[0]))},
        }


def _harvest(stats: Stats, payload: object) -> bool:
    """Pick trace id and cost out of a JSON answer (or one streamed event); True if it had a trace id."""
    if not isinstance(payload, dict):
        return False
    cost = payload.get("cost_usd")
    if isinstance(cost, (int, float)):
        stats.cost_usd += float(cost)
    trace_id = payload.get("trace_id")
    if isinstance(trace_id, str) and trace_id.strip("0"):
        stats.trace_ids.append(trace_id)
        return True
    return False


def _trace_from_headers(headers: httpx.Headers) -> str | None:
    """Trace id from `X-Trace-Id` or a W3C `traceresponse` header (00-<trace>-<span>-<flags>)."""
    if value := headers.get("x-trace-id"):
        return value
    parts = headers.get("traceresponse", "").split("-")
    return parts[1] if len(parts) == 4 else None


async def _send(client: httpx.AsyncClient, req: Request, stats: Stats, timeout: float) -> None:
    stats.sent += 1
    if req.kind == "invalid":
        stats.invalid_sent += 1
    elif req.kind == "attack":
        stats.attacks_sent += 1
    started = time.monotonic()
    found_trace = False
    status: int | str
    try:
        async with client.stream("POST", req.path, json=req.body, headers=dict(req.headers), timeout=timeout) as resp:
            status = resp.status_code
            if resp.headers.get("content-type", "").startswith("text/event-stream"):
                # Server-sent events: read to the end (that is when the user has the answer).
                async for line in resp.aiter_lines():
                    if line.startswith("data:"):
                        with contextlib.suppress(ValueError):
                            found_trace |= _harvest(stats, json.loads(line[5:].strip()))
            else:
                body = await resp.aread()
                if resp.is_success:
                    with contextlib.suppress(ValueError):
                        found_trace = _harvest(stats, json.loads(body))
            if resp.is_success and not found_trace:
                # No trace id in the body (some streams): fall back to the response headers.
                trace_id = _trace_from_headers(resp.headers)
                if trace_id:
                    stats.trace_ids.append(trace_id)
    except (httpx.TimeoutException, httpx.TransportError) as exc:
        status = type(exc).__name__
    stats.done += 1
    stats.by_status[status] += 1
    if isinstance(status, str):
        stats.transport_errors += 1
    elif 200 <= status < 300:
        stats.ok += 1
        stats.latencies.append(time.monotonic() - started)
    elif status == 429:
        stats.rate_limited += 1
    elif 400 <= status < 500:
        stats.client_errors += 1
        if req.kind == "invalid":
            stats.invalid_refused += 1
        elif req.kind == "attack" and status == 400:
            stats.attacks_blocked += 1
    else:
        stats.server_errors += 1


async def drive(
    app_url: str,
    streams: list[LoadStream],
    docs: tuple[CorpusDoc, ...],
    *,
    duration_s: float | None = None,
    count: int | None = None,
    seed: int | None = None,
    concurrency: int = 64,
    request_timeout_s: float = 60.0,
    stats: Stats | None = None,
    stop: asyncio.Event | None = None,
) -> Stats:
    """Send the streams' traffic to `app_url` until duration, count or `stop`; return the stats.

    At least one bound is required: a load generator that cannot stop by itself is a bug.
    Arrivals wait for a free slot when `concurrency` requests are already in flight, so an
    overloaded app slows the generator down instead of piling up sockets.
    """
    if duration_s is None and count is None and stop is None:
        raise ValueError("drive() needs duration_s, count or a stop event")
    stats = stats or Stats()
    stop = stop or asyncio.Event()
    slots = asyncio.Semaphore(concurrency)
    in_flight: set[asyncio.Task] = set()
    t0 = time.monotonic()
    deadline = t0 + duration_s if duration_s is not None else float("inf")

    # Counted here, when a request is launched: `stats.sent` only moves once the task runs,
    # so a fast stream could launch one request too many before it catches up.
    launched = 0

    def exhausted() -> bool:
        return stop.is_set() or time.monotonic() >= deadline or (count is not None and launched >= count)

    # The newest launched turn of each open conversation, which its next turn waits for.
    last_turn: dict[str, asyncio.Task] = {}

    async def release_after(req: Request, previous: asyncio.Task | None) -> None:
        try:
            if previous is not None:
                await asyncio.wait({previous})
            await _send(client, req, stats, request_timeout_s)
        finally:
            slots.release()
            if req.conversation_id and last_turn.get(req.conversation_id) is asyncio.current_task():
                del last_turn[req.conversation_id]

    def launch(req: Request) -> asyncio.Task:
        previous = last_turn.get(req.conversation_id) if req.conversation_id else None
        task = asyncio.create_task(release_after(req, previous))
        if req.conversation_id:
            last_turn[req.conversation_id] = task
        return task

    async def run_stream(index: int, stream: LoadStream) -> None:
        nonlocal launched
        gen = TrafficGenerator(docs, stream.mix, seed=None if seed is None else seed * 1000 + index)
        begin = t0 + stream.start_s
        end = begin + stream.duration_s if stream.duration_s is not None else float("inf")
        next_at = begin + gen.interarrival(stream.rate)
        while True:
            wait = next_at - time.monotonic()
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=wait)
            if exhausted() or time.monotonic() >= end:
                return
            await slots.acquire()
            if exhausted():
                slots.release()
                return
            launched += 1
            task = launch(gen.next())
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            # Schedule from the planned time, not from now, so the mean rate holds.
            next_at = max(next_at + gen.interarrival(stream.rate), time.monotonic() - 1.0)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=app_url, limits=limits, timeout=request_timeout_s) as client:
        await asyncio.gather(*(run_stream(i, s) for i, s in enumerate(streams)))
        if in_flight:
            # Let the last requests finish, then give up on them: bounded by their own timeout
            # after a natural end, by a short grace when someone asked us to stop (Ctrl-C).
            grace = min(request_timeout_s, 10.0) if stop.is_set() else request_timeout_s
            _, pending = await asyncio.wait(set(in_flight), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
    return stats
