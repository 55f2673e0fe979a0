#!/usr/bin/env bash
# Installs the Debian packages that tests (`test`) or benchmarks (`bench`) drive as real peers.
# Only missing commands are installed, and only as root; otherwise it says what is missing and
# the tests that need them skip with that reason.
set -euo pipefail
# wrk drives the xDS-under-load test (test/integration/xds-under-load-wrk.test.ts) as well as benches.
want=(curl:curl openssl:openssl ip:iproute2 iptables-restore:iptables promtool:prometheus wrk:wrk)
if [ "${1:-test}" = bench ]; then
  want+=(nginx:nginx iperf3:iperf3 h2load:nghttp2-client)
fi
missing=()
for pair in "${want[@]}"; do
  cmd=${pair%%:*}; pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${1:-test}" = bench ] && ! [ -e /usr/lib/nginx/modules/ngx_stream_module.so ] && ! nginx -V 2>&1 | grep -q -- '--with-stream[^_]'; then
  missing+=(libnginx-mod-stream)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "system-deps: not root; missing ${missing[*]} (tests needing them will skip)" >&2
  exit 0
fi
echo "system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
