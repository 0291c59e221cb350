//! Spec examples (C2SP signed-note, tlog-cosignature, Go's sumdb/note test
//! vectors, the Tessera test log) byte for byte, and interop with the
//! independent `signed_note` crate.
#![allow(clippy::unwrap_used)]

use provlog_core::checkpoint::{Checkpoint, verify_checkpoint};
use provlog_core::note::{
    Note, NoteError, NoteSigner, SIG_COSIGNATURE_V1, SIG_ED25519, VerifierKey, cosignature_message,
    key_id,
};

// --- C2SP signed-note, "Verifier keys" example -----------------------------

const C2SP_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const C2SP_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

#[test]
fn c2sp_vkey_example_verifies_note() {
    let key = VerifierKey::parse(C2SP_VKEY).unwrap();
    assert_eq!(key.name(), "example.com/foo");
    assert_eq!(key.key_id(), 0x530d903a);
    assert_eq!(key.key_type(), SIG_ED25519);
    assert_eq!(key.to_vkey(), C2SP_VKEY);
    assert_eq!(
        key_id("example.com/foo", SIG_ED25519, key.public_key().as_bytes()),
        0x530d903a
    );

    let note = Note::parse(C2SP_NOTE.as_bytes()).unwrap();
    assert_eq!(note.text, "This is an example message.\n");
    assert_eq!(note.signatures.len(), 1);
    assert_eq!(note.to_bytes(), C2SP_NOTE.as_bytes());
    let verified = note.verify(std::slice::from_ref(&key)).unwrap();
    assert_eq!(verified.len(), 1);
    assert_eq!(verified[0].key, key);
    assert_eq!(verified[0].timestamp, None);
}

// --- C2SP signed-note, opening example (key not published) -----------------

const QUASIMODO: &str = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u{e8} subito sera.\n\n\u{2014} quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";

#[test]
fn c2sp_quasimodo_example_parses_and_round_trips() {
    let note = Note::parse(QUASIMODO.as_bytes()).unwrap();
    // The text keeps its inner blank line: the split is at the LAST blank line.
    assert_eq!(
        note.text,
        "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u{e8} subito sera.\n"
    );
    assert_eq!(note.signatures.len(), 1);
    assert_eq!(note.signatures[0].name, "quasimodo.example/salvatore");
    assert_eq!(note.signatures[0].key_id, 0x367ba04b);
    assert_eq!(note.signatures[0].signature.len(), 64);
    assert_eq!(note.to_bytes(), QUASIMODO.as_bytes());
    // Without the signer's key, nothing verifies.
    let other = VerifierKey::parse(C2SP_VKEY).unwrap();
    assert_eq!(note.verify(&[other]), Err(NoteError::NoKnownSignature));
}

// --- C2SP tlog-cosignature example ------------------------------------------

const COSIGNED: &str = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";

#[test]
fn c2sp_cosignature_example_parses_and_builds_signed_message() {
    let note = Note::parse(COSIGNED.as_bytes()).unwrap();
    assert_eq!(note.to_bytes(), COSIGNED.as_bytes());
    assert_eq!(note.signatures.len(), 2);
    let cp = Checkpoint::parse(&note.text).unwrap();
    assert_eq!(cp.origin, "example.com/behind-the-sofa");
    assert_eq!(cp.size, 20852163);
    assert!(cp.extensions.is_empty());
    assert_eq!(cp.to_text(), note.text);

    let log_sig = &note.signatures[0];
    assert_eq!(log_sig.signature.len(), 64);
    assert_eq!(log_sig.cosignature_timestamp(), None);
    let wit = &note.signatures[1];
    assert_eq!(wit.name, "witness.example.com/w1");
    assert_eq!(wit.signature.len(), 72);
    // The spec's example signed message uses time 1679315147, which is the
    // timestamp carried in the example cosignature.
    assert_eq!(wit.cosignature_timestamp(), Some(1679315147));
    let expected = "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    assert_eq!(
        cosignature_message(&note.text, 1679315147),
        expected.as_bytes()
    );
}

// --- Go sumdb/note test vectors (golang.org/x/mod/sumdb/note) --------------

const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

