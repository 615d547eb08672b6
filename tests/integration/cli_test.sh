#!/usr/bin/env bash
# The floe store CLI against the real S3 server and nginx: output, byte ranges, exit statuses, messages.
set -uo pipefail
floe="$1"
. "${FLOE_TEST_STATE:-/tmp/floe-test-servers}/env"
passed=0; failed=0
check() {  # check NAME CONDITION...
  local name="$1"; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $name"; fi
}
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
export AWS_ACCESS_KEY_ID="$FLOE_TEST_S3_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$FLOE_TEST_S3_SECRET_KEY"
export AWS_ENDPOINT_URL="$FLOE_TEST_S3_ENDPOINT" AWS_REGION=us-east-1
bucket="floe-cli-$$"
curl -fsS -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
  -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
  "$FLOE_TEST_S3_ENDPOINT/$bucket" >/dev/null
head -c 100000 /dev/urandom > "$work/blob"
curl -fsS -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
  -H "x-amz-content-sha256: $(sha256sum "$work/blob" | cut -d' ' -f1)" --data-binary @"$work/blob" \
  "$FLOE_TEST_S3_ENDPOINT/$bucket/dir/blob.bin" >/dev/null
for i in 1 2 3; do cp "$work/blob" "$work/f$i.nc"; done

"$floe" store cat "s3://$bucket/dir/blob.bin" --range 10-19 > "$work/range"
check "cat --range is inclusive" cmp -s "$work/range" <(tail -c +11 "$work/blob" | head -c 10)
"$floe" store cat "s3://$bucket/dir/blob.bin" > "$work/whole"
check "cat whole object" cmp -s "$work/whole" "$work/blob"
out="$("$floe" store stat "s3://$bucket/dir/blob.bin")"
check "stat shows size" grep -q "size: *100000" <<<"$out"
out="$("$floe" store ls "s3://$bucket/")"
check "ls shows directory" grep -q "s3://$bucket/dir/" <<<"$out"
out="$("$floe" store ls --recursive "s3://$bucket/")"
check "ls -r shows object" grep -q "100000 .* s3://$bucket/dir/blob.bin" <<<"$out"
out="$("$floe" store ls "$work/f*.nc")"
check "ls expands local globs" test "$(grep -c '\.nc$' <<<"$out")" = 3
out="$("$floe" store fetch "s3://$bucket/dir/blob.bin" --ranges 0-9,20-29,90000-90099)"
check "fetch coalesces near ranges" grep -q "3 ranges in 2 requests" <<<"$out"

err="$("$floe" store stat "s3://$bucket/missing.nc" 2>&1)"; rc=$?
check "missing object exits 1" test $rc = 1
check "missing object names the URL" grep -q "s3://$bucket/missing.nc: HTTP 404" <<<"$err"
err="$(AWS_SECRET_ACCESS_KEY=wrong-secret-value "$floe" store stat "s3://$bucket/dir/blob.bin" 2>&1)"; rc=$?
check "wrong secret exits 1" test $rc = 1
check "wrong secret is named, not printed" bash -c "grep -q 'HTTP 403' <<<\"\$0\" && ! grep -q wrong-secret-value <<<\"\$0\"" "$err"
err="$("$floe" --anonymous store stat "s3://$bucket/dir/blob.bin" 2>&1)"; rc=$?
check "anonymous on a private bucket is denied" grep -q "HTTP 403" <<<"$err"
err="$("$floe" --endpoint http://127.0.0.1:9 store stat "s3://$bucket/x" 2>&1)"; rc=$?
check "unreachable endpoint exits 3" test $rc = 3
err="$("$floe" store cat "s3://$bucket/dir/blob.bin" --range 9-3 2>&1)"; rc=$?
check "bad range exits 1" test $rc = 1
err="$("$floe" store ls "gs://bucket/x" 2>&1)"; rc=$?
check "unsupported scheme exits 1" test $rc = 1

mkdir -p "$FLOE_TEST_HTTP_ROOT/cli-$$" && cp "$work/blob" "$FLOE_TEST_HTTP_ROOT/cli-$$/blob.bin"
"$floe" store cat "$FLOE_TEST_HTTP_ENDPOINT/cli-$$/blob.bin" --range 99990- > "$work/tail"
check "http open-ended range" cmp -s "$work/tail" <(tail -c 10 "$work/blob")
err="$("$floe" store stat "$FLOE_TEST_HTTP_ENDPOINT/cli-$$/none.bin" 2>&1)"; rc=$?
check "http 404 exits 1" test $rc = 1
rm -rf "$FLOE_TEST_HTTP_ROOT/cli-$$"

echo "cli: $passed passed, $failed failed"
[ "$failed" = 0 ]
