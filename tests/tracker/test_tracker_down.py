"""With the error tracker down, the app keeps answering: no request ever waits on it.

The SDK only enqueues an event; its own thread sends it, through a bounded queue. Two ways
of being down, each with failing requests that would all send an event:
  - stopped: the port refuses connections;
  - hung: something accepts connections on the port and never answers, so a sender would
    wait until its own timeout (checked here first: a plain POST to it times out).
Every request must be answered, each well inside a bound that a request waiting on the
tracker could not meet. The bound is about waiting, not speed (a busy CI machine is fine);
`python -m bench` style latency ratios belong in bench/, not here.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from demo_app.native import NativeStack
from tests.tracker.conftest import SENTRY_QUEUE_SIZE, TrackerApi

pytestmark = pytest.mark.e2e

FAILING_REQUESTS = 3 * SENTRY_QUEUE_SIZE  # more events than the SDK's queue holds: it fills up and drops
HUNG_WAIT_S = 3.0  # how long the check below lets a plain sender wait on the hung tracker
ANSWER_BOUND_S = 10.0  # per request; a request that waited on a hung tracker would not answer at all


def _fail_requests(stack: NativeStack, count: int) -> list[float]:
    """`count` /v1/ask calls with every LLM call failing; each one's duration (all must be 502)."""
    httpx.post(f"{stack.urls.sim}/faults", json={"kind": "error", "rate": 1.0, "ttl_s": 300}, timeout=5.0).raise_for_status()
    durations = []
    try:
        with httpx.Client(base_url=stack.urls.app, timeout=ANSWER_BOUND_S) as client:
            for i in range(count):
                started = time.monotonic()
                response = client.post("/v1/ask", json={"question": f"question {i}", "feature": "qa", "user_tier": "enterprise"})
                durations.append(time.monotonic() - started)
                assert response.status_code == 502, response.text
    finally:
        httpx.delete(f"{stack.urls.sim}/faults", timeout=5.0)
    return durations


@pytest.fixture(scope="module")
def stopped_tracker(tracker_stack: NativeStack, tracker_api: TrackerApi) -> NativeStack:
    """The stack after one event reached the tracker (so the SDK is known to send) and the tracker stopped."""
    _fail_requests(tracker_stack, 1)
    tracker_api.event_with_tag("service", "demo-app")
    tracker_stack.procs["tracker"].stop()
    assert not tracker_stack.procs["tracker"].alive()
    return tracker_stack


@pytest.fixture
def hung_tracker(stopped_tracker: NativeStack) -> Iterator[socket.socket]:
    """A listener on the tracker's port that never accepts: connections hang instead of failing."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", stopped_tracker.ports["tracker"]))
    sock.listen(1)
    yield sock
    sock.close()


def test_app_answers_with_the_tracker_stopped(stopped_tracker: NativeStack) -> None:
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{stopped_tracker.url('tracker')}/health/ready", timeout=2.0)
    durations = _fail_requests(stopped_tracker, FAILING_REQUESTS)
    assert len(durations) == FAILING_REQUESTS and max(durations) < ANSWER_BOUND_S
    assert httpx.get(f"{stopped_tracker.urls.app}/healthz", timeout=5.0).is_success


def test_app_answers_with_the_tracker_hung(stopped_tracker: NativeStack, hung_tracker: socket.socket) -> None:
    # The hang is real: a sender that waits for the tracker gets nothing back.
    with pytest.raises(httpx.TimeoutException):
        httpx.post(f"{stopped_tracker.url('tracker')}/api/1/envelope/", content=b"{}", timeout=HUNG_WAIT_S)
    durations = _fail_requests(stopped_tracker, FAILING_REQUESTS)
    assert len(durations) == FAILING_REQUESTS and max(durations) < ANSWER_BOUND_S
