# Shared helpers for the side-by-side benchmark scripts (sourced, not run): repository root,
# bench tools, a built dist/, a work dir and background processes cleaned up on exit, free
# loopback ports, medians, and nginx's stream module line.
# After sourcing: $work is a temp dir; add background PIDs with `pids+=($!)`.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v wrk >/dev/null && command -v nginx >/dev/null && command -v iperf3 >/dev/null || bash scripts/system-deps.sh bench >/dev/null
[ -f dist/main.js ] || make build >/dev/null
work=$(mktemp -d)
pids=()
# Only the main shell cleans up (command substitutions inherit the EXIT trap).
cleanup() { [ "$BASHPID" = "$$" ] || return 0; for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# `load_module ...;` for Debian's dynamic stream module, or nothing when nginx has it built in.
nginx_stream_module() {
  for m in /usr/lib/nginx/modules/ngx_stream_module.so /usr/share/nginx/modules/ngx_stream_module.so; do
    [ -f "$m" ] && { echo "load_module $m;"; return; }
  done
}

# Starts nginx (one worker) with a stream proxy from 127.0.0.1:$1 to 127.0.0.1:$2 in $work.
start_nginx_stream() {
  cat > "$work/nginx.conf" <<NGX
$(nginx_stream_module)
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 1024; }
stream {
  server { listen 127.0.0.1:$1; proxy_pass 127.0.0.1:$2; }
}
NGX
  nginx -c "$work/nginx.conf" -p "$work" & pids+=($!)
  sleep 1.5
}

# One iperf3 run against 127.0.0.1:$1 (a fresh iperf3 server on $IPERF each time, bounded by
# $SECS); prints the receiver's Gbit/s (0 on failure). Extra iperf3 arguments follow.
iperf_run() {
  local port=$1; shift
  iperf3 -s -p "$IPERF" -1 >/dev/null 2>&1 &
  local sp=$!
  sleep 0.3
  timeout $((SECS + 20)) iperf3 -c 127.0.0.1 -p "$port" -t "$SECS" "$@" -J 2>/dev/null |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{const j=JSON.parse(s);console.log((j.end.sum_received.bits_per_second/1e9).toFixed(2))}catch{console.log("0")}})'
  wait "$sp" 2>/dev/null || true
}
