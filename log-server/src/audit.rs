//! `provlog-server check`: a full offline audit of a data directory.
//!
//! The start-up self-check is O(log n): it verifies the stored checkpoint's
//! signature, that the stored tree state hashes to its root, that the
//! right-edge tiles reproduce that root, and that the partial entry bundle
//! hashes to the partial level-0 tile. It does not re-read full tiles and
//! bundles left of the edge, so that a restart stays fast at 10M entries.
//! A byte changed inside an old full tile with its storage checksum intact
//! (a bug, a bad RAM bit before the checksum was taken, a hand edit) is
//! therefore only found by this audit, which re-hashes every entry, rebuilds
//! every hash tile and compares it byte for byte, and checks both indexes.
//! It is O(n): run it with the server stopped, after a disk incident, or
//! periodically on a copy.

use std::path::Path;

use provlog_core::checkpoint::verify_checkpoint;
use provlog_core::hash::{HASH_SIZE, Hash, leaf_hash};
use provlog_core::signed_claim::SignedClaim;
use provlog_core::tiles::{TileLevel, decode_bundle};
use provlog_core::tree::CompactRange;

use crate::keys::{LOG_KEY_FILE, load_private_key};
use crate::store::Store;

/// Most problems listed in a report (all are counted).
const MAX_LISTED: usize = 20;

/// What the audit found.
#[derive(Debug, Default)]
pub struct AuditReport {
    /// Tree size of the stored checkpoint.
    pub size: u64,
    /// Entries re-hashed.
    pub entries: u64,
    /// Hash tiles rebuilt and compared.
    pub tiles: u64,
    /// Number of problems found.
    pub problems: u64,
    /// The first problems, in the order found.
    pub listed: Vec<String>,
}

impl AuditReport {
    fn problem(&mut self, p: String) {
        self.problems += 1;
        if self.listed.len() < MAX_LISTED {
            self.listed.push(p);
        }
    }

    /// Whether the data directory passed.
    pub fn ok(&self) -> bool {
        self.problems == 0
    }
}

