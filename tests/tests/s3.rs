//! The S3 backend against a real SeaweedFS (`weed mini`, started and
//! stopped by each test; see `provlog_e2e::seaweed`): no mocks.
//!
//! - the storage contract, run the same way on the memory, fjall and S3
//!   backends (batches across tile boundaries, duplicates, refresh,
//!   restart, full audit, every entry and index answer checked);
//! - the checkpoint compare-and-swap: a second writer gets a conflict, is
//!   fenced, and publishes nothing;
//! - a crash between stage and swap (the batch is discarded, no tile of it
//!   is ever public) and between swap and settle (the next start finishes
//!   it from the staging object, and the index catches up from bundles);
//! - the server end to end on S3, then the read path with the server
//!   stopped: checkpoint and tiles fetched straight from the bucket over
//!   anonymous HTTP and verified by provlog-core and by `tlog_tiles`;
//!   `provlog-server reindex` rebuilds a deleted index to the same answers;
//! - a second server on the same bucket stops with a clear message;
//! - SIGKILL under load, restart, nothing acknowledged lost, no fork.
//!
//! Without `weed` installed the tests are skipped (with the install
//! command), except under `CI=true`, where they fail.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use provlog_client::http::LogClient;
use provlog_core::checkpoint::{Checkpoint, sign_checkpoint, verify_checkpoint};
use provlog_core::hash::{Hash, leaf_hash};
use provlog_core::note::{NoteSigner, VerifierKey};
use provlog_core::policy::Policy;
use provlog_core::proof::{verify_consistency, verify_inclusion};
use provlog_core::signed_claim::SignedClaim;
use provlog_core::tile_builder::TileBuilder;
use provlog_core::tiles::{TileLevel, TileNodeReader};
use provlog_core::tree::{consistency_proof, inclusion_proof, tree_root};
use provlog_e2e::seaweed::Seaweed;
use provlog_e2e::{LogProcess, Vendor, download_tree};
use provlog_server::audit::check_storage;
use provlog_server::backend::{S3_INDEX_DIR, prepare_s3};
use provlog_server::local_index::LocalIndex;
use provlog_server::memory::MemoryStorage;
use provlog_server::metrics::Metrics;
use provlog_server::s3::{
    CACHE_CHECKPOINT, CACHE_FULL, CACHE_PARTIAL, S3Location, S3Storage, tiles_of,
};
use provlog_server::sequencer::{Claim, Sequencer, logged_at};
use provlog_server::storage::{
    IndexStorage, LogStorage, StagedBatch, StorageError, StorageTiles, TreeHead, read_entry,
};
use provlog_server::store::Store;

const BUCKET: &str = "provlog";

fn signer() -> NoteSigner {
    NoteSigner::from_seed("s3.test/log", 0x01, [5u8; 32]).expect("signer")
}

fn key() -> VerifierKey {
    signer().verifier_key()
}

fn claim_of(entry: Vec<u8>) -> Claim {
    let asset = SignedClaim::from_bytes(&entry)
        .expect("claim")
        .claim()
        .asset
        .sha256;
    Claim {
        leaf: leaf_hash(&entry),
        asset,
        entry,
        index_keys: None,
        bindings: None,
    }
}

fn head_of(note: &[u8]) -> TreeHead {
    let cp = verify_checkpoint(note, &key())
        .expect("checkpoint")
        .checkpoint;
    TreeHead {
        size: cp.size,
        root: cp.root,
    }
}

/// A backend the contract runs on: `open` is a (re)start on the same
/// durable state; the previous handles are dropped first.
trait Backend {
    fn open(&self) -> (Arc<dyn LogStorage>, Arc<dyn IndexStorage>);
    /// Backend-specific checks after recovery.
    fn after_recovery(&self, _head: &TreeHead) {}
}

struct Memory(Arc<MemoryStorage>);
impl Backend for Memory {
    fn open(&self) -> (Arc<dyn LogStorage>, Arc<dyn IndexStorage>) {
        (self.0.clone(), self.0.clone())
    }
    fn after_recovery(&self, _head: &TreeHead) {
        assert_eq!(self.0.staged_batches(), 0, "nothing stays staged");
    }
}

