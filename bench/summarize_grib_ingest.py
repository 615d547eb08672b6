#!/usr/bin/env python3
# bench/summarize_grib_ingest.py owns the Markdown summary of the GRIB2 ingest benchmark's JSON lines (issue 6: bench/run_grib_ingest.sh).
"""Summarizes GRIB2 ingest records (bench "grib_ingest" in bench/results/grib_ingest-*.jsonl) as Markdown.

  summarize_grib_ingest.py [--run-id ID | --all] FILE.jsonl [FILE.jsonl ...]

By default only the newest run_id in the files is summarized. One table per scenario (proxy latency), one row
per (model, case, tool): runs (failed), median "seconds" (each tool's own figure) with its range, median process
wall and CPU time (/usr/bin/time), the proxy's requests / GETs / HEADs / MiB per run, the messages indexed
(floe: virtual_refs against the generator's manifest), and the time relative to floe's full-run figure of the
same model (ratio of medians; > 1: floe is faster). kerchunk-scan rows cover a subset of the run: their
"whole run" column is the per-file time times the run's files (an extrapolation). Then floe's own counters,
the repository checks, kerchunk's one-time mapping and the issue-6 target (GEFS run at 20 ms in <= 10 s).
Standard library only.
"""
import argparse
import json
import statistics
import sys

TARGET_GEFS_S = 10.0  # issue 6: the synthetic GEFS run from S3 behind 20 ms per request in <= 10 s
TARGET_LATENCY_MS = 20
MIB = 1 << 20
TOOL_ORDER = ["floe", "kerchunk-idx", "kerchunk-scan"]
CASE_ORDER = ["full", "append", "scan-subset"]
MODEL_ORDER = ["gefs", "ecmwf-ens"]


def load(paths):
    recs = []
    for path in paths:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        recs.append(json.loads(line))
                    except ValueError:
                        pass
    return recs


def med(values):
    values = [v for v in values if isinstance(v, (int, float))]
    return statistics.median(values) if values else None


def fmt(v, spec=".2f"):
    return "n/a" if v is None else format(v, spec)


def key_order(order, value):
    return order.index(value) if value in order else len(order)


def scenario_key(s):
    return (0, 0) if s.startswith("latency-") and not s.endswith("-0ms") else (1, 0)


def rows_for(recs):
    groups = {}
    for r in recs:
        groups.setdefault((r.get("model"), r.get("case"), r.get("tool")), []).append(r)
    return sorted(groups.items(), key=lambda kv: (key_order(MODEL_ORDER, kv[0][0]), key_order(CASE_ORDER, kv[0][1]),
                                                   key_order(TOOL_ORDER, kv[0][2])))


