"""The budgets file (LLM_BUDGETS_FILE): monthly USD budgets per scope, and the teams callers belong to.

One YAML file (default demo_app/data/budgets.yaml) declares the budget of the whole app and
per `feature`, `user_tier` and `team`, and is the only list of teams: the contract's `team`
label takes its values from here (plus `_other`), the app maps each request to one of them
(`Budgets.team_for`), and the budget rules (prometheus/rules/gen_budgets.py) are generated
from the numbers.

A caller is recognised by its API key without the key ever being stored: the file lists
fingerprints (`fingerprint(key)`, the first 12 hex characters of the key's SHA-256), and
`python -m demo_app.budgets fingerprint` prints one for a key read from stdin, so keys stay
out of files, shell history and process lists.

Pure code like demo_app/catalogue.py: a bad file fails at load with a message naming the file
and the key.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from demo_app.yaml_file import problems, read_mapping

__all__ = [
    "DEFAULT_BUDGETS_FILE",
    "ENV_VAR",
    "OTHER_TEAM",
    "SCOPES",
    "TEAM_PATTERN",
    "Budgets",
    "BudgetsError",
    "active_budgets_file",
    "fingerprint",
    "load_budgets",
]

ENV_VAR = "LLM_BUDGETS_FILE"
DEFAULT_BUDGETS_FILE = Path(__file__).resolve().parent / "data" / "budgets.yaml"
OTHER_TEAM = "_other"  # the label value of every caller that names no listed team
SCOPES = ("total", "feature", "user_tier", "team")
# A team name is a label value and a request field: a short lower-case slug. It cannot start
# with "_", so no team can be called `_other`. The API's `team` field uses the same pattern.
TEAM_PATTERN = r"^[a-z0-9][a-z0-9-]{0,31}$"
_FINGERPRINT_CHARS = 12  # 48 bits: enough to tell a few thousand keys apart, useless to recover one

TeamName = Annotated[str, StringConstraints(pattern=TEAM_PATTERN)]
Fingerprint = Annotated[str, StringConstraints(pattern=rf"^[0-9a-f]{{{_FINGERPRINT_CHARS}}}$")]
_Usd = Annotated[float, Field(ge=0, allow_inf_nan=False)]


def fingerprint(api_key: str) -> str:
    """The fingerprint the budgets file lists for `api_key`: SHA-256 of the key (surrounding
    whitespace removed), first 12 hex characters."""
    return hashlib.sha256(api_key.strip().encode("utf-8")).hexdigest()[:_FINGERPRINT_CHARS]


class _Strict(BaseModel):
    # extra=forbid: a typo ("monthy_usd", "key_fingerprint") is an error, not a budget left out.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Team(_Strict):
    """One team: the fingerprints of the API keys that belong to it."""

    key_fingerprints: list[Fingerprint] = Field(default_factory=list)


class MonthlyUsd(_Strict):
    """USD per budget month: the whole app and per scope value (a value left out has no budget)."""

    total: _Usd
    feature: dict[str, _Usd] = Field(default_factory=dict)
    user_tier: dict[str, _Usd] = Field(default_factory=dict)
    team: dict[str, _Usd] = Field(default_factory=dict)


class Budgets(_Strict):
    """The validated budgets file; team order is the file's."""

    monthly_usd_: MonthlyUsd = Field(alias="monthly_usd")
    teams_: Annotated[dict[TeamName, Team], Field(alias="teams")] = Field(default_factory=dict)
    source: str = "<budgets>"

    @model_validator(mode="after")
    def _references(self) -> Budgets:
        # Imported here: the contract resolves `values_from: budgets.teams` through this module.
        from demo_app.contract import declared_values

        for scope, known in (("feature", declared_values("feature")), ("user_tier", declared_values("user_tier"))):
            for value in getattr(self.monthly_usd_, scope):
                if value not in known:
                    raise ValueError(f"monthly_usd.{scope}.{value}: not a {scope} of the contract ({', '.join(known)})")
        for team in self.monthly_usd_.team:
            if team not in self.teams_:
                raise ValueError(f"monthly_usd.team.{team}: not listed under teams: ({', '.join(self.teams_) or 'none'})")
        owner: dict[str, str] = {}
        for team, entry in self.teams_.items():
            for fp in entry.key_fingerprints:
                if owner.setdefault(fp, team) != team:
                    raise ValueError(f"teams.{team}.key_fingerprints: {fp} already belongs to team {owner[fp]}")
        return self

    @property
    def teams(self) -> tuple[str, ...]:
        """Team names in file order: the `team` label's values (besides `_other`)."""
        return tuple(self.teams_)

    @property
    def monthly_usd(self) -> Mapping[str, Mapping[str, float]]:
        """scope -> {scope value: USD per month}; `total` as {"": usd}."""
        m = self.monthly_usd_
        return MappingProxyType({"total": {"": m.total}, "feature": dict(m.feature), "user_tier": dict(m.user_tier), "team": dict(m.team)})

    @property
    def _owners(self) -> Mapping[str, str]:
        return {fp: team for team, entry in self.teams_.items() for fp in entry.key_fingerprints}

    def team_for(self, team_field: str | None, api_key: str | None) -> str:
        """The `team` label value of a request: the team of a configured API key decides; else
        the body's `team` field when it names a listed team; else `_other`."""
        if api_key:
            owner = self._owners.get(fingerprint(api_key))
            if owner is not None:
                return owner
        if team_field and team_field in self.teams_:
            return team_field
        return OTHER_TEAM

    @property
    def path(self) -> Path:
        return Path(self.source)


