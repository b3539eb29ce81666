#!/usr/bin/env bash
# Runs the web service example's self-test (`INSTRUMENT_EXAMPLE_SELFTEST=1 cargo run --example
# web_service`): it serves on 127.0.0.1:0, sends requests to itself (one with a fixed incoming
# traceparent), and checks the downstream trace id and /metrics itself. Then checks its stdout
# JSON lines: the spans of the incoming trace (checkout -> reserve -> inventory, over real HTTP)
# and a log line carrying that trace id.
set -euo pipefail
cd "$(dirname "$0")/.."

TRACE=4bf92f3577b34da6a3ce929d0e0e4736
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build -q -p instrument-example-web --example web_service
status=0
INSTRUMENT_EXAMPLE_SELFTEST=1 INSTRUMENT_STDOUT=json \
    timeout 120 cargo run -q -p instrument-example-web --example web_service \
    >"$work/out.jsonl" 2>"$work/err.txt" || status=$?
grep -v '^{' "$work/out.jsonl" || true
if [ "$status" -ne 0 ]; then
    cat "$work/err.txt"
    echo "web example self-test failed (exit $status)"
    exit 1
fi

fail() { echo "web example: $1"; grep "$TRACE" "$work/out.jsonl" | head -20; exit 1; }
grep -q '^self-test passed$' "$work/out.jsonl" || fail "no 'self-test passed' line"
grep -q "^{.*\"kind\":\"span\".*\"trace_id\":\"$TRACE\"" "$work/out.jsonl" \
    || fail "no span with trace_id $TRACE"
grep -q "^{.*\"kind\":\"log\".*\"trace_id\":\"$TRACE\"" "$work/out.jsonl" \
    || fail "no log line with trace_id $TRACE"

# The span tree of that trace: the incoming parent, then checkout -> reserve -> inventory.
python3 - "$work/out.jsonl" "$TRACE" <<'PY' || fail "wrong span tree"
import json, sys
path, trace = sys.argv[1], sys.argv[2]
records = [json.loads(l) for l in open(path) if l.startswith("{")]
spans = {s["name"]: s for s in records if s.get("kind") == "span" and s.get("trace_id") == trace}
for name in ("checkout", "reserve", "inventory"):
    assert name in spans, f"no {name} span in trace {trace}: {sorted(spans)}"
assert spans["checkout"]["parent_span_id"] == "00f067aa0ba902b7", spans["checkout"]
assert spans["reserve"]["parent_span_id"] == spans["checkout"]["span_id"], spans["reserve"]
assert spans["inventory"]["parent_span_id"] == spans["reserve"]["span_id"], spans["inventory"]
assert spans["checkout"]["attributes"].get("route") == "checkout", spans["checkout"]
assert spans["checkout"]["attributes"].get("method") == "post", spans["checkout"]
logs = [r for r in records if r.get("kind") == "log" and r.get("trace_id") == trace]
assert {r["span_id"] for r in logs} >= {spans[n]["span_id"] for n in spans}, logs
print(f"trace {trace}: checkout -> reserve -> inventory, {len(logs)} log lines with its id")
PY
echo "web example ok"
