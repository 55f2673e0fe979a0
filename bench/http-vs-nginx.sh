#!/usr/bin/env bash
# HTTP proxying side by side in one run: wrk (HTTP/1.1 keep-alive, 128 B and 16 KiB responses)
# and h2load (h2c prior knowledge in, HTTP/1.1 out) through meshproxy (one worker) and through
# nginx (one worker, upstream keepalive), both in front of the same nginx origin serving static
# files. Interleaved, each run bounded by SECS. Reports rps, p99 latency, and the proxy's CPU
# time per request (utime+stime from /proc/<pid>/stat before/after each run).
# Needs nginx, wrk and h2load (nghttp2-client): `bash scripts/system-deps.sh bench` (root).
# Usage: bench/http-vs-nginx.sh [seconds per run, default 4] [rounds, default 1]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
SECS=${1:-4}
ROUNDS=${2:-1}
CONNS=50

ORIGIN=$(free_port); MP=$(free_port); NG=$(free_port); NG2=$(free_port); ADMIN=$(free_port)
mkdir -p "$work/www"
# mktemp -d is 0700 and nginx's workers are not root: without this every response is a 403 page.
chmod 755 "$work" "$work/www"
head -c 128 /dev/zero | tr '\0' 'a' > "$work/www/small"
head -c 16384 /dev/zero | tr '\0' 'b' > "$work/www/large"

cat > "$work/bootstrap.yaml" <<YAML
admin: {address: {socket_address: {address: 127.0.0.1, port_value: $ADMIN}}}
static_resources:
  listeners:
  - name: bench
    address: {socket_address: {address: 127.0.0.1, port_value: $MP}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: bench
          codec_type: AUTO
          route_config: {name: r, virtual_hosts: [{name: all, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: origin}}]}]}
          http_filters: [{name: envoy.filters.http.router, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}]
  clusters:
  - name: origin
    connect_timeout: 1s
    load_assignment: {cluster_name: origin, endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: $ORIGIN}}}}]}]}
YAML
node bin/meshproxy -c "$work/bootstrap.yaml" --concurrency 1 -l error & MP_PID=$!; pids+=($MP_PID)

cat > "$work/nginx.conf" <<NGX
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log error;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  upstream origin { server 127.0.0.1:$ORIGIN; keepalive 64; }
  server { listen 127.0.0.1:$ORIGIN; root $work/www; }
  server {
    listen 127.0.0.1:$NG;
    listen 127.0.0.1:$NG2 http2;
    location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
NGX
nginx -c "$work/nginx.conf" -p "$work" & pids+=($!)
sleep 2
NG_PID=$(pgrep -P "$(cat "$work/nginx.pid")" | head -1)

ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

# run <tool> <port> <path> <pid>  -> "rps p99_ms cpu_us_per_req"
run() {
  local tool=$1 port=$2 path=$3 pid=$4 t0 t1 out rps p99 n
  t0=$(ticks "$pid")
  if [ "$tool" = wrk ]; then
    out=$(wrk -t1 -c$CONNS -d"${SECS}s" --latency "http://127.0.0.1:$port$path")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}' <<<"$out")
    n=$(awk '/requests in/ {print $1}' <<<"$out")
  else
    out=$(h2load -c$CONNS -m10 -D"$SECS" --log-file="$work/h2.log" "http://127.0.0.1:$port$path" 2>&1)
    rps=$(awk '/finished in/ {print $4}' <<<"$out" | tr -d ',')
    n=$(node -e "console.log(Math.round($rps*$SECS))")
    p99=$(awk '{print $3}' "$work/h2.log" | sort -n | awk '{a[NR]=$1} END {print (NR? a[int(NR*0.99)]/1000 : 0)}')
  fi
  t1=$(ticks "$pid")
  echo "$rps $p99 $(node -e "console.log(((($t1-$t0)/$HZ)*1e6/Math.max(1,$n)).toFixed(1))")"
}

printf '%-22s %-10s %10s %9s %14s\n' scenario proxy rps p99_ms cpu_us/req
for r in $(seq "$ROUNDS"); do
  for sc in "h1-128B wrk /small" "h1-16KiB wrk /large" "h2c-128B h2load /small"; do
    set -- $sc
    ng_port=$NG; [ "$2" = h2load ] && ng_port=$NG2
    read -r a b c < <(run "$2" "$ng_port" "$3" "$NG_PID"); printf '%-22s %-10s %10s %9s %14s\n' "$1" nginx "$a" "$b" "$c"; ng_rps=$a
    read -r a b c < <(run "$2" "$MP" "$3" "$MP_PID"); printf '%-22s %-10s %10s %9s %14s\n' "$1" meshproxy "$a" "$b" "$c"
    echo "$1 ratio meshproxy/nginx rps = $(node -e "console.log(($a/$ng_rps).toFixed(2))")"
  done
done
