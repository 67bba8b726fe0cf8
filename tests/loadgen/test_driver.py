"""The driver sends what the mix says, counts every outcome, keeps to its bounds and its concurrency."""

from __future__ import annotations

import asyncio
import time

import pytest

from demo_app.loadgen.driver import LoadStream, drive
from demo_app.loadgen.mix import DEFAULT_MIX


def run(coro):
    return asyncio.run(coro)


def test_count_bound_stops_the_run_and_every_outcome_is_counted(stub_app, docs):
    stub_app.reset([200, 429, 500, 422, 200])
    stats = run(drive(stub_app.url, [LoadStream(rate=200.0)], docs, count=50, seed=1))
    assert stats.sent == stats.done == len(stub_app.seen) == 50
    answered = stub_app.answered
    assert stats.ok == answered.count(200)
    assert stats.rate_limited == answered.count(429)
    assert stats.server_errors == answered.count(500)
    assert stats.client_errors == answered.count(422)
    assert stats.transport_errors == 0


def test_trace_ids_and_cost_come_from_json_and_streamed_answers(stub_app, docs):
    stub_app.reset([200])
    mix = DEFAULT_MIX.replace(stream_share=0.5, agent_share=0.0, invalid_share=0.0)
    stats = run(drive(stub_app.url, [LoadStream(rate=200.0, mix=mix)], docs, count=40, seed=2))
    streamed = sum(1 for body in stub_app.seen if body.get("stream"))
    assert 0 < streamed < 40
    assert len(stats.trace_ids) == 40
    assert stats.cost_usd == pytest.approx(0.04)


def test_duration_bound_and_poisson_rate(stub_app, docs):
    stub_app.reset([200])
    t0 = time.monotonic()
    stats = run(drive(stub_app.url, [LoadStream(rate=40.0)], docs, duration_s=3.0, seed=3))
    assert time.monotonic() - t0 < 6.0
    assert 80 <= stats.sent <= 160  # 120 expected; Poisson spread at 3 s is about +-11


def test_concurrency_is_bounded(stub_app, docs):
    stub_app.reset([200], delay_s=0.2)
    run(drive(stub_app.url, [LoadStream(rate=300.0)], docs, count=30, concurrency=5, seed=4))
    assert stub_app.max_in_flight == 5  # reached, never exceeded


def test_streams_overlay_with_their_own_mix_and_window(stub_app, docs):
    stub_app.reset([200])
    burst = LoadStream(rate=60.0, mix=DEFAULT_MIX.replace(tiers={"free": 1.0}, invalid_share=0.0), start_s=1.0, duration_s=1.0, name="burst")
    background = LoadStream(rate=10.0, mix=DEFAULT_MIX.replace(tiers={"enterprise": 1.0}, invalid_share=0.0))
    run(drive(stub_app.url, [background, burst], docs, duration_s=3.0, seed=5))
    tiers = [b["user_tier"] for b in stub_app.seen]
    assert 30 <= tiers.count("free") <= 95 and 10 <= tiers.count("enterprise") <= 55


def test_stop_event_ends_the_run_early(stub_app, docs):
    stub_app.reset([200])

    async def scenario():
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(0.5, stop.set)
        return await drive(stub_app.url, [LoadStream(rate=20.0)], docs, duration_s=60, stop=stop)

    t0 = time.monotonic()
    run(scenario())
    assert time.monotonic() - t0 < 3.0


def test_unreachable_app_counts_transport_errors(docs):
    stats = run(drive("http://127.0.0.1:9", [LoadStream(rate=100.0)], docs, count=5, request_timeout_s=2))
    assert stats.transport_errors == 5 and stats.error_pct == 100.0


def test_a_run_without_any_bound_is_refused(docs):
    with pytest.raises(ValueError):
        run(drive("http://127.0.0.1:9", [LoadStream(rate=1.0)], docs))


def test_a_conversations_turns_go_out_one_after_the_other(stub_app, docs):
    stub_app.reset([200], delay_s=0.05)
    mix = DEFAULT_MIX.replace(conversation_share=0.9, off_topic_share=0.0, agent_share=0.0, invalid_share=0.0)
    run(drive(stub_app.url, [LoadStream(rate=200.0, mix=mix)], docs, count=60, seed=6))
    by_conversation: dict[str, list[str]] = {}
    for step, cid in stub_app.conversation_log:
        by_conversation.setdefault(cid, []).append(step)
    assert len(by_conversation) >= 5
    # At 200 requests/s and 50 ms per answer, turns would overlap if the driver did not wait.
    for cid, steps in by_conversation.items():
        assert steps == ["in", "out"] * (len(steps) // 2), (cid, steps)
