#!/usr/bin/env bash
# Runs every cargo-fuzz target (or the ones named) for a bounded time each.
#   scripts/fuzz.sh [SECONDS] [TARGET...]      default: 60 s, all targets
# Needs cargo-fuzz (installed if missing). Works on the stable toolchain:
# RUSTC_BOOTSTRAP=1 lets it pass the sanitizer flags. The corpus each target
# grows is kept in fuzz/corpus-work/<target> (seeded from fuzz/corpus/); a
# crash is saved in fuzz/artifacts/<target>/ and fails the script. Prints the
# executions per target.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(claim_cbor signed_claim note checkpoint tile_path tile_data receipt policy proof witness_request evidence index_lookup index_entry index_evidence cose_receipt transparent_statement pq_checkpoint log_list)
fi
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$PWD/target}"
cargo fuzz build -O
status=0
for t in "${targets[@]}"; do
    mkdir -p "corpus-work/$t" "artifacts/$t"
    log="$(mktemp)"
    if cargo fuzz run -O "$t" "corpus-work/$t" "corpus/$t" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 >"$log" 2>&1; then
        runs=$(grep -o 'Done [0-9]* runs' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
        echo "fuzz $t: ok, $runs executions in $secs s"
    else
        echo "fuzz $t: FAILED (see fuzz/artifacts/$t)"
        tail -40 "$log"
        status=1
    fi
    rm -f "$log"
done
exit $status
