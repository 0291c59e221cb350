#![no_main]
#![allow(missing_docs)]
//! Fuzz target (see fuzz/README.md).

use libfuzzer_sys::fuzz_target;
use provlog_fuzz::prelude::*;

// Proof verification with hostile sizes, indexes and proof lengths.
fuzz_target!(|data: &[u8]| {
    if data.len() < 16 + 64 {
        return;
    }
    let a = u64::from_le_bytes(data[0..8].try_into().unwrap_or_default());
    let b = u64::from_le_bytes(data[8..16].try_into().unwrap_or_default());
    let h1: [u8; 32] = data[16..48].try_into().unwrap_or_default();
    let h2: [u8; 32] = data[48..80].try_into().unwrap_or_default();
    let proof: Vec<[u8; 32]> = data[80..]
        .chunks_exact(32)
        .filter_map(|c| c.try_into().ok())
        .collect();
    let _ = verify_inclusion(&h1, a, b, &proof, &h2);
    let _ = verify_consistency(a, b, &h1, &h2, &proof);
});
