"""A stand-in OpenTelemetry collector: accepts OTLP/HTTP exports and counts them.

The service only builds, batches, encodes and sends spans when an exporter is configured, so
measuring "telemetry on" needs somewhere to send them. This sink answers every export with 200
(an empty protobuf body is a full success) and counts batches and bytes per signal. Trace
batches are kept and decoded only when `GET /stats` asks for the span count, after the
measurement: a real collector does its work on another machine, and decoding while the load
runs would take CPU from this two-core machine's load generator and server. It runs as its own
process, `python benchmarks/otlp_sink.py`, and prints the port it listens on.
"""

from __future__ import annotations

import json
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

HOST = "127.0.0.1"
SIGNALS = {"/v1/traces": "traces", "/v1/metrics": "metrics"}


class Counters:
    """Batches, bytes and spans received, per signal; handlers run on several threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = {signal: {"batches": 0, "bytes": 0} for signal in SIGNALS.values()}
        self._undecoded: list[bytes] = []
        self._spans = 0

    def add(self, signal: str, body: bytes) -> None:
        with self._lock:
            self._counts[signal]["batches"] += 1
            self._counts[signal]["bytes"] += len(body)
            if signal == "traces":
                self._undecoded.append(body)

    def snapshot(self) -> dict[str, object]:
        """The counts so far; decodes the trace batches received since the last snapshot."""
        with self._lock:
            self._spans += sum(count_spans(body) for body in self._undecoded)
            self._undecoded.clear()
            return {
                **{name: dict(count) for name, count in self._counts.items()},
                "spans": self._spans,
            }


def count_spans(body: bytes) -> int:
    """Spans in one encoded `ExportTraceServiceRequest`."""
    export = ExportTraceServiceRequest.FromString(body)
    return sum(
        len(scope.spans) for resource in export.resource_spans for scope in resource.scope_spans
    )


class SinkHandler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1, as the OTLP exporter's session expects."""

    protocol_version = "HTTP/1.1"
    counters = Counters()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        signal = SIGNALS.get(self.path)
        if signal is None:
            self._answer(HTTPStatus.NOT_FOUND, b"")
            return
        self.counters.add(signal, body)
        self._answer(HTTPStatus.OK, b"", "application/x-protobuf")

    def do_GET(self) -> None:
        if self.path != "/stats":
            self._answer(HTTPStatus.NOT_FOUND, b"")
            return
        self._answer(
            HTTPStatus.OK, json.dumps(self.counters.snapshot()).encode(), "application/json"
        )

    def _answer(self, status: HTTPStatus, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Silent: a line per export would only add noise to the benchmark's output."""


def main() -> None:
    server = ThreadingHTTPServer((HOST, 0), SinkHandler)
    server.daemon_threads = True
    sys.stdout.write(f"{server.server_address[1]}\n")
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
