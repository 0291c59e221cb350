//! The lookup proof bundle and its offline verification (spec/lookup.md §6).
//!
//! A bundle answers "which entries carry key K?" for one key: the path from
//! the index root to where K is (or would be), the key's list (or the
//! neighbour that proves its absence), the index-commit entry holding the
//! root with its inclusion proof, the signed checkpoint that proof leads
//! to, and optionally every listed entry with its own inclusion proof.
//!
//! Encoding: one deterministic CBOR map (text keys, RFC 8949 §4.2.1);
//! decoders re-encode and compare, so one bundle has one byte string.

use crate::cbor::{Cbor, Item, decode};
use crate::checkpoint::Checkpoint;
use crate::hash::{Hash, leaf_hash};
use crate::policy::{Policy, PolicyError, PolicyVerified};
use crate::proof::{ProofError, verify_inclusion};
use crate::receipt::{MAX_CHECKPOINT_NOTE_SIZE, MAX_PROOF_HASHES};
use crate::signed_claim::MAX_ENTRY_SIZE;

use super::entry::{EntryError, IndexCommit, MAX_INDEX_ENTRY_SIZE};
use super::key::{IndexKey, KeyError, entry_keys};
use super::list::{ListError, prefix_peaks, tail_root};
use super::store::NodeStore;
use super::tree::{Index, IndexError, MAX_DEPTH, PathError, PathTerminal, Terminal, path_root};

/// Bundle format version.
pub const LOOKUP_VERSION: u64 = 1;
/// Largest bundle accepted, in bytes (checked before decoding).
pub const MAX_LOOKUP_SIZE: usize = 20 * 1024 * 1024;
/// Most list indexes (and so entries) one bundle may carry.
pub const MAX_LOOKUP_INDEXES: usize = 1024;
/// CBOR nesting of a bundle: map > entries > entry > proof.
const MAX_LOOKUP_DEPTH: usize = 4;

/// The key's list, or a tail of it, as carried in a bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundList {
    /// Position in the list of the first index carried (0: the whole list).
    pub from: u64,
    /// Peaks of the list tree over the first `from` indexes (popcount(from) hashes).
    pub peaks: Vec<Hash>,
    /// The indexes from position `from` to the end, increasing.
    pub indexes: Vec<u64>,
}

/// What the bundle says about the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LookupResult {
    /// The key is present; here is its list (or a tail).
    Found(FoundList),
    /// Absent: the walk ends at another key's leaf.
    OtherLeaf {
        /// That key's hash.
        key: Hash,
        /// Its count.
        count: u64,
        /// Its list root.
        list_root: Hash,
    },
    /// Absent: the walk ends at an empty subtree.
    Empty,
}

/// One listed entry with its inclusion proof into the bundle's checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvenEntry {
    /// Log index.
    pub index: u64,
    /// The entry bytes.
    pub entry: Vec<u8>,
    /// RFC 6962 inclusion proof into the checkpoint.
    pub proof: Vec<Hash>,
}

/// A lookup proof bundle (unverified until [`LookupProof::verify`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookupProof {
    /// The key looked up, as key material (deterministic CBOR).
    pub key: Vec<u8>,
    /// Prefix-tree siblings, root level first, `None` for an empty subtree.
    pub path: Vec<Option<Hash>>,
    /// The key's list, or why it has none.
    pub result: LookupResult,
    /// The index-commit entry bytes, exactly as logged.
    pub commit: Vec<u8>,
    /// Inclusion proof of the commit (at log index `commit.size`) into the checkpoint.
    pub commit_proof: Vec<Hash>,
    /// The signed checkpoint note (with any cosignatures).
    pub checkpoint: Vec<u8>,
    /// The listed entries with inclusion proofs (empty: not carried).
    pub entries: Vec<ProvenEntry>,
}

