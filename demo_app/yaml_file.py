"""Reading the app's YAML settings files (models, budgets, guardrails, prompts) the same way.

Each file type has its own schema and error class; what they share is how a file that cannot
be used is reported: the message starts with the file's path and names the bad key, so a typo
stops the process at start with one line that says where to look. Pure code: no telemetry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

__all__ = ["problems", "read_mapping"]

Loc = tuple[int | str, ...]


def read_mapping(path: Path, error: type[ValueError], *, reading: str, shape: str) -> Mapping[str, Any]:
    """The file's top-level mapping; else `error("{path}: ...")`.

    `reading` names the file in a read/parse failure ("cannot read the budgets file"), `shape`
    says what the top level must be when it is not a mapping.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise error(f"{path}: {reading}: {exc}") from None
    if not isinstance(data, Mapping):
        raise error(f"{path}: {shape}")
    return data


def problems(exc: ValidationError, loc: Callable[[Loc], Loc] = lambda loc: loc) -> str:
    """One line for all of pydantic's errors: `key.path: message; ...`.

    Our validators name the key themselves, so pydantic's "Value error, " prefix is dropped;
    `loc` may rewrite a location into the keys as the file spells them.
    """
    return "; ".join(_problem(loc(e["loc"]), e["msg"]) for e in exc.errors())


def _problem(loc: Loc, msg: str) -> str:
    msg = msg.removeprefix("Value error, ")
    return f"{'.'.join(str(p) for p in loc)}: {msg}" if loc else msg
