"""The runbooks page: runbooks.md (next to this module) rendered as HTML, one anchor per heading.

Every alert's `runbook_url` is `<runbook base URL>#<alert name in lower case>`; the base URL
is the alert receiver's `/runbooks` unless a team points it elsewhere (prometheus.yml,
`global.external_labels.runbook_base_url`). Anchors are GitHub's: the heading in lower case,
spaces to dashes, other punctuation dropped, so the same links work on the rendered file.
"""

from __future__ import annotations

import html
from functools import cache
from itertools import pairwise
from pathlib import Path

from markdown_it import MarkdownIt

__all__ = ["RUNBOOKS_MD", "anchor", "heading_anchors", "render_runbooks"]

RUNBOOKS_MD = Path(__file__).with_name("runbooks.md")

_STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1f2328; }
h1, h2 { border-bottom: 1px solid #d1d9e0; padding-bottom: .3em; }
h2 { margin-top: 2.5rem; }
:target { background: #fff8c5; }
code { font: 85% ui-monospace, monospace; background: #f0f2f4; padding: .15em .3em; border-radius: 4px; }
pre { background: #f6f8fa; padding: 1rem; overflow-x: auto; border-radius: 6px; }
pre code { background: none; padding: 0; }
table { border-collapse: collapse; }
th, td { border: 1px solid #d1d9e0; padding: .3rem .7rem; text-align: left; }
"""


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: `SLO windows: demo and production` -> `slo-windows-demo-and-production`."""
    return "".join(ch for ch in heading.strip().lower().replace(" ", "-") if ch.isalnum() or ch in "-_")


def heading_anchors(text: str) -> set[str]:
    """Anchors of the `##` headings of a runbooks file (one per alert, plus a few topics)."""
    return {anchor(line[3:]) for line in text.splitlines() if line.startswith("## ")}


@cache
def render_runbooks(path: Path = RUNBOOKS_MD) -> str:
    """The whole HTML page (rendered once per process: the file ships with the package)."""
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(path.read_text(encoding="utf-8"))
    title = "Runbooks"
    for opening, inline in pairwise(tokens):
        if opening.type == "heading_open":
            opening.attrSet("id", anchor(inline.content))
            if opening.tag == "h1":
                title = inline.content
    body = md.renderer.render(tokens, md.options, {})
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)} - llm-obs-stack</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n{body}</body>\n</html>\n"
    )
