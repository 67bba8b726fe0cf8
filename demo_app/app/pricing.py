"""Turn token counts into dollars with the model catalogue's prices (LLM_MODELS_FILE).

Pure code: the app adds `cost_usd(...)` to `llmapp_cost_usd_total` after each LLM call. The
prices themselves, and their validation, live in the catalogue (demo_app/catalogue.py); a
model listed there without `price_per_million` has no price, and `cost_usd` says so with None
rather than guessing.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from demo_app.catalogue import Catalogue, Price

__all__ = ["PriceTable"]

_TOKENS_PER_UNIT = 1_000_000


class PriceTable:
    """Immutable model -> price mapping with cost arithmetic (US dollars)."""

    currency = "USD"

    def __init__(self, prices: Mapping[str, Price | None]) -> None:
        self._prices: Mapping[str, Price | None] = MappingProxyType(dict(prices))

    @classmethod
    def from_catalogue(cls, catalogue: Catalogue) -> PriceTable:
        return cls({name: entry.price_per_million for name, entry in catalogue.models.items()})

    def models(self) -> list[str]:
        """Models that have a price, sorted."""
        return sorted(name for name, price in self._prices.items() if price is not None)

    def price(self, model: str) -> Price | None:
        """The model's price, or None when it has none (or is not in the catalogue)."""
        return self._prices.get(model)

    def cost_usd(self, model: str, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0) -> float | None:
        """Dollars for one call, or None when the model has no price.

        tokens / 1e6 * price, input and output priced separately; the `cached_input_tokens`
        part of the input (already counted in `input_tokens`, as OpenAI's usage reports it)
        at the cached-input price when the model has one.
        """
        if min(input_tokens, output_tokens, cached_input_tokens) < 0:
            raise ValueError(
                f"token counts must be >= 0, got input={input_tokens} output={output_tokens} cached={cached_input_tokens}"
            )
        price = self.price(model)
        if price is None:
            return None
        cached = min(cached_input_tokens, input_tokens)
        cached_price = price.input if price.cached_input is None else price.cached_input
        return ((input_tokens - cached) * price.input + cached * cached_price + output_tokens * price.output) / _TOKENS_PER_UNIT
