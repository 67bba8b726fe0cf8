"""Prompt files: loading, validation with the file named in the error, and live-version selection."""

from __future__ import annotations

from pathlib import Path

import pytest

from demo_app.app.rag import FEATURES, build_messages
from demo_app.config import AppSettings
from demo_app.contract import load_contract
from demo_app.prompts import Prompt, PromptError, PromptLibrary, load_prompts


def _write(directory: Path, filename: str, text: str) -> None:
    (directory / filename).write_text(text, encoding="utf-8")


class TestShippedFiles:
    """The files under demo_app/data/prompts define a version for every feature."""

    def test_every_feature_has_a_live_prompt(self) -> None:
        library = load_prompts(required=FEATURES)
        for feature in FEATURES:
            assert library.live(feature).name == feature
            assert library.live(feature).version in library.versions(feature)

    def test_build_messages_uses_the_live_prompt(self, tmp_path: Path) -> None:
        _write(tmp_path, "qa-v1.yaml", "name: qa\nversion: v1\ntext: Answer from the context.\n")
        _write(tmp_path, "qa-v2.yaml", "name: qa\nversion: v2\ntext: Answer briefly.\n")
        library = load_prompts(tmp_path)
        assert "Answer from the context." in build_messages("q", [], "qa", prompt=library.live("qa"))[0]["content"]
        library.select("qa", "v2")
        system = build_messages("q", [], "qa", prompt=library.live("qa"))[0]["content"]
        assert "Answer briefly." in system and "Answer from the context." not in system


class TestValidation:
    """A file that cannot be used fails loading with its path; unknown names/versions list the valid ones."""

    @pytest.mark.parametrize(
        ("text", "problem"),
        [
            ("name: qa\nversion: v1\n", "expected exactly the keys"),
            ("name: qa\nversion: v1\ntext: x\nextra: 1\n", "expected exactly the keys"),
            ("name: qa\nversion: 1\ntext: x\n", "version must be non-empty strings"),
            ("name: qa\nversion: v1\ntext: '  '\n", "text must be non-empty strings"),
            ("name: [qa\n", "cannot read the prompt file"),
            ("- a list\n", "expected exactly the keys"),
        ],
    )
    def test_bad_file_is_named(self, tmp_path: Path, text: str, problem: str) -> None:
        _write(tmp_path, "bad.yaml", text)
        with pytest.raises(PromptError, match=problem) as err:
            load_prompts(tmp_path)
        assert "bad.yaml" in str(err.value)

    def test_duplicate_version(self, tmp_path: Path) -> None:
        _write(tmp_path, "a.yaml", "name: qa\nversion: v1\ntext: x\n")
        _write(tmp_path, "b.yaml", "name: qa\nversion: v1\ntext: y\n")
        with pytest.raises(PromptError, match="defined twice"):
            load_prompts(tmp_path)

    def test_missing_required_name(self, tmp_path: Path) -> None:
        _write(tmp_path, "qa.yaml", "name: qa\nversion: v1\ntext: x\n")
        with pytest.raises(PromptError, match="no prompt file for support"):
            load_prompts(tmp_path, required=("qa", "support"))

    def test_select_unknown_version_lists_valid_ones(self, tmp_path: Path) -> None:
        _write(tmp_path, "qa-v1.yaml", "name: qa\nversion: v1\ntext: x\n")
        library = load_prompts(tmp_path)
        with pytest.raises(PromptError, match="no version 'v9'; expected one of v1"):
            library.select("qa", "v9")
        with pytest.raises(PromptError, match="unknown prompt 'faq'; expected one of qa"):
            library.select("faq", "v1")
        assert library.live("qa").version == "v1"


