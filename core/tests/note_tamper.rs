//! Signed-note rejection and tamper tests.
#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use provlog_core::note::{
    MAX_NOTE_SIZE, MAX_SIGNATURES, Note, NoteError, NoteSignature, NoteSigner, SIG_COSIGNATURE_V1,
    SIG_ED25519, VerifierKey,
};

const TEXT: &str = "example.com/log\n42\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";

fn log_signer() -> NoteSigner {
    NoteSigner::from_seed("example.com/log", SIG_ED25519, [1; 32]).unwrap()
}

fn witness(i: u8) -> NoteSigner {
    NoteSigner::from_seed(
        &format!("witness.example/{i}"),
        SIG_COSIGNATURE_V1,
        [100 + i; 32],
    )
    .unwrap()
}

fn signed(signers: &[&NoteSigner]) -> Vec<u8> {
    Note::sign_text(TEXT, signers, 1_700_000_000).unwrap()
}

#[test]
fn valid_note_verifies_and_round_trips() {
    let s = log_signer();
    let bytes = signed(&[&s]);
    let note = Note::parse(&bytes).unwrap();
    assert_eq!(note.text, TEXT);
    assert_eq!(note.to_bytes(), bytes);
    assert_eq!(
        note.verify(&[s.verifier_key()]).unwrap()[0].key,
        s.verifier_key()
    );
}

#[test]
fn flipped_bit_in_text_is_invalid_signature() {
    let s = log_signer();
    let mut bytes = signed(&[&s]);
    bytes[5] ^= 0x01; // inside the origin, stays printable ASCII
    let note = Note::parse(&bytes).unwrap();
    assert_eq!(
        note.verify(&[s.verifier_key()]),
        Err(NoteError::InvalidSignature {
            name: "example.com/log".into(),
            key_id: s.key_id()
        })
    );
}

#[test]
fn flipped_bit_in_signature_is_invalid_signature() {
    let s = log_signer();
    let mut note = Note::parse(&signed(&[&s])).unwrap();
    note.signatures[0].signature[10] ^= 0x80;
    let reparsed = Note::parse(&note.to_bytes()).unwrap();
    assert!(matches!(
        reparsed.verify(&[s.verifier_key()]),
        Err(NoteError::InvalidSignature { .. })
    ));
    // A truncated signature from a known key is also invalid, not ignored.
    let mut note = Note::parse(&signed(&[&s])).unwrap();
    note.signatures[0].signature.truncate(63);
    assert!(matches!(
        note.verify(&[s.verifier_key()]),
        Err(NoteError::InvalidSignature { .. })
    ));
}

#[test]
fn wrong_key_same_name_and_unknown_keys_are_ignored() {
    let s = log_signer();
    let bytes = signed(&[&s]);
    let note = Note::parse(&bytes).unwrap();
    // Same name, different key => different key id => unknown => ignored.
    let other = NoteSigner::from_seed("example.com/log", SIG_ED25519, [2; 32]).unwrap();
    assert_eq!(
        note.verify(&[other.verifier_key()]),
        Err(NoteError::NoKnownSignature)
    );
    // Known key plus an unrelated one: the unrelated one changes nothing.
    let v = note
        .verify(&[other.verifier_key(), s.verifier_key()])
        .unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].key, s.verifier_key());
}

#[test]
fn wrong_key_id_in_signature_line_is_ignored() {
    let s = log_signer();
    let mut note = Note::parse(&signed(&[&s])).unwrap();
    note.signatures[0].key_id ^= 1;
    let note = Note::parse(&note.to_bytes()).unwrap();
    assert_eq!(
        note.verify(&[s.verifier_key()]),
        Err(NoteError::NoKnownSignature)
    );
}

#[test]
fn colliding_name_and_id_with_other_key_is_error() {
    // A signature line carrying a known name+id but made by another key.
    let s = log_signer();
    let impostor = NoteSigner::from_seed("example.com/log", SIG_ED25519, [3; 32]).unwrap();
    let mut sig = Note::sign(TEXT, &impostor, 0).unwrap();
    sig.key_id = s.key_id();
    let note = Note {
        text: TEXT.into(),
        signatures: vec![sig],
    };
    assert!(matches!(
        note.verify(&[s.verifier_key()]),
        Err(NoteError::InvalidSignature { .. })
    ));
}

