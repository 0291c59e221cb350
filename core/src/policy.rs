//! Trust policy in the C2SP tlog-policy format: which logs are trusted,
//! which witnesses exist, and the quorum of witness cosignatures a checkpoint
//! needs before a verifier relies on it.
//!
//! ```text
//! log <vkey> [<url>]
//! witness <name> <vkey> [<url>]
//! group <name> <all|any|k> <member>...
//! quorum <name|none>
//! ```
//!
//! Blank lines and lines whose first non-blank character is `#` are ignored.
//! Groups and the quorum may only name witnesses and groups defined on
//! earlier lines, so groups nest without cycles. See `spec/policy.md`.

use std::collections::HashMap;
use std::fmt::Write as _;

use thiserror::Error;

use crate::checkpoint::{Checkpoint, CheckpointError, LogTime, log_time, parse_canonical_u64};
use crate::note::{Note, NoteError, SIG_COSIGNATURE_V1, SIG_ED25519, SIG_ML_DSA_44, VerifierKey};

/// Largest policy text accepted by [`Policy::parse`], in bytes.
pub const MAX_POLICY_SIZE: usize = 1 << 20;
/// Largest number of logs, of witnesses and of groups (each) in a policy.
/// tlog-policy asks implementations to support at least 32 of each.
pub const MAX_POLICY_ITEMS: usize = 1024;

/// The predefined quorum name meaning "no cosignatures required".
const NONE: &str = "none";

/// What is wrong with one policy rule (one line of a policy file).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PolicyRuleError {
    /// A control character other than tab.
    #[error("control character 0x{0:02x} (only tab and newline are allowed)")]
    ControlCharacter(u8),
    /// The first word is not `log`, `witness`, `group` or `quorum`.
    #[error("unknown keyword {0:?} (expected log, witness, group or quorum)")]
    UnknownKeyword(String),
    /// Wrong number of words for the keyword.
    #[error("wrong number of fields, expected: {0}")]
    WrongFieldCount(&'static str),
    /// The vkey does not parse.
    #[error("bad vkey: {0}")]
    BadKey(NoteError),
    /// A log key that is not Ed25519 (0x01) or ML-DSA-44 (0x06), or a
    /// witness key that is not cosignature/v1 (0x04) or ML-DSA-44 (0x06).
    #[error("{role} key must have signature type {expected}, found 0x{found:02x}")]
    WrongKeyType {
        /// "log" or "witness".
        role: &'static str,
        /// The types allowed, e.g. "0x01 or 0x06".
        expected: &'static str,
        /// Type found.
        found: u8,
    },
    /// A witness key and a log key wrap the same public key: a log could
    /// then count as its own witness.
    #[error("witness key {0} uses the public key of a log in the policy")]
    WitnessIsLog(String),
    /// A second log with the same public key.
    #[error("duplicate log public key {0}")]
    DuplicateLog(String),
    /// A second witness with the same public key.
    #[error("duplicate witness public key {0}")]
    DuplicateWitnessKey(String),
    /// A witness or group name that is already defined.
    #[error("name {0:?} is already defined")]
    DuplicateName(String),
    /// A name or URL that is empty or contains white space or control characters.
    #[error(
        "{0:?} is not a valid policy word (empty, or contains white space or control characters)"
    )]
    InvalidWord(String),
    /// `none` cannot be defined or used as a group member.
    #[error("the name \"none\" is reserved")]
    ReservedName,
    /// A name that was not defined on an earlier line.
    #[error("name {0:?} is not defined on an earlier line")]
    UndefinedName(String),
    /// A group lists the same member twice.
    #[error("group member {0:?} is listed twice")]
    DuplicateMember(String),
    /// A group threshold is not `all`, `any` or a decimal number.
    #[error("group threshold {0:?} is not all, any or a decimal number without leading zeros")]
    BadThreshold(String),
    /// A numeric group threshold outside 1..=n.
    #[error("group threshold {k} is not between 1 and the member count {n}")]
    ThresholdOutOfRange {
        /// The threshold.
        k: u64,
        /// Number of members.
        n: usize,
    },
    /// A group without members.
    #[error("group has no members")]
    NoMembers,
    /// A second quorum line.
    #[error("a policy has exactly one quorum line, this is a second one")]
    DuplicateQuorum,
    /// More than [`MAX_POLICY_ITEMS`] logs, witnesses or groups.
    #[error("too many {0} (limit {MAX_POLICY_ITEMS})")]
    TooManyItems(&'static str),
}

