#!/usr/bin/env python3
"""Creates the objects the ranged-GET benchmark reads.

Creates the bucket if absent and uploads COUNT objects PREFIX000, PREFIX001, ...
of SIZE bytes each, with deterministic pseudo-random content
(random.Random(f"floe-bench:{key}:{size}").randbytes(size)). An object that
already exists with the right size is skipped (its content is trusted: the
name and size fix it). Uploads go through s3fs (multipart above 100 MiB).
Prints the comma-separated key list on stdout (one line), progress on stderr.
"""
import argparse
import random
import sys
import time


def s3_filesystem(endpoint, access_key, secret_key, region):
    """An s3fs file system on the test server (path-style, no caches). Also used by make_virtualize_files.py."""
    import s3fs

    return s3fs.S3FileSystem(
        key=access_key, secret=secret_key, endpoint_url=endpoint,
        client_kwargs={"region_name": region},
        config_kwargs={"s3": {"addressing_style": "path"}},
        skip_instance_cache=True, use_listings_cache=False,
    )


def ensure_bucket(fs, bucket, region):
    if not fs.exists(bucket):
        print(f"setup: creating bucket {bucket}", file=sys.stderr)
        # Not fs.mkdir: s3fs always sends a LocationConstraint, which S3 rejects for us-east-1.
        params = {"Bucket": bucket}
        if region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": region}
        fs.call_s3("create_bucket", **params)
        fs.invalidate_cache()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--endpoint", required=True)
    p.add_argument("--bucket", default="floe-bench")
    p.add_argument("--access-key", required=True)
    p.add_argument("--secret-key", required=True)
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--prefix", default="ranged/obj-")
    p.add_argument("--count", type=int, default=10)
    p.add_argument("--size", type=int, required=True, help="bytes per object")
    a = p.parse_args(argv)
    if a.count < 1 or a.count > 1000 or a.size < 1:
        p.error("count must be 1..1000 and size >= 1")

    fs = s3_filesystem(a.endpoint, a.access_key, a.secret_key, a.region)
    ensure_bucket(fs, a.bucket, a.region)

    keys = [f"{a.prefix}{i:03d}" for i in range(a.count)]
    for key in keys:
        path = f"{a.bucket}/{key}"
        try:
            size = fs.info(path)["size"]
        except FileNotFoundError:
            size = None
        if size == a.size:
            continue
        t0 = time.monotonic()
        data = random.Random(f"floe-bench:{key}:{a.size}").randbytes(a.size)
        fs.pipe_file(path, data)
        del data
        got = fs.info(path)["size"]
        if got != a.size:
            print(f"setup: {path} has {got} bytes after upload, want {a.size}", file=sys.stderr)
            return 1
        print(f"setup: uploaded {path} ({a.size} bytes) in {time.monotonic() - t0:.1f}s", file=sys.stderr)
    print(",".join(keys))
    return 0


if __name__ == "__main__":
    sys.exit(main())
