//! The log entries the verifiable index adds (spec/lookup.md §4): the
//! **index-commit** the sequencer appends as the last entry of every batch,
//! and **vendor-key** events (a vendor key added, rotated or revoked),
//! signed by the log's key.
//!
//! Both are deterministic CBOR maps wrapped in CBOR tag [`PROVLOG_TAG`]
//! (0x706c6f67, "plog"), so every entry starts `da 70 6c 6f 67`, while a
//! signed claim starts `d2` (tag 18, COSE_Sign1): the first byte tells
//! every parser which it is, and a COSE parser refuses these entries
//! (wrong tag) rather than misreading them.

use ed25519_dalek::Signature;

use crate::cbor::{Cbor, Item, decode};
use crate::hash::Hash;
use crate::note::{NoteSigner, SIG_ED25519, VerifierKey};
use crate::signed_claim::{COSE_SIGN1_TAG, KeyCache, SignedClaim};

use super::key::IndexKey;

/// CBOR tag of provlog's own (non-claim) log entries: "plog" in ASCII.
pub const PROVLOG_TAG: u64 = 0x706c_6f67;
/// The first five bytes of every provlog non-claim entry.
pub const PROVLOG_TAG_PREFIX: [u8; 5] = [0xda, 0x70, 0x6c, 0x6f, 0x67];
/// Largest index-commit or vendor-key entry, in bytes.
pub const MAX_INDEX_ENTRY_SIZE: usize = 4096;
/// `t` of an index-commit.
pub const TYPE_INDEX_COMMIT: &str = "index-commit";
/// `t` of a vendor-key event.
pub const TYPE_VENDOR_KEY: &str = "vendor-key";
/// Version of both entry formats.
pub const ENTRY_VERSION: u64 = 1;
/// Prefix of the message a vendor-key signature covers.
pub const VENDOR_KEY_SIG_CONTEXT: &[u8] = b"provlog/vendor-key/v1\n";

/// Why bytes are not a valid index-commit or vendor-key entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// Over [`MAX_INDEX_ENTRY_SIZE`].
    #[error("entry of {0} bytes is over the {MAX_INDEX_ENTRY_SIZE}-byte limit")]
    TooLarge(usize),
    /// Not a tag-"plog" deterministic CBOR map of the right shape.
    #[error("malformed provlog entry: {0}")]
    Malformed(String),
    /// Another entry type than the one asked for.
    #[error("the entry is a {0:?}, not the type asked for")]
    WrongType(String),
    /// A version this library does not read.
    #[error("unsupported entry version {0}")]
    Version(u64),
    /// A vendor-key entry's signature does not verify under the log key.
    #[error("vendor-key entry signature does not verify under the log key")]
    BadSignature,
}

fn malformed(s: impl Into<String>) -> EntryError {
    EntryError::Malformed(s.into())
}

/// An index-commit: the index root over entries `[0, size)`, appended at
/// log index `size` (so the commit is always the entry right after what it
/// covers, and the last entry of its checkpoint).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexCommit {
    /// Entries covered: `[0, size)`; also the commit's own log index.
    pub size: u64,
    /// The prefix-tree root.
    pub root: Hash,
    /// Number of distinct keys in the index.
    pub keys: u64,
}

/// What a vendor-key event does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyOp {
    /// `key` is accepted from this entry on.
    Add,
    /// `key` is no longer accepted from this entry on.
    Revoke,
    /// `key` replaces `old`: `old` is revoked and `key` accepted, at once.
    Rotate,
}

impl KeyOp {
    /// The `op` text.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyOp::Add => "add",
            KeyOp::Revoke => "revoke",
            KeyOp::Rotate => "rotate",
        }
    }
}

/// A vendor-key event, signed by the log's key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VendorKeyEvent {
    /// The operation.
    pub op: KeyOp,
    /// The vendor vkey added, revoked, or (rotate) the new one.
    pub key: String,
    /// For [`KeyOp::Rotate`], the vkey replaced.
    pub old: Option<String>,
    /// When the operator issued it, Unix milliseconds (its statement; the
    /// entry's log index is what orders events against claims).
    pub time_ms: u64,
    /// Ed25519 signature by the log key over [`VendorKeyEvent::signed_message`].
    pub sig: [u8; 64],
}

fn map<'a>(entries: Vec<(&'static str, Item<'a>)>) -> Item<'a> {
    Item::Map(
        entries
            .into_iter()
            .map(|(k, v)| (Item::Text(k), v))
            .collect(),
    )
}

