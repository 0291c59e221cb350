//! Checkpoint parse/format round trips, rejection table, timestamp line,
//! and signing/verification.
#![allow(clippy::unwrap_used)]

use provlog_core::checkpoint::{Checkpoint, CheckpointError, sign_checkpoint, verify_checkpoint};
use provlog_core::hash::EMPTY_ROOT;
use provlog_core::note::{Note, NoteError, NoteSigner, SIG_COSIGNATURE_V1, SIG_ED25519};

const ROOT_B64: &str = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="; // SHA-256("")

fn signer() -> NoteSigner {
    NoteSigner::from_seed("example.com/provlog", SIG_ED25519, [5; 32]).unwrap()
}

#[test]
fn round_trip_with_and_without_extensions() {
    for text in [
        format!("example.com/provlog\n0\n{ROOT_B64}\n"),
        format!("example.com/provlog\n18446744073709551615\n{ROOT_B64}\n"),
        format!("example.com/provlog\n12\n{ROOT_B64}\ntimestamp 1700000000123\n"),
        format!("o\n1\n{ROOT_B64}\ntimestamp 0\nother ext\n— anything\n"),
        format!("origin with spaces\n1\n{ROOT_B64}\nx\n"),
    ] {
        let cp = Checkpoint::parse(&text).unwrap();
        assert_eq!(cp.to_text(), text);
        assert_eq!(cp.root, EMPTY_ROOT);
    }
}

#[test]
fn rejection_table() {
    let r = ROOT_B64;
    let short_root = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==";
    let long_root = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==";
    let cases: Vec<(String, CheckpointError)> = vec![
        (format!("o\n1\n{r}"), CheckpointError::MissingNewline),
        ("o\n1\n".into(), CheckpointError::TooFewLines { found: 2 }),
        ("o\n".into(), CheckpointError::TooFewLines { found: 1 }),
        (format!("\n1\n{r}\n"), CheckpointError::EmptyOrigin),
        (
            format!("o\n01\n{r}\n"),
            CheckpointError::BadSize("01".into()),
        ),
        (
            format!("o\n00\n{r}\n"),
            CheckpointError::BadSize("00".into()),
        ),
        (
            format!("o\n+1\n{r}\n"),
            CheckpointError::BadSize("+1".into()),
        ),
        (
            format!("o\n-1\n{r}\n"),
            CheckpointError::BadSize("-1".into()),
        ),
        (
            format!("o\n 1\n{r}\n"),
            CheckpointError::BadSize(" 1".into()),
        ),
        (format!("o\n\n{r}\n"), CheckpointError::BadSize("".into())),
        (
            format!("o\n18446744073709551616\n{r}\n"),
            CheckpointError::BadSize("18446744073709551616".into()),
        ),
        (
            format!("o\n1\n{}\n", &r[..43]),
            CheckpointError::BadRoot(r[..43].into()),
        ),
        (
            format!("o\n1\n{short_root}\n"),
            CheckpointError::BadRoot(short_root.into()),
        ),
        (
            format!("o\n1\n{long_root}\n"),
            CheckpointError::BadRoot(long_root.into()),
        ),
        (
            "o\n1\n!!!!\n".into(),
            CheckpointError::BadRoot("!!!!".into()),
        ),
        // Non-canonical base64: last char with non-zero trailing bits.
        (
            "o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=\n".into(),
            CheckpointError::BadRoot("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=".into()),
        ),
        (
            format!("o\n1\n{r}\n\n"),
            CheckpointError::EmptyExtensionLine { line: 4 },
        ),
        (
            format!("o\n1\n{r}\nx\n\ny\n"),
            CheckpointError::EmptyExtensionLine { line: 5 },
        ),
        (
            format!("o\x01\n1\n{r}\n"),
            CheckpointError::ControlCharacter { line: 1 },
        ),
        (
            format!("o\n1\n{r}\ntimestamp 01\n"),
            CheckpointError::BadTimestamp {
                line: 4,
                reason: "value must be decimal milliseconds without leading zeros",
            },
        ),
        (
            format!("o\n1\n{r}\ntimestamp\n"),
            CheckpointError::BadTimestamp {
                line: 4,
                reason: "missing value",
            },
        ),
        (
            format!("o\n1\n{r}\nx\ntimestamp 5\n"),
            CheckpointError::BadTimestamp {
                line: 5,
                reason: "must be the first extension line and appear once",
            },
        ),
        (
            format!("o\n1\n{r}\ntimestamp 5\ntimestamp 6\n"),
            CheckpointError::BadTimestamp {
                line: 5,
                reason: "must be the first extension line and appear once",
            },
        ),
    ];
    for (text, want) in cases {
        assert_eq!(Checkpoint::parse(&text), Err(want), "input {text:?}");
    }
}

