#!/usr/bin/env bash
# The whole test suite, as the README gives it: installs the real receivers the tests use
# (Debian's Prometheus, the `oteltest` OTLP sink from PyPI in ./.venv), then runs every test
# of the workspace with every feature. Safe to run again: installs are skipped when present.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/setup_prometheus.sh
bash ci/setup_otlp_receiver.sh

# The receiver tests skip themselves when a receiver is missing, unless this is set.
export INSTRUMENT_REQUIRE_RECEIVERS=1
cargo test --workspace --all-features "$@"