#[test]
fn cosignature_verifies_with_timestamp_and_rejects_tampered_time() {
    let w = witness(1);
    let log = log_signer();
    let bytes = signed(&[&log, &w]);
    let note = Note::parse(&bytes).unwrap();
    let v = note.verify(&[w.verifier_key()]).unwrap();
    assert_eq!(v[0].timestamp, Some(1_700_000_000));
    assert_eq!(note.signatures[1].signature.len(), 72);
    assert_eq!(
        &note.signatures[1].signature[..8],
        &1_700_000_000u64.to_be_bytes()
    );

    // Changing the timestamp breaks the signature (it is in the signed message).
    let mut t = note.clone();
    t.signatures[1].signature[7] ^= 1;
    assert!(matches!(
        t.verify(&[w.verifier_key()]),
        Err(NoteError::InvalidSignature { .. })
    ));
    // A cosignature is not a plain Ed25519 signature over the text.
    let plain = ed25519_dalek::Verifier::verify(
        w.verifier_key().ed25519_public_key().unwrap(),
        TEXT.as_bytes(),
        &ed25519_dalek::Signature::from_bytes(
            &note.signatures[1].signature[8..].try_into().unwrap(),
        ),
    );
    assert!(plain.is_err());
    // Timestamps above 2^63-1 cannot be signed.
    assert_eq!(
        Note::sign(TEXT, &w, 1 << 63),
        Err(NoteError::TimestampOutOfRange(1 << 63))
    );
}

#[test]
fn sixteen_and_more_signatures_verify() {
    let log = log_signer();
    let ws: Vec<NoteSigner> = (0..20).map(witness).collect();
    let mut all: Vec<&NoteSigner> = vec![&log];
    all.extend(ws.iter());
    let bytes = signed(&all);
    let note = Note::parse(&bytes).unwrap();
    assert_eq!(note.signatures.len(), 21);
    let keys: Vec<VerifierKey> = all.iter().map(|s| s.verifier_key()).collect();
    assert_eq!(note.verify(&keys).unwrap().len(), 21);
}

#[test]
fn too_many_signatures_rejected() {
    let log = log_signer();
    let one = Note::sign(TEXT, &log, 0).unwrap();
    let note = |n: usize| Note {
        text: TEXT.into(),
        signatures: vec![one.clone(); n],
    };
    assert!(Note::parse(&note(MAX_SIGNATURES).to_bytes()).is_ok());
    assert_eq!(
        Note::parse(&note(MAX_SIGNATURES + 1).to_bytes()),
        Err(NoteError::TooManySignatures {
            max: MAX_SIGNATURES
        })
    );
    // Duplicates of one valid signature verify and are reported once.
    let v = note(MAX_SIGNATURES).verify(&[log.verifier_key()]).unwrap();
    assert_eq!(v.len(), 1);
}

#[test]
fn huge_input_is_an_error_not_a_panic() {
    let mut big = vec![b'a'; MAX_NOTE_SIZE];
    big.extend_from_slice(b"\n\n\xe2\x80\x94 a AAAAAAA=\n");
    assert!(matches!(Note::parse(&big), Err(NoteError::TooLarge { .. })));
    let big_text = "a".repeat(MAX_NOTE_SIZE) + "\n";
    assert!(matches!(
        Note::sign(&big_text, &log_signer(), 0),
        Err(NoteError::TooLarge { .. })
    ));
}

