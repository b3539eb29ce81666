#!/usr/bin/env bash
# Runs every benchmark of issues 5, 12, 13 and 14 and writes benches/RESULTS.md:
#   - per-call cost of the same trivial fn under every configuration, 1 and 2 threads
#     (criterion, then interleaved rounds for same-run ratios);
#   - exporter side: CPU per delivered record and delivered/dropped share, per configuration;
#   - the `tracing` bridge's event cost beside tracing + registry layers;
#   - the OTLP exporter's CPU per record beside the SDK's, and saturating OTLP delivery;
#   - peak memory under a burst of 10 M sampled calls, against the ring bound;
#   - compile time and expansion size of 1000 generated instrumented fns (ours, tracing, none);
#   - instructions per call under callgrind (if valgrind is installed).
#
# Usage: benches/run.sh [--quick] [--skip-compile] [--skip-callgrind] [--compile-reps N (default 2)]
#   --quick            shorter criterion runs, fewer rounds, 1 compile repetition (a smoke run)
#   --skip-compile     no compile-time measurement (the slowest part)
#   --skip-callgrind   no instruction counts
# Raw data goes to target/instrument-benches/ (criterion's reports, rounds.tsv, side.tsv,
# compile_time.json, callgrind profiles, logs/). Takes about 15 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=0 COMPILE=1 CALLGRIND=1 COMPILE_REPS=2
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1; COMPILE_REPS=1 ;;
        --skip-compile) COMPILE=0 ;;
        --skip-callgrind) CALLGRIND=0 ;;
        --compile-reps) COMPILE_REPS="$2"; shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

OUT="$PWD/target/instrument-benches"
rm -rf "$OUT/criterion" "$OUT/rounds.tsv" "$OUT/side.tsv" "$OUT/callgrind.tsv" "$OUT/callgrind" "$OUT/logs" "$OUT/compile_time.json"
mkdir -p "$OUT/logs"
export INSTRUMENT_BENCH_OUT="$OUT" CRITERION_HOME="$OUT/criterion" CARGO_TERM_COLOR=never
started=$(date +%s)

if [ "$QUICK" = 1 ]; then
    CRIT=(--warm-up-time 0.3 --measurement-time 1 --sample-size 10)
    export INSTRUMENT_BENCH_ROUNDS=6
    EXPORTER_SECS=1 BURST=2000000 OTLP_RUNS=1
else
    CRIT=(--warm-up-time 0.5 --measurement-time 2 --sample-size 20)
    export INSTRUMENT_BENCH_ROUNDS=20
    EXPORTER_SECS=3 BURST=10000000 OTLP_RUNS=3
fi

{
    echo "- machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), nproc = $(nproc), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- toolchain: $(rustc --version); profile \`bench\` (release + debuginfo)"
    echo "- code: commit $(git log -1 --format=%h 2> /dev/null || echo '?')$( [ -n "$(git status --porcelain -- instrument-runtime instrument-macros 2> /dev/null)" ] && echo ' + uncommitted changes to instrument-runtime/instrument-macros')"
    echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared with other builds)"
} > "$OUT/machine.txt"

step() { echo "=== $* ($(date -u +%H:%M:%S))"; }

step "build"
cargo bench -p instrument-benches --no-run 2>&1 | tail -1

for b in calls_ours calls_ours_unsampled calls_peers calls_tracing_registry calls_tracing_otel tracing_bridge; do
    step "$b"
    cargo bench -q -p instrument-benches --bench "$b" -- "${CRIT[@]}" > "$OUT/logs/$b.log" 2>&1 \
        || { tail -20 "$OUT/logs/$b.log"; exit 1; }
    grep -E "^side:|interleaved" "$OUT/logs/$b.log" || true
done

for m in ours ours3 ours-labels otel tracing-otel fastrace; do
    step "exporter_cpu $m"
    cargo bench -q -p instrument-benches --bench exporter_cpu -- "$m" "$EXPORTER_SECS" \
        > "$OUT/logs/exporter_cpu-$m.log" 2>&1 || { tail -20 "$OUT/logs/exporter_cpu-$m.log"; exit 1; }
    grep -E "per_delivered|delivered_pct" "$OUT/logs/exporter_cpu-$m.log" || true
done

step "otlp_export (exporter CPU per record, ours and the SDK's OTLP exporters)"
cargo bench -q -p instrument-benches --bench otlp_export -- "${CRIT[@]}" > "$OUT/logs/otlp_export.log" 2>&1 \
    || { tail -20 "$OUT/logs/otlp_export.log"; exit 1; }