struct Fjall(tempfile::TempDir);
impl Backend for Fjall {
    fn open(&self) -> (Arc<dyn LogStorage>, Arc<dyn IndexStorage>) {
        let s = Store::open(self.0.path()).expect("fjall");
        (Arc::new(s.clone()), Arc::new(s))
    }
}

struct S3 {
    loc: S3Location,
    index_dir: tempfile::TempDir,
}
impl S3 {
    fn new(sw: &Seaweed, prefix: &str) -> S3 {
        S3 {
            loc: S3Location::parse(&sw.storage(prefix), Some(sw.endpoint.clone())).expect("loc"),
            index_dir: tempfile::tempdir().expect("tempdir"),
        }
    }
    fn storage(&self) -> S3Storage {
        S3Storage::open(&self.loc).expect("s3")
    }
    fn index(&self) -> LocalIndex {
        LocalIndex::open(&self.index_dir.path().join(S3_INDEX_DIR)).expect("index")
    }
}
impl Backend for S3 {
    fn open(&self) -> (Arc<dyn LogStorage>, Arc<dyn IndexStorage>) {
        let s3 = self.storage();
        let index = self.index();
        prepare_s3(&s3, &index, &key()).expect("start-up settle and index catch-up");
        (Arc::new(s3), Arc::new(index))
    }
    fn after_recovery(&self, head: &TreeHead) {
        let staging = self.storage().list_staging().expect("list");
        assert!(
            staging.is_empty(),
            "no staging object is left at {}: {staging:?}",
            head.size
        );
    }
}

fn open_seq(log: &Arc<dyn LogStorage>, index: &Arc<dyn IndexStorage>, now: u64) -> Sequencer {
    Sequencer::open(
        log.clone(),
        index.clone(),
        provlog_core::checkpoint::LogSigner::new(signer(), None).expect("log signer"),
        Arc::new(Metrics::new()),
        now,
    )
    .expect("sequencer opens")
}

/// A sequencer with the storage it runs on.
type Opened = (Sequencer, Arc<dyn LogStorage>, Arc<dyn IndexStorage>);

/// Everything the contract checks after each step.
struct Contract<'a> {
    backend: &'a dyn Backend,
    vendor: Vendor,
    now: u64,
    /// Acknowledged: leaf -> (index, entry).
    acked: HashMap<Hash, (u64, Vec<u8>)>,
    /// Every checkpoint seen in a receipt.
    seen: Vec<Vec<u8>>,
    seq: Option<Opened>,
}

