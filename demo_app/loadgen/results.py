"""Result records of scenario runs: append to a JSON file (a list), with the machine they ran on."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

__all__ = ["machine_info", "append_result", "read_results"]


def machine_info(**extra: Any) -> dict[str, Any]:
    """Where a timing was measured: timings mean little without the machine."""
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
    }
    with contextlib.suppress(OSError):
        info["os"] = platform.freedesktop_os_release().get("PRETTY_NAME", "")
    with contextlib.suppress(OSError):
        info["loadavg_1m"] = round(os.getloadavg()[0], 2)
    info.update({k: v for k, v in extra.items() if v is not None})
    return info


def read_results(path: Path) -> list[dict[str, Any]]:
    """The records in `path`, or [] when it does not exist yet."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    if not isinstance(data, list):
        raise ValueError(f"{path} must hold a JSON list of result records")
    return data


def append_result(path: Path, record: dict[str, Any]) -> None:
    """Append one record; written to a temporary file first so a crash never truncates the file."""
    path = Path(path)
    records = read_results(path)
    records.append(record)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(records, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
