#!/usr/bin/env bash
# Sequencer CPU per claim when the claims come from stateless frontends
# (issue 15 target: <= 10 us per claim), and ingest through two frontends
# against ingest straight into the sequencer, in one run.
#
#   bench/frontends.sh                    # RUNS=3 runs of CLAIMS=200000 per mode
#   RUNS=1 CLAIMS=40000 bench/frontends.sh    # quick smoke run
#   PERF=1 bench/frontends.sh             # also `perf record -g` the sequencer
#                                         # during the last frontends run
#   SKIP_BUILD=1 BIN=path/to/release bench/frontends.sh
#
# Each run starts a fresh release provlog-server (fjall, defaults) on
# 127.0.0.1 and two `provlog load` processes of CLAIMS/2 claims each
# (batches of BATCH, CONCURRENCY requests in flight each):
#   direct     both loads post to the sequencer itself;
#   frontends  the sequencer runs with --frontend-keys listing two
#              `provlog-server frontend` processes, and each load posts to
#              one frontend.
# The measured window opens once both loads have pre-signed their claims and
# are sending, and closes when the first one finishes. Over it the script
# reads the sequencer's (and each frontend's) CPU time, utime + stime from
# /proc/PID/stat, and the sequencer's provlog_entries_total; CPU per claim
# is CPU seconds / entries appended, throughput entries / wall seconds.
# Everything runs on this machine, listening on 127.0.0.1 only. Results:
# bench/results/frontends-<timestamp>/ (one JSON line per run, and the
# medians in summary.json).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
CLAIMS=${CLAIMS:-200000}
BATCH=${BATCH:-256}
CONCURRENCY=${CONCURRENCY:-16}
out="bench/results/frontends-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

if [ -z "${SKIP_BUILD:-}" ]; then
    cargo build --release -p provlog-server -p provlog-cli --bins 2>&1 | tail -1
fi
bin=${BIN:-${CARGO_TARGET_DIR:-target}/release}
tck=$(getconf CLK_TCK)

echo "== machine"
{ uname -a; nproc; grep -m1 "model name" /proc/cpuinfo; uptime; } | tee "$out/machine.txt"

# cpu PID: the process's utime + stime in clock ticks (fields 14 and 15 of
# /proc/PID/stat, counted after the parenthesised command name).
cpu() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
entries() { curl -sf "$1/metrics" | awk '$1 == "provlog_entries_total" { print $2 }'; }
now() { date +%s.%N; }

