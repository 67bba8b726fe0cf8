"""Run the guardrails of one stage on a text, with their span, counter and log line.

Each stage's check is one `apply_guardrail {stage}` span (GenAI semconv v1.41 and
semantic-conventions-genai v0.1.0 name no guardrail operation yet, so its attributes are ours:
`app.guardrail.*`), one `llmapp_guardrail_detections_total` increment per guardrail that
found something, and one "guardrail triggered" log line per such guardrail. All three carry
what was found (guardrail, action, kinds and counts), never the text.
"""

from __future__ import annotations

from demo_app.app.services import Services
from demo_app.guardrails import Detection, Stage
from demo_app.telemetry import get_logger, set_attributes

__all__ = ["GuardrailBlocked", "guard"]

_log = get_logger()


class GuardrailBlocked(Exception):
    """A guardrail whose action is block found something; `detections` says what (no text)."""

    def __init__(self, stage: Stage, detections: list[Detection]) -> None:
        super().__init__(f"blocked by the {stage} guardrails: {', '.join(d.guardrail for d in detections)}")
        self.stage, self.detections = stage, detections


def guard(services: Services, stage: Stage, text: str, feature: str, system_prompt: str = "") -> str:
    """`text` after the `stage` guardrails' redactions; GuardrailBlocked when one of them blocks."""
    tracer = services.tel.tracer("demo_app.app.guard")
    with tracer.start_as_current_span(f"apply_guardrail {stage}") as span:
        text, detections = services.settings.guardrails.check(stage, text, system_prompt)
        counter = services.tel.metric("llmapp_guardrail_detections_total")
        for d in detections:
            counter.labels(guardrail=d.guardrail, stage=stage, action=d.action).inc()
            _log.info("guardrail triggered", guardrail=d.guardrail, stage=stage, action=d.action, feature=feature,
                      kinds=sorted(d.counts), count=sum(d.counts.values()))
        blocked = [d for d in detections if d.action == "block"]
        set_attributes(span, {
            "app.guardrail.stage": stage,
            "app.guardrail.names": [d.guardrail for d in detections],
            "app.guardrail.actions": [d.action for d in detections],
            "app.guardrail.kinds": sorted({k for d in detections for k in d.counts}),
            "app.guardrail.detections": sum(sum(d.counts.values()) for d in detections),
            "app.guardrail.blocked": bool(blocked),
        })
    if blocked:
        raise GuardrailBlocked(stage, blocked)
    return text