class TestPromptVersionLabel:
    """The contract's prompt_version values are the versions the files define, plus empty (agent turns)."""

    def test_values_come_from_the_files(self) -> None:
        assert load_contract().labels["prompt_version"].values == (*load_prompts().all_versions(), "")

    def test_all_versions_spans_every_name(self, tmp_path: Path) -> None:
        _write(tmp_path, "qa-v1.yaml", "name: qa\nversion: v1\ntext: x\n")
        _write(tmp_path, "qa-v2.yaml", "name: qa\nversion: v2\ntext: y\n")
        _write(tmp_path, "support-v3.yaml", "name: support\nversion: v3\ntext: z\n")
        assert load_prompts(tmp_path).all_versions() == ("v1", "v2", "v3")


class TestStartVersionSetting:
    """PROMPT_VERSION_<FEATURE> must name a version of that feature's files; unset means the default."""

    def test_a_version_from_the_files(self) -> None:
        settings = AppSettings(prompt_version_qa="v1")
        assert (settings.prompt_version_for("qa"), settings.prompt_version_for("support")) == ("v1", None)

    def test_an_unknown_version_lists_the_valid_ones(self) -> None:
        with pytest.raises(ValueError, match="PROMPT_VERSION_SUPPORT: prompt 'support' has no version 'v9'; expected one of v1"):
            AppSettings(prompt_version_support="v9")


class TestBadVersion:
    """qa v2 (answer from general knowledge) really lowers faithfulness: through the simulator and the
    unchanged quality scorer, over corpus questions, v1 stays above the alert's 0.5 and v2 falls below."""

    def test_v2_answers_are_not_grounded(self) -> None:
        import random

        from demo_app.app.quality import PASS_THRESHOLD, score_answer
        from demo_app.app.rag import Retriever
        from demo_app.llm_sim.generation import generate
        from demo_app.llm_sim.models import MODELS

        retriever = Retriever.from_corpus()
        library = load_prompts(required=FEATURES)
        questions = [q for doc in retriever.documents[:20] for q in doc.questions[:1]]
        means = {}
        for version in ("v1", "v2"):
            prompt = library.select("qa", version)
            scores = []
            for i, question in enumerate(questions):
                hits = retriever.search(question, k=4)
                answer = generate(build_messages(question, hits, "qa", prompt=prompt), MODELS["sim-medium"], random.Random(i)).text
                assert answer is not None
                scores.append(score_answer(question, answer, [h.text for h in hits]).faithfulness)
            means[version] = sum(scores) / len(scores)
        assert means["v1"] > PASS_THRESHOLD > means["v2"], means


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _two_versions(clock: _Clock) -> PromptLibrary:
    return PromptLibrary([Prompt("qa", "v1", "good"), Prompt("qa", "v2", "bad")], clock=clock)


def test_a_timed_rollout_reverts_by_itself_to_the_version_before_it() -> None:
    clock = _Clock()
    library = _two_versions(clock)
    library.select("qa", "v2", ttl_s=60)
    assert library.live("qa").version == "v2" and library.reverts_in("qa") == 60
    clock.now += 59
    assert library.live("qa").version == "v2"
    clock.now += 1
    assert library.live("qa").version == "v1" and library.reverts_in("qa") is None


def test_revert_ends_a_timed_rollout_now_and_a_permanent_switch_cancels_it() -> None:
    clock = _Clock()
    library = _two_versions(clock)
    library.select("qa", "v2", ttl_s=60)
    assert library.revert("qa").version == "v1"
    assert library.revert("qa").version == "v1"  # nothing under way: no-op
    library.select("qa", "v2", ttl_s=60)
    library.select("qa", "v2")  # for good
    clock.now += 3600
    assert library.live("qa").version == "v2"


def test_a_timed_rollout_during_another_goes_back_to_the_first_ones_predecessor() -> None:
    clock = _Clock()
    library = PromptLibrary([Prompt("qa", v, v) for v in ("v1", "v2", "v3")], clock=clock)
    library.select("qa", "v2", ttl_s=60)
    library.select("qa", "v3", ttl_s=30)
    clock.now += 30
    assert library.live("qa").version == "v1"
