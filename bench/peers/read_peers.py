# bench/peers/read_peers.py owns the Python peer of the read benchmark (issue 5): icechunk-python + zarr-python + xarray reading one region with .load(), one JSON line.
"""Read one region of one variable of an Icechunk repository with xarray, in this process; print one JSON line.

  read_peers.py --repo DIR_OR_S3_URL --variable V [--sel DIM=A:B]... [--isel DIM=I:J]...
                [--endpoint URL] [--region R] [--authorize PREFIX]...
                [--concurrency N] [--max-workers N] [--stats]

The call timed ("seconds") is what a user of the Python stack writes, from opening the repository to the
values in memory:
  repo = icechunk.Repository.open(storage, authorize_virtual_chunk_access={PREFIX: credentials})
  ds = xr.open_zarr(repo.readonly_session("main").store, consolidated=False, chunks=None)
  ds[V].sel(DIM=slice(A, B), ...).isel(DIM=slice(I, J), ...).load()
chunks=None: no dask (it is not installed); xarray's lazy indexing hands the whole selection to zarr-python in
one orthogonal read, which fetches and decodes the chunks with zarr's async concurrency. xarray's CF decoding
is left at its defaults (mask_and_scale, decode_times). --concurrency and --max-workers set zarr's
"async.concurrency" (default 10) and "threading.max_workers" (default None: Python's default executor); left
out, zarr's defaults apply. Storage: a local directory, or s3://BUCKET/PREFIX on --endpoint (path style, plain
HTTP allowed). --authorize PREFIX (repeatable; default: every container of the repository's config) grants the
virtual chunk containers: s3:// prefixes get the static keys of AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (else
FLOE_TEST_S3_ACCESS_KEY / FLOE_TEST_S3_SECRET_KEY), file:// prefixes icechunk's local file system access.

--sel values: numbers, or strings (dates) for non-numeric coordinates; A:B is xarray's slice(A, B), closed, so
"latitude=75:-60" selects a descending axis as floe does. --isel I:J is slice(I, J).

After the timed part (not timed): with --stats, the minimum, maximum, mean (float64 sums) and NaN count of the
values, computed in blocks of 4 Mi elements (no temporary as large as the values, so the peak RSS stays that of
the read), for comparison with `floe read --stats`. Output: {"seconds", "open_s", "load_s",
"shape", "dtype", "bytes_out", "import_s", "peak_rss_bytes", "zarr_concurrency", "zarr_max_workers",
["stats"]}.
"""
import argparse
import json
import os
import resource
import sys
import time
from urllib.parse import urlparse


def credentials():
    ak = os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("FLOE_TEST_S3_ACCESS_KEY")
    sk = os.environ.get("AWS_SECRET_ACCESS_KEY") or os.environ.get("FLOE_TEST_S3_SECRET_KEY")
    if not ak or not sk:
        sys.exit("read_peers: no S3 credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
    return ak, sk


def storage_for(icechunk, a):
    if a.repo.startswith("s3://"):
        u = urlparse(a.repo)
        ak, sk = credentials()
        return icechunk.s3_storage(bucket=u.netloc, prefix=u.path.strip("/") or None, region=a.region,
                                   endpoint_url=a.endpoint, allow_http=True, access_key_id=ak,
                                   secret_access_key=sk, force_path_style=True)
    return icechunk.local_filesystem_storage(os.path.abspath(a.repo))


def grants(icechunk, prefixes):
    local = getattr(getattr(icechunk, "credentials", None), "LocalFileSystemAccess", None)
    out = {}
    for prefix in prefixes:
        if prefix.startswith("s3://"):
            ak, sk = credentials()
            out[prefix] = icechunk.s3_credentials(access_key_id=ak, secret_access_key=sk)
        else:
            out[prefix] = local
    return icechunk.containers_credentials(out)


def parse_ranges(items, numeric):
    """DIM=A:B -> {dim: slice(A, B)} (A, B numbers when they parse and `numeric`, else strings)."""
    out = {}
    for item in items:
        dim, sep, spec = item.partition("=")
        start, colon, stop = spec.partition(":")
        if not sep or not colon:
            sys.exit(f"read_peers: want DIM=A:B, got {item!r}")

        def value(text):
            if text == "":
                return None
            if numeric == "int":
                return int(text)
            try:
                return float(text)
            except ValueError:
                return text

        out[dim] = slice(value(start), value(stop))
    return out


def block_stats(np, values, block=1 << 22):
    """min, max, mean (float64 sums) and NaN count, block by block so that no temporary doubles the memory."""
    flat = values.reshape(-1)
    lo, hi, total, valid = None, None, 0.0, 0
    for at in range(0, flat.size, block):
        part = flat[at:at + block]
        ok = part[~np.isnan(part)] if part.dtype.kind == "f" else part
        if ok.size:
            lo = float(ok.min()) if lo is None else min(lo, float(ok.min()))
            hi = float(ok.max()) if hi is None else max(hi, float(ok.max()))
            total += float(ok.sum(dtype=np.float64))
            valid += int(ok.size)
    return {"count": int(flat.size), "valid": valid, "nan": int(flat.size) - valid, "min": lo, "max": hi,
            "mean": total / valid if valid else None}


def main(argv=None):
    p = argparse.ArgumentParser(description="read one region with icechunk-python + zarr-python + xarray")
    p.add_argument("--repo", required=True)
    p.add_argument("--variable", required=True)
    p.add_argument("--sel", action="append", default=[])
    p.add_argument("--isel", action="append", default=[])
    p.add_argument("--endpoint")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--authorize", action="append", default=[])
    p.add_argument("--concurrency", type=int)
    p.add_argument("--max-workers", type=int)
    p.add_argument("--stats", action="store_true")
    a = p.parse_args(argv)

    t = time.perf_counter()
    import icechunk
    import numpy as np
    import xarray as xr
    import zarr
    import_s = time.perf_counter() - t

    settings = {}
    if a.concurrency is not None:
        settings["async.concurrency"] = a.concurrency
    if a.max_workers is not None:
        settings["threading.max_workers"] = a.max_workers
    if settings:
        zarr.config.set(settings)
    sel = parse_ranges(a.sel, "float")
    isel = parse_ranges(a.isel, "int")

    start = time.perf_counter()
    storage = storage_for(icechunk, a)
    prefixes = a.authorize
    if not prefixes:
        plain = icechunk.Repository.open(storage)
        prefixes = sorted((plain.config.virtual_chunk_containers or {}).keys())
    repo = icechunk.Repository.open(storage, authorize_virtual_chunk_access=grants(icechunk, prefixes) or None)
    session = repo.readonly_session("main")
    ds = xr.open_zarr(session.store, consolidated=False, chunks=None)
    var = ds[a.variable]
    if sel:
        var = var.sel(sel)
    if isel:
        var = var.isel(isel)
    opened = time.perf_counter()
    var = var.load()
    done = time.perf_counter()

    values = var.values
    rec = {"seconds": done - start, "open_s": opened - start, "load_s": done - opened, "shape": list(values.shape),
           "dtype": str(values.dtype), "bytes_out": int(values.nbytes), "import_s": import_s,
           "zarr_concurrency": zarr.config.get("async.concurrency"),
           "zarr_max_workers": zarr.config.get("threading.max_workers"), "authorized": prefixes}
    rec["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # before the stats
    if a.stats:
        rec["stats"] = block_stats(np, values)
    print(json.dumps(rec))
    return 0


if __name__ == "__main__":
    sys.exit(main())
