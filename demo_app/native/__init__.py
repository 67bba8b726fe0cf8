"""Native mode: the stack without Docker (Debian's Prometheus and Alertmanager plus the demo as processes)."""

from demo_app.native.stack import COMPONENTS, NativeStack, status_from_state, stop_from_state

__all__ = ["NativeStack", "COMPONENTS", "status_from_state", "stop_from_state"]
