//! Trust policy parsing, formatting and quorum evaluation.
#![allow(clippy::unwrap_used)]

use provlog_core::checkpoint::{Checkpoint, sign_checkpoint};
use provlog_core::hash::EMPTY_ROOT;
use provlog_core::note::{Note, NoteError, NoteSigner, SIG_COSIGNATURE_V1, SIG_ED25519};
use provlog_core::policy::{Policy, PolicyError, PolicyRuleError, Quorum, Threshold};

const ORIGIN: &str = "example.com/provlog";
const TS: u64 = 1_700_000_000;

fn log() -> NoteSigner {
    NoteSigner::from_seed(ORIGIN, SIG_ED25519, [1; 32]).unwrap()
}

fn w(i: u8) -> NoteSigner {
    NoteSigner::from_seed(&format!("w{i}.example"), SIG_COSIGNATURE_V1, [50 + i; 32]).unwrap()
}

/// X1..X3 in a 2-of-3 group, Y1..Y3 in an any group, quorum = both.
fn nested_policy_text() -> String {
    let mut t = format!(
        "# example policy\nlog {} https://log.example/\n\n",
        log().verifier_key()
    );
    for i in 1..=3 {
        t += &format!("witness X{i} {}\n", w(i).verifier_key());
    }
    t += "group X-witnesses 2 X1 X2 X3\n";
    for i in 4..=6 {
        t += &format!(
            "  witness\tY{} {} https://w{i}.example/\n",
            i - 3,
            w(i).verifier_key()
        );
    }
    t += "group Y-witnesses any Y1 Y2 Y3\n";
    t += "group X-and-Y all X-witnesses Y-witnesses\n";
    t += "   # indented comment\nquorum X-and-Y\n";
    t
}

fn checkpoint_signed_by(witnesses: &[u8]) -> Vec<u8> {
    let cp = Checkpoint::new(ORIGIN, 10, EMPTY_ROOT).with_timestamp(TS * 1000);
    let l = log();
    let ws: Vec<NoteSigner> = witnesses.iter().map(|&i| w(i)).collect();
    let mut signers = vec![&l];
    signers.extend(ws.iter());
    Note::sign_text(&cp.to_text(), &signers, TS).unwrap()
}

#[test]
fn parse_structure_and_round_trip() {
    let p = Policy::parse(&nested_policy_text()).unwrap();
    assert_eq!(p.logs().len(), 1);
    assert_eq!(p.logs()[0].url.as_deref(), Some("https://log.example/"));
    assert_eq!(p.witnesses().len(), 6);
    assert_eq!(p.witnesses()[3].name, "Y1");
    assert_eq!(p.witnesses()[3].url.as_deref(), Some("https://w4.example/"));
    assert_eq!(p.groups().len(), 3);
    assert_eq!(p.groups()[0].threshold, Threshold::AtLeast(2));
    assert_eq!(p.groups()[1].threshold, Threshold::Any);
    assert_eq!(p.groups()[2].threshold, Threshold::All);
    assert_eq!(p.quorum(), &Quorum::Named("X-and-Y".into()));
    let text = p.to_text();
    assert_eq!(Policy::parse(&text).unwrap(), p);
    assert!(text.ends_with("quorum X-and-Y\n"));
}

#[test]
fn quorum_evaluation_nested() {
    let p = Policy::parse(&nested_policy_text()).unwrap();
    assert!(!p.quorum_met(&[]));
    assert!(!p.quorum_met(&["X1", "X2"])); // no Y
    assert!(!p.quorum_met(&["X1", "Y1", "Y2", "Y3"])); // only 1 of X
    assert!(p.quorum_met(&["X1", "X3", "Y2"]));
    assert!(p.quorum_met(&["X1", "X2", "X3", "Y1", "Y2", "Y3"]));
    assert!(!p.quorum_met(&["X-witnesses", "Y-witnesses"])); // groups are not witnesses
}

