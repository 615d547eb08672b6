"""Arguments and range plan shared by the ranged-GET peers (same contract as floe_bench_ranged_get)."""
import argparse


def parse_args(description, concurrency_help, min_concurrency, argv=None):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--endpoint", required=True, help="S3 endpoint URL, e.g. http://127.0.0.1:17070")
    p.add_argument("--bucket", required=True)
    p.add_argument("--keys", required=True, help="comma-separated object keys")
    p.add_argument("--ranges-per-key", type=int, required=True)
    p.add_argument("--range-size", type=int, required=True, help="bytes per range")
    p.add_argument("--stride", type=int, required=True, help="bytes between range starts")
    p.add_argument("--access-key", required=True)
    p.add_argument("--secret-key", required=True)
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--concurrency", type=int, default=64, help=concurrency_help)
    a = p.parse_args(argv)
    a.keys = [k for k in a.keys.split(",") if k]
    if (not a.keys or a.ranges_per_key < 1 or a.range_size < 1 or a.stride < a.range_size
            or a.concurrency < min_concurrency):
        p.error(f"need >=1 key, ranges-per-key>=1, range-size>=1, stride>=range-size, "
                f"concurrency>={min_concurrency}")
    return a


def plan(a):
    """(key, start, end_exclusive) in checksum order."""
    return [(k, i * a.stride, i * a.stride + a.range_size)
            for k in a.keys for i in range(a.ranges_per_key)]
