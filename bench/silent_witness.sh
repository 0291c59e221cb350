#!/usr/bin/env bash
# Ingest with no witness vs with one silent witness at quorum 0 (issue 10):
# witnessing runs off the sequencer, so a witness that accepts connections
# and never answers must leave ingest within 10% of no witness.
#
#   bench/silent_witness.sh            # 3 runs of 100,000 claims each way
#   RUNS=5 CLAIMS=200000 bench/silent_witness.sh
#
# Prints one JSON line per run (`provlog load --json`) tagged with the
# setup, then the medians. Everything listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
CLAIMS=${CLAIMS:-100000}
cargo build --release -p provlog-server -p provlog-cli -p provlog-monitor 2>&1 | tail -1
bin=target/release
work=$(mktemp -d)
cleanup() {
    for f in "$work"/*.pid; do kill "$(cat "$f")" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# The silent witness: accepts TCP connections, reads, never answers.
python3 - "$work/silent.port" <<'PY' &
import socket, sys, threading
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1024)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
def hold(c):
    # Read and never answer; stop when the log gives up and closes (a
    # closed socket returns b"" at once: looping on it would burn a core).
    while c.recv(65536):
        pass
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=hold, args=(c,), daemon=True).start()
PY
echo $! > "$work/silent.pid"
for _ in $(seq 100); do [ -s "$work/silent.port" ] && break; sleep 0.1; done
SILENT="http://127.0.0.1:$(cat "$work/silent.port")"
# A real witness (cosignature/v1) key for it, made by provlog-monitor init
# (the log it names is never contacted).
ANYKEY=$("$bin/provlog" keygen --out "$work/any.key" --name any.example 2>/dev/null | tail -1)
WKEY=$("$bin/provlog-monitor" init --name silent.example --data "$work/w" \
    --log "http://127.0.0.1:9=$ANYKEY" --public-url "$SILENT" 2>/dev/null | tail -1)

run() { # name, extra server flags...
    local name=$1; shift
    rm -rf "$work/data"
    "$bin/provlog-server" --data "$work/data" --listen 127.0.0.1:0 "$@" > "$work/out" 2> "$work/err" &
    echo $! > "$work/log.pid"
    for _ in $(seq 100); do grep -q '^vkey ' "$work/out" 2>/dev/null && break; sleep 0.1; done
    local url vkey
    url=$(sed -n 's/^listening on //p' "$work/out")
    vkey=$(sed -n 's/^vkey //p' "$work/out")
    for i in $(seq "$RUNS"); do
        "$bin/provlog" load --log "$url" --log-key "$vkey" --claims "$CLAIMS" \
            --concurrency 32 --batch 256 --json | sed "s/^{/{\"setup\":\"$name\",/" | tee -a "$work/results.jsonl"
    done
    kill "$(cat "$work/log.pid")"; wait "$(cat "$work/log.pid")" 2>/dev/null || true
}
run no-witness
run silent-witness-quorum-0 --witness "$WKEY=$SILENT" --witness-quorum 0 --witness-timeout-ms 5000
python3 - "$work/results.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
med = {}
for setup in ("no-witness", "silent-witness-quorum-0"):
    v = [r["claims_per_sec"] for r in rows if r["setup"] == setup]
    med[setup] = statistics.median(v)
    print(f"{setup}: median {med[setup]:.0f} claims/s over {len(v)} runs ({', '.join(f'{x:.0f}' for x in v)})")
print(f"ratio silent/no-witness: {med['silent-witness-quorum-0'] / med['no-witness']:.3f} (target >= 0.90)")
PY
