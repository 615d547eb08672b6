# bench/peers/grib_ingest_peers.py owns the Python peers of the GRIB2 ingest benchmark (issue 6): kerchunk's scan_grib and its .idx path (parse_grib_idx + build_idx_grib_mapping + map_from_index), one JSON line.
"""Index a synthetic forecast run on S3 the way kerchunk 0.2.10 does, in this process; print one JSON line.

  grib_ingest_peers.py scan --glob S3_GLOB [--limit N] [--run-files N] --endpoint URL [--region R]
  grib_ingest_peers.py mapping --dir RUN_DIR --out FILE.pkl [--jobs N]
  grib_ingest_peers.py idx --glob S3_GLOB --mapping FILE.pkl --run-time YYYYMMDDHH [--threads N]
                       --endpoint URL [--region R]

scan: `kerchunk.grib2.scan_grib(url, storage_options=...)` on every file the glob lists (sorted; the first
  --limit of them), one after the other, as kerchunk's own examples do. scan_grib opens the file through s3fs
  (default 50 MiB readahead: one GET of the whole file after its HEAD) and hands every message to ecCodes and
  cfgrib. Output: seconds (listing + scans), files, messages, seconds_per_file, and, with --run-files N,
  extrapolated_run_s = seconds_per_file * N (the whole run scanned the same way: an extrapolation, not a
  measurement).
mapping: the one-time step of kerchunk's .idx path ("stage 0" of the grib-index-kerchunk pipelines):
  `build_idx_grib_mapping(file)` (scan_grib + a datatree per message, joined with the file's .idx) for every
  GRIB file under RUN_DIR (local files: the mapping holds no URL), deduplicated on the .idx attributes as those
  pipelines do, keyed by file name without its cycle (`gep01.pgrb2a.0p50.f003`: one mapping per member and
  lead time, since a GEFS inventory line carries the member, `ENS=+1`). Pickled to FILE. Not timed by the
  benchmark (reported as mapping_s).
idx: the per-run step of that path, what a daily ingest runs: list the glob once (`fs.glob`), then per GRIB
  file `parse_grib_idx(url, storage_options=...)` (s3fs: info of the GRIB file, info and GET of its .idx) and
  `map_from_index(run_time, mapping, idxdf)`, N files at a time on a thread pool (kerchunk's functions are
  synchronous; the pipelines spread them over dask workers or threads); the per-file frames are concatenated.
  Output: seconds, files, messages (rows with a variable name), unmapped (rows the mapping did not name).
  The frame is the index kerchunk's path produces; building Zarr references from it (reinflate_grib_store)
  and writing parquet are not included.
check-repo: not a peer: opens floe's repository with icechunk-python + zarr (main branch) and reports its arrays
  and shapes, the init_time values, its tags and the number of virtual chunk references
  (Session.all_virtual_chunk_locations); with --expected N, "refs_ok" says whether that number is N.

"seconds" starts after the imports (import_s). S3 credentials come from AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY, else FLOE_TEST_S3_ACCESS_KEY / FLOE_TEST_S3_SECRET_KEY.
"""
import argparse
import concurrent.futures
import json
import os
import pickle
import re
import resource
import sys
import time
import warnings


def credentials():
    ak = os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("FLOE_TEST_S3_ACCESS_KEY")
    sk = os.environ.get("AWS_SECRET_ACCESS_KEY") or os.environ.get("FLOE_TEST_S3_SECRET_KEY")
    if not ak or not sk:
        sys.exit("grib_ingest_peers: no S3 credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
    return ak, sk


def storage_options(a):
    ak, sk = credentials()
    return {"key": ak, "secret": sk,
            "client_kwargs": {"endpoint_url": a.endpoint, "region_name": a.region},
            "config_kwargs": {"s3": {"addressing_style": "path"}}}


def is_sidecar(name):
    return name.endswith(".idx") or name.endswith(".index")


def mapping_key(path):
    """gep01.t00z.pgrb2a.0p50.f003 -> gep01.pgrb2a.0p50.f003: the member and lead time, not the cycle."""
    return re.sub(r"\.t\d\dz\.", ".", os.path.basename(path))


def peak_rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def list_glob(so, pattern):
    import fsspec

    fs, _ = fsspec.core.url_to_fs(pattern, **so)
    return ["s3://" + p for p in sorted(fs.glob(pattern)) if not is_sidecar(p)]


def run_scan(a):
    t = time.perf_counter()
    from kerchunk.grib2 import scan_grib
    import_s = time.perf_counter() - t
    so = storage_options(a)
    t = time.perf_counter()
    files = list_glob(so, a.glob)
    if a.limit:
        files = files[:a.limit]
    if not files:
        sys.exit(f"grib_ingest_peers: nothing matches {a.glob}")
    messages = 0
    for url in files:
        messages += len(scan_grib(url, storage_options=so))
    seconds = time.perf_counter() - t
    out = {"tool": "kerchunk-scan_grib", "seconds": seconds, "files": len(files), "messages": messages,
           "seconds_per_file": seconds / len(files), "import_s": import_s, "peak_rss_bytes": peak_rss()}
    if a.run_files:
        out["run_files"] = a.run_files
        out["extrapolated_run_s"] = seconds / len(files) * a.run_files
    return out


def build_one(path):
    warnings.simplefilter("ignore")
    from kerchunk.grib2 import build_idx_grib_mapping

    mapping = build_idx_grib_mapping(path)
    return mapping_key(path), mapping.loc[~mapping["attrs"].duplicated(keep="first"), :]


def run_mapping(a):
    paths = []
    for root, _, names in os.walk(a.dir):
        paths += [os.path.join(root, n) for n in names if not is_sidecar(n) and os.path.exists(
            os.path.join(root, n + ".idx"))]
    paths.sort()
    if not paths:
        sys.exit(f"grib_ingest_peers: no GRIB files with .idx under {a.dir}")
    t = time.perf_counter()
    mappings = {}
    with concurrent.futures.ProcessPoolExecutor(max_workers=max(1, a.jobs)) as pool:
        for n, (key, frame) in enumerate(pool.map(build_one, paths, chunksize=8), 1):
            mappings[key] = frame
            if n % 250 == 0:
                print(f"grib_ingest_peers: mapping {n}/{len(paths)} files", file=sys.stderr)
    seconds = time.perf_counter() - t
    tmp = a.out + ".tmp"
    with open(tmp, "wb") as f:
        pickle.dump(mappings, f)
    os.replace(tmp, a.out)
    return {"tool": "kerchunk-build_idx_grib_mapping", "mapping_s": seconds, "files": len(paths),
            "messages": sum(len(m) for m in mappings.values()), "jobs": a.jobs}


def run_idx(a):
    t = time.perf_counter()
    warnings.simplefilter("ignore")
    import pandas as pd
    from kerchunk.grib2 import map_from_index, parse_grib_idx
    import_s = time.perf_counter() - t
    with open(a.mapping, "rb") as f:
        mappings = pickle.load(f)
    so = storage_options(a)
    run_time = pd.Timestamp(f"{a.run_time[:8]}T{a.run_time[8:10]}")

    t = time.perf_counter()
    files = list_glob(so, a.glob)
    if not files:
        sys.exit(f"grib_ingest_peers: nothing matches {a.glob}")

    def one(url):
        key = mapping_key(url)
        if key not in mappings:
            raise KeyError(f"no mapping for {key} (built from another run layout?)")
        idxdf = parse_grib_idx(basename=url, storage_options=so)
        return map_from_index(run_time, mappings[key], idxdf), len(idxdf)

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.threads)) as pool:
        results = list(pool.map(one, files))
    index = pd.concat([frame for frame, _ in results], ignore_index=True)
    seconds = time.perf_counter() - t
    # map_from_index drops the inventory lines its mapping does not name.
    lines = sum(n for _, n in results)
    return {"tool": "kerchunk-idx", "seconds": seconds, "files": len(files), "messages": int(len(index)),
            "unmapped": int(lines - len(index)),
            "variables": int(index["varname"].nunique()), "threads": a.threads, "import_s": import_s,
            "peak_rss_bytes": peak_rss()}


