#![no_main]
#![allow(missing_docs)]
//! Fuzz target (see fuzz/README.md).

use libfuzzer_sys::fuzz_target;
use provlog_fuzz::prelude::*;

// Hash tiles and entry bundles served by a (possibly hostile) log.
fuzz_target!(|data: &[u8]| {
    let Some((&w, body)) = data.split_first() else {
        return;
    };
    let width = u16::from(w).max(1);
    if let Ok(entries) = decode_bundle(body) {
        let refs: Vec<&[u8]> = entries.clone();
        let re = encode_bundle(&refs).expect("re-encode");
        assert_eq!(re, body, "bundles round-trip");
    }
    if let Ok(t) = Tile::entries(0, width) {
        let _ = t.parse_bundle(body);
    }
    if let Ok(t) = Tile::hash(0, 0, width) {
        if let Ok(h) = t.parse_hashes(body) {
            assert_eq!(h.len(), usize::from(width));
        }
    }
});
