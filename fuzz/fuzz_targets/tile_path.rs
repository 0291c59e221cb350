#![no_main]
#![allow(missing_docs)]
//! Fuzz target (see fuzz/README.md).

use libfuzzer_sys::fuzz_target;
use provlog_fuzz::prelude::*;

// tlog-tiles paths (from URLs): only the canonical form is accepted.
fuzz_target!(|data: &[u8]| {
    if let Ok(p) = std::str::from_utf8(data) {
        if let Ok(tile) = Tile::parse_path(p) {
            assert_eq!(tile.path(), p, "only canonical paths are accepted");
            assert!(!p.contains(".."));
        }
    }
});