#[test]
fn go_vector_skey_vkey_and_signature_are_byte_exact() {
    let signer = NoteSigner::parse_skey(PETER_SKEY).unwrap();
    assert_eq!(signer.name(), "PeterNeumann");
    assert_eq!(signer.key_id(), 0xc74f20a3);
    assert_eq!(signer.to_skey(), PETER_SKEY);
    assert_eq!(signer.verifier_key().to_vkey(), PETER_VKEY);
    assert_eq!(
        signer.verifier_key(),
        VerifierKey::parse(PETER_VKEY).unwrap()
    );

    // Ed25519 is deterministic, so our signature must equal Go's.
    let note = Note::sign_text(GO_TEXT, &[&signer], 0).unwrap();
    let want = format!("{GO_TEXT}\n{PETER_SIG}");
    assert_eq!(String::from_utf8(note).unwrap(), want);
}

#[test]
fn go_vector_two_signers_verify_independently() {
    let peter = VerifierKey::parse(PETER_VKEY).unwrap();
    let enoch = VerifierKey::parse(ENOCH_VKEY).unwrap();
    let note = Note::parse(format!("{GO_TEXT}\n{PETER_SIG}{ENOCH_SIG}").as_bytes()).unwrap();

    let v = note.verify(std::slice::from_ref(&peter)).unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].key, peter);
    let v = note.verify(std::slice::from_ref(&enoch)).unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].key, enoch);
    let v = note.verify(&[enoch.clone(), peter.clone()]).unwrap();
    // Reported in note order.
    assert_eq!(
        v.iter().map(|s| s.key.name()).collect::<Vec<_>>(),
        ["PeterNeumann", "EnochRoot"]
    );
}

/// Like Go's TestNewVerifier/TestNewSigner: every proper substring and every
/// single-byte increment of a valid key string must be rejected.
#[test]
fn go_vector_mangled_keys_are_rejected() {
    for (good, parse) in [
        (
            PETER_VKEY,
            (|s: &str| VerifierKey::parse(s).is_ok()) as fn(&str) -> bool,
        ),
        (PETER_SKEY, |s: &str| NoteSigner::parse_skey(s).is_ok()),
    ] {
        assert!(parse(good));
        let b = good.as_bytes();
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if (i, j) != (0, b.len()) {
                    let sub = std::str::from_utf8(&b[i..j]).unwrap();
                    assert!(!parse(sub), "accepted substring {sub:?}");
                }
            }
        }
        let mut m = b.to_vec();
        for i in 0..m.len() {
            m[i] += 1;
            let s = String::from_utf8(m.clone()).unwrap();
            assert!(!parse(&s), "accepted mangled {s:?}");
            m[i] -= 1;
        }
    }
    // Wrong key length and unknown algorithm, each with a matching key id.
    assert!(matches!(
        VerifierKey::parse(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
        ),
        Err(NoteError::MalformedVerifierKey(_))
    ));
    assert_eq!(
        VerifierKey::parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        Err(NoteError::UnsupportedKeyType(0x65))
    );
}

// --- Tessera test log checkpoints ------------------------------------------

const TESSERA_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/vectors/tessera-testdata"
);
const TESSERA_VKEY: &str =
    "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx";

#[test]
fn tessera_checkpoints_verify_and_round_trip() {
    let key = VerifierKey::parse(TESSERA_VKEY).unwrap();
    for (file, size) in [("checkpoint", 15u64), ("checkpoint.7", 7)] {
        let bytes = std::fs::read(format!("{TESSERA_DIR}/{file}")).unwrap();
        let signed = verify_checkpoint(&bytes, &key).unwrap();
        assert_eq!(signed.checkpoint.origin, "example.com/log/testdata");
        assert_eq!(signed.checkpoint.size, size);
        assert!(signed.checkpoint.extensions.is_empty());
        assert_eq!(signed.checkpoint.timestamp_ms(), None);
        assert_eq!(signed.checkpoint.to_text(), signed.note.text);
        assert_eq!(signed.note.to_bytes(), bytes);
        assert_eq!(signed.log_signature.key, key);
    }
    let cp = Checkpoint::parse(
        &Note::parse(&std::fs::read(format!("{TESSERA_DIR}/checkpoint")).unwrap())
            .unwrap()
            .text,
    )
    .unwrap();
    assert_eq!(
        hex::encode(cp.root),
        "aca6c38a90af86e5f5199ee0e4105ef2c03a05b27b8daff59e4e36eefdfcddcb"
    );
}

