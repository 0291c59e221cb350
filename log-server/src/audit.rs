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
use provlog_core::hash::{Hash, leaf_hash};
use provlog_core::index::entry::LogEntry;
use provlog_core::note::VerifierKey;
use provlog_core::signed_claim::SignedClaim;
use provlog_core::tile_builder::TileBuilder;
use provlog_core::tiles::{TILE_WIDTH, Tile, TileLevel, decode_bundle, entry_bundle};

use crate::keys::{LOG_KEY_FILE, load_private_key};
use crate::storage::{IndexStorage, LogStorage, TreeHead, tile_prefix};
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
    check_storage(&store, &store, &key.verifier_key())
}

/// Audits a log in any storage: the stored checkpoint must verify with
/// `key`; every entry is re-hashed into the core [`TileBuilder`], every hash
/// tile it builds must equal the stored one (at its width), both indexes
/// must hold every entry, and the entries must hash to the checkpoint root.
/// O(entries). `Err` when there is no checkpoint to audit.
pub fn check_storage(
    log: &dyn LogStorage,
    index: &dyn IndexStorage,
    key: &VerifierKey,
) -> Result<AuditReport, String> {
    let mut report = AuditReport::default();
    let note = log
        .checkpoint()
        .map_err(|e| e.to_string())?
        .ok_or("no checkpoint is stored: the log was never initialised")?;
    let cp = verify_checkpoint(&note, key)
        .map_err(|e| format!("the stored checkpoint does not verify with the log key: {e}"))?
        .checkpoint;
    report.size = cp.size;
    let head = TreeHead {
        size: cp.size,
        root: cp.root,
    };
    if let Err(e) = log.self_check(&head) {
        report.problem(e.to_string());
    }
    let mut builder = TileBuilder::new(true);
    // Every index-commit is checked against the index the entries give
    // (spec/lookup.md §7.1).
    let mut recompute = provlog_core::index::recompute::Recomputer::default();
    // The newest copy of each partial hash tile, compared at the end (the
    // intermediate ones are prefixes of it).
    let mut partial: std::collections::BTreeMap<(u8, u64), (Tile, Vec<u8>)> =
        std::collections::BTreeMap::new();
    for bundle in 0..cp.size.div_ceil(TILE_WIDTH) {
        let Some(tile) = entry_bundle(bundle, cp.size) else {
            break;
        };
        let raw = match log.tile(TileLevel::Entries, bundle) {
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
        let want = usize::from(tile.width);
        let raw = match tile_prefix(&tile, raw) {
            Ok(r) => r,
            Err(e) => {
                report.problem(format!(
                    "entry bundle {bundle} holds fewer than the {want} entries the tree needs: {e}"
                ));
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
            let at = bundle * TILE_WIDTH + i as u64;
            report.entries += 1;
            match recompute.push_entry(entry) {
                Ok(None) => match LogEntry::classify(entry) {
                    // The log's own vendor-key entries are in neither index;
                    // only the log key may sign them (spec/lookup.md §4.2).
                    LogEntry::VendorKey(ev) => {
                        if ev.verify(key).is_err() {
                            report.problem(format!(
                                "entry {at}: a vendor-key entry not signed by the log key"
                            ));
                        }
                    }
                    _ => check_indexes(index, entry, &leaf_hash(entry), at, &mut report),
                },
                Ok(Some(c)) if c.is_ok() => {}
                Ok(Some(c)) => report.problem(format!(
                    "entry {at}: the index-commit is wrong ({c:?}); lookups against it do not verify"
                )),
                Err(e) => report.problem(format!("entry {at}: index recomputation: {e}")),
            }
            if let Err(e) = builder.append(entry) {
                report.problem(format!("cannot append entry {at}: {e}"));
                return Ok(report);
            }
        }
        for (t, bytes) in builder.take_tiles() {
            let TileLevel::Hash(level) = t.level else {
                continue;
            };
            if t.is_full() {
                partial.remove(&(level, t.index));
                compare_tile(log, &t, &bytes, &mut report);
            } else {
                partial.insert((level, t.index), (t, bytes));
            }
        }
    }
    for (t, bytes) in partial.values() {
        compare_tile(log, t, bytes, &mut report);
    }
    if builder.root() != cp.root {
        report.problem(format!(
            "the entries hash to a root that differs from the checkpoint root at size {}",
            cp.size
        ));
    }
    Ok(report)
}

fn compare_tile(log: &dyn LogStorage, tile: &Tile, rebuilt: &[u8], report: &mut AuditReport) {
    report.tiles += 1;
    let TileLevel::Hash(level) = tile.level else {
        return;
    };
    let index = tile.index;
    match log.tile(tile.level, tile.index) {
        Ok(Some(stored)) if stored.get(..rebuilt.len()) == Some(rebuilt) => {}
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

fn check_indexes(
    index: &dyn IndexStorage,
    entry: &[u8],
    leaf: &Hash,
    at: u64,
    report: &mut AuditReport,
) {
    match index.index_of_leaf(leaf) {
        Ok(Some(i)) if i == at => {}
        Ok(Some(i)) => report.problem(format!(
            "entry {at}: the dedup index points to {i} (duplicate or corrupt entry)"
        )),
        Ok(None) => report.problem(format!("entry {at}: missing from the dedup index")),
        Err(e) => report.problem(format!("entry {at}: dedup index: {e}")),
    }
    match SignedClaim::from_bytes(entry) {
        Ok(c) => match index.has_asset_entry(&c.claim().asset.sha256, at) {
            Ok(true) => {}
            Ok(false) => report.problem(format!("entry {at}: missing from the asset index")),
            Err(e) => report.problem(format!("entry {at}: asset index: {e}")),
        },
        Err(e) => report.problem(format!("entry {at} is not a valid signed claim: {e}")),
    }
}
