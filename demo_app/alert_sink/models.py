"""The Alertmanager webhook payload (version 4) as it arrives, and as GET /alerts returns it.

The incoming models mirror Alertmanager's webhook documentation and refuse anything else,
so a garbage POST is a 422 instead of a half-stored entry. Timestamps stay the strings
Alertmanager wrote (RFC 3339 with up to nanoseconds, `0001-01-01T00:00:00Z` for "not
ended"): the receiver echoes them, it does not reinterpret them. Field names are
Alertmanager's own JSON keys, camelCase included (startsAt, generatorURL, ...).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["WebhookAlert", "WebhookPayload", "StoredAlert", "StoredNotification", "AlertsPage"]

Status = Literal["firing", "resolved"]
_LabelMap = dict[str, str]
_RFC3339 = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"


class WebhookAlert(BaseModel):
    """One alert inside a notification."""

    model_config = ConfigDict(extra="ignore")

    status: Status
    labels: _LabelMap
    annotations: _LabelMap = Field(default_factory=dict)
    startsAt: str = Field(pattern=_RFC3339)
    endsAt: str = Field(pattern=_RFC3339)
    generatorURL: str = ""
    fingerprint: str = ""


class WebhookPayload(BaseModel):
    """A notification as Alertmanager posts it (webhook payload version 4)."""

    model_config = ConfigDict(extra="ignore")

    version: Literal["4"]
    groupKey: str
    truncatedAlerts: int = Field(default=0, ge=0)
    status: Status
    receiver: str
    groupLabels: _LabelMap = Field(default_factory=dict)
    commonLabels: _LabelMap = Field(default_factory=dict)
    commonAnnotations: _LabelMap = Field(default_factory=dict)
    externalURL: str = ""
    alerts: list[WebhookAlert] = Field(min_length=1, max_length=10_000)

    def alertnames(self) -> list[str]:
        """Distinct alert names in this notification, in order of appearance."""
        return list(dict.fromkeys(a.labels.get("alertname", "") for a in self.alerts))


class StoredAlert(BaseModel):
    """One alert as GET /alerts returns it."""

    status: Status
    labels: _LabelMap
    annotations: _LabelMap
    startsAt: str
    endsAt: str
    fingerprint: str


class StoredNotification(BaseModel):
    """One received notification as GET /alerts returns it."""

    received_at: datetime
    status: Status
    receiver: str
    groupKey: str
    groupLabels: _LabelMap
    commonLabels: _LabelMap
    alerts: list[StoredAlert]

    @classmethod
    def from_payload(cls, payload: WebhookPayload, received_at: datetime) -> StoredNotification:
        return cls(
            received_at=received_at,
            status=payload.status,
            receiver=payload.receiver,
            groupKey=payload.groupKey,
            groupLabels=payload.groupLabels,
            commonLabels=payload.commonLabels,
            alerts=[
                StoredAlert(
                    status=a.status,
                    labels=a.labels,
                    annotations=a.annotations,
                    startsAt=a.startsAt,
                    endsAt=a.endsAt,
                    fingerprint=a.fingerprint,
                )
                for a in payload.alerts
            ],
        )

    def has_alert(self, alertname: str) -> bool:
        return any(a.labels.get("alertname") == alertname for a in self.alerts)


class AlertsPage(BaseModel):
    """The body of GET /alerts."""

    count: int
    notifications: list[StoredNotification]
