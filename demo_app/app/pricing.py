"""The illustrative price table (data/prices.yaml): load, validate, turn token counts into dollars.

Pure code: the app adds `cost_usd(...)` to `llmapp_cost_usd_total` after each LLM call.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

__all__ = [
    "DEFAULT_PRICES_PATH",
    "REQUIRED_MODELS",
    "ModelPrice",
    "PriceTable",
    "PriceTableError",
]

DEFAULT_PRICES_PATH = Path(__file__).resolve().parents[1] / "data" / "prices.yaml"
# The simulated models every deployment of the demo can call; a table missing one would make
# the cost metric silently stop for that model, so loading fails instead.
REQUIRED_MODELS: tuple[str, ...] = ("sim-large", "sim-medium", "sim-small")
# The metric is `llmapp_cost_usd_total`: a table in another currency would mislabel it.
_CURRENCY = "USD"
_PRICE_FIELDS = ("input_per_million", "output_per_million")
_TOKENS_PER_UNIT = 1_000_000


class PriceTableError(ValueError):
    """prices.yaml is malformed; the message names the file and the bad field."""


@dataclass(frozen=True)
class ModelPrice:
    """US dollars per million input (prompt) and output (completion) tokens."""

    input_per_million: float
    output_per_million: float


class PriceTable:
    """Immutable model -> price mapping with cost arithmetic."""

    def __init__(self, prices: Mapping[str, ModelPrice], currency: str = _CURRENCY) -> None:
        self._prices: Mapping[str, ModelPrice] = MappingProxyType(dict(prices))
        self.currency = currency

    @classmethod
    def load(cls, path: Path | str = DEFAULT_PRICES_PATH) -> PriceTable:
        """Read and validate a prices YAML file; raise PriceTableError naming the bad field."""
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise PriceTableError(f"{path}: cannot read price table: {exc}") from exc
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: Any, source: str = "<price table>") -> PriceTable:
        """Validate an already-parsed table (the same rules as `load`)."""
        if not isinstance(data, Mapping):
            raise PriceTableError(f"{source}: top level must be a mapping with currency and models")
        currency = data.get("currency")
        if currency != _CURRENCY:
            raise PriceTableError(
                f"{source}: currency must be {_CURRENCY!r} (costs are exported as "
                f"llmapp_cost_usd_total), got {currency!r}"
            )
        models = data.get("models")
        if not isinstance(models, Mapping) or not models:
            raise PriceTableError(
                f"{source}: models must be a non-empty mapping of model -> prices"
            )
        missing = [m for m in REQUIRED_MODELS if m not in models]
        if missing:
            raise PriceTableError(f"{source}: models is missing {', '.join(missing)}")
        prices = {
            str(name): _parse_price(entry, f"{source}: models.{name}")
            for name, entry in models.items()
        }
        return cls(prices, currency=currency)

    def models(self) -> list[str]:
        """Model names in the table, sorted."""
        return sorted(self._prices)

    def price(self, model: str) -> ModelPrice:
        try:
            return self._prices[model]
        except KeyError:
            raise KeyError(
                f"no price for model {model!r}; known models: {', '.join(self.models())}"
            ) from None

    def cost_usd(self, model: str, input_tokens: int, output_tokens: int) -> float:
        """Dollars for one call: tokens / 1e6 * price, input and output priced separately."""
        if input_tokens < 0 or output_tokens < 0:
            raise ValueError(
                f"token counts must be >= 0, got input={input_tokens} output={output_tokens}"
            )
        price = self.price(model)
        return (
            input_tokens * price.input_per_million + output_tokens * price.output_per_million
        ) / _TOKENS_PER_UNIT


def _parse_price(entry: Any, where: str) -> ModelPrice:
    if not isinstance(entry, Mapping):
        raise PriceTableError(f"{where} must be a mapping with {' and '.join(_PRICE_FIELDS)}")
    unknown = sorted(set(entry) - set(_PRICE_FIELDS))
    if unknown:  # catches typos such as "output_per_milion", which would otherwise price at 0
        raise PriceTableError(f"{where}: unknown field(s) {', '.join(map(str, unknown))}")
    values: dict[str, float] = {}
    for name in _PRICE_FIELDS:
        if name not in entry:
            raise PriceTableError(f"{where}.{name} is missing")
        value = entry[name]
        # bool is an int subclass; `true` in YAML is a mistake, not a price of 1.
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise PriceTableError(f"{where}.{name} must be a number, got {value!r}")
        if not math.isfinite(value) or value < 0:
            raise PriceTableError(f"{where}.{name} must be a finite number >= 0, got {value!r}")
        values[name] = float(value)
    return ModelPrice(**values)