# start NAME ARGS...: runs ARGS in the background, output in $work/NAME.*;
# waits (at most 20 s) for its "listening on" line; sets PID and URL.
start() {
    local name=$1
    shift
    "$@" > "$work/$name.out" 2> "$work/$name.err" &
    PID=$!
    pids+=("$PID")
    for _ in $(seq 200); do
        grep -q '^listening on ' "$work/$name.out" 2>/dev/null && break
        kill -0 "$PID" 2>/dev/null || { cat "$work/$name.err" >&2; return 1; }
        sleep 0.1
    done
    URL=$(sed -n 's/^listening on //p' "$work/$name.out")
    [ -n "$URL" ] || { echo "$name did not start" >&2; cat "$work/$name.err" >&2; return 1; }
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# run MODE N: one run; prints one JSON line.
run() {
    local mode=$1 n=$2 dir="$work/$1-$2"
    mkdir -p "$dir"
    local seq_args=(--data "$dir/log" --listen 127.0.0.1:0)
    if [ "$mode" = frontends ]; then
        for f in fe1 fe2; do
            "$bin/provlog-server" frontend --data "$dir/$f" --print-vkey 2> /dev/null >> "$dir/frontend-keys"
        done
        seq_args+=(--frontend-keys "$dir/frontend-keys")
    fi
    start "seq-$mode-$n" "$bin/provlog-server" "${seq_args[@]}"
    local seq_pid=$PID seq_url=$URL
    local vkey
    vkey=$(sed -n 's/^vkey //p' "$work/seq-$mode-$n.out")
    local targets=("$seq_url" "$seq_url") fe_pids=()
    if [ "$mode" = frontends ]; then
        targets=()
        for f in fe1 fe2; do
            start "$f-$n" "$bin/provlog-server" frontend --data "$dir/$f" --sequencer "$seq_url" --listen 127.0.0.1:0
            fe_pids+=("$PID")
            targets+=("$URL")
        done
    fi
    local half=$((CLAIMS / 2)) loads=()
    for i in 0 1; do
        "$bin/provlog" load --log "${targets[$i]}" --log-key "$vkey" --claims "$half" \
            --batch "$BATCH" --concurrency "$CONCURRENCY" --verify-sample 200 --json \
            > "$dir/load$i.json" 2> "$dir/load$i.err" &
        loads+=($!)
        pids+=($!)
    done
    # Both loads pre-sign first (their CPU, not the log's): the window opens
    # once both are sending (at most 10 minutes of waiting).
    for _ in $(seq 6000); do
        grep -q 'sending' "$dir/load0.err" 2>/dev/null && grep -q 'sending' "$dir/load1.err" 2>/dev/null && break
        sleep 0.1
    done
    local t0 c0 e0 f0=0 t1 c1 e1 f1=0
    t0=$(now); c0=$(cpu "$seq_pid"); e0=$(entries "$seq_url")
    for p in "${fe_pids[@]}"; do f0=$((f0 + $(cpu "$p"))); done
    local perf_pid=
    if [ -n "${PERF:-}" ] && [ "$mode" = frontends ] && [ "$n" = "$RUNS" ]; then
        perf record -g -F 999 -p "$seq_pid" -o "$out/perf-sequencer.data" -- sleep "${PERF_SECONDS:-5}" \
            > /dev/null 2>&1 &
        perf_pid=$!
    fi
    wait -n "${loads[@]}" || true
    t1=$(now); c1=$(cpu "$seq_pid"); e1=$(entries "$seq_url")
    for p in "${fe_pids[@]}"; do f1=$((f1 + $(cpu "$p"))); done
    for p in "${loads[@]}"; do wait "$p" || echo "a load failed: $(cat "$dir"/load*.err)" >&2; done
    [ -z "$perf_pid" ] || wait "$perf_pid" || true
    for p in "${fe_pids[@]}"; do stop "$p"; done
    stop "$seq_pid"
    pids=()
    awk -v mode="$mode" -v run="$n" -v t0="$t0" -v t1="$t1" -v c0="$c0" -v c1="$c1" \
        -v e0="$e0" -v e1="$e1" -v f0="$f0" -v f1="$f1" -v tck="$tck" \
        -v l0="$(cat "$dir/load0.json")" -v l1="$(cat "$dir/load1.json")" 'BEGIN {
        secs = t1 - t0; n = e1 - e0
        printf "{\"mode\":\"%s\",\"run\":%d,\"window_seconds\":%.3f,\"entries\":%d,", mode, run, secs, n
        printf "\"claims_per_sec\":%.0f,", n / secs
        printf "\"sequencer_cpu_seconds\":%.3f,\"sequencer_us_per_claim\":%.2f,", (c1 - c0) / tck, (c1 - c0) / tck / n * 1e6
        printf "\"frontends_cpu_seconds\":%.3f,\"frontends_us_per_claim\":%.2f,", (f1 - f0) / tck, (f1 - f0) / tck / n * 1e6
        printf "\"loads\":[%s,%s]}\n", l0, l1
    }'
}

for mode in direct frontends; do
    echo "== $mode: $RUNS runs of $CLAIMS claims (2 loads x $((CLAIMS / 2)), batch $BATCH, $CONCURRENCY in flight each)"
    for n in $(seq "$RUNS"); do
        # Not in a pipeline: the processes it starts stay known to cleanup.
        run "$mode" "$n" >> "$out/runs.jsonl"
        tail -n 1 "$out/runs.jsonl"
    done
done

python3 - "$out/runs.jsonl" "$(uptime | sed 's/.*load average: //')" <<'PY' | tee "$out/summary.json"
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
out = {"runs": len(runs) // 2, "load_average_at_end": sys.argv[2]}
for mode in ("direct", "frontends"):
    rs = [r for r in runs if r["mode"] == mode]
    for f in ("claims_per_sec", "sequencer_us_per_claim", "frontends_us_per_claim"):
        out[f"{mode}_{f}_median"] = statistics.median(r[f] for r in rs)
print(json.dumps(out))
PY

if [ -f "$out/perf-sequencer.data" ]; then
    perf report -i "$out/perf-sequencer.data" --stdio --no-children --percent-limit 2 2> /dev/null \
        | grep -v '^$' | head -80 > "$out/perf-sequencer.txt" || true
    echo "== perf profile of the sequencer: $out/perf-sequencer.txt"
fi
echo "results in $out"
