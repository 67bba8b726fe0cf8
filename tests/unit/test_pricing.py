"""Unit tests for demo_app.app.pricing: cost arithmetic from the catalogue's prices."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from demo_app.app.pricing import PriceTable
from demo_app.catalogue import BUNDLED_CATALOGUES, DEFAULT_MODELS_FILE, Catalogue, load_catalogue


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return PriceTable.from_catalogue(load_catalogue(DEFAULT_MODELS_FILE))


class TestSimulatorPrices:
    """The simulator catalogue's illustrative prices: large > medium > small."""

    def test_every_simulated_model_has_a_price(self, table):
        assert table.models() == ["sim-large", "sim-medium", "sim-small"]
        assert table.currency == "USD"

    def test_large_costs_more_than_medium_more_than_small(self, table):
        costs = [table.cost_usd(m, 1000, 1000) for m in ("sim-large", "sim-medium", "sim-small")]
        assert costs == sorted(costs, reverse=True) and costs[-1] > 0


class TestCost:
    """Cost = input/1e6 * input price + output/1e6 * output price; cached input at its own price."""

    def test_known_values(self, table):
        assert table.cost_usd("sim-large", 1_000_000, 0) == pytest.approx(5.0)
        assert table.cost_usd("sim-large", 0, 1_000_000) == pytest.approx(15.0)
        assert table.cost_usd("sim-large", 1000, 500) == pytest.approx(0.0125)
        assert table.cost_usd("sim-small", 2000, 1000) == pytest.approx(0.0009)
        assert table.cost_usd("sim-medium", 0, 0) == 0.0

    def test_cached_input_is_part_of_input_at_the_cached_price(self, table):
        # sim-large: input 5.00, cached_input 2.50 per 1M tokens.
        assert table.cost_usd("sim-large", 1_000_000, 0, cached_input_tokens=400_000) == pytest.approx(0.6 * 5 + 0.4 * 2.5)
        # More cached tokens than input tokens is a provider's bug: capped at the input.
        assert table.cost_usd("sim-large", 100, 0, cached_input_tokens=1000) == pytest.approx(100 * 2.5 / 1e6)

    def test_cached_input_without_a_cached_price_costs_the_input_price(self):
        cat = Catalogue.model_validate({"models": {"m": {"provider": "openai", "price_per_million": {"input": 1, "output": 2}}}})
        assert PriceTable.from_catalogue(cat).cost_usd("m", 10**6, 0, cached_input_tokens=10**6) == pytest.approx(1.0)

    @given(st.integers(0, 10**7), st.integers(0, 10**7))
    def test_cost_is_additive_and_non_negative(self, i, o):
        table = PriceTable.from_catalogue(load_catalogue(DEFAULT_MODELS_FILE))
        total = table.cost_usd("sim-medium", i, o)
        assert total is not None and total >= 0 and math.isfinite(total)
        parts = table.cost_usd("sim-medium", i, 0) + table.cost_usd("sim-medium", 0, o)
        assert total == pytest.approx(parts)

    def test_a_model_without_a_price_costs_none_not_a_guess(self, table):
        cat = Catalogue.model_validate({"models": {"free-to-guess": {"provider": "openai"}}})
        assert PriceTable.from_catalogue(cat).cost_usd("free-to-guess", 1000, 1000) is None
        assert table.cost_usd("gpt-9", 10, 10) is None

    def test_negative_tokens_are_a_bug(self, table):
        with pytest.raises(ValueError, match="must be >= 0"):
            table.cost_usd("sim-small", -1, 0)


class TestCachedPrices:
    """Every bundled catalogue whose provider has a prompt cache prices it: cheaper than input, never free."""

    @pytest.mark.parametrize("name", ["simulator", "openai"])
    def test_every_priced_model_has_a_cached_input_price_below_input(self, name):
        for model, entry in load_catalogue(BUNDLED_CATALOGUES[name]).models.items():
            price = entry.price_per_million
            assert price is not None and price.cached_input is not None, (name, model)
            assert 0 < price.cached_input < price.input, (name, model)

    def test_a_fully_cached_prompt_saves_input_minus_cached_price(self, table):
        # What llmapp_cache_savings_usd_total adds: cached tokens x (input - cached_input).
        price = table.price("sim-medium")
        assert price is not None and price.cached_input is not None
        saved = table.cost_usd("sim-medium", 1000, 10) - table.cost_usd("sim-medium", 1000, 10, cached_input_tokens=768)
        assert saved == pytest.approx(768 * (price.input - price.cached_input) / 1e6)