fn tagged(item: Item<'_>) -> Vec<u8> {
    Item::Tag(PROVLOG_TAG, Box::new(item)).to_vec()
}

/// A map's fields by text key.
type Fields<'a> = Vec<(&'a str, Cbor<'a>)>;

/// Reads a tag-"plog" entry into its map fields and `t`.
fn read_fields(bytes: &[u8]) -> Result<(String, Fields<'_>), EntryError> {
    if bytes.len() > MAX_INDEX_ENTRY_SIZE {
        return Err(EntryError::TooLarge(bytes.len()));
    }
    let item = decode(bytes, 2).map_err(|e| malformed(e.to_string()))?;
    let Cbor::Tag(PROVLOG_TAG, inner) = item else {
        return Err(malformed("not tagged 0x706c6f67"));
    };
    let Cbor::Map(entries) = *inner else {
        return Err(malformed("the tagged item is not a map"));
    };
    let mut fields = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        let Cbor::Text(k) = k else {
            return Err(malformed("map keys must be text"));
        };
        if fields.iter().any(|(f, _)| *f == k) {
            return Err(malformed(format!("duplicate key {k:?}")));
        }
        fields.push((k, v));
    }
    let t = match take(&mut fields, "t") {
        Some(Cbor::Text(t)) => t.to_owned(),
        _ => return Err(malformed("missing or non-text \"t\"")),
    };
    match take(&mut fields, "v") {
        Some(Cbor::Uint(ENTRY_VERSION)) => {}
        Some(Cbor::Uint(v)) => return Err(EntryError::Version(v)),
        _ => return Err(malformed("missing or non-integer \"v\"")),
    }
    Ok((t, fields))
}

fn take<'a>(fields: &mut Vec<(&str, Cbor<'a>)>, key: &str) -> Option<Cbor<'a>> {
    let pos = fields.iter().position(|(k, _)| *k == key)?;
    Some(fields.swap_remove(pos).1)
}

