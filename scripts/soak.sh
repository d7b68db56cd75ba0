#!/usr/bin/env bash
# Soak: wrk on 127.0.0.1 at 64 connections for a bounded time against the
# exporter serving the shipped plugins (haproxy against a local HAProxy, and
# the latency simulator). Reports non-2xx responses and the exporter's RSS
# before and after. Not part of CI; run with `make soak`.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${SOAK_SECONDS:-60}"
CONNECTIONS="${SOAK_CONNECTIONS:-64}"
PORT="${SOAK_PORT:-10171}"
missing=""
command -v wrk >/dev/null || missing="$missing wrk"
command -v haproxy >/dev/null || missing="$missing haproxy"
if [ -n "$missing" ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi

dir=build/soak
rm -rf "$dir" && mkdir -p "$dir/plugins.d"
sed "s|@DIR@|$(pwd)/$dir|g" deploy/demo/haproxy.cfg > "$dir/haproxy.cfg"
cp build/plugins/haproxy.wasm build/plugins/latency-simulator.wasm "$dir/plugins.d/"
cp deploy/demo/haproxy.yml plugins/latency-simulator/latency-simulator.yml "$dir/plugins.d/"

haproxy -f "$dir/haproxy.cfg" -db >"$dir/haproxy.log" 2>&1 &
hap=$!
./target/release/wasm_exporter --plugins.dir "$dir/plugins.d" --plugins.watch=false \
  --web.listen-address "127.0.0.1:$PORT" --web.max-requests 256 --log.level warn >"$dir/exporter.log" 2>&1 &
exp=$!
trap 'kill $exp $hap 2>/dev/null || true' EXIT

rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/-/ready" >/dev/null && break
  sleep 0.1
done
# Warm up: every plugin instantiated, buffers sized.
for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$PORT/metrics" >/dev/null; done
before=$(rss $exp)
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "http://127.0.0.1:$PORT/metrics" >"$dir/wrk.txt"
after=$(rss $exp)
requests=$(awk '/requests in/ {print $1}' "$dir/wrk.txt")
non2xx=$(awk '/Non-2xx/ {print $NF}' "$dir/wrk.txt")
up=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^wasm_exporter_plugin_up/ {printf "%s ", $0}')
echo "duration_s=$DURATION connections=$CONNECTIONS requests=$requests non_2xx=${non2xx:-0}"
echo "rss_before_kib=$before rss_after_kib=$after"
echo "plugins: $up"
grep -E "Requests/sec|Latency|50%|99%" "$dir/wrk.txt"
