//! Torn storage: damage a log's data directory the ways a disk (or an
//! operator) can, then start the real server on it. It must refuse to serve
//! with a clear message, or serve exactly the tree it acknowledged; never a
//! shorter or different tree. `provlog-server check` (the full audit) must
//! flag every damaged directory, including a byte changed inside an old full
//! tile that the fast start-up self-check deliberately does not re-hash.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use provlog_client::http::LogClient;
use provlog_core::checkpoint::verify_checkpoint;
use provlog_core::note::VerifierKey;
use provlog_core::tiles::{Tile, TileLevel, entry_bundles_for_size, hash_tiles_for_size};
use provlog_e2e::{LogProcess, Vendor, bin};
use provlog_server::storage::{LogStorage, StagedBatch, TreeHead};
use provlog_server::store::Store;

const ENTRIES: u64 = 700;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A pristine log: its data directory, key, size and every tile it served.
struct Pristine {
    _dir: tempfile::TempDir,
    data: PathBuf,
    vkey: String,
    size: u64,
    tiles: HashMap<String, Vec<u8>>,
}

fn all_tiles(size: u64) -> Vec<Tile> {
    hash_tiles_for_size(size)
        .chain(entry_bundles_for_size(size))
        .collect()
}

fn build_pristine(flush: bool) -> Pristine {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let log = LogProcess::start(&data, &["--batch-interval-ms", "5"]);
    let vendor = Vendor::new("torn.example");
    let rt = rt();
    let client = LogClient::new(&log.url).expect("client");
    // Several commits, so the journal holds several batches.
    let claims: Vec<Vec<u8>> = (0..ENTRIES).map(|i| vendor.claim(i)).collect();
    for chunk in claims.chunks(100) {
        rt.block_on(client.submit_batch(chunk)).expect("batch");
    }
    let key = VerifierKey::parse(&log.vkey).expect("vkey");
    let note = rt.block_on(client.checkpoint()).expect("checkpoint");
    let size = verify_checkpoint(&note, &key).expect("cp").checkpoint.size;
    assert_eq!(size, ENTRIES);
    let mut tiles = HashMap::new();
    for t in all_tiles(size) {
        tiles.insert(t.path(), rt.block_on(client.tile(&t)).expect("tile"));
    }
    let vkey = log.vkey.clone();
    if flush {
        assert!(log.stop(), "clean stop");
    } else {
        // A crash right after the last acknowledgement: everything is durable
        // in the journal only (a clean stop would flush it into tables).
        log.kill9();
    }
    if flush {
        // Move everything from the journal into table files.
        let store = Store::open(&data).expect("open store");
        store.flush().expect("flush");
    }
    Pristine {
        _dir: dir,
        data,
        vkey,
        size,
        tiles,
    }
}

/// A copy of the pristine data directory to damage.
fn copy_of(p: &Pristine) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let to = dir.path().join("data");
    let status = Command::new("cp")
        .arg("-a")
        .arg(&p.data)
        .arg(&to)
        .status()
        .expect("cp");
    assert!(status.success());
    (dir, to)
}

/// `provlog-server check --data DIR`: (exit ok, stdout + stderr).
fn audit(data: &Path) -> (bool, String) {
    let out = Command::new(bin("provlog-server"))
        .args(["check", "--data"])
        .arg(data)
        .env("RUST_LOG", "error")
        .output()
        .expect("run check");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Starts the server on a damaged directory. If it serves, it must serve the
/// acknowledged tree exactly (each tile identical, or an error status, never
/// different bytes). Returns the refusal message, or `None` if it served.
fn start_damaged(p: &Pristine, data: &Path, case: &str) -> Option<String> {
    match LogProcess::try_start(data, &[]) {
        Err(msg) => Some(msg),
        Ok(log) => {
            assert_eq!(log.vkey, p.vkey, "{case}: same log key");
            let rt = rt();
            let client = LogClient::new(&log.url).expect("client");
            let key = VerifierKey::parse(&p.vkey).expect("vkey");
            let note = rt.block_on(client.checkpoint()).expect("checkpoint");
            let cp = verify_checkpoint(&note, &key).expect("cp").checkpoint;
            assert_eq!(
                cp.size, p.size,
                "{case}: the server serves a tree of a different size"
            );
            for t in all_tiles(p.size) {
                // A read error (5xx) is fine; different bytes are not.
                if let Ok(bytes) = rt.block_on(client.tile(&t))
                    && bytes != p.tiles[&t.path()]
                {
                    drop(log);
                    return Some(format!("SERVED WRONG {}", t.path()));
                }
            }
            assert!(log.stop());
            None
        }
    }
}

fn journal(data: &Path) -> PathBuf {
    let db = data.join("db");
    let mut jnls: Vec<PathBuf> = std::fs::read_dir(&db)
        .expect("db dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jnl"))
        .collect();
    jnls.sort();
    jnls.pop().expect("a journal file")
}

