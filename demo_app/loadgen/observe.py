"""Talk to the stack over HTTP: inject faults, read Prometheus and Alertmanager, read the receiver.

Only public HTTP APIs are used (the simulator's /faults, Prometheus' /api/v1, Alertmanager's
/api/v2, the receiver's /alerts), so the same code works against the native stack and the
compose stack alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from demo_app.loadgen.catalogue import Fault, PromptRollout
from demo_app.stack_urls import StackUrls

__all__ = ["StackClient", "rfc3339", "parse_rfc3339", "READY_PATHS"]

# Readiness endpoint of each part (Prometheus and Alertmanager have their own).
READY_PATHS = {"app": "/healthz", "sim": "/healthz", "tools": "/healthz", "sink": "/healthz", "prometheus": "/-/ready", "alertmanager": "/-/ready"}
FAULT_TARGETS = ("sim", "tools")  # the parts with a /faults API (simulator, MCP tool server)


def rfc3339(ts: float) -> str:
    """Epoch seconds as RFC 3339 UTC with milliseconds (the receiver's `since` format)."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_rfc3339(text: str) -> float:
    """RFC 3339 (Z or offset, any fraction) to epoch seconds."""
    text = text.strip().replace("Z", "+00:00")
    # Go prints nanoseconds; Python parses at most microseconds.
    if "." in text:
        head, _, rest = text.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        text = f"{head}.{digits[:6]}{rest[len(digits):]}"
    return datetime.fromisoformat(text).timestamp()


class StackClient:
    """Async client for the stack's HTTP APIs; use as `async with StackClient(urls) as c:`."""

    def __init__(self, urls: StackUrls, timeout: float = 5.0) -> None:
        self.urls = urls
        self._http = httpx.AsyncClient(timeout=timeout)

    async def __aenter__(self) -> StackClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    async def _json(self, method: str, url: str, **kwargs: Any) -> Any:
        resp = await self._http.request(method, url, **kwargs)
        resp.raise_for_status()
        return resp.json() if resp.content else None

    # --- readiness -------------------------------------------------------------------
    async def not_ready(self) -> list[str]:
        """Names of the parts that do not answer their readiness endpoint (empty: all fine)."""
        missing = []
        for name, path in READY_PATHS.items():
            try:
                resp = await self._http.get(getattr(self.urls, name) + path)
                if not resp.is_success:
                    missing.append(f"{name} ({resp.status_code})")
            except httpx.HTTPError as exc:
                missing.append(f"{name} ({type(exc).__name__})")
        return missing

    # --- the fault APIs of the simulator and the MCP tool server -------------------------
    async def inject(self, fault: Fault, ttl_s: float) -> str:
        """POST /faults of the fault's target; returns the fault id. The TTL makes sure nothing stays broken."""
        created = await self._json("POST", f"{getattr(self.urls, fault.target)}/faults", json=fault.body(ttl_s))
        return str(created["id"])

    async def remove_fault(self, fault_id: str, target: str = "sim") -> None:
        resp = await self._http.delete(f"{getattr(self.urls, target)}/faults/{fault_id}")
        if resp.status_code not in (200, 204, 404):  # 404: it already expired
            resp.raise_for_status()

    async def clear_faults(self) -> None:
        for target in FAULT_TARGETS:
            resp = await self._http.delete(f"{getattr(self.urls, target)}/faults")
            resp.raise_for_status()

    async def faults(self, target: str = "sim") -> list[dict]:
        data = await self._json("GET", f"{getattr(self.urls, target)}/faults")
        return data.get("faults", []) if isinstance(data, dict) else list(data or [])

    # --- the app's prompt rollouts (demo_app/app/admin.py) ---------------------------------
    async def roll_out(self, rollout: PromptRollout, ttl_s: float) -> None:
        """Make the rollout's version live for `ttl_s` (the app reverts it by itself after that)."""
        await self._json("PUT", f"{self.urls.app}/admin/prompts/{rollout.name}", json=rollout.body(ttl_s))

    async def revert_prompt(self, name: str) -> None:
        await self._json("DELETE", f"{self.urls.app}/admin/prompts/{name}")

    async def revert_prompts(self) -> None:
        """End every timed rollout under way (one a killed run left)."""
        for prompt in await self._json("GET", f"{self.urls.app}/admin/prompts"):
            if prompt.get("reverts_in_s") is not None:
                await self.revert_prompt(prompt["name"])

    # --- Prometheus --------------------------------------------------------------------
    async def query(self, expr: str) -> list[dict]:
        """Instant query; the `result` list of a vector (each {metric, value})."""
        data = await self._json("GET", f"{self.urls.prometheus}/api/v1/query", params={"query": expr})
        result = data["data"]["result"]
        if data["data"]["resultType"] == "scalar":
            return [{"metric": {}, "value": result}]
        return result

    async def scalar(self, expr: str) -> float | None:
        """First value of an instant query, or None when it returns nothing (or NaN)."""
        result = await self.query(expr)
        if not result:
            return None
        value = float(result[0]["value"][1])
        return None if value != value else value  # NaN: no traffic in the window

    async def failed_llm_calls(self, window: str) -> float:
        """LLM calls that failed over the last `window` (e.g. "30s"), by the app's own metric."""
        return await self.scalar(f'sum(increase(gen_ai_client_operation_duration_seconds_count{{error_type!=""}}[{window}]))') or 0.0

    async def rule_alerts(self) -> list[dict]:
        """Prometheus' pending and firing alerts: [{labels, annotations, state, activeAt, value}]."""
        data = await self._json("GET", f"{self.urls.prometheus}/api/v1/alerts")
        return data["data"]["alerts"]

    async def prometheus_version(self) -> str:
        data = await self._json("GET", f"{self.urls.prometheus}/api/v1/status/buildinfo")
        return str(data["data"]["version"])

    # --- Alertmanager ------------------------------------------------------------------
    async def am_alerts(self) -> list[dict]:
        """Alertmanager's alerts, with status.state active|suppressed and status.inhibitedBy."""
        return await self._json("GET", f"{self.urls.alertmanager}/api/v2/alerts")

    async def alertmanager_version(self) -> str:
        data = await self._json("GET", f"{self.urls.alertmanager}/api/v2/status")
        return str(data["versionInfo"]["version"])

    # --- the alert receiver --------------------------------------------------------------
    async def notifications(self, alertname: str | None = None, since: float | None = None) -> list[dict]:
        """Webhook notifications the receiver got, oldest first, optionally filtered."""
        params: dict[str, str] = {}
        if alertname:
            params["alertname"] = alertname
        if since is not None:
            params["since"] = rfc3339(since)
        data = await self._json("GET", f"{self.urls.sink}/alerts", params=params)
        notes = data["notifications"]
        if since is not None:
            # Filter here too, so a receiver that ignores `since` cannot mislead us.
            notes = [n for n in notes if parse_rfc3339(n["received_at"]) >= since]
        return notes

    async def clear_notifications(self) -> None:
        resp = await self._http.delete(f"{self.urls.sink}/alerts")
        resp.raise_for_status()
