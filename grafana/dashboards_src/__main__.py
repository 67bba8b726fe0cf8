"""Command line: `python -m grafana.dashboards_src [--check]` (run from the repository root)."""

from __future__ import annotations

import argparse
import sys

from .render import OUTPUT_DIR, render_all, write_all


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render grafana/dashboards/*.json from grafana/dashboards_src.")
    parser.add_argument("--check", action="store_true", help="only report dashboards whose JSON is out of date")
    args = parser.parse_args(argv)
    if args.check:
        stale = [
            name
            for name, text in render_all().items()
            if not (OUTPUT_DIR / name).exists() or (OUTPUT_DIR / name).read_text(encoding="utf-8") != text
        ]
        for name in stale:
            print(f"out of date: grafana/dashboards/{name} (run python -m grafana.dashboards_src)", file=sys.stderr)
        return 1 if stale else 0
    for path in write_all():
        print(f"wrote {path.relative_to(OUTPUT_DIR.parents[1])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
