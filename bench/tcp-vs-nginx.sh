#!/usr/bin/env bash
# TCP proxy throughput, one stream, side by side: iperf3 through meshproxy's tcp_proxy and
# through nginx's stream module, in the same run, interleaved, each bounded in time.
# Prints Gbit/s for each and the ratio meshproxy/nginx. Needs nginx (+ libnginx-mod-stream)
# and iperf3: `bash scripts/system-deps.sh bench` installs them (root).
# Usage: bench/tcp-vs-nginx.sh [seconds per run, default 5] [rounds, default 3]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
SECS=${1:-5}
ROUNDS=${2:-3}

IPERF=$(free_port); MP=$(free_port); NG=$(free_port); ADMIN=$(free_port); MPJS=$(free_port); ADMINJS=$(free_port)


cat > "$work/bootstrap.yaml" <<YAML
admin: {address: {socket_address: {address: 127.0.0.1, port_value: $ADMIN}}}
static_resources:
  listeners:
  - name: bench
    address: {socket_address: {address: 127.0.0.1, port_value: $MP}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, stat_prefix: bench, cluster: iperf}
  clusters:
  - name: iperf
    connect_timeout: 1s
    load_assignment: {cluster_name: iperf, endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: $IPERF}}}}]}]}
YAML
node bin/meshproxy -c "$work/bootstrap.yaml" --concurrency 1 -l error & pids+=($!)
# The same proxy with the kernel splice relay turned off (JS relay), for comparison.
sed -e "s/port_value: $MP}/port_value: $MPJS}/" -e "s/port_value: $ADMIN}/port_value: $ADMINJS}/" "$work/bootstrap.yaml" > "$work/bootstrap-js.yaml"
MESHPROXY_DISABLE_SPLICE=1 node bin/meshproxy -c "$work/bootstrap-js.yaml" --concurrency 1 -l error & pids+=($!)

start_nginx_stream "$NG" "$IPERF"

run() { iperf_run "$1"; }

mp_all=(); ng_all=(); js_all=()
for r in $(seq "$ROUNDS"); do
  ng_all+=("$(run "$NG")")
  mp_all+=("$(run "$MP")")
  js_all+=("$(run "$MPJS")")
done
mp=$(median "${mp_all[@]}"); ng=$(median "${ng_all[@]}"); js=$(median "${js_all[@]}")
echo "rounds: nginx ${ng_all[*]} Gbit/s; meshproxy ${mp_all[*]} Gbit/s; meshproxy JS relay ${js_all[*]} Gbit/s"
echo "median: nginx $ng Gbit/s, meshproxy (splice) $mp Gbit/s = $(node -e "console.log(($mp/$ng).toFixed(2))")x, meshproxy (JS relay) $js Gbit/s = $(node -e "console.log(($js/$ng).toFixed(2))")x"
