#!/usr/bin/env bash
# One-stream TCP throughput of three relays, side by side in the same run, interleaved, each run
# bounded in time: iperf3 through (1) a minimal JS relay ('data' -> write, as tcp_proxy relays
# today), (2) the splice relay (native/tcp-relay via src/platform/tcp-relay.ts), (3) nginx's
# stream module. Prints Gbit/s per run, the medians, and each relay's ratio to nginx.
# Needs nginx (+ libnginx-mod-stream) and iperf3: `bash scripts/system-deps.sh bench` (root).
# Usage: bench/tcp-relay.bench.sh [seconds per run, default 5] [rounds, default 3] [extra iperf3 args, e.g. -R]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
SECS=${1:-5}
ROUNDS=${2:-3}
EXTRA=${3:-}

IPERF=$(free_port); JS=$(free_port); SP=$(free_port); NG=$(free_port)

start_relay() { # $1 mode, $2 port
  node bench/tcp-relay.bench.run.cjs "$1" "$2" "$IPERF" > "$work/$1.out" 2>&1 & pids+=($!)
  for _ in $(seq 50); do grep -q ready "$work/$1.out" 2>/dev/null && return 0; sleep 0.1; done
  echo "relay $1 did not start:"; cat "$work/$1.out"; exit 1
}
start_relay js "$JS"
start_relay splice "$SP"

start_nginx_stream "$NG" "$IPERF"

run() { iperf_run "$1" $EXTRA; }

ng_all=(); js_all=(); sp_all=()
for _ in $(seq "$ROUNDS"); do
  ng_all+=("$(run "$NG")")
  js_all+=("$(run "$JS")")
  sp_all+=("$(run "$SP")")
done
ng=$(median "${ng_all[@]}"); js=$(median "${js_all[@]}"); sp=$(median "${sp_all[@]}")
ratio() { node -e "console.log(($1/$2).toFixed(2))"; }
echo "rounds (Gbit/s): nginx ${ng_all[*]}; js ${js_all[*]}; splice ${sp_all[*]}"
echo "median: nginx $ng Gbit/s, js relay $js Gbit/s ($(ratio "$js" "$ng")x nginx), splice relay $sp Gbit/s ($(ratio "$sp" "$ng")x nginx)"