def register_codec_stand_ins():
    """Codec names zarr-python must know to open floe's GRIB arrays (their metadata only): gribberish's from its
    package, and "floe.grib", which has no Python implementation yet (as tests/interop/test_forecast_runs.py
    does: decoding raises)."""
    from dataclasses import dataclass

    import gribberish.zarr.codec  # noqa: F401  (registers "gribberish")
    from zarr.abc.codec import ArrayBytesCodec
    from zarr.core.common import parse_named_configuration
    from zarr.registry import register_codec

    @dataclass(frozen=True)
    class FloeGribStandIn(ArrayBytesCodec):
        field: int = 0

        @classmethod
        def from_dict(cls, data):
            _, configuration = parse_named_configuration(data, "floe.grib", require_configuration=False)
            return cls(**(configuration or {}))

        def to_dict(self):
            return {"name": "floe.grib", "configuration": {"field": self.field}}

        def compute_encoded_size(self, input_byte_length, chunk_spec):
            raise NotImplementedError

        async def _decode_single(self, chunk_data, chunk_spec):
            raise NotImplementedError("floe.grib has no Python implementation (read such arrays with floe read)")

    register_codec("floe.grib", FloeGribStandIn)


def run_check_repo(a):
    warnings.simplefilter("ignore")
    import icechunk
    import zarr

    register_codec_stand_ins()

    repo = icechunk.Repository.open(icechunk.local_filesystem_storage(a.repo))
    session = repo.readonly_session("main")
    group = zarr.open_group(session.store, mode="r")
    shapes = {path: list(node.shape) for path, node in group.members(max_depth=None)
              if isinstance(node, zarr.Array)}
    refs = sum(1 for _ in session.all_virtual_chunk_locations())
    out = {"check": "repo", "model": a.model, "arrays": len(shapes), "shapes": shapes,
           "init_time": [int(v) for v in group["init_time"][:]] if "init_time" in shapes else None,
           "tags": sorted(repo.list_tags()), "virtual_refs": refs}
    if a.expected:
        out["expected_refs"] = a.expected
        out["refs_ok"] = refs == a.expected
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="mode", required=True)
    scan = sub.add_parser("scan")
    scan.add_argument("--glob", required=True)
    scan.add_argument("--limit", type=int, default=0)
    scan.add_argument("--run-files", type=int, default=0)
    mapping = sub.add_parser("mapping")
    mapping.add_argument("--dir", required=True)
    mapping.add_argument("--out", required=True)
    mapping.add_argument("--jobs", type=int, default=2)
    idx = sub.add_parser("idx")
    idx.add_argument("--glob", required=True)
    idx.add_argument("--mapping", required=True)
    idx.add_argument("--run-time", required=True)
    idx.add_argument("--threads", type=int, default=16)
    check = sub.add_parser("check-repo")
    check.add_argument("--repo", required=True)
    check.add_argument("--model", default="")
    check.add_argument("--expected", type=int, default=0)
    for s in (scan, idx):
        s.add_argument("--endpoint", required=True)
        s.add_argument("--region", default="us-east-1")
    a = p.parse_args(argv)
    out = {"scan": run_scan, "mapping": run_mapping, "idx": run_idx, "check-repo": run_check_repo}[a.mode](a)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
