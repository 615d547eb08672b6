#!/usr/bin/env python3
# bench/summarize_combine.py owns the Markdown summary of the combine benchmark's JSON lines (issue 7: bench/run_combine.sh).
"""Summarizes combine records (bench/results/combine-*.jsonl) as Markdown.

  summarize_combine.py [--run-id ID | --all] FILE.jsonl [FILE.jsonl ...]

By default only the newest run_id in the files is summarized. One row per (grid, tool): runs (failed), the
median whole-process wall time (/usr/bin/time) with its range, the tool's own "seconds", the median peak RSS
(/usr/bin/time's maximum resident set) with its range, CPU time, references written and, for floe, its
manifest bytes per reference. Then, per grid with both tools, the ratios of medians floe / VirtualiZarr (wall
time and peak RSS) and the speed-up, against the issue-7 targets (floe >= 20x faster, <= 1/10 of the peak
memory); the correctness checks (bench/check_combine.py: OK or MISMATCH with the reasons) and the file
generation times. Standard library only.
"""
import argparse
import json
import statistics
import sys

MIB = 1 << 20
TARGET_SPEEDUP = 20.0
TARGET_MEMORY_FRACTION = 0.1
TOOL_ORDER = ["floe", "virtualizarr"]


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


def span(values, scale=1.0, spec=".1f"):
    values = [v / scale for v in values if isinstance(v, (int, float))]
    return f"{min(values):{spec}}–{max(values):{spec}}" if len(values) > 1 else ""


def grid_files(grid):
    p, i, m = (int(x) for x in grid.split("x"))
    return p * i * m


def refs_of(r):
    return r.get("virtual_refs", r.get("refs"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run-id")
    ap.add_argument("--all", action="store_true")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args(argv)
    recs = [r for r in load(a.files) if str(r.get("bench", "")).startswith("combine")]
    if not recs:
        print("no combine records")
        return 1
    if not a.all:
        run_id = a.run_id or max(r.get("run_id", "") for r in recs)
        recs = [r for r in recs if r.get("run_id") == run_id]
        print(f"run {run_id}: {recs[0].get('host', '?') if recs else '?'}\n")
    runs = [r for r in recs if r.get("bench") == "combine"]
    grids = sorted({r.get("grid") for r in runs if r.get("grid")}, key=grid_files)
    out = ["| files (grid) | tool | runs | wall s (median) | range | tool's own s | peak RSS MiB (median) | range "
           "| CPU s | refs | manifest B/ref |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    medians = {}
    for grid in grids:
        for tool in sorted({r.get("tool") for r in runs if r.get("grid") == grid},
                           key=lambda t: TOOL_ORDER.index(t) if t in TOOL_ORDER else 9):
            rs = [r for r in runs if r.get("grid") == grid and r.get("tool") == tool]
            good = [r for r in rs if "error" not in r]
            wall = [r.get("process_wall_s") for r in good]
            rss = [r.get("time_maxrss_bytes") for r in good]
            medians[(grid, tool)] = (med(wall), med(rss))
            failed = f" ({len(rs) - len(good)} failed)" if len(rs) > len(good) else ""
            out.append(
                f"| {grid_files(grid):,} ({grid}) | {tool} | {len(good)}{failed} | {fmt(med(wall))} | {span(wall)} "
                f"| {fmt(med([r.get('seconds') for r in good]))} | {fmt(med(rss) / MIB if med(rss) else None, '.0f')} "
                f"| {span(rss, MIB, '.0f')} | {fmt(med([r.get('cpu_s') for r in good]))} "
                f"| {fmt(med([refs_of(r) for r in good]), ',.0f')} "
                f"| {fmt(med([r.get('manifest_bytes_per_ref') for r in good]), '.1f')} |")
    lines = out + [""]
    for r in [r for r in runs if "error" in r][:6]:
        lines.append(f"- failed: {r.get('tool')} {r.get('grid')} round {r.get('round')}: {r['error']}")
    for grid in grids:
        floe, peer = medians.get((grid, "floe")), medians.get((grid, "virtualizarr"))
        if not floe or not peer or None in floe or None in peer:
            continue
        speedup, mem = peer[0] / floe[0], floe[1] / peer[1]
        lines.append(
            f"- {grid_files(grid):,} files: floe / VirtualiZarr wall time {floe[0] / peer[0]:.3f} "
            f"(floe {speedup:.1f}× faster; target ≥ {TARGET_SPEEDUP:.0f}×: {'met' if speedup >= TARGET_SPEEDUP else 'NOT met'}), "
            f"peak RSS {mem:.3f} (target ≤ {TARGET_MEMORY_FRACTION}: {'met' if mem <= TARGET_MEMORY_FRACTION else 'NOT met'})")
    for c in [r for r in recs if r.get("bench") == "combine_check"]:
        verdict = "OK" if c.get("ok") else "MISMATCH"
        lines.append(f"- check ({c.get('grid')}; {', '.join(c.get('repos') or [])}; {len(c.get('cells') or [])} cells "
                     f"of alk/dic and every coordinate vs the generator{' and each other' if len(c.get('repos') or []) > 1 else ''}): "
                     f"**{verdict}**" + ("" if c.get("ok") else ": " + "; ".join((c.get("mismatches") or [])[:5])
                                         + (f" {c['error']}" if "error" in c else "")))
        for n in c.get("notes") or []:
            lines.append(f"  - note: {n}")
    for g in [r for r in recs if r.get("bench") == "combine_files"]:
        lines.append(f"- files {g.get('grid')}: {g.get('files', 0):,} files, {g.get('bytes', 0) / MIB:.0f} MiB"
                     + (f", written in {g.get('generate_s')} s on {g.get('jobs')} processes" if g.get("generated")
                        else f" (cached; written in {g.get('generate_s')} s on {g.get('jobs')} processes)"))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