# Saturating OTLP delivery, ours and the SDK interleaved (each run its own process and sink).
for run in $(seq "$OTLP_RUNS"); do
    for m in ours sdk; do
        step "otlp_saturating $m (run $run)"
        cargo bench -q -p instrument-benches --bench otlp_saturating -- "$m" "$EXPORTER_SECS" \
            > "$OUT/logs/otlp_saturating-$m-$run.log" 2>&1 \
            || { tail -20 "$OUT/logs/otlp_saturating-$m-$run.log"; exit 1; }
    done
done

step "compiled off (--cfg instrument_off; tests/compiled-off)"
CARGO_TARGET_DIR="$PWD/target/compiled-off/off" RUSTFLAGS="--cfg instrument_off" \
    cargo build --release --offline --quiet --manifest-path tests/compiled-off/Cargo.toml
CARGO_TARGET_DIR="$PWD/target/compiled-off/on" RUSTFLAGS="" \
    cargo build --release --offline --quiet --manifest-path tests/compiled-off/Cargo.toml
for v in off on; do
    read -r _ inst _ plain < <("$PWD/target/compiled-off/$v/release/compiled-off")
    printf 'compiled_%s\tinstrumented_ns\t%s\ncompiled_%s\tplain_ns\t%s\n' "$v" "$inst" "$v" "$plain" >> "$OUT/side.tsv"
    echo "compiled $v: instrumented $inst ns, plain $plain ns"
done

for ring in 4096 65536; do
    step "memory_burst ring $ring"
    cargo bench -q -p instrument-benches --bench memory_burst -- "$ring" "$BURST" \
        > "$OUT/logs/memory_burst-$ring.log" 2>&1 || { tail -20 "$OUT/logs/memory_burst-$ring.log"; exit 1; }
    grep -E "peak_growth|ring_bound" "$OUT/logs/memory_burst-$ring.log" || true
done

if [ "$CALLGRIND" = 1 ] && command -v valgrind > /dev/null; then
    step "callgrind"
    mkdir -p "$OUT/callgrind"
    exe() { cargo bench -p instrument-benches --bench "$1" --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\))$/\1/p' | tail -1; }
    CALLS=200000
    for spec in calls_ours:baseline calls_ours:rdtsc_pair calls_ours:tsc_pair calls_ours:floor_span calls_ours:ours_sampled \
                calls_ours:ours_in_parent calls_ours:ours_two_labels calls_ours:ours_disabled \
                calls_ours_unsampled:ours_unsampled calls_peers:otel_in_span \
                calls_peers:fastrace calls_tracing_otel:tracing_otel; do
        bin=${spec%%:*} case=${spec#*:}
        INSTRUMENT_BENCH_PROFILE="$case:$CALLS" valgrind --tool=callgrind --separate-threads=yes \
            --callgrind-out-file="$OUT/callgrind/$bin.$case.%p" "$(exe "$bin")" --bench \
            > "$OUT/logs/callgrind-$case.log" 2>&1 || true
        # The main thread's file (thread 1 of the process that ran the loop; criterion's
        # gnuplot probe forks a second, short one): inclusive instructions of the timed loop
        # (or of the inside-a-parent chunk runner, roots included) divided by the calls.
        ir=0
        for f in "$OUT/callgrind/$bin.$case".*-01; do
            [ -f "$f" ] || continue
            n=$( (callgrind_annotate --inclusive=yes "$f" 2> /dev/null || true) \
                | awk '/instrument_benches::runner::timed_loop|calls_ours::in_parent_chunk/ {gsub(",", "", $1); print $1; exit}')
            if [ -n "$n" ] && [ "$n" -gt "$ir" ]; then ir=$n; fi
        done
        if [ "$ir" -gt 0 ]; then
            printf '%s/%s\t%s\n' "$bin" "$case" "$(( ir / CALLS ))" >> "$OUT/callgrind.tsv"
        fi
    done
    cat "$OUT/callgrind.tsv" 2> /dev/null || true
fi

if [ "$COMPILE" = 1 ]; then
    step "compile time (reps $COMPILE_REPS)"
    python3 benches/compile_time/gen.py generate "$OUT/compile_time"
    python3 benches/compile_time/gen.py measure "$OUT/compile_time" --reps "$COMPILE_REPS" \
        > "$OUT/compile_time.json" 2> "$OUT/logs/compile_time.log" \
        || { tail -20 "$OUT/logs/compile_time.log"; exit 1; }
    cat "$OUT/logs/compile_time.log"
fi

echo "- load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"
elapsed=$(( $(date +%s) - started ))
python3 benches/summarize.py "$OUT" --elapsed "$elapsed" > benches/RESULTS.md
step "done in $(( elapsed / 60 )) min $(( elapsed % 60 )) s: benches/RESULTS.md"