// --- Interop with the independent `signed_note` crate ----------------------

fn oracle_verifier(vkey: &str) -> signed_note::VerifierList {
    let v = signed_note::StandardVerifier::new(vkey).unwrap();
    signed_note::VerifierList::new(vec![Box::new(v)])
}

#[test]
fn interop_our_notes_verify_with_signed_note() {
    let signer = NoteSigner::generate("example.com/interop").unwrap();
    let vkey = signer.verifier_key().to_vkey();
    let witness = NoteSigner::generate_cosigner("witness.example/w").unwrap();
    let text = "example.com/interop\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    // Log signature plus a cosignature the oracle does not know: it must
    // ignore the cosignature and accept the log signature.
    let bytes = Note::sign_text(text, &[&signer, &witness], 1_700_000_000).unwrap();
    let n = signed_note::Note::from_bytes(&bytes).unwrap();
    let (verified, unverified) = n.verify(&oracle_verifier(&vkey)).unwrap();
    assert_eq!(verified.len(), 1);
    assert_eq!(verified[0].name(), "example.com/interop");
    assert_eq!(verified[0].id(), signer.key_id());
    assert_eq!(unverified.len(), 1);
    assert_eq!(n.to_bytes(), bytes);
    assert_eq!(n.text(), text.as_bytes());

    // Tampered text: the oracle rejects it too.
    let mut bad = bytes.clone();
    bad[0] ^= 1;
    let n = signed_note::Note::from_bytes(&bad).unwrap();
    assert!(n.verify(&oracle_verifier(&vkey)).is_err());
}

#[test]
fn interop_signed_note_notes_verify_with_ours() {
    let ours = NoteSigner::from_seed("example.com/oracle", SIG_ED25519, [7u8; 32]).unwrap();
    // The oracle parses our private key format and derives the same key id.
    let theirs = signed_note::StandardSigner::new(&ours.to_skey()).unwrap();
    assert_eq!(signed_note::Signer::key_id(&theirs), ours.key_id());
    let text = "hello from the oracle\n";
    let mut n = signed_note::Note::new(text.as_bytes(), &[]).unwrap();
    n.add_sigs(&[&theirs]).unwrap();
    let bytes = n.to_bytes();

    let note = Note::parse(&bytes).unwrap();
    let v = note.verify(&[ours.verifier_key()]).unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(note.to_bytes(), bytes);
    // Deterministic Ed25519: both implementations produce the same note.
    assert_eq!(Note::sign_text(text, &[&ours], 0).unwrap(), bytes);
}

#[test]
fn interop_key_ids_and_vkeys_agree() {
    for (i, name) in [
        "a",
        "example.com/log",
        "sigsum.org/v1/tree/abc",
        "ünïcode/name",
    ]
    .into_iter()
    .enumerate()
    {
        let signer = NoteSigner::from_seed(name, SIG_ED25519, [i as u8 + 1; 32]).unwrap();
        let vk = signer.verifier_key();
        let mut typed = vec![SIG_ED25519];
        typed.extend_from_slice(vk.public_key().as_bytes());
        assert_eq!(signed_note::key_id(name, &typed), vk.key_id());
        let theirs = signed_note::StandardVerifier::new(&vk.to_vkey()).unwrap();
        assert_eq!(signed_note::Verifier::key_id(&theirs), vk.key_id());
        assert_eq!(signed_note::Verifier::name(&theirs), name);
        // And the oracle's skey parser accepts our skey for the same id.
        let s = signed_note::StandardSigner::new(&signer.to_skey()).unwrap();
        assert_eq!(signed_note::Signer::key_id(&s), vk.key_id());
    }
    // The oracle only knows Ed25519 keys; our cosigner key ids use type 0x04.
    let w = NoteSigner::from_seed("w", SIG_COSIGNATURE_V1, [9; 32]).unwrap();
    let mut typed = vec![SIG_COSIGNATURE_V1];
    typed.extend_from_slice(w.verifier_key().public_key().as_bytes());
    assert_eq!(signed_note::key_id("w", &typed), w.key_id());
}
