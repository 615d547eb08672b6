#!/usr/bin/env python3
# bench/summarize_read.py owns the Markdown summary of the read benchmark's JSON lines (issue 5: bench/run_read.sh).
"""Summarizes read-benchmark records (bench "read" in bench/results/read-*.jsonl) as Markdown.

  summarize_read.py [--run-id ID | --all] FILE.jsonl [FILE.jsonl ...]

By default only the newest run_id in the files is summarized. Per scenario, one row per tool: runs (failed),
median "seconds" (each tool's own figure, repository open to values in memory / output written) with the
range, median process wall time and CPU time (/usr/bin/time: Python's imports included), peak RSS, GETs and
MiB through the proxy, and the time relative to floe-stats (median over rounds of the per-round ratio
tool / floe-stats: > 1 means floe is faster). Then floe's own breakdown (fetch wait, decode, the rest), the
decode throughput against the ceiling measured by floe_bench_inflate (libdeflate on one core x the cores
floe used, and floe's pipeline on all threads at once), a check that every tool's statistics (count, NaN
count, min, max, mean) agree with floe's, and the issue-5 targets. Standard library only.
"""
import argparse
import json
import statistics
import sys

TOOL_ORDER = ["floe-stats", "floe-npy", "xarray", "xarray-tuned"]
PEERS = ["xarray", "xarray-tuned"]
# Issue 5: >= 3x faster than icechunk-python + zarr-python + xarray from local disk, >= 5x from S3 behind
# 20 ms; decoded MB/s >= 70 % of the single-core libdeflate rate x the cores used.
TARGET_LOCAL = 3.0
TARGET_S3 = 5.0
TARGET_DECODE_SHARE = 0.70
MIB = 1 << 20


def load(paths):
    recs = []
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    rec = json.loads(line)
                except ValueError:
                    print(f"summarize_read: {path}:{n}: not JSON, skipped", file=sys.stderr)
                    continue
                if isinstance(rec, dict) and rec.get("bench") == "read":
                    recs.append(rec)
    return recs


def nums(recs, key):
    return [r[key] for r in recs if isinstance(r.get(key), (int, float))]


def med(values):
    return statistics.median(values) if values else None


def fmt(value, spec=".2f", unit=""):
    return "n/a" if value is None else f"{value:{spec}}{unit}"


def span(values, spec=".2f"):
    if not values:
        return "n/a"
    return f"{statistics.median(values):{spec}} ({min(values):{spec}}–{max(values):{spec}})"


def per_round_ratios(recs, tool, base="floe-stats"):
    """Per round: tool's seconds / base's seconds, for the rounds where both succeeded."""
    by_round = {}
    for r in recs:
        if "error" in r or not isinstance(r.get("seconds"), (int, float)):
            continue
        by_round.setdefault(r.get("round"), {})[r.get("tool")] = r["seconds"]
    return [v[tool] / v[base] for _, v in sorted(by_round.items()) if tool in v and base in v and v[base] > 0]


def stats_check(recs):
    """Differences between each run's stats and the first floe-stats run's, as strings."""
    ref = next((r["stats"] for r in recs if r.get("tool") == "floe-stats" and isinstance(r.get("stats"), dict)), None)
    if ref is None:
        return ["no floe-stats run with statistics"]
    problems = []
    for r in recs:
        st = r.get("stats")
        if not isinstance(st, dict):
            continue
        for key in ("count", "nan", "min", "max"):
            if st.get(key) != ref.get(key):
                problems.append(f"{r['tool']} round {r.get('round')}: {key} {st.get(key)} != floe's {ref.get(key)}")
        a, b = st.get("mean"), ref.get("mean")
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            if abs(a - b) > 1e-9 * max(1.0, abs(b)):
                problems.append(f"{r['tool']} round {r.get('round')}: mean {a!r} != floe's {b!r}")
    return problems