#[test]
fn timestamp_line() {
    let cp = Checkpoint::new("example.com/provlog", 3, EMPTY_ROOT);
    assert_eq!(cp.timestamp_ms(), None);
    let cp = cp.with_timestamp(1_700_000_000_123);
    assert_eq!(cp.timestamp_ms(), Some(1_700_000_000_123));
    assert_eq!(cp.extensions, ["timestamp 1700000000123"]);
    // Replacing keeps a single line, first.
    let mut cp = cp;
    cp.extensions.push("other".into());
    let cp = cp.with_timestamp(5);
    assert_eq!(cp.extensions, ["timestamp 5", "other"]);
    assert_eq!(
        cp.to_text(),
        format!("example.com/provlog\n3\n{ROOT_B64}\ntimestamp 5\nother\n")
    );
    // A line that merely starts with the word is not a timestamp.
    let cp = Checkpoint::parse(&format!("o\n1\n{ROOT_B64}\ntimestamps 5\n")).unwrap();
    assert_eq!(cp.timestamp_ms(), None);
}

#[test]
fn sign_and_verify_checkpoint() {
    let s = signer();
    let cp = Checkpoint::new("example.com/provlog", 7, [9; 32]).with_timestamp(1234);
    let bytes = sign_checkpoint(&cp, &s).unwrap();
    let signed = verify_checkpoint(&bytes, &s.verifier_key()).unwrap();
    assert_eq!(signed.checkpoint, cp);
    assert_eq!(signed.note.text, cp.to_text());
    assert_eq!(signed.log_signature.key, s.verifier_key());

    // Wrong log key: nothing known signed.
    let other = NoteSigner::from_seed("example.com/provlog", SIG_ED25519, [6; 32]).unwrap();
    assert_eq!(
        verify_checkpoint(&bytes, &other.verifier_key()),
        Err(CheckpointError::Note(NoteError::NoKnownSignature))
    );
    // Tampered size.
    let tampered = String::from_utf8(bytes.clone())
        .unwrap()
        .replacen("\n7\n", "\n8\n", 1);
    assert!(matches!(
        verify_checkpoint(tampered.as_bytes(), &s.verifier_key()),
        Err(CheckpointError::Note(NoteError::InvalidSignature { .. }))
    ));
}

#[test]
fn origin_must_match_log_key_name() {
    let s = signer();
    let cp = Checkpoint::new("example.com/other", 1, EMPTY_ROOT);
    assert!(matches!(
        sign_checkpoint(&cp, &s),
        Err(CheckpointError::OriginMismatch { .. })
    ));
    // A note signed by the log key over a checkpoint for another origin.
    let bytes = Note::sign_text(&cp.to_text(), &[&s], 0).unwrap();
    assert_eq!(
        verify_checkpoint(&bytes, &s.verifier_key()),
        Err(CheckpointError::OriginMismatch {
            origin: "example.com/other".into(),
            key_name: "example.com/provlog".into()
        })
    );
}

#[test]
fn signed_but_malformed_body_is_rejected() {
    let s = signer();
    let bytes = Note::sign_text("example.com/provlog\n01\nAAAA\n", &[&s], 0).unwrap();
    assert_eq!(
        verify_checkpoint(&bytes, &s.verifier_key()),
        Err(CheckpointError::BadSize("01".into()))
    );
}

#[test]
fn non_canonical_fields_cannot_be_signed() {
    let s = signer();
    let mut cp = Checkpoint::new("example.com/provlog", 1, EMPTY_ROOT);
    cp.extensions.push("a\nb".into());
    assert!(matches!(
        sign_checkpoint(&cp, &s),
        Err(CheckpointError::NotCanonical(_))
    ));
    let mut cp = Checkpoint::new("example.com/provlog", 1, EMPTY_ROOT);
    cp.extensions.push(String::new());
    assert!(matches!(
        sign_checkpoint(&cp, &s),
        Err(CheckpointError::NotCanonical(_))
    ));
}

#[test]
fn log_keys_must_be_ed25519() {
    let w = NoteSigner::from_seed("example.com/provlog", SIG_COSIGNATURE_V1, [5; 32]).unwrap();
    let cp = Checkpoint::new("example.com/provlog", 1, EMPTY_ROOT);
    assert!(matches!(
        sign_checkpoint(&cp, &w),
        Err(CheckpointError::NotALogKey(_))
    ));
    let bytes = sign_checkpoint(&cp, &signer()).unwrap();
    assert!(matches!(
        verify_checkpoint(&bytes, &w.verifier_key()),
        Err(CheckpointError::NotALogKey(_))
    ));
}

#[test]
fn cosignatures_do_not_disturb_log_verification() {
    let s = signer();
    let w = NoteSigner::from_seed("witness.example/w", SIG_COSIGNATURE_V1, [8; 32]).unwrap();
    let cp = Checkpoint::new("example.com/provlog", 2, EMPTY_ROOT).with_timestamp(99);
    let bytes = Note::sign_text(&cp.to_text(), &[&s, &w], 1_700_000_000).unwrap();
    let signed = verify_checkpoint(&bytes, &s.verifier_key()).unwrap();
    assert_eq!(signed.note.signatures.len(), 2);
    assert_eq!(signed.checkpoint.timestamp_ms(), Some(99));
}
