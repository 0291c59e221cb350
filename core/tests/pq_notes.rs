//! ML-DSA-44 note keys and subtree/v1 cosignatures (C2SP signed-note type
//! 0x06, tlog-cosignature), the log's timestamped checkpoint signatures
//! ([`LogSigner`], tlog-checkpoint 2026), and policies over them.
#![allow(clippy::unwrap_used)]

use provlog_core::checkpoint::{
    Checkpoint, CheckpointError, LogSigner, sign_checkpoint, verify_checkpoint,
    verify_checkpoint_keys,
};
use provlog_core::hash::EMPTY_ROOT;
use provlog_core::note::{
    MlDsa44NoteSigner, Note, NoteError, NoteSigner, SIG_COSIGNATURE_V1, SIG_ED25519, SIG_ML_DSA_44,
    VerifierKey, key_id, subtree_message,
};
use provlog_core::policy::{Policy, PolicyError, PolicyRuleError};

const ORIGIN: &str = "example.com/provlog";
const T: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z

fn ed() -> NoteSigner {
    NoteSigner::from_seed(ORIGIN, SIG_ED25519, [1; 32]).unwrap()
}
fn pq() -> MlDsa44NoteSigner {
    MlDsa44NoteSigner::from_seed(ORIGIN, [2; 32]).unwrap()
}
fn log_signer(with_pq: bool) -> LogSigner {
    LogSigner::new(ed(), with_pq.then(pq)).unwrap()
}
fn cp(size: u64) -> Checkpoint {
    let mut root = [0u8; 32];
    root[0] = size as u8;
    Checkpoint::new(ORIGIN, size, if size == 0 { EMPTY_ROOT } else { root })
}

#[test]
fn ml_dsa_vkey_and_skey_round_trip() {
    let s = pq();
    let vk = s.verifier_key();
    assert_eq!(vk.key_type(), SIG_ML_DSA_44);
    assert_eq!(vk.public_key_bytes().len(), 1312);
    assert_eq!(
        vk.key_id(),
        key_id(ORIGIN, SIG_ML_DSA_44, vk.public_key_bytes())
    );
    let text = vk.to_vkey();
    assert_eq!(VerifierKey::parse(&text).unwrap(), vk);
    assert_eq!(VerifierKey::parse(&text).unwrap().to_vkey(), text);
    let skey = s.to_skey();
    let back = MlDsa44NoteSigner::parse_skey(&skey).unwrap();
    assert_eq!(back.verifier_key(), vk);
    // An Ed25519 signer refuses a 0x06 skey, and vice versa.
    assert!(NoteSigner::parse_skey(&skey).is_err());
    assert!(MlDsa44NoteSigner::parse_skey(&ed().to_skey()).is_err());
    // Debug output never shows the seed.
    assert!(!format!("{s:?}").contains(&skey[skey.len() - 20..]));
}

#[test]
fn ml_dsa_vkey_rejections() {
    let vk = pq().verifier_key().to_vkey();
    let mut parts = vk.splitn(3, '+');
    let (name, id) = (parts.next().unwrap(), parts.next().unwrap());
    let prefix = format!("{name}+{id}");
    let b64 = parts.next().unwrap();
    use base64::Engine as _;
    let b = base64::engine::general_purpose::STANDARD;
    let raw = b.decode(b64).unwrap();
    // One byte short or long.
    for bad in [&raw[..raw.len() - 1], &[raw.as_slice(), &[0]].concat()[..]] {
        assert!(VerifierKey::parse(&format!("{prefix}+{}", b.encode(bad))).is_err());
    }
    // A 32-byte key with type 0x06, and a 1312-byte key with type 0x01.
    let mut short = vec![SIG_ML_DSA_44];
    short.extend_from_slice(&[9; 32]);
    assert!(VerifierKey::parse(&format!("{prefix}+{}", b.encode(&short))).is_err());
    let mut long = raw.clone();
    long[0] = SIG_ED25519;
    assert!(VerifierKey::parse(&format!("{prefix}+{}", b.encode(&long))).is_err());
    // Wrong key ID.
    let flipped = format!("{:08x}", u32::from_str_radix(id, 16).unwrap() ^ 1);
    let bad = format!("{name}+{flipped}+{b64}");
    assert!(matches!(
        VerifierKey::parse(&bad),
        Err(NoteError::KeyIdMismatch { .. })
    ));
    // A name too long for the subtree/v1 message.
    let long_name = "a".repeat(256);
    assert!(matches!(
        MlDsa44NoteSigner::from_seed(&long_name, [0; 32]),
        Err(NoteError::KeyNameTooLong(_))
    ));
    assert!(MlDsa44NoteSigner::from_seed(&"a".repeat(255), [0; 32]).is_ok());
}

