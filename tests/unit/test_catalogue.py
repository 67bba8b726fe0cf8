"""The model catalogue: the bundled files load, bad files fail naming file and key, and no copy drifts."""

from __future__ import annotations

from pathlib import Path

import pytest

from demo_app.app.rag import FEATURES as RAG_FEATURES
from demo_app.catalogue import BUNDLED_CATALOGUES, DEFAULT_MODELS_FILE, CatalogueError, active_models_file, load_catalogue
from demo_app.config import AGENT_FEATURE, FEATURES, MODELS, TIERS, AppSettings
from demo_app.contract import load_contract
from demo_app.llm_sim.models import MODEL_NAMES as SIMULATED

SIM = load_catalogue(DEFAULT_MODELS_FILE)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "models.yaml"
    path.write_text(text, encoding="utf-8")
    return path


class TestBundledCatalogues:
    """simulator.yaml (default), openai.yaml and ollama.yaml load and say where their prices come from."""

    @pytest.mark.parametrize("name", sorted(BUNDLED_CATALOGUES))
    def test_loads_with_prices_and_a_comment(self, name):
        path = BUNDLED_CATALOGUES[name]
        catalogue = load_catalogue(path)
        assert catalogue.names and all(m.price_per_million is not None for m in catalogue.models.values())
        assert path.read_text(encoding="utf-8").startswith("#")

    def test_simulator_keeps_its_prices_thresholds_and_chain(self):
        assert SIM.names == ("sim-large", "sim-medium", "sim-small")
        assert [SIM.p95_threshold_s(m) for m in SIM.names] == [8, 4, 2]
        assert SIM.fallback_chain("sim-large") == ["sim-large", "sim-medium", "sim-small"]
        assert (SIM.models["sim-large"].price_per_million.input, SIM.models["sim-large"].price_per_million.output) == (5.0, 15.0)
        assert "NOT real prices" in DEFAULT_MODELS_FILE.read_text(encoding="utf-8")

    def test_openai_prices_say_when_and_where_they_were_read(self):
        text = BUNDLED_CATALOGUES["openai"].read_text(encoding="utf-8")
        assert "2026-12-02" in text and "https://developers.openai.com/api/docs/pricing" in text

    def test_ollama_is_free(self):
        ollama = load_catalogue(BUNDLED_CATALOGUES["ollama"])
        assert {(p.input, p.output) for p in (m.price_per_million for m in ollama.models.values()) if p} == {(0.0, 0.0)}

    def test_default_is_the_simulator_unless_the_environment_says_otherwise(self, tmp_path):
        assert active_models_file({}) == DEFAULT_MODELS_FILE
        assert active_models_file({"LLM_MODELS_FILE": str(tmp_path / "x.yaml")}) == tmp_path / "x.yaml"


class TestBadCatalogues:
    """A bad file fails at load with the file and the key in the message."""

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("models: {m: {provider: openai, price_per_million: {input: x, output: 1}}}", "models.m.price_per_million.input"),
            ("models: {m: {provider: openai, price_per_million: {input: -1, output: 1}}}", "models.m.price_per_million.input"),
            ("models: {m: {provider: openai, price_per_million: {input: 1, ouptut: 1}}}", "models.m.price_per_million.ouptut"),
            ("models: {m: {provider: openai, fallback: n}}", "models.m.fallback: 'n' is not a model"),
            ("models: {m: {provider: openai, fallback: n}, n: {provider: openai, fallback: m}}", "makes a loop"),
            ("models: {m: {provider: OpenAI}}", "models.m.provider"),
            ("models: {'bad name': {provider: openai}}", "models.bad name"),
            ("models: {_OTHER: {provider: openai}}", "models._OTHER"),
            ("models: {}", "models"),
            ("defaults: {models: {qa: nope}}\nmodels: {m: {provider: openai}}", "defaults.models.qa"),
            ("- a list", "top level must be a mapping"),
            ("models: {m: [unclosed\n", "cannot read"),
        ],
    )
    def test_message_names_file_and_key(self, tmp_path, text, message):
        with pytest.raises(CatalogueError) as err:
            load_catalogue(_write(tmp_path, text))
        assert str(tmp_path) in str(err.value) and message in str(err.value)

    def test_missing_file(self, tmp_path):
        with pytest.raises(CatalogueError, match="cannot read"):
            load_catalogue(tmp_path / "absent.yaml")