#[test]
fn verify_checkpoint_quorum_met_and_not_met() {
    let p = Policy::parse(&nested_policy_text()).unwrap();
    // X1, X2, Y3 (= w1, w2, w6): met.
    let ok = p
        .verify_checkpoint(&checkpoint_signed_by(&[1, 2, 6]))
        .unwrap();
    assert_eq!(ok.checkpoint.size, 10);
    assert_eq!(ok.log_key, log().verifier_key());
    let names: Vec<&str> = ok.cosignatures.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["X1", "X2", "Y3"]);
    assert!(ok.cosignatures.iter().all(|c| c.timestamp == TS));

    // X1, Y1 only: X group needs 2.
    assert_eq!(
        p.verify_checkpoint(&checkpoint_signed_by(&[1, 4])),
        Err(PolicyError::QuorumNotMet {
            quorum: "X-and-Y".into(),
            cosigned: vec!["X1".into(), "Y1".into()]
        })
    );
    // No witnesses at all.
    assert!(matches!(
        p.verify_checkpoint(&checkpoint_signed_by(&[])),
        Err(PolicyError::QuorumNotMet { .. })
    ));
}

#[test]
fn unknown_witness_signatures_are_ignored() {
    let p = Policy::parse(&nested_policy_text()).unwrap();
    // w9 is not in the policy: ignored, does not count, does not fail.
    let ok = p
        .verify_checkpoint(&checkpoint_signed_by(&[9, 1, 3, 5]))
        .unwrap();
    let names: Vec<&str> = ok.cosignatures.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["X1", "X3", "Y2"]);
    assert!(matches!(
        p.verify_checkpoint(&checkpoint_signed_by(&[9, 1])),
        Err(PolicyError::QuorumNotMet { .. })
    ));
}

#[test]
fn bad_cosignature_from_known_witness_rejects_note() {
    let p = Policy::parse(&nested_policy_text()).unwrap();
    let mut note = Note::parse(&checkpoint_signed_by(&[1, 2, 4])).unwrap();
    note.signatures[2].signature[20] ^= 1;
    assert!(matches!(
        p.verify_checkpoint(&note.to_bytes()),
        Err(PolicyError::Note(NoteError::InvalidSignature { .. }))
    ));
}

#[test]
fn log_signature_is_required() {
    let p = Policy::parse(&nested_policy_text()).unwrap();
    let cp = Checkpoint::new(ORIGIN, 10, EMPTY_ROOT);
    // Witnesses only, no log signature.
    let bytes = Note::sign_text(&cp.to_text(), &[&w(1), &w(2), &w(4)], TS).unwrap();
    assert_eq!(
        p.verify_checkpoint(&bytes),
        Err(PolicyError::NotSignedByLog)
    );
    // A log not in the policy.
    let other = NoteSigner::from_seed(ORIGIN, SIG_ED25519, [2; 32]).unwrap();
    let bytes = sign_checkpoint(&cp, &other).unwrap();
    assert_eq!(
        p.verify_checkpoint(&bytes),
        Err(PolicyError::NotSignedByLog)
    );
    // Signed by the policy log but for another origin.
    let cp = Checkpoint::new("example.com/elsewhere", 1, EMPTY_ROOT);
    let bytes = Note::sign_text(&cp.to_text(), &[&log()], 0).unwrap();
    assert!(matches!(
        p.verify_checkpoint(&bytes),
        Err(PolicyError::OriginMismatch { .. })
    ));
}

#[test]
fn single_log_policy_and_quorum_none() {
    let p = Policy::single_log(log().verifier_key());
    assert_eq!(
        p.to_text(),
        format!("log {}\nquorum none\n", log().verifier_key())
    );
    assert_eq!(Policy::parse(&p.to_text()).unwrap(), p);
    let ok = p.verify_checkpoint(&checkpoint_signed_by(&[1])).unwrap();
    assert!(ok.cosignatures.is_empty()); // w1 is not in this policy
    assert!(p.quorum_met(&[]));
}