def summarize(recs, out):
    runs = [r for r in recs if r.get("kind") == "read"]
    inflate = [r for r in recs if r.get("kind") == "inflate" and "error" not in r]
    virt = [r for r in recs if r.get("kind") == "virtualize"]
    first = runs[0] if runs else (recs[0] if recs else {})
    out.append(f"Run {first.get('run_id')} on {first.get('host')} at {first.get('git_head')}: "
               f"`{first.get('variable')}` with `{first.get('sel')}`; files {first.get('files_bytes', 0) / 1e6:,.0f} MB "
               "stored.\n")
    for r in virt:
        out.append(f"- floe virtualize ({r.get('scenario')}): {fmt(r.get('seconds'), '.2f', ' s')}"
                   + (f" — {r['error']}" if "error" in r else "") + "\n")

    ceiling = None
    if inflate:
        c = inflate[-1]
        ceiling = c
        out.append(f"- Decode ceiling (floe_bench_inflate, first {c.get('chunks')} chunks, {c.get('bytes_stored', 0) / 1e6:,.0f}"
                   f" MB stored -> {c.get('bytes_decoded', 0) / 1e6:,.0f} MB, ratio {c.get('ratio')}, codecs "
                   f"`{c.get('codecs')}`, load average {c.get('loadavg')}): libdeflate on one core "
                   f"**{fmt(c.get('libdeflate_1core_mb_s'), ',.0f')} MB/s** (best {fmt(c.get('libdeflate_1core_best_mb_s'), ',.0f')}, "
                   f"{fmt(c.get('libdeflate_1core_cpu_mb_s'), ',.0f')} MB per CPU second); floe's pipeline (inflate + "
                   f"unshuffle) on one core {fmt(c.get('pipeline_1core_mb_s'), ',.0f')} MB/s "
                   f"({fmt(c.get('pipeline_1core_cpu_mb_s'), ',.0f')} per CPU s); on {c.get('threads')} threads at once: "
                   f"libdeflate {fmt(c.get('libdeflate_threads_mb_s'), ',.0f')} MB/s, pipeline "
                   f"{fmt(c.get('pipeline_threads_mb_s'), ',.0f')} MB/s.\n")
    out.append("\n")

    scenarios = []
    for r in runs:
        if r.get("scenario") not in scenarios:
            scenarios.append(r.get("scenario"))
    targets = []
    for scenario in scenarios:
        rs = [r for r in runs if r.get("scenario") == scenario]
        loads = nums(rs, "loadavg")
        out.append(f"### {scenario}\n\n")
        out.append(f"Load average (1 min) before the runs: median {fmt(med(loads), '.1f')}, "
                   f"range {fmt(min(loads) if loads else None, '.1f')}–{fmt(max(loads) if loads else None, '.1f')}.\n\n")
        out.append("| tool | runs (failed) | median s (range) | process wall s | CPU s | peak RSS MiB | GETs | MiB via proxy "
                   "| server CPU s | time relative to floe-stats (per-round median, range) |\n")
        out.append("|---|---|---|---|---|---|---|---|---|---|\n")
        tools = [t for t in TOOL_ORDER if any(r.get("tool") == t for r in rs)]
        for tool in tools:
            tr = [r for r in rs if r.get("tool") == tool]
            ok = [r for r in tr if "error" not in r]
            ratios = per_round_ratios(rs, tool)
            rss = nums(ok, "time_maxrss_bytes")
            gets = nums(ok, "proxy_gets")
            moved = nums(ok, "proxy_bytes_out")
            out.append(f"| {tool} | {len(ok)} ({len(tr) - len(ok)}) | {span(nums(ok, 'seconds'))} "
                       f"| {fmt(med(nums(ok, 'process_wall_s')))} | {fmt(med(nums(ok, 'cpu_s')))} "
                       f"| {fmt(med(rss) / MIB if rss else None, ',.0f')} | {fmt(med(gets), ',.0f')} "
                       f"| {fmt(med(moved) / MIB if moved else None, ',.0f')} | {fmt(med(nums(ok, 'server_cpu_s')))} "
                       f"| {'1.00' if tool == 'floe-stats' else (span(ratios) if ratios else 'n/a')} |\n")
        errors = [r for r in rs if "error" in r]
        for r in errors[:5]:
            out.append(f"\nFAILED: {r.get('tool')} round {r.get('round')}: {r['error']}\n")

        floe = [r for r in rs if r.get("tool") in ("floe-stats", "floe-npy") and "error" not in r]
        if floe:
            out.append("\nfloe's own figures (medians; rest = seconds - fetch wait - decode: opening, planning, "
                       "and the output sink, which runs between slabs):\n\n")
            out.append("| tool | chunks | MB decoded | MB fetched | requests | fetch wait s | decode s | rest s "
                       "| decoded MB/s (wall) | decoded MB per CPU s | threads |\n")
            out.append("|---|---|---|---|---|---|---|---|---|---|---|\n")
            notes = []
            for tool in ("floe-stats", "floe-npy"):
                tr = [r for r in floe if r.get("tool") == tool]
                if not tr:
                    continue
                wait, dec = med(nums(tr, "fetch_wait_seconds")), med(nums(tr, "decode_seconds"))
                rest = med([r["seconds"] - r.get("fetch_wait_seconds", 0) - r.get("decode_seconds", 0) for r in tr])
                decoded = med(nums(tr, "bytes_decoded"))
                fetched = nums(tr, "bytes_fetched")
                rate = med([r["bytes_decoded"] / r["seconds"] / 1e6 for r in tr if r.get("seconds")])
                cpu_rate = med([r["bytes_decoded"] / r["cpu_s"] / 1e6 for r in tr if r.get("cpu_s")])
                threads = med(nums(tr, "threads"))
                out.append(f"| {tool} | {fmt(med(nums(tr, 'chunks')), ',.0f')} | {fmt(decoded / 1e6 if decoded else None, ',.0f')} "
                           f"| {fmt(med(fetched) / 1e6 if fetched else None, ',.0f')} "
                           f"| {fmt(med(nums(tr, 'requests')), ',.0f')} | {fmt(wait)} | {fmt(dec)} | {fmt(rest)} "
                           f"| {fmt(rate, ',.0f')} | {fmt(cpu_rate, ',.0f')} | {fmt(threads, '.0f')} |\n")
                if not (ceiling and rate):
                    continue
                cores = min(threads or 1, ceiling.get("threads") or 1)
                limit = (ceiling.get("libdeflate_1core_mb_s") or 0) * cores
                cpu_limit = ceiling.get("libdeflate_1core_cpu_mb_s")
                pipe = ceiling.get("pipeline_threads_mb_s")
                if limit:
                    targets.append((f"{scenario}: {tool} decoded MB/s / (libdeflate 1-core MB/s x {cores:.0f} cores), wall",
                                    rate / limit, TARGET_DECODE_SHARE))
                    if cpu_limit and cpu_rate:
                        targets.append((f"{scenario}: {tool} decoded MB per CPU s / libdeflate MB per CPU s",
                                        cpu_rate / cpu_limit, TARGET_DECODE_SHARE))
                    note = (f"- {tool}: {rate:,.0f} MB/s decoded = {rate / limit:.0%} of libdeflate's one-core rate "
                            f"x {cores:.0f} ({limit:,.0f} MB/s, measured in the same run)")
                    if pipe:
                        note += (f", {rate / pipe:.0%} of floe's pipeline on {ceiling.get('threads')} threads "
                                 f"in isolation ({pipe:,.0f} MB/s)")
                    if cpu_limit and cpu_rate:
                        note += (f"; per CPU second of the whole process {cpu_rate:,.0f} MB = {cpu_rate / cpu_limit:.0%} "
                                 f"of libdeflate's {cpu_limit:,.0f} MB per CPU second")
                    notes.append(note + ".\n")
            if notes:
                out.append("\n" + "".join(notes))
        goal = TARGET_LOCAL if scenario == "local" else TARGET_S3 if scenario != "latency-0ms" else None
        for base in ("floe-stats", "floe-npy"):
            for peer in PEERS:
                ratios = per_round_ratios(rs, peer, base)
                if ratios and goal:
                    targets.append((f"{scenario}: {peer} / {base} time (per-round median)", statistics.median(ratios), goal))
        problems = stats_check(rs)
        out.append("\nValues: " + ("every tool's count, NaN count, min, max and mean agree with floe's.\n"
                                   if not problems else "MISMATCH: " + "; ".join(problems[:5]) + "\n"))
        out.append("\n")
    if targets:
        out.append("### Against the issue-5 targets\n\n| what | measured | target | met |\n|---|---|---|---|\n")
        for what, value, goal in targets:
            shown = f"{value:.0%}" if goal < 1 else f"{value:.2f}x"
            want = f">= {goal:.0%}" if goal < 1 else f">= {goal:.0f}x"
            out.append(f"| {what} | {shown} | {want} | {'yes' if value >= goal else '**no**'} |\n")
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("files", nargs="+")
    p.add_argument("--run-id")
    p.add_argument("--all", action="store_true")
    a = p.parse_args(argv)
    recs = load(a.files)
    if not recs:
        print("summarize_read: no read records", file=sys.stderr)
        return 1
    ids = []
    for r in recs:
        if r.get("run_id") not in ids:
            ids.append(r.get("run_id"))
    chosen = ids if a.all else [a.run_id or ids[-1]]
    out = []
    for run_id in chosen:
        summarize([r for r in recs if r.get("run_id") == run_id], out)
    sys.stdout.write("".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
