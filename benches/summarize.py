#!/usr/bin/env python3
"""Turns the raw results of benches/run.sh into benches/RESULTS.md (markdown on stdout).

    summarize.py OUT_DIR [--elapsed SECONDS] [--note TEXT]

OUT_DIR holds: criterion/<group>/<bench>/new/estimates.json (criterion's medians),
rounds.tsv (interleaved rounds: binary, threads, bench, round, ns/call), side.tsv (id, key,
value: accounting, exporter CPU, memory), compile_time.json (gen.py measure), callgrind.tsv
(case, instructions per call) and machine.txt.
"""

import argparse
import collections
import csv
import json
import statistics as st
from pathlib import Path

# Row order and labels of the per-call table: (binary, bench, label).
ROWS = [
    ("ours", "baseline", "uninstrumented fn (baseline)"),
    ("ours", "rdtsc_pair", "floor: 2 x `rdtsc`"),
    ("ours", "tsc_pair", "floor: 2 x `minstant::Instant::now()` (TSC pair)"),
    ("ours", "instant_pair", "floor: 2 x `std::time::Instant::now()`"),
    ("ours", "floor_span", "floor span (2 TSC + ids + parent + 64 B into thread-local rtrb)"),
    ("ours", "ours_in_parent", "**ours, sampled, inside a parent** (1 root per 100 calls, root included)"),
    ("ours", "ours_sampled", "**ours, sampled, every call a root** (flushed between 2048-call chunks)"),
    ("ours", "ours_two_labels", "ours, sampled, two labels (every call a root)"),
    ("ours", "ours_sampled_saturating", "ours, sampled, saturating (no flush; ring drops)"),
    ("unsampled", "rdtsc_pair", "floor: 2 x `rdtsc` (unsampled process)"),
    ("unsampled", "tsc_pair", "floor: 2 x `minstant::Instant::now()` (unsampled process)"),
    ("unsampled", "ours_unsampled", "**ours, unsampled** (`sample_ratio(0.0)`)"),
    ("ours", "ours_disabled", "**ours, disabled by the filter** (`calls_ours::disabled=off`)"),
    ("peers", "tracing_no_subscriber", "`tracing` `#[instrument]`, no subscriber"),
    ("tracing_registry", "tracing_registry", "`tracing` + `tracing_subscriber::registry()`"),
    ("tracing_otel", "tracing_otel", "`tracing` + `tracing-opentelemetry` + SDK batch processor"),
    ("peers", "otel_in_span", "`opentelemetry` SDK `tracer.in_span` + batch processor"),
    ("peers", "otel_in_span_saturating", "`opentelemetry` `in_span`, saturating (no flush)"),
    ("peers", "fastrace", "`fastrace` `#[trace]` in a sampled root"),
    ("peers", "autometrics", "`autometrics` `#[autometrics]` (prometheus-exporter)"),
]


def load_criterion(out: Path) -> dict:
    """(binary, threads, bench) -> (median, lower, upper) in ns."""
    res = {}
    for est in (out / "criterion").glob("*/*/new/estimates.json"):
        group, bench = est.parts[-4], est.parts[-3]
        binary, _, t = group.rpartition("-")
        if not (t.endswith("t") and t[:-1].isdigit()):
            continue  # not a per-call group (`<binary>-<N>t`): see load_groups
        m = json.loads(est.read_text())["median"]
        ci = m["confidence_interval"]
        res[(binary, int(t.rstrip("t")), bench)] = (
            m["point_estimate"], ci["lower_bound"], ci["upper_bound"])
    return res


def load_group(out: Path, group: str) -> dict:
    """bench -> (median, lower, upper) in ns per iteration, for one criterion group."""
    res = {}
    for est in (out / "criterion" / group).glob("*/new/estimates.json"):
        m = json.loads(est.read_text())["median"]
        ci = m["confidence_interval"]
        res[est.parts[-3]] = (m["point_estimate"], ci["lower_bound"], ci["upper_bound"])
    return res


def load_side_runs(out: Path, prefix: str) -> dict:
    """(id, key) -> [values], every row whose id starts with `prefix` (repeated runs)."""
    res = collections.defaultdict(list)
    p = out / "side.tsv"
    if p.exists():
        for row in csv.reader(p.open(), delimiter="\t"):
            if len(row) == 3 and row[0].startswith(prefix):
                res[(row[0], row[1])].append(float(row[2]))
    return res


