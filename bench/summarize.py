#!/usr/bin/env python3
"""Summarizes benchmark JSON lines (bench/results/*.jsonl) as Markdown tables.

One table per (bench, scenario), one row per tool: runs (failed), median
seconds, median MB/s (MB = 2^20 bytes of payload), requests issued per run and
bytes moved per run as counted by the proxy, time relative to floe (tool's
median seconds / floe's: > 1 means floe is faster) and, where curl ran,
throughput as a fraction of the curl ceiling. Also flags checksum
disagreements between tools. Standard library only.

Usage: summarize.py [--run-id ID | --all] FILE.jsonl [FILE.jsonl ...]
By default only the newest run_id in the files is summarized.
"""
import argparse
import json
import statistics
import sys

TOOL_ORDER = ["floe", "s3fs", "obstore", "curl"]
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
                    print(f"summarize: {path}:{n}: not JSON, skipped", file=sys.stderr)
                    continue
                if isinstance(rec, dict):
                    recs.append(rec)
    return recs


def per_run(values):
    """'N' if every run agrees, else 'min–max (median M)'."""
    vals = [v for v in values if isinstance(v, (int, float))]
    if not vals:
        return "n/a"
    lo, hi = min(vals), max(vals)
    if lo == hi:
        return f"{lo:,}"
    return f"{lo:,}–{hi:,} (median {statistics.median(vals):,.0f})"


def mib(values):
    vals = [v for v in values if isinstance(v, (int, float))]
    if not vals:
        return "n/a"
    lo, hi = min(vals) / MIB, max(vals) / MIB
    return f"{lo:,.1f}" if abs(hi - lo) < 0.05 else f"{lo:,.1f}–{hi:,.1f}"


def table(recs):
    tools = sorted({r["tool"] for r in recs}, key=lambda t: (TOOL_ORDER.index(t) if t in TOOL_ORDER else 99, t))
    stats = {}
    for t in tools:
        rs = [r for r in recs if r["tool"] == t]
        ok = [r for r in rs if "error" not in r and isinstance(r.get("seconds"), (int, float)) and r["seconds"] > 0]
        st = {"runs": len(rs), "failed": len(rs) - len(ok), "ok": ok}
        if ok:
            st["sec"] = statistics.median(r["seconds"] for r in ok)
            st["mbs"] = statistics.median(r.get("bytes", 0) / MIB / r["seconds"] for r in ok)
        stats[t] = st
    floe = stats.get("floe", {}).get("sec")
    ceiling = stats.get("curl", {}).get("mbs")
    head = ["tool", "runs", "median s", "median MB/s", "requests/run (proxy)", "MiB moved/run (proxy)",
            "payload MiB", "time vs floe"]
    if ceiling:
        head.append("of curl ceiling")
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * len(head)) + "|"]
    for t in tools:
        st = stats[t]
        ok = st["ok"]
        runs = f"{st['runs']}" + (f" ({st['failed']} failed)" if st["failed"] else "")
        if not ok:
            row = [t, runs] + ["n/a"] * (len(head) - 2)
        else:
            row = [
                t, runs, f"{st['sec']:.3f}", f"{st['mbs']:,.1f}",
                per_run([r.get("proxy_requests") for r in ok]),
                mib([r.get("proxy_bytes_out") for r in ok]),
                mib([r.get("bytes") for r in ok]),
                "1.00 (baseline)" if t == "floe" else (f"{st['sec'] / floe:.2f}x" if floe else "n/a"),
            ]
            if ceiling:
                row.append(f"{st['mbs'] / ceiling:.0%}")
        lines.append("| " + " | ".join(row) + " |")
    notes = []
    sums = {}
    for r in recs:
        if "error" not in r and r.get("checksum"):
            sums.setdefault(r["checksum"], set()).add(r["tool"])
    if len(sums) > 1:
        notes.append("**checksum mismatch**: " + "; ".join(f"{c}: {', '.join(sorted(ts))}" for c, ts in sums.items()))
    elif sums:
        notes.append(f"checksums agree ({next(iter(sums))}) across {', '.join(sorted(next(iter(sums.values()))))}")
    self_req = {r["tool"]: r["requests"] for r in recs if "requests" in r and "error" not in r}
    for t, n in self_req.items():
        prox = [r.get("proxy_requests") for r in recs if r["tool"] == t and "error" not in r]
        if prox and any(p is not None and p != n for p in prox):
            notes.append(f"{t} self-reported {n} requests; the proxy counted {per_run(prox)}")
    errors = [f"{r['tool']} round {r.get('round')}: {r['error']}" for r in recs if "error" in r]
    notes += [f"error: {e}" for e in errors[:10]]
    return lines, notes


def main(argv=None):
    p = argparse.ArgumentParser(description="Summarize benchmark JSON lines as Markdown")
    p.add_argument("files", nargs="+")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--run-id", help="summarize only this run_id")
    g.add_argument("--all", action="store_true", help="summarize every run in the files together")
    a = p.parse_args(argv)
    recs = [r for r in load(a.files) if "tool" in r]
    if not recs:
        print("summarize: no records", file=sys.stderr)
        return 1
    if a.run_id:
        recs = [r for r in recs if r.get("run_id") == a.run_id]
    elif not a.all:
        newest = max((r.get("run_id") or "" for r in recs))
        recs = [r for r in recs if (r.get("run_id") or "") == newest]
    if not recs:
        print("summarize: no records for that run", file=sys.stderr)
        return 1
    groups = {}
    for r in recs:
        groups.setdefault((r.get("bench", "?"), r.get("scenario", "?")), []).append(r)
    for (bench, scenario), rs in groups.items():
        first = next((r for r in rs if "ranges" in r), rs[0])
        print(f"### {bench}, {scenario}")
        desc = []
        if "ranges" in first:
            desc.append(f"{first['ranges']} ranges")
        if first.get("concurrency"):
            desc.append(f"concurrency {first['concurrency']}")
        rounds = sorted({r.get("round") for r in rs if r.get("round") is not None})
        if rounds:
            desc.append(f"{len(rounds)} rounds")
        if first.get("run_id"):
            desc.append(f"run {first['run_id']}")
        if first.get("host"):
            desc.append(first["host"])
        if desc:
            print("\n" + ", ".join(desc) + "\n")
        lines, notes = table(rs)
        print("\n".join(lines))
        if notes:
            print()
            for n in notes:
                print(f"- {n}")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
