"""The budgets file: the bundled one loads, bad files fail naming file and key, teams resolve as documented."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from demo_app.budgets import (
    DEFAULT_BUDGETS_FILE,
    OTHER_TEAM,
    BudgetsError,
    active_budgets_file,
    fingerprint,
    load_budgets,
)
from demo_app.config import AppSettings
from demo_app.contract import load_contract

ROOT = Path(__file__).resolve().parents[2]
GOOD = """
monthly_usd:
  total: 10
  feature: {qa: 4}
  team: {alpha: 2.5}
teams:
  alpha: {key_fingerprints: [%s]}
  beta:
"""
ALPHA_KEY = "sk-alpha-test-key"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "budgets.yaml"
    path.write_text(text, encoding="utf-8")
    return path


class TestBundledFile:
    """demo_app/data/budgets.yaml loads, with the agreed scopes and teams, and documents itself."""

    def test_loads_with_every_scope(self):
        budgets = load_budgets(DEFAULT_BUDGETS_FILE)
        assert budgets.teams == ("search", "support-bot", "batch")
        usd = budgets.monthly_usd
        assert set(usd) == {"total", "feature", "user_tier", "team"}
        assert set(usd["total"]) == {""} and usd["total"][""] > 0
        assert set(usd["feature"]) == {"qa", "summarize", "support", "agent"}
        assert set(usd["user_tier"]) == {"free", "pro", "enterprise"}
        assert set(usd["team"]) == set(budgets.teams)

    def test_comments_say_what_a_month_is_and_where_the_windows_are(self):
        text = DEFAULT_BUDGETS_FILE.read_text(encoding="utf-8")
        assert text.startswith("#")
        assert "prometheus/rules/gen_budgets.py" in text and "30 days" in text
        assert "python -m demo_app.budgets fingerprint" in text

    def test_the_demo_key_of_the_load_generator_belongs_to_support_bot(self):
        assert load_budgets(DEFAULT_BUDGETS_FILE).team_for(None, "sk-demo-support-bot") == "support-bot"

    def test_environment_chooses_the_file(self, tmp_path):
        assert active_budgets_file({}) == DEFAULT_BUDGETS_FILE
        assert active_budgets_file({"LLM_BUDGETS_FILE": str(tmp_path / "b.yaml")}) == tmp_path / "b.yaml"

    def test_contract_team_label_is_the_teams_plus_other(self, tmp_path):
        path = _write(tmp_path, GOOD % fingerprint(ALPHA_KEY))
        assert load_contract(budgets_file=path).labels["team"].values == ("alpha", "beta", OTHER_TEAM)
        assert load_contract(budgets_file=DEFAULT_BUDGETS_FILE).labels["team"].values == ("search", "support-bot", "batch", "_other")


class TestTeamResolution:
    """A configured key decides; else a listed `team` field; else _other. Keys are compared by fingerprint only."""

    @pytest.fixture
    def budgets(self, tmp_path):
        return load_budgets(_write(tmp_path, GOOD % fingerprint(ALPHA_KEY)))

    def test_fingerprint_is_the_sha256_prefix_of_the_stripped_key(self):
        assert fingerprint(" sk-x\n") == hashlib.sha256(b"sk-x").hexdigest()[:12]
        assert len(fingerprint("anything")) == 12

    def test_a_configured_key_decides_over_the_body_field(self, budgets):
        assert budgets.team_for("beta", ALPHA_KEY) == "alpha"
        assert budgets.team_for(None, ALPHA_KEY) == "alpha"

    def test_an_unknown_key_falls_back_to_the_body_field(self, budgets):
        assert budgets.team_for("beta", "sk-someone-else") == "beta"

    def test_an_unlisted_team_or_nothing_is_other(self, budgets):
        assert budgets.team_for("gamma", None) == OTHER_TEAM
        assert budgets.team_for(None, None) == OTHER_TEAM
        assert budgets.team_for("", "") == OTHER_TEAM

    def test_the_fingerprint_itself_is_not_a_key(self, budgets):
        # Sending the fingerprint as the key must not match: it is hashed again.
        assert budgets.team_for(None, fingerprint(ALPHA_KEY)) == OTHER_TEAM

    def test_total_and_a_team_without_keys(self, budgets):
        assert budgets.monthly_usd["total"] == {"": 10.0}
        assert budgets.monthly_usd["team"] == {"alpha": 2.5}
        assert budgets.teams == ("alpha", "beta")


class TestBadFiles:
    """A bad file fails at load with the file and the key in the message."""

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("monthly_usd: {total: -1}", "monthly_usd.total"),
            ("monthly_usd: {total: .inf}", "monthly_usd.total"),
            ("monthly_usd: {total: 1, feature: {translate: 1}}", "monthly_usd.feature.translate: not a feature"),
            ("monthly_usd: {total: 1, user_tier: {platinum: 1}}", "monthly_usd.user_tier.platinum: not a user_tier"),
            ("monthly_usd: {total: 1, team: {ghost: 1}}", "monthly_usd.team.ghost: not listed under teams"),
            ("monthly_usd: {total: 1, region: {eu: 1}}", "monthly_usd.region"),
            ("monthly_usd: {total: 1}\nteams: {Search Team: {}}", "teams.Search Team"),
            ("monthly_usd: {total: 1}\nteams: {_other: {}}", "teams._other"),
            ("monthly_usd: {total: 1}\nteams: {x: {key_fingerprints: [sk-live-123]}}", "teams.x.key_fingerprints.0"),
            ("monthly_usd: {total: 1}\nteams: {x: {key_fingerprint: []}}", "teams.x.key_fingerprint"),
            ("monthly_usd: {total: 1}\nteams: {x: {key_fingerprints: [aaaaaaaaaaaa]}, y: {key_fingerprints: [aaaaaaaaaaaa]}}",
             "already belongs to team x"),
            ("monthly_usd: {total: 1}\nbudgets: {}", "budgets: unknown key"),
            ("teams: {}", "monthly_usd"),
            ("- a list", "top level must be a mapping"),
            ("monthly_usd: {total: [1", "cannot read"),
        ],
    )
    def test_names_file_and_key(self, tmp_path, text, message):
        path = _write(tmp_path, text)
        with pytest.raises(BudgetsError) as info:
            load_budgets(path)
        assert str(path) in str(info.value) and message in str(info.value)

    def test_missing_file(self, tmp_path):
        with pytest.raises(BudgetsError, match="cannot read the budgets file"):
            load_budgets(tmp_path / "nope.yaml")

    def test_settings_refuse_a_bad_file_at_start(self, tmp_path, monkeypatch):
        monkeypatch.setenv("LLM_BUDGETS_FILE", str(_write(tmp_path, "monthly_usd: {total: -1}")))
        with pytest.raises(ValueError, match=r"LLM_BUDGETS_FILE: .*monthly_usd\.total"):
            AppSettings()


class TestFingerprintCli:
    """`python -m demo_app.budgets fingerprint` reads the key from stdin, so it never lands in a file or argv."""

    def _run(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "demo_app.budgets", *args], input=stdin, capture_output=True,
                              text=True, cwd=ROOT, timeout=60)

    def test_prints_the_fingerprint_of_the_key_on_stdin(self):
        out = self._run("fingerprint", stdin="sk-demo-support-bot\n")
        assert out.returncode == 0 and out.stdout.strip() == fingerprint("sk-demo-support-bot")
        assert "sk-demo" not in out.stdout + out.stderr

    def test_no_key_is_an_error(self):
        assert self._run("fingerprint", stdin="").returncode == 2

    def test_check_validates_a_file(self, tmp_path):
        assert self._run("check", str(DEFAULT_BUDGETS_FILE)).returncode == 0
        bad = self._run("check", str(_write(tmp_path, "monthly_usd: {total: -1}")))
        assert bad.returncode == 1 and "monthly_usd.total" in bad.stderr

    def test_unknown_command_prints_usage(self):
        out = self._run("show")
        assert out.returncode == 2 and "usage" in out.stderr