class TestResponseModels:
    """A provider's exact version maps to the catalogue model it belongs to; anything else to None."""

    def test_versions_map_to_the_longest_catalogue_name(self):
        openai = load_catalogue(BUNDLED_CATALOGUES["openai"])
        assert openai.canonical("gpt-4o-mini-2024-07-18") == "gpt-4o-mini"
        assert openai.canonical("gpt-4o-2024-08-06") == "gpt-4o"
        assert openai.canonical("gpt-4o") == "gpt-4o"
        assert openai.canonical("gpt-4omni") is None and openai.canonical("o3") is None and openai.canonical("") is None
        assert load_catalogue(BUNDLED_CATALOGUES["ollama"]).canonical("llama3.2:latest") == "llama3.2"


class TestSettings:
    """MODEL_* accept any catalogue model and refuse others, listing the valid ones."""

    def test_any_catalogue_model(self):
        s = AppSettings(llm_models_file=BUNDLED_CATALOGUES["openai"], model_qa="gpt-4.1-mini")
        assert [s.model_for(f) for f in ("qa", "summarize", "support", "agent")] == ["gpt-4.1-mini", "gpt-4o-mini", "gpt-4o", "gpt-4o-mini"]

    def test_a_model_outside_the_catalogue_lists_the_valid_ones(self):
        with pytest.raises(ValueError, match=r"MODEL_QA: unknown model 'gpt-4o-mini'.*sim-large, sim-medium, sim-small"):
            AppSettings(model_qa="gpt-4o-mini")

    def test_the_agent_needs_a_model_that_takes_tools(self):
        with pytest.raises(ValueError, match="MODEL_AGENT: 'mistral' does not take tools"):
            AppSettings(llm_models_file=BUNDLED_CATALOGUES["ollama"], model_agent="mistral")

    def test_the_catalogue_is_looked_up_once_and_follows_the_file(self):
        s = AppSettings()
        assert s.catalogue is s.catalogue is load_catalogue(DEFAULT_MODELS_FILE)
        other = s.model_copy(update={"llm_models_file": BUNDLED_CATALOGUES["openai"]})
        assert other.catalogue is load_catalogue(BUNDLED_CATALOGUES["openai"]) and s.catalogue is SIM

    def test_a_bad_catalogue_refuses_to_start(self, tmp_path):
        with pytest.raises(ValueError, match=r"LLM_MODELS_FILE: .*models\.m\.provider"):
            AppSettings(llm_models_file=_write(tmp_path, "models: {m: {provider: 1}}"))


class TestNoCopyDrifts:
    """Models, tiers and features are listed once; every other list equals its source."""

    def test_simulator_serves_exactly_the_simulator_catalogue(self):
        assert SIM.names == SIMULATED

    def test_settings_models_are_the_simulator_catalogue(self):
        assert SIM.names == MODELS

    @pytest.mark.parametrize("name", sorted(BUNDLED_CATALOGUES))
    def test_contract_model_and_provider_labels_come_from_the_catalogue(self, name):
        catalogue = load_catalogue(BUNDLED_CATALOGUES[name])
        labels = load_contract(models_file=BUNDLED_CATALOGUES[name]).labels
        assert labels["gen_ai_request_model"].values == catalogue.names
        assert labels["gen_ai_response_model"].values == (*catalogue.names, "", "_OTHER")
        assert labels["fallback_model"].values == catalogue.fallback_targets
        assert labels["gen_ai_provider_name"].values == catalogue.providers

    def test_tiers_and_features_are_the_contract_values(self):
        labels = load_contract().labels
        assert labels["user_tier"].values == TIERS
        assert (*FEATURES, AGENT_FEATURE) == labels["feature"].values
        assert RAG_FEATURES == FEATURES  # a prompt per /v1/ask feature, no more, no fewer

    def test_nothing_else_spells_out_the_simulated_models(self):
        root = Path(__file__).resolve().parents[2]
        allowed = {"demo_app/data/models/simulator.yaml", "demo_app/llm_sim/models.py"}
        offenders = []
        for path in [*(root / "demo_app").rglob("*.py"), *(root / "demo_app").rglob("*.yaml"), *(root / "bench").glob("*.py")]:
            rel = path.relative_to(root).as_posix()
            if rel in allowed or rel.startswith("demo_app/loadgen/"):  # scenarios name the model they break, on purpose
                continue
            text = path.read_text(encoding="utf-8")
            if '"sim-large", "sim-medium", "sim-small"' in text or "[sim-large, sim-medium, sim-small]" in text:
                offenders.append(rel)
        assert not offenders, f"these list the models again instead of reading the catalogue: {offenders}"
