//! A small in-memory log with the verifiable index, for tests: entries,
//! tree, index, index-commits and checkpoints, honest or lying.
#![allow(dead_code, clippy::unwrap_used)]

use provlog_core::checkpoint::{Checkpoint, sign_checkpoint};
use provlog_core::claim::{
    Asset, C2paBinding, Claim, DigitalSourceType, Disclosure, Generator, HardBinding,
    HardBindingKind, HashAlg, SoftBinding, SoftBindingKind,
};
use provlog_core::hash::{Hash, sha256};
use provlog_core::index::entry::{IndexCommit, KeyOp, VendorKeyEvent};
use provlog_core::index::key::{IndexKey, entry_keys};
use provlog_core::index::proof::{LookupProof, ProvenEntry};
use provlog_core::index::store::MemoryStore;
use provlog_core::index::tree::{Batch, Index};
use provlog_core::note::{NoteSigner, SIG_ED25519};
use provlog_core::signed_claim::SignedClaim;
use provlog_core::tree::{MemoryTree, inclusion_proof, tree_root};

pub const ORIGIN: &str = "log.example/index-test";

pub fn signer(name: &str, seed: u8) -> NoteSigner {
    NoteSigner::from_seed(name, SIG_ED25519, [seed; 32]).unwrap()
}

/// What a test claim is made of (small pools, so keys repeat).
#[derive(Clone, Debug)]
pub struct ClaimSpec {
    pub asset: u8,
    pub hard: Option<u8>,
    pub soft: Vec<u8>,
    pub vendor: u8,
    pub seq: Option<u64>,
}

pub fn claim_of(s: &ClaimSpec) -> Claim {
    let name = format!("asset {}", s.asset);
    Claim {
        version: 1,
        asset: Asset {
            sha256: sha256(name.as_bytes()),
            media_type: "image/png".into(),
            size: 1000,
        },
        c2pa: s.hard.map(|h| C2paBinding {
            manifest_label: "urn:uuid:00000000-0000-4000-8000-000000000000".into(),
            claim_alg: HashAlg::Sha256,
            claim_hash: sha256(b"c2pa claim").to_vec(),
            hard_binding: HardBinding {
                kind: HardBindingKind::Data,
                alg: HashAlg::Sha256,
                hash: sha256(&[h]).to_vec(),
                exclusions: vec![],
            },
            validation: None,
        }),
        soft_bindings: {
            // Alternate kinds so one value can appear twice (one key).
            let mut out: Vec<SoftBinding> = Vec::new();
            for (j, v) in s.soft.iter().enumerate() {
                let b = SoftBinding {
                    kind: if j % 2 == 0 {
                        SoftBindingKind::Watermark
                    } else {
                        SoftBindingKind::Perceptual
                    },
                    alg: "com.example.wm".into(),
                    value: vec![*v, 1, 2],
                };
                if !out.contains(&b) {
                    out.push(b);
                }
            }
            out
        },
        generator: Generator {
            vendor: "Example".into(),
            tool: "Gen".into(),
            version: "1".into(),
        },
        created: 1_700_000_000,
        source_type: DigitalSourceType::TrainedAlgorithmicMedia,
        disclosure: Disclosure::default(),
        consent: None,
        sequence: s.seq,
    }
}

pub struct TestLog {
    pub log: NoteSigner,
    pub vendors: Vec<NoteSigner>,
    pub entries: Vec<Vec<u8>>,
    pub tree: MemoryTree,
    pub index: Index<MemoryStore>,
    /// Entries since the last commit not yet in the index.
    pub pending: Batch,
    /// When set, this (entry index, key) pair is left out of the index (a lying log).
    pub hide: Option<(u64, IndexKey)>,
}

impl TestLog {
    pub fn new() -> Self {
        Self {
            log: signer(ORIGIN, 1),
            vendors: vec![signer("vendor-a.example", 2), signer("vendor-b.example", 3)],
            entries: Vec::new(),
            tree: MemoryTree::new(),
            index: Index::new(MemoryStore::with_lists()),
            pending: Batch::new(),
            hide: None,
        }
    }

    pub fn vendor_vkey(&self, v: u8) -> String {
        self.vendors[v as usize % self.vendors.len()]
            .verifier_key()
            .to_vkey()
    }

    fn push(&mut self, entry: Vec<u8>) -> u64 {
        let i = self.entries.len() as u64;
        let keys: Vec<Hash> = entry_keys(&entry)
            .iter()
            .filter(|k| self.hide.as_ref() != Some(&(i, (*k).clone())))
            .map(IndexKey::hash)
            .collect();
        self.pending.add(i, &keys);
        self.tree.push_entry(&entry);
        self.entries.push(entry);
        i
    }

    pub fn add_claim(&mut self, s: &ClaimSpec) -> u64 {
        let v = &self.vendors[s.vendor as usize % self.vendors.len()];
        let signed =
            SignedClaim::sign(&claim_of(s), v.signing_key(), &v.verifier_key().to_vkey()).unwrap();
        self.push(signed.to_bytes().to_vec())
    }

    pub fn add_key_event(&mut self, op: KeyOp, vendor: u8, old: Option<u8>) -> u64 {
        let key = self.vendor_vkey(vendor);
        let old = old.map(|o| self.vendor_vkey(o));
        let ev =
            VendorKeyEvent::sign(op, &key, old.as_deref(), 1_700_000_000_000, &self.log).unwrap();
        self.push(ev.to_bytes())
    }

    /// Applies the pending batch and appends the index-commit; returns its index.
    pub fn commit(&mut self) -> u64 {
        let size = self.entries.len() as u64;
        let batch = std::mem::take(&mut self.pending);
        let root = self.index.commit_batch(batch, size).unwrap();
        let c = IndexCommit {
            size,
            root,
            keys: self.index.key_count(),
        };
        let bytes = c.to_bytes();
        self.tree.push_entry(&bytes);
        self.entries.push(bytes);
        size
    }

    pub fn size(&self) -> u64 {
        self.entries.len() as u64
    }

    pub fn checkpoint_at(&self, size: u64) -> Vec<u8> {
        let root = tree_root(&self.tree.at_size(size).unwrap(), size).unwrap();
        sign_checkpoint(
            &Checkpoint::new(ORIGIN, size, root).with_timestamp(1_700_000_000_000 + size),
            &self.log,
        )
        .unwrap()
    }

    pub fn inclusion(&self, index: u64, size: u64) -> Vec<Hash> {
        inclusion_proof(&self.tree.at_size(size).unwrap(), index, size).unwrap()
    }

    /// The lookup proof for `key` against the latest commit (the last entry).
    pub fn lookup(&self, key: &IndexKey, from: u64, with_entries: bool) -> LookupProof {
        let size = self.size();
        let commit_index = size - 1;
        let mut p = LookupProof::build(
            &self.index,
            key,
            from,
            self.entries[commit_index as usize].clone(),
            self.inclusion(commit_index, size),
            self.checkpoint_at(size),
        )
        .unwrap();
        if with_entries {
            p.entries = p
                .indexes()
                .iter()
                .map(|&i| ProvenEntry {
                    index: i,
                    entry: self.entries[i as usize].clone(),
                    proof: self.inclusion(i, size),
                })
                .collect();
        }
        p
    }

    /// The entries (and their indexes) that really carry `key`, below `size`.
    pub fn truth(&self, key: &IndexKey, size: u64) -> Vec<u64> {
        (0..size)
            .filter(|&i| entry_keys(&self.entries[i as usize]).contains(key))
            .collect()
    }
}
