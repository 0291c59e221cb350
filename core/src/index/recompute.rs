//! A monitor's recomputation of the index (spec/lookup.md §7.1).
//!
//! Feed every entry in log order; at each index-commit the recomputer
//! applies the keys seen since the previous commit and compares its root
//! and key count with the committed ones. It keeps computing the *correct*
//! index after a mismatch, so one wrong commit does not hide later ones.
//!
//! Cost: the map function (parse the entry, hash 2–5 keys) plus
//! [`super::tree::Index::commit_batch`] per commit. A monitor that already
//! parsed the entry (to check its signature) passes the keys with
//! [`Recomputer::push_keys`] and skips the parse.

use crate::hash::Hash;

use crate::signed_claim::KeyCache;

use super::entry::{IndexCommit, LogEntry};
use super::key::{KeyHash, claim_keys};
use super::store::{MemoryStore, NodeStore};
use super::tree::{Batch, Index, IndexError};

/// The result of checking one index-commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommitCheck {
    /// Root and key count are what the entries give.
    Ok {
        /// The commit's log index (= its size).
        at: u64,
        /// The root.
        root: Hash,
    },
    /// The commit is not at the log index equal to its size: provable
    /// offline (evidence kind `index-commit-size`).
    SizeNotIndex {
        /// Where the commit is.
        at: u64,
        /// What it says.
        committed: IndexCommit,
    },
    /// Root or key count differ from the recomputation. Alert; the monitor
    /// then asks the log for lookup proofs of the keys of that batch (it
    /// re-derives them from the batch's entries) and turns any proof that
    /// contradicts an entry into evidence (spec/lookup.md §7.2).
    Mismatch {
        /// Where the commit is.
        at: u64,
        /// What it says.
        committed: IndexCommit,
        /// The correct root.
        expected_root: Hash,
        /// The correct key count.
        expected_keys: u64,
    },
}

impl CommitCheck {
    /// Whether the commit is correct.
    pub fn is_ok(&self) -> bool {
        matches!(self, CommitCheck::Ok { .. })
    }
}

/// Vendor keys kept decoded while recomputing (a log has few vendors).
const RECOMPUTE_KEY_CACHE: usize = 4096;

/// Recomputes the index from the log's entries.
pub struct Recomputer<S: NodeStore = MemoryStore> {
    index: Index<S>,
    batch: Batch,
    next: u64,
    keys: KeyCache,
}

impl Default for Recomputer<MemoryStore> {
    fn default() -> Self {
        Self::new(MemoryStore::new())
    }
}

impl<S: NodeStore> Recomputer<S> {
    /// Starts at entry 0 over an empty store.
    pub fn new(store: S) -> Self {
        Self {
            index: Index::new(store),
            batch: Batch::new(),
            next: 0,
            keys: KeyCache::new(RECOMPUTE_KEY_CACHE),
        }
    }

    /// Index of the next entry expected.
    pub fn next_index(&self) -> u64 {
        self.next
    }

    /// The index as of the last commit seen.
    pub fn index(&self) -> &Index<S> {
        &self.index
    }

    /// Feeds the next entry. Returns the check of the commit if it is an
    /// index-commit.
    pub fn push_entry(
        &mut self,
        entry: &[u8],
    ) -> Result<Option<CommitCheck>, IndexError<S::Error>> {
        match LogEntry::classify_cached(entry, &self.keys) {
            LogEntry::Claim(c) => {
                let keys: Vec<KeyHash> = claim_keys(&c).iter().map(|k| k.hash()).collect();
                self.push_keys(&keys);
                Ok(None)
            }
            LogEntry::VendorKey(v) => {
                let keys: Vec<KeyHash> = v.keys().iter().map(|k| k.hash()).collect();
                self.push_keys(&keys);
                Ok(None)
            }
            LogEntry::IndexCommit(c) => self.push_commit(&c).map(Some),
            LogEntry::Other => {
                self.next += 1;
                Ok(None)
            }
        }
    }

    /// Feeds the next entry as its key hashes (already derived).
    pub fn push_keys(&mut self, keys: &[KeyHash]) {
        self.batch.add(self.next, keys);
        self.next += 1;
    }

    /// Feeds the next entry, an index-commit, and checks it.
    pub fn push_commit(&mut self, c: &IndexCommit) -> Result<CommitCheck, IndexError<S::Error>> {
        let at = self.next;
        self.next += 1;
        if c.size != at {
            // Keep the batch: the next well-placed commit covers it.
            return Ok(CommitCheck::SizeNotIndex {
                at,
                committed: c.clone(),
            });
        }
        let batch = std::mem::take(&mut self.batch);
        let root = self.index.commit_batch(batch, at)?;
        let keys = self.index.key_count();
        Ok(if root == c.root && keys == c.keys {
            CommitCheck::Ok { at, root }
        } else {
            CommitCheck::Mismatch {
                at,
                committed: c.clone(),
                expected_root: root,
                expected_keys: keys,
            }
        })
    }
}