#[test]
fn single_witness_quorum() {
    let text = format!(
        "log {}\nwitness only {}\nquorum only\n",
        log().verifier_key(),
        w(1).verifier_key()
    );
    let p = Policy::parse(&text).unwrap();
    assert!(p.verify_checkpoint(&checkpoint_signed_by(&[1])).is_ok());
    assert!(p.verify_checkpoint(&checkpoint_signed_by(&[2])).is_err());
}

fn line_err(text: &str) -> (usize, PolicyRuleError) {
    match Policy::parse(text) {
        Err(PolicyError::Line { line, error }) => (line, error),
        other => panic!("expected a line error for {text:?}, got {other:?}"),
    }
}

#[test]
fn parse_rejections_with_line_numbers() {
    let lk = log().verifier_key().to_string();
    let w1 = w(1).verifier_key().to_string();
    let w2 = w(2).verifier_key().to_string();
    assert_eq!(
        line_err(&format!(
            "log {lk}\nwitness a {w1}\nwitness a {w2}\nquorum a\n"
        )),
        (3, PolicyRuleError::DuplicateName("a".into()))
    );
    assert_eq!(
        line_err(&format!("witness a {w1}\ngroup a any a\nquorum a\n")),
        (2, PolicyRuleError::DuplicateName("a".into()))
    );
    assert_eq!(
        line_err(&format!("witness a {w1}\nwitness b {w1}\nquorum a\n")),
        (2, PolicyRuleError::DuplicateWitnessKey(w1.clone()))
    );
    assert_eq!(
        line_err(&format!("log {lk}\nlog {lk} https://x/\nquorum none\n")),
        (2, PolicyRuleError::DuplicateLog(lk.clone()))
    );
    // Same public key under another name is still a duplicate log.
    let renamed = NoteSigner::from_seed("other.name", SIG_ED25519, [1; 32]).unwrap();
    assert!(matches!(
        line_err(&format!(
            "log {lk}\nlog {}\nquorum none\n",
            renamed.verifier_key()
        )),
        (2, PolicyRuleError::DuplicateLog(_))
    ));
    assert_eq!(
        line_err(&format!("witness a {w1}\ngroup g any a b\nquorum g\n")),
        (2, PolicyRuleError::UndefinedName("b".into()))
    );
    // Forward references are not allowed.
    assert_eq!(
        line_err(&format!("group g any a\nwitness a {w1}\nquorum g\n")),
        (1, PolicyRuleError::UndefinedName("a".into()))
    );
    assert_eq!(
        line_err(&format!("quorum a\nwitness a {w1}\n")),
        (1, PolicyRuleError::UndefinedName("a".into()))
    );
    assert_eq!(
        line_err(&format!("witness a {w1}\ngroup g 2 a a\nquorum g\n")),
        (2, PolicyRuleError::DuplicateMember("a".into()))
    );
    assert_eq!(
        line_err(&format!("witness a {w1}\ngroup g 2 a\nquorum g\n")),
        (2, PolicyRuleError::ThresholdOutOfRange { k: 2, n: 1 })
    );
    assert_eq!(
        line_err(&format!("witness a {w1}\ngroup g 0 a\nquorum g\n")),
        (2, PolicyRuleError::ThresholdOutOfRange { k: 0, n: 1 })
    );
    assert_eq!(
        line_err(&format!("witness a {w1}\ngroup g 01 a\nquorum g\n")),
        (2, PolicyRuleError::BadThreshold("01".into()))
    );
    assert_eq!(
        line_err(&format!("witness a {w1}\ngroup g most a\nquorum g\n")),
        (2, PolicyRuleError::BadThreshold("most".into()))
    );
    assert!(matches!(
        line_err(&format!("witness a {w1}\ngroup g any\nquorum g\n")),
        (2, PolicyRuleError::WrongFieldCount(_))
    ));
    assert_eq!(
        line_err(&format!("witness none {w1}\nquorum none\n")),
        (1, PolicyRuleError::ReservedName)
    );
    assert_eq!(
        line_err(&format!("witness a {w1}\ngroup g any none\nquorum g\n")),
        (2, PolicyRuleError::ReservedName)
    );
    assert_eq!(
        line_err("quorum none\nquorum none\n"),
        (2, PolicyRuleError::DuplicateQuorum)
    );
    assert_eq!(
        line_err(&format!("\n\nwitnesses a {w1}\nquorum none\n")),
        (3, PolicyRuleError::UnknownKeyword("witnesses".into()))
    );
    assert!(matches!(
        line_err(&format!("log {lk} url extra\nquorum none\n")),
        (1, PolicyRuleError::WrongFieldCount(_))
    ));
    // Key types: logs are Ed25519, witnesses cosignature/v1.
    assert!(matches!(
        line_err(&format!("log {w1}\nquorum none\n")),
        (1, PolicyRuleError::WrongKeyType { role: "log", .. })
    ));
    assert!(matches!(
        line_err(&format!("witness a {lk}\nquorum none\n")),
        (
            1,
            PolicyRuleError::WrongKeyType {
                role: "witness",
                ..
            }
        )
    ));
    assert!(matches!(
        line_err("log not-a-key\nquorum none\n"),
        (1, PolicyRuleError::BadKey(_))
    ));
    assert_eq!(
        line_err("quorum none\r\n"),
        (1, PolicyRuleError::ControlCharacter(b'\r'))
    );
    assert_eq!(
        Policy::parse(&format!("log {lk}\n")),
        Err(PolicyError::MissingQuorum)
    );
    assert_eq!(Policy::parse(""), Err(PolicyError::MissingQuorum));
}

