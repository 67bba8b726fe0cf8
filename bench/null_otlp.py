"""An OTLP/HTTP receiver that accepts and discards everything, for measuring the sender alone.

The demo's own sink (demo_app.native.otlp_sink) decodes every protobuf into dicts so tests
can inspect spans; that costs CPU on the same cores as the app being measured. This one reads
the body, answers 200 with an empty (valid) export response and counts what it got
(GET /stats), so the overhead benchmark charges the app only for what the app does.
bench.peer.receiver extends `NullOtlpHandler` (its `on_export` and `stats` hooks) to decode
and count per arm; the replies and the server loop stay here.

    HOST=127.0.0.1 PORT=4318 python -m bench.null_otlp
"""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["NullOtlpHandler", "main"]

_stats = {"requests": 0, "bytes": 0}
_lock = threading.Lock()


class NullOtlpHandler(BaseHTTPRequestHandler):
    """Replies as a collector would; subclasses override `on_export` and `stats`."""

    protocol_version = "HTTP/1.1"  # keep-alive, as a real collector would

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, code: int, body: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def on_export(self, body: bytes) -> tuple[int, str] | None:
        """Take one export body; None accepts it, (status, message) refuses it."""
        with _lock:
            _stats["requests"] += 1
            _stats["bytes"] += len(body)
        return None

    def stats(self) -> dict[str, Any]:
        """What GET /stats serves."""
        with _lock:
            return dict(_stats)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        refused = self.on_export(body)
        if refused is not None:
            self._reply(refused[0], json.dumps({"error": refused[1][:200]}).encode(), "application/json")
            return
        # An empty Export*ServiceResponse is zero bytes; JSON senders get {}.
        if "json" in self.headers.get("Content-Type", ""):
            self._reply(200, b"{}", "application/json")
        else:
            self._reply(200, b"", "application/x-protobuf")

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._reply(200, b'{"status": "ok"}', "application/json")
        elif self.path == "/stats":
            self._reply(200, json.dumps(self.stats()).encode(), "application/json")
        else:
            self._reply(404, b"{}", "application/json")


def main(handler: type[NullOtlpHandler] = NullOtlpHandler) -> None:
    """Serve `handler` on HOST:PORT until interrupted."""
    server = ThreadingHTTPServer((os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "4318"))), handler)
    server.daemon_threads = True
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