/// Length of the journal up to its last non-zero byte (it is preallocated).
fn journal_used(path: &Path) -> usize {
    let bytes = std::fs::read(path).expect("read journal");
    bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1)
}

fn flip_byte(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).expect("read");
    bytes[at] ^= 0x20;
    std::fs::write(path, bytes).expect("write");
}

/// Rewrites one stored tile with a byte flipped, through the store itself
/// (so storage checksums stay valid: a logical, not a media, corruption):
/// staged and swapped in with the same checkpoint and tree state.
fn corrupt_tile_logically(data: &Path, level: TileLevel, index: u64, width: u16) {
    let store = Store::open(data).expect("open");
    let mut bytes = store
        .tile(level, index)
        .expect("read")
        .expect("tile exists");
    // Inside a hash, or inside the first entry's bytes (not a length prefix).
    let at = match level {
        TileLevel::Entries => 100,
        TileLevel::Hash(_) => bytes.len() / 2,
    };
    bytes[at] ^= 1;
    let checkpoint = store.checkpoint().expect("cp").expect("cp stored");
    let tree = store.tree_state().expect("tree").expect("tree stored");
    let root = provlog_core::tree::CompactRange::from_parts(tree.size, tree.peaks.clone())
        .expect("range")
        .root();
    let head = TreeHead {
        size: tree.size,
        root,
    };
    let batch = StagedBatch {
        tiles: vec![(
            Tile {
                level,
                index,
                width,
            },
            bytes,
        )],
        peaks: tree.peaks,
    };
    store.stage(&head, &batch).expect("stage");
    store
        .swap_checkpoint(Some(&checkpoint), &checkpoint, &head)
        .expect("swap");
    store.settle(&head).expect("settle");
}

fn assert_refused(refusal: Option<String>, case: &str, mentions: &str) {
    let msg = refusal.unwrap_or_else(|| panic!("{case}: the server served a damaged directory"));
    assert!(
        !msg.starts_with("SERVED WRONG"),
        "{case}: the server served wrong bytes: {msg}"
    );
    assert!(
        msg.contains(mentions),
        "{case}: the refusal should say {mentions:?}: {msg}"
    );
}

#[test]
fn damaged_journal_or_missing_files_are_refused_never_served_short() {
    let p = build_pristine(false);
    // The pristine copy serves and audits clean.
    let (_d, data) = copy_of(&p);
    assert_eq!(start_damaged(&p, &data, "pristine"), None);
    let (ok, out) = audit(&data);
    assert!(ok, "pristine audit: {out}");
    assert!(out.contains("ok: 700 entries"), "{out}");

    // A lost tail: the journal cut short at several points. fjall recovers
    // an older, self-consistent prefix; the high-water mark must catch it.
    let used = journal_used(&journal(&p.data));
    for cut in [used - 1, used * 3 / 4, used / 3, 64] {
        let case = format!("journal truncated to {cut} of {used} bytes");
        let (_d, data) = copy_of(&p);
        let j = journal(&data);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&j)
            .and_then(|f| f.set_len(cut as u64))
            .expect("truncate");
        assert_refused(
            start_damaged(&p, &data, &case),
            &case,
            "lost acknowledged entries",
        );
        assert!(!audit(&data).0, "{case}: audit must fail");
    }

    // A flipped byte in the journal: fjall's checksums refuse it.
    for at in (1..=12).map(|k| used * k / 13).chain([used - 10, 40]) {
        let case = format!("journal byte {at} flipped");
        let (_d, data) = copy_of(&p);
        flip_byte(&journal(&data), at);
        assert_refused(start_damaged(&p, &data, &case), &case, "refusing to serve");
        assert!(!audit(&data).0, "{case}: audit must fail");
    }

    // The journal or the whole database deleted.
    for (case, what) in [("journal deleted", "jnl"), ("database deleted", "db")] {
        let (_d, data) = copy_of(&p);
        if what == "db" {
            std::fs::remove_dir_all(data.join("db")).expect("rm db");
        } else {
            std::fs::remove_file(journal(&data)).expect("rm journal");
        }
        assert_refused(
            start_damaged(&p, &data, case),
            case,
            "lost acknowledged entries",
        );
    }

    // The high-water mark itself destroyed (both slots).
    let (_d, data) = copy_of(&p);
    std::fs::write(data.join("tree-head"), vec![0x55u8; 128]).expect("write");
    assert_refused(
        start_damaged(&p, &data, "tree-head garbage"),
        "tree-head garbage",
        "both slots are corrupt",
    );
    // One slot torn: the other still holds a mark; the log serves.
    let (_d, data) = copy_of(&p);
    flip_byte(&data.join("tree-head"), 20);
    assert_eq!(start_damaged(&p, &data, "one slot torn"), None);

    // The log key readable by others, or missing.
    let (_d, data) = copy_of(&p);
    let key = data.join("log.key");
    assert_eq!(
        std::fs::metadata(&key).expect("key").permissions().mode() & 0o777,
        0o600,
        "the log key is created 0600"
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    assert_refused(
        start_damaged(&p, &data, "key 0644"),
        "key 0644",
        "readable by group or others",
    );
    std::fs::remove_file(&key).expect("rm key");
    // No new key is made for a directory that held a log.
    assert_refused(
        start_damaged(&p, &data, "key deleted"),
        "key deleted",
        "restore log.key from a backup",
    );
    assert!(!key.exists(), "key deleted: no new key written");
    // Both keys lost: a new key is made, but the stored checkpoint is not
    // signed by it.
    std::fs::remove_file(data.join("log-mldsa.key")).expect("rm ML-DSA key");
    assert_refused(
        start_damaged(&p, &data, "both keys deleted"),
        "both keys deleted",
        "does not verify with this log's key",
    );
}

