"""Remove secrets and personal data (API keys, bearer tokens, e-mails, card numbers) from any value.

A pure function with no dependencies on the rest of the app, so it can be tested alone and
reused anywhere text leaves the process: log events, span attributes, span events.
Masking is deliberately greedy - a false positive costs a few characters of a log line, a
false negative leaks a customer's secret into three storage backends.

It runs on every log field and every exported span attribute, and almost none of them hold
a secret, so the common case is made cheap: a text that cannot match any pattern (checked
with substring tests and one regex search) is returned as it is, and a container whose
strings are all clean is returned itself, not copied.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["mask", "mask_text", "contains_secret", "PATTERNS", "REDACTIONS"]

# Order matters: e-mails first, so an address whose local part looks like a key
# ("sk-test-12345678@corp.com") disappears whole instead of leaving its domain behind.
# Every pattern is bounded by "not a letter or digit" on the left so that ordinary words
# ("task-12345678", hex trace ids) are not eaten.
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
# OpenAI-style keys: sk-..., sk-proj-..., sk-svcacct-...; 8+ key characters so that the bare
# word "sk-" in prose is left alone.
_API_KEY = re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_\-]{8,}")
# "Bearer <token>" in any case, as found in a logged Authorization header.
_BEARER = re.compile(r"(?i)(?<![A-Za-z0-9])bearer\s+[A-Za-z0-9._~+/=\-]+")
# Card-like numbers: 13-19 digits, optionally grouped by single spaces or dashes. No Luhn
# check on purpose: a mistyped card number is still a card number.
_CARD = re.compile(r"(?<![A-Za-z0-9])\d(?:[ \-]?\d){12,18}(?![A-Za-z0-9])")

# (kind, pattern, replacement); public so that the guardrails (demo_app/guardrails.py) detect
# exactly what masking removes, from one set of regexes.
PATTERNS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("email", _EMAIL, "[REDACTED_EMAIL]"),
    ("api_key", _API_KEY, "[REDACTED_API_KEY]"),
    ("bearer", _BEARER, "Bearer [REDACTED_TOKEN]"),
    ("card", _CARD, "[REDACTED_CARD]"),
)

REDACTIONS: dict[str, str] = {name: replacement for name, _, replacement in PATTERNS}

# The fewest characters each pattern can match: an e-mail "a@b.co", a bearer token
# "bearer x" (the word, one space, one character), a card number 13 digits.
# (The shortest key, "sk-" and 8 characters, is longer than the shortest e-mail.)
_SHORTEST_SECRET = 6
_SHORTEST_BEARER = 8
_SHORTEST_CARD = 13

# Types that cannot carry text: returned before any other check (they are most values).
_SCALARS = (int, float, bool, type(None))
# Containers `mask` may hand back unchanged when clean; other Mappings become plain dicts.
_PLAIN_CONTAINERS = (dict, list, tuple, set, frozenset)


def _text_has_secret(text: str) -> bool:
    """True when at least one pattern matches `text` (so `mask_text` would change it).

    Each test is a necessary condition of one pattern: an e-mail needs "@", a key "sk-",
    a bearer token the word "bearer" in some case (str.lower() folds exactly the letters
    the regex's IGNORECASE does for b, e, a, r), a card number the card pattern itself;
    and each pattern needs a minimum length, so most short values (ids, model names,
    methods) are settled by len() alone. The cheap tests run first; one combined regex
    would be slower, as an alternation loses each pattern's own fast scan.
    """
    size = len(text)
    if size < _SHORTEST_SECRET:
        return False
    return (
        ("@" in text and _EMAIL.search(text) is not None)
        or ("sk-" in text and _API_KEY.search(text) is not None)
        or (size >= _SHORTEST_BEARER and "bearer" in text.lower() and _BEARER.search(text) is not None)
        or (size >= _SHORTEST_CARD and _CARD.search(text) is not None)
    )


def mask_text(text: str) -> str:
    """Return `text` with every secret-looking substring replaced by a fixed marker (`text` itself if none)."""
    if not _text_has_secret(text):
        return text
    for _, pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def contains_secret(value: Any) -> bool:
    """True when `mask(value)` would change something: a string anywhere inside matches a pattern."""
    if isinstance(value, str):
        return _text_has_secret(value)
    if type(value) in _SCALARS:  # most span attributes that are not text: ports, counts, codes
        return False
    if isinstance(value, Mapping):
        return any(contains_secret(k) or contains_secret(v) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(contains_secret(v) for v in value)
    return False


def mask(value: Any) -> Any:
    """Mask strings anywhere inside `value` (str, dict keys and values, list, tuple, set).

    Other types (numbers, booleans, None, objects) are returned unchanged: they cannot carry
    free text once rendered, except through their own str(), which callers mask separately.
    A value with nothing to mask is returned as it is (no copy); otherwise a masked copy.
    """
    if type(value) in _SCALARS:
        return value
    if isinstance(value, str):
        return mask_text(value)
    if type(value) in _PLAIN_CONTAINERS and not contains_secret(value):
        return value
    if isinstance(value, Mapping):
        return {mask(k): mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    if isinstance(value, tuple):
        return tuple(mask(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return type(value)(mask(v) for v in value)
    return value