def scenario_table(scenario, recs):
    out = [f"### {scenario}", "",
           "| model | case | tool | runs | s (median, range) | whole run s | vs floe full | process s | CPU s "
           "| requests | GETs | HEADs | MiB | messages |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    floe_full = {}
    for (model, case, tool), rs in rows_for(recs):
        if tool == "floe" and case == "full":
            floe_full[model] = med([r.get("seconds") for r in rs if "error" not in r])
    for (model, case, tool), rs in rows_for(recs):
        good = [r for r in rs if "error" not in r]
        secs = [r["seconds"] for r in good if isinstance(r.get("seconds"), (int, float))]
        s = med(secs)
        whole = s
        label = tool
        if tool == "kerchunk-scan":
            whole = med([r.get("extrapolated_run_s") for r in good])
            files = med([r.get("files") for r in good])
            label = f"kerchunk-scan ({fmt(files, '.0f')} files, {fmt(med([r.get('seconds_per_file') for r in good]), '.3f')} s/file)"
        ratio = ""
        if tool != "floe" and floe_full.get(model) and whole:
            ratio = f"{whole / floe_full[model]:.1f}×" + (" (extrap.)" if tool == "kerchunk-scan" else "")
        if tool == "floe":
            refs = [r.get("virtual_refs") for r in good]
            expected = [r.get("expected_messages") for r in good]
            ok = all(a == b for a, b in zip(refs, expected)) and refs
            messages = f"{fmt(med(refs), ',.0f')} {'= manifest' if ok else '(manifest: ' + fmt(med(expected), ',.0f') + ')'}"
        elif tool == "kerchunk-idx":
            unmapped = med([r.get("unmapped") for r in good])
            messages = fmt(med([r.get("messages") for r in good]), ",.0f") + (
                f" ({fmt(unmapped, ',.0f')} unmapped)" if unmapped else "")
        else:
            messages = fmt(med([r.get("messages") for r in good]), ",.0f")
        rng = f"{min(secs):.2f}–{max(secs):.2f}" if secs else "n/a"
        out.append(
            f"| {model} | {case} | {label} | {len(good)}{f' ({len(rs) - len(good)} failed)' if len(rs) > len(good) else ''} "
            f"| {fmt(s, '.3f')} ({rng}) | {fmt(whole, '.2f') if tool != 'floe' or case == 'full' else ''} | {ratio} "
            f"| {fmt(med([r.get('process_wall_s') for r in good]))} | {fmt(med([r.get('cpu_s') for r in good]))} "
            f"| {fmt(med([r.get('proxy_requests') for r in good]), ',.0f')} "
            f"| {fmt(med([r.get('proxy_gets') for r in good]), ',.0f')} | {fmt(med([r.get('proxy_heads') for r in good]), ',.0f')} "
            f"| {fmt(med([(r.get('proxy_bytes_out') or 0) / MIB for r in good]), '.1f')} | {messages} |")
    errors = [r for r in recs if "error" in r]
    for r in errors[:5]:
        out.append(f"\nfailed: {r.get('tool')} {r.get('model')} {r.get('case')} round {r.get('round')}: {r['error']}")
    floe = [r for r in recs if r.get("tool") == "floe" and "error" not in r]
    if floe:
        out += ["", "floe's own counters (median): "
                + "; ".join(
                    f"{model} {case}: {fmt(med([r['requests'].get('metadata_gets') for r in rs]), '.0f')} metadata GETs in "
                    f"{fmt(med([r['requests'].get('metadata_rounds') for r in rs]), '.0f')} rounds, "
                    f"{fmt(med([r['requests'].get('metadata_bytes', 0) / MIB for r in rs]), '.1f')} MiB"
                    for (model, case, tool), rs in rows_for(floe) if all('requests' in r for r in rs))]
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run-id")
    p.add_argument("--all", action="store_true")
    p.add_argument("files", nargs="+")
    a = p.parse_args(argv)
    recs = [r for r in load(a.files) if r.get("bench") in ("grib_ingest", "grib_ingest_check")]
    if not recs:
        print("no grib_ingest records")
        return 1
    if not a.all:
        run_id = a.run_id or max(r.get("run_id", "") for r in recs)
        recs = [r for r in recs if r.get("run_id") == run_id]
        print(f"run {run_id}: {recs[0].get('host', '?') if recs else '?'}\n")
    checks = [r for r in recs if r.get("bench") == "grib_ingest_check"]
    runs = [r for r in recs if r.get("bench") == "grib_ingest" and r.get("case") != "one-time-mapping"]
    mapping = [r for r in recs if r.get("case") == "one-time-mapping"]
    scenarios = sorted({r.get("scenario") for r in runs}, key=lambda s: (scenario_key(s), s))
    lines = []
    for s in scenarios:
        lines += scenario_table(s, [r for r in runs if r.get("scenario") == s]) + [""]
    for c in checks:
        lines.append(f"- repository check ({c.get('model')}, icechunk-python): {c.get('arrays')} arrays, init_time "
                     f"{c.get('init_time')}, tags {c.get('tags')}, {c.get('virtual_refs'):,} virtual refs"
                     + (f" (expected {c.get('expected_refs'):,}: {'ok' if c.get('refs_ok') else 'MISMATCH'})"
                        if c.get("expected_refs") else ""))
    for m in mapping:
        lines.append(f"- kerchunk's one-time mapping (build_idx_grib_mapping per file, {m.get('jobs')} processes, local "
                     f"files): {m.get('files')} files, {m.get('messages')} messages, {fmt(m.get('mapping_s'), '.0f')} s")
    target = [r for r in runs if r.get("tool") == "floe" and r.get("model") == "gefs" and r.get("case") == "full"
              and r.get("latency_ms") == TARGET_LATENCY_MS and "error" not in r]
    if target:
        s = med([r["seconds"] for r in target])
        lines += ["", f"Target (GEFS run from S3 behind {TARGET_LATENCY_MS} ms in <= {TARGET_GEFS_S:.0f} s): floe "
                  f"{s:.2f} s (median of {len(target)}) -> {'met' if s <= TARGET_GEFS_S else 'NOT met'}"]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
