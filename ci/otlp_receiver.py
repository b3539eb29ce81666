#!/usr/bin/env python3
"""A real, independent OTLP receiver for tests: oteltest's OTLP sink, on 127.0.0.1.

Usage: otlp_receiver.py --grpc-port N --http-port M --out FILE [--max-lifetime SECONDS]

Starts oteltest's gRPC and HTTP sinks (traces, logs, metrics; requests decoded with the
official generated opentelemetry-proto types) bound to 127.0.0.1 on the given ports, not
oteltest's default 0.0.0.0:4317/4318, so parallel tests never collide. Every request
received is appended to FILE as one JSON object per line:

    {"signal": "traces"|"logs"|"metrics", "transport": "grpc"|"http",
     "headers": {...}, "request": <MessageToDict of the Export*ServiceRequest>}

Ids (traceId, spanId, parentSpanId) are written as lowercase hex, as OTLP/JSON does:
json_format would write these bytes fields as base64. Other fields follow protobuf's JSON
mapping (camelCase names, 64-bit integers as strings).

Prints "READY" on stdout once both ports listen. Exits when its parent process dies, on
SIGTERM/SIGINT, or after --max-lifetime seconds (default 300), so it can never outlive CI.
"""

import argparse
import base64
import ctypes
import json
import logging
import os
import signal
import sys
import threading
import time
from concurrent import futures
from http.server import HTTPServer

import grpc  # type: ignore
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

import oteltest.sink as sink
from oteltest.sink.handler import RequestHandler
from oteltest.sink.private import (
    _LogsServiceServicer,
    _MetricsServiceServicer,
    _TraceServiceServicer,
)

ID_FIELDS = ("traceId", "spanId", "parentSpanId")
LOOPBACK = "127.0.0.1"


def hex_ids(node):
    """Rewrites base64 id fields (json_format's rendering of bytes) as lowercase hex."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ID_FIELDS and isinstance(value, str):
                node[key] = base64.b64decode(value).hex()
            else:
                hex_ids(value)
    elif isinstance(node, list):
        for item in node:
            hex_ids(item)
    return node


class JsonLinesHandler(RequestHandler):
    """Appends every decoded request to a file, one JSON object per line."""

    def __init__(self, out, lock, transport):
        self.out = out
        self.lock = lock
        self.transport = transport

    def _write(self, signal_name, request, headers):
        record = {
            "signal": signal_name,
            "transport": self.transport,
            "headers": {str(k).lower(): str(v) for k, v in dict(headers or {}).items()},
            "request": hex_ids(MessageToDict(request)),
        }
        line = json.dumps(record, sort_keys=True)
        with self.lock:
            self.out.write(line + "\n")
            self.out.flush()

    def handle_trace(self, request, headers):
        self._write("traces", request, headers)

    def handle_logs(self, request, headers):
        self._write("logs", request, headers)

    def handle_metrics(self, request, headers):
        self._write("metrics", request, headers)


class LoopbackGrpcSink(sink.GrpcSink):
    """oteltest's GrpcSink with the same servicers, bound to 127.0.0.1:port only."""

    def __init__(self, request_handler, logger, port):  # noqa: D107 (no super: it binds 0.0.0.0)
        self.svr = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(
            _TraceServiceServicer(request_handler.handle_trace), self.svr
        )
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(
            _MetricsServiceServicer(request_handler.handle_metrics), self.svr
        )
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(
            _LogsServiceServicer(request_handler.handle_logs), self.svr
        )
        self.logger = logger
        self.port = port
        if self.svr.add_insecure_port(f"{LOOPBACK}:{port}") != port:
            raise sink.PortInUseError(f"cannot bind {LOOPBACK}:{port}")


class LoopbackHTTPServer(HTTPServer):
    """The HTTPServer oteltest's HttpSink creates, forced onto 127.0.0.1."""

    allow_reuse_address = True

    def __init__(self, address, handler):
        super().__init__((LOOPBACK, address[1]), handler)
        handler.log_message = lambda *_args: None  # keep stderr for real problems


def start_http_sink(listener, logger, port):
    """Starts oteltest's HttpSink (its own request handler and decoding) on 127.0.0.1."""
    # HttpSink.run_server looks HTTPServer up in its module: point it at the loopback one.
    sink.HTTPServer = LoopbackHTTPServer
    http_sink = sink.HttpSink(listener, logger, port=port, daemon=True)
    http_sink.start()
    return http_sink


def die_with_parent():
    """Asks Linux to SIGTERM us when the parent dies (the poll in main() is the fallback)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def wait_listening(port, deadline):
    import socket

    while time.monotonic() < deadline:
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grpc-port", type=int, required=True)
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--out", required=True, help="file to append JSON lines to")
    parser.add_argument("--max-lifetime", type=float, default=300.0)
    args = parser.parse_args()

    parent = os.getppid()
    die_with_parent()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    logging.basicConfig(level=logging.WARNING)
    logger = logging.getLogger("otlp_receiver")
    lock = threading.Lock()
    out = open(args.out, "a", encoding="utf-8")  # noqa: SIM115 (closed at exit)

    grpc_sink = LoopbackGrpcSink(JsonLinesHandler(out, lock, "grpc"), logger, args.grpc_port)
    grpc_sink.start()
    start_http_sink(JsonLinesHandler(out, lock, "http"), logger, args.http_port)

    ready_by = time.monotonic() + 10
    if not (wait_listening(args.grpc_port, ready_by) and wait_listening(args.http_port, ready_by)):
        print("receiver did not start listening", file=sys.stderr, flush=True)
        os._exit(2)
    print("READY", flush=True)

    end = time.monotonic() + args.max_lifetime
    while not stop.is_set() and time.monotonic() < end and os.getppid() == parent:
        stop.wait(0.5)

    grpc_sink.stop()
    out.close()
    # The HTTP sink's thread is a daemon blocked in serve_forever: exit without joining it.
    os._exit(0)


if __name__ == "__main__":
    main()
