#![no_main]
#![allow(missing_docs)]
//! Fuzz target (see fuzz/README.md).

use libfuzzer_sys::fuzz_target;
use provlog_fuzz::prelude::*;

// C2SP signed notes and vkeys.
fuzz_target!(|data: &[u8]| {
    if let Ok(note) = Note::parse(data) {
        let _ = note.verify(&[key()]);
        let bytes = note.to_bytes();
        let again = Note::parse(&bytes).expect("a parsed note re-parses");
        assert_eq!(again.to_bytes(), bytes);
    }
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(k) = VerifierKey::parse(s) {
            assert_eq!(
                VerifierKey::parse(&k.to_vkey())
                    .expect("vkey round trip")
                    .to_vkey(),
                k.to_vkey()
            );
        }
    }
});