/// Errors from parsing a policy or verifying a checkpoint under it.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PolicyError {
    /// The policy text is larger than [`MAX_POLICY_SIZE`].
    #[error("policy is {size} bytes, more than the limit of {max}")]
    TooLarge {
        /// Size of the input.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A line of the policy is invalid.
    #[error("policy line {line}: {error}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        error: PolicyRuleError,
    },
    /// The policy has no quorum line.
    #[error("policy has no quorum line (use \"quorum none\" to require no witnesses)")]
    MissingQuorum,
    /// The checkpoint note is malformed, or a signature by a known key is bad.
    #[error("checkpoint note: {0}")]
    Note(#[from] NoteError),
    /// The checkpoint body is malformed.
    #[error("{0}")]
    Checkpoint(#[from] CheckpointError),
    /// No log of the policy signed the checkpoint.
    #[error("checkpoint is not signed by any log in the policy")]
    NotSignedByLog,
    /// A policy log signed, but its key name is not the checkpoint origin.
    #[error("checkpoint origin {origin:?} does not match the name of the log key that signed it")]
    OriginMismatch {
        /// The checkpoint's origin line.
        origin: String,
    },
    /// Only ML-DSA-44 log signatures verified; they do not sign extension
    /// lines, and this checkpoint has some.
    #[error(
        "checkpoint has extension lines but only an ML-DSA-44 log signature, which does not sign them"
    )]
    UnsignedExtensions,
    /// Not enough witnesses cosigned.
    #[error("witness quorum {quorum:?} not met; valid cosignatures from: [{}]", cosigned.join(", "))]
    QuorumNotMet {
        /// The quorum name.
        quorum: String,
        /// Names of the witnesses whose cosignatures verified.
        cosigned: Vec<String>,
    },
}

/// A trusted log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyLog {
    /// The log's Ed25519 (0x01) or ML-DSA-44 (0x06) key; its name is the log's origin.
    pub key: VerifierKey,
    /// Optional URL (application specific: the log's base URL).
    pub url: Option<String>,
}

/// A known witness.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyWitness {
    /// The witness's name inside this policy.
    pub name: String,
    /// Its cosignature/v1 (0x04) or ML-DSA-44 subtree/v1 (0x06) key.
    pub key: VerifierKey,
    /// Optional URL (the witness's tlog-witness submission prefix).
    pub url: Option<String>,
}

/// How many members of a group must have witnessed a checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threshold {
    /// Every member.
    All,
    /// At least one member.
    Any,
    /// At least k members (1 <= k <= n).
    AtLeast(usize),
}

/// A named group of witnesses and/or other groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyGroup {
    /// The group's name.
    pub name: String,
    /// How many members must have witnessed.
    pub threshold: Threshold,
    /// Names of member witnesses or groups, each defined earlier.
    pub members: Vec<String>,
}

/// The quorum rule of a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Quorum {
    /// No cosignatures required (`quorum none`).
    None,
    /// The named witness or group must have witnessed the checkpoint.
    Named(String),
}

/// Where a defined name points, in definition order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Def {
    Witness(usize),
    Group(usize),
}

/// A trust policy: logs, witnesses, groups and the quorum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    logs: Vec<PolicyLog>,
    witnesses: Vec<PolicyWitness>,
    groups: Vec<PolicyGroup>,
    /// Witnesses and groups in definition order, so `to_text` keeps every
    /// reference after its definition.
    defs: Vec<Def>,
    names: HashMap<String, Def>,
    quorum: Quorum,
}

/// A witness cosignature that verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessCosignature {
    /// The witness's policy name.
    pub name: String,
    /// Its key.
    pub key: VerifierKey,
    /// The cosignature timestamp (POSIX seconds).
    pub timestamp: u64,
}

/// The result of verifying a checkpoint under a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyVerified {
    /// The whole signed note.
    pub note: Note,
    /// The checkpoint body.
    pub checkpoint: Checkpoint,
    /// The log key whose signature verified (an Ed25519 one if any did).
    pub log_key: VerifierKey,
    /// The policy witnesses whose cosignatures verified, in note order.
    pub cosignatures: Vec<WitnessCosignature>,
    /// The log's own signed time (`spec/checkpoint.md` §2), if present.
    pub log_time: Option<LogTime>,
}

