//! The published C2SP examples for tlog-proof@v1 and tlog-policy, checked
//! byte for byte against this crate's parsers and formatters.
//!
//! Source: C2SP/C2SP `tlog-proof.md` and `tlog-policy.md` on main (commit
//! 5ba5ee8, 2026-07-22). The tlog-proof example is reproduced exactly; the
//! tlog-policy example elides its keys (`<vkey>`), so real keys are put in
//! their place, line for line, and the semantics the text states are checked.
#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use provlog_core::checkpoint::Checkpoint;
use provlog_core::hash::EMPTY_ROOT;
use provlog_core::note::{MlDsa44NoteSigner, Note, NoteSigner, SIG_COSIGNATURE_V1, SIG_ED25519};
use provlog_core::policy::{Policy, PolicyError, Quorum, Threshold};
use provlog_core::receipt::Receipt;

/// c2sp.org/tlog-proof, "Format" example (the signatures are elided with
/// `[...]` in the spec, so this checkpoint is not a verifiable note; the
/// text form is still parsed and reproduced exactly).
const TLOG_PROOF_EXAMPLE: &str = "c2sp.org/tlog-proof@v1
extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ
index 73894
gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=
B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=
EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=
RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=
AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=

example.com/fancylog
109482
sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=

\u{2014} example.com/fancylog hI2DJw[...]1roloI=
\u{2014} witness1.example mJirIklj[...]qY9v2B/5bg==
\u{2014} witness2.example TnKKVHLX[...]xwYwrSjgow==
\u{2014} witness3.example S4X82uH5[...]3oEcROGLFQ==
";

#[test]
fn tlog_proof_example_parses_and_reformats_byte_for_byte() {
    let r = Receipt::from_tlog_proof(TLOG_PROOF_EXAMPLE).unwrap();
    assert_eq!(r.index, 73894);
    assert_eq!(r.proof.len(), 5);
    assert_eq!(
        B64.encode(r.proof[0]),
        "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ="
    );
    // The extra data is opaque bytes (here a file name then binary).
    assert!(r.entry.starts_with(b"age-v1.2.1-darwin-arm64.tar.gz"));
    assert_eq!(r.entry.len(), 39);
    let cp = std::str::from_utf8(&r.checkpoint).unwrap();
    assert!(cp.starts_with("example.com/fancylog\n109482\n"));
    assert!(cp.ends_with("3oEcROGLFQ==\n"));
    assert_eq!(r.to_tlog_proof(), TLOG_PROOF_EXAMPLE);
}

#[test]
fn tlog_proof_rejections() {
    let ok = TLOG_PROOF_EXAMPLE;
    for (what, bad) in [
        ("version", ok.replace("tlog-proof@v1", "tlog-proof@v2")),
        ("leading zero", ok.replace("index 73894", "index 073894")),
        ("no index", ok.replace("index 73894\n", "")),
        ("hash not 32 bytes", ok.replace("gSKyXoYZ", "gSKy")),
        ("no blank line", ok.replacen("\n\n", "\n", 1)),
        ("bad base64 extra", ok.replace("extra YWdl", "extra *Wdl")),
    ] {
        assert!(Receipt::from_tlog_proof(&bad).is_err(), "{what}");
    }
}

/// c2sp.org/tlog-policy, "Example policy": one log, X1..X3 in a 2-of-3
/// group, Y1..Y3 in an any group, quorum = both groups. Keys replace the
/// spec's `<vkey>` placeholders; everything else is the example's text.
fn policy_example(log: &str, w: &[String; 6]) -> String {
    format!(
        "log {log}

witness X1 {}
witness X2 {}
witness X3 {}
group X-witnesses 2 X1 X2 X3

witness Y1 {}
witness Y2 {}
witness Y3 {}
group Y-witnesses any Y1 Y2 Y3

group X-and-Y all X-witnesses Y-witnesses
quorum X-and-Y
",
        w[0], w[1], w[2], w[3], w[4], w[5]
    )
}

const ORIGIN: &str = "example.com/fancylog";

