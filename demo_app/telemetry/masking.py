"""Remove secrets and personal data (API keys, bearer tokens, e-mails, card numbers) from any value.

A pure function with no dependencies on the rest of the app, so it can be tested alone and
reused anywhere text leaves the process: log events, span attributes, span events.
Masking is deliberately greedy - a false positive costs a few characters of a log line, a
false negative leaks a customer's secret into three storage backends.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["mask", "mask_text", "REDACTIONS"]

# Order matters: e-mails first, so an address whose local part looks like a key
# ("sk-test-12345678@corp.com") disappears whole instead of leaving its domain behind.
# Every pattern is bounded by "not a letter or digit" on the left so that ordinary words
# ("task-12345678", hex trace ids) are not eaten.
_PATTERNS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    (
        "email",
        re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"),
        "[REDACTED_EMAIL]",
    ),
    # OpenAI-style keys: sk-..., sk-proj-..., sk-svcacct-...; 8+ key characters so that
    # the bare word "sk-" in prose is left alone.
    ("api_key", re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_\-]{8,}"), "[REDACTED_API_KEY]"),
    # "Bearer <token>" in any case, as found in a logged Authorization header.
    ("bearer", re.compile(r"(?i)(?<![A-Za-z0-9])bearer\s+[A-Za-z0-9._~+/=\-]+"), "Bearer [REDACTED_TOKEN]"),
    # Card-like numbers: 13-19 digits, optionally grouped by single spaces or dashes. No Luhn
    # check on purpose: a mistyped card number is still a card number.
    ("card", re.compile(r"(?<![A-Za-z0-9])\d(?:[ \-]?\d){12,18}(?![A-Za-z0-9])"), "[REDACTED_CARD]"),
)

REDACTIONS: dict[str, str] = {name: replacement for name, _, replacement in _PATTERNS}


def mask_text(text: str) -> str:
    """Return `text` with every secret-looking substring replaced by a fixed marker."""
    for _, pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def mask(value: Any) -> Any:
    """Mask strings anywhere inside `value` (str, dict keys and values, list, tuple, set).

    Other types (numbers, booleans, None, objects) are returned unchanged: they cannot carry
    free text once rendered, except through their own str(), which callers mask separately.
    """
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {mask(k): mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    if isinstance(value, tuple):
        return tuple(mask(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return type(value)(mask(v) for v in value)
    return value
