"""`python -m demo_app.native up|down|status [--state-dir .native]`: the stack without Docker.

`up` starts every component in the background, the error tracker (Bugsink) included unless
--no-tracker or the `bugsink` package is missing, and returns (`--foreground` keeps it in
the terminal until Ctrl-C); the pids and URLs go to <state-dir>/pids.json and urls.json,
which `down`, `status` and `python -m demo_app.loadgen run NAME --stack <state-dir>` read.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from demo_app.native.stack import COMPONENTS, NativeStack, read_state, status_from_state, stop_from_state
from demo_app.native.tracker import tracker_installed


def _ports(pairs: list[str]) -> dict[str, int]:
    ports = {}
    for pair in pairs:
        name, _, port = pair.partition("=")
        if name not in COMPONENTS or not port.isdigit():
            raise SystemExit(f"--port wants NAME=PORT with NAME one of {', '.join(COMPONENTS)}; got {pair!r}")
        ports[name] = int(port)
    return ports


def cmd_up(args: argparse.Namespace) -> int:
    state_dir = Path(args.state_dir)
    running = status_from_state(state_dir)
    if running and all(s == "up" for s in running.values()):
        print(f"already running (state in {state_dir}):")
        print((state_dir / "urls.json").read_text(encoding="utf-8"))
        return 0
    if running:
        stop_from_state(state_dir)  # a half-dead stack: start clean
    tracker = not args.no_tracker and tracker_installed()
    if not args.no_tracker and not tracker:
        print("error tracker skipped: the `bugsink` package is not installed (make venv installs it)")
    stack = NativeStack(state_dir, latency_scale=args.latency_scale, seed=args.seed, ports=_ports(args.port), tracker=tracker)
    try:
        stack.start()
    except Exception as exc:
        print(f"native stack did not start: {exc}", file=sys.stderr)
        return 1
    rw = stack.rewrites["prometheus"]
    print(f"native stack up; state and logs in {stack.state_dir}")
    print(f"  scrape targets rewritten: {len(rw.targets)}; dropped jobs (no native counterpart): {', '.join(rw.dropped_jobs) or '-'}")
    width = max(len(k) for k in stack.all_urls())
    for name, url in stack.all_urls().items():
        print(f"  {name:<{width}}  {url}")
    if stack.tracker is not None:
        print(f"  error tracker (Bugsink): {stack.tracker.url}  login {stack.tracker.admin_email}, password in {stack.tracker.credentials_file}")
        print(f"  its DSN (SENTRY_DSN of app, llm-sim, alert-sink): {stack.tracker.dsn}")
    print(f"run a scenario: python -m demo_app.loadgen run error-spike --stack {args.state_dir}")
    if not args.foreground:
        return 0
    print("running in the foreground; Ctrl-C stops everything")
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    stack.stop()
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    stopped = stop_from_state(Path(args.state_dir))
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    state_dir = Path(args.state_dir)
    states = status_from_state(state_dir)
    if not states:
        print("not running")
        return 1
    recorded = read_state(state_dir)
    for name, state in states.items():
        print(f"  {name:<13} {state:<10} {recorded[name]['url']}")
    if args.json:
        print(json.dumps(states))
    return 0 if all(s == "up" for s in states.values()) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo_app.native", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # --state-dir is accepted after the subcommand (`up --state-dir X`), as the Makefile writes it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--state-dir", default=".native", help="configs, data, logs, pids.json and urls.json (default .native)")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", parents=[common], help="start the stack")
    up.add_argument("--port", action="append", default=[], metavar="NAME=PORT", help=f"fixed port for one of {', '.join(COMPONENTS)} (default: a free port)")
    up.add_argument("--latency-scale", type=float, default=1.0, help="LLM_SIM_LATENCY_SCALE for the simulator (1.0 = realistic)")
    up.add_argument("--seed", type=int, help="LLM_SIM_SEED for the simulator")
    up.add_argument("--foreground", action="store_true", help="stay attached; Ctrl-C stops the stack")
    up.add_argument("--no-tracker", action="store_true", help="do not start the error tracker (Bugsink); SENTRY_DSN stays unset")
    up.set_defaults(func=cmd_up)
    sub.add_parser("down", parents=[common], help="stop the stack").set_defaults(func=cmd_down)
    st = sub.add_parser("status", parents=[common], help="show each component's state")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_status)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