fn uint(fields: &mut Vec<(&str, Cbor<'_>)>, key: &str) -> Result<u64, EntryError> {
    match take(fields, key) {
        Some(Cbor::Uint(n)) => Ok(n),
        _ => Err(malformed(format!("missing or non-uint {key:?}"))),
    }
}

fn text(fields: &mut Vec<(&str, Cbor<'_>)>, key: &str) -> Result<Option<String>, EntryError> {
    match take(fields, key) {
        Some(Cbor::Text(s)) => Ok(Some(s.to_owned())),
        None => Ok(None),
        Some(_) => Err(malformed(format!("{key:?} is not text"))),
    }
}

fn no_more(fields: &[(&str, Cbor<'_>)]) -> Result<(), EntryError> {
    match fields.first() {
        Some((k, _)) => Err(malformed(format!("unknown key {k:?}"))),
        None => Ok(()),
    }
}

impl IndexCommit {
    /// The entry bytes: `#6.0x706c6f67({"t": "index-commit", "v": 1,
    /// "keys": uint, "root": bstr .size 32, "size": uint})`.
    pub fn to_bytes(&self) -> Vec<u8> {
        tagged(map(vec![
            ("t", Item::Text(TYPE_INDEX_COMMIT)),
            ("v", Item::Uint(ENTRY_VERSION)),
            ("keys", Item::Uint(self.keys)),
            ("root", Item::Bytes(&self.root)),
            ("size", Item::Uint(self.size)),
        ]))
    }

    /// Parses an index-commit strictly (exact keys, deterministic encoding).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EntryError> {
        let (t, mut f) = read_fields(bytes)?;
        if t != TYPE_INDEX_COMMIT {
            return Err(EntryError::WrongType(t));
        }
        let keys = uint(&mut f, "keys")?;
        let size = uint(&mut f, "size")?;
        let root = match take(&mut f, "root") {
            Some(Cbor::Bytes(b)) => {
                Hash::try_from(b).map_err(|_| malformed("\"root\" is not 32 bytes"))?
            }
            _ => return Err(malformed("missing or non-bytes \"root\"")),
        };
        no_more(&f)?;
        let c = IndexCommit { size, root, keys };
        if c.to_bytes() != bytes {
            return Err(malformed("not in deterministic encoding"));
        }
        Ok(c)
    }
}

impl VendorKeyEvent {
    fn body(&self) -> Vec<(&'static str, Item<'_>)> {
        let mut m = vec![
            ("t", Item::Text(TYPE_VENDOR_KEY)),
            ("v", Item::Uint(ENTRY_VERSION)),
            ("op", Item::Text(self.op.as_str())),
            ("key", Item::Text(&self.key)),
            ("time", Item::Uint(self.time_ms)),
        ];
        if let Some(old) = &self.old {
            m.push(("old", Item::Text(old)));
        }
        m
    }

    /// The bytes the signature covers: [`VENDOR_KEY_SIG_CONTEXT`] followed
    /// by the entry encoded without its `sig` field.
    pub fn signed_message(&self) -> Vec<u8> {
        let mut out = VENDOR_KEY_SIG_CONTEXT.to_vec();
        out.extend_from_slice(&tagged(map(self.body())));
        out
    }

    /// Builds and signs an event with the log's key. `old` must be given
    /// exactly for [`KeyOp::Rotate`]; both vkeys must parse as Ed25519
    /// verifier keys.
    pub fn sign(
        op: KeyOp,
        key: &str,
        old: Option<&str>,
        time_ms: u64,
        log: &NoteSigner,
    ) -> Result<Self, EntryError> {
        use ed25519_dalek::Signer as _;
        let mut ev = VendorKeyEvent {
            op,
            key: key.to_owned(),
            old: old.map(str::to_owned),
            time_ms,
            sig: [0; 64],
        };
        ev.check()?;
        ev.sig = log.signing_key().sign(&ev.signed_message()).to_bytes();
        Ok(ev)
    }

    fn check(&self) -> Result<(), EntryError> {
        if (self.op == KeyOp::Rotate) != self.old.is_some() {
            return Err(malformed("\"old\" is present exactly for rotate"));
        }
        for k in std::iter::once(&self.key).chain(self.old.as_ref()) {
            let vk = VerifierKey::parse(k).map_err(|e| malformed(format!("vendor vkey: {e}")))?;
            if vk.key_type() != SIG_ED25519 || vk.to_vkey() != *k {
                return Err(malformed("vendor vkey is not a canonical Ed25519 vkey"));
            }
        }
        if self.old.as_deref() == Some(self.key.as_str()) {
            return Err(malformed("a key cannot replace itself"));
        }
        Ok(())
    }

    /// The entry bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut m = self.body();
        m.push(("sig", Item::Bytes(&self.sig)));
        tagged(map(m))
    }

    /// Parses a vendor-key entry strictly. Does NOT check the signature
    /// (see [`VendorKeyEvent::verify`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EntryError> {
        let (t, mut f) = read_fields(bytes)?;
        if t != TYPE_VENDOR_KEY {
            return Err(EntryError::WrongType(t));
        }
        let op = match text(&mut f, "op")?.as_deref() {
            Some("add") => KeyOp::Add,
            Some("revoke") => KeyOp::Revoke,
            Some("rotate") => KeyOp::Rotate,
            _ => return Err(malformed("\"op\" must be add, revoke or rotate")),
        };
        let key = text(&mut f, "key")?.ok_or_else(|| malformed("missing \"key\""))?;
        let old = text(&mut f, "old")?;
        let time_ms = uint(&mut f, "time")?;
        let sig = match take(&mut f, "sig") {
            Some(Cbor::Bytes(b)) => {
                <[u8; 64]>::try_from(b).map_err(|_| malformed("\"sig\" is not 64 bytes"))?
            }
            _ => return Err(malformed("missing or non-bytes \"sig\"")),
        };
        no_more(&f)?;
        let ev = VendorKeyEvent {
            op,
            key,
            old,
            time_ms,
            sig,
        };
        ev.check()?;
        if ev.to_bytes() != bytes {
            return Err(malformed("not in deterministic encoding"));
        }
        Ok(ev)
    }

    /// Checks the signature with the log's key (`verify_strict`).
    pub fn verify(&self, log_key: &VerifierKey) -> Result<(), EntryError> {
        log_key
            .ed25519_public_key()
            .ok_or(EntryError::BadSignature)?
            .verify_strict(&self.signed_message(), &Signature::from_bytes(&self.sig))
            .map_err(|_| EntryError::BadSignature)
    }

    /// The index keys of the event: the status key of every vkey it names.
    pub fn keys(&self) -> Vec<IndexKey> {
        std::iter::once(&self.key)
            .chain(self.old.as_ref())
            .map(|k| IndexKey::VendorKeyStatus(k.clone()))
            .collect()
    }

    /// Whether, after this event, `vkey` is accepted (`Some(true)`),
    /// revoked (`Some(false)`), or not named (`None`).
    pub fn effect_on(&self, vkey: &str) -> Option<bool> {
        if self.key == vkey {
            Some(self.op != KeyOp::Revoke)
        } else if self.old.as_deref() == Some(vkey) {
            Some(false)
        } else {
            None
        }
    }
}

/// A log entry by kind, as every provlog parser tells them apart.
#[derive(Clone, Debug)]
pub enum LogEntry {
    /// A signed claim (tag 18) that parses (signature not checked).
    Claim(Box<SignedClaim>),
    /// A valid index-commit.
    IndexCommit(IndexCommit),
    /// A valid vendor-key event (signature not checked).
    VendorKey(VendorKeyEvent),
    /// Anything else (including a malformed entry of either kind).
    Other,
}

impl LogEntry {
    /// Classifies an entry by its first bytes, then parses it.
    pub fn classify(entry: &[u8]) -> LogEntry {
        Self::classify_with(entry, None)
    }

    /// [`LogEntry::classify`], looking a claim's kid up in `keys` first:
    /// the same answer, without decoding the vendor key again (base64, key
    /// ID hash and point decompression, most of a claim parse's cost) for
    /// a key already seen. For code that classifies many entries.
    pub fn classify_cached(entry: &[u8], keys: &KeyCache) -> LogEntry {
        Self::classify_with(entry, Some(keys))
    }

    fn classify_with(entry: &[u8], keys: Option<&KeyCache>) -> LogEntry {
        if entry.first() == Some(&(0xc0 | COSE_SIGN1_TAG as u8)) {
            let parsed = match keys {
                Some(cache) => SignedClaim::from_bytes_cached(entry, cache),
                None => SignedClaim::from_bytes(entry),
            };
            return parsed
                .map(|c| LogEntry::Claim(Box::new(c)))
                .unwrap_or(LogEntry::Other);
        }
        if entry.starts_with(&PROVLOG_TAG_PREFIX) {
            if let Ok(c) = IndexCommit::from_bytes(entry) {
                return LogEntry::IndexCommit(c);
            }
            if let Ok(v) = VendorKeyEvent::from_bytes(entry) {
                return LogEntry::VendorKey(v);
            }
        }
        LogEntry::Other
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn commit_round_trip_and_prefix() {
        let c = IndexCommit {
            size: 1000,
            root: [5; 32],
            keys: 2500,
        };
        let b = c.to_bytes();
        assert_eq!(&b[..5], &PROVLOG_TAG_PREFIX);
        assert_eq!(IndexCommit::from_bytes(&b).unwrap(), c);
        assert!(matches!(LogEntry::classify(&b), LogEntry::IndexCommit(_)));
        // A COSE parser refuses it.
        assert!(SignedClaim::from_bytes(&b).is_err());
        let mut t = b.clone();
        t[5] ^= 1;
        assert!(IndexCommit::from_bytes(&t).is_err());
        assert!(IndexCommit::from_bytes(&b[..b.len() - 1]).is_err());
    }

    #[test]
    fn vendor_key_events_sign_and_verify() {
        let log = NoteSigner::from_seed("log.example", SIG_ED25519, [1; 32]).unwrap();
        let v1 = NoteSigner::from_seed("vendor.example", SIG_ED25519, [2; 32]).unwrap();
        let v2 = NoteSigner::from_seed("vendor.example", SIG_ED25519, [3; 32]).unwrap();
        let (k1, k2) = (v1.verifier_key().to_vkey(), v2.verifier_key().to_vkey());
        let ev =
            VendorKeyEvent::sign(KeyOp::Rotate, &k2, Some(&k1), 1_700_000_000_000, &log).unwrap();
        let b = ev.to_bytes();
        let back = VendorKeyEvent::from_bytes(&b).unwrap();
        assert_eq!(back, ev);
        back.verify(&log.verifier_key()).unwrap();
        assert!(back.verify(&v1.verifier_key()).is_err());
        assert_eq!(ev.effect_on(&k1), Some(false));
        assert_eq!(ev.effect_on(&k2), Some(true));
        assert_eq!(ev.keys().len(), 2);
        assert!(VendorKeyEvent::sign(KeyOp::Add, &k2, Some(&k1), 0, &log).is_err());
        assert!(VendorKeyEvent::sign(KeyOp::Add, "nonsense", None, 0, &log).is_err());
        // The signed message can never be a signed-note text: it is not UTF-8.
        assert!(std::str::from_utf8(&ev.signed_message()).is_err());
    }
}
