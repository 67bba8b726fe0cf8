"""Command line of the load generator: `python -m demo_app.loadgen [scenarios|traffic|run] ...`.

  scenarios                      list every scenario, the alert it fires and its budget (the default)
  traffic --app-url URL --rate R [--duration S] [--count N]
                                 steady realistic traffic (compose's `traffic` service)
  run NAME (--stack DIR | --app-url ... --sim-url ... --prometheus-url ... --alertmanager-url ... --sink-url ... --tools-url ...)
                                 stage one scenario and watch its alert arrive; exit 0 only if it did in budget
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from pathlib import Path

from demo_app.loadgen.catalogue import SCENARIOS, get_scenario
from demo_app.loadgen.corpus import load_corpus
from demo_app.loadgen.display import make_display
from demo_app.loadgen.driver import LoadStream, Stats, drive
from demo_app.loadgen.results import append_result
from demo_app.loadgen.runner import format_summary, run_scenario
from demo_app.stack_urls import StackUrls


def _install_stop(stop: asyncio.Event) -> None:
    """Ctrl-C and SIGTERM end the run cleanly (faults removed, in-flight requests finished)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


def cmd_scenarios(_: argparse.Namespace) -> int:
    width = max(len(s.name) for s in SCENARIOS)
    print(f"{'scenario':<{width}}  {'budget':>6}  fires")
    for s in SCENARIOS:
        fires = " + ".join(str(a) for a in s.expected)
        print(f"{s.name:<{width}}  {s.budget_s:>5.0f}s  {fires}")
        print(f"{'':<{width}}          {s.description}")
        if s.inhibited:
            print(f"{'':<{width}}          and inhibits: {', '.join(str(a) for a in s.inhibited)}")
    print("\nrun one: python -m demo_app.loadgen run NAME --stack .native   (or the five --*-url flags)")
    return 0


async def _traffic(args: argparse.Namespace) -> Stats:
    stop = asyncio.Event()
    _install_stop(stop)
    stats = Stats()
    docs = load_corpus()
    task = asyncio.create_task(
        drive(
            args.app_url, [LoadStream(rate=args.rate)], docs,
            duration_s=args.duration, count=args.count, seed=args.seed, stats=stats, stop=stop, concurrency=args.concurrency,
        )
    )
    started = time.monotonic()
    while not task.done():
        await asyncio.wait({task}, timeout=args.report_every)
        s = stats.as_dict()
        print(
            f"[{time.monotonic() - started:7.0f}s] sent={s['sent']} ok={s['ok']} 429={s['rate_limited']} "
            f"4xx={s['client_errors']} 5xx={s['server_errors']} transport={s['transport_errors']} p95={'-' if s['p95_s'] is None else s['p95_s']}s",
            flush=True,
        )
    return task.result()


def cmd_traffic(args: argparse.Namespace) -> int:
    if args.duration is None and args.count is None:
        print("traffic needs --duration and/or --count: it always stops by itself", file=sys.stderr)
        return 2
    asyncio.run(_traffic(args))
    return 0


def _urls(args: argparse.Namespace) -> StackUrls:
    if args.stack:
        return StackUrls.from_state_dir(Path(args.stack))
    flags = {"app": args.app_url, "sim": args.sim_url, "prometheus": args.prometheus_url, "alertmanager": args.alertmanager_url, "sink": args.sink_url,
             "tools": args.tools_url}
    missing = [f"--{k}-url" for k, v in flags.items() if not v]
    if missing:
        raise SystemExit(f"give --stack DIR or every URL flag (missing: {', '.join(missing)})")
    return StackUrls(**flags)


async def _run(args: argparse.Namespace) -> int:
    scenario = get_scenario(args.name)
    urls = _urls(args)
    stop = asyncio.Event()
    _install_stop(stop)
    display = make_display()
    try:
        result = await run_scenario(
            scenario,
            urls,
            budget_s=args.budget,
            wait_resolved=args.wait_resolved,
            resolve_timeout_s=args.resolve_timeout,
            seed=args.seed,
            display=display,
            stop=stop,
        )
    finally:
        display.close()
    print(format_summary(result))
    if args.results:
        append_result(Path(args.results), result.record())
        print(f"result appended to {args.results}")
    if result.interrupted:
        return 130
    return 0 if result.ok else 1


def cmd_run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_run(args))
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 2
    except (RuntimeError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m demo_app.loadgen", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")

    sub.add_parser("scenarios", help="list the scenarios").set_defaults(func=cmd_scenarios)

    t = sub.add_parser("traffic", help="steady realistic traffic, bounded by duration and/or count")
    t.add_argument("--app-url", required=True)
    t.add_argument("--rate", type=float, default=1.0, help="mean requests per second (Poisson arrivals)")
    t.add_argument("--duration", type=float, help="stop after this many seconds")
    t.add_argument("--count", type=int, help="stop after this many requests")
    t.add_argument("--seed", type=int)
    t.add_argument("--concurrency", type=int, default=32)
    t.add_argument("--report-every", type=float, default=30.0, help="seconds between status lines")
    t.set_defaults(func=cmd_traffic)

    r = sub.add_parser("run", help="stage one scenario and wait for its alert")
    r.add_argument("name", help="scenario name (see `scenarios`)")
    r.add_argument("--stack", help="state dir of a native stack (reads its urls.json) instead of the URL flags")
    r.add_argument("--app-url")
    r.add_argument("--sim-url")
    r.add_argument("--prometheus-url")
    r.add_argument("--alertmanager-url")
    r.add_argument("--sink-url")
    r.add_argument("--tools-url", help="the MCP tool server (its /faults)")
    r.add_argument("--budget", type=float, help="seconds the alert may take (default: the scenario's)")
    r.add_argument("--wait-resolved", action="store_true", help="after clearing the fault, wait for the resolved notification")
    r.add_argument("--resolve-timeout", type=float, default=300.0)
    r.add_argument("--results", help="append a result record to this JSON file")
    r.add_argument("--seed", type=int)
    r.set_defaults(func=cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not getattr(args, "func", None):
        return cmd_scenarios(args)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