/// The tlog-cosignature ML-DSA-44 signed message, byte for byte, for the
/// spec's example checkpoint and cosigner name (computed independently).
#[test]
fn subtree_message_layout() {
    use base64::Engine as _;
    let root: [u8; 32] = base64::engine::general_purpose::STANDARD
        .decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
        .unwrap()
        .try_into()
        .unwrap();
    let msg = subtree_message(
        "witness.example/w1",
        1679315147,
        "example.com/behind-the-sofa",
        0,
        20852163,
        &root,
    )
    .unwrap();
    assert_eq!(
        hex::encode(&msg),
        "737562747265652f76310a00127769746e6573732e6578616d706c652f773100000000641850cb\
         1b6578616d706c652e636f6d2f626568696e642d7468652d736f6661000000000000000000000000\
         013e2dc30ac5186a91863e8e1d90c808014aa89bf5da8e3ee1d9f07630f0378f68f1ab62"
    );
    assert!(subtree_message("", 0, "o", 0, 0, &root).is_none());
    assert!(subtree_message("n", 0, &"o".repeat(256), 0, 0, &root).is_none());
}

#[test]
fn witness_ml_dsa_cosignature_verifies_and_tampering_fails() {
    let w = MlDsa44NoteSigner::from_seed("witness.example/pq", [3; 32]).unwrap();
    let c = cp(5);
    let base = sign_checkpoint(&c, &ed()).unwrap();
    let mut note = Note::parse(&base).unwrap();
    note.signatures.push(w.cosign(&c, T).unwrap());
    let v = note.verify(&[w.verifier_key()]).unwrap();
    assert_eq!(v[0].timestamp, Some(T));
    assert_eq!(note.signatures[1].cosignature_timestamp(), Some(T));
    assert_eq!(note.signatures[1].signature.len(), 8 + 2420);
    // Any flipped byte (timestamp, signature) fails.
    for i in [0, 7, 8, 100, 2427] {
        let mut t = note.clone();
        t.signatures[1].signature[i] ^= 1;
        assert!(matches!(
            t.verify(&[w.verifier_key()]),
            Err(NoteError::InvalidSignature { .. })
        ));
    }
    // The signature is bound to the cosigner's name, the size and the root.
    let other = MlDsa44NoteSigner::from_seed("witness.example/pq2", [3; 32]).unwrap();
    let mut renamed = note.clone();
    renamed.signatures[1].name = other.name().to_owned();
    renamed.signatures[1].key_id = other.key_id();
    assert!(renamed.verify(&[other.verifier_key()]).is_err());
    let mut moved = note.clone();
    moved.text = cp(6).to_text();
    assert!(moved.verify(&[w.verifier_key()]).is_err());
    // Extension lines are not signed: adding one keeps the cosignature valid
    // (tlog-cosignature), which is why log time is not read from them
    // when only ML-DSA-44 signed.
    let mut ext = note.clone();
    ext.text = format!("{}hello\n", c.to_text());
    assert!(ext.verify(&[w.verifier_key()]).is_ok());
    // A text that is not a checkpoint cannot carry a valid 0x06 signature.
    let mut junk = note.clone();
    junk.text = "not a checkpoint\n".into();
    assert!(junk.verify(&[w.verifier_key()]).is_err());
    // Deterministic cosigning is reproducible; hedged is not.
    assert_eq!(
        w.cosign_deterministic(&c, T).unwrap(),
        w.cosign_deterministic(&c, T).unwrap()
    );
    assert_ne!(w.cosign(&c, T).unwrap(), w.cosign(&c, T).unwrap());
}