#[test]
fn groups_nest_and_share_members() {
    let mut t = String::new();
    for i in 1..=4 {
        t += &format!("witness w{i} {}\n", w(i).verifier_key());
    }
    // A diamond: w2 is reachable through two groups; each group counts it once.
    t += "group a any w1 w2\ngroup b any w2 w3\ngroup top 2 a b w4\nquorum top\n";
    let p = Policy::parse(&t).unwrap();
    assert!(p.quorum_met(&["w2"])); // a and b both satisfied
    assert!(!p.quorum_met(&["w1"])); // only a
    assert!(p.quorum_met(&["w1", "w4"]));
    assert!(p.quorum_met(&["w3", "w4"]));
    assert!(!p.quorum_met(&["w4"]));
}

#[test]
fn builder_api_validates() {
    let mut p = Policy::new();
    p.add_log(log().verifier_key(), None).unwrap();
    p.add_witness("a", w(1).verifier_key(), Some("https://a/".into()))
        .unwrap();
    assert!(matches!(
        p.add_witness("has space", w(2).verifier_key(), None),
        Err(PolicyRuleError::InvalidWord(_))
    ));
    assert!(matches!(
        p.add_witness("b", w(2).verifier_key(), Some("bad url".into())),
        Err(PolicyRuleError::InvalidWord(_))
    ));
    p.add_group("g", Threshold::All, vec!["a".into()]).unwrap();
    assert_eq!(
        p.add_group("h", Threshold::AtLeast(2), vec!["a".into()]),
        Err(PolicyRuleError::ThresholdOutOfRange { k: 2, n: 1 })
    );
    assert_eq!(
        p.set_quorum(Quorum::Named("zzz".into())),
        Err(PolicyRuleError::UndefinedName("zzz".into()))
    );
    p.set_quorum(Quorum::Named("g".into())).unwrap();
    assert_eq!(Policy::parse(&p.to_text()).unwrap(), p);
}

#[test]
fn oversized_policy_rejected() {
    let big = "#".repeat(provlog_core::policy::MAX_POLICY_SIZE + 1);
    assert!(matches!(
        Policy::parse(&big),
        Err(PolicyError::TooLarge { .. })
    ));
}