class BudgetsError(ValueError):
    """The budgets file is missing or malformed; the message names the file and the key."""


def load_budgets(path: Path | str | None = None) -> Budgets:
    """Read and validate a budgets file (default: $LLM_BUDGETS_FILE, else the bundled one);
    BudgetsError names the file and the bad key."""
    return _load(Path(path if path is not None else active_budgets_file()).resolve())


@cache
def _load(path: Path) -> Budgets:
    data = read_mapping(
        path,
        BudgetsError,
        reading="cannot read the budgets file",
        shape="the top level must be a mapping with `monthly_usd:` (and optionally `teams:`)",
    )
    unknown = sorted(set(data) - {"monthly_usd", "teams"})
    if unknown:
        raise BudgetsError(f"{path}: {unknown[0]}: unknown key (expected monthly_usd, teams)")
    # A team listed with nothing under it (`batch:`) is a team without keys.
    teams = data.get("teams") or {}
    if isinstance(teams, Mapping):
        teams = {name: ({} if entry is None else entry) for name, entry in teams.items()}
    try:
        return Budgets.model_validate({**data, "teams": teams, "source": str(path)})
    except ValidationError as exc:
        raise BudgetsError(f"{path}: {problems(exc, _public_loc)}") from None


def _public_loc(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    # Keys as the file spells them; "[key]" is pydantic's marker for a bad dict key.
    return tuple(p for p in loc if p != "[key]")


def active_budgets_file(environ: Mapping[str, str] | None = None) -> Path:
    """The budgets file this process uses: $LLM_BUDGETS_FILE, else the bundled one."""
    value = (os.environ if environ is None else environ).get(ENV_VAR, "").strip()
    return Path(value) if value else DEFAULT_BUDGETS_FILE


_USAGE = """usage: python -m demo_app.budgets fingerprint   (reads one API key from stdin)
       python -m demo_app.budgets check [FILE]     (validates a budgets file, default $LLM_BUDGETS_FILE)"""


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: `fingerprint` prints the fingerprint of the key on stdin; `check` validates a file."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["fingerprint"] and len(args) == 1:
        if sys.stdin.isatty():
            print("paste the API key, then press Enter:", file=sys.stderr)
        key = sys.stdin.readline().strip()
        if not key:
            print("no key on stdin", file=sys.stderr)
            return 2
        print(fingerprint(key))
        return 0
    if args[:1] == ["check"] and len(args) <= 2:
        try:
            budgets = load_budgets(args[1] if len(args) == 2 else None)
        except BudgetsError as exc:
            print(exc, file=sys.stderr)
            return 1
        print(f"{budgets.source}: ok, teams {', '.join(budgets.teams) or 'none'}")
        return 0
    print(_USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