const LOG_TYPES: &str = "0x01 (Ed25519) or 0x06 (ML-DSA-44)";
const WITNESS_TYPES: &str = "0x04 (cosignature/v1) or 0x06 (ML-DSA-44 subtree/v1)";

fn check_log_type(key: &VerifierKey) -> Result<(), PolicyRuleError> {
    match key.key_type() {
        SIG_ED25519 | SIG_ML_DSA_44 => Ok(()),
        found => Err(PolicyRuleError::WrongKeyType {
            role: "log",
            expected: LOG_TYPES,
            found,
        }),
    }
}

fn check_witness_type(key: &VerifierKey) -> Result<(), PolicyRuleError> {
    match key.key_type() {
        SIG_COSIGNATURE_V1 | SIG_ML_DSA_44 => Ok(()),
        found => Err(PolicyRuleError::WrongKeyType {
            role: "witness",
            expected: WITNESS_TYPES,
            found,
        }),
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self::new()
    }
}

impl Policy {
    /// An empty policy: no logs, no witnesses, quorum none.
    pub fn new() -> Self {
        Self {
            logs: Vec::new(),
            witnesses: Vec::new(),
            groups: Vec::new(),
            defs: Vec::new(),
            names: HashMap::new(),
            quorum: Quorum::None,
        }
    }

    /// A policy that trusts one log and requires no witnesses.
    pub fn single_log(log_key: VerifierKey) -> Self {
        let mut p = Self::new();
        p.logs.push(PolicyLog {
            key: log_key,
            url: None,
        });
        p
    }

    /// Adds a trusted log. Its key must be Ed25519 (0x01) or ML-DSA-44
    /// (0x06), its public key not already a log's or a witness's.
    pub fn add_log(
        &mut self,
        key: VerifierKey,
        url: Option<String>,
    ) -> Result<(), PolicyRuleError> {
        check_log_type(&key)?;
        if self
            .witnesses
            .iter()
            .any(|w| w.key.public_key_bytes() == key.public_key_bytes())
        {
            return Err(PolicyRuleError::WitnessIsLog(key.to_vkey()));
        }
        // Duplicates are by public key, whatever the name (tlog-policy).
        if self
            .logs
            .iter()
            .any(|l| l.key.public_key_bytes() == key.public_key_bytes())
        {
            return Err(PolicyRuleError::DuplicateLog(key.to_vkey()));
        }
        check_url(&url)?;
        if self.logs.len() >= MAX_POLICY_ITEMS {
            return Err(PolicyRuleError::TooManyItems("logs"));
        }
        self.logs.push(PolicyLog { key, url });
        Ok(())
    }

    fn check_new_name(&self, name: &str) -> Result<(), PolicyRuleError> {
        check_word(name)?;
        if name == NONE {
            return Err(PolicyRuleError::ReservedName);
        }
        if self.names.contains_key(name) {
            return Err(PolicyRuleError::DuplicateName(name.to_owned()));
        }
        Ok(())
    }

    /// Adds a witness. Its key must be cosignature/v1 (0x04) or ML-DSA-44
    /// subtree/v1 (0x06), its public key not already a witness's or a
    /// log's, and its name not already used.
    pub fn add_witness(
        &mut self,
        name: &str,
        key: VerifierKey,
        url: Option<String>,
    ) -> Result<(), PolicyRuleError> {
        self.check_new_name(name)?;
        check_witness_type(&key)?;
        if self
            .logs
            .iter()
            .any(|l| l.key.public_key_bytes() == key.public_key_bytes())
        {
            return Err(PolicyRuleError::WitnessIsLog(key.to_vkey()));
        }
        if self
            .witnesses
            .iter()
            .any(|w| w.key.public_key_bytes() == key.public_key_bytes())
        {
            return Err(PolicyRuleError::DuplicateWitnessKey(key.to_vkey()));
        }
        check_url(&url)?;
        if self.witnesses.len() >= MAX_POLICY_ITEMS {
            return Err(PolicyRuleError::TooManyItems("witnesses"));
        }
        let def = Def::Witness(self.witnesses.len());
        self.witnesses.push(PolicyWitness {
            name: name.to_owned(),
            key,
            url,
        });
        self.defs.push(def);
        self.names.insert(name.to_owned(), def);
        Ok(())
    }

