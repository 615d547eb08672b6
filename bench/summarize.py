#!/usr/bin/env python3
"""Summarizes benchmark JSON lines (bench/results/*.jsonl) as Markdown tables.

Icechunk commit runs (bench "icechunk_commit" and "icechunk_open_one_ref", from run_icechunk_commit.sh)
get their own tables: median phase times, peak memory per ref, repository size, time relative to floe,
and floe's figures against the issue-3 targets.

Ranged-GET runs: one table per (bench, scenario), one row per tool: runs (failed), median
seconds, median MB/s (MB = 2^20 bytes of payload), requests issued per run and
bytes moved per run as counted by the proxy, time relative to floe (tool's
median seconds / floe's: > 1 means floe is faster) and, where curl ran,
throughput as a fraction of the curl ceiling. Also flags checksum
disagreements between tools. Standard library only.

Virtualize runs (bench "virtualize", from run_virtualize.sh, issue 4): one table per scenario (local disk,
S3 through the proxy with and without added latency), one row per file and tool: median seconds as each
tool reports them (floe: virtualize + commit; VirtualiZarr: open_virtual_dataset alone, and a second row
with its to_icechunk commit; kerchunk: translate), whole-process wall and CPU time, GETs/HEADs/bytes as
counted by the proxy, refs, and time relative to floe; then the issue-4 targets per file.

GRIB2 decode runs (bench "grib_decode", from run_grib_decode.sh, issue 6): one row per message with its
template, size and points, the median over rounds of each tool's per-round median milliseconds (floe, ecCodes'
codes_get_double_array, gribberish's parse_grib_array) and the median over rounds of the per-round ratios
ecCodes/floe and gribberish/floe (> 1: floe is faster); then per template the geometric mean and range of the
ratios, the value checks (floe against ecCodes; gribberish's value and NaN counts against floe's) and the
issue-6 targets.

Usage: summarize.py [--run-id ID | --all] FILE.jsonl [FILE.jsonl ...]
By default only the newest run_id in the files is summarized.
"""
import argparse
import json
import math
import statistics
import sys

TOOL_ORDER = ["floe", "s3fs", "obstore", "curl", "icechunk-python", "virtualizarr", "kerchunk"]
ICECHUNK_BENCHES = ("icechunk_commit", "icechunk_open_one_ref")
# Issue 3: floe's commit <= 1/3 of icechunk-python's wall time, <= 32 bytes of peak memory per ref, and
# opening the repository and fetching one ref in <= 0.5 s.
TARGET_TIME_RATIO = 1 / 3
TARGET_BYTES_PER_REF = 32
TARGET_OPEN_S = 0.5
# Issue 4: floe virtualize >= 30x faster than VirtualiZarr and kerchunk on local disk, >= 50x from S3 with
# 20 ms per request with <= 1/10 of their requests; the POP-like file in <= 40 GETs, its paged copy in <= 3.
TARGET_LOCAL_SPEEDUP = 30
TARGET_S3_SPEEDUP = 50
TARGET_REQUEST_SHARE = 1 / 10
TARGET_GETS = {"pop": 40, "pop-paged": 3}
VIRTUALIZE_TOOLS = ["floe", "virtualizarr", "virtualizarr + to_icechunk", "kerchunk"]
# Issue 6: floe never slower than ecCodes, >= 2x ecCodes on templates 5.0/5.2/5.3, >= 1.5x gribberish overall.
TARGET_GRIB_ECCODES_FAST = {"5.0": 2.0, "5.2": 2.0, "5.3": 2.0}
TARGET_GRIB_GRIBBERISH = 1.5
GRIB_PEERS = [("eccodes", "ecCodes"), ("eccodes-float", "ecCodes float"), ("gribberish", "gribberish")]
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


def _num(r, key):
    v = r.get(key)
    return v if isinstance(v, (int, float)) else None


def _median(recs, key):
    vals = [_num(r, key) for r in recs]
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def _fmt(v, spec=".2f", none="n/a"):
    return none if v is None else format(v, spec)


