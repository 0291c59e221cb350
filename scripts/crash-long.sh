#!/usr/bin/env bash
# Long mode of the crash test: SIGKILL the real log server at random moments
# under concurrent load, many times, and check after every restart that no
# acknowledged claim was lost and no checkpoint was forked.
#   scripts/crash-long.sh [CYCLES]              default 50
#   PROVLOG_CRASH_SEED=<seed> scripts/crash-long.sh   replay a run
# Release build (closer to production timing). Prints one line per cycle and
# a summary: cycles survived, claims acknowledged, acknowledged claims lost.
set -euo pipefail
cd "$(dirname "$0")/.."
export PROVLOG_CRASH_CYCLES="${1:-50}"
cargo build --release -p provlog-server
cargo test --release -p provlog-e2e --test crash -- --nocapture --test-threads=1
