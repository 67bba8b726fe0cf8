"""The model catalogue (LLM_MODELS_FILE): every model the app may call, its provider, price and place in the fallback chain.

One YAML file is the only list of models: the settings (MODEL_*), the API's `model` field, the
price table, the fallback chain and the contract's model and provider labels all derive from
it. Three catalogues are bundled in demo_app/data/models/: `simulator.yaml` (the default),
`openai.yaml` and `ollama.yaml`.

Pure code: it imports nothing of the app, so the contract, the settings and the tools may all
use it. A bad file fails at load with a message naming the file and the key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from demo_app.yaml_file import problems, read_mapping

__all__ = [
    "BUNDLED_CATALOGUES",
    "DEFAULT_MODELS_FILE",
    "ENV_VAR",
    "Catalogue",
    "CatalogueError",
    "ModelEntry",
    "Price",
    "active_models_file",
    "load_catalogue",
]

ENV_VAR = "LLM_MODELS_FILE"
_DIR = Path(__file__).resolve().parent / "data" / "models"
DEFAULT_MODELS_FILE = _DIR / "simulator.yaml"
BUNDLED_CATALOGUES: dict[str, Path] = {name: _DIR / f"{name}.yaml" for name in ("simulator", "openai", "ollama")}

# Model names become label values and span names: short, no spaces or quotes. `_OTHER` is the
# contract's bucket for everything else: a name starts with a letter or digit, never "_".
ModelName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,99}$")]
# gen_ai.provider.name: the semconv well-known values are lower-case words joined by "." or "_".
ProviderName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.]{0,49}$")]
_Usd = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class _Strict(BaseModel):
    # extra=forbid: a typo ("ouptut") is an error, not a price silently left out.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Price(_Strict):
    """US dollars per 1,000,000 tokens."""

    input: _Usd
    output: _Usd
    cached_input: _Usd | None = None  # input tokens the provider served from its prompt cache


class ModelEntry(_Strict):
    """One model of the catalogue."""

    provider: ProviderName
    # None: the price is not known; calls are recorded at cost 0 and counted as unpriced.
    price_per_million: Price | None = None
    p95_threshold_s: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    fallback: ModelName | None = None  # the next model to try when this one keeps failing
    tools: bool = True  # false: the model does not accept `tools` (not usable for MODEL_AGENT)


class Defaults(_Strict):
    """Catalogue-wide defaults."""

    p95_threshold_s: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 10.0
    # Default model per feature (qa, summarize, support, agent) when MODEL_<FEATURE> is not set;
    # a feature not listed gets the first model of the catalogue.
    models: dict[str, ModelName] = Field(default_factory=dict)


class Catalogue(_Strict):
    """The validated catalogue; model order is the file's."""

    defaults: Defaults = Field(default_factory=Defaults)
    models: Annotated[dict[ModelName, ModelEntry], Field(min_length=1)]
    source: str = "<catalogue>"

    @model_validator(mode="after")
    def _references(self) -> Catalogue:
        for name, entry in self.models.items():
            if entry.fallback is not None and entry.fallback not in self.models:
                raise ValueError(f"models.{name}.fallback: {entry.fallback!r} is not a model of this catalogue")
            self._chain(name)  # raises on a loop
        for feature, model in self.defaults.models.items():
            if model not in self.models:
                raise ValueError(f"defaults.models.{feature}: {model!r} is not a model of this catalogue")
        return self

    def _chain(self, model: str) -> list[str]:
        chain = [model]
        while (nxt := self.models[chain[-1]].fallback) is not None:
            if nxt in chain:
                raise ValueError(f"models.{chain[-1]}.fallback: {nxt!r} makes a loop ({' -> '.join([*chain, nxt])})")
            chain.append(nxt)
        return chain

    @property
    def names(self) -> tuple[str, ...]:
        """Model names in file order."""
        return tuple(self.models)

    @property
    def providers(self) -> tuple[str, ...]:
        """Provider names, each once, in order of first appearance."""
        return tuple(dict.fromkeys(m.provider for m in self.models.values()))

    @property
    def fallback_targets(self) -> tuple[str, ...]:
        """Models some other model falls back to, in file order."""
        targets = {m.fallback for m in self.models.values()}
        return tuple(name for name in self.models if name in targets)

    def fallback_chain(self, model: str) -> list[str]:
        """`model`, then its fallback, then that one's fallback, ... (no repeats)."""
        return self._chain(model)

    def provider(self, model: str) -> str:
        return self.models[model].provider

    def price(self, model: str) -> Price | None:
        entry = self.models.get(model)
        return entry.price_per_million if entry else None

    def p95_threshold_s(self, model: str) -> float:
        entry = self.models.get(model)
        if entry is not None and entry.p95_threshold_s is not None:
            return entry.p95_threshold_s
        return self.defaults.p95_threshold_s

    def default_model(self, feature: str) -> str:
        return self.defaults.models.get(feature, self.names[0])

    def canonical(self, response_model: str) -> str | None:
        """The catalogue model a provider's answer belongs to, or None.

        Providers answer with the exact version: OpenAI's `gpt-4o-mini` answers as
        `gpt-4o-mini-2024-07-18`, Ollama's `llama3.2` as `llama3.2:latest`. The longest catalogue
        name that the answer equals, or starts with followed by "-", ":" or "@", wins.
        """
        if response_model in self.models:
            return response_model
        matches = [n for n in self.models if response_model.startswith(n) and response_model[len(n)] in "-:@"]
        return max(matches, key=len) if matches else None

    @property
    def path(self) -> Path:
        return Path(self.source)

    def unknown_model_message(self, model: str) -> str:
        return f"unknown model {model!r}; the catalogue {self.source} has: {', '.join(self.names)}"


class CatalogueError(ValueError):
    """The catalogue file is missing or malformed; the message names the file and the key."""


def load_catalogue(path: Path | str = DEFAULT_MODELS_FILE) -> Catalogue:
    """Read and validate a catalogue file; CatalogueError names the file and the bad key."""
    return _load(Path(path).resolve())


@cache
def _load(path: Path) -> Catalogue:
    data = read_mapping(
        path,
        CatalogueError,
        reading="cannot read the model catalogue",
        shape="the top level must be a mapping with `models:` (and optionally `defaults:`)",
    )
    if "source" in data:
        raise CatalogueError(f"{path}: source: unknown key")
    try:
        return Catalogue.model_validate({**data, "source": str(path)})
    except ValidationError as exc:
        raise CatalogueError(f"{path}: {problems(exc)}") from None


def active_models_file(environ: Mapping[str, str] | None = None) -> Path:
    """The catalogue this process uses: $LLM_MODELS_FILE, else the bundled simulator catalogue."""
    value = (os.environ if environ is None else environ).get(ENV_VAR, "").strip()
    return Path(value) if value else DEFAULT_MODELS_FILE