#[test]
fn tlog_policy_example_means_what_the_spec_says() {
    let log = NoteSigner::from_seed(ORIGIN, SIG_ED25519, [1; 32]).unwrap();
    // Three Ed25519 and three ML-DSA-44 witnesses: the format is the same.
    let ed: Vec<NoteSigner> = (0..3)
        .map(|i| {
            NoteSigner::from_seed(&format!("x{i}.example"), SIG_COSIGNATURE_V1, [10 + i; 32])
                .unwrap()
        })
        .collect();
    let pq: Vec<MlDsa44NoteSigner> = (0..3)
        .map(|i| MlDsa44NoteSigner::from_seed(&format!("y{i}.example"), [20 + i; 32]).unwrap())
        .collect();
    let w: [String; 6] = [
        ed[0].verifier_key().to_vkey(),
        ed[1].verifier_key().to_vkey(),
        ed[2].verifier_key().to_vkey(),
        pq[0].verifier_key().to_vkey(),
        pq[1].verifier_key().to_vkey(),
        pq[2].verifier_key().to_vkey(),
    ];
    let text = policy_example(&log.verifier_key().to_vkey(), &w);
    let p = Policy::parse(&text).unwrap();
    assert_eq!(p.logs().len(), 1);
    assert_eq!(p.witnesses().len(), 6);
    assert_eq!(p.groups()[0].threshold, Threshold::AtLeast(2));
    assert_eq!(p.groups()[1].threshold, Threshold::Any);
    assert_eq!(p.groups()[2].threshold, Threshold::All);
    assert_eq!(p.quorum(), &Quorum::Named("X-and-Y".into()));
    // "valid cosignatures from at least two of the X-witnesses, and from at
    // least one of the Y-witnesses".
    for (cosigned, ok) in [
        (&["X1", "X2", "Y3"][..], true),
        (&["X1", "X3", "Y1", "Y2"], true),
        (&["X1", "Y1", "Y2", "Y3"], false),
        (&["X1", "X2", "X3"], false),
    ] {
        assert_eq!(p.quorum_met(cosigned), ok, "{cosigned:?}");
    }
    // And on real notes.
    let c = Checkpoint::new(ORIGIN, 0, EMPTY_ROOT);
    let mut note = Note::parse(&Note::sign_text(&c.to_text(), &[&log], 0).unwrap()).unwrap();
    note.signatures
        .push(Note::sign(&note.text, &ed[0], 1000).unwrap());
    note.signatures.push(pq[2].cosign(&c, 1000).unwrap());
    assert!(matches!(
        p.verify_checkpoint(&note.to_bytes()),
        Err(PolicyError::QuorumNotMet { .. })
    ));
    note.signatures
        .push(Note::sign(&note.text, &ed[2], 1000).unwrap());
    let v = p.verify_checkpoint(&note.to_bytes()).unwrap();
    let names: Vec<&str> = v.cosignatures.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["X1", "Y3", "X3"]);
}

/// tlog-policy "Character set": only tab and newline among the control
/// characters; "Structure": leading/trailing white space and comment lines
/// preceded by white space are allowed.
#[test]
fn tlog_policy_syntax_rules() {
    let log = NoteSigner::from_seed(ORIGIN, SIG_ED25519, [1; 32]).unwrap();
    let vk = log.verifier_key();
    assert!(Policy::parse(&format!(" \tlog\t{vk}  \n  # c\n\t\nquorum none")).is_ok());
    for bad in ["\r", "\x0b", "\x7f", "\x00"] {
        assert!(
            Policy::parse(&format!("log {vk}{bad}\nquorum none\n")).is_err(),
            "{bad:?}"
        );
    }
    // Exactly one quorum line.
    assert!(Policy::parse(&format!("log {vk}\n")).is_err());
    assert!(Policy::parse(&format!("log {vk}\nquorum none\nquorum none\n")).is_err());
    // `none` is predefined and cannot be a member; groups need members.
    let w = NoteSigner::from_seed("w", SIG_COSIGNATURE_V1, [2; 32]).unwrap();
    let wk = w.verifier_key();
    assert!(Policy::parse(&format!("witness a {wk}\ngroup g any a none\nquorum g\n")).is_err());
    assert!(Policy::parse(&format!("witness a {wk}\ngroup g any\nquorum g\n")).is_err());
    assert!(Policy::parse(&format!("witness a {wk}\ngroup g 2 a\nquorum g\n")).is_err());
    // A member may be listed only once; names must be defined earlier.
    assert!(Policy::parse(&format!("witness a {wk}\ngroup g 1 a a\nquorum g\n")).is_err());
    assert!(Policy::parse(&format!("group g 1 a\nwitness a {wk}\nquorum g\n")).is_err());
    // Duplicate keys, even under other names, are not allowed.
    let renamed = NoteSigner::from_seed("w2", SIG_COSIGNATURE_V1, [2; 32]).unwrap();
    assert!(
        Policy::parse(&format!(
            "witness a {wk}\nwitness b {}\nquorum a\n",
            renamed.verifier_key()
        ))
        .is_err()
    );
}
