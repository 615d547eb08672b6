#!/usr/bin/env python3
"""Ranged-GET benchmark peer: obstore (Python bindings of Rust object_store).

Reads, for each key, the byte ranges [i*stride, i*stride + range_size) for
i in 0..ranges_per_key-1. All keys go concurrently: one
obstore.get_ranges_async call per key, gathered with asyncio. Verifies every
range has exactly range_size bytes and prints one JSON line:

  {"tool":"obstore","seconds":S,"ranges":N,"bytes":B,"checksum":"xxxxxxxx"}

checksum = zlib.crc32 over the concatenation of all ranges in (key order as
given, ascending offset) order, as 8 lowercase hex digits (same as the other
peers and floe).

Library behaviour that matters for the numbers (object_store defaults, left
as they are because that is what a user of get_ranges gets):
  * coalescing: ranges whose gap is <= `coalesce` (default 1 MiB) are merged
    into one request. The benchmark's stride leaves gaps > 1 MiB, so nothing
    merges; the proxy's request count shows it.
  * per call, object_store issues at most 10 range requests in parallel
    (OBJECT_STORE_COALESCE_PARALLEL, not configurable). So the in-flight
    request count is 10 x (get_ranges_async calls in flight).
  * --concurrency C bounds the number of get_ranges_async calls in flight to
    ceil(C / 10) (so about C requests); C = 0 means all keys at once.
  * the HTTP client (reqwest/hyper) has no connection cap, so no pool limit
    needs lifting.

Timed region: ONLY the gathered get_ranges_async calls. Outside it: imports,
building the S3Store (no network I/O), and afterwards the length checks and
the checksum. Connections are opened lazily inside the timed region (fresh
process per run, no warm pool), exactly as for the other tools.
"""
import asyncio
import json
import sys
import time
import zlib

import ranged_get_common
from ranged_get_common import plan

OBJECT_STORE_COALESCE_PARALLEL = 10


def parse_args(argv=None):
    return ranged_get_common.parse_args(__doc__.split("\n\n")[0], "approx. max requests in flight: ceil(C/10) get_ranges calls; 0 = unbounded; default 64", 0, argv)


async def main_async(a):
    import obstore
    from obstore.store import S3Store

    store = S3Store(
        a.bucket,
        endpoint=a.endpoint,
        access_key_id=a.access_key,
        secret_access_key=a.secret_key,
        region=a.region,
        virtual_hosted_style_request=False,
        client_options={"allow_http": True},
    )
    starts = [i * a.stride for i in range(a.ranges_per_key)]
    ends = [s + a.range_size for s in starts]
    calls = len(a.keys)
    if a.concurrency > 0:
        calls = min(calls, -(-a.concurrency // OBJECT_STORE_COALESCE_PARALLEL))
    sem = asyncio.Semaphore(calls)

    async def one_key(key):
        async with sem:
            return await obstore.get_ranges_async(store, key, starts=starts, ends=ends)

    # ---- timed region: the reads only ----
    t0 = time.perf_counter()
    per_key = await asyncio.gather(*(one_key(k) for k in a.keys))
    seconds = time.perf_counter() - t0
    # ---- end of timed region ----

    crc = 0
    total = 0
    n = 0
    for key, bufs in zip(a.keys, per_key):
        if len(bufs) != len(starts):
            raise RuntimeError(f"{key}: got {len(bufs)} ranges, want {len(starts)}")
        for s, e, data in zip(starts, ends, bufs):
            mv = memoryview(data)
            if mv.nbytes != e - s:
                raise RuntimeError(f"range {key} [{s},{e}) returned {mv.nbytes} bytes, want {e - s}")
            crc = zlib.crc32(mv, crc)
            total += mv.nbytes
            n += 1
    return {"tool": "obstore", "seconds": round(seconds, 6), "ranges": n,
            "bytes": total, "checksum": f"{crc & 0xFFFFFFFF:08x}"}


def main():
    a = parse_args()
    try:
        res = asyncio.run(main_async(a))
    except Exception as exc:
        print(f"ranged_get_obstore: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(res), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
