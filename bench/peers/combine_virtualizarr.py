# bench/peers/combine_virtualizarr.py owns the Python peer of the combine benchmark (issue 7): VirtualiZarr 2.x open_virtual_mfdataset over a nested grid of files, to_icechunk and commit, one JSON line.
"""Combine the files of bench/make_combine_files.py into one Icechunk repository with VirtualiZarr; one JSON line.

  combine_virtualizarr.py --files-dir DIR --repo NEW_REPO_DIR [--max-workers N] [--fast-combine]

The grid (polygon x injection x member) comes from DIR/combine-files.json. What is timed is what a user of
the Python stack writes (VirtualiZarr 2.8.0, icechunk-python 2.x):
  urls = [[[f"file://DIR/cell_p..._i..._m....nc" for m] for i] for p]       (nested, in index order)
  vds = open_virtual_mfdataset(urls, registry=ObjectStoreRegistry({"file://": LocalStore()}),
          parser=HDFParser(), combine="nested", concat_dim=["polygon", "injection", "member"],
          parallel=ThreadPoolExecutor(max_workers=N), loadable_variables=[the six coordinate variables,
          "run_version"], data_vars="minimal", coords="different", compat="no_conflicts", join="outer")
  repo = Repository.create(local_filesystem_storage(NEW_REPO_DIR), config with a VirtualChunkContainer for
          "file://DIR/"); session = repo.writable_session("main")
  vds.vz.to_icechunk(session.store); session.commit(...)
Why these arguments: the coordinate variables load by default anyway; run_version is listed so that, like
the coordinates, it is loaded and stored once. With xarray's default data_vars="all" the per-file scalar
is instead concatenated as a virtual array along all three concat dims (10,000 more refs for 10,000 files,
and VirtualiZarr 2.8.0 gives it the dims in reverse order, (member, injection, polygon)). The rest are
xarray 2026.9's defaults, given explicitly (xarray warns that compat's default will become "override"): xarray
checks the non-concatenated coordinates (time, y, x) and run_version for conflicts (compat="no_conflicts",
coords="different", join="outer"), the strictness floe's combine has.
--fast-combine adds coords="minimal", compat="override" (no such checks), the usual advice for speed.
--max-workers: the executor's threads (default: ThreadPoolExecutor's own, min(32, cpus + 4)).

Output (stdout, one line): {"tool": "virtualizarr", "files", "refs" (virtual chunk references written: the
non-empty entries of every ManifestArray), "seconds" (open_virtual_mfdataset + to_icechunk + commit),
"open_s", "to_icechunk_s", "commit_s", "import_s", "peak_rss_bytes" (getrusage ru_maxrss of this process,
after the commit), "shape" ({dim: size} of alk), "variables", "max_workers", "combine_kwargs", versions}.
It exits non-zero when the combined dataset does not have alk/dic of the grid's shape.
"""
import argparse
import json
import os
import resource
import sys
import time

