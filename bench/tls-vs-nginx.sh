#!/usr/bin/env bash
# TLS termination side by side with nginx (stream module, same certificates, same ciphers/ALPN
# defaults, one worker each), both proxying TCP to one loopback nginx HTTP backend:
#   1. new mTLS handshakes per second: `openssl s_time -new` with a SPIFFE client certificate
#      (listener requires and verifies it; P-256 ECDSA keys, TLS 1.3), bounded by time;
#   2. keep-alive HTTPS throughput: wrk (16 connections, 1 thread) over server-side TLS (wrk has
#      no client-certificate option, so this listener pair does not require one).
# Prints each number and the ratio meshproxy/nginx. Needs nginx (+ stream module), wrk, openssl.
# Usage: bench/tls-vs-nginx.sh [seconds per run, default 5]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
SECS=${1:-5}

BE=$(free_port); MP_MTLS=$(free_port); MP_TLS=$(free_port); NG_MTLS=$(free_port); NG_TLS=$(free_port); ADMIN=$(free_port)

# Certificates: mesh CA, server and client workload certs with SPIFFE URI SANs.
cd "$work"
ossl() { openssl "$@" >/dev/null 2>&1; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 1 -subj /O=cluster.local/CN=bench-root
for who in server client; do
  printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=URI:spiffe://cluster.local/ns/bench/sa/%s\n' "$who" > "$who.ext"
  ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$who.key" -out "$who.csr" -subj /O=cluster.local
  ossl x509 -req -in "$who.csr" -CA ca.pem -CAkey ca.key -set_serial "$RANDOM" -days 1 -out "$who.pem" -extfile "$who.ext"
done
cd - >/dev/null

tls_ctx() { # $1 = require client cert (true/false)
  cat <<CTX
      transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
          require_client_certificate: $1
          common_tls_context:
            tls_certificates: [{certificate_chain: {filename: $work/server.pem}, private_key: {filename: $work/server.key}}]
            validation_context: {trusted_ca: {filename: $work/ca.pem}}
CTX
}
listener() { # $1 name, $2 port, $3 require client cert
  cat <<L
  - name: $1
    address: {socket_address: {address: 127.0.0.1, port_value: $2}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, stat_prefix: $1, cluster: backend}
$(tls_ctx "$3")
L
}
{
  echo "admin: {address: {socket_address: {address: 127.0.0.1, port_value: $ADMIN}}}"
  echo "static_resources:"
  echo "  listeners:"
  listener mtls "$MP_MTLS" true
  listener tls "$MP_TLS" false
  echo "  clusters:"
  echo "  - {name: backend, connect_timeout: 1s, load_assignment: {cluster_name: backend, endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: $BE}}}}]}]}}"
} > "$work/bootstrap.yaml"
node bin/meshproxy -c "$work/bootstrap.yaml" --concurrency 1 -l error & pids+=($!)

mods=$(nginx_stream_module)
cat > "$work/nginx.conf" <<NGX
$mods
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 4096; }
stream {
  ssl_certificate $work/server.pem;
  ssl_certificate_key $work/server.key;
  ssl_client_certificate $work/ca.pem;
  ssl_protocols TLSv1.2 TLSv1.3;
  server { listen 127.0.0.1:$NG_MTLS ssl; ssl_verify_client on; proxy_pass 127.0.0.1:$BE; }
  server { listen 127.0.0.1:$NG_TLS ssl; proxy_pass 127.0.0.1:$BE; }
}
NGX
cat > "$work/backend.conf" <<NGX
worker_processes 1;
daemon off;
pid $work/backend.pid;
error_log $work/backend-error.log warn;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:$BE; keepalive_requests 1000000; location / { return 200 "ok"; } } }
NGX
nginx -c "$work/nginx.conf" -p "$work" & pids+=($!)
nginx -c "$work/backend.conf" -p "$work" & pids+=($!)
sleep 1.5

handshakes() { # $1 port -> handshakes/s
  timeout $((SECS + 10)) openssl s_time -connect "127.0.0.1:$1" -new -time "$SECS" -cert "$work/client.pem" -key "$work/client.key" -CAfile "$work/ca.pem" 2>/dev/null |
    awk '/connections in [0-9.]+ real seconds/ {for (i=1;i<=NF;i++) if ($(i+1)=="connections" && $(i+2)=="in") n=$i; for (i=1;i<=NF;i++) if ($(i+1)=="real") t=$i; printf "%.0f\n", n/t; exit}'
}
keepalive() { # $1 port -> requests/s
  timeout $((SECS + 10)) wrk -t1 -c16 -d"${SECS}s" "https://127.0.0.1:$1/" 2>/dev/null | awk '/Requests\/sec/ {printf "%.0f\n", $2}'
}
ratio() { node -e "console.log(($1/$2).toFixed(2))"; }

ng_hs=$(handshakes "$NG_MTLS"); mp_hs=$(handshakes "$MP_MTLS")
ng_ka=$(keepalive "$NG_TLS"); mp_ka=$(keepalive "$MP_TLS")
echo "new mTLS handshakes/s (openssl s_time -new, ${SECS}s): nginx $ng_hs, meshproxy $mp_hs, ratio meshproxy/nginx = $(ratio "$mp_hs" "$ng_hs")"
echo "keep-alive HTTPS req/s (wrk -c16, ${SECS}s):          nginx $ng_ka, meshproxy $mp_ka, ratio meshproxy/nginx = $(ratio "$mp_ka" "$ng_ka")"
