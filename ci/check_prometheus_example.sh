#!/usr/bin/env bash
# Runs `cargo run --example prometheus`, checks its exposition with promtool, and has a real,
# throwaway Prometheus server (127.0.0.1 only) scrape it; then queries Prometheus' HTTP API for
# the call counter and a latency quantile. Both processes are stopped by pid on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
get() { python3 -c 'import sys,urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "$1"; }

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

app_port=$(free_port)
prom_port=$(free_port)
cargo build -q -p instrument-example-prometheus --example prometheus
INSTRUMENT_PROMETHEUS_ADDR="127.0.0.1:$app_port" INSTRUMENT_EXAMPLE_SECONDS=90 \
    cargo run -q -p instrument-example-prometheus --example prometheus >"$work/app.log" 2>&1 &
pids+=($!)

for _ in $(seq 1 100); do
    grep -q "serving Prometheus metrics on http://127.0.0.1:$app_port/metrics" "$work/app.log" && break
    sleep 0.2
done
grep -q "serving" "$work/app.log" || { cat "$work/app.log"; echo "example did not start"; exit 1; }
sleep 2 # a few calls and at least one metrics snapshot

get "http://127.0.0.1:$app_port/metrics" >"$work/exposition.txt"
grep -q '^function_calls_total{function="handle"' "$work/exposition.txt"
lint=$(promtool check metrics <"$work/exposition.txt" 2>&1) || { echo "$lint"; exit 1; }
[ -z "$lint" ] || { echo "promtool: $lint"; exit 1; }
echo "promtool check metrics: clean"

cat >"$work/prometheus.yml" <<YML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: example
    static_configs:
      - targets: ["127.0.0.1:$app_port"]
YML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
pids+=($!)

api="http://127.0.0.1:$prom_port/api/v1"
query() { python3 -c 'import sys,json,urllib.request,urllib.parse
r=json.load(urllib.request.urlopen(sys.argv[1]+"/query?query="+urllib.parse.quote(sys.argv[2]), timeout=5))
res=r["data"]["result"]
print(res[0]["value"][1] if res else "")' "$api" "$1" 2>/dev/null || true; }

calls=""
quantile=""
for _ in $(seq 1 60); do
    calls=$(query 'sum(function_calls_total{function="handle"})')
    quantile=$(query 'histogram_quantile(0.5, sum by (le) (rate(function_calls_duration_seconds_bucket{function="lookup"}[10s])))')
    if [ -n "$calls" ] && [ -n "$quantile" ] && [ "$quantile" != "NaN" ]; then break; fi
    sleep 1
done
echo "Prometheus: handle calls = $calls, lookup p50 = ${quantile}s"
python3 - "$calls" "$quantile" <<'PY'
import sys
calls, q = float(sys.argv[1]), float(sys.argv[2])
assert calls > 0, calls
# lookup sleeps 0.2 ms .. 2 ms: its median must fall in that range's buckets.
assert 0.0001 <= q <= 0.005, q
PY
echo "prometheus example ok"
