"""bench/overhead_ab.py's arm specs and bench/profile_summary.py's attribution of samples to telemetry parts."""

from __future__ import annotations

import subprocess

from bench._common import ROOT
from bench.overhead_ab import parse_arm
from bench.profile_summary import part_of, summarise


def test_arm_spec_gives_tree_and_environment(tmp_path) -> None:
    name, path, env = parse_arm("new|.|OTEL_TRACES_SAMPLER=parentbased_traceidratio, OTEL_TRACES_SAMPLER_ARG=0.05", tmp_path)
    assert (name, path) == ("new", str(ROOT))
    assert env["OTEL_TRACES_SAMPLER"] == "parentbased_traceidratio" and env["OTEL_TRACES_SAMPLER_ARG"] == "0.05"
    assert env["OTEL_SDK_DISABLED"] == "false"  # always-on unless the spec says otherwise
    shim = tmp_path / "shim"
    shim.mkdir()
    _, path, env = parse_arm(f"base|{shim}:.|", tmp_path)
    assert path == f"{shim}:{ROOT}" and env["OTEL_TRACES_SAMPLER"] == "parentbased_always_on"


def test_arm_from_a_git_revision_is_exported_not_checked_out(tmp_path) -> None:
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    _, path, _ = parse_arm(f"base|@{head}|", tmp_path)
    assert path.startswith(str(tmp_path)) and (tmp_path / head / "demo_app" / "contract.yaml").is_file()


def test_innermost_library_frame_decides_the_part(tmp_path) -> None:
    site = "/venv/lib/python3.11/site-packages"
    server = f"run_asgi ({site}/uvicorn/protocols/http/h11_impl.py:407)"
    otel_mw = f"OpenTelemetryMiddleware.__call__ ({site}/opentelemetry/instrumentation/asgi/__init__.py:700)"
    stdlib_write = "_SelectorSocketTransport.write (/usr/lib/python3.11/asyncio/selector_events.py:1050)"
    starlette_send = f"Response.__call__ ({site}/starlette/responses.py:160)"
    encode = f"_encode_span ({site}/opentelemetry/exporter/otlp/proto/common/_internal/trace_encoder/__init__.py:80)"
    # The socket write belongs to whoever called it (Starlette), not to the OTel middleware around it.
    assert part_of([server, otel_mw, starlette_send, stdlib_write]).startswith("app, framework")
    assert part_of(["Thread._bootstrap (/usr/lib/python3.11/threading.py:1002)", encode]) == "export: OTLP protobuf encoding"
    assert part_of(["select (/usr/lib/python3.11/selectors.py:468)"]).startswith("stdlib only")
    profile = tmp_path / "p.txt"
    profile.write_text(f"{server};{otel_mw};{encode} 3\n{server};{starlette_send};{stdlib_write} 1\n")
    report = summarise(profile)
    assert "4 samples" in report and " 75.0%  export: OTLP protobuf encoding" in report