impl Contract<'_> {
    fn restart(&mut self) {
        self.seq = None;
        let (log, index) = self.backend.open();
        self.now += 10;
        let seq = open_seq(&log, &index, self.now);
        self.seq = Some((seq, log, index));
    }

    /// Commits claims `ids`; every one must be acknowledged, at its old
    /// index if it was before.
    fn batch(&mut self, ids: &[u64]) -> Vec<u64> {
        self.now += 10;
        let claims: Vec<Claim> = ids
            .iter()
            .map(|&i| claim_of(self.vendor.claim(i)))
            .collect();
        let (seq, _, _) = self.seq.as_mut().expect("open");
        let results = seq.commit(claims.clone(), self.now);
        let policy = Policy::single_log(key());
        let mut out = Vec::new();
        for (c, r) in claims.iter().zip(results) {
            let s = r.expect("acknowledged");
            s.receipt.verify(&policy).expect("the receipt verifies");
            if let Some(&(was, _)) = self.acked.get(&c.leaf) {
                assert_eq!(was, s.receipt.index, "a duplicate gets its original index");
                assert!(s.duplicate);
            }
            self.acked
                .insert(c.leaf, (s.receipt.index, c.entry.clone()));
            self.seen.push(s.receipt.checkpoint.clone());
            out.push(s.receipt.index);
        }
        out
    }

    /// Restarts, then checks the recovered log in full.
    fn check(&mut self) {
        self.restart();
        let (_, log, index) = self.seq.as_ref().expect("open");
        let note = log.checkpoint().expect("read").expect("a checkpoint");
        let head = head_of(&note);
        self.backend.after_recovery(&head);
        let report = check_storage(&**log, &**index, &key()).expect("audit runs");
        assert!(report.ok(), "the full audit passes: {:?}", report.listed);
        let tiles = TileNodeReader::new(StorageTiles(&**log), head.size);
        assert_eq!(tree_root(&tiles, head.size).expect("root"), head.root);
        assert_eq!(
            self.acked.len() as u64,
            head.size,
            "every entry acknowledged"
        );
        for (leaf, (i, entry)) in &self.acked {
            assert_eq!(&read_entry(&**log, *i, head.size).expect("entry"), entry);
            assert_eq!(
                logged_at(&**index, &tiles, leaf, head.size).expect("dedup"),
                Some(*i)
            );
            let asset = claim_of(entry.clone()).asset;
            assert!(index.has_asset_entry(&asset, *i).expect("asset"));
            assert!(index.lookup_asset(&asset, 100).expect("lookup").contains(i));
        }
        // Every checkpoint a receipt carried is a prefix of this tree.
        let mut by_size = BTreeMap::new();
        for n in &self.seen {
            let h = head_of(n);
            if let Some(prev) = by_size.insert(h.size, h.root) {
                assert_eq!(prev, h.root, "two checkpoints of size {} differ", h.size);
            }
            assert_eq!(tree_root(&tiles, h.size).expect("prefix"), h.root);
        }
    }
}

/// The contract every backend keeps, step by step.
fn contract(backend: &dyn Backend) {
    let mut c = Contract {
        backend,
        vendor: Vendor::new("vendor.example"),
        now: 1_800_000_000_000,
        acked: HashMap::new(),
        seen: Vec::new(),
        seq: None,
    };
    c.restart();
    // Across a full bundle and into the next; then partial growth.
    assert_eq!(
        c.batch(&(0..300).collect::<Vec<_>>()),
        (0..300).collect::<Vec<_>>()
    );
    assert_eq!(c.batch(&[300, 301, 5, 300]), vec![300, 301, 5, 300]);
    {
        let (seq, _, _) = c.seq.as_mut().expect("open");
        seq.refresh(c.now + 5).expect("refresh");
    }
    c.check();
    // After a restart the tree continues where it was.
    assert_eq!(c.batch(&[302, 0, 303]), vec![302, 0, 303]);
    c.batch(&(304..560).collect::<Vec<_>>());
    c.check();
    // A batch of duplicates only commits nothing.
    let before = {
        let (_, log, _) = c.seq.as_ref().expect("open");
        log.checkpoint().expect("read")
    };
    c.batch(&[1, 2, 3]);
    let after = {
        let (_, log, _) = c.seq.as_ref().expect("open");
        log.checkpoint().expect("read")
    };
    assert_eq!(before, after);
    c.check();
}

#[test]
fn the_storage_contract_holds_on_memory_fjall_and_s3() {
    contract(&Memory(Arc::new(MemoryStorage::new())));
    contract(&Fjall(tempfile::tempdir().expect("tempdir")));
    let Some(sw) = Seaweed::start(BUCKET) else {
        return;
    };
    contract(&S3::new(&sw, "contract"));
    // Under a nested prefix too, and at the bucket root.
    contract(&S3::new(&sw, "a/b/c"));
    contract(&S3::new(&sw, ""));
}