#[test]
fn malformed_notes_are_rejected() {
    let s = log_signer();
    let good = String::from_utf8(signed(&[&s])).unwrap();
    let sig_line = good.rsplit_once("\n\n").unwrap().1.to_owned();
    let b64 = sig_line.rsplit_once(' ').unwrap().1.trim_end().to_owned();
    let cases: Vec<(String, &str)> = vec![
        // Missing final newline.
        (good.trim_end_matches('\n').to_owned(), "missing newline"),
        // No blank line.
        (format!("{}{}", TEXT, sig_line), "no blank line"),
        // No signatures at all.
        (format!("{TEXT}\n"), "empty signature block"),
        // Hyphen instead of em dash.
        (format!("{TEXT}\n- example.com/log {b64}\n"), "hyphen"),
        // Missing space after em dash.
        (
            format!("{TEXT}\n\u{2014}example.com/log {b64}\n"),
            "no space",
        ),
        // Bad base64.
        (
            format!("{TEXT}\n\u{2014} example.com/log {}!\n", &b64[1..]),
            "bad base64",
        ),
        // Non-canonical base64 (missing padding).
        (
            format!(
                "{TEXT}\n\u{2014} example.com/log {}\n",
                b64.trim_end_matches('=')
            ),
            "no padding",
        ),
        // Empty signature.
        (format!("{TEXT}\n\u{2014} example.com/log \n"), "empty sig"),
        // Signature of 4 bytes (id only).
        (
            format!(
                "{TEXT}\n\u{2014} example.com/log {}\n",
                B64.encode([1, 2, 3, 4])
            ),
            "short sig",
        ),
        // Key name with '+'.
        (
            format!("{TEXT}\n\u{2014} example.com+log {b64}\n"),
            "plus in name",
        ),
        // Extra field.
        (
            format!("{TEXT}\n\u{2014} example.com/log {b64} extra\n"),
            "extra field",
        ),
        // Control character.
        (good.replacen("42", "4\t2", 1), "tab"),
        (good.replacen("42", "4\r2", 1), "cr"),
    ];
    for (input, what) in cases {
        assert!(Note::parse(input.as_bytes()).is_err(), "accepted: {what}");
    }
    // A blank line between two signature lines: the LAST blank line is the
    // split, so the first signature line becomes part of the text.
    let two = format!("{TEXT}\n{sig_line}\n{sig_line}");
    let n = Note::parse(two.as_bytes()).unwrap();
    assert_eq!(n.text, format!("{TEXT}\n{sig_line}"));
    assert_eq!(n.signatures.len(), 1);
    assert_eq!(
        n.verify(&[s.verifier_key()]),
        Err(NoteError::InvalidSignature {
            name: "example.com/log".into(),
            key_id: s.key_id()
        })
    );
    // Invalid UTF-8 is an error with its offset.
    let mut bad = good.clone().into_bytes();
    bad[3] = 0xff;
    assert_eq!(Note::parse(&bad), Err(NoteError::InvalidUtf8 { offset: 3 }));
    assert!(matches!(
        Note::parse(&good.replacen("42", "4\u{1}2", 1).into_bytes()),
        Err(NoteError::ControlCharacter { byte: 1, .. })
    ));
}

#[test]
fn text_without_final_newline_cannot_be_signed() {
    assert_eq!(
        Note::sign("no newline", &log_signer(), 0),
        Err(NoteError::TextMissingNewline)
    );
    assert_eq!(Note::sign_text(TEXT, &[], 0), Err(NoteError::NoSigners));
}

#[test]
fn key_names_are_validated() {
    for bad in [
        "",
        "a b",
        "a+b",
        "a\u{a0}b",
        "a\tb",
        "a\u{2003}b",
        "a\u{1}b",
    ] {
        assert!(matches!(
            NoteSigner::from_seed(bad, SIG_ED25519, [0; 32]),
            Err(NoteError::InvalidKeyName(_))
        ));
    }
    assert_eq!(
        NoteSigner::from_seed("ok", 0x02, [0; 32]).err(),
        Some(NoteError::UnsupportedKeyType(0x02))
    );
}

