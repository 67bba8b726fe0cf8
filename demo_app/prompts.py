"""Versioned prompt templates: one YAML file per (name, version) under demo_app/data/prompts/.

Pure code: no telemetry, no app imports (the telemetry contract reads it too: the versions the
files define are the only values of the `prompt_version` metric label). Each file holds `name` (a feature: qa, summarize,
support), `version` and `text` (the feature's instructions). The files are read and checked
once, at start, so a broken file stops the app with the file's path in the message instead of
failing the first request that needs it. Which version is live per name is the library's
state, changed only through `select` (which refuses versions that are not in the files).

A selection may be timed (`ttl_s`): a rollout that reverts by itself to the version live
before it, checked on each access, so a rollout script that dies never leaves a bad version
live for good (the load scenarios use it as they use the simulator's fault TTLs); `revert`
ends a timed rollout at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from threading import Lock

from demo_app.yaml_file import read_mapping

__all__ = ["DEFAULT_PROMPTS_DIR", "Prompt", "PromptError", "PromptLibrary", "load_prompts"]

DEFAULT_PROMPTS_DIR = Path(__file__).resolve().parent / "data" / "prompts"
_KEYS = frozenset({"name", "version", "text"})


class PromptError(ValueError):
    """A prompt file that cannot be used, or a name/version that no file defines."""


@dataclass(frozen=True, slots=True)
class Prompt:
    """One version of one prompt template."""

    name: str
    version: str
    text: str


class PromptLibrary:
    """Every prompt version read from the files, and the live version of each name."""

    def __init__(self, prompts: Iterable[Prompt], clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = Lock()
        # name -> (the version to go back to, when): the timed rollouts under way.
        self._reverts: dict[str, tuple[Prompt, float]] = {}
        self._versions: dict[str, dict[str, Prompt]] = {}
        for prompt in prompts:
            versions = self._versions.setdefault(prompt.name, {})
            if prompt.version in versions:
                raise PromptError(f"prompt {prompt.name!r} version {prompt.version!r} is defined twice")
            versions[prompt.version] = prompt
        # Until a version is selected, the live one is the first in sorted order: with one
        # file per name (the shipped state) that is simply the only one.
        self._live = {name: versions[min(versions)] for name, versions in self._versions.items()}

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._versions))

    def versions(self, name: str) -> tuple[str, ...]:
        """Versions the files define for `name` (the only values a prompt_version may take)."""
        return tuple(sorted(self._versions_of(name)))

    def all_versions(self) -> tuple[str, ...]:
        """Every version any name defines, sorted (the contract's `prompt_version` values)."""
        return tuple(sorted({v for versions in self._versions.values() for v in versions}))

    def live(self, name: str) -> Prompt:
        self._versions_of(name)
        if name in self._reverts:
            with self._lock:
                previous, at = self._reverts.get(name, (None, 0.0))
                if previous is not None and self._clock() >= at:
                    self._live[name] = previous
                    del self._reverts[name]
        return self._live[name]

    def reverts_in(self, name: str) -> float | None:
        """Seconds until a timed rollout of `name` reverts (None: the live version is not timed)."""
        self.live(name)
        pending = self._reverts.get(name)
        return None if pending is None else max(0.0, pending[1] - self._clock())

    def select(self, name: str, version: str, ttl_s: float | None = None) -> Prompt:
        """Make `version` the live one for `name`, for good or (`ttl_s`) for that long.

        Unknown names or versions list the valid ones. A timed selection made during another
        goes back to the version live before the first one.
        """
        versions = self._versions_of(name)
        if version not in versions:
            raise PromptError(f"prompt {name!r} has no version {version!r}; expected one of {', '.join(sorted(versions))}")
        current = self.live(name)
        with self._lock:
            if ttl_s is None:
                self._reverts.pop(name, None)
            else:
                previous = self._reverts[name][0] if name in self._reverts else current
                self._reverts[name] = (previous, self._clock() + ttl_s)
            self._live[name] = versions[version]
        return versions[version]

    def revert(self, name: str) -> Prompt:
        """End a timed rollout of `name` now (no-op when there is none); returns the live version."""
        self._versions_of(name)
        with self._lock:
            pending = self._reverts.pop(name, None)
            if pending is not None:
                self._live[name] = pending[0]
        return self._live[name]

    def _versions_of(self, name: str) -> dict[str, Prompt]:
        try:
            return self._versions[name]
        except KeyError:
            raise PromptError(f"unknown prompt {name!r}; expected one of {', '.join(self.names())}") from None


def _read(path: Path) -> Prompt:
    expected = "expected exactly the keys name, version, text"
    raw = read_mapping(path, PromptError, reading="cannot read the prompt file", shape=f"{expected}; got no mapping")
    if set(raw) != _KEYS:
        raise PromptError(f"{path}: {expected}; got {sorted(raw)}")
    empty = [key for key in sorted(_KEYS) if not isinstance(raw[key], str) or not raw[key].strip()]
    if empty:
        raise PromptError(f"{path}: {', '.join(empty)} must be non-empty strings")
    return Prompt(name=raw["name"], version=raw["version"], text=raw["text"].strip())


def load_prompts(directory: Path = DEFAULT_PROMPTS_DIR, required: Iterable[str] = ()) -> PromptLibrary:
    """Read every *.yaml in `directory`; each name in `required` must have at least one version."""
    paths = sorted(directory.glob("*.yaml"))
    library = PromptLibrary(_read(path) for path in paths)
    missing = [name for name in required if name not in library.names()]
    if missing:
        raise PromptError(f"{directory}: no prompt file for {', '.join(missing)}")
    return library