#[test]
fn log_signer_carries_the_time_in_its_cosignatures() {
    for with_pq in [false, true] {
        let s = log_signer(with_pq);
        let note = s.sign(&cp(7), T).unwrap();
        let parsed = Note::parse(&note).unwrap();
        assert_eq!(parsed.text, cp(7).to_text(), "no extension line");
        assert_eq!(parsed.signatures.len(), if with_pq { 3 } else { 2 });
        // Verifiers that know only the Ed25519 key still verify, and get the time.
        let v = verify_checkpoint(&note, &ed().verifier_key()).unwrap();
        assert_eq!(v.log_time_ms(), Some(T * 1000));
        assert!(!v.log_time.unwrap().legacy_extension_line);
        assert_eq!(v.checkpoint.timestamp_ms(), None);
        // The timestamp line is a cosignature/v1 by the same public key.
        let tk = ed().verifier_key().timestamp_key().unwrap();
        assert_eq!(tk.key_type(), SIG_COSIGNATURE_V1);
        assert_eq!(
            tk.public_key_bytes(),
            ed().verifier_key().public_key_bytes()
        );
        assert_ne!(tk.key_id(), ed().key_id());
        assert_eq!(parsed.verify(&[tk]).unwrap()[0].timestamp, Some(T));
        if with_pq {
            let keys = s.verifier_keys();
            let both = verify_checkpoint_keys(&note, &keys).unwrap();
            assert_eq!(both.log_time_ms(), Some(T * 1000));
            let pq_only = verify_checkpoint(&note, &pq().verifier_key()).unwrap();
            assert_eq!(pq_only.log_time_ms(), Some(T * 1000));
        } else {
            // Demanding the ML-DSA-44 key fails when the log did not use it.
            assert!(matches!(
                verify_checkpoint_keys(&note, &[ed().verifier_key(), pq().verifier_key()]),
                Err(CheckpointError::MissingLogSignature(_))
            ));
        }
        // The independent signed_note crate verifies the Ed25519 line and
        // ignores the others (it does not know them).
        let v = signed_note::StandardVerifier::new(&ed().verifier_key().to_vkey()).unwrap();
        let list = signed_note::VerifierList::new(vec![Box::new(v)]);
        let (ok, unknown) = signed_note::Note::from_bytes(&note)
            .unwrap()
            .verify(&list)
            .unwrap();
        assert_eq!(ok.len(), 1);
        assert_eq!(unknown.len(), if with_pq { 2 } else { 1 });
    }
}

#[test]
fn log_signer_tampering_and_disagreeing_times_fail() {
    let s = log_signer(true);
    let note = s.sign(&cp(9), T).unwrap();
    let parsed = Note::parse(&note).unwrap();
    let keys = s.verifier_keys();
    for line in 0..3 {
        let mut t = parsed.clone();
        let n = t.signatures[line].signature.len();
        t.signatures[line].signature[n - 1] ^= 1;
        assert!(
            verify_checkpoint_keys(&t.to_bytes(), &keys).is_err(),
            "line {line}"
        );
    }
    // A timestamp cosignature from another run with another time: both
    // verify, but they disagree.
    let later = Note::parse(&s.sign(&cp(9), T + 5).unwrap()).unwrap();
    let mut mixed = parsed.clone();
    mixed.signatures[2] = later.signatures[2].clone();
    assert!(matches!(
        verify_checkpoint_keys(&mixed.to_bytes(), &keys),
        Err(CheckpointError::TimestampMismatch(_))
    ));
    // A legacy line that disagrees with the cosignature time.
    let legacy = cp(9).with_timestamp((T + 60) * 1000);
    let mut n = Note::parse(&sign_checkpoint(&legacy, &ed()).unwrap()).unwrap();
    let ts = Note::parse(&s.sign(&cp(9), T).unwrap()).unwrap().signatures[1].clone();
    n.signatures
        .push(Note::sign(&n.text, &ts_signer(), T).unwrap());
    assert_eq!(ts.name, n.signatures[1].name);
    assert!(matches!(
        verify_checkpoint(&n.to_bytes(), &ed().verifier_key()),
        Err(CheckpointError::TimestampMismatch(_))
    ));
    // The signer refuses extension lines.
    assert!(matches!(
        s.sign(&legacy, T),
        Err(CheckpointError::ExtensionLinesNotSigned)
    ));
}

fn ts_signer() -> NoteSigner {
    NoteSigner::from_seed(ORIGIN, SIG_COSIGNATURE_V1, [1; 32]).unwrap()
}

#[test]
fn legacy_checkpoints_still_give_their_time() {
    let legacy = cp(3).with_timestamp(T * 1000 + 123);
    let note = sign_checkpoint(&legacy, &ed()).unwrap();
    let v = verify_checkpoint(&note, &ed().verifier_key()).unwrap();
    assert_eq!(v.log_time_ms(), Some(T * 1000 + 123));
    assert!(v.log_time.unwrap().legacy_extension_line);
    let none = sign_checkpoint(&cp(3), &ed()).unwrap();
    assert_eq!(
        verify_checkpoint(&none, &ed().verifier_key())
            .unwrap()
            .log_time,
        None
    );
}

#[test]
fn ml_dsa_only_verification_refuses_unsigned_extension_lines() {
    // A note whose Ed25519 line signs an extension line, with an ML-DSA
    // cosignature of the first three lines: fine for the Ed25519 key, not
    // for a verifier that only trusts the ML-DSA-44 key.
    let c = cp(4);
    let with_ext = Checkpoint {
        extensions: vec!["note from the log".into()],
        ..c.clone()
    };
    let mut n = Note::parse(&sign_checkpoint(&with_ext, &ed()).unwrap()).unwrap();
    n.signatures.push(pq().cosign(&c, T).unwrap());
    assert!(verify_checkpoint(&n.to_bytes(), &ed().verifier_key()).is_ok());
    assert!(matches!(
        verify_checkpoint(&n.to_bytes(), &pq().verifier_key()),
        Err(CheckpointError::UnsignedExtensions)
    ));
    let p = Policy::single_log(pq().verifier_key());
    assert!(matches!(
        p.verify_checkpoint(&n.to_bytes()),
        Err(PolicyError::UnsignedExtensions)
    ));
}

