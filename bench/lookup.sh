#!/usr/bin/env bash
# The verifiable-lookup figures of issue 14, in one run on this machine:
#
#   bench/lookup.sh                     # RUNS=3 CLAIMS=200000 WRK_SECONDS=10
#   RUNS=1 CLAIMS=20000 WRK_SECONDS=3 bench/lookup.sh   # smoke run
#   SKIP_BUILD=1 bench/lookup.sh        # use the release binaries as built
#
# 1. Durable ingest with and without `--verifiable-index`, alternating
#    fresh logs (RUNS each, closed loop, `provlog load` beside the server):
#    the median of each and their ratio (target >= 0.8).
# 2. Lookup proofs served: the indexed log restarted (its index rebuilt
#    from the entries, timed), then wrk asks for lookup-proof bundles of
#    random keys, half present and half absent (bench/wrk/lookup.lua,
#    keys from the lookup_keys example); target >= 20,000/s. The bundle
#    sizes of one present and one absent key are printed too.
# 3. The anchors, in the same run: the machine's limits (machine_limits:
#    raw Ed25519 and ZIP-215 verify, SHA-256, fsync) and wrk on plain
#    inclusion proofs of the same log, same connections (a lookup bundle
#    holds one or more inclusion proofs and an index path).
# Every server listens on 127.0.0.1 only. Results: bench/results/lookup-<time>/.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
CLAIMS=${CLAIMS:-200000}
WRK_SECONDS=${WRK_SECONDS:-10}
out="bench/results/lookup-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
work=$(mktemp -d)
trap 'kill $(cat "$work/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
command -v wrk > /dev/null || { apt-get update > /dev/null && apt-get install -y wrk > /dev/null; }

{ uname -a; nproc; grep -m1 "model name" /proc/cpuinfo; uptime; } | tee "$out/machine.txt"
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -p provlog-server -p provlog-cli --bins --examples 2>&1 | tail -1
bin=target/release
"$bin/examples/machine_limits" "$work" | tee "$out/limits.json"

start_log() { # DATA [flags...]
    local data=$1; shift
    "$bin/provlog-server" --data "$data" --listen 127.0.0.1:0 "$@" > "$work/out" 2> "$work/err" &
    echo $! > "$work/pid"
    for _ in $(seq 600); do grep -q '^vkey ' "$work/out" 2>/dev/null && break; sleep 0.1; done
    URL=$(sed -n 's/^listening on //p' "$work/out")
    VKEY=$(sed -n 's/^vkey //p' "$work/out")
    [ -n "$URL" ] || { cat "$work/err"; exit 1; }
}
stop_log() { kill "$(cat "$work/pid")"; wait "$(cat "$work/pid")" 2>/dev/null || true; }
# CPU seconds (user + system) the server has used so far.
cpu_s() { awk -v t="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / t }' "/proc/$(cat "$work/pid")/stat"; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

echo "== ingest without and with the verifiable index (${RUNS} x ${CLAIMS} claims each, alternating)"
for i in $(seq "$RUNS"); do
    for mode in plain indexed; do
        rm -rf "$work/$mode"
        if [ "$mode" = indexed ]; then start_log "$work/$mode" --verifiable-index; else start_log "$work/$mode"; fi
        "$bin/provlog" load --log "$URL" --log-key "$VKEY" --claims "$CLAIMS" --concurrency 32 --batch 256 --json \
            | sed "s/^{/{\"mode\":\"$mode\",/" | tee -a "$out/ingest.jsonl"
        stop_log
    done
done
rate() { grep "\"mode\":\"$1\"" "$out/ingest.jsonl" | sed -n 's/.*"claims_per_sec":\([0-9.]*\).*/\1/p' | median; }
plain=$(rate plain); indexed=$(rate indexed)
echo "{\"ingest_plain_median\": $plain, \"ingest_indexed_median\": $indexed, \"ratio\": $(awk -v a="$indexed" -v b="$plain" 'BEGIN { printf "%.2f", a / b }')}" \
    | tee "$out/ingest-summary.json"

echo "== lookup requests from the indexed log (stopped)"
"$bin/examples/lookup_keys" "$work/indexed" 2000 > "$work/keys.txt" 2> >(tee "$out/keys.txt" >&2)

echo "== restart with the index rebuilt from the entries"
t0=$(date +%s.%N)
start_log "$work/indexed" --verifiable-index
until curl -sf "$URL/healthz" > /dev/null; do sleep 0.01; done
t1=$(date +%s.%N)
echo "{\"restart_seconds\": $(echo "$t1 - $t0" | bc)}" | tee "$out/restart.json"

echo "== bundle sizes (one present key, one absent)"
for path in "$(head -1 "$work/keys.txt")" "$(tail -1 "$work/keys.txt")"; do
    bytes=$(curl -sf -H 'Accept: application/vnd.provlog.lookup+cbor' "$URL$path" | wc -c)
    echo "{\"path\": \"$path\", \"bundle_bytes\": $bytes}"
done | tee "$out/sizes.jsonl"

echo "== wrk: lookup-proof bundles, ${WRK_SECONDS}s"
c0=$(cpu_s)
KEYS="$work/keys.txt" wrk -t2 -c64 -d"${WRK_SECONDS}s" --latency -s bench/wrk/lookup.lua "$URL" | tee "$out/wrk-lookup.txt"
if grep -q "Non-2xx" "$out/wrk-lookup.txt"; then echo "some lookups failed" >&2; exit 1; fi
c1=$(cpu_s)
echo "== wrk: inclusion proofs of the same log (the anchor), ${WRK_SECONDS}s"
size=$(sed -n 's/^tree_size \([0-9]*\) .*/\1/p' "$out/keys.txt")
SIZE="$size" wrk -t2 -c64 -d"${WRK_SECONDS}s" --latency -s bench/wrk/proofs.lua "$URL" | tee "$out/wrk-proofs.txt"
c2=$(cpu_s)
stop_log
rps() { sed -n 's/^Requests\/sec: *//p' "$1"; }
l=$(rps "$out/wrk-lookup.txt"); p=$(rps "$out/wrk-proofs.txt")
nl=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$out/wrk-lookup.txt"); np=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$out/wrk-proofs.txt")
us() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.1f", (b - a) * 1e6 / n }'; }
echo "{\"wrk_lookups_per_sec\": $l, \"server_cpu_us_per_lookup\": $(us "$c0" "$c1" "$nl"), \"wrk_proofs_per_sec\": $p, \"server_cpu_us_per_proof\": $(us "$c1" "$c2" "$np"), \"lookups_over_proofs\": $(awk -v a="$l" -v b="$p" 'BEGIN { printf "%.2f", a / b }')}" | tee "$out/lookup-summary.json"
echo "results in $out"