def _tool_key(t):
    return (TOOL_ORDER.index(t) if t in TOOL_ORDER else 99, t)


def _geomean(values):
    vals = [v for v in values if v and v > 0]
    return math.exp(sum(math.log(v) for v in vals) / len(vals)) if vals else None


def _template_key(template):
    try:
        return int(str(template).split(".")[-1])
    except ValueError:
        return 999


def grib_decode_tables(recs):
    """Markdown lines for the grib_decode records of one run (run_grib_decode.sh)."""
    ok = [r for r in recs if "error" not in r and _num(r, "median_ms") is not None]
    by = {}  # (message, tool) -> {round: record}
    for r in ok:
        by.setdefault((r.get("message"), r.get("tool")), {})[r.get("round")] = r
    info = {}
    for r in recs:
        if r.get("tool") == "floe" and r.get("message") and "error" not in r:
            info.setdefault(r["message"], r)
    messages = sorted(info, key=lambda m: (_template_key(info[m].get("template")), info[m].get("source") != "synthetic", m))
    peers = [(t, label) for t, label in GRIB_PEERS if any(r.get("tool") == t for r in ok)]

    def cell(message, tool, key="median_ms"):
        v = [_num(r, key) for r in by.get((message, tool), {}).values()]
        return statistics.median(v) if v and None not in v else None

    def ratio(message, tool, key="median_ms"):
        """Median over rounds of tool / floe in the same round."""
        floe, peer = by.get((message, "floe"), {}), by.get((message, tool), {})
        per_round = [_num(peer[k], key) / _num(floe[k], key) for k in floe
                     if k in peer and _num(peer[k], key) is not None and (_num(floe[k], key) or 0) > 0]
        return statistics.median(per_round) if per_round else None

    rounds = sorted({r.get("round") for r in recs if r.get("round") is not None})
    first = recs[0]
    lines = [f"### GRIB2 decode, {len(messages)} messages, {len(rounds)} rounds, run {first.get('run_id')}", ""]
    loads = [_num(r, "load_before") for r in recs if _num(r, "load_before") is not None]
    lines.append(f"{first.get('host', '')}; 1-minute load before the rounds {min(loads, default=0):.1f}–"
                 f"{max(loads, default=0):.1f}; median ms per message (median over rounds of each round's "
                 "median); ratios > 1: floe is faster.")
    lines.append("")
    head = ["template", "message", "size", "points", "floe ms"] + [f"{label} ms" for _, label in peers]
    head += [f"{label}/floe" for _, label in peers]
    lines += ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * len(head)) + "|"]
    for m in messages:
        r = info[m]
        name = m.replace("testdata-", "", 1) + (" (bitmap)" if r.get("bitmap") and "bitmap" not in m else "")
        row = [r.get("template", "?"), name, f"{r.get('bytes', 0) / 1e6:.2f} MB" if r.get("bytes", 0) >= 1e5
               else f"{r.get('bytes', 0):,} B", f"{r.get('points', 0):,}", _fmt(cell(m, "floe"), ".3f")]
        row += [_fmt(cell(m, t), ".3f", "n/a (fails)" if any(x.get("message") == m and x.get("tool") == t
                                                          for x in recs) else "n/a") for t, _ in peers]
        for t, _ in peers:
            q = ratio(m, t)
            row.append(_fmt(q, ".2f") + ("×" if q else ""))
        lines.append("| " + " | ".join(row) + " |")

    lines += ["", "Per template (geometric mean of the per-message ratios, range in brackets; \"CPU\": the same "
              "from each call's CPU time, the thread's for floe and ecCodes, the process's for gribberish):", ""]
    head = ["template", "messages"] + [f"{label}/floe" for _, label in peers]
    head += [f"{label}/floe CPU" for _, label in peers]
    lines += ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * len(head)) + "|"]
    templates = sorted({info[m].get("template") for m in messages}, key=_template_key)
    for tpl in templates:
        in_template = [m for m in messages if info[m].get("template") == tpl]
        row = [tpl, str(len(in_template))]
        for key in ("median_ms", "median_cpu_ms"):
            for t, _ in peers:
                q = [ratio(m, t, key) for m in in_template]
                q = [v for v in q if v]
                row.append(f"{_geomean(q):.2f}× ({min(q):.2f}–{max(q):.2f})" if q else "n/a")
        lines.append("| " + " | ".join(row) + " |")

    lines += ["", "Checks:"]
    floe_recs = [r for r in recs if r.get("tool") == "floe"]
    disagree = sorted({r.get("message") for r in floe_recs if r.get("agrees") is False})
    lines.append(f"- floe against ecCodes: {len(floe_recs)} message decodes checked, "
                 + (f"**{len(disagree)} disagree**: {', '.join(disagree)}" if disagree else
                    "all agree (same missing points, largest difference within half a packing step plus float32 "
                    f"rounding; {sum(r.get('float32_mismatches', 0) for r in floe_recs):,} values differ from "
                    "ecCodes' double rounded to float)"))
    for r in recs:
        if r.get("tool") == "gribberish" and "error" not in r and r.get("message") in info:
            f = info[r["message"]]
            if r.get("values") != f.get("points") or r.get("nan_count") != f.get("floe_nan"):
                lines.append(f"- gribberish {r['message']}: {r.get('values')} values, {r.get('nan_count')} NaN "
                             f"(floe: {f.get('points')}, {f.get('floe_nan')})")
                break
    failed = sorted({(r.get("tool"), r.get("message"), r.get("error", "")[:120]) for r in recs if "error" in r})
    for tool, message, error in failed:
        lines.append(f"- {tool} cannot decode {message}: {error}")
    threaded = [r for r in ok if r.get("tool") == "gribberish" and _num(r, "median_cpu_ms")
                and r["median_cpu_ms"] > 1.2 * r["median_ms"]]
    if threaded:
        lines.append(f"- gribberish used more CPU than wall time (several threads) on "
                     f"{', '.join(sorted({r['message'] for r in threaded}))}")
    run_errors = sorted({r["run_error"] for r in recs if r.get("run_error")})
    lines += [f"- run error: {e}" for e in run_errors]

    lines += ["", "Issue-6 targets:"]
    eccodes = {m: ratio(m, "eccodes") for m in messages}
    slower = [f"{m} ({q:.2f}×)" for m, q in eccodes.items() if q is not None and q < 1]
    worst = min((q for q in eccodes.values() if q is not None), default=None)
    cpu_worst = min((q for q in (ratio(m, "eccodes", "median_cpu_ms") for m in messages) if q), default=None)
    lines.append(f"- never slower than ecCodes: {'**not met**' if slower else 'met'} (lowest ecCodes/floe "
                 f"{_fmt(worst)}×, in CPU time {_fmt(cpu_worst)}×{'; slower on ' + ', '.join(slower) if slower else ''})")
    for tpl, target in TARGET_GRIB_ECCODES_FAST.items():
        q = {m: eccodes[m] for m in messages if info[m].get("template") == tpl and eccodes[m] is not None}
        if not q:
            continue
        below = [f"{m} ({v:.2f}×)" for m, v in q.items() if v < target]
        lines.append(f"- ≥ {target:g}× ecCodes on {tpl}: {'**not met**' if below else 'met'} on every message "
                     f"(lowest {min(q.values()):.2f}×, geometric mean {_geomean(q.values()):.2f}×"
                     f"{'; below on ' + ', '.join(below) if below else ''})")
    grib = [ratio(m, "gribberish") for m in messages]
    grib = [q for q in grib if q is not None]
    grib_cpu = [q for q in (ratio(m, "gribberish", "median_cpu_ms") for m in messages) if q]
    if grib:
        floe_total = sum(cell(m, "floe") or 0 for m in messages if ratio(m, "gribberish") is not None)
        peer_total = sum(cell(m, "gribberish") or 0 for m in messages if ratio(m, "gribberish") is not None)
        overall = _geomean(grib)
        lines.append(f"- ≥ {TARGET_GRIB_GRIBBERISH:g}× gribberish overall: "
                     f"{'met' if overall >= TARGET_GRIB_GRIBBERISH else '**not met**'} (geometric mean over the "
                     f"{len(grib)} messages it decodes {overall:.2f}×; total time {peer_total:.1f} against "
                     f"{floe_total:.1f} ms = {peer_total / floe_total:.2f}×; floe slower on "
                     f"{sum(1 for q in grib if q < 1)}; in CPU time the geometric mean is "
                     f"{_fmt(_geomean(grib_cpu))}×)")
    lines.append("")
    return lines


