"""Guardrails (GUARDRAILS_FILE): deterministic input and output checks, each with an action.

One YAML file (default demo_app/data/guardrails.yaml) lists the guardrails. Each has a
`stage` (input: the question; output: the answer), an `action` (block, redact or flag) and
one way to detect:
  - `patterns`: kind -> case-insensitive regex (prompt injection, jailbreak phrases);
  - `detect`: masking kinds (email, card, api_key, bearer), the same regexes that
    demo_app/telemetry/masking.py removes from telemetry, with an optional `allow` list of
    regexes for matches that are fine (the help center's own support addresses);
  - `prompt_overlap_words`: the text repeats that many consecutive words of the system prompt.

Rules and patterns only, no model: every detection can be explained by its kind and count.
A `Detection` records what was found (kind -> count), never the text. Pure code like
demo_app/budgets.py: a bad file fails at load with a message naming the file and the key.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from demo_app.telemetry.masking import PATTERNS
from demo_app.yaml_file import problems, read_mapping

__all__ = [
    "ACTIONS",
    "DEFAULT_GUARDRAILS_FILE",
    "STAGES",
    "Detection",
    "Guardrail",
    "Guardrails",
    "GuardrailsError",
    "load_guardrails",
]

DEFAULT_GUARDRAILS_FILE = Path(__file__).resolve().parent / "data" / "guardrails.yaml"
STAGES = ("input", "output")
ACTIONS = ("block", "redact", "flag")
_MASKING = {kind: (pattern, replacement) for kind, pattern, replacement in PATTERNS}
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)?")

Stage = Literal["input", "output"]
Action = Literal["block", "redact", "flag"]
_Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]


class GuardrailsError(ValueError):
    """The guardrails file is missing, not YAML, or not a valid guardrails file."""


@dataclass(frozen=True)
class Detection:
    """What one guardrail found in one text: kind -> count (never the text itself)."""

    guardrail: str
    stage: Stage
    action: Action
    counts: dict[str, int]


class Guardrail(BaseModel):
    """One check: where it runs, what it does on a hit, and how it detects."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: _Name
    stage: Stage
    action: Action
    patterns: dict[_Name, str] = Field(default_factory=dict)
    detect: list[str] = Field(default_factory=list)
    allow: list[str] = Field(default_factory=list)
    prompt_overlap_words: int | None = Field(default=None, ge=4, le=100)

    @field_validator("patterns", "allow")
    @classmethod
    def _compiles(cls, value: dict[str, str] | list[str]) -> dict[str, str] | list[str]:
        for regex in value.values() if isinstance(value, dict) else value:
            try:
                re.compile(regex)
            except re.error as exc:
                raise ValueError(f"bad regex {regex!r}: {exc}") from None
        return value

    @field_validator("detect")
    @classmethod
    def _known_kinds(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(_MASKING))
        if unknown:
            raise ValueError(f"unknown kinds {unknown}; expected some of {sorted(_MASKING)}")
        return value

    @model_validator(mode="after")
    def _one_detector(self) -> Guardrail:
        used = [bool(self.patterns), bool(self.detect), self.prompt_overlap_words is not None]
        if sum(used) != 1:
            raise ValueError("give exactly one of patterns, detect, prompt_overlap_words")
        if self.action == "redact" and self.prompt_overlap_words is not None:
            raise ValueError("prompt_overlap_words cannot redact: use block or flag")
        return self

    def scan(self, text: str, system_prompt: str = "") -> tuple[dict[str, int], str]:
        """(kind -> count of what this guardrail finds in `text`, `text` with those redacted)."""
        if self.prompt_overlap_words is not None:
            found = _overlaps(text, system_prompt, self.prompt_overlap_words)
            return ({"system_prompt": 1} if found else {}), text
        counts: Counter[str] = Counter()
        allowed = [re.compile(regex, re.IGNORECASE) for regex in self.allow]
        for kind, regex in self.patterns.items():
            hits = len(re.findall(regex, text, re.IGNORECASE))
            if hits:
                counts[kind] += hits
        for kind in self.detect:
            pattern, replacement = _MASKING[kind]

            def _replace(match: re.Match[str], kind: str = kind, replacement: str = replacement) -> str:
                if any(a.search(match.group(0)) for a in allowed):
                    return match.group(0)
                counts[kind] += 1
                return replacement

            text = pattern.sub(_replace, text)
        return dict(counts), text


def _overlaps(text: str, prompt: str, run: int) -> bool:
    """True when `text` contains `run` consecutive words of `prompt` (case and punctuation ignored)."""
    words = _WORD.findall(prompt.lower())
    shingles = {tuple(words[i : i + run]) for i in range(len(words) - run + 1)}
    said = _WORD.findall(text.lower())
    return any(tuple(said[i : i + run]) in shingles for i in range(len(said) - run + 1))


class Guardrails(BaseModel):
    """The guardrails file: the checks, run in file order within a stage."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    guardrails: list[Guardrail]
    source: str = ""

    @model_validator(mode="after")
    def _unique(self) -> Guardrails:
        names = [g.name for g in self.guardrails]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"duplicate guardrail names {duplicated}")
        return self

    def check(self, stage: Stage, text: str, system_prompt: str = "") -> tuple[str, list[Detection]]:
        """Run the `stage` guardrails on `text`: (the text after redactions, what each one found).

        A flag or block detection leaves the text as it is; the caller decides what a block means.
        """
        detections: list[Detection] = []
        for guardrail in self.guardrails:
            if guardrail.stage != stage:
                continue
            counts, redacted = guardrail.scan(text, system_prompt)
            if counts:
                if guardrail.action == "redact":
                    text = redacted
                detections.append(Detection(guardrail.name, guardrail.stage, guardrail.action, counts))
        return text, detections


@cache
def load_guardrails(path: Path | str = DEFAULT_GUARDRAILS_FILE) -> Guardrails:
    """Read and validate a guardrails file (once per path); GuardrailsError names the file and the key."""
    path = Path(path)
    raw = read_mapping(
        path,
        GuardrailsError,
        reading="cannot read the guardrails file",
        shape="the top level must be a mapping with a `guardrails:` list",
    )
    try:
        return Guardrails.model_validate({**raw, "source": str(path)})
    except ValidationError as exc:
        raise GuardrailsError(f"{path}: {problems(exc)}") from None
