"""Load generator: realistic traffic for the demo app and the scenario catalogue that fires each alert."""

from demo_app.loadgen.catalogue import SCENARIOS, ExpectedAlert, Fault, Scenario, get_scenario
from demo_app.loadgen.driver import LoadStream, Stats, drive
from demo_app.loadgen.mix import DEFAULT_MIX, Mix, TrafficGenerator
from demo_app.loadgen.runner import RunResult, run_scenario
from demo_app.stack_urls import StackUrls

__all__ = [
    "SCENARIOS",
    "ExpectedAlert",
    "Fault",
    "Scenario",
    "get_scenario",
    "LoadStream",
    "Stats",
    "drive",
    "DEFAULT_MIX",
    "Mix",
    "TrafficGenerator",
    "RunResult",
    "run_scenario",
    "StackUrls",
]