def load_rounds(out: Path) -> dict:
    """(binary, threads, bench) -> {round: ns}."""
    res = collections.defaultdict(dict)
    p = out / "rounds.tsv"
    if p.exists():
        for binary, t, bench, rnd, ns in csv.reader(p.open(), delimiter="\t"):
            res[(binary, int(t), bench)][int(rnd)] = float(ns)
    return res


def load_side(out: Path) -> dict:
    res = {}
    p = out / "side.tsv"
    if p.exists():
        for row in csv.reader(p.open(), delimiter="\t"):
            if len(row) == 3:
                res[(row[0], row[1])] = row[2]
    return res


def med(d):
    return st.median(d.values()) if d else None


def round_ratio(rounds, a, b):
    """Median over rounds of a/b (same binary, same round), or None."""
    ra, rb = rounds.get(a, {}), rounds.get(b, {})
    common = sorted(set(ra) & set(rb))
    if not common:
        return None
    return st.median(ra[r] / rb[r] for r in common if rb[r] > 0)


def fmt(x, digits=1):
    if x is None:
        return "n/a"
    return f"{x:,.{digits}f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--elapsed", type=float)
    ap.add_argument("--note", default="")
    a = ap.parse_args()
    out = a.out
    crit = load_criterion(out)
    rounds = load_rounds(out)
    side = load_side(out)
    machine = (out / "machine.txt").read_text().strip() if (out / "machine.txt").exists() else ""

    L = []
    L.append("# Benchmark results (issues 5, 12, 13 and 14)")
    L.append("")
    L.append("Written by `benches/run.sh` (raw data: `target/instrument-benches/`). " + a.note)
    L.append("")
    L.append(machine)
    if a.elapsed:
        L.append(f"- `run.sh` took {a.elapsed / 60:.1f} min")
    L.append("")
    L.append("The same trivial `#[inline(never)] fn(x: u64) -> u64 { black_box(x).wrapping_mul(3) }` "
             "under each configuration. Time is the calling thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`: "
             "time preempted by the other builds of this shared 2-core machine is not counted; no timed "
             "call blocks). **ns/call are medians**: criterion's median of its samples "
             "(95% CI in brackets), and the median of interleaved rounds (every configuration of a "
             "bench process runs ~20 ms in every round, 1 and 2 threads alternating, so load that comes "
             "and goes on this shared 2-core machine hits them alike). Ratios are medians of per-round "
             "ratios when both sides ran in the same process (marked =), else ratios of round medians. "
             "2 threads: both call at once (released by a barrier), cost per call per thread. "
             "8 threads (more threads than the 2 cores; criterion only): per-thread CPU time per call. "
             "x TSC pair: against `minstant`'s pair (the `rdtsc` pair is its own row).")
    L.append("")
    L.append("| configuration | 1 thread, criterion | 2 threads, criterion | 8 threads, criterion | 1 thread, rounds | 2 threads, rounds | overhead vs baseline | x TSC pair | x floor span | 2t / 1t | records delivered / dropped |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|")
    floor_span = med(rounds.get(("ours", 1, "floor_span"), {}))
    tsc_ours = med(rounds.get(("ours", 1, "tsc_pair"), {}))
    for binary, bench, label in ROWS:
        c1, c2 = crit.get((binary, 1, bench)), crit.get((binary, 2, bench))
        c8 = crit.get((binary, 8, bench))
        r1 = rounds.get((binary, 1, bench), {})
        r2 = rounds.get((binary, 2, bench), {})
        if not (c1 or r1):
            continue
        base = rounds.get((binary, 1, "baseline"), {})
        m1 = med(r1)
        over = (m1 - med(base)) if (m1 is not None and base) else None
        xbase = round_ratio(rounds, (binary, 1, bench), (binary, 1, "baseline"))
        if (binary, 1, "tsc_pair") in rounds:
            xtsc = round_ratio(rounds, (binary, 1, bench), (binary, 1, "tsc_pair"))
            xtsc_s = f"={fmt(xtsc, 2)}"
        else:
            xtsc = m1 / tsc_ours if (m1 and tsc_ours) else None
            xtsc_s = fmt(xtsc, 2)
        if binary == "ours":
            xfl = round_ratio(rounds, (binary, 1, bench), ("ours", 1, "floor_span"))
            xfl_s = f"={fmt(xfl, 2)}"
        else:
            xfl = m1 / floor_span if (m1 and floor_span) else None
            xfl_s = fmt(xfl, 2)
        two = round_ratio(rounds, (binary, 2, bench), (binary, 1, bench))
        acc = []
        for t in (1, 2, 8):
            e = side.get((f"{binary}-{t}t/{bench}", "emitted"))
            x = side.get((f"{binary}-{t}t/{bench}", "exported"))
            d = side.get((f"{binary}-{t}t/{bench}", "dropped"))
            if e is not None and int(e) > 0:
                acc.append(f"{t}t: {100 * int(x) / int(e):.1f}% / {100 * int(d) / int(e):.1f}%")
        crit_s = lambda c: f"{c[0]:.1f} [{c[1]:.1f}-{c[2]:.1f}]" if c else "n/a"
        L.append(f"| {label} | {crit_s(c1)} | {crit_s(c2)} | {crit_s(c8)} | {fmt(m1)} | {fmt(med(r2))} | "
                 f"{fmt(over)} ns (={fmt(xbase, 1)}x) | {xtsc_s} | {xfl_s} | ={fmt(two, 2)} | {'; '.join(acc) or '-'} |")
    L.append("")
    am = side.get(("peers/autometrics", "series_rendered"))
    if am is not None:
        L.append(f"autometrics: its Prometheus exporter rendered the benchmarked function's series: {am}.")
        L.append("")

    # Exporter side.
    L.append("## Exporter side: CPU per delivered record, delivered vs dropped")
    L.append("")
    L.append("One application thread, a discarding exporter, each configuration in its own process; "
             "CPU time of the exporting thread (found by name, read from its per-thread CPU clock) "
             "divided by the records it delivered. `saturating`: the thread calls as fast as it can; "
             "`paced`: 1,000 calls per ms (1 M/s). Wake-ups: context switches of the exporting thread per second.")
    L.append("")
    L.append("| configuration | load | calls | delivered | dropped | exporter CPU | ns CPU / delivered record | exporter wake-ups/s | app wall ns/call |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    names = {"ours": "ours (`instrument-exporter`)", "ours3": "ours, three sinks (`instrument-exporter`)",
             "ours-labels": "ours, two labels, exporter reads every attribute (`instrument-exporter`)", "otel": "opentelemetry `in_span` (BSP thread)",
             "tracing-otel": "tracing-opentelemetry (BSP thread)", "fastrace": "fastrace (global collector thread)"}
    for mode in ("ours", "ours3", "ours-labels", "otel", "tracing-otel", "fastrace"):
        for load in ("saturating", "paced_1M_per_s"):
            i = f"exporter/{mode}/{load}"
            if (i, "calls") not in side:
                continue
            g = lambda k: side.get((i, k), "n/a")
            L.append(f"| {names[mode]} | {load} | {int(g('calls')):,} | {g('delivered_pct')}% | {int(g('dropped')):,} | "
                     f"{g('exporter_cpu_ms')} ms | {g('exporter_ns_per_delivered')} | {g('exporter_wakeups_per_s')} | {g('app_wall_ns_per_call')} |")
    L.append("")
    for mode in ("ours", "ours-labels"):
        i = f"exporter/{mode}/saturating"
        if (i, "delivered") in side and (i, "app_wall_ns_per_call") in side:
            calls = int(side[(i, "calls")])
            secs = calls * float(side[(i, "app_wall_ns_per_call")]) / 1e9
            L.append(f"- {names[mode]}: one exporter thread delivered {int(side[(i, 'delivered')]) / secs / 1e6:.2f} M records/s "
                     f"while the caller ran flat out ({side[(i, 'delivered_pct')]}% of its calls).")
    for mode in ("ours", "ours3", "ours-labels"):
        for load in ("saturating", "paced_1M_per_s"):
            drops = sorted((k[1][len("dropped_"):], v) for k, v in side.items()
                           if k[0] == f"exporter/{mode}/{load}" and k[1].startswith("dropped_"))
            if drops:
                L.append(f"- {names[mode]}, {load}: dropped by reason: " + ", ".join(f"{r} {int(v):,}" for r, v in drops)
                         + " (`queue_full`: the caller's ring; `exporter_queue_full`: the sink's queue behind the drain thread).")
    L.append("")
    b1, b2 = (side.get((f"exporter/ours/bursts_{t}t", "all_threads_cpu_ns_per_call")) for t in (1, 2))
    if b1 and b2:
        L.append("### CPU per call of every thread (callers + drain thread + sink worker)")
        L.append("")
        L.append("`ours`, sampled, a discarding exporter: each calling thread makes 4,096 calls (a quarter of "
                 "the default ring: nothing refused, no wake inside a burst) at the same time as the others "
                 "(barrier), then everything is flushed; repeated for the load's seconds. CPU time of the whole "
                 "process (`CLOCK_PROCESS_CPUTIME_ID`, flushes included) divided by the calls.")
        L.append("")
        L.append("| calling threads | calls | delivered | all threads' CPU ns / call |")
        L.append("|---|---|---|---|")
        for t in (1, 2):
            i = f"exporter/ours/bursts_{t}t"
            L.append(f"| {t} | {int(side.get((i, 'calls'), 0)):,} | {int(side.get((i, 'delivered'), 0)):,} | {side.get((i, 'all_threads_cpu_ns_per_call'))} |")
        L.append("")

    # The tracing bridge (issue 12).
    bridge_rows = [("baseline", "uninstrumented fn (floor)"),
                   ("tracing_registry_nothing", "`tracing::info!` + `registry()` + a layer that ignores events"),
                   ("tracing_registry_visits", "`tracing::info!` + `registry()` + a layer that visits the fields into a `Vec` (the target)"),
                   ("bridge_event_in_our_span", "**`tracing::info!` through our bridge, inside our sampled span** (record into the ring, exporter draining)")]
    if any(crit.get(("tracing_bridge", 1, b)) for b, _ in bridge_rows):
        L.append("## The `tracing` bridge: one event with two fields")
        L.append("")
        L.append("`benches/benches/tracing_bridge.rs`: `tracing::info!(user = x, route = \"/users\", \"request handled\")` "
                 "under a scoped dispatcher per configuration (same process, so every row pays the same dispatch lookup); "
                 "thread CPU time per event, criterion medians and interleaved rounds as above.")
        L.append("")
        L.append("| configuration | 1 thread, criterion | 2 threads, criterion | 1 thread, rounds | 2 threads, rounds | records delivered / dropped |")
        L.append("|---|---|---|---|---|---|")
        for bench, label in bridge_rows:
            c1, c2 = crit.get(("tracing_bridge", 1, bench)), crit.get(("tracing_bridge", 2, bench))
            r1, r2 = rounds.get(("tracing_bridge", 1, bench), {}), rounds.get(("tracing_bridge", 2, bench), {})
            acc = []
            for t in (1, 2):
                e = side.get((f"tracing_bridge-{t}t/{bench}", "emitted"))
                x = side.get((f"tracing_bridge-{t}t/{bench}", "exported"))
                d = side.get((f"tracing_bridge-{t}t/{bench}", "dropped"))
                if e is not None and int(e) > 0:
                    acc.append(f"{t}t: {100 * int(x) / int(e):.1f}% / {100 * int(d) / int(e):.1f}%")
            crit_s = lambda c: f"{c[0]:.1f} [{c[1]:.1f}-{c[2]:.1f}]" if c else "n/a"
            L.append(f"| {label} | {crit_s(c1)} | {crit_s(c2)} | {fmt(med(r1))} | {fmt(med(r2))} | {'; '.join(acc) or '-'} |")
        L.append("")

    # The OTLP exporter (issue 14).
    otlp = load_group(out, "otlp_export")
    otlp_rows = [("ours_http_protobuf_512_spans_thread_cpu", "sdk_http_protobuf_512_spans_thread_cpu", "spans, 1 attribute + `code.*`"),
                 ("ours_http_protobuf_no_code_attrs_512_spans_thread_cpu", None, "spans, `code_attributes(false)`"),
                 ("ours_http_protobuf_gzip_512_spans_thread_cpu", None, "spans, gzip"),
                 ("ours_http_protobuf_labels_512_spans_thread_cpu", "sdk_http_protobuf_labels_512_spans_thread_cpu", "spans, two labels + an integer field + `code.*`"),
                 ("ours_http_protobuf_512_logs_thread_cpu", "sdk_http_protobuf_512_logs_thread_cpu", "log records (body, trace context, 1 attribute, `code.*`)")]
    per = lambda c: c[0] / 512 if c else None
    if otlp:
        L.append("## OTLP exporter: CPU per exported record, ours beside the SDK's OTLP exporters")
        L.append("")
        L.append("`benches/benches/otlp_export.rs`: batches of 512 records over HTTP/protobuf to a local sink; CPU time of "
                 "the exporting thread plus the HTTP clients' threads, per record (criterion medians, 95% CI per record in "
                 "brackets). SDK = `opentelemetry_otlp`'s `SpanExporter`/`LogExporter` (blocking reqwest client) fed the same records.")
        L.append("")
        L.append("| case (512 per batch) | ours, ns/record | SDK, ns/record | SDK / ours |")
        L.append("|---|---|---|---|")
        for ours_b, sdk_b, label in otlp_rows:
            o, k = otlp.get(ours_b), otlp.get(sdk_b) if sdk_b else None
            o_s = f"**{per(o):.1f}** [{o[1] / 512:.1f}-{o[2] / 512:.1f}]" if o else "n/a"
            k_s = f"{per(k):.1f} [{k[1] / 512:.1f}-{k[2] / 512:.1f}]" if k else "-"
            x_s = f"{per(k) / per(o):.1f}x" if (o and k) else "-"
            L.append(f"| {label} | {o_s} | {k_s} | {x_s} |")
        L.append("")
    sat = load_side_runs(out, "otlp_saturating/")
    if sat:
        L.append("Saturating OTLP delivery (`benches/benches/otlp_saturating.rs`): one thread calls an instrumented "
                 "function flat out, the pipeline's OTLP exporter (HTTP/protobuf, defaults) sends to a receiver in another "
                 "process that counts the spans it decodes; the SDK: `tracer.in_span` into its batch span processor "
                 "(defaults: queue 2048, batches of 512) and OTLP span exporter. Runs interleaved (ours, SDK, ours, ...); "
                 "medians over runs (each run's value in brackets). Very sensitive to the CPU the exporter gets on a loaded machine.")
        L.append("")
        L.append("| configuration | runs | calls | spans received | delivered | exporter CPU / received span |")
        L.append("|---|---|---|---|---|---|")
        for mode, label in (("ours", "ours"), ("sdk", "SDK batch processor + OTLP exporter")):
            i = f"otlp_saturating/{mode}"
            g = lambda k: sat.get((i, k), [])
            if not g("calls"):
                continue
            runs = lambda k, d=1: f"{st.median(g(k)):,.{d}f} [{' '.join(f'{v:.{d}f}' for v in g(k))}]"
            L.append(f"| {label} | {len(g('calls'))} | {st.median(g('calls')):,.0f} | {st.median(g('received')):,.0f} | "
                     f"{runs('delivered_pct', 2)}% | {runs('exporter_ns_per_received')} ns |")
        L.append("")

    # Compiled off.
    if ("compiled_off", "instrumented_ns") in side:
        L.append("## Compiled off (`RUSTFLAGS=\"--cfg instrument_off\"`)")
        L.append("")
        L.append("`tests/compiled-off`: the same fn with `#[instrument(labels(..))]` and without, built twice; "
                 "medians of 15 interleaved rounds of 2 M calls (wall clock), no pipeline installed. "
                 "`tests/tests/compiled_off.rs` checks the symbol sizes are equal when off.")
        L.append("")
        L.append("| build | `#[instrument]` fn ns/call | plain fn ns/call | difference |")
        L.append("|---|---|---|---|")
        for v, label in (("compiled_off", "`--cfg instrument_off`"), ("compiled_on", "default (on; no pipeline: unsampled, metrics)")):
            a_, b_ = float(side[(v, "instrumented_ns")]), float(side[(v, "plain_ns")])
            L.append(f"| {label} | {a_:.2f} | {b_:.2f} | {a_ - b_:+.2f} ns |")
        L.append("")

    # Memory.
    L.append("## Peak memory under a burst of sampled calls")
    L.append("")
    L.append("`VmHWM` reset (`/proc/self/clear_refs`) after install and warm-up, then the burst; growth = peak - RSS "
             "before the burst. Bound = the README's: the burst threads' rings (threads x ring capacity x 72 B, "
             "the ring entry's upper bound) + the sink's queue behind the drain thread at its default bound "
             "(16384 records, or what all registered rings hold together if more) + the drain thread's pending "
             "batch (512), each queued span `size_of::<SpanData>()` bytes (these spans own no heap); "
             "the check allows 1 MiB more for allocator slack.")
    L.append("")
    L.append("| ring capacity | threads | calls | RSS before | peak | growth | ring bound | queue bound | delivered / dropped (cumulative) |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    mem_ids = sorted({k[0] for k in side if k[0].startswith("memory/")})
    for i in mem_ids:
        g = lambda k: side.get((i, k), "0")
        ring = i.split("/")[1].replace("ring", "")
        thr = i.split("/")[2]
        em = int(g("total_emitted")) or 1
        L.append(f"| {int(ring):,} | {thr} | {int(g('calls')):,} | {int(g('rss_before_burst_kib')):,} KiB | "
                 f"{int(g('peak_kib')):,} KiB | {int(g('peak_growth_kib')):,} KiB | {int(g('ring_bound_kib')):,} KiB | "
                 f"{int(g('queue_bound_kib')):,} KiB ({g('queued_span_bytes')} B per span) | "
                 f"{100 * int(g('total_exported')) / em:.1f}% / {100 * int(g('total_dropped')) / em:.1f}% |")
    L.append("")

    # Compile time.
    ct_path = out / "compile_time.json"
    ct = json.loads(ct_path.read_text()) if ct_path.exists() else None
    if ct:
        L.append("## Compile time: 1000 generated functions")
        L.append("")
        L.append("`benches/compile_time/gen.py`: half sync, half async, 1 in 4 `err`, 1 in 5 with a label (ours). "
                 "Clean build of that crate only (dependencies prebuilt, `CARGO_INCREMENTAL=0`); median wall "
                 "and CPU (user+sys) seconds. Expansion: `cargo +nightly rustc -- -Zunpretty=expanded`.")
        L.append("")
        L.append("| crate | debug wall | debug CPU | release wall | release CPU | expanded bytes | expanded lines | expanded tokens | tokens x source |")
        L.append("|---|---|---|---|---|---|---|---|---|")
        for v, label in (("ct_none", "no attribute"), ("ct_ours", "ours `#[instrument]`"), ("ct_tracing", "tracing `#[instrument]`")):
            r = ct.get(v)
            if not r:
                continue
            e = r["expansion"]
            L.append(f"| {label} | {r['debug']['wall_median_s']} s | {r['debug']['cpu_median_s']} s | "
                     f"{r['release']['wall_median_s']} s | {r['release']['cpu_median_s']} s | {e['expanded_bytes']:,} | "
                     f"{e['expanded_lines']:,} | {e['expanded_tokens']:,} | {e['expanded_tokens'] / e['source_tokens']:.1f} |")
        L.append("")

    # Instruction counts.
    cg = out / "callgrind.tsv"
    if cg.exists():
        L.append("## Instructions per call (callgrind, steady on a noisy machine)")
        L.append("")
        L.append("Inclusive instructions of the timed loop divided by the calls (1 thread, 200,000 calls; "
                 "flushes between chunks are outside the loop). Profiles: `target/instrument-benches/callgrind/`.")
        L.append("")
        L.append("| case | instructions / call |")
        L.append("|---|---|")
        for row in csv.reader(cg.open(), delimiter="\t"):
            L.append(f"| {row[0]} | {row[1]} |")
        L.append("")

    # Targets.
    L.append("## Targets (issues 5, 12, 13 and 14)")
    L.append("")
    L.append("Per-call targets are checked twice: on criterion's medians (each configuration measured "
             "for seconds in a row) and on the interleaved rounds (same-round ratios). **met** / "
             "**missed** when both agree; **borderline** when they disagree.")
    L.append("")
    L.append("| target | criterion medians | interleaved rounds | verdict |")
    L.append("|---|---|---|---|")

    def crit_med(binary, threads, bench):
        c = crit.get((binary, threads, bench))
        return c[0] if c else None

    def judge(values, limit, higher_is_better=False):
        ok = [(v >= limit) if higher_is_better else (v <= limit) for v in values if v is not None]
        if not ok:
            return "not measured"
        if all(ok):
            return "**met**"
        if not any(ok):
            worst = min(values) if higher_is_better else max(v for v in values if v is not None)
            off = limit / worst if higher_is_better else worst / limit
            best = max(values) if higher_is_better else min(v for v in values if v is not None)
            off_best = limit / best if higher_is_better else best / limit
            lo, hi = min(off, off_best), max(off, off_best)
            return f"**missed** by {lo:.2f}x" + (f"-{hi:.2f}x" if f"{hi:.2f}" != f"{lo:.2f}" else "")
        return "**borderline**"

    def ratio_row(label, a, b, limit, higher_is_better=False, invert=False):
        ca, cb = crit_med(*a), crit_med(*b)
        ra, rb = med(rounds.get(a, {})), med(rounds.get(b, {}))
        if invert:
            cr = cb / ca if (ca and cb) else None
            same = a[0] == b[0]
            rr = (1 / round_ratio(rounds, a, b) if same and round_ratio(rounds, a, b) else
                  (rb / ra if (ra and rb) else None))
            cs = f"{fmt(cr, 2)}x ({fmt(cb)} / {fmt(ca)} ns)"
            rs = f"{'=' if same else ''}{fmt(rr, 2)}x ({fmt(rb)} / {fmt(ra)} ns)"
        else:
            cr = ca / cb if (ca and cb) else None
            same = a[0] == b[0]
            rr = round_ratio(rounds, a, b) if same else (ra / rb if (ra and rb) else None)
            cs = f"{fmt(cr, 2)}x ({fmt(ca)} / {fmt(cb)} ns)"
            rs = f"{'=' if same else ''}{fmt(rr, 2)}x ({fmt(ra)} / {fmt(rb)} ns)"
        L.append(f"| {label} | {cs} | {rs} | {judge([cr, rr], limit, higher_is_better)} |")

    for t in (1, 2):
        ratio_row(f"sampled call inside a parent <= 1.5x floor span ({t} thread{'s' if t > 1 else ''})",
                  ("ours", t, "ours_in_parent"), ("ours", t, "floor_span"), 1.5)
        ratio_row(f"sampled call, every call a root <= 1.5x floor span ({t} thread{'s' if t > 1 else ''})",
                  ("ours", t, "ours_sampled"), ("ours", t, "floor_span"), 1.5)
    ratio_row("sampled call inside a parent <= fastrace `#[trace]` in a sampled root (1 thread)",
              ("ours", 1, "ours_in_parent"), ("peers", 1, "fastrace"), 1.0)
    ratio_row("two labels cost the same as none (1 thread, <= 1.05x)",
              ("ours", 1, "ours_two_labels"), ("ours", 1, "ours_sampled"), 1.05)
    ratio_row("8 threads on 2 cores: per-thread cost <= 1.3x 1 thread (ours_sampled, criterion)",
              ("ours", 8, "ours_sampled"), ("ours", 1, "ours_sampled"), 1.3)
    cd, cb = crit_med("ours", 1, "ours_disabled"), crit_med("ours", 1, "baseline")
    rd = round_ratio(rounds, ("ours", 1, "ours_disabled"), ("ours", 1, "baseline"))
    md, mb = med(rounds.get(("ours", 1, "ours_disabled"), {})), med(rounds.get(("ours", 1, "baseline"), {}))
    dc = cd - cb if (cd and cb) else None
    dr = md - mb if (md is not None and mb is not None) else None
    L.append(f"| disabled callsite <= 2 ns over the uninstrumented fn (1 thread) | +{fmt(dc, 2)} ns ({fmt(cd, 2)} vs {fmt(cb, 2)}) | "
             f"+{fmt(dr, 2)} ns ({fmt(md, 2)} vs {fmt(mb, 2)}) | {judge([dc, dr], 2.0)} |")
    ratio_row("sampled >= 10x cheaper than opentelemetry `in_span` (1 thread)",
              ("ours", 1, "ours_sampled"), ("peers", 1, "otel_in_span"), 10, higher_is_better=True, invert=True)
    for t in (1, 2):
        ratio_row(f"unsampled call <= 1.2x two-`rdtsc` floor ({t} thread{'s' if t > 1 else ''})",
                  ("unsampled", t, "ours_unsampled"), ("unsampled", t, "rdtsc_pair"), 1.2)
    for binary, bench in (("ours", "ours_sampled"), ("unsampled", "ours_unsampled")):
        ratio_row(f"2 threads: per-thread cost <= 1.3x 1 thread ({bench})",
                  (binary, 2, bench), (binary, 1, bench), 1.3)
    for mode in ("ours", "ours-labels"):
        for load in ("saturating", "paced_1M_per_s"):
            v = side.get((f"exporter/{mode}/{load}", "exporter_ns_per_delivered"))
            pct = side.get((f"exporter/{mode}/{load}", "delivered_pct"))
            v = float(v) if v else None
            L.append(f"| exporter CPU <= 50 ns per delivered record ({mode}, {load}) | {fmt(v)} ns ({pct}% delivered) | - | {judge([v], 50)} |")
        pct = side.get((f"exporter/{mode}/paced_1M_per_s", "delivered_pct"))
        p_ = float(pct) if pct else None
        L.append(f"| >= 99.9% delivered at 1 M sampled calls/s, default config ({mode}) | {fmt(p_, 2)}% | - | {judge([p_], 99.9, higher_is_better=True)} |")
    # Saturating: machine-dependent, so a regression guard rather than a goal: the drain fix of
    # issue 13 took it from 0.4% to 91%; below 90% one exporter thread no longer keeps up with
    # one caller running flat out.
    pct = side.get(("exporter/ours/saturating", "delivered_pct"))
    p_ = float(pct) if pct else None
    L.append(f"| >= 90% delivered with one caller flat out, default config (ours, saturating; regression guard) | {fmt(p_, 2)}% | - | {judge([p_], 90, higher_is_better=True)} |")
    b1, b2 = (side.get((f"exporter/ours/bursts_{t}t", "all_threads_cpu_ns_per_call")) for t in (1, 2))
    if b1 and b2:
        x = float(b2) / float(b1)
        L.append(f"| CPU per call, all threads (callers + exporter), 2 calling threads <= 1.1x 1 thread | {fmt(x, 2)}x ({b2} / {b1} ns) | - | {judge([x], 1.1)} |")
    for i in mem_ids:
        g = lambda key: int(side.get((i, key), "0"))
        growth, bound = g("peak_growth_kib"), g("ring_bound_kib") + g("queue_bound_kib")
        allowance = 1024  # KiB: allocator slack
        ok = growth <= bound + allowance
        L.append(f"| memory under the burst within the documented bound, rings + sink queue ({i[7:]}) | growth {growth:,} KiB vs bound {bound:,} KiB + 1 MiB | - | {'**met**' if ok else '**missed**'} |")
    for t in (1, 2):
        b_, v_ = crit.get(("tracing_bridge", t, "bridge_event_in_our_span")), crit.get(("tracing_bridge", t, "tracing_registry_visits"))
        if b_ and v_:
            rb = med(rounds.get(("tracing_bridge", t, "bridge_event_in_our_span"), {}))
            rv = med(rounds.get(("tracing_bridge", t, "tracing_registry_visits"), {}))
            x_c, x_r = b_[0] / v_[0], (rb / rv if (rb and rv) else None)
            L.append(f"| `tracing` event through the bridge <= `registry()` + field-visiting layer ({t} thread{'s' if t > 1 else ''}) | "
                     f"{fmt(x_c, 2)}x ({b_[0]:.1f} / {v_[0]:.1f} ns) | {fmt(x_r, 2)}x ({fmt(rb)} / {fmt(rv)} ns) | {judge([x_c, x_r], 1.0)} |")
    for ours_b, _, label in otlp_rows:
        o = otlp.get(ours_b)
        if o and "no_code" not in ours_b:
            L.append(f"| OTLP exporter <= 400 ns CPU per record ({label}) | {per(o):.1f} ns | - | {judge([per(o)], 400)} |")
    if ct and "ct_ours" in ct and "ct_tracing" in ct:
        for prof in ("debug", "release"):
            a_, b_ = ct["ct_ours"][prof]["cpu_median_s"], ct["ct_tracing"][prof]["cpu_median_s"]
            n_ = ct["ct_none"][prof]["cpu_median_s"]
            x = a_ / b_ if b_ else None
            L.append(f"| build time <= 1.2x tracing-attributes' ({prof}, CPU s) | {fmt(x, 2)}x ({a_} vs {b_} s; no attribute: {n_} s) | - | {judge([x], 1.2)} |")
    L.append("")
    print("\n".join(L))


if __name__ == "__main__":
    main()
