# bench/peers/virtualize_peers.py owns the Python peers of the virtualize benchmark (issue 4): VirtualiZarr 2.x and kerchunk on one file, one JSON line.
"""Virtualize one NetCDF/HDF5 file with VirtualiZarr or kerchunk, in this process, and print one JSON line.

  virtualize_peers.py --tool virtualizarr|kerchunk --file PATH_OR_S3_URL --format hdf5|netcdf3
                      [--endpoint URL] [--region R] [--icechunk-repo DIR]

--tool virtualizarr: `virtualizarr.open_virtual_dataset(url, registry=..., parser=HDFParser())` (NetCDF3Parser
  for --format netcdf3), the 2.x API with every default (loadable_variables=None: the 1-D dimension
  coordinates are loaded, as `xr.open_dataset` would index them; HDFParser reads through obspec-utils'
  BlockStoreReader, 1 MiB blocks). The registry maps file:// to obstore's LocalStore, or s3://BUCKET to an
  obstore S3Store on --endpoint (path-style, plain HTTP allowed).
  With --icechunk-repo DIR it then also creates an Icechunk repository on local disk at DIR (a virtual
  chunk container for the file's prefix), writes the dataset with `ds.vz.to_icechunk(store)` and commits;
  that is timed separately (commit_s) and summed into with_commit_s, the figure that matches floe's
  `seconds` (which includes its own commit).
--tool kerchunk: `kerchunk.hdf.SingleHdf5ToZarr(url, storage_options=...).translate()` (for netcdf3
  `kerchunk.netCDF3.NetCDF3ToZarr(...).translate()`, which needs scipy) with every default (inline
  threshold 500 B for HDF5, 100 B for NetCDF-3; for s3:// it reads through s3fs with its defaults: a
  50 MiB readahead cache).

"seconds" is the virtualization alone (open_virtual_dataset / translate), from time.perf_counter around
the call; import_s is the time to import the tool. S3 credentials come from AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY, else FLOE_TEST_S3_ACCESS_KEY / FLOE_TEST_S3_SECRET_KEY (tests/servers/start.sh
writes those to $STATE/env). Output: {"tool", "file", "format", "seconds", "refs", "inline_chunks",
"arrays", "import_s", "peak_rss_bytes", ["commit_s", "with_commit_s", "icechunk_refs"]}.
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
        sys.exit("virtualize_peers: no S3 credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
    return ak, sk


def file_url(a):
    """(url the tool is given, prefix of that url used as the Icechunk virtual chunk container)."""
    if a.file.startswith("s3://"):
        u = urlparse(a.file)
        return a.file, f"s3://{u.netloc}/"
    path = os.path.abspath(a.file)
    return "file://" + path, "file://" + os.path.dirname(path) + "/"


def run_virtualizarr(a, url):
    t = time.perf_counter()
    import obstore.store
    from obspec_utils.registry import ObjectStoreRegistry
    from virtualizarr import open_virtual_dataset
    from virtualizarr.manifests import ManifestArray
    from virtualizarr.parsers import HDFParser, NetCDF3Parser
    import_s = time.perf_counter() - t

    if url.startswith("s3://"):
        ak, sk = credentials()
        bucket = urlparse(url).netloc
        store = obstore.store.S3Store(bucket, endpoint=a.endpoint, region=a.region, access_key_id=ak,
                                      secret_access_key=sk, virtual_hosted_style_request=False,
                                      client_options={"allow_http": True})
        registry = ObjectStoreRegistry({f"s3://{bucket}": store})
    else:
        registry = ObjectStoreRegistry({"file://": obstore.store.LocalStore()})
    parser = NetCDF3Parser() if a.format == "netcdf3" else HDFParser()

    t = time.perf_counter()
    ds = open_virtual_dataset(url, registry=registry, parser=parser)
    seconds = time.perf_counter() - t

    refs = inline = arrays = 0
    for var in ds.variables.values():
        if isinstance(var.data, ManifestArray):
            arrays += 1
            paths = var.data.manifest._paths
            refs += int((paths != "").sum()) - len(var.data.manifest._inlined or {})
            inline += len(var.data.manifest._inlined or {})
        else:
            arrays += 1
            inline += 1  # loaded into memory: written as a native chunk by to_icechunk
    rec = {"seconds": seconds, "refs": refs, "inline_chunks": inline, "arrays": arrays, "import_s": import_s}
    if a.icechunk_repo:
        rec.update(commit_virtualizarr(a, ds, url))
        rec["with_commit_s"] = seconds + rec["commit_s"]
    return rec


def commit_virtualizarr(a, ds, url):
    t = time.perf_counter()
    import icechunk
    import_s = time.perf_counter() - t
    _, prefix = file_url(a)
    t = time.perf_counter()
    config = icechunk.RepositoryConfig.default()
    if url.startswith("s3://"):
        inner = icechunk.s3_store(region=a.region, endpoint_url=a.endpoint, allow_http=True, s3_compatible=True,
                                  force_path_style=True)
    else:
        inner = icechunk.local_filesystem_store(prefix[len("file://"):])
    config.set_virtual_chunk_container(icechunk.VirtualChunkContainer(prefix, inner))
    repo = icechunk.Repository.create(icechunk.local_filesystem_storage(a.icechunk_repo), config=config)
    session = repo.writable_session("main")
    ds.vz.to_icechunk(session.store)
    session.commit("virtualize (bench/peers/virtualize_peers.py)")
    return {"commit_s": time.perf_counter() - t, "icechunk_import_s": import_s}


def run_kerchunk(a, url):
    storage_options = {}
    target = url
    if url.startswith("s3://"):
        ak, sk = credentials()
        storage_options = {"key": ak, "secret": sk,
                           "client_kwargs": {"endpoint_url": a.endpoint, "region_name": a.region}}
    else:
        target = url[len("file://"):]
    t = time.perf_counter()
    if a.format == "netcdf3":
        from kerchunk.netCDF3 import NetCDF3ToZarr as Translator
    else:
        from kerchunk.hdf import SingleHdf5ToZarr as Translator
    import_s = time.perf_counter() - t

    t = time.perf_counter()
    out = Translator(target, storage_options=storage_options or None).translate()
    seconds = time.perf_counter() - t

    refs = inline = 0
    arrays = set()
    for key, val in out["refs"].items():
        leaf = key.rsplit("/", 1)[-1]
        if leaf == ".zarray":
            arrays.add(key.rsplit("/", 1)[0])
        if leaf.startswith(".z"):
            continue
        if isinstance(val, list):
            refs += 1
        else:
            inline += 1
    return {"seconds": seconds, "refs": refs, "inline_chunks": inline, "arrays": len(arrays), "import_s": import_s}


def main(argv=None):
    p = argparse.ArgumentParser(description="virtualize one file with VirtualiZarr or kerchunk")
    p.add_argument("--tool", required=True, choices=["virtualizarr", "kerchunk"])
    p.add_argument("--file", required=True, help="local path or s3://bucket/key")
    p.add_argument("--format", required=True, choices=["hdf5", "netcdf3"])
    p.add_argument("--endpoint", help="S3 endpoint URL (for s3://), e.g. http://127.0.0.1:17072")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--icechunk-repo", help="virtualizarr only: also write and commit to a new repository here")
    a = p.parse_args(argv)
    if a.file.startswith("s3://") and not a.endpoint:
        p.error("--endpoint is required for s3:// files")
    if a.icechunk_repo and a.tool != "virtualizarr":
        p.error("--icechunk-repo is for --tool virtualizarr")
    url, _ = file_url(a)
    rec = run_virtualizarr(a, url) if a.tool == "virtualizarr" else run_kerchunk(a, url)
    rec = {"tool": a.tool, "file": a.file, "format": a.format, **rec,
           "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
    for k, v in rec.items():
        if isinstance(v, float):
            rec[k] = round(v, 4)
    print(json.dumps(rec))
    return 0


if __name__ == "__main__":
    sys.exit(main())