def icechunk_tables(recs):
    """Markdown lines for the icechunk_commit / icechunk_open_one_ref records of one run."""
    lines = []
    commits = [r for r in recs if r.get("bench") == "icechunk_commit"]
    opens = [r for r in recs if r.get("bench") == "icechunk_open_one_ref"]
    med = {}
    if commits:
        first = commits[0]
        desc = [f"{first.get('refs', '?'):,} virtual refs" if isinstance(first.get("refs"), int) else "? refs"]
        if first.get("rows"):
            desc.append(f"{first['rows']:,} x {first['cols']:,} chunks, {first.get('files', '?'):,} files")
        rounds = sorted({r.get("round") for r in commits if r.get("round") is not None})
        desc.append(f"{len(rounds)} rounds")
        if first.get("run_id"):
            desc.append(f"run {first['run_id']}")
        if first.get("host"):
            desc.append(first["host"])
        lines += [f"### Icechunk commit, {first.get('scenario', '?')}", "", ", ".join(desc), ""]
        head = ["tool", "runs", "total s", "build inputs s", "set refs s", "commit s", "process wall s",
                "process CPU s", "peak RSS MiB", "bytes/ref (peak - baseline)", "repo MiB", "manifests", "total vs floe"]
        lines += ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * len(head)) + "|"]
        tools = sorted({r["tool"] for r in commits}, key=_tool_key)
        for t in tools:
            rs = [r for r in commits if r["tool"] == t]
            ok = [r for r in rs if "error" not in r and _num(r, "total_s")]
            med[t] = {k: _median(ok, k) for k in ("total_s", "build_inputs_s", "set_refs_s", "commit_s",
                                                   "process_wall_s", "cpu_s", "peak_rss_bytes", "bytes_per_ref",
                                                   "repo_bytes", "manifests")}
            runs = f"{len(rs)}" + (f" ({len(rs) - len(ok)} failed)" if len(ok) < len(rs) else "")
            m = med[t]
            if not ok:
                lines.append("| " + " | ".join([t, runs] + ["n/a"] * (len(head) - 2)) + " |")
                continue
            floe_total = med.get("floe", {}).get("total_s")
            rel = ("1.00 (baseline)" if t == "floe" else
                   f"{m['total_s'] / floe_total:.2f}x" if floe_total else "n/a")
            lines.append("| " + " | ".join([
                t, runs, _fmt(m["total_s"]), _fmt(m["build_inputs_s"], ".2f", "-"), _fmt(m["set_refs_s"]),
                _fmt(m["commit_s"]), _fmt(m["process_wall_s"]), _fmt(m["cpu_s"]),
                _fmt(m["peak_rss_bytes"] and m["peak_rss_bytes"] / MIB, ",.0f"), _fmt(m["bytes_per_ref"], ".1f"),
                _fmt(m["repo_bytes"] and m["repo_bytes"] / MIB, ",.1f"), _fmt(m["manifests"], ".0f"), rel,
            ]) + " |")
        lines.append("")
    omed = {}
    if opens:
        lines += ["### Open the repository and fetch one chunk ref (fresh process)", ""]
        head = ["tool", "repository written by", "runs", "median s (in process)", "median process wall s",
                "peak RSS MiB", "what is timed"]
        lines += ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * len(head)) + "|"]
        keys = sorted({(r["tool"], r.get("repo_written_by", r["tool"])) for r in opens},
                      key=lambda k: (k[0] != k[1], _tool_key(k[0]), k[1]))
        for t, w in keys:
            rs = [r for r in opens if r["tool"] == t and r.get("repo_written_by", t) == w]
            ok = [r for r in rs if "error" not in r and _num(r, "seconds") is not None]
            runs = f"{len(rs)}" + (f" ({len(rs) - len(ok)} failed)" if len(ok) < len(rs) else "")
            sec = _median(ok, "seconds")
            if t == w:
                omed[t] = sec
            what = next((r.get("what") for r in ok if r.get("what")), "")
            lines.append("| " + " | ".join([
                t, w, runs, _fmt(sec, ".3f"), _fmt(_median(ok, "process_wall_s"), ".2f"),
                _fmt((_median(ok, "peak_rss_bytes") or 0) / MIB if ok else None, ",.0f"), what]) + " |")
        lines.append("")
    f, p = med.get("floe"), med.get("icechunk-python")
    checks = []
    if f and p and f.get("total_s") and p.get("total_s"):
        ratio = f["total_s"] / p["total_s"]
        checks.append(f"commit wall time: floe {f['total_s']:.2f} s / icechunk-python {p['total_s']:.2f} s = "
                      f"{ratio:.3f} (target <= {TARGET_TIME_RATIO:.3f}): "
                      + ("**met**" if ratio <= TARGET_TIME_RATIO else f"**missed** by {ratio / TARGET_TIME_RATIO:.2f}x"))
        if f.get("process_wall_s") and p.get("process_wall_s"):
            checks.append(f"whole-process wall time: floe {f['process_wall_s']:.2f} s / icechunk-python "
                          f"{p['process_wall_s']:.2f} s = {f['process_wall_s'] / p['process_wall_s']:.3f}")
        if f.get("cpu_s") and p.get("cpu_s"):
            checks.append(f"process CPU time (user + system): floe {f['cpu_s']:.2f} s / icechunk-python "
                          f"{p['cpu_s']:.2f} s = {f['cpu_s'] / p['cpu_s']:.3f}")
        pairs = {}
        for r in commits:
            if "error" not in r and _num(r, "total_s"):
                pairs.setdefault(r.get("round"), {})[r["tool"]] = r["total_s"]
        ratios = [v["floe"] / v["icechunk-python"] for v in pairs.values() if "floe" in v and "icechunk-python" in v]
        if len(ratios) > 1:
            checks.append(f"per-round floe/icechunk-python total ratios: {', '.join(f'{x:.3f}' for x in ratios)}")
    if f and f.get("bytes_per_ref") is not None:
        b = f["bytes_per_ref"]
        checks.append(f"floe peak memory: {b:.1f} B/ref (target <= {TARGET_BYTES_PER_REF}): "
                      + ("**met**" if b <= TARGET_BYTES_PER_REF else f"**missed** by {b / TARGET_BYTES_PER_REF:.2f}x")
                      + (f"; icechunk-python {p['bytes_per_ref']:.1f} B/ref" if p and p.get("bytes_per_ref") else ""))
    if omed.get("floe") is not None:
        o = omed["floe"]
        checks.append(f"floe open + one ref: {o:.3f} s (target <= {TARGET_OPEN_S}): "
                      + ("**met**" if o <= TARGET_OPEN_S else f"**missed** by {o / TARGET_OPEN_S:.2f}x"))
    if checks:
        lines += ["Against the issue-3 targets (medians):", ""] + [f"- {c}" for c in checks] + [""]
    errors = [f"{r['tool']} {r.get('bench')} round {r.get('round')}: {r['error']}" for r in commits + opens
              if "error" in r]
    if errors:
        lines += [f"- error: {e}" for e in errors[:10]] + [""]
    hashes = sorted({r["floe_bin_sha256"] for r in commits + opens if r.get("floe_bin_sha256")})
    if len(hashes) > 1 or any(r.get("floe_bin_changed") for r in commits + opens):
        lines += [f"- **warning**: the floe binary changed during this run ({', '.join(hashes)}); "
                  "its figures mix versions", ""]
    return lines


