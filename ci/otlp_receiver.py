#!/usr/bin/env python3
"""A real, independent OTLP receiver for tests: oteltest's OTLP sink, on 127.0.0.1.

Usage: otlp_receiver.py --grpc-port N --http-port M --out FILE [--max-lifetime SECONDS]
                        [--tls-cert PEM --tls-key PEM [--client-ca PEM]]
                        [--partial-success N]

Starts oteltest's gRPC and HTTP sinks (traces, logs, metrics; requests decoded with the
official generated opentelemetry-proto types) bound to 127.0.0.1 on the given ports, not
oteltest's default 0.0.0.0:4317/4318, so parallel tests never collide. Every request
received is appended to FILE as one JSON object per line:

    {"signal": "traces"|"logs"|"metrics", "transport": "grpc"|"http",
     "headers": {...}, "request": <MessageToDict of the Export*ServiceRequest>}

Ids (traceId, spanId, parentSpanId) are written as lowercase hex, as OTLP/JSON does:
json_format would write these bytes fields as base64. Other fields follow protobuf's JSON
mapping (camelCase names, 64-bit integers as strings).

Options for the production-backend tests (all off by default):
- --tls-cert/--tls-key: both sinks serve TLS only (gRPC: grpcio's ssl_server_credentials;
  HTTP: oteltest's HTTP server socket wrapped by Python's ssl module); with --client-ca the
  client must present a certificate signed by that CA (mTLS).
- gzip request bodies are always accepted: gRPC decompresses them itself, HTTP bodies with
  `Content-Encoding: gzip` are decompressed before oteltest decodes them.
- --partial-success N: every Export answer carries an OTLP partial success rejecting
  min(N, records in the request) spans/log records/data points, with the message
  "test receiver rejected <n>" (gRPC and HTTP). Received requests are still recorded.

gRPC keeps grpcio's default receive limit (4 MiB): larger messages are refused with
RESOURCE_EXHAUSTED.

Prints "READY" on stdout once both ports listen. Exits when its parent process dies, on
SIGTERM/SIGINT, or after --max-lifetime seconds (default 300), so it can never outlive CI.
"""

import argparse
import base64
import ctypes
import gzip
import json
import logging
import os
import signal
import socketserver
import ssl
import sys
import threading
import time
from concurrent import futures
from http.server import HTTPServer

import grpc  # type: ignore
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import (
    metrics_service_pb2,
    metrics_service_pb2_grpc,
)
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

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


def count_records(signal_name, request):
    """Spans, log records or data points in an Export*ServiceRequest."""
    total = 0
    if signal_name == "traces":
        for rs in request.resource_spans:
            for ss in rs.scope_spans:
                total += len(ss.spans)
    elif signal_name == "logs":
        for rl in request.resource_logs:
            for sl in rl.scope_logs:
                total += len(sl.log_records)
    else:
        for rm in request.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    kind = metric.WhichOneof("data")
                    if kind:
                        total += len(getattr(metric, kind).data_points)
    return total


RESPONSES = {
    "traces": (trace_service_pb2.ExportTraceServiceResponse, "rejected_spans"),
    "logs": (logs_service_pb2.ExportLogsServiceResponse, "rejected_log_records"),
    "metrics": (metrics_service_pb2.ExportMetricsServiceResponse, "rejected_data_points"),
}


def response_for(signal_name, request, reject):
    """The Export*ServiceResponse: empty, or a partial success rejecting up to `reject`."""
    response_class, field = RESPONSES[signal_name]
    response = response_class()
    if reject is not None:
        n = min(reject, count_records(signal_name, request))
        setattr(response.partial_success, field, n)
        response.partial_success.error_message = f"test receiver rejected {n}"
    return response


class Servicer:
    """One Export method: records the request, answers (maybe) a partial success."""

    def __init__(self, signal_name, handle, reject):
        self.signal_name = signal_name
        self.handle = handle
        self.reject = reject

    def Export(self, request, context):  # noqa: N802 (gRPC method name)
        self.handle(request, dict(context.invocation_metadata()))
        return response_for(self.signal_name, request, self.reject)


