#!/usr/bin/env bash
# Every listed feature combination of instrument-runtime builds warning-free: none, the
# default set, each feature alone, and all of them. (An explicit list rather than the full
# powerset: the features are independent exporters/bridges, so pairs add nothing but time.)
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTFLAGS="-D warnings"

combos=(
    "--no-default-features"
    ""
    "--no-default-features --features stdout"
    "--no-default-features --features log"
    "--no-default-features --features otlp"
    "--no-default-features --features prometheus"
    "--no-default-features --features http"
    "--no-default-features --features tracing"
    "--all-features"
)
for combo in "${combos[@]}"; do
    echo "--- cargo check -p instrument-runtime ${combo:-(default features)}"
    # shellcheck disable=SC2086 # the combination is a list of words
    cargo check -p instrument-runtime $combo
done
