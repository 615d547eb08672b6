# bench/record_run.py owns turning one benchmarked process (its stdout JSON, stderr, exit status, /usr/bin/time and proxy counters) into one JSON line for bench/results/.
"""Builds the JSON record of one benchmark run from the files a run script collected.

  record_run.py --out F --err F --rc N [--time F] [--stats F] [--set KEY=VALUE ...] [--each-line]

--out: the tool's stdout; the whole of it if it is one JSON object, else its last line that parses as a JSON
object, is the base record (the tool's own figures). --err: its stderr (the last non-empty line goes into "error" when the run failed). --rc: the exit
status (124 = timeout). --time: /usr/bin/time -f '%e %M %U %S' output -> process_wall_s, time_maxrss_bytes,
cpu_s (user + system, all threads). --stats: the faultproxy's /__faultproxy/stats JSON -> proxy_requests,
proxy_gets, proxy_heads, proxy_bytes_out (counted by the proxy, not by the tool). --set KEY=VALUE: extra
fields; VALUE is parsed as JSON when it can be (numbers, true/false), else kept as a string. The record
goes to stdout as one line; one progress line goes to stderr. --each-line: the tool printed one record per
line (one per message, say): each JSON object line of --out becomes a record with the --set fields, and
when the run failed each also gets "run_error" (one "error" record if it printed none); --time and
--stats are not used then. Standard library only.
"""
import argparse
import json
import sys
import time


def json_lines(text):
    """The lines of `text` that parse as JSON objects."""
    objects = []
    for raw in text.splitlines():
        raw = raw.strip()
        if raw.startswith("{"):
            try:
                obj = json.loads(raw)
            except ValueError:
                continue
            if isinstance(obj, dict):
                objects.append(obj)
    return objects


def last_json_object(path):
    """The whole output if it is one JSON object (floe --json pretty-prints), else its last JSON line."""
    with open(path, errors="replace") as f:
        text = f.read()
    try:
        whole = json.loads(text)
        if isinstance(whole, dict):
            return whole
    except ValueError:
        pass
    objects = json_lines(text)
    return objects[-1] if objects else None


def failure(a, has_output):
    """The "error" text of a failed run: exit status, the last line of stderr, timeout, missing output."""
    with open(a.err, errors="replace") as f:
        msg = [m for m in f.read().splitlines() if m.strip()]
    return (f"exit {a.rc}" + (": " + msg[-1][:300] if msg else "")
            + (" (timeout)" if a.rc == 124 else "") + ("" if has_output else " (no JSON output)"))


def extra_fields(a, parser):
    fields = {}
    for kv in a.set:
        key, sep, val = kv.partition("=")
        if not sep or not key:
            parser.error(f"--set wants KEY=VALUE, got {kv!r}")
        fields[key] = value(val)
    return fields


def each_line(a, parser):
    """--each-line: one record per JSON line of the tool's output."""
    with open(a.out, errors="replace") as f:
        recs = json_lines(f.read())
    failed = failure(a, bool(recs)) if a.rc != 0 or not recs else None
    extra = extra_fields(a, parser)
    if not recs:
        recs = [{"error": failed}]
    elif failed:
        for rec in recs:
            rec["run_error"] = failed
    for rec in recs:
        rec.update(extra)
        rec.setdefault("time", time.strftime("%Y-%m-%dT%H:%M:%S"))
        print(json.dumps(rec))
    errors = sum(1 for rec in recs if "error" in rec)
    tools = sorted({str(rec.get("tool", "?")) for rec in recs})
    sys.stderr.write(f"  round {extra.get('round', '?')} {'+'.join(tools)}: {len(recs)} records"
                     + (f", {errors} with errors" if errors else "") + (f" ({failed})" if failed else "") + "\n")
    return 0


def value(text):
    try:
        return json.loads(text)
    except ValueError:
        return text


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--err", required=True)
    p.add_argument("--rc", required=True, type=int)
    p.add_argument("--time")
    p.add_argument("--stats")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--each-line", action="store_true")
    a = p.parse_args(argv)
    if a.each_line:
        return each_line(a, p)

    base = last_json_object(a.out)
    rec = dict(base) if base else {}
    if a.rc != 0 or base is None:
        rec["error"] = failure(a, base is not None)
    if a.time:
        try:
            with open(a.time, errors="replace") as f:
                parts = f.read().split()
            rec["process_wall_s"] = float(parts[-4])
            rec["time_maxrss_bytes"] = int(parts[-3]) * 1024
            rec["cpu_s"] = round(float(parts[-2]) + float(parts[-1]), 3)
        except (OSError, IndexError, ValueError):
            pass
    if a.stats:
        try:
            with open(a.stats) as f:
                st = json.load(f)
        except (OSError, ValueError):
            st = {}
        by = st.get("by_method") or {}
        rec.update({"proxy_requests": st.get("requests"), "proxy_gets": by.get("GET", 0) if st else None,
                    "proxy_heads": by.get("HEAD", 0) if st else None, "proxy_bytes_out": st.get("bytes_out")})
    rec.update(extra_fields(a, p))
    rec.setdefault("time", time.strftime("%Y-%m-%dT%H:%M:%S"))
    print(json.dumps(rec))

    secs = rec.get("seconds")
    figure = rec["error"] if "error" in rec else (f"{secs:.3f}s" if isinstance(secs, (int, float)) else "?")
    extra = ""
    if isinstance(rec.get("with_commit_s"), (int, float)):
        extra += f" (+commit {rec['with_commit_s']:.3f}s)"
    if "process_wall_s" in rec:
        extra += f"  process {rec['process_wall_s']:.2f}s"
    if rec.get("proxy_requests") is not None:
        extra += f"  proxy {rec['proxy_gets']} GET {rec['proxy_heads']} HEAD {rec['proxy_bytes_out'] or 0:,} B"
    label = " ".join(str(rec[k]) for k in ("scenario", "file") if k in rec)
    sys.stderr.write(f"  {label} round {rec.get('round', '?')} {rec.get('tool', '?'):12s} {figure}{extra}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