/// Why a bundle does not verify. [`LookupError::EntryLacksKey`] is the one
/// failure that proves the log wrong (see `index::evidence`).
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// Over the size limit.
    #[error("lookup proof of {0} bytes is over the limit")]
    TooLarge(usize),
    /// Not a well-formed bundle.
    #[error("malformed lookup proof: {0}")]
    Malformed(String),
    /// Unknown version.
    #[error("unsupported lookup proof version {0}")]
    Version(u64),
    /// The key is not valid key material.
    #[error("key: {0}")]
    Key(#[from] KeyError),
    /// Not the key the caller asked about.
    #[error("the proof is for key {proved}, not {asked}")]
    WrongKey {
        /// The bundle's key.
        proved: String,
        /// The key asked for.
        asked: String,
    },
    /// The checkpoint does not verify under the policy.
    #[error("checkpoint not trusted: {0}")]
    Checkpoint(#[from] PolicyError),
    /// The commit entry is not an index-commit.
    #[error("index-commit: {0}")]
    Commit(#[from] EntryError),
    /// The checkpoint is too small to hold the commit.
    #[error("the checkpoint (size {checkpoint}) does not contain the index-commit at {commit}")]
    CommitNotInCheckpoint {
        /// Checkpoint size.
        checkpoint: u64,
        /// Commit index.
        commit: u64,
    },
    /// An inclusion proof (`what`) fails.
    #[error("inclusion proof of {what}: {source}")]
    Inclusion {
        /// The commit or "entry N".
        what: String,
        /// Why.
        source: ProofError,
    },
    /// The list tail does not hold together.
    #[error("list: {0}")]
    List(#[from] ListError),
    /// The path does not lead to the commit's root.
    #[error("path: {0}")]
    Path(#[from] PathError),
    /// The path is valid but leads to another root.
    #[error("the path does not lead to the committed index root")]
    RootMismatch,
    /// A listed index is not below the commit's size.
    #[error("listed index {index} is not covered by the commit (size {size})")]
    IndexNotCovered {
        /// The index.
        index: u64,
        /// The commit size.
        size: u64,
    },
    /// Entries carried do not match the listed indexes one for one.
    #[error("the carried entries do not match the listed indexes")]
    EntriesMismatch,
    /// A listed entry does not carry the key: the log's index is wrong.
    #[error("entry {index} is listed under the key but does not carry it (evidence)")]
    EntryLacksKey {
        /// The entry's index.
        index: u64,
    },
}

fn malformed(s: impl Into<String>) -> LookupError {
    LookupError::Malformed(s.into())
}

/// The outcome of a verified lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LookupOutcome {
    /// Present. `complete` iff the whole list is carried (`from = 0`).
    Found {
        /// Number of indexes under the key as of the commit.
        count: u64,
        /// Position of the first carried index.
        from: u64,
        /// The carried indexes.
        indexes: Vec<u64>,
        /// Whether the carried entries were checked (present and carrying the key).
        entries_checked: bool,
    },
    /// No entry in `[0, commit.size)` carries the key.
    Absent,
}

/// A verified lookup: what it proves and as of which checkpoint.
#[derive(Clone, Debug)]
pub struct VerifiedLookup {
    /// The key.
    pub key: IndexKey,
    /// The outcome.
    pub outcome: LookupOutcome,
    /// The index-commit (covers entries `[0, commit.size)`).
    pub commit: IndexCommit,
    /// The verified checkpoint and cosignatures.
    pub checkpoint: PolicyVerified,
    /// The carried entries (index, bytes), each checked to be included in
    /// the checkpoint and to carry the key; empty if none were carried.
    pub entries: Vec<(u64, Vec<u8>)>,
}

impl VerifiedLookup {
    /// The tree size the answer is complete for: `commit.size + 1` (every
    /// entry before the commit, and the commit itself, which carries no key).
    pub fn covered_size(&self) -> u64 {
        self.commit.size + 1
    }

    /// The one-line verdict the CLI prints (spec/lookup.md §9.2).
    pub fn summary(&self) -> String {
        let cp = self.checkpoint.checkpoint.size;
        let covered = self.covered_size();
        let suffix = if cp == covered {
            String::new()
        } else {
            format!("; checkpoint {cp} has entries [{covered}, {cp}) not covered")
        };
        match &self.outcome {
            LookupOutcome::Found { count, from: 0, .. } => {
                format!("VERIFIED: {count} claims (complete as of checkpoint {covered}){suffix}")
            }
            LookupOutcome::Found {
                count,
                from,
                indexes,
                ..
            } => format!(
                "VERIFIED: {count} claims, the last {} from list position {from} (complete as of checkpoint {covered}){suffix}",
                indexes.len()
            ),
            LookupOutcome::Absent => format!("VERIFIED ABSENT as of checkpoint {covered}{suffix}"),
        }
    }
}

/// What [`LookupProof::verify_index`] establishes without the entries.
#[derive(Clone, Debug)]
pub struct VerifiedIndexPart {
    /// The key.
    pub key: IndexKey,
    /// The commit.
    pub commit: IndexCommit,
    /// The checkpoint.
    pub checkpoint: PolicyVerified,
}

impl LookupProof {
    /// Builds the bundle for `key` from an index whose latest commit is the
    /// entry `commit` (with `commit_proof` into `checkpoint`). The index's
    /// store must keep lists. `from` selects a tail of the list (0: all;
    /// past the end: the last index); at most [`MAX_LOOKUP_INDEXES`]
    /// indexes are carried, so a longer list is served as the tail of its
    /// last [`MAX_LOOKUP_INDEXES`]. Entries are not attached (see `entries`).
    pub fn build<S: NodeStore>(
        index: &Index<S>,
        key: &IndexKey,
        from: u64,
        commit: Vec<u8>,
        commit_proof: Vec<Hash>,
        checkpoint: Vec<u8>,
    ) -> Result<Self, IndexError<S::Error>> {
        let kh = key.hash();
        let p = index.prove(&kh)?;
        let result = match &p.terminal {
            Terminal::Found(leaf) => {
                let list = index.list(&kh)?.ok_or(IndexError::Corrupt(
                    "the store keeps no list for a present key",
                ))?;
                if list.len() as u64 != leaf.list.count {
                    return Err(IndexError::Corrupt(
                        "stored list length differs from the leaf",
                    ));
                }
                // A tail always runs to the end of the list and holds at
                // least one index (§3.2): `from` is clamped into
                // `[len - MAX_LOOKUP_INDEXES, len - 1]`, so a list longer
                // than the limit is served as its last MAX_LOOKUP_INDEXES.
                let len = list.len();
                let from = (from.min(len.saturating_sub(1) as u64) as usize)
                    .max(len.saturating_sub(MAX_LOOKUP_INDEXES));
                LookupResult::Found(FoundList {
                    from: from as u64,
                    peaks: prefix_peaks(&list, from),
                    indexes: list[from..].to_vec(),
                })
            }
            Terminal::Other(leaf) => LookupResult::OtherLeaf {
                key: leaf.key,
                count: leaf.list.count,
                list_root: leaf.list.root(),
            },
            Terminal::Empty => LookupResult::Empty,
        };
        Ok(LookupProof {
            key: key.material(),
            path: p.siblings,
            result,
            commit,
            commit_proof,
            checkpoint,
            entries: Vec::new(),
        })
    }

    /// The listed indexes (empty when absent).
    pub fn indexes(&self) -> &[u64] {
        match &self.result {
            LookupResult::Found(f) => &f.indexes,
            _ => &[],
        }
    }

    /// Deterministic CBOR encoding (spec/lookup.md §6.1).
    pub fn to_cbor(&self) -> Vec<u8> {
        let hashes = |hs: &[Hash]| -> Vec<u8> { crate::cbor::encode_bytes_array(hs) };
        let commit_proof = hashes(&self.commit_proof);
        let found_peaks = match &self.result {
            LookupResult::Found(f) => hashes(&f.peaks),
            _ => Vec::new(),
        };
        let entry_proofs: Vec<Vec<u8>> = self.entries.iter().map(|e| hashes(&e.proof)).collect();
        let path: Vec<Item<'_>> = self
            .path
            .iter()
            .map(|s| Item::Bytes(s.as_ref().map_or(&[][..], |h| &h[..])))
            .collect();
        let mut m = vec![
            (Item::Text("v"), Item::Uint(LOOKUP_VERSION)),
            (Item::Text("key"), Item::Bytes(&self.key)),
            (Item::Text("path"), Item::Array(path)),
            (Item::Text("commit"), Item::Bytes(&self.commit)),
            (Item::Text("proof"), Item::Raw(&commit_proof)),
            (Item::Text("checkpoint"), Item::Bytes(&self.checkpoint)),
        ];
        match &self.result {
            LookupResult::Found(f) => m.push((
                Item::Text("found"),
                Item::Array(vec![
                    Item::Uint(f.from),
                    Item::Raw(&found_peaks),
                    Item::Array(f.indexes.iter().map(|i| Item::Uint(*i)).collect()),
                ]),
            )),
            LookupResult::OtherLeaf {
                key,
                count,
                list_root,
            } => m.push((
                Item::Text("other"),
                Item::Array(vec![
                    Item::Bytes(key),
                    Item::Uint(*count),
                    Item::Bytes(list_root),
                ]),
            )),
            LookupResult::Empty => {}
        }
        if !self.entries.is_empty() {
            m.push((
                Item::Text("entries"),
                Item::Array(
                    self.entries
                        .iter()
                        .zip(&entry_proofs)
                        .map(|(e, p)| {
                            Item::Array(vec![
                                Item::Uint(e.index),
                                Item::Bytes(&e.entry),
                                Item::Raw(p),
                            ])
                        })
                        .collect(),
                ),
            ));
        }
        Item::Map(m).to_vec()
    }

    /// Decodes a bundle: size, structure, limits and canonical encoding.
    /// Checks nothing cryptographic (see [`LookupProof::verify`]).
    pub fn from_cbor(bytes: &[u8]) -> Result<Self, LookupError> {
        if bytes.len() > MAX_LOOKUP_SIZE {
            return Err(LookupError::TooLarge(bytes.len()));
        }
        let item = decode(bytes, MAX_LOOKUP_DEPTH).map_err(|e| malformed(e.to_string()))?;
        let Cbor::Map(entries) = item else {
            return Err(malformed("top level is not a map"));
        };
        let mut f: Vec<(&str, Cbor<'_>)> = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            let Cbor::Text(k) = k else {
                return Err(malformed("map keys must be text"));
            };
            if f.iter().any(|(x, _)| *x == k) {
                return Err(malformed(format!("duplicate key {k:?}")));
            }
            f.push((k, v));
        }
        match take(&mut f, "v") {
            Some(Cbor::Uint(LOOKUP_VERSION)) => {}
            Some(Cbor::Uint(v)) => return Err(LookupError::Version(v)),
            _ => return Err(malformed("missing or non-integer \"v\"")),
        }
        let key = bytes_field(&mut f, "key", super::key::MAX_KEY_MATERIAL)?;
        let commit = bytes_field(&mut f, "commit", MAX_INDEX_ENTRY_SIZE)?;
        let checkpoint = bytes_field(&mut f, "checkpoint", MAX_CHECKPOINT_NOTE_SIZE)?;
        let commit_proof = match take(&mut f, "proof") {
            Some(c) => hash_list(c, MAX_PROOF_HASHES, "proof")?,
            None => return Err(malformed("missing \"proof\"")),
        };
        let path = match take(&mut f, "path") {
            Some(Cbor::Array(items)) => {
                if items.len() > MAX_DEPTH {
                    return Err(malformed("path deeper than 256"));
                }
                items
                    .into_iter()
                    .map(|i| match i {
                        Cbor::Bytes([]) => Ok(None),
                        Cbor::Bytes(b) => Hash::try_from(b)
                            .map(Some)
                            .map_err(|_| malformed("path hash is not 0 or 32 bytes")),
                        _ => Err(malformed("path item is not a byte string")),
                    })
                    .collect::<Result<Vec<_>, _>>()?
            }
            _ => return Err(malformed("missing or non-array \"path\"")),
        };
        let found = take(&mut f, "found");
        let other = take(&mut f, "other");
        let result = match (found, other) {
            (Some(_), Some(_)) => return Err(malformed("both \"found\" and \"other\"")),
            (Some(Cbor::Array(a)), None) => {
                let [from, peaks, indexes]: [Cbor<'_>; 3] = a
                    .try_into()
                    .map_err(|_| malformed("\"found\" is not [from, peaks, indexes]"))?;
                let Cbor::Uint(from) = from else {
                    return Err(malformed("found.from is not a uint"));
                };
                let peaks = hash_list(peaks, 64, "found.peaks")?;
                let Cbor::Array(ix) = indexes else {
                    return Err(malformed("found.indexes is not an array"));
                };
                if ix.len() > MAX_LOOKUP_INDEXES {
                    return Err(malformed("too many indexes"));
                }
                let indexes = ix
                    .into_iter()
                    .map(|i| match i {
                        Cbor::Uint(n) => Ok(n),
                        _ => Err(malformed("index is not a uint")),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                LookupResult::Found(FoundList {
                    from,
                    peaks,
                    indexes,
                })
            }
            (None, Some(Cbor::Array(a))) => match a.as_slice() {
                [Cbor::Bytes(k), Cbor::Uint(count), Cbor::Bytes(r)] => LookupResult::OtherLeaf {
                    key: Hash::try_from(*k).map_err(|_| malformed("other.key is not 32 bytes"))?,
                    count: *count,
                    list_root: Hash::try_from(*r)
                        .map_err(|_| malformed("other.list_root is not 32 bytes"))?,
                },
                _ => return Err(malformed("\"other\" is not [key, count, list_root]")),
            },
            (None, None) => LookupResult::Empty,
            _ => return Err(malformed("\"found\"/\"other\" is not an array")),
        };
        let entries = match take(&mut f, "entries") {
            None => Vec::new(),
            Some(Cbor::Array(items)) => {
                if items.len() > MAX_LOOKUP_INDEXES {
                    return Err(malformed("too many entries"));
                }
                items
                    .into_iter()
                    .map(|e| {
                        let Cbor::Array(parts) = e else {
                            return Err(malformed("entry is not [index, entry, proof]"));
                        };
                        let [i, b, p]: [Cbor<'_>; 3] = parts
                            .try_into()
                            .map_err(|_| malformed("entry is not [index, entry, proof]"))?;
                        let (Cbor::Uint(index), Cbor::Bytes(entry)) = (i, b) else {
                            return Err(malformed("entry is not [uint, bstr, proof]"));
                        };
                        if entry.len() > MAX_ENTRY_SIZE {
                            return Err(malformed("entry over 16 KiB"));
                        }
                        Ok(ProvenEntry {
                            index,
                            entry: entry.to_vec(),
                            proof: hash_list(p, MAX_PROOF_HASHES, "entry proof")?,
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?
            }
            Some(_) => return Err(malformed("\"entries\" is not an array")),
        };
        if let Some((k, _)) = f.first() {
            return Err(malformed(format!("unknown key {k:?}")));
        }
        let proof = LookupProof {
            key,
            path,
            result,
            commit,
            commit_proof,
            checkpoint,
            entries,
        };
        if proof.to_cbor() != bytes {
            return Err(malformed("not in deterministic encoding"));
        }
        Ok(proof)
    }

    /// Verifies everything but the carried entries: the checkpoint under
    /// `policy`, the commit's inclusion at index `commit.size`, and the path
    /// and list against the commit's root (spec/lookup.md §6.2 steps 1–6).
    pub fn verify_index(&self, policy: &Policy) -> Result<VerifiedIndexPart, LookupError> {
        let key = IndexKey::from_material(&self.key)?;
        let checkpoint = policy.verify_checkpoint(&self.checkpoint)?;
        let commit = IndexCommit::from_bytes(&self.commit)?;
        self.verify_against(&key, &commit, &checkpoint.checkpoint)?;
        Ok(VerifiedIndexPart {
            key,
            commit,
            checkpoint,
        })
    }

    /// Steps 3–6 with the checkpoint already verified.
    fn verify_against(
        &self,
        key: &IndexKey,
        commit: &IndexCommit,
        cp: &Checkpoint,
    ) -> Result<(), LookupError> {
        if commit.size >= cp.size {
            return Err(LookupError::CommitNotInCheckpoint {
                checkpoint: cp.size,
                commit: commit.size,
            });
        }
        verify_inclusion(
            &leaf_hash(&self.commit),
            commit.size,
            cp.size,
            &self.commit_proof,
            &cp.root,
        )
        .map_err(|source| LookupError::Inclusion {
            what: "the index-commit".into(),
            source,
        })?;
        let kh = key.hash();
        let terminal = match &self.result {
            LookupResult::Found(f) => {
                let (count, list_root) = tail_root(f.from, &f.peaks, &f.indexes)?;
                if let Some(&index) = f.indexes.iter().find(|&&i| i >= commit.size) {
                    return Err(LookupError::IndexNotCovered {
                        index,
                        size: commit.size,
                    });
                }
                PathTerminal::Found { count, list_root }
            }
            LookupResult::OtherLeaf {
                key,
                count,
                list_root,
            } => PathTerminal::Other {
                key: *key,
                count: *count,
                list_root: *list_root,
            },
            LookupResult::Empty => PathTerminal::Empty,
        };
        if path_root(&kh, &self.path, &terminal)? != commit.root {
            return Err(LookupError::RootMismatch);
        }
        Ok(())
    }

    /// Verifies the whole bundle offline under `policy`; if `expected` is
    /// given the bundle must be for that key. Carried entries must match the
    /// listed indexes one for one, be included in the checkpoint, and carry
    /// the key (a listed entry that does not is
    /// [`LookupError::EntryLacksKey`]: evidence against the log).
    pub fn verify(
        &self,
        policy: &Policy,
        expected: Option<&IndexKey>,
    ) -> Result<VerifiedLookup, LookupError> {
        let part = self.verify_index(policy)?;
        if let Some(asked) = expected
            && *asked != part.key
        {
            return Err(LookupError::WrongKey {
                proved: part.key.describe(),
                asked: asked.describe(),
            });
        }
        let outcome = match &self.result {
            LookupResult::Found(f) => {
                let entries_checked = !self.entries.is_empty();
                if entries_checked {
                    if self.entries.len() != f.indexes.len()
                        || self
                            .entries
                            .iter()
                            .zip(&f.indexes)
                            .any(|(e, i)| e.index != *i)
                    {
                        return Err(LookupError::EntriesMismatch);
                    }
                    let cp = &part.checkpoint.checkpoint;
                    for e in &self.entries {
                        verify_inclusion(
                            &leaf_hash(&e.entry),
                            e.index,
                            cp.size,
                            &e.proof,
                            &cp.root,
                        )
                        .map_err(|source| LookupError::Inclusion {
                            what: format!("entry {}", e.index),
                            source,
                        })?;
                        if !entry_keys(&e.entry).contains(&part.key) {
                            return Err(LookupError::EntryLacksKey { index: e.index });
                        }
                    }
                }
                LookupOutcome::Found {
                    count: f.from + f.indexes.len() as u64,
                    from: f.from,
                    indexes: f.indexes.clone(),
                    entries_checked,
                }
            }
            _ => {
                if !self.entries.is_empty() {
                    return Err(LookupError::EntriesMismatch);
                }
                LookupOutcome::Absent
            }
        };
        Ok(VerifiedLookup {
            key: part.key,
            outcome,
            commit: part.commit,
            checkpoint: part.checkpoint,
            entries: self
                .entries
                .iter()
                .map(|e| (e.index, e.entry.clone()))
                .collect(),
        })
    }
}

/// Parses and verifies a bundle (the offline verifier the CLI calls).
pub fn verify_lookup(
    bytes: &[u8],
    policy: &Policy,
    expected: Option<&IndexKey>,
) -> Result<VerifiedLookup, LookupError> {
    LookupProof::from_cbor(bytes)?.verify(policy, expected)
}

fn take<'a>(f: &mut Vec<(&str, Cbor<'a>)>, key: &str) -> Option<Cbor<'a>> {
    let pos = f.iter().position(|(k, _)| *k == key)?;
    Some(f.swap_remove(pos).1)
}

fn bytes_field(
    f: &mut Vec<(&str, Cbor<'_>)>,
    key: &str,
    max: usize,
) -> Result<Vec<u8>, LookupError> {
    match take(f, key) {
        Some(Cbor::Bytes(b)) if b.len() <= max => Ok(b.to_vec()),
        Some(Cbor::Bytes(_)) => Err(malformed(format!("{key:?} is over its size limit"))),
        _ => Err(malformed(format!("missing or non-bytes {key:?}"))),
    }
}

fn hash_list(c: Cbor<'_>, max: usize, what: &str) -> Result<Vec<Hash>, LookupError> {
    let Cbor::Array(items) = c else {
        return Err(malformed(format!("{what} is not an array")));
    };
    if items.len() > max {
        return Err(malformed(format!("{what} has too many hashes")));
    }
    items
        .into_iter()
        .map(|i| match i {
            Cbor::Bytes(b) => {
                Hash::try_from(b).map_err(|_| malformed(format!("{what} hash is not 32 bytes")))
            }
            _ => Err(malformed(format!("{what} item is not a byte string"))),
        })
        .collect()
}
