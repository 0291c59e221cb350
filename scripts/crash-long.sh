#!/usr/bin/env bash
# Long mode of the crash tests: SIGKILL the real binaries at random moments
# under concurrent load, many times, and check after every restart.
#   scripts/crash-long.sh [CYCLES]              log server, default 50 cycles:
#       no acknowledged claim lost, no checkpoint forked
#   scripts/crash-long.sh --monitor [CYCLES]    monitor (witness, evidence):
#       no double cosignature from one old size, no conflicting cosignature,
#       the witness never goes back, no evidence lost
#   PROVLOG_CRASH_SEED=<seed> scripts/crash-long.sh            replay a run
#   PROVLOG_MONITOR_CRASH_SEED=<seed> scripts/crash-long.sh --monitor
# Release build (closer to production timing). Prints one line per cycle and
# a summary.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--monitor" ]; then
    export PROVLOG_MONITOR_CRASH_CYCLES="${2:-50}"
    cargo build --release -p provlog-monitor --bins
    cargo test --release -p provlog-e2e --test monitor_crash -- --nocapture --test-threads=1
    exit
fi
export PROVLOG_CRASH_CYCLES="${1:-50}"
cargo build --release -p provlog-server
cargo test --release -p provlog-e2e --test crash -- --nocapture --test-threads=1