    /// Adds a group of earlier-defined witnesses and groups.
    pub fn add_group(
        &mut self,
        name: &str,
        threshold: Threshold,
        members: Vec<String>,
    ) -> Result<(), PolicyRuleError> {
        self.check_new_name(name)?;
        if members.is_empty() {
            return Err(PolicyRuleError::NoMembers);
        }
        for (i, m) in members.iter().enumerate() {
            if m == NONE {
                return Err(PolicyRuleError::ReservedName);
            }
            if !self.names.contains_key(m) {
                return Err(PolicyRuleError::UndefinedName(m.clone()));
            }
            if members.iter().take(i).any(|earlier| earlier == m) {
                return Err(PolicyRuleError::DuplicateMember(m.clone()));
            }
        }
        if let Threshold::AtLeast(k) = threshold
            && (k == 0 || k > members.len())
        {
            return Err(PolicyRuleError::ThresholdOutOfRange {
                k: k as u64,
                n: members.len(),
            });
        }
        if self.groups.len() >= MAX_POLICY_ITEMS {
            return Err(PolicyRuleError::TooManyItems("groups"));
        }
        let def = Def::Group(self.groups.len());
        self.groups.push(PolicyGroup {
            name: name.to_owned(),
            threshold,
            members,
        });
        self.defs.push(def);
        self.names.insert(name.to_owned(), def);
        Ok(())
    }

    /// Sets the quorum to `none` or to an already-defined witness or group.
    pub fn set_quorum(&mut self, quorum: Quorum) -> Result<(), PolicyRuleError> {
        if let Quorum::Named(name) = &quorum {
            if name == NONE {
                self.quorum = Quorum::None;
                return Ok(());
            }
            if !self.names.contains_key(name) {
                return Err(PolicyRuleError::UndefinedName(name.clone()));
            }
        }
        self.quorum = quorum;
        Ok(())
    }

