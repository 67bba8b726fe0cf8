"""Staging a scenario's faults and prompt rollouts: a ready stack with no leftovers, each staged with a TTL and always undone."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from typing import Any

from demo_app.loadgen.catalogue import Fault, PromptRollout
from demo_app.loadgen.display import Display
from demo_app.loadgen.observe import StackClient

__all__ = ["StagedFaults", "prepare_stack", "fault_ttl_s"]

TTL_MARGIN_S = 60.0  # how long an injected fault outlives the run if this process dies


def fault_ttl_s(run_for_s: float) -> float:
    """The TTL outlives the run by a margin only: if this process dies, the fault still goes."""
    return run_for_s + TTL_MARGIN_S


async def prepare_stack(client: StackClient) -> None:
    """Fail unless every part answers; remove faults a killed run may have left (until their TTL)."""
    missing = await client.not_ready()
    if missing:
        raise RuntimeError(f"stack not ready: {', '.join(missing)} (checked {client.urls.as_dict()})")
    await client.clear_faults()  # a fault left by a killed run (until its TTL) would skew this one
    await client.revert_prompts()  # so would a prompt rollout it left live


class StagedFaults:
    """The scenario's faults (simulator, tool server): `inject()` them, then `remove()` them in a `finally`."""

    def __init__(
        self, client: StackClient, faults: Sequence[Fault], ttl_s: float, display: Display, rollouts: Sequence[PromptRollout] = ()
    ) -> None:
        self._client, self._faults, self._ttl_s, self._display = client, faults, ttl_s, display
        self._rollouts = rollouts
        self._rolled_out: list[str] = []
        self._ids: list[tuple[str, str]] = []  # (target, fault id)
        self.bodies: list[dict[str, Any]] = []  # what was injected, for the result record

    async def inject(self) -> None:
        for fault in self._faults:
            self._ids.append((fault.target, await self._client.inject(fault, self._ttl_s)))
            self.bodies.append(fault.body(self._ttl_s))
            self._display.event(f"injected {fault.body(self._ttl_s)}")
        for rollout in self._rollouts:
            await self._client.roll_out(rollout, self._ttl_s)
            self._rolled_out.append(rollout.name)
            self.bodies.append({"prompt": rollout.name, **rollout.body(self._ttl_s)})
            self._display.event(f"rolled out prompt {rollout.name} {rollout.version} (reverts by itself in {rollout.body(self._ttl_s)['ttl_s']} s)")

    async def remove(self) -> float:
        """Remove what was injected (errors ignored: each also expires by its TTL); returns when (epoch s)."""
        for target, fault_id in self._ids:
            with contextlib.suppress(Exception):
                await self._client.remove_fault(fault_id, target)
        for name in self._rolled_out:
            with contextlib.suppress(Exception):
                await self._client.revert_prompt(name)
        return time.time()
