#!/usr/bin/env python3
"""Ranged-GET benchmark peer: s3fs (fsspec + aiobotocore).

Reads, for each key, the byte ranges [i*stride, i*stride + range_size) for
i in 0..ranges_per_key-1, all ranges of all keys as ONE concurrent batch via
S3FileSystem._cat_ranges (the coroutine behind fs.cat_ranges), verifies every
range has exactly range_size bytes, and prints one JSON line:

  {"tool":"s3fs","seconds":S,"ranges":N,"bytes":B,"checksum":"xxxxxxxx"}

checksum = zlib.crc32 over the concatenation of all ranges in (key order as
given, ascending offset) order, as 8 lowercase hex digits. Every peer and floe
compute it the same way, so their outputs can be compared for correctness.

Concurrency: s3fs has two throttles and a knowledgeable user lifts both:
  * batch_size of _cat_ranges (fsspec's default for this call is 1280, so it
    is not the limit here, but we set it to --concurrency explicitly), and
  * botocore's connection pool, max_pool_connections (default 10!), which is
    aiohttp's connector limit: without raising it s3fs would never have more
    than 10 requests in flight. We set it to --concurrency.

Timed region: ONLY the `await fs._cat_ranges(...)` call. Outside it: imports,
building the S3FileSystem and its aiobotocore client (set_session, no network
I/O), and afterwards the length checks and the checksum. Connections are
opened lazily inside the timed region (each run is a fresh process, so there
is no warm pool), exactly as for the other tools.
"""
import asyncio
import json
import sys
import time
import zlib

import ranged_get_common
from ranged_get_common import plan


def parse_args(argv=None):
    return ranged_get_common.parse_args(__doc__.split("\n\n")[0], "max requests in flight (batch_size and max_pool_connections); default 64", 1, argv)



async def main_async(a):
    import s3fs

    fs = s3fs.S3FileSystem(
        key=a.access_key,
        secret=a.secret_key,
        endpoint_url=a.endpoint,
        client_kwargs={"region_name": a.region},
        config_kwargs={
            "max_pool_connections": a.concurrency,
            "s3": {"addressing_style": "path"},
        },
        asynchronous=True,
        skip_instance_cache=True,
        use_listings_cache=False,
    )
    await fs.set_session()  # builds the aiobotocore client; no request is sent
    ranges = plan(a)
    paths = [f"{a.bucket}/{k}" for k, _, _ in ranges]
    starts = [s for _, s, _ in ranges]
    ends = [e for _, _, e in ranges]

    # ---- timed region: the reads only ----
    t0 = time.perf_counter()
    out = await fs._cat_ranges(paths, starts, ends, batch_size=a.concurrency, on_error="return")
    seconds = time.perf_counter() - t0
    # ---- end of timed region ----

    await fs._s3.close()

    crc = 0
    total = 0
    for (k, s, e), data in zip(ranges, out):
        if isinstance(data, BaseException):
            raise RuntimeError(f"range {k} [{s},{e}) failed: {data!r}")
        if len(data) != e - s:
            raise RuntimeError(f"range {k} [{s},{e}) returned {len(data)} bytes, want {e - s}")
        crc = zlib.crc32(data, crc)
        total += len(data)
    return {"tool": "s3fs", "seconds": round(seconds, 6), "ranges": len(ranges),
            "bytes": total, "checksum": f"{crc & 0xFFFFFFFF:08x}"}


def main():
    a = parse_args()
    try:
        res = asyncio.run(main_async(a))
    except Exception as exc:  # one clear line on stderr, non-zero exit
        print(f"ranged_get_s3fs: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(res), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