DIMS = ("polygon", "injection", "member", "time", "y", "x")
CONCAT_DIMS = ["polygon", "injection", "member"]
LOADABLE = ["polygon", "injection", "member", "time", "y", "x", "run_version"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files-dir", required=True)
    ap.add_argument("--repo", required=True, help="directory of the new repository (must not exist)")
    ap.add_argument("--max-workers", type=int)
    ap.add_argument("--fast-combine", action="store_true")
    a = ap.parse_args(argv)
    files_dir = os.path.abspath(a.files_dir)
    with open(os.path.join(files_dir, "combine-files.json")) as f:
        params = json.load(f)["params"]
    if os.path.exists(a.repo):
        sys.exit(f"combine_virtualizarr: {a.repo} exists; give a new directory")
    grid = (params["polygon"], params["injection"], params["member"])
    expected_shape = {"polygon": grid[0], "injection": grid[1], "member": grid[2], "time": params["time"],
                      "y": params["y"], "x": params["x"]}

    t = time.perf_counter()
    from concurrent.futures import ThreadPoolExecutor

    import icechunk
    import obstore.store
    import virtualizarr
    import xarray
    from obspec_utils.registry import ObjectStoreRegistry
    from virtualizarr import open_virtual_mfdataset
    from virtualizarr.manifests import ManifestArray
    from virtualizarr.parsers import HDFParser
    import_s = time.perf_counter() - t

    urls = [[[f"file://{files_dir}/cell_p{p:04d}_i{i:03d}_m{m:03d}.nc" for m in range(grid[2])]
             for i in range(grid[1])] for p in range(grid[0])]
    combine_kwargs = {"loadable_variables": LOADABLE, "data_vars": "minimal", "coords": "different",
                      "compat": "no_conflicts", "join": "outer"}  # xarray 2026.9's defaults, spelled out: they are
    if a.fast_combine:                                            # to change, with a FutureWarning meanwhile
        combine_kwargs.update(coords="minimal", compat="override")
    executor = ThreadPoolExecutor(max_workers=a.max_workers)
    registry = ObjectStoreRegistry({"file://": obstore.store.LocalStore()})

    t0 = time.perf_counter()
    vds = open_virtual_mfdataset(urls, registry=registry, parser=HDFParser(), combine="nested",
                                 concat_dim=CONCAT_DIMS, parallel=executor, **combine_kwargs)
    t1 = time.perf_counter()
    prefix = f"file://{files_dir}/"
    config = icechunk.RepositoryConfig.default()
    config.set_virtual_chunk_container(icechunk.VirtualChunkContainer(prefix, icechunk.local_filesystem_store(files_dir)))
    repo = icechunk.Repository.create(icechunk.local_filesystem_storage(os.path.abspath(a.repo)), config=config)
    session = repo.writable_session("main")
    vds.vz.to_icechunk(session.store)
    t2 = time.perf_counter()
    snapshot = session.commit(f"combine {grid[0]}x{grid[1]}x{grid[2]} files (bench/peers/combine_virtualizarr.py)")
    t3 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    executor.shutdown()

    refs = 0
    kinds = {}
    for name, var in vds.variables.items():
        if isinstance(var.data, ManifestArray):
            refs += int((var.data.manifest._paths != "").sum())
            kinds[name] = "virtual"
        else:
            kinds[name] = "loaded"
    problems = []
    for name in ("alk", "dic"):
        if name not in vds:
            problems.append(f"{name} missing")
        elif dict(zip(vds[name].dims, vds[name].shape)) != expected_shape or vds[name].dims != DIMS:
            problems.append(f"{name} has dims {dict(zip(vds[name].dims, vds[name].shape))}, want {expected_shape}")
    if refs != 2 * grid[0] * grid[1] * grid[2]:
        problems.append(f"{refs} refs, want {2 * grid[0] * grid[1] * grid[2]} (alk and dic, one chunk per file)")
    rec = {"tool": "virtualizarr", "files": grid[0] * grid[1] * grid[2], "refs": refs,
           "seconds": round(t3 - t0, 3), "open_s": round(t1 - t0, 3), "to_icechunk_s": round(t2 - t1, 3),
           "commit_s": round(t3 - t2, 3), "import_s": round(import_s, 3), "peak_rss_bytes": peak,
           "shape": dict(zip(vds["alk"].dims, vds["alk"].shape)) if "alk" in vds else None,
           "variables": kinds, "max_workers": executor._max_workers, "combine_kwargs": combine_kwargs,
           "snapshot": snapshot, "virtualizarr": virtualizarr.__version__, "icechunk": icechunk.__version__,
           "xarray": xarray.__version__}
    if problems:
        rec["problems"] = problems
    print(json.dumps(rec))
    if problems:
        sys.stderr.write("combine_virtualizarr: the combined dataset is wrong: " + "; ".join(problems) + "\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
