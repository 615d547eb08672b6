# bench/s3_bench_lib.sh owns the shell helpers the S3 benchmarks share (sourced, not run): test servers up or started, faultproxy instances on 127.0.0.1, their cleanup.
#
# The sourcing script defines die() and log(), sets STATE (the tests/servers state dir) and tmp (a scratch
# dir that holds the proxy logs), and runs from the repository root. Then:
#   s3_servers_up            load $STATE/env; start tests/servers/start.sh if the S3 server does not answer
#                            (sets S3_ENDPOINT AK SK REGION faultproxy started_servers)
#   start_proxy PORT LAT     a faultproxy on 127.0.0.1:PORT in front of S3_ENDPOINT with LAT added per
#                            request (e.g. 20ms, 0s); waits until its stats answer
#   proxy_reset PORT / proxy_stats PORT FILE    reset / save the proxy's request counters
#   s3_bench_cleanup         stop the proxies, and the servers if s3_servers_up started them
# shellcheck shell=bash

started_servers=0
proxy_pids=()

s3_alive() { # any HTTP answer from the endpoint (403/400 for an unsigned request is fine)
  local code
  code=$(curl -s -o /dev/null -m 3 -w '%{http_code}' "$1/" 2>/dev/null) || true
  [ -n "$code" ] && [ "$code" != 000 ]
}

s3_load_env() {
  if [ -f "$STATE/env" ]; then
    set -a; . "$STATE/env"; set +a
  fi
  S3_ENDPOINT="${FLOE_TEST_S3_ENDPOINT:-http://127.0.0.1:17070}"
  S3_ENDPOINT="${S3_ENDPOINT%/}"
  AK="${FLOE_TEST_S3_ACCESS_KEY:-floe-test-ak}"
  SK="${FLOE_TEST_S3_SECRET_KEY:-floe-test-sk}"
  REGION="${FLOE_TEST_S3_REGION:-us-east-1}"
}

s3_servers_up() {
  s3_load_env
  if [ ! -f "$STATE/env" ] || ! s3_alive "$S3_ENDPOINT"; then
    [ -x tests/servers/start.sh ] || die "test servers not running and tests/servers/start.sh missing"
    log "starting test servers (tests/servers/start.sh)"
    tests/servers/start.sh >&2
    started_servers=1
    s3_load_env
    s3_alive "$S3_ENDPOINT" || die "S3 server at $S3_ENDPOINT does not answer after start.sh"
  fi
  faultproxy="$STATE/bin/faultproxy"
  [ -x "$faultproxy" ] || die "no $faultproxy (built by tests/servers/start.sh)"
}

start_proxy() { # port latency
  local port="$1" lat="$2" i
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port $port is already in use (set PROXY_PORT / PROXY0_PORT)"
  fi
  "$faultproxy" -listen "127.0.0.1:$port" -upstream "$S3_ENDPOINT" -latency "$lat" >"$tmp/proxy-$port.log" 2>&1 &
  proxy_pids+=($!)
  for i in $(seq 1 100); do
    if curl -s -f -o /dev/null -m 1 "http://127.0.0.1:$port/__faultproxy/stats" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  cat "$tmp/proxy-$port.log" >&2
  die "faultproxy on $port did not come up"
}

proxy_reset() { # port
  curl -s -f -o /dev/null -m 5 -X POST "http://127.0.0.1:$1/__faultproxy/stats/reset" \
    || die "cannot reset proxy stats on $1"
}

proxy_stats() { # port file: the counters as JSON ({} if the proxy does not answer)
  curl -s -f -m 5 "http://127.0.0.1:$1/__faultproxy/stats" >"$2" || echo '{}' >"$2"
}

s3_bench_cleanup() {
  local pid
  for pid in "${proxy_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${proxy_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  proxy_pids=()
  if [ "$started_servers" = 1 ] && [ -x tests/servers/stop.sh ]; then
    log "stopping the test servers this script started"
    tests/servers/stop.sh "$STATE" >&2 || true
    started_servers=0
  fi
}
