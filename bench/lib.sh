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