fn witness_ed(i: u8) -> NoteSigner {
    NoteSigner::from_seed(&format!("w{i}.example"), SIG_COSIGNATURE_V1, [40 + i; 32]).unwrap()
}
fn witness_pq(i: u8) -> MlDsa44NoteSigner {
    MlDsa44NoteSigner::from_seed(&format!("w{i}.example"), [60 + i; 32]).unwrap()
}

/// Policies demand Ed25519, ML-DSA-44 or both, for the log and for each
/// witness, using only tlog-policy syntax (spec/policy.md §6).
#[test]
fn policies_demand_either_or_both_algorithms() {
    let s = log_signer(true);
    let c = cp(11);
    let ed_only = sign_checkpoint(&c, &ed()).unwrap();
    let both = s.sign(&c, T).unwrap();
    let pq_only = {
        let mut n = Note::parse(&both).unwrap();
        n.signatures.remove(0);
        n.signatures.remove(0);
        n.to_bytes()
    };
    let ed_key = ed().verifier_key();
    let pq_key = pq().verifier_key();
    let either = format!("log {ed_key}\nlog {pq_key}\nquorum none\n");
    let pq_policy = format!("log {pq_key}\nquorum none\n");
    let both_policy = format!("log {ed_key}\nwitness log-pq {pq_key}\nquorum log-pq\n");
    let cases: [(&str, [bool; 3]); 3] = [
        (&either, [true, true, true]),
        (&pq_policy, [false, true, true]),
        (&both_policy, [false, false, true]),
    ];
    for (text, expect) in cases {
        let p = Policy::parse(text).unwrap();
        for (note, ok) in [&ed_only, &pq_only, &both].into_iter().zip(expect) {
            assert_eq!(p.verify_checkpoint(note).is_ok(), ok, "{text}");
        }
    }
    let v = Policy::parse(&both_policy)
        .unwrap()
        .verify_checkpoint(&both)
        .unwrap();
    assert_eq!(v.log_key, ed_key);
    assert_eq!(v.log_time.unwrap().unix_ms, T * 1000);

    // A witness with both key types: `all` demands both, `any` either.
    let mut note = Note::parse(&ed_only).unwrap();
    note.signatures.push(witness_pq(1).cosign(&c, T).unwrap());
    let pq_cosigned = note.to_bytes();
    note.signatures
        .push(Note::sign(&note.text, &witness_ed(1), T).unwrap());
    let both_cosigned = note.to_bytes();
    let base = format!(
        "log {ed_key}\nwitness W1-ed {}\nwitness W1-pq {}\n",
        witness_ed(1).verifier_key(),
        witness_pq(1).verifier_key()
    );
    let all = Policy::parse(&format!("{base}group W1 all W1-ed W1-pq\nquorum W1\n")).unwrap();
    let any = Policy::parse(&format!("{base}group W1 any W1-ed W1-pq\nquorum W1\n")).unwrap();
    let pq_w = Policy::parse(&format!("{base}quorum W1-pq\n")).unwrap();
    assert!(all.verify_checkpoint(&pq_cosigned).is_err());
    assert!(all.verify_checkpoint(&both_cosigned).is_ok());
    assert!(any.verify_checkpoint(&pq_cosigned).is_ok());
    assert!(pq_w.verify_checkpoint(&pq_cosigned).is_ok());
    assert!(pq_w.verify_checkpoint(&ed_only).is_err());
}

#[test]
fn a_log_key_cannot_also_be_a_witness() {
    let ts = ed().verifier_key().timestamp_key().unwrap();
    for text in [
        format!("log {}\nwitness me {ts}\nquorum me\n", ed().verifier_key()),
        format!("witness me {ts}\nlog {}\nquorum me\n", ed().verifier_key()),
        format!(
            "log {}\nwitness me {}\nquorum me\n",
            pq().verifier_key(),
            pq().verifier_key()
        ),
    ] {
        assert!(
            matches!(
                Policy::parse(&text),
                Err(PolicyError::Line {
                    error: PolicyRuleError::WitnessIsLog(_),
                    ..
                })
            ),
            "{text}"
        );
    }
    // Log and witness key types are checked.
    let bad = format!("log {ts}\nquorum none\n");
    assert!(matches!(
        Policy::parse(&bad),
        Err(PolicyError::Line {
            error: PolicyRuleError::WrongKeyType { role: "log", .. },
            ..
        })
    ));
}
