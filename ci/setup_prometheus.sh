#!/bin/sh
# Installs Debian's `prometheus` package (it also brings `promtool`) for the real-receiver
# tests tests/tests/prometheus_scrape.rs and tests/tests/prometheus_prefork.rs, unless both are
# already on PATH.
# The package's own service is not used: the test starts its own throwaway server.
set -eu

if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
    echo "prometheus already installed: $(command -v prometheus)"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

$SUDO apt-get update
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus

prometheus --version | head -n 1
command -v promtool
