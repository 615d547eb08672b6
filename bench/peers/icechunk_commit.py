#!/usr/bin/env python3
"""Icechunk commit benchmark peer: icechunk-python (issue 3). Same contract as floe_bench_icechunk_commit.

  icechunk_commit.py commit --repo DIR --rows R --cols C [--files F] [--split-rows S]
  icechunk_commit.py open --repo DIR --row r --col c

commit: creates a repository on local disk with a virtual chunk container for s3://bench-bucket/, the root
group and a float32 array "data" of shape (R, C) chunked (1, 1) (zarr.create_array, as a user writes it),
then sets R*C virtual refs with the fastest official API, IcechunkStore.set_virtual_refs_arr (flat
row-major arrays: a list of location strings, uint64 offsets and lengths), and commits. Ref (r, c) is
location s3://bench-bucket/era5/file_%05d.nc with the file number r % F, offset 4096 + c*8192, length
8000 + r % 97 (as floe's side). The locations list holds F distinct str objects, each repeated by
reference (C times per row), so building it costs one list of R*C pointers.

Phases timed (time.perf_counter): create_s (repository, group, array), build_inputs_s (locations list,
offsets and lengths arrays), set_refs_s (set_virtual_refs_arr), commit_s (session.commit); total_s is
their sum (everything after the imports). import_s is the time to import icechunk, zarr and numpy.
baseline_rss_bytes is the resident set (/proc/self/statm) after creating the array and before building
the inputs, so bytes_per_ref = (ru_maxrss - baseline) / refs counts the inputs as well.

Default repository config (no manifest splitting: one manifest for the array) unless --split-rows S,
which splits the manifests every S rows along the first dimension (ManifestSplittingConfig).

open: Repository.open -> readonly_session(branch="main") -> Session.chunk_type("/data", [r, c]). The
public Python API has no call that returns one chunk's ref (location/offset/length); chunk_type looks the
ref up in its manifest (loading that manifest), which is the same work as fetching the ref, and the
answer (ChunkType.virtual) is checked. "seconds" starts after the imports; "seconds_with_import" includes them.
"""
import argparse
import json
import os
import resource
import sys
import time

_t_import = time.perf_counter()
import icechunk  # noqa: E402
import numpy as np  # noqa: E402
import zarr  # noqa: E402

IMPORT_S = time.perf_counter() - _t_import
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_now():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def peak_rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def location_of(row, files):
    return f"s3://bench-bucket/era5/file_{row % files:05d}.nc"


def dir_stats(path):
    total = manifests = 0
    for root, _dirs, names in os.walk(path):
        for n in names:
            total += os.path.getsize(os.path.join(root, n))
            if os.path.basename(root) == "manifests":
                manifests += 1
    return total, manifests


