#!/usr/bin/env bash
# Runs every example the way the README shows, checking what each prints.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "--- quickstart"
out=$(timeout 120 cargo run -q -p instrument-examples --example quickstart)
echo "$out" | head -5
# Spans, logs with a trace id, and the latency histogram, as JSON lines.
echo "$out" | grep -q '"kind":"span"'
echo "$out" | grep -q '"kind":"log".*"trace_id":"[0-9a-f]\{32\}"'
echo "$out" | grep -q '"name":"function_calls_duration_seconds"'
INSTRUMENT_STDOUT=pretty timeout 120 cargo run -q -p instrument-examples --example quickstart | grep -q '└─'
echo "quickstart ok"

echo "--- prometheus (scraped by a real Prometheus)"
bash ci/check_prometheus_example.sh

echo "--- otlp (to a real OTLP receiver, gRPC and HTTP)"
bash ci/check_otlp_example.sh

echo "--- web_service (axum: labels, traceparent in and out, /metrics)"
bash ci/check_web_example.sh