#[test]
fn the_checkpoint_swap_is_compare_and_swap_and_a_second_writer_is_fenced() {
    let Some(sw) = Seaweed::start(BUCKET) else {
        return;
    };
    let b = S3::new(&sw, "cas");
    let (log_a, index_a) = b.open();
    let mut a = open_seq(&log_a, &index_a, 1_800_000_000_000);
    let vendor = Vendor::new("vendor.example");
    // A second sequencer on the same bucket (its own index).
    let s3_b = Arc::new(b.storage());
    let fence_b = s3_b.fenced();
    let log_b: Arc<dyn LogStorage> = s3_b.clone();
    let index_b: Arc<dyn IndexStorage> =
        Arc::new(LocalIndex::open(&b.index_dir.path().join("other")).expect("index"));
    let mut other = open_seq(&log_b, &index_b, 1_800_000_000_001);
    // A commits; B's expected checkpoint is now stale.
    let r = a.commit(vec![claim_of(vendor.claim(1))], 1_800_000_000_010);
    assert!(r.iter().all(Result::is_ok));
    let r = other.commit(vec![claim_of(vendor.claim(2))], 1_800_000_000_020);
    assert!(
        r.iter().all(Result::is_err),
        "the second writer publishes nothing"
    );
    let why = fence_b.reason().expect("the second writer is fenced");
    assert!(why.contains("another sequencer"), "{why}");
    // Fenced: every later write fails, even with the right checkpoint.
    let note = log_b.checkpoint().expect("read").expect("checkpoint");
    let head = head_of(&note);
    assert!(matches!(
        log_b.stage(&head, &StagedBatch::default()),
        Err(StorageError::Conflict(_))
    ));
    assert!(matches!(
        log_b.settle(&head),
        Err(StorageError::Conflict(_))
    ));
    let r = other.commit(vec![claim_of(vendor.claim(3))], 1_800_000_000_030);
    assert!(r.iter().all(Result::is_err));
    // A goes on; the bucket holds A's claims only.
    let r = a.commit(vec![claim_of(vendor.claim(4))], 1_800_000_000_040);
    assert_eq!(r[0].as_ref().expect("ok").receipt.index, 1);
    let head = head_of(&log_a.checkpoint().expect("read").expect("checkpoint"));
    assert_eq!(head.size, 2);
    let tiles = TileNodeReader::new(StorageTiles(&*log_a), 2);
    assert_eq!(tree_root(&tiles, 2).expect("root"), head.root);
    assert_eq!(
        read_entry(&*log_a, 1, 2).expect("entry"),
        vendor.claim(4),
        "the fenced writer's claim is not in the log"
    );
    // The very first checkpoint is If-None-Match: a second creation fails.
    let fresh = S3::new(&sw, "cas-create");
    let (one, two) = (fresh.storage(), fresh.storage());
    let empty = TreeHead {
        size: 0,
        root: provlog_core::hash::EMPTY_ROOT,
    };
    let cp = |ts: u64| {
        sign_checkpoint(
            &Checkpoint {
                origin: "s3.test/log".into(),
                size: 0,
                root: empty.root,
                extensions: vec![],
            }
            .with_timestamp(ts),
            &signer(),
        )
        .expect("sign")
    };
    one.swap_checkpoint(None, &cp(1), &empty)
        .expect("first create");
    assert!(matches!(
        two.swap_checkpoint(None, &cp(2), &empty),
        Err(StorageError::Conflict(_))
    ));
    assert_eq!(two.checkpoint().expect("read"), Some(cp(1)));
}

/// Builds the next batch of `entries` on the stored tree by hand (what the
/// sequencer does), staging tiles and index entries; returns the head and
/// the signed note.
fn stage_by_hand(
    log: &dyn LogStorage,
    index: &dyn IndexStorage,
    entries: &[Vec<u8>],
    ts: u64,
) -> (TreeHead, Vec<u8>, Vec<u8>) {
    let old = log.checkpoint().expect("read").expect("checkpoint");
    // What every start does first (idempotent).
    log.settle(&head_of(&old)).expect("settle");
    let size = head_of(&old).size;
    let mut b = TileBuilder::resume(size, &StorageTiles(log), true).expect("resume");
    let mut dedup = Vec::new();
    let mut assets = Vec::new();
    for e in entries {
        let i = b.append(e).expect("append");
        let c = claim_of(e.clone());
        dedup.push((c.leaf, i));
        assets.push((c.asset, i));
    }
    let head = TreeHead {
        size: b.size(),
        root: b.root(),
    };
    let note = sign_checkpoint(
        &Checkpoint {
            origin: "s3.test/log".into(),
            size: head.size,
            root: head.root,
            extensions: vec![],
        }
        .with_timestamp(ts),
        &signer(),
    )
    .expect("sign");
    let batch = StagedBatch {
        tiles: b.take_tiles(),
        peaks: b.range().peaks().to_vec(),
    };
    log.stage(&head, &batch).expect("stage");
    index.stage_indexes(&head, &dedup, &assets).expect("index");
    (head, old, note)
}

