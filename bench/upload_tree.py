# bench/upload_tree.py owns uploading a local directory tree (a synthetic forecast run) to a bucket on the S3 test server for the benchmarks.
"""Upload every file under DIR to s3://BUCKET/PREFIX<path relative to DIR>, skipping objects already there.

  upload_tree.py --dir DIR --endpoint URL --bucket B [--prefix P] [--region R] [--jobs N]

The bucket is created if absent. One listing of s3://BUCKET/PREFIX tells which objects exist: an object with
the local file's size is kept (the fixture generator writes the same bytes for the same arguments), any other
file is uploaded, N at a time (threads over one s3fs file system). Prints one JSON line
{"dir", "bucket", "prefix", "files", "bytes", "uploaded", "seconds"}; progress on stderr. Credentials come
from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, else FLOE_TEST_S3_ACCESS_KEY / FLOE_TEST_S3_SECRET_KEY.
"""
import argparse
import concurrent.futures
import json
import os
import sys
import time


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", required=True)
    p.add_argument("--endpoint", required=True)
    p.add_argument("--bucket", required=True)
    p.add_argument("--prefix", default="")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--jobs", type=int, default=16)
    a = p.parse_args(argv)
    if a.prefix and not a.prefix.endswith("/"):
        a.prefix += "/"
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from setup_ranged_get import ensure_bucket, s3_filesystem

    ak = os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("FLOE_TEST_S3_ACCESS_KEY")
    sk = os.environ.get("AWS_SECRET_ACCESS_KEY") or os.environ.get("FLOE_TEST_S3_SECRET_KEY")
    if not ak or not sk:
        p.error("no S3 credentials in the environment")
    fs = s3_filesystem(a.endpoint, ak, sk, a.region)
    ensure_bucket(fs, a.bucket, a.region)

    local = {}
    for root, _, names in os.walk(a.dir):
        for name in names:
            path = os.path.join(root, name)
            local[os.path.relpath(path, a.dir)] = path
    if not local:
        sys.exit(f"upload_tree: no files under {a.dir}")
    t0 = time.monotonic()
    try:
        listed = fs.find(f"{a.bucket}/{a.prefix}", detail=True) if a.prefix else fs.find(a.bucket, detail=True)
    except FileNotFoundError:
        listed = {}
    have = {k: v["size"] for k, v in listed.items()}
    todo = [(rel, path) for rel, path in sorted(local.items())
            if have.get(f"{a.bucket}/{a.prefix}{rel}") != os.path.getsize(path)]
    print(f"upload_tree: {len(local)} files under {a.dir}, {len(local) - len(todo)} already in "
          f"s3://{a.bucket}/{a.prefix}, uploading {len(todo)}", file=sys.stderr)

    def put(item):
        rel, path = item
        fs.put_file(path, f"{a.bucket}/{a.prefix}{rel}")

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
        for _ in pool.map(put, todo):
            pass
    fs.invalidate_cache()
    listed = fs.find(f"{a.bucket}/{a.prefix}", detail=True) if a.prefix else fs.find(a.bucket, detail=True)
    have = {k: v["size"] for k, v in listed.items()}
    wrong = [rel for rel, path in local.items() if have.get(f"{a.bucket}/{a.prefix}{rel}") != os.path.getsize(path)]
    if wrong:
        sys.exit(f"upload_tree: {len(wrong)} objects missing or of the wrong size after upload, e.g. {wrong[0]}")
    print(json.dumps({"dir": a.dir, "bucket": a.bucket, "prefix": a.prefix, "files": len(local),
                      "bytes": sum(os.path.getsize(p) for p in local.values()), "uploaded": len(todo),
                      "seconds": round(time.monotonic() - t0, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
