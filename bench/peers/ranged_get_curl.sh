#!/usr/bin/env bash
# Ranged-GET benchmark ceiling: plain curl, no SDK.
#
# Same arguments as the Python peers:
#   --endpoint URL --bucket B --keys k1,k2,... --ranges-per-key N --range-size BYTES
#   --stride BYTES --access-key AK --secret-key SK [--region R] [--concurrency C] [--verify]
# Reads, for each key, the ranges [i*stride, i*stride+range_size) for i in 0..N-1 as ONE
# `curl --parallel --parallel-immediate --parallel-max C` run (default C = 64, curl caps it at 300)
# driven by a config file with one block per range (url, range, --aws-sigv4, user, output,
# header, write-out), signed with curl's own SigV4 (--aws-sigv4 "aws:amz:REGION:s3", path-style URLs).
# Prints one JSON line:
#   {"tool":"curl","seconds":S,"ranges":N,"bytes":B}            (bytes = sum of %{size_download})
# plus "checksum" (zlib crc32 of all ranges in (key, offset) order, as the other peers) with --verify.
#
# Timed region: the single curl process, start to exit (process start-up and config parsing
# included, a few ms). Outside it: writing the config file, and afterwards summing the
# per-transfer byte counts and, with --verify, the checksum. Without --verify the bodies go to
# /dev/null; with --verify they go to files under /dev/shm (tmpfs), which costs a little time.
# Every transfer must answer 206 with exactly range_size bytes, or the script fails.
set -euo pipefail

endpoint="" bucket="" keys="" n="" size="" stride="" ak="" sk="" region="us-east-1" conc=64 verify=0
while [ $# -gt 0 ]; do
  opt="$1"; val=""
  case "$opt" in
    --verify) verify=1; shift; continue ;;
    --*=*) val="${opt#*=}"; opt="${opt%%=*}"; shift ;;
    --*) [ $# -ge 2 ] || { echo "ranged_get_curl: $opt needs a value" >&2; exit 2; }; val="$2"; shift 2 ;;
    *) echo "ranged_get_curl: unexpected argument $opt" >&2; exit 2 ;;
  esac
  case "$opt" in
    --endpoint) endpoint="${val%/}" ;;
    --bucket) bucket="$val" ;;
    --keys) keys="$val" ;;
    --ranges-per-key) n="$val" ;;
    --range-size) size="$val" ;;
    --stride) stride="$val" ;;
    --access-key) ak="$val" ;;
    --secret-key) sk="$val" ;;
    --region) region="$val" ;;
    --concurrency) conc="$val" ;;
    *) echo "ranged_get_curl: unknown option $opt" >&2; exit 2 ;;
  esac
done
for v in endpoint bucket keys n size stride ak sk; do
  [ -n "${!v}" ] || { echo "ranged_get_curl: missing required option for $v" >&2; exit 2; }
done
[[ "$n$size$stride$conc" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$size" -ge 1 ] && [ "$stride" -ge "$size" ] \
  || { echo "ranged_get_curl: bad numbers" >&2; exit 2; }
[ "$conc" -ge 1 ] || conc=1
[ "$conc" -le 300 ] || conc=300

tmp="$(mktemp -d "${TMPDIR:-/tmp}/floe-curl-bench.XXXXXX")"
outdir=/dev/null
if [ $verify = 1 ]; then
  shm=/dev/shm; [ -d "$shm" ] && [ -w "$shm" ] || shm="$tmp"
  outdir="$(mktemp -d "$shm/floe-curl-bench-out.XXXXXX")"
fi
cleanup() { rm -rf "$tmp"; [ "$outdir" = /dev/null ] || rm -rf "$outdir"; }
trap cleanup EXIT
chmod 700 "$tmp"

# curl 7.88's --aws-sigv4 does not send x-amz-content-sha256, which S3 (and versitygw) require;
# when the header is given, curl signs it and uses it as the payload hash. GET has an empty body.
empty_sha256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

IFS=',' read -r -a key_list <<< "$keys"
cfg="$tmp/curl.cfg"
order="$tmp/order"   # output files in checksum order (with --verify)
{
  idx=0
  for key in "${key_list[@]}"; do
    [ -n "$key" ] || continue
    for ((i = 0; i < n; i++)); do
      start=$((i * stride)); end=$((start + size - 1))
      if [ "$outdir" = /dev/null ]; then out=/dev/null; else out="$outdir/$idx"; echo "$out" >> "$order"; fi
      [ $idx -eq 0 ] || echo "next"
      printf 'url = "%s/%s/%s"\n' "$endpoint" "$bucket" "$key"
      printf 'range = "%d-%d"\n' "$start" "$end"
      printf 'aws-sigv4 = "aws:amz:%s:s3"\n' "$region"
      printf 'user = "%s:%s"\n' "$ak" "$sk"
      printf 'header = "x-amz-content-sha256: %s"\n' "$empty_sha256"
      printf 'output = "%s"\n' "$out"
      printf 'write-out = "%%{http_code} %%{size_download}\\n"\n'
      printf 'silent\n'
      idx=$((idx + 1))
    done
  done
} > "$cfg"
ranges=$(grep -c '^url = ' "$cfg")

t0=$(date +%s%N)
rc=0
curl --parallel --parallel-immediate --parallel-max "$conc" --config "$cfg" > "$tmp/stats" 2> "$tmp/err" || rc=$?
t1=$(date +%s%N)

if [ $rc -ne 0 ]; then
  echo "ranged_get_curl: curl exited $rc: $(head -c 500 "$tmp/err")" >&2
  exit 1
fi
read -r got bytes bad < <(awk -v want="$size" '
  { n++; b += $2; if ($1 != 206 || $2 != want) bad++ }
  END { printf "%d %d %d\n", n, b, bad }' "$tmp/stats")
if [ "$got" -ne "$ranges" ] || [ "$bad" -ne 0 ]; then
  echo "ranged_get_curl: $got of $ranges transfers reported, $bad not 206 with $size bytes" >&2
  sort "$tmp/stats" | uniq -c | sort -rn | head -5 >&2
  exit 1
fi

seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", (b - a) / 1e9 }')
checksum=""
if [ $verify = 1 ]; then
  checksum=$(python3 - "$order" <<'PY'
import sys, zlib
crc = 0
for path in open(sys.argv[1]).read().split():
    with open(path, "rb") as f:
        crc = zlib.crc32(f.read(), crc)
print(f"{crc & 0xFFFFFFFF:08x}")
PY
)
  printf '{"tool": "curl", "seconds": %s, "ranges": %d, "bytes": %d, "checksum": "%s"}\n' "$seconds" "$ranges" "$bytes" "$checksum"
else
  printf '{"tool": "curl", "seconds": %s, "ranges": %d, "bytes": %d}\n' "$seconds" "$ranges" "$bytes"
fi