/// Audits the log in `data`. `Err` when it cannot even be opened.
pub fn check(data: &Path) -> Result<AuditReport, String> {
    let key = load_private_key(&data.join(LOG_KEY_FILE)).map_err(|e| e.to_string())?;
    let store = Store::open(data).map_err(|e| e.to_string())?;
    let mut report = AuditReport::default();
    let note = store
        .checkpoint()
        .map_err(|e| e.to_string())?
        .ok_or("no checkpoint is stored: the log was never initialised")?;
    let cp = verify_checkpoint(&note, &key.verifier_key())
        .map_err(|e| format!("the stored checkpoint does not verify with the log key: {e}"))?
        .checkpoint;
    report.size = cp.size;
    match store.tree_state() {
        Ok(Some(t)) if t.size == cp.size => match CompactRange::from_parts(t.size, t.peaks) {
            Ok(r) if r.root() == cp.root => {}
            Ok(_) => {
                report.problem("the stored tree state does not hash to the checkpoint root".into())
            }
            Err(e) => report.problem(format!("the stored tree state is invalid: {e}")),
        },
        Ok(Some(t)) => report.problem(format!(
            "the stored tree state has {} entries, the checkpoint {}",
            t.size, cp.size
        )),
        Ok(None) => report.problem("no tree state is stored".into()),
        Err(e) => report.problem(e.to_string()),
    }

    let mut range = CompactRange::new();
    // Hash tiles being rebuilt, per tile level: (tile index, bytes).
    let mut building: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut completed: Vec<(u8, u64, Vec<u8>)> = Vec::new();
    for bundle in 0..cp.size.div_ceil(256) {
        let want = (cp.size - bundle * 256).min(256) as usize;
        let raw = match store.raw_tile(TileLevel::Entries, bundle) {
            Ok(Some(raw)) => raw,
            Ok(None) => {
                report.problem(format!("entry bundle {bundle} is missing"));
                return Ok(report);
            }
            Err(e) => {
                report.problem(format!("entry bundle {bundle} cannot be read: {e}"));
                return Ok(report);
            }
        };
        let entries = match decode_bundle(&raw) {
            Ok(e) if e.len() == want => e,
            Ok(e) => {
                report.problem(format!(
                    "entry bundle {bundle} holds {} entries, the tree needs {want}",
                    e.len()
                ));
                return Ok(report);
            }
            Err(e) => {
                report.problem(format!("entry bundle {bundle} is corrupt: {e}"));
                return Ok(report);
            }
        };
        for (i, entry) in entries.iter().enumerate() {
            let index = bundle * 256 + i as u64;
            let leaf = leaf_hash(entry);
            report.entries += 1;
            check_indexes(&store, entry, &leaf, index, &mut report);
            let appended = range.append(leaf, |node, hash| {
                if !node.level.is_multiple_of(8) {
                    return;
                }
                let tl = usize::from(node.level / 8);
                while building.len() <= tl {
                    building.push((0, Vec::new()));
                }
                let t = &mut building[tl];
                t.1.extend_from_slice(&hash);
                if t.1.len() == 256 * HASH_SIZE {
                    completed.push((tl as u8, t.0, std::mem::take(&mut t.1)));
                    t.0 += 1;
                }
            });
            if let Err(e) = appended {
                report.problem(format!("cannot append entry {index}: {e}"));
                return Ok(report);
            }
            for (level, index, bytes) in completed.drain(..) {
                compare_tile(&store, level, index, &bytes, &mut report);
            }
        }
    }
    for (level, (index, bytes)) in building.iter().enumerate() {
        if !bytes.is_empty() {
            compare_tile(&store, level as u8, *index, bytes, &mut report);
        }
    }
    if range.root() != cp.root {
        report.problem(format!(
            "the entries hash to a root that differs from the checkpoint root at size {}",
            cp.size
        ));
    }
    Ok(report)
}

fn compare_tile(store: &Store, level: u8, index: u64, rebuilt: &[u8], report: &mut AuditReport) {
    report.tiles += 1;
    match store.raw_tile(TileLevel::Hash(level), index) {
        Ok(Some(stored)) if stored == rebuilt => {}
        Ok(Some(stored)) => {
            let first = stored
                .iter()
                .zip(rebuilt)
                .position(|(a, b)| a != b)
                .unwrap_or(stored.len().min(rebuilt.len()));
            report.problem(format!(
                "hash tile level {level} index {index} differs from the hashes of its entries (first at byte {first}; stored {} bytes, rebuilt {})",
                stored.len(),
                rebuilt.len()
            ));
        }
        Ok(None) => report.problem(format!("hash tile level {level} index {index} is missing")),
        Err(e) => report.problem(format!(
            "hash tile level {level} index {index} cannot be read: {e}"
        )),
    }
}

fn check_indexes(store: &Store, entry: &[u8], leaf: &Hash, index: u64, report: &mut AuditReport) {
    match store.index_of_leaf(leaf) {
        Ok(Some(i)) if i == index => {}
        Ok(Some(i)) => report.problem(format!(
            "entry {index}: the dedup index points to {i} (duplicate or corrupt entry)"
        )),
        Ok(None) => report.problem(format!("entry {index}: missing from the dedup index")),
        Err(e) => report.problem(format!("entry {index}: dedup index: {e}")),
    }
    match SignedClaim::from_bytes(entry) {
        Ok(c) => match store.lookup_asset_at(&c.claim().asset.sha256, index) {
            Ok(true) => {}
            Ok(false) => report.problem(format!("entry {index}: missing from the asset index")),
            Err(e) => report.problem(format!("entry {index}: asset index: {e}")),
        },
        Err(e) => report.problem(format!("entry {index} is not a valid signed claim: {e}")),
    }
}
