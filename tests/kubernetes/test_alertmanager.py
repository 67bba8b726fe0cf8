"""The AlertmanagerConfig is alertmanager/alertmanager.yml converted, and nothing else.

Converting it back to Alertmanager's own format must give the source file again (with the
webhook URLs pointing at the cluster's alert receiver), which amtool then accepts.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

SOURCE = Path(__file__).resolve().parents[2] / "alertmanager" / "alertmanager.yml"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _matchers(items: list[dict]) -> list[str]:
    return [f'{m["name"]}{m["matchType"]}"{m["value"]}"' for m in items]


def _route(route: dict) -> dict:
    out = {}
    for key, value in route.items():
        if key == "matchers":
            out[key] = _matchers(value)
        elif key == "routes":
            out[key] = [_route(r) for r in value]
        else:
            out[_snake(key)] = value
    return out


def back_to_alertmanager(spec: dict) -> dict:
    inhibit = []
    for rule in spec.get("inhibitRules", []):
        back = {"source_matchers": _matchers(rule["sourceMatch"]), "target_matchers": _matchers(rule["targetMatch"])}
        if "equal" in rule:
            back["equal"] = rule["equal"]
        inhibit.append(back)
    receivers = [
        {"name": r["name"], "webhook_configs": [{_snake(k): v for k, v in h.items()} for h in r.get("webhookConfigs", [])]}
        for r in spec["receivers"]
    ]
    return {"route": _route(spec["route"]), "inhibit_rules": inhibit, "receivers": receivers}


def test_conversion_round_trips_to_the_source(of_kind):
    (amc,) = of_kind("AlertmanagerConfig")
    back = back_to_alertmanager(amc.obj["spec"])
    (url,) = {h["url"] for r in back["receivers"] for h in r["webhook_configs"]}
    source = yaml.safe_load(SOURCE.read_text())
    for receiver in source["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = url
    assert back == source


def test_amtool_accepts_the_converted_config(of_kind, amtool, tmp_path):
    (amc,) = of_kind("AlertmanagerConfig")
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(back_to_alertmanager(amc.obj["spec"])))
    done = subprocess.run([amtool, "check-config", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