#[test]
fn vkey_and_skey_reject_bad_forms() {
    let s = log_signer();
    let vkey = s.verifier_key().to_vkey();
    let (name, rest) = vkey.split_once('+').unwrap();
    let (id, b64) = rest.split_once('+').unwrap();
    // Uppercase hex id (Go's test key, whose id has letters).
    assert!(
        VerifierKey::parse("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
            .is_ok()
    );
    assert!(matches!(
        VerifierKey::parse("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        Err(NoteError::MalformedVerifierKey(_))
    ));
    // Wrong id.
    let wrong = format!("{name}+00000000+{b64}");
    assert!(matches!(
        VerifierKey::parse(&wrong),
        Err(NoteError::KeyIdMismatch { .. })
    ));
    // Short id.
    assert!(VerifierKey::parse(&format!("{name}+{}+{b64}", &id[1..])).is_err());
    // Missing parts.
    assert!(VerifierKey::parse(name).is_err());
    assert!(VerifierKey::parse(&format!("{name}+{id}")).is_err());
    // Small-order public key (identity point) with a correct id is rejected.
    let mut raw = vec![SIG_ED25519, 1];
    raw.extend_from_slice(&[0; 31]);
    let weak_id = provlog_core::note::key_id("weak", SIG_ED25519, &raw[1..]);
    let weak = format!("weak+{weak_id:08x}+{}", B64.encode(&raw));
    assert!(matches!(
        VerifierKey::parse(&weak),
        Err(NoteError::WeakPublicKey)
    ));
    // skey: vkey given as skey, and skey with wrong id.
    assert!(NoteSigner::parse_skey(&vkey).is_err());
    let skey = s.to_skey();
    let bad = skey.replacen(&format!("+{id}+"), "+00000000+", 1);
    assert!(matches!(
        NoteSigner::parse_skey(&bad),
        Err(NoteError::KeyIdMismatch { .. })
    ));
    // Cosigner skeys round-trip with their type.
    let w = witness(0);
    let back = NoteSigner::parse_skey(&w.to_skey()).unwrap();
    assert_eq!(back.key_type(), SIG_COSIGNATURE_V1);
    assert_eq!(back.verifier_key(), w.verifier_key());
    assert_eq!(
        w.verifier_key().to_string().parse::<VerifierKey>().unwrap(),
        w.verifier_key()
    );
    // Debug output never contains the private key.
    let dbg = format!("{s:?}");
    assert!(!dbg.contains(skey.rsplit_once('+').unwrap().1));
}

#[test]
fn generated_keys_work_and_differ() {
    let a = NoteSigner::generate("example.com/a").unwrap();
    let b = NoteSigner::generate("example.com/a").unwrap();
    assert_ne!(a.verifier_key(), b.verifier_key());
    let bytes = Note::sign_text(TEXT, &[&a], 0).unwrap();
    let note = Note::parse(&bytes).unwrap();
    assert!(note.verify(&[a.verifier_key()]).is_ok());
    assert_eq!(
        note.verify(&[b.verifier_key()]),
        Err(NoteError::NoKnownSignature)
    );
    let c = NoteSigner::generate_cosigner("w").unwrap();
    assert_eq!(c.key_type(), SIG_COSIGNATURE_V1);
}

#[test]
fn signature_line_format() {
    let sig = NoteSignature {
        name: "n".into(),
        key_id: 0x01020304,
        signature: vec![5],
    };
    assert_eq!(sig.to_line(), "\u{2014} n AQIDBAU=\n");
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Arbitrary bytes never panic; whatever parses re-serializes exactly.
        #[test]
        fn parse_never_panics_and_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            if let Ok(n) = Note::parse(&bytes) {
                prop_assert_eq!(n.to_bytes(), bytes);
            }
        }

        /// Any single-byte change to a signed note either fails to parse,
        /// fails to verify, or leaves text and signatures unchanged.
        #[test]
        fn single_byte_mutation_never_verifies_different_content(pos in 0usize..200, val in any::<u8>()) {
            let s = log_signer();
            let good = signed(&[&s]);
            let mut bad = good.clone();
            let i = pos % bad.len();
            bad[i] = val;
            if let Ok(n) = Note::parse(&bad)
                && n.verify(&[s.verifier_key()]).is_ok()
            {
                prop_assert_eq!(bad, good);
            }
        }
    }
}
