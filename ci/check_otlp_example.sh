#!/usr/bin/env bash
# Runs `cargo run --example otlp` against a real OTLP receiver (PyPI's oteltest sink, from
# ./.venv, see ci/setup_otlp_receiver.sh) on 127.0.0.1, over gRPC and over HTTP/protobuf, and
# checks what the receiver decoded: spans with parent links, logs with the spans' ids,
# metrics. The receiver is stopped by pid on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${INSTRUMENT_OTLP_PYTHON:-.venv/bin/python}"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

cargo build -q -p instrument-example-otlp --example otlp

for protocol in grpc http/protobuf; do
    grpc=$(free_port); http=$(free_port); out="$work/received-${protocol//\//-}.jsonl"
    "$PY" ci/otlp_receiver.py --grpc-port "$grpc" --http-port "$http" --out "$out" \
        --max-lifetime 120 >"$work/receiver.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 150); do grep -q READY "$work/receiver.log" && break; sleep 0.2; done
    grep -q READY "$work/receiver.log" || { cat "$work/receiver.log"; exit 1; }
    if [ "$protocol" = grpc ]; then endpoint="http://127.0.0.1:$grpc"; else endpoint="http://127.0.0.1:$http"; fi
    echo "--- otlp example over $protocol -> $endpoint"
    OTEL_EXPORTER_OTLP_PROTOCOL="$protocol" OTEL_EXPORTER_OTLP_ENDPOINT="$endpoint" \
        timeout 60 cargo run -q -p instrument-example-otlp --example otlp
    sleep 0.5
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
    python3 - "$out" <<'PY'
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
spans = [s for r in reqs if r["signal"] == "traces"
         for rs in r["request"]["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
logs = [l for r in reqs if r["signal"] == "logs"
        for rl in r["request"]["resourceLogs"] for sl in rl["scopeLogs"] for l in sl["logRecords"]]
metrics = [m for r in reqs if r["signal"] == "metrics"
           for rm in r["request"]["resourceMetrics"] for sm in rm["scopeMetrics"] for m in sm["metrics"]]
services = {a["value"]["stringValue"] for r in reqs
            for res in (r["request"].get("resourceSpans", []) + r["request"].get("resourceLogs", [])
                        + r["request"].get("resourceMetrics", []))
            for a in res["resource"]["attributes"] if a["key"] == "service.name"}
assert services == {"otlp-example"}, services
by_id = {s["spanId"]: s for s in spans}
names = sorted(s["name"] for s in spans)
assert names == sorted(["checkout"] * 3 + ["load_cart"] * 3 + ["charge"] * 3), names
for s in spans:
    if s["name"] != "checkout":
        parent = by_id[s["parentSpanId"]]
        assert parent["name"] == "checkout" and parent["traceId"] == s["traceId"], s
    else:
        assert not s.get("parentSpanId"), s
errors = [s for s in spans if s.get("status", {}).get("code") == "STATUS_CODE_ERROR"]
assert len(errors) == 2, errors  # charge and checkout of the declined user
in_span = [l for l in logs if l.get("spanId")]
assert len(in_span) >= 6, logs
for l in in_span:
    assert by_id[l["spanId"]]["traceId"] == l["traceId"], l
assert any(l["body"]["stringValue"] == "payment declined" and l["severityText"] == "ERROR" for l in logs)
calls = [m for m in metrics if m["name"] == "function_calls_total"]
assert calls, [m["name"] for m in metrics]
total = sum(int(p["asInt"]) for m in calls for p in m["sum"]["dataPoints"])
assert total == 9, total
assert any(m["name"] == "function_calls_duration_seconds" for m in metrics)
print(f"receiver got {len(spans)} spans, {len(logs)} logs, {len(metrics)} metrics: ok")
PY
done
echo "otlp example ok"