#[test]
fn a_crash_between_the_steps_of_a_commit_never_loses_or_forks() {
    let Some(sw) = Seaweed::start(BUCKET) else {
        return;
    };
    let b = S3::new(&sw, "crash");
    let vendor = Vendor::new("vendor.example");
    let claims = |r: std::ops::Range<u64>| -> Vec<Vec<u8>> { r.map(|i| vendor.claim(i)).collect() };
    {
        let (log, index) = b.open();
        let mut seq = open_seq(&log, &index, 1_800_000_000_000);
        let r = seq.commit(
            claims(0..250).into_iter().map(claim_of).collect(),
            1_800_000_000_010,
        );
        assert!(r.iter().all(Result::is_ok));
    }
    // Crash between stage and swap: staged, never swapped in.
    let lost = claims(250..270);
    {
        let (log, index) = b.open();
        let (head, _, _) = stage_by_hand(&*log, &*index, &lost, 1_800_000_000_020);
        assert_eq!(head.size, 270);
        // Dropped here: the process dies before the swap.
    }
    let s3 = b.storage();
    assert_eq!(
        s3.list_staging().expect("list").len(),
        1,
        "the orphan batch is staged"
    );
    {
        let (log, index) = b.open();
        let head = head_of(&log.checkpoint().expect("read").expect("cp"));
        assert_eq!(
            head.size, 250,
            "the batch that was not swapped in is not in the log"
        );
        // None of its tiles is public (no CDN can have cached one).
        for t in ["tile/entries/000", "tile/0/000", "tile/entries/001.p/14"] {
            assert_eq!(s3.get_object(t, 1 << 20).expect("get"), None, "{t}");
        }
        assert!(
            s3.get_object("tile/entries/000.p/250", 1 << 20)
                .expect("get")
                .is_some()
        );
        // Its stale index hints must not make new claims look logged: the
        // next batch reuses indexes 250.. for other claims.
        let mut seq = open_seq(&log, &index, 1_800_000_000_030);
        let other = claims(300..330);
        let r = seq.commit(
            other.iter().cloned().map(claim_of).collect(),
            1_800_000_000_040,
        );
        for (k, r) in r.iter().enumerate() {
            let s = r.as_ref().expect("acknowledged");
            assert_eq!(s.receipt.index, 250 + k as u64);
            assert!(!s.duplicate);
        }
        // The tree grew past the orphan (size 280 > 270): it is deleted.
        assert!(s3.list_staging().expect("list").is_empty());
        // And the lost claims are not duplicates of anything.
        let r = seq.commit(
            lost.iter().cloned().map(claim_of).collect(),
            1_800_000_000_050,
        );
        assert!(r.iter().all(|r| r.as_ref().is_ok_and(|s| !s.duplicate)));
    }
    // Crash between swap and settle: the checkpoint names a tree whose
    // tiles are only in the staging object.
    let late = claims(400..420);
    let head = {
        let s3 = b.storage();
        let index = LocalIndex::open(&b.index_dir.path().join("scratch")).expect("index");
        let (head, old, note) = stage_by_hand(&s3, &index, &late, 1_800_000_000_060);
        s3.swap_checkpoint(Some(&old), &note, &head).expect("swap");
        head
        // Dropped here: the process dies before settling.
    };
    assert_eq!(head.size, 320);
    let public = b.storage();
    assert_eq!(
        public
            .get_object("tile/entries/001.p/64", 1 << 20)
            .expect("get"),
        None,
        "not settled yet"
    );
    // The next start finishes the batch from the staging object, and the
    // real index (which never saw this batch) catches up from the bundles.
    let (log, index) = b.open();
    assert!(public.list_staging().expect("list").is_empty());
    let report = check_storage(&*log, &*index, &key()).expect("audit");
    assert!(report.ok(), "{:?}", report.listed);
    let tiles = TileNodeReader::new(StorageTiles(&*log), head.size);
    for (k, e) in late.iter().enumerate() {
        let i = 300 + k as u64;
        assert_eq!(&read_entry(&*log, i, head.size).expect("entry"), e);
        assert_eq!(
            logged_at(&*index, &tiles, &leaf_hash(e), head.size).expect("dedup"),
            Some(i)
        );
    }
    let mut seq = open_seq(&log, &index, 1_800_000_000_070);
    let r = seq.commit(
        late.iter().cloned().map(claim_of).collect(),
        1_800_000_000_080,
    );
    assert!(
        r.iter().all(|r| r
            .as_ref()
            .is_ok_and(|s| s.duplicate && s.receipt.index >= 300)),
        "a claim of a batch swapped in before the crash is logged once"
    );
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn s3_flags<'a>(sw: &'a Seaweed, storage: &'a str) -> Vec<&'a str> {
    vec![
        "--storage",
        storage,
        "--s3-endpoint",
        &sw.endpoint,
        "--batch-interval-ms",
        "20",
    ]
}

/// Raw `GET` of `path` from the bucket: (status, headers, body).
fn bucket_get(sw: &Seaweed, path: &str) -> (u16, String, Vec<u8>) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(sw.addr()).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        s,
        "GET /{}/{path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        sw.bucket
    )
    .expect("write");
    let mut buf = Vec::new();
    s.take(1 << 20).read_to_end(&mut buf).expect("read");
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("headers");
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    (status, head, buf[split + 4..].to_vec())
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