    /// Parses a policy file strictly (see the module docs and `spec/policy.md`).
    /// Errors carry the 1-based line number.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        if text.len() > MAX_POLICY_SIZE {
            return Err(PolicyError::TooLarge {
                size: text.len(),
                max: MAX_POLICY_SIZE,
            });
        }
        let mut policy = Self::new();
        let mut have_quorum = false;
        for (i, line) in text.split('\n').enumerate() {
            let at = |error| PolicyError::Line { line: i + 1, error };
            if let Some(b) = line
                .bytes()
                .find(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
            {
                return Err(at(PolicyRuleError::ControlCharacter(b)));
            }
            let fields: Vec<&str> = line.split([' ', '\t']).filter(|f| !f.is_empty()).collect();
            let Some((&keyword, args)) = fields.split_first() else {
                continue;
            };
            if keyword.starts_with('#') {
                continue;
            }
            let url = |s: Option<&&str>| s.map(|u| (*u).to_owned());
            let result = match keyword {
                "log" => match args {
                    [vkey] | [vkey, _] => VerifierKey::parse(vkey)
                        .map_err(PolicyRuleError::BadKey)
                        .and_then(|k| policy.add_log(k, url(args.get(1)))),
                    _ => Err(PolicyRuleError::WrongFieldCount("log <vkey> [<url>]")),
                },
                "witness" => match args {
                    [name, vkey] | [name, vkey, _] => VerifierKey::parse(vkey)
                        .map_err(PolicyRuleError::BadKey)
                        .and_then(|k| policy.add_witness(name, k, url(args.get(2)))),
                    _ => Err(PolicyRuleError::WrongFieldCount(
                        "witness <name> <vkey> [<url>]",
                    )),
                },
                "group" => match args {
                    [name, threshold, members @ ..] if !members.is_empty() => {
                        parse_threshold(threshold).and_then(|t| {
                            policy.add_group(
                                name,
                                t,
                                members.iter().map(|m| (*m).to_owned()).collect(),
                            )
                        })
                    }
                    _ => Err(PolicyRuleError::WrongFieldCount(
                        "group <name> <all|any|k> <member>...",
                    )),
                },
                "quorum" => match args {
                    [_] if have_quorum => Err(PolicyRuleError::DuplicateQuorum),
                    [name] => {
                        have_quorum = true;
                        policy.set_quorum(Quorum::Named((*name).to_owned()))
                    }
                    _ => Err(PolicyRuleError::WrongFieldCount("quorum <name|none>")),
                },
                other => Err(PolicyRuleError::UnknownKeyword(other.to_owned())),
            };
            result.map_err(at)?;
        }
        if !have_quorum {
            return Err(PolicyError::MissingQuorum);
        }
        Ok(policy)
    }

    /// Formats the policy: logs, then witnesses and groups in definition
    /// order, then the quorum line. Parses back to an equal policy.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let url = |u: &Option<String>| u.as_ref().map(|u| format!(" {u}")).unwrap_or_default();
        for log in &self.logs {
            let _ = writeln!(out, "log {}{}", log.key, url(&log.url));
        }
        for def in &self.defs {
            match *def {
                Def::Witness(i) => {
                    if let Some(w) = self.witnesses.get(i) {
                        let _ = writeln!(out, "witness {} {}{}", w.name, w.key, url(&w.url));
                    }
                }
                Def::Group(i) => {
                    if let Some(g) = self.groups.get(i) {
                        let t = match g.threshold {
                            Threshold::All => "all".to_owned(),
                            Threshold::Any => "any".to_owned(),
                            Threshold::AtLeast(k) => k.to_string(),
                        };
                        let _ = writeln!(out, "group {} {} {}", g.name, t, g.members.join(" "));
                    }
                }
            }
        }
        match &self.quorum {
            Quorum::None => out.push_str("quorum none\n"),
            Quorum::Named(n) => {
                let _ = writeln!(out, "quorum {n}");
            }
        }
        out
    }

    /// The trusted logs.
    pub fn logs(&self) -> &[PolicyLog] {
        &self.logs
    }

    /// The known witnesses.
    pub fn witnesses(&self) -> &[PolicyWitness] {
        &self.witnesses
    }

    /// The witness groups, in definition order.
    pub fn groups(&self) -> &[PolicyGroup] {
        &self.groups
    }

    /// The quorum rule.
    pub fn quorum(&self) -> &Quorum {
        &self.quorum
    }

    /// Reports whether the quorum is met when exactly the witnesses named in
    /// `cosigned` (policy names) have cosigned. Unknown names are ignored.
    pub fn quorum_met(&self, cosigned: &[&str]) -> bool {
        let Quorum::Named(target) = &self.quorum else {
            return true;
        };
        // Groups only reference earlier definitions, so one pass in
        // definition order settles every name.
        let mut witnessed: HashMap<&str, bool> = HashMap::new();
        for def in &self.defs {
            match *def {
                Def::Witness(i) => {
                    if let Some(w) = self.witnesses.get(i) {
                        witnessed.insert(&w.name, cosigned.contains(&w.name.as_str()));
                    }
                }
                Def::Group(i) => {
                    if let Some(g) = self.groups.get(i) {
                        let count = g
                            .members
                            .iter()
                            .filter(|m| witnessed.get(m.as_str()).copied().unwrap_or(false))
                            .count();
                        let need = match g.threshold {
                            Threshold::All => g.members.len(),
                            Threshold::Any => 1,
                            Threshold::AtLeast(k) => k,
                        };
                        witnessed.insert(&g.name, count >= need);
                    }
                }
            }
        }
        witnessed.get(target.as_str()).copied().unwrap_or(false)
    }

    /// Verifies a signed checkpoint under the policy: the note must be signed
    /// by a policy log whose key name equals the checkpoint origin, every
    /// signature by a policy key must verify, and the witnesses whose
    /// cosignatures verified must meet the quorum. Signatures by keys not in
    /// the policy are ignored.
    ///
    /// The log's own timestamp cosignature (its Ed25519 key as type 0x04,
    /// `spec/checkpoint.md` §2) is checked too and gives
    /// [`PolicyVerified::log_time`]. When the only log signature that
    /// verified is ML-DSA-44, the checkpoint must have no extension lines.
    ///
    /// To demand both an Ed25519 and an ML-DSA-44 log signature, list the
    /// log's Ed25519 key as `log` and its ML-DSA-44 key as a `witness`
    /// that the quorum requires (`spec/policy.md` §6).
    pub fn verify_checkpoint(&self, note_bytes: &[u8]) -> Result<PolicyVerified, PolicyError> {
        let note = Note::parse(note_bytes)?;
        let keys: Vec<VerifierKey> = self
            .logs
            .iter()
            .map(|l| l.key.clone())
            .chain(self.witnesses.iter().map(|w| w.key.clone()))
            .chain(self.logs.iter().filter_map(|l| l.key.timestamp_key()))
            .collect();
        let verified = match note.verify(&keys) {
            Ok(v) => v,
            Err(NoteError::NoKnownSignature) => return Err(PolicyError::NotSignedByLog),
            Err(e) => return Err(e.into()),
        };
        let log_sigs: Vec<&VerifierKey> = verified
            .iter()
            .map(|v| &v.key)
            .filter(|k| self.logs.iter().any(|l| l.key == **k))
            .collect();
        if log_sigs.is_empty() {
            return Err(PolicyError::NotSignedByLog);
        }
        let checkpoint = Checkpoint::parse(&note.text)?;
        let origin_sigs: Vec<&VerifierKey> = log_sigs
            .into_iter()
            .filter(|k| k.name() == checkpoint.origin)
            .collect();
        let text_signed = origin_sigs.iter().any(|k| k.key_type() == SIG_ED25519);
        let log_key = origin_sigs
            .iter()
            .find(|k| k.key_type() == SIG_ED25519)
            .or(origin_sigs.first())
            .map(|k| (*k).clone())
            .ok_or_else(|| PolicyError::OriginMismatch {
                origin: checkpoint.origin.clone(),
            })?;
        if !text_signed && !checkpoint.extensions.is_empty() {
            return Err(PolicyError::UnsignedExtensions);
        }
        // The log's time: its timestamp key and its ML-DSA-44 log keys.
        let log_time_sigs: Vec<_> = verified
            .iter()
            .filter(|v| {
                v.key.name() == checkpoint.origin
                    && (origin_sigs.contains(&&v.key)
                        || self
                            .logs
                            .iter()
                            .any(|l| l.key.timestamp_key().as_ref() == Some(&v.key)))
            })
            .cloned()
            .collect();
        let log_time = log_time(&checkpoint, &log_time_sigs, text_signed)?;
        let cosignatures: Vec<WitnessCosignature> = verified
            .iter()
            .filter_map(|v| {
                let w = self.witnesses.iter().find(|w| w.key == v.key)?;
                Some(WitnessCosignature {
                    name: w.name.clone(),
                    key: v.key.clone(),
                    timestamp: v.timestamp?,
                })
            })
            .collect();
        let names: Vec<&str> = cosignatures.iter().map(|c| c.name.as_str()).collect();
        if !self.quorum_met(&names) {
            let quorum = match &self.quorum {
                Quorum::None => NONE.to_owned(),
                Quorum::Named(n) => n.clone(),
            };
            return Err(PolicyError::QuorumNotMet {
                quorum,
                cosigned: names.iter().map(|n| (*n).to_owned()).collect(),
            });
        }
        Ok(PolicyVerified {
            note,
            checkpoint,
            log_key,
            cosignatures,
            log_time,
        })
    }
}

/// A policy word: non-empty, no space, tab or other control character, so
/// that it survives `to_text` and `parse` unchanged.
fn check_word(word: &str) -> Result<(), PolicyRuleError> {
    if word.is_empty() || word.bytes().any(|b| b <= 0x20 || b == 0x7f) {
        return Err(PolicyRuleError::InvalidWord(word.to_owned()));
    }
    Ok(())
}

fn check_url(url: &Option<String>) -> Result<(), PolicyRuleError> {
    url.as_deref().map_or(Ok(()), check_word)
}

fn parse_threshold(s: &str) -> Result<Threshold, PolicyRuleError> {
    match s {
        "all" => Ok(Threshold::All),
        "any" => Ok(Threshold::Any),
        _ => {
            let k = parse_canonical_u64(s)
                .ok_or_else(|| PolicyRuleError::BadThreshold(s.to_owned()))?;
            // A k that does not fit in usize is certainly larger than n.
            Ok(Threshold::AtLeast(usize::try_from(k).unwrap_or(usize::MAX)))
        }
    }
}
