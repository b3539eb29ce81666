#!/bin/sh
# Creates $REPO/.venv (unless it exists) with the OTLP receiver the real-receiver tests use:
# PyPI's `oteltest` (its OTLP sink decodes gRPC and HTTP requests with the official generated
# opentelemetry-proto types) plus what it needs. tests/tests/otlp_receiver.rs starts
# ci/otlp_receiver.py with this venv's python (override with INSTRUMENT_OTLP_PYTHON).
#
# Usage: ci/setup_otlp_receiver.sh        (from anywhere; idempotent)
set -eu

REPO="$(cd "$(dirname "$0")/.." && pwd)"
VENV="$REPO/.venv"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi

# Pinned: RECEIVERS.md describes this version's behaviour (fixed ports, Content-Type lookup).
# oteltest pulls opentelemetry-proto, grpcio and protobuf.
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "oteltest==0.49.0"

"$VENV/bin/python" - <<'PY'
import importlib.metadata as md
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2  # noqa: F401
import oteltest.sink  # noqa: F401
for name in ("oteltest", "opentelemetry-proto", "grpcio", "protobuf"):
    print(f"{name}=={md.version(name)}")
PY
echo "OTLP receiver ready: $VENV/bin/python $REPO/ci/otlp_receiver.py"