def _virtualize_rows(recs):
    """Splits each VirtualiZarr record into its two figures: open_virtual_dataset alone, and with the commit."""
    out = []
    for r in recs:
        r = dict(r)
        if r.get("tool") == "floe" and "refs" not in r:
            r["refs"] = r.get("virtual_refs")
        out.append(r)
        if r.get("tool") == "virtualizarr" and "with_commit_s" in r:
            c = dict(r)
            c["tool"] = "virtualizarr + to_icechunk"
            c["seconds"] = r["with_commit_s"]
            out.append(c)
    return out


def _scenario_key(s):
    order = {"local": 0}
    return (order.get(s, 2 if s.startswith("latency-0ms") else 1), s)


def virtualize_tables(recs):
    """Markdown lines for the virtualize records of one run."""
    recs = _virtualize_rows(recs)
    lines = []
    checks = []
    files = []
    for r in recs:
        if r.get("file") not in files:
            files.append(r.get("file"))
    for scenario in sorted({r.get("scenario", "?") for r in recs}, key=_scenario_key):
        rs = [r for r in recs if r.get("scenario", "?") == scenario]
        rounds = sorted({r.get("round") for r in rs if r.get("round") is not None})
        desc = [f"{len(rounds)} rounds"]
        for k in ("run_id", "host"):
            if rs[0].get(k):
                desc.append(f"run {rs[0][k]}" if k == "run_id" else rs[0][k])
        remote = any(r.get("proxy_requests") is not None for r in rs)
        lines += [f"### virtualize, {scenario}", "", ", ".join(desc), ""]
        head = ["file", "tool", "runs", "median s", "process wall s", "process CPU s"]
        if remote:
            head += ["GETs/run (proxy)", "HEADs/run", "MiB moved/run"]
        head += ["refs (+inline)", "median s vs floe"]
        lines += ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * len(head)) + "|"]
        med = {}
        for f in files:
            for t in sorted({r["tool"] for r in rs if r.get("file") == f},
                            key=lambda t: (VIRTUALIZE_TOOLS.index(t) if t in VIRTUALIZE_TOOLS else 99, t)):
                tr = [r for r in rs if r.get("file") == f and r["tool"] == t]
                ok = [r for r in tr if "error" not in r and _num(r, "seconds") is not None]
                runs = f"{len(tr)}" + (f" ({len(tr) - len(ok)} failed)" if len(ok) < len(tr) else "")
                if not ok:
                    lines.append("| " + " | ".join([f, t, runs] + ["n/a"] * (len(head) - 3)) + " |")
                    continue
                m = {k: _median(ok, k) for k in ("seconds", "process_wall_s", "cpu_s", "proxy_gets",
                                                 "proxy_heads", "proxy_requests", "proxy_bytes_out")}
                m["per_round"] = {r.get("round"): r["seconds"] for r in ok}
                m["self_gets"] = _median([r.get("requests") or {} for r in ok], "metadata_gets")
                m["self_rounds"] = _median([r.get("requests") or {} for r in ok], "metadata_rounds")
                m["gets"] = [r.get("proxy_gets") for r in ok]
                med[(f, t)] = m
                base = med.get((f, "floe"), {}).get("seconds")
                rel = "1.00 (baseline)" if t == "floe" else (f"{m['seconds'] / base:.1f}x" if base else "n/a")
                refs = per_run([r.get("refs") for r in ok])
                inl = per_run([r.get("inline_chunks") for r in ok])
                row = [f, t, runs, _fmt(m["seconds"], ".3f"), _fmt(m["process_wall_s"]), _fmt(m["cpu_s"])]
                if remote:
                    row += [per_run(m["gets"]), per_run([r.get("proxy_heads") for r in ok]),
                            mib([r.get("proxy_bytes_out") for r in ok])]
                row += [f"{refs} (+{inl})", rel]
                lines.append("| " + " | ".join(row) + " |")
        lines.append("")
        for r in rs:
            if "error" in r and r["tool"] != "virtualizarr + to_icechunk":
                lines.append(f"- error: {r['file']} {r['tool']} round {r.get('round')}: {r['error']}")
        floe_self = [(f, med[(f, "floe")]) for f in files if (f, "floe") in med and med[(f, "floe")]["self_gets"] is not None]
        if floe_self:
            lines.append("- floe's own count (median metadata GETs / rounds): "
                         + "; ".join(f"{f} {m['self_gets']:.0f} / {_fmt(m['self_rounds'], '.0f')}" for f, m in floe_self))
        lines.append("")
        speed_target = TARGET_LOCAL_SPEEDUP if scenario == "local" else (
            TARGET_S3_SPEEDUP if remote and not scenario.startswith("latency-0ms") else None)
        for f in files:
            fl = med.get((f, "floe"))
            if not fl or not fl["seconds"]:
                continue
            for t in ("virtualizarr", "virtualizarr + to_icechunk", "kerchunk"):
                pm = med.get((f, t))
                if not pm:
                    continue
                ratio = pm["seconds"] / fl["seconds"]
                rounds_r = [pm["per_round"][k] / fl["per_round"][k] for k in sorted(fl["per_round"], key=str)
                            if k in pm["per_round"] and fl["per_round"][k]]
                wall = (f"; whole process {pm['process_wall_s'] / fl['process_wall_s']:.1f}x"
                        if pm.get("process_wall_s") and fl.get("process_wall_s") else "")
                verdict = ""
                if speed_target and t != "virtualizarr + to_icechunk":
                    verdict = (" (target >= %dx: " % speed_target + ("**met**)" if ratio >= speed_target
                               else f"**missed**, {ratio / speed_target:.2f} of it)"))
                spread = f", per round {min(rounds_r):.1f}-{max(rounds_r):.1f}x" if len(rounds_r) > 1 else ""
                line = f"{scenario}, {f}: floe {fl['seconds']:.3f} s vs {t} {pm['seconds']:.3f} s = {ratio:.1f}x{verdict}{spread}{wall}"
                if remote and fl.get("proxy_requests") is not None and pm.get("proxy_requests"):
                    share = fl["proxy_requests"] / pm["proxy_requests"]
                    line += (f"; requests {fl['proxy_requests']:.0f} vs {pm['proxy_requests']:.0f} = {share:.2f}"
                             + ((" (target <= 0.10: " + ("**met**)" if share <= TARGET_REQUEST_SHARE else "**missed**)"))
                                if speed_target and t != "virtualizarr + to_icechunk" else ""))
                checks.append(line)
            base_name = f.split("-v")[0] if f else f
            if remote and base_name in TARGET_GETS and fl.get("proxy_gets") is not None:
                want = TARGET_GETS[base_name]
                g = fl["proxy_gets"]
                checks.append(f"{scenario}, {f}: floe {g:.0f} GETs per run (proxy; target <= {want}): "
                              + ("**met**" if g <= want else f"**missed** by {g - want:.0f}"))
    if checks:
        lines += ["Against the issue-4 targets (medians):", ""] + [f"- {c}" for c in checks] + [""]
    hashes = sorted({r["floe_bin_sha256"] for r in recs if r.get("floe_bin_sha256")})
    if len(hashes) > 1 or any(r.get("floe_bin_changed") for r in recs):
        lines += [f"- **warning**: the floe binary changed during this run ({', '.join(hashes)}); "
                  "its figures mix versions", ""]
    return lines


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
    ice = [r for r in recs if r.get("bench") in ICECHUNK_BENCHES]
    virt = [r for r in recs if r.get("bench") == "virtualize"]
    grib = [r for r in recs if r.get("bench") == "grib_decode"]
    recs = [r for r in recs if r.get("bench") not in ICECHUNK_BENCHES + ("virtualize", "grib_decode")]
    if ice:
        print("\n".join(icechunk_tables(ice)))
    if virt:
        print("\n".join(virtualize_tables(virt)))
    if grib:
        print("\n".join(grib_decode_tables(grib)))
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