def commit(a):
    rows, cols, files = a.rows, a.cols, a.files
    refs = rows * cols
    t0 = time.perf_counter()
    config = icechunk.RepositoryConfig.default()
    config.set_virtual_chunk_container(
        icechunk.VirtualChunkContainer("s3://bench-bucket/", icechunk.s3_store(region="us-east-1", anonymous=True)))
    if a.split_rows:
        config.manifest = icechunk.ManifestConfig(splitting=icechunk.ManifestSplittingConfig.from_dict(
            {icechunk.ManifestSplitCondition.path_matches(".*"):
             {icechunk.ManifestSplitDimCondition.Axis(0): a.split_rows}}))
    repo = icechunk.Repository.create(icechunk.local_filesystem_storage(a.repo), config=config)
    session = repo.writable_session("main")
    store = session.store
    zarr.create_group(store=store)
    zarr.create_array(store=store, name="data", shape=(rows, cols), chunks=(1, 1), dtype="float32",
                      fill_value=float("nan"), dimension_names=["time", "cell"])
    create_s = time.perf_counter() - t0
    baseline = rss_now()

    t1 = time.perf_counter()
    names = [location_of(f, files) for f in range(files)]
    locations = []
    for r in range(rows):
        locations += [names[r % files]] * cols
    offsets = np.tile(np.uint64(4096) + np.uint64(8192) * np.arange(cols, dtype=np.uint64), rows)
    lengths = np.repeat(np.uint64(8000) + np.arange(rows, dtype=np.uint64) % np.uint64(97), cols)
    build_inputs_s = time.perf_counter() - t1

    t2 = time.perf_counter()
    failed = store.set_virtual_refs_arr("/data", (rows, cols), locations, offsets, lengths,
                                        validate_containers=False)
    set_refs_s = time.perf_counter() - t2
    if failed:
        print(f"icechunk_commit.py: {len(failed)} refs failed, first {failed[:3]}", file=sys.stderr)
        return 1
    rss_after_set = rss_now()
    peak_after_set = peak_rss()  # ru_maxrss only grows: the peak of inputs + set phase
    del locations, offsets, lengths

    t3 = time.perf_counter()
    snapshot = session.commit("bench")
    commit_s = time.perf_counter() - t3
    total_s = time.perf_counter() - t0
    peak = peak_rss()
    repo_bytes, manifests = dir_stats(a.repo)
    print(json.dumps({
        "bench": "icechunk_commit", "tool": "icechunk-python", "refs": refs, "rows": rows, "cols": cols,
        "files": files, "import_s": round(IMPORT_S, 6), "create_s": round(create_s, 6),
        "build_inputs_s": round(build_inputs_s, 6), "set_refs_s": round(set_refs_s, 6),
        "commit_s": round(commit_s, 6), "total_s": round(total_s, 6), "peak_rss_bytes": peak,
        "baseline_rss_bytes": baseline, "rss_after_set_bytes": rss_after_set,
        "peak_rss_after_set_bytes": peak_after_set,
        "bytes_per_ref": round((peak - min(peak, baseline)) / refs, 2), "repo_bytes": repo_bytes,
        "manifests": manifests, "snapshot": snapshot, "split_rows": a.split_rows,
        "versions": {"icechunk": icechunk.__version__, "zarr": zarr.__version__, "numpy": np.__version__},
    }))
    return 0


def open_one(a):
    t0 = time.perf_counter()
    repo = icechunk.Repository.open(icechunk.local_filesystem_storage(a.repo))
    session = repo.readonly_session(branch="main")
    kind = session.chunk_type("/data", [a.row, a.col])
    seconds = time.perf_counter() - t0
    print(json.dumps({
        "bench": "icechunk_open_one_ref", "tool": "icechunk-python", "seconds": round(seconds, 6),
        "seconds_with_import": round(seconds + IMPORT_S, 6), "import_s": round(IMPORT_S, 6),
        "what": "Repository.open + readonly_session(branch='main') + Session.chunk_type (no public API "
                "returns one ref's location/offset/length; chunk_type loads the ref from its manifest)",
        "row": a.row, "col": a.col, "chunk_type": str(kind), "peak_rss_bytes": peak_rss(),
    }))
    if kind != icechunk.ChunkType.virtual:
        print(f"icechunk_commit.py: chunk [{a.row},{a.col}] is {kind}, expected VIRTUAL", file=sys.stderr)
        return 1
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description="icechunk-python commit benchmark peer")
    sub = p.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("commit")
    c.add_argument("--repo", required=True)
    c.add_argument("--rows", type=int, required=True)
    c.add_argument("--cols", type=int, required=True)
    c.add_argument("--files", type=int, default=10000)
    c.add_argument("--split-rows", type=int, default=0, help="split manifests every S rows (0: default config)")
    o = sub.add_parser("open")
    o.add_argument("--repo", required=True)
    o.add_argument("--row", type=int, required=True)
    o.add_argument("--col", type=int, required=True)
    o.add_argument("--files", type=int, default=10000, help="unused (same arguments as floe's side)")
    a = p.parse_args(argv)
    if a.mode == "commit":
        if a.rows < 1 or a.cols < 1 or a.files < 1:
            p.error("rows, cols and files must be >= 1")
        return commit(a)
    return open_one(a)


if __name__ == "__main__":
    sys.exit(main())
