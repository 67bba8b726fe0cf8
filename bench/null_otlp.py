"""An OTLP/HTTP receiver that accepts and discards everything, for measuring the sender alone.

The demo's own sink (demo_app.native.otlp_sink) decodes every protobuf into dicts so tests
can inspect spans; that costs CPU on the same cores as the app being measured. This one reads
the body, answers 200 with an empty (valid) export response and counts what it got
(GET /stats), so the overhead benchmark charges the app only for what the app does.

    HOST=127.0.0.1 PORT=4318 python -m bench.null_otlp
"""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["main"]

_stats = {"requests": 0, "bytes": 0}
_lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real collector would

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, code: int, body: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        size = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(size)
        with _lock:
            _stats["requests"] += 1
            _stats["bytes"] += size
        # An empty ExportTraceServiceResponse / ExportLogsServiceResponse is zero bytes.
        self._reply(200, b"", "application/x-protobuf")

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._reply(200, b'{"status": "ok"}', "application/json")
        elif self.path == "/stats":
            with _lock:
                self._reply(200, json.dumps(_stats).encode(), "application/json")
        else:
            self._reply(404, b"{}", "application/json")


def main() -> None:
    server = ThreadingHTTPServer((os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "4318"))), _Handler)
    server.daemon_threads = True
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
