"""Unit tests for demo_app.app.pricing: the price table file, its validation and cost arithmetic."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from demo_app.app.pricing import (
    DEFAULT_PRICES_PATH,
    REQUIRED_MODELS,
    PriceTable,
    PriceTableError,
)


def _valid() -> dict:
    return {
        "currency": "USD",
        "models": {
            "sim-large": {"input_per_million": 5.0, "output_per_million": 15.0},
            "sim-medium": {"input_per_million": 0.6, "output_per_million": 2.4},
            "sim-small": {"input_per_million": 0.15, "output_per_million": 0.6},
        },
    }


def _write(tmp_path: Path, data) -> Path:
    path = tmp_path / "prices.yaml"
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return PriceTable.load()


class TestBundledTable:
    """The bundled prices.yaml loads, says it is illustrative, and orders models by price."""

    def test_loads_all_simulated_models(self, table):
        assert table.models() == sorted(REQUIRED_MODELS)
        assert table.currency == "USD"

    def test_says_prices_are_not_real(self):
        header = DEFAULT_PRICES_PATH.read_text(encoding="utf-8").splitlines()[0]
        assert header.startswith("#") and "NOT real prices" in header

    def test_large_costs_more_than_medium_more_than_small(self, table):
        costs = [table.cost_usd(m, 1000, 1000) for m in ("sim-large", "sim-medium", "sim-small")]
        assert costs == sorted(costs, reverse=True) and costs[-1] > 0


class TestCost:
    """Cost = input_tokens/1e6 * input price + output_tokens/1e6 * output price."""

    def test_worked_examples(self, table):
        assert table.cost_usd("sim-large", 1_000_000, 0) == pytest.approx(5.0)
        assert table.cost_usd("sim-large", 0, 1_000_000) == pytest.approx(15.0)
        assert table.cost_usd("sim-large", 1000, 500) == pytest.approx(0.0125)
        assert table.cost_usd("sim-small", 2000, 1000) == pytest.approx(0.0009)
        assert table.cost_usd("sim-medium", 0, 0) == 0.0

    @given(
        i=st.integers(min_value=0, max_value=10_000_000),
        o=st.integers(min_value=0, max_value=10_000_000),
    )
    def test_additive_in_input_and_output(self, i, o):
        table = PriceTable.from_dict(_valid())
        total = table.cost_usd("sim-medium", i, o)
        parts = table.cost_usd("sim-medium", i, 0) + table.cost_usd("sim-medium", 0, o)
        assert math.isclose(total, parts, rel_tol=1e-12, abs_tol=1e-12)
        assert total >= 0

    def test_unknown_model_names_known_ones(self, table):
        with pytest.raises(KeyError, match=r"no price for model 'gpt-9'.*sim-large"):
            table.cost_usd("gpt-9", 1, 1)

    def test_negative_tokens_rejected(self, table):
        with pytest.raises(ValueError, match="token counts must be >= 0"):
            table.cost_usd("sim-small", -1, 0)


class TestValidation:
    """A bad price file fails at load with a message naming the file and the bad field."""

    def test_valid_file_loads(self, tmp_path):
        assert PriceTable.load(_write(tmp_path, _valid())).models() == sorted(REQUIRED_MODELS)

    def test_extra_model_allowed(self, tmp_path):
        data = _valid()
        data["models"]["my-model"] = {"input_per_million": 1, "output_per_million": 2}
        assert PriceTable.load(_write(tmp_path, data)).cost_usd("my-model", 10**6, 0) == 1.0

    def test_missing_model(self, tmp_path):
        data = _valid()
        del data["models"]["sim-medium"]
        with pytest.raises(PriceTableError, match=r"prices.yaml: models is missing sim-medium"):
            PriceTable.load(_write(tmp_path, data))

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            (-1, "must be a finite number >= 0, got -1"),
            ("cheap", "must be a number, got 'cheap'"),
            (True, "must be a number, got True"),
            (None, "must be a number, got None"),
            (float("inf"), "must be a finite number >= 0"),
        ],
    )
    def test_bad_price_value(self, tmp_path, value, message):
        data = _valid()
        data["models"]["sim-large"]["output_per_million"] = value
        with pytest.raises(PriceTableError) as err:
            PriceTable.load(_write(tmp_path, data))
        assert "models.sim-large.output_per_million" in str(err.value)
        assert message in str(err.value)

    def test_missing_field(self, tmp_path):
        data = _valid()
        del data["models"]["sim-small"]["input_per_million"]
        with pytest.raises(PriceTableError, match=r"models.sim-small.input_per_million is missing"):
            PriceTable.load(_write(tmp_path, data))

    def test_misspelt_field(self, tmp_path):
        data = _valid()
        data["models"]["sim-small"]["output_per_milion"] = 1.0
        with pytest.raises(PriceTableError, match=r"sim-small: unknown field.*output_per_milion"):
            PriceTable.load(_write(tmp_path, data))

    def test_wrong_currency(self, tmp_path):
        with pytest.raises(PriceTableError, match=r"currency must be 'USD'.*got 'EUR'"):
            PriceTable.load(_write(tmp_path, {**_valid(), "currency": "EUR"}))

    @pytest.mark.parametrize("text", ["- just\n- a list\n", "models: 3\ncurrency: USD\n", ""])
    def test_wrong_shape(self, tmp_path, text):
        with pytest.raises(PriceTableError, match=r"prices\.yaml"):
            PriceTable.load(_write(tmp_path, text))

    def test_unreadable_file(self, tmp_path):
        with pytest.raises(PriceTableError, match="cannot read"):
            PriceTable.load(tmp_path / "absent.yaml")
        with pytest.raises(PriceTableError, match="cannot read"):
            PriceTable.load(_write(tmp_path, "models: {sim-large: [unclosed\n"))
