"""models.yml is what gen_models.py makes of the model catalogue, and the alerts read it for any model."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest
import yaml

from demo_app.catalogue import BUNDLED_CATALOGUES, DEFAULT_MODELS_FILE, load_catalogue
from demo_app.contract import load_contract

THRESHOLD = "gen_ai_request_model:gen_ai_client_operation_duration_seconds:p95_threshold"
CATALOGUE_THRESHOLD = "gen_ai_request_model:llm_model_p95_threshold_seconds:catalogue"
PRICE = "gen_ai_request_model_gen_ai_token_type:llm_model_price_usd_per_token:catalogue"
COMPUTED_COST = "gen_ai_request_model:gen_ai_client_token_usage_cost_usd_per_hour:rate1m"


def _env() -> dict[str, str]:
    # The committed file is the simulator catalogue's, whatever catalogue this shell runs the app with.
    return {k: v for k, v in os.environ.items() if k != "LLM_MODELS_FILE"}


def _gen(rules_dir, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(rules_dir / "gen_models.py"), *args], capture_output=True, text=True, timeout=60, env=_env()
    )


@pytest.fixture(scope="module")
def gen_models(rules_dir):
    spec = importlib.util.spec_from_file_location("gen_models", rules_dir / "gen_models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _records(text: str) -> list[dict]:
    return [r for g in yaml.safe_load(text)["groups"] for r in g["rules"] if "record" in r]


def _constant(rule: dict) -> float:
    return float(rule["expr"].split("#")[0].strip().removeprefix("vector(").removesuffix(")"))


class TestGeneratedFile:
    """The committed file equals the generator's output for the simulator catalogue."""

    def test_committed_file_equals_the_generator_output(self, rules_dir):
        result = _gen(rules_dir, "--check")
        assert result.returncode == 0, result.stderr

    def test_the_check_notices_a_hand_edit(self, rules_dir, tmp_path):
        edited = tmp_path / "models.yml"
        edited.write_text((rules_dir / "models.yml").read_text().replace("vector(8)", "vector(12)", 1))
        result = _gen(rules_dir, "--check", "--output", str(edited))
        assert result.returncode == 1
        assert "models.yml differs" in result.stderr

    def test_another_catalogue_is_one_flag_away(self, rules_dir, tmp_path, promtool):
        for name in BUNDLED_CATALOGUES:
            out = tmp_path / f"{name}.yml"
            result = _gen(rules_dir, "--catalogue", name, "--output", str(out))
            assert result.returncode == 0, result.stderr
            assert f"# Catalogue: demo_app/data/models/{name}.yaml" in out.read_text()
            checked = subprocess.run([promtool, "check", "rules", str(out)], capture_output=True, text=True, timeout=60)
            assert checked.returncode == 0, checked.stdout + checked.stderr


class TestWhatItRecords:
    """Thresholds and prices are the catalogue's; token types are the contract's."""

    def test_thresholds_and_prices_are_the_catalogues(self, gen_models):
        for name, path in BUNDLED_CATALOGUES.items():
            cat = load_catalogue(path)
            records = _records(gen_models.render(cat, path))
            thresholds = {r["labels"]["gen_ai_request_model"]: _constant(r) for r in records if r["record"] == CATALOGUE_THRESHOLD}
            assert thresholds == {m: cat.p95_threshold_s(m) for m in cat.names}, name
            default = [r for r in records if r["record"] == gen_models.DEFAULT_THRESHOLD]
            assert [_constant(r) for r in default] == [cat.defaults.p95_threshold_s], name
            prices = {(r["labels"]["gen_ai_request_model"], r["labels"]["gen_ai_token_type"]): _constant(r) for r in records if r["record"] == PRICE}
            expected = {
                (m, t): getattr(cat.price(m), t) / 1e6 for m in cat.names if cat.price(m) is not None for t in ("input", "output")
            }
            assert prices.keys() == expected.keys(), name
            for key, value in expected.items():
                assert prices[key] == pytest.approx(value, rel=1e-12), (name, key)

    def test_an_unlisted_model_without_threshold_or_price(self, gen_models, tmp_path):
        path = tmp_path / "cat.yaml"
        path.write_text("defaults: {p95_threshold_s: 7}\nmodels:\n  llama3.2:latest: {provider: ollama}\n")
        records = _records(gen_models.render(load_catalogue(path), path))
        rows = [r for r in records if r["record"] == CATALOGUE_THRESHOLD]
        assert [(r["labels"]["gen_ai_request_model"], _constant(r)) for r in rows] == [("llama3.2:latest", 7)]
        assert not [r for r in records if r["record"] == PRICE], "no price, no price row: the cost is absent"

    def test_token_types_are_the_contracts(self, gen_models):
        assert set(gen_models.TOKEN_TYPES) == set(load_contract().labels["gen_ai_token_type"].values)

    def test_the_default_catalogue_is_the_simulators(self, gen_models):
        assert gen_models.resolve_catalogue(None, {}) == DEFAULT_MODELS_FILE
        assert gen_models.resolve_catalogue("openai", {}) == BUNDLED_CATALOGUES["openai"]
        assert gen_models.resolve_catalogue(None, {"LLM_MODELS_FILE": "/x/my.yaml"}).as_posix() == "/x/my.yaml"


class TestTheAlertsReadIt:
    """No threshold or price is written by hand elsewhere; the cost alert reads the computed cost."""

    def test_thresholds_and_prices_come_only_from_models_yml(self, all_rules, rules_dir):
        owners = {r.path.name for r in all_rules if r.name in {THRESHOLD, CATALOGUE_THRESHOLD, PRICE}}
        assert owners == {"models.yml"}

    def test_cost_spike_reads_the_computed_cost(self, alerts):
        (spike,) = [a for a in alerts if a.name == "LLMCostSpike"]
        assert COMPUTED_COST in spike.expr and "llmapp_cost" not in spike.expr
        (latency,) = [a for a in alerts if a.name == "LLMHighLatencyP95"]
        assert THRESHOLD in latency.expr
