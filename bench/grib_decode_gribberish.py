#!/usr/bin/env python3
# bench/grib_decode_gribberish.py owns the GRIB2 decode benchmark's gribberish peer (issue 6: bench/run_grib_decode.sh).
"""Times gribberish decoding every message file that floe_bench_grib_decode wrote.

  grib_decode_gribberish.py DIR [--warmup N] [--min-repeats N] [--max-repeats N] [--budget-ms MS]
                            [--only SUBSTRING]

Each DIR/*.grib2 holds one message. Its bytes are read once; then `gribberish.parse_grib_array(data, 0)`
(gribberish's public call that returns one message's values and nothing else: the numpy float64 array its
zarr codec hands to zarr) is called --warmup times untimed and then timed until at least --min-repeats calls
and either --budget-ms of its time or --max-repeats calls, as floe_bench_grib_decode times floe and ecCodes.
One JSON line per message: median, min and max milliseconds, the median CPU time of the process over
the same calls (above the wall time when gribberish decodes on several threads), the number of values and
of NaNs (points missing), gribberish's version. A message gribberish cannot decode gets a record with its
"error" (gribberish 1.9 has no template 5.4); the exit status is 1 only when no message decodes.
"""
import argparse
import importlib.metadata
import json
import os
import statistics
import sys
import time

import gribberish
import numpy as np


def time_message(path, args):
    with open(path, "rb") as f:
        data = f.read()
    name = os.path.splitext(os.path.basename(path))[0]
    rec = {"bench": "grib_decode", "tool": "gribberish", "message": name, "bytes": len(data),
           "api": "parse_grib_array", "gribberish_version": importlib.metadata.version("gribberish")}
    samples = []
    cpu_samples = []
    try:
        values = None
        for _ in range(args.warmup):
            values = gribberish.parse_grib_array(data, 0)
        while True:
            n = len(samples)
            if n >= args.min_repeats and (n >= args.max_repeats or sum(samples) >= args.budget_ms):
                break
            cpu_start = time.process_time()
            start = time.perf_counter()
            values = gribberish.parse_grib_array(data, 0)
            samples.append((time.perf_counter() - start) * 1000.0)
            cpu_samples.append((time.process_time() - cpu_start) * 1000.0)
    except Exception as error:  # gribberish raises its Rust errors as several exception types
        rec["error"] = f"{type(error).__name__}: {error}"[:300]
        return rec
    values = np.asarray(values)
    rec.update({"median_ms": statistics.median(samples), "min_ms": min(samples), "max_ms": max(samples),
                "median_cpu_ms": statistics.median(cpu_samples), "repeats": len(samples), "values": int(values.size), "dtype": str(values.dtype),
                "nan_count": int(np.count_nonzero(np.isnan(values)))})
    return rec


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dir")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--min-repeats", type=int, default=5)
    p.add_argument("--max-repeats", type=int, default=51)
    p.add_argument("--budget-ms", type=float, default=300.0)
    p.add_argument("--only", default="")
    args = p.parse_args(argv)
    args.max_repeats = max(args.max_repeats, args.min_repeats)
    paths = sorted(os.path.join(args.dir, n) for n in os.listdir(args.dir)
                   if n.endswith(".grib2") and args.only in n)
    if not paths:
        print(f"grib_decode_gribberish: no *.grib2 in {args.dir} (run floe_bench_grib_decode generate)",
              file=sys.stderr)
        return 1
    failed = 0
    for path in paths:
        rec = time_message(path, args)
        print(json.dumps(rec), flush=True)
        if "error" in rec:
            failed += 1
            print(f"  {rec['message']:52s} gribberish: {rec['error']}", file=sys.stderr)
        else:
            print(f"  {rec['message']:52s} gribberish {rec['median_ms']:8.3f} ms", file=sys.stderr)
    return 1 if failed == len(paths) else 0


if __name__ == "__main__":
    sys.exit(main())