/// The answers of a local index for every claim: (leaf -> index, asset ->
/// indexes).
fn index_answers(dir: &Path, entries: &[Vec<u8>]) -> Vec<(Option<u64>, Vec<u64>)> {
    let index = LocalIndex::open(&dir.join(S3_INDEX_DIR)).expect("index");
    entries
        .iter()
        .map(|e| {
            let c = claim_of(e.clone());
            (
                index.index_of_leaf(&c.leaf).expect("leaf"),
                index.lookup_asset(&c.asset, 1000).expect("asset"),
            )
        })
        .collect()
}

/// tlog_tiles (an independent implementation) over tiles from the bucket.
struct OracleTiles(provlog_core::tiles::MemoryTiles);
impl tlog_tiles::TileReader for OracleTiles {
    fn height(&self) -> u8 {
        8
    }
    fn read_tiles(&self, tiles: &[tlog_tiles::Tile]) -> Result<Vec<Vec<u8>>, tlog_tiles::Error> {
        use provlog_core::tiles::TileReader as _;
        tiles
            .iter()
            .map(|t| {
                self.0
                    .read_tile(&provlog_core::tiles::Tile {
                        level: TileLevel::Hash(t.level()),
                        index: t.level_index(),
                        width: t.width() as u16,
                    })
                    .map_err(|_| tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
    fn save_tiles(&self, _tiles: &[tlog_tiles::Tile], _data: &[Vec<u8>]) {}
}

#[test]
fn the_server_runs_on_s3_and_the_bucket_alone_serves_verifiers() {
    let Some(sw) = Seaweed::start(BUCKET) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = sw.storage("log");
    let flags = s3_flags(&sw, &storage);
    let vendor = Vendor::new("vendor.example");
    let rt = rt();
    let policy_of = |vkey: &str| Policy::single_log(VerifierKey::parse(vkey).expect("vkey"));
    let mut receipts = Vec::new();
    let mut entries = Vec::new();
    let vkey;
    {
        let log = LogProcess::start(dir.path(), &flags);
        vkey = log.vkey.clone();
        let client = LogClient::new(&log.url).expect("client");
        for chunk in 0..3u64 {
            let batch: Vec<Vec<u8>> = (chunk * 100..chunk * 100 + 100)
                .map(|i| vendor.claim(i))
                .collect();
            let got = rt.block_on(client.submit_batch(&batch)).expect("submit");
            for (r, e) in got.iter().zip(&batch) {
                r.verify(&policy_of(&vkey)).expect("receipt verifies");
                assert_eq!(&r.entry, e);
            }
            receipts.extend(got);
            entries.extend(batch);
        }
        assert!(log.stop(), "clean shutdown");
    }
    // A restart continues the same tree; a resubmission is deduplicated.
    {
        let log = LogProcess::start(dir.path(), &flags);
        assert_eq!(log.vkey, vkey);
        let client = LogClient::new(&log.url).expect("client");
        let again = rt.block_on(client.submit(&entries[7])).expect("resubmit");
        assert_eq!(again.index, 7);
        let more: Vec<Vec<u8>> = (300..420).map(|i| vendor.claim(i)).collect();
        let got = rt.block_on(client.submit_batch(&more)).expect("submit");
        assert_eq!(got[0].index, 300);
        receipts.extend(got);
        entries.extend(more);
        assert!(log.stop(), "clean shutdown");
    }
    // The server is stopped: verify everything from the bucket alone, over
    // anonymous HTTP, with provlog-core and with tlog_tiles.
    let bucket = LogClient::new(&sw.url("log")).expect("client");
    let policy = policy_of(&vkey);
    let note = rt
        .block_on(bucket.checkpoint())
        .expect("checkpoint from the bucket");
    let cp = policy
        .verify_checkpoint(&note)
        .expect("verifies")
        .checkpoint;
    assert_eq!(cp.size, 420);
    let tree = rt
        .block_on(download_tree(&bucket, cp.size))
        .expect("every tile and bundle is in the bucket");
    assert_eq!(
        tree.entries, entries,
        "the bundles hold exactly what was acknowledged"
    );
    let tiles = TileNodeReader::new(&tree.tiles, cp.size);
    assert_eq!(tree_root(&tiles, cp.size).expect("root"), cp.root);
    for r in &receipts {
        let rcp = policy
            .verify_checkpoint(&r.checkpoint)
            .expect("cp")
            .checkpoint;
        // The receipt's tree is a prefix of the bucket's (no fork) ...
        let proof = consistency_proof(&tiles, rcp.size, cp.size).expect("consistency");
        verify_consistency(rcp.size, cp.size, &rcp.root, &cp.root, &proof).expect("consistent");
        // ... and its entry is in the bucket's tree at its index.
        let proof = inclusion_proof(&tiles, r.index, cp.size).expect("inclusion");
        verify_inclusion(&leaf_hash(&r.entry), r.index, cp.size, &proof, &cp.root)
            .expect("included");
    }
    let oracle = OracleTiles(tree.tiles);
    let root = tlog_tiles::Hash(cp.root);
    let reader = tlog_tiles::TileHashReader::new(cp.size, root, &oracle);
    assert_eq!(
        tlog_tiles::tree_hash(cp.size, &reader)
            .expect("oracle root")
            .0,
        cp.root,
        "tlog_tiles recomputes the root from the bucket's tiles"
    );
    for idx in [0u64, 255, 256, 419] {
        let proof = tlog_tiles::prove_record(cp.size, idx, &reader).expect("oracle proof");
        tlog_tiles::check_record(
            &proof,
            cp.size,
            root,
            idx,
            tlog_tiles::record_hash(&entries[idx as usize]),
        )
        .expect("oracle inclusion");
    }
    // Cache headers on the objects themselves (a CDN in front obeys them).
    let (status, head, _) = bucket_get(&sw, "log/tile/0/000");
    assert_eq!(status, 200);
    assert_eq!(header(&head, "cache-control"), Some(CACHE_FULL));
    let (status, head, _) = bucket_get(&sw, "log/tile/entries/001.p/164");
    assert_eq!(status, 200);
    assert_eq!(header(&head, "cache-control"), Some(CACHE_PARTIAL));
    let (status, head, body) = bucket_get(&sw, "log/checkpoint");
    assert_eq!(status, 200);
    assert_eq!(header(&head, "cache-control"), Some(CACHE_CHECKPOINT));
    assert_eq!(body, note);
    // Every tile object of the tree is there at its C2SP path.
    for t in tiles_of(cp.size) {
        let (status, _, _) = bucket_get(&sw, &format!("log/{}", t.path()));
        assert_eq!(status, 200, "{}", t.path());
    }
    let (status, _, _) = bucket_get(&sw, "log/tile/0/002.p/1");
    assert_eq!(status, 404, "no tile of a width the log never had");

    // Indexes are derived state: delete the index, rebuild it from the
    // bucket alone, and get the same answers.
    let before = index_answers(dir.path(), &entries);
    assert!(
        before
            .iter()
            .enumerate()
            .all(|(i, (l, _))| *l == Some(i as u64))
    );
    std::fs::remove_dir_all(dir.path().join(S3_INDEX_DIR)).expect("delete index");
    assert!(
        index_answers(dir.path(), &entries)
            .iter()
            .all(|(l, a)| l.is_none() && a.is_empty()),
        "the deleted index knows nothing"
    );
    let out = std::process::Command::new(provlog_e2e::bin("provlog-server"))
        .args(["reindex", "--data"])
        .arg(dir.path())
        .args(["--storage", &storage, "--s3-endpoint", &sw.endpoint])
        .output()
        .expect("reindex");
    assert!(
        out.status.success(),
        "reindex: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("420 entries reindexed"));
    assert_eq!(index_answers(dir.path(), &entries), before);
    // And the server serves lookups and dedup from the rebuilt index.
    let log = LogProcess::start(dir.path(), &flags);
    let client = LogClient::new(&log.url).expect("client");
    let again = rt.block_on(client.submit(&entries[301])).expect("resubmit");
    assert_eq!(again.index, 301);
    assert!(log.stop());
}

#[test]
fn a_second_server_on_the_same_bucket_stops_and_publishes_nothing() {
    let Some(sw) = Seaweed::start(BUCKET) else {
        return;
    };
    let (da, db) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let storage = sw.storage("two");
    let flags = s3_flags(&sw, &storage);
    let rt = rt();
    let vendor = Vendor::new("vendor.example");
    let a = LogProcess::start(da.path(), &flags);
    // The same log (same key) started twice by mistake.
    std::fs::copy(da.path().join("log.key"), db.path().join("log.key")).expect("copy key");
    let b = LogProcess::start(db.path(), &flags);
    assert_eq!(a.vkey, b.vkey);
    let ca = LogClient::new(&a.url).expect("client");
    let cb = LogClient::new(&b.url).expect("client");
    rt.block_on(ca.submit(&vendor.claim(1))).expect("A logs");
    assert!(
        rt.block_on(cb.submit(&vendor.claim(2))).is_err(),
        "B's checkpoint swap fails: no receipt"
    );
    let stderr = b.stderr.clone();
    let status = b
        .wait_exit_owned(Duration::from_secs(30))
        .expect("B stops by itself");
    assert_eq!(status.code(), Some(3), "B exits with its conflict status");
    let text = stderr.lock().map(|v| v.join("\n")).unwrap_or_default();
    assert!(
        text.contains("another sequencer"),
        "B says why it stopped: {text}"
    );
    // A goes on; the bucket's log holds A's claims only.
    let r = rt.block_on(ca.submit(&vendor.claim(3))).expect("A logs");
    assert_eq!(r.index, 1);
    let bucket = LogClient::new(&sw.url("two")).expect("client");
    let note = rt.block_on(bucket.checkpoint()).expect("checkpoint");
    let policy = Policy::single_log(VerifierKey::parse(&a.vkey).expect("vkey"));
    let cp = policy
        .verify_checkpoint(&note)
        .expect("verifies")
        .checkpoint;
    assert_eq!(cp.size, 2);
    let tree = rt.block_on(download_tree(&bucket, 2)).expect("tree");
    assert_eq!(tree.entries, vec![vendor.claim(1), vendor.claim(3)]);
    assert!(a.stop());
}