class LoopbackGrpcSink(sink.GrpcSink):
    """oteltest's GrpcSink with the same servicers, bound to 127.0.0.1:port only."""

    def __init__(self, request_handler, logger, port, tls=None, reject=None):  # noqa: D107
        # (no super: it binds 0.0.0.0)
        self.svr = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        if reject is None:
            trace = _TraceServiceServicer(request_handler.handle_trace)
            metrics = _MetricsServiceServicer(request_handler.handle_metrics)
            logs = _LogsServiceServicer(request_handler.handle_logs)
        else:
            trace = Servicer("traces", request_handler.handle_trace, reject)
            metrics = Servicer("metrics", request_handler.handle_metrics, reject)
            logs = Servicer("logs", request_handler.handle_logs, reject)
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(trace, self.svr)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(metrics, self.svr)
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(logs, self.svr)
        self.logger = logger
        self.port = port
        address = f"{LOOPBACK}:{port}"
        if tls is None:
            bound = self.svr.add_insecure_port(address)
        else:
            cert, key, client_ca = tls
            credentials = grpc.ssl_server_credentials(
                [(read_bytes(key), read_bytes(cert))],
                root_certificates=read_bytes(client_ca) if client_ca else None,
                require_client_auth=client_ca is not None,
            )
            bound = self.svr.add_secure_port(address, credentials)
        if bound != port:
            raise sink.PortInUseError(f"cannot bind {address}")


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def server_tls_context(cert, key, client_ca):
    """A server-side SSLContext; with client_ca, clients must present a certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    if client_ca:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca)
    return context


# oteltest decodes HTTP bodies as they come; OTLP/HTTP clients may gzip them.
_oteltest_parse_request = sink._parse_request


def _parse_maybe_gzip(post_data, headers, request_class):
    encoding = {str(k).lower(): str(v) for k, v in dict(headers or {}).items()}
    if encoding.get("content-encoding", "").strip().lower() == "gzip":
        post_data = gzip.decompress(post_data)
    return _oteltest_parse_request(post_data, headers, request_class)


sink._parse_request = _parse_maybe_gzip


class LoopbackHTTPServer(HTTPServer):
    """The HTTPServer oteltest's HttpSink creates, forced onto 127.0.0.1 (and TLS if set)."""

    allow_reuse_address = True
    tls_context = None  # set by main() for --tls-cert

    def __init__(self, address, handler):
        super().__init__((LOOPBACK, address[1]), handler)
        handler.log_message = lambda *_args: None  # keep stderr for real problems
        if self.tls_context is not None:
            self.socket = self.tls_context.wrap_socket(self.socket, server_side=True)

    def handle_error(self, request, client_address):
        # A client that fails the TLS handshake (the wrong-CA test) is expected; anything
        # else is printed.
        import traceback

        if not isinstance(sys.exc_info()[1], ssl.SSLError):
            traceback.print_exc()


class ThreadingLoopbackHTTPServer(socketserver.ThreadingMixIn, LoopbackHTTPServer):
    """One thread per connection: the partial-success handler keeps connections alive."""

    daemon_threads = True


def partial_success_http_handler(request_handler, reject):
    """An HTTP handler answering OTLP/HTTP with a protobuf partial success (oteltest's own
    answers "OK" as text/html). Decodes with the official generated types like oteltest."""
    from http.server import BaseHTTPRequestHandler

    paths = {
        "/v1/traces": ("traces", trace_service_pb2.ExportTraceServiceRequest,
                       request_handler.handle_trace),
        "/v1/logs": ("logs", logs_service_pb2.ExportLogsServiceRequest,
                     request_handler.handle_logs),
        "/v1/metrics": ("metrics", metrics_service_pb2.ExportMetricsServiceRequest,
                        request_handler.handle_metrics),
    }

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args):
            pass

        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if (self.headers.get("Content-Encoding") or "").lower() == "gzip":
                body = gzip.decompress(body)
            target = paths.get(self.path)
            if target is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            signal_name, request_class, handle = target
            request = request_class()
            request.ParseFromString(body)
            handle(request, dict(self.headers))
            answer = response_for(signal_name, request, reject).SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    return Handler


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
    parser.add_argument("--tls-cert", help="PEM certificate: serve TLS only")
    parser.add_argument("--tls-key", help="PEM private key of --tls-cert")
    parser.add_argument("--client-ca", help="PEM CA: require client certificates (mTLS)")
    parser.add_argument("--partial-success", type=int, default=None,
                        help="answer every export with a partial success rejecting N")
    args = parser.parse_args()
    tls = None
    if args.tls_cert:
        tls = (args.tls_cert, args.tls_key, args.client_ca)
        LoopbackHTTPServer.tls_context = server_tls_context(*tls)

    parent = os.getppid()
    die_with_parent()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    logging.basicConfig(level=logging.WARNING)
    logger = logging.getLogger("otlp_receiver")
    lock = threading.Lock()
    out = open(args.out, "a", encoding="utf-8")  # noqa: SIM115 (closed at exit)

    grpc_sink = LoopbackGrpcSink(
        JsonLinesHandler(out, lock, "grpc"), logger, args.grpc_port, tls, args.partial_success
    )
    grpc_sink.start()
    if args.partial_success is None:
        start_http_sink(JsonLinesHandler(out, lock, "http"), logger, args.http_port)
    else:
        handler = partial_success_http_handler(
            JsonLinesHandler(out, lock, "http"), args.partial_success
        )
        server = ThreadingLoopbackHTTPServer(("", args.http_port), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()

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