#[test]
fn flipped_bytes_in_tiles_and_tables() {
    let p = build_pristine(true);
    let (_d, data) = copy_of(&p);
    assert_eq!(start_damaged(&p, &data, "pristine (flushed)"), None);
    assert!(audit(&data).0, "pristine flushed audit");

    // Right edge (partial tiles): the fast start-up self-check catches it.
    // At size 700: level-0 tile 2 is partial (188 hashes), bundle 2 too.
    for (case, level, index, width) in [
        ("partial level-0 tile", TileLevel::Hash(0), 2, 188u16),
        ("partial level-1 tile", TileLevel::Hash(1), 0, 2),
        ("partial entry bundle", TileLevel::Entries, 2, 188),
    ] {
        let (_d, data) = copy_of(&p);
        corrupt_tile_logically(&data, level, index, width);
        assert_refused(start_damaged(&p, &data, case), case, "refusing to serve");
        let (ok, out) = audit(&data);
        assert!(!ok, "{case}: audit must fail: {out}");
    }

    // Inside old full tiles: the start-up check does not re-hash them (it
    // stays O(log n)); the full audit must find them, naming the tile.
    for (case, level, index, mentions) in [
        (
            "full level-0 tile",
            TileLevel::Hash(0),
            0,
            "hash tile level 0 index 0 differs",
        ),
        (
            "full entry bundle",
            TileLevel::Entries,
            1,
            "hash tile level 0 index 1 differs from the hashes of its entries",
        ),
    ] {
        let (_d, data) = copy_of(&p);
        corrupt_tile_logically(&data, level, index, 256);
        let (ok, out) = audit(&data);
        assert!(!ok, "{case}: the audit must fail");
        assert!(out.contains(mentions), "{case}: {out}");
    }

    // Media corruption inside table files: a byte flipped in each table
    // file in turn. The server either refuses, or serves only correct bytes
    // (fjall's block checksums turn a damaged block into an error, never
    // into different data); the audit flags every one that it can read.
    let tables: Vec<PathBuf> = walk(&data)
        .into_iter()
        .filter(|f| f.parent().is_some_and(|d| d.ends_with("tables")))
        .collect();
    assert!(!tables.is_empty(), "flushing made table files");
    let mut audited_bad = 0;
    for t in &tables {
        let rel = t.strip_prefix(&data).expect("rel").to_path_buf();
        let len = std::fs::metadata(t).expect("meta").len() as usize;
        for at in [len / 3, len / 2] {
            let case = format!("{} byte {at} flipped", rel.display());
            let (_d, copy) = copy_of(&p);
            flip_byte(&copy.join(&rel), at);
            if let Some(msg) = start_damaged(&p, &copy, &case) {
                assert!(!msg.starts_with("SERVED WRONG"), "{case}: {msg}");
            }
            if !audit(&copy).0 {
                audited_bad += 1;
            }
        }
    }
    println!(
        "{} table files, {} flips, {audited_bad} flagged by the audit, none served wrong",
        tables.len(),
        tables.len() * 2
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)
            .expect("read_dir")
            .filter_map(Result::ok)
        {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}
