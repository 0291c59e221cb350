//! The S3 backend: the log's tiles, entry bundles and checkpoint as objects
//! in an S3-compatible bucket, through Apache Arrow's `object_store`.
//!
//! Layout under the prefix (spec/log-server.md, "S3 layout"):
//! - `checkpoint`: the signed checkpoint, the one mutable object. The first
//!   is written with `If-None-Match: *`, every later one with
//!   `If-Match: <etag of the one replaced>`: a compare-and-swap, so a second
//!   sequencer on the same bucket gets `412 Precondition Failed`
//!   ([`StorageError::Conflict`]) and publishes nothing. `Cache-Control:
//!   public, max-age=5`.
//! - `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`: hash tiles and
//!   entry bundles at their C2SP tlog-tiles paths, each written once
//!   (`If-None-Match: *`; an existing object must hold the same bytes, or
//!   the bucket is corrupt) and never changed. A full tile has
//!   `Cache-Control: public, max-age=31536000, immutable`, a partial one
//!   `public, max-age=60`. A tile is only written after the checkpoint that
//!   covers it was swapped in, so a CDN never caches a tile of a tree that
//!   was not committed.
//! - `.staging/<size>-<root hex>`: one object per batch, written by
//!   [`LogStorage::stage`] before the swap: every tile of the batch, in the
//!   format of [`encode_staging`]. [`LogStorage::settle`] writes its tiles
//!   to their public keys (from memory, or from this object after a crash),
//!   then deletes it and every staging object of a tree no larger than the
//!   current one (those can never be swapped in). Staging objects of a
//!   larger tree are left alone: they may be another sequencer's batch in
//!   flight; a later settle, once the tree has grown past them, deletes
//!   them.
//!
//! Every body read from the bucket is bounded while it streams: the
//! object's stated size is checked against the limit of its kind before
//! anything is allocated, and the bytes received are counted against it.
//!
//! Every method is blocking, as the seam requires: the S3 requests run on
//! this backend's own small Tokio runtime and the caller's thread waits for
//! the answer on a channel (so a caller on any thread, async or not, never
//! nests runtimes). Tiles this process settled and full tiles it read are
//! kept in an LRU cache, so the sequencer's dedup checks and most HTTP tile
//! reads never reach the bucket.
//!
//! **Fencing.** Once a checkpoint swap finds another checkpoint than the
//! expected one, another sequencer has written to the bucket: this backend
//! refuses every later write (each returns [`StorageError::Conflict`]) and
//! reports it through [`S3Storage::fenced`], so that the server stops with a
//! clear message instead of taking turns with the other writer.

use std::future::Future;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use object_store::aws::{AmazonS3Builder, S3ConditionalPut};
use object_store::path::Path as ObjectPath;
use object_store::{
    Attribute, Attributes, ClientOptions, GetOptions, ObjectStore, ObjectStoreExt, PutMode,
    PutOptions, PutPayload, RetryConfig, UpdateVersion,
};
use provlog_core::hash::HASH_SIZE;
use provlog_core::tiles::{
    MAX_BUNDLE_ENTRY, MAX_TILE_LEVEL, TILE_WIDTH, Tile, TileLevel, tile_at_size,
};

use crate::storage::{LogStorage, StagedBatch, StorageError, TreeHead};

/// Cache-Control of a full tile or bundle (never changes).
pub const CACHE_FULL: &str = "public, max-age=31536000, immutable";
/// Cache-Control of a partial tile or bundle (superseded as the tree grows).
pub const CACHE_PARTIAL: &str = "public, max-age=60";
/// Cache-Control of the checkpoint.
pub const CACHE_CHECKPOINT: &str = "public, max-age=5";

/// Largest hash tile object: 256 hashes.
pub const MAX_HASH_TILE: u64 = TILE_WIDTH * HASH_SIZE as u64;
/// Largest entry bundle object: 256 entries of the largest bundle entry,
/// each with its 2-byte length.
pub const MAX_BUNDLE: u64 = TILE_WIDTH * (2 + MAX_BUNDLE_ENTRY as u64);
/// Largest checkpoint object (the note parser's own limit).
pub const MAX_CHECKPOINT: u64 = provlog_core::note::MAX_NOTE_SIZE as u64;
/// Largest staging object, and so largest batch (a batch of 4096 claims of
/// 8 KiB with its hash tiles is ~34 MiB).
pub const MAX_STAGING: u64 = 256 << 20;
/// Most tiles one staging object may list.
const MAX_STAGED_TILES: u32 = 1 << 16;
const STAGING_MAGIC: &[u8; 8] = b"PLSTAGE1";
/// Concurrent tile uploads while settling.
const SETTLE_CONCURRENCY: usize = 16;
/// Tiles kept in the read cache (full tiles are ~8 KiB, bundles larger).
const CACHE_TILES: usize = 8192;

/// Where a log lives in S3, and how to reach it.
#[derive(Debug, Clone)]
pub struct S3Location {
    /// Bucket name.
    pub bucket: String,
    /// Key prefix (no leading or trailing slash; may be empty).
    pub prefix: String,
    /// Endpoint URL (`http://127.0.0.1:8333`); `None` for AWS itself.
    pub endpoint: Option<String>,
}

impl S3Location {
    /// Parses `s3://BUCKET/PREFIX` (the prefix may be empty or nested).
    pub fn parse(url: &str, endpoint: Option<String>) -> Result<S3Location, String> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| format!("--storage {url}: expected s3://BUCKET/PREFIX"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!("--storage {url}: the bucket name is empty"));
        }
        let prefix = prefix.trim_matches('/').to_string();
        if prefix.split('/').any(|p| p == "." || p == "..") {
            return Err(format!("--storage {url}: the prefix may not hold . or .."));
        }
        Ok(S3Location {
            bucket: bucket.to_string(),
            prefix,
            endpoint,
        })
    }

    /// The public HTTP URL of the log's root in the bucket, path-style
    /// (`ENDPOINT/BUCKET/PREFIX/`), for readers that fetch tiles directly.
    pub fn public_url(&self) -> Option<String> {
        let ep = self.endpoint.as_deref()?.trim_end_matches('/');
        Some(if self.prefix.is_empty() {
            format!("{ep}/{}/", self.bucket)
        } else {
            format!("{ep}/{}/{}/", self.bucket, self.prefix)
        })
    }
}

/// Maps an `object_store` error: a failed precondition is a conflict.
fn map_err(what: &str, e: object_store::Error) -> StorageError {
    match e {
        object_store::Error::Precondition { .. } | object_store::Error::AlreadyExists { .. } => {
            StorageError::Conflict(format!("{what}: {e}"))
        }
        e => StorageError::Backend(format!("{what}: {e}")),
    }
}

/// A batch's tiles with their bytes.
type Tiles = Vec<(Tile, Vec<u8>)>;
/// Settled and full tiles by (level, index).
type TileCache = lru::LruCache<(TileLevel, u64), Arc<Vec<u8>>>;

/// The log in a bucket. See the module docs.
pub struct S3Storage {
    /// Always `Some` until dropped (taken out to shut down without
    /// blocking, whatever thread drops the last handle).
    runtime: Option<tokio::runtime::Runtime>,
    store: Arc<dyn ObjectStore>,
    prefix: String,
    state: Mutex<State>,
    cache: Mutex<TileCache>,
    fenced: Arc<Fence>,
}

/// Set once another writer is detected; see [`S3Storage::fenced`].
#[derive(Default)]
pub struct Fence {
    flag: AtomicBool,
    why: Mutex<Option<String>>,
    wake: Condvar,
}

impl Fence {
    fn set(&self, why: String) {
        let mut w = self.why.lock().unwrap_or_else(|e| e.into_inner());
        if w.is_none() {
            *w = Some(why);
        }
        self.flag.store(true, Ordering::Release);
        self.wake.notify_all();
    }

    /// Whether the backend is fenced, and why.
    pub fn reason(&self) -> Option<String> {
        if !self.flag.load(Ordering::Acquire) {
            return None;
        }
        self.why.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Blocks until the backend is fenced; returns why.
    pub fn wait(&self) -> String {
        let mut w = self.why.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(why) = w.as_ref() {
                return why.clone();
            }
            w = self.wake.wait(w).unwrap_or_else(|e| e.into_inner());
        }
    }
}

#[derive(Default)]
struct State {
    /// The checkpoint last read or written, with its ETag.
    checkpoint: Option<(Vec<u8>, Option<String>)>,
    /// The batch staged by this process and not yet settled.
    staged: Option<(TreeHead, Arc<Tiles>)>,
    /// The size of the last tree settled: tiles are read at its widths.
    settled: Option<u64>,
    /// Whether the only staging object may be the one `staged` names (set
    /// by a clean settle; cleared at start-up and by any failed write), so
    /// settle need not list `.staging/`.
    staging_clean: bool,
}

/// The public key of `tile` under `prefix`.
fn tile_key(prefix: &str, tile: &Tile) -> ObjectPath {
    join(prefix, &tile.path())
}

fn join(prefix: &str, rest: &str) -> ObjectPath {
    if prefix.is_empty() {
        ObjectPath::from(rest)
    } else {
        ObjectPath::from(format!("{prefix}/{rest}"))
    }
}

fn staging_name(head: &TreeHead) -> String {
    format!("{}-{}", head.size, hex::encode(head.root))
}

/// The size a staging object's name says (`<size>-<root hex>`).
fn staging_size(name: &str) -> Option<u64> {
    let (size, root) = name.split_once('-')?;
    (root.len() == 2 * HASH_SIZE).then_some(())?;
    size.parse().ok()
}

fn level_byte(level: TileLevel) -> u8 {
    match level {
        TileLevel::Hash(l) => l,
        TileLevel::Entries => 0xff,
    }
}

fn tile_limit(level: TileLevel) -> u64 {
    match level {
        TileLevel::Hash(_) => MAX_HASH_TILE,
        TileLevel::Entries => MAX_BUNDLE,
    }
}

/// Encodes a batch's tiles as one staging object: `PLSTAGE1`, the tile
/// count (u32 BE), then per tile its level (u8, 0xff = entries), index (u64
/// BE), width (u16 BE), length (u32 BE) and bytes.
pub fn encode_staging(tiles: &[(Tile, Vec<u8>)]) -> Result<Vec<u8>, StorageError> {
    let total: usize = tiles.iter().map(|(_, b)| 15 + b.len()).sum::<usize>() + 12;
    if total as u64 > MAX_STAGING || tiles.len() as u64 > u64::from(MAX_STAGED_TILES) {
        return Err(StorageError::Backend(format!(
            "a batch of {} tiles ({total} bytes) is over the staging limit of {MAX_STAGING} bytes; lower --max-batch",
            tiles.len()
        )));
    }
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(STAGING_MAGIC);
    out.extend_from_slice(&(tiles.len() as u32).to_be_bytes());
    for (tile, bytes) in tiles {
        out.push(level_byte(tile.level));
        out.extend_from_slice(&tile.index.to_be_bytes());
        out.extend_from_slice(&tile.width.to_be_bytes());
        out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        out.extend_from_slice(bytes);
    }
    Ok(out)
}

/// Decodes a staging object; every count and length is checked before it
/// is used.
pub fn decode_staging(data: &[u8]) -> Result<Vec<(Tile, Vec<u8>)>, StorageError> {
    let bad = |m: &str| StorageError::Corrupt(format!("staging object: {m}"));
    let mut rest = data
        .strip_prefix(STAGING_MAGIC.as_slice())
        .ok_or_else(|| bad("bad magic"))?;
    let take = |rest: &mut &[u8], n: usize| -> Result<Vec<u8>, StorageError> {
        let (a, b) = rest
            .split_at_checked(n)
            .ok_or_else(|| StorageError::Corrupt("staging object: truncated".into()))?;
        *rest = b;
        Ok(a.to_vec())
    };
    let count = u32::from_be_bytes(take(&mut rest, 4)?.try_into().map_err(|_| bad("count"))?);
    if count > MAX_STAGED_TILES {
        return Err(bad("too many tiles"));
    }
    let mut out = Vec::new();
    for _ in 0..count {
        let head = take(&mut rest, 15)?;
        let level = match head[0] {
            0xff => TileLevel::Entries,
            l if l <= MAX_TILE_LEVEL => TileLevel::Hash(l),
            _ => return Err(bad("bad tile level")),
        };
        let index = u64::from_be_bytes(head[1..9].try_into().map_err(|_| bad("index"))?);
        let width = u16::from_be_bytes(head[9..11].try_into().map_err(|_| bad("width"))?);
        let len = u32::from_be_bytes(head[11..15].try_into().map_err(|_| bad("length"))?);
        if width == 0 || u64::from(width) > TILE_WIDTH || u64::from(len) > tile_limit(level) {
            return Err(bad("bad tile width or length"));
        }
        let bytes = take(&mut rest, len as usize)?;
        out.push((
            Tile {
                level,
                index,
                width,
            },
            bytes,
        ));
    }
    if !rest.is_empty() {
        return Err(bad("trailing bytes"));
    }
    Ok(out)
}

/// GETs `path`, refusing an object over `limit` bytes before allocating
/// and counting the bytes as they stream. `None` if there is no object.
async fn get_bounded(
    store: &dyn ObjectStore,
    path: &ObjectPath,
    limit: u64,
) -> Result<Option<(Vec<u8>, Option<String>)>, StorageError> {
    let got = match store.get_opts(path, GetOptions::default()).await {
        Ok(g) => g,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(map_err(&format!("reading {path}"), e)),
    };
    let size = got.meta.size;
    if size > limit {
        return Err(StorageError::Corrupt(format!(
            "object {path} is {size} bytes, over the {limit}-byte limit of its kind"
        )));
    }
    let etag = got.meta.e_tag.clone();
    // `size <= limit`, and every limit fits in memory.
    let mut buf = Vec::with_capacity(size as usize);
    let mut stream = got.into_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| map_err(&format!("reading {path}"), e))?;
        if (buf.len() + chunk.len()) as u64 > limit {
            return Err(StorageError::Corrupt(format!(
                "object {path} streamed more than its {limit}-byte limit"
            )));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Some((buf, etag)))
}

/// PUTs a tile once: `If-None-Match: *`; if it exists, it must hold the
/// same bytes (a full tile or a partial tile of one width never changes).
async fn put_tile(
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
    tile: Tile,
    bytes: Vec<u8>,
) -> Result<(), StorageError> {
    let mut attrs = Attributes::new();
    attrs.insert(
        Attribute::CacheControl,
        if tile.is_full() {
            CACHE_FULL
        } else {
            CACHE_PARTIAL
        }
        .into(),
    );
    attrs.insert(Attribute::ContentType, "application/octet-stream".into());
    let opts = PutOptions {
        mode: PutMode::Create,
        attributes: attrs,
        ..Default::default()
    };
    let payload = PutPayload::from(Bytes::from(bytes.clone()));
    match store.put_opts(&path, payload, opts).await {
        Ok(_) => Ok(()),
        Err(object_store::Error::AlreadyExists { .. })
        | Err(object_store::Error::Precondition { .. }) => {
            // Written before (a settle that was interrupted, or retried).
            match get_bounded(&*store, &path, tile_limit(tile.level)).await? {
                Some((stored, _)) if stored == bytes => Ok(()),
                Some(_) => Err(StorageError::Corrupt(format!(
                    "{path} is already stored with other bytes; a tile never changes (is another log writing to this prefix?)"
                ))),
                None => Err(StorageError::Backend(format!(
                    "{path} was reported to exist, then not found"
                ))),
            }
        }
        Err(e) => Err(map_err(&format!("writing {path}"), e)),
    }
}

impl S3Storage {
    /// Connects to the bucket (nothing is read yet). Credentials come from
    /// the usual AWS environment variables (`AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`); with no
    /// access key set, requests are unsigned (anonymous, as SeaweedFS
    /// allows by default). Each request times out after 30 s and is retried
    /// at most 3 times.
    pub fn open(loc: &S3Location) -> Result<S3Storage, StorageError> {
        let mut b = AmazonS3Builder::from_env()
            .with_bucket_name(&loc.bucket)
            .with_conditional_put(S3ConditionalPut::ETagMatch)
            .with_retry(RetryConfig {
                max_retries: 3,
                retry_timeout: Duration::from_secs(30),
                ..Default::default()
            })
            .with_client_options(
                ClientOptions::new()
                    .with_timeout(Duration::from_secs(30))
                    .with_connect_timeout(Duration::from_secs(5)),
            );
        if std::env::var_os("AWS_REGION").is_none()
            && std::env::var_os("AWS_DEFAULT_REGION").is_none()
        {
            b = b.with_region("us-east-1");
        }
        if let Some(ep) = &loc.endpoint {
            b = b
                .with_endpoint(ep)
                .with_allow_http(ep.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
            // Never fall back to the instance metadata service: unsigned.
            b = b.with_skip_signature(true);
        }
        let store = b
            .build()
            .map_err(|e| StorageError::Backend(format!("S3 client: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("s3-io")
            .enable_all()
            .build()
            .map_err(|e| StorageError::Backend(format!("S3 runtime: {e}")))?;
        Ok(S3Storage {
            runtime: Some(runtime),
            store: Arc::new(store),
            prefix: loc.prefix.clone(),
            state: Mutex::new(State::default()),
            cache: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(CACHE_TILES).unwrap_or(NonZeroUsize::MIN),
            )),
            fenced: Arc::new(Fence::default()),
        })
    }

    /// Set once a checkpoint swap found another writer's checkpoint: from
    /// then on every write fails. The server waits on it and stops.
    pub fn fenced(&self) -> Arc<Fence> {
        self.fenced.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `fut` on the backend's runtime and waits for it, from any
    /// thread (an async worker, a blocking thread, the sequencer's).
    fn block<T: Send + 'static>(
        &self,
        fut: impl Future<Output = Result<T, StorageError>> + Send + 'static,
    ) -> Result<T, StorageError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let Some(rt) = self.runtime.as_ref() else {
            return Err(StorageError::Backend("the S3 backend is shut down".into()));
        };
        rt.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv()
            .map_err(|_| StorageError::Backend("the S3 request task failed".into()))?
    }

    fn check_fence(&self) -> Result<(), StorageError> {
        match self.fenced.reason() {
            Some(why) => Err(StorageError::Conflict(why)),
            None => Ok(()),
        }
    }

    /// Forgets cached partial tiles (another writer may have moved on) and
    /// makes the next settle list `.staging/`.
    fn after_failure(&self) {
        self.lock().staging_clean = false;
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.clear();
    }

    /// Names of the staging objects in the bucket.
    pub fn list_staging(&self) -> Result<Vec<String>, StorageError> {
        let store = self.store.clone();
        let dir = join(&self.prefix, ".staging");
        self.block(async move {
            let mut names = Vec::new();
            let mut list = store.list(Some(&dir));
            while let Some(meta) = list.next().await {
                let meta = meta.map_err(|e| map_err("listing .staging/", e))?;
                if let Some(name) = meta.location.filename() {
                    names.push(name.to_string());
                }
            }
            Ok(names)
        })
    }

    /// Raw object bytes under the prefix (tests), bounded by `limit`.
    pub fn get_object(&self, key: &str, limit: u64) -> Result<Option<Vec<u8>>, StorageError> {
        let store = self.store.clone();
        let path = join(&self.prefix, key);
        self.block(async move { Ok(get_bounded(&*store, &path, limit).await?.map(|(b, _)| b)) })
    }

    /// Overwrites an object under the prefix unconditionally (tests of
    /// corruption and of a foreign writer).
    pub fn put_object(&self, key: &str, bytes: Vec<u8>) -> Result<(), StorageError> {
        let store = self.store.clone();
        let path = join(&self.prefix, key);
        self.block(async move {
            store
                .put(&path, PutPayload::from(bytes))
                .await
                .map(|_| ())
                .map_err(|e| map_err("writing", e))
        })?;
        self.after_failure();
        Ok(())
    }
}

impl Drop for S3Storage {
    fn drop(&mut self) {
        // Dropping a runtime inside an async context panics; this never
        // blocks (no request of ours is left waiting: each caller waited).
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl LogStorage for S3Storage {
    fn checkpoint(&self) -> Result<Option<Vec<u8>>, StorageError> {
        let store = self.store.clone();
        let path = join(&self.prefix, "checkpoint");
        let got = self.block(async move { get_bounded(&*store, &path, MAX_CHECKPOINT).await })?;
        let note = got.as_ref().map(|(b, _)| b.clone());
        self.lock().checkpoint = got;
        Ok(note)
    }

    fn tile(&self, level: TileLevel, index: u64) -> Result<Option<Vec<u8>>, StorageError> {
        if let Some(t) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(level, index))
        {
            return Ok(Some(t.to_vec()));
        }
        // The widest copy readers may need: the tile at the settled size.
        let Some(size) = self.lock().settled else {
            return Ok(None);
        };
        let Some(tile) = tile_at_size(level, index, size) else {
            return Ok(None);
        };
        let store = self.store.clone();
        let path = tile_key(&self.prefix, &tile);
        let got = self.block(async move {
            Ok(get_bounded(&*store, &path, tile_limit(level))
                .await?
                .map(|(b, _)| b))
        })?;
        if let Some(bytes) = &got
            && tile.is_full()
        {
            self.cache
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .put((level, index), Arc::new(bytes.clone()));
        }
        Ok(got)
    }

    /// One PUT of the batch's staging object.
    fn stage(&self, head: &TreeHead, batch: &StagedBatch) -> Result<(), StorageError> {
        self.check_fence()?;
        let tiles = Arc::new(batch.tiles.clone());
        {
            let mut s = self.lock();
            if s.staged.as_ref().is_some_and(|(h, _)| h != head) {
                // An earlier batch never swapped in: its object is left for
                // a listing settle to delete.
                s.staging_clean = false;
            }
            s.staged = None;
        }
        if tiles.is_empty() {
            // Nothing to settle (the empty tree, a refresh).
            self.lock().staged = Some((*head, tiles));
            return Ok(());
        }
        let body = encode_staging(&tiles)?;
        let store = self.store.clone();
        let path = join(&self.prefix, &format!(".staging/{}", staging_name(head)));
        let r = self.block(async move {
            store
                .put(&path, PutPayload::from(body))
                .await
                .map(|_| ())
                .map_err(|e| map_err(&format!("writing {path}"), e))
        });
        match r {
            Ok(()) => {
                self.lock().staged = Some((*head, tiles));
                Ok(())
            }
            Err(e) => {
                self.after_failure();
                Err(e)
            }
        }
    }

    /// A conditional PUT of `checkpoint`: `If-None-Match: *` for the first,
    /// else `If-Match` with the ETag of the stored `old`.
    fn swap_checkpoint(
        &self,
        old: Option<&[u8]>,
        new: &[u8],
        head: &TreeHead,
    ) -> Result<(), StorageError> {
        let _ = head;
        self.check_fence()?;
        let known = self.lock().checkpoint.clone();
        let etag = match (old, &known) {
            (None, _) => None,
            (Some(old), Some((bytes, Some(etag)))) if bytes.as_slice() == old => Some(etag.clone()),
            (Some(old), _) => {
                // Not the one last seen: read the stored one back.
                match self.checkpoint()? {
                    Some(stored) if stored == old => {
                        let s = self.lock();
                        match s.checkpoint.as_ref().and_then(|(_, e)| e.clone()) {
                            Some(e) => Some(e),
                            None => {
                                return Err(StorageError::Backend(
                                    "the bucket returned the checkpoint without an ETag; conditional writes are impossible".into(),
                                ));
                            }
                        }
                    }
                    _ => {
                        let why = "the checkpoint in the bucket is not the one this sequencer last wrote: another sequencer is writing to this log".to_string();
                        self.fenced.set(why.clone());
                        return Err(StorageError::Conflict(why));
                    }
                }
            }
        };
        let mut attrs = Attributes::new();
        attrs.insert(Attribute::CacheControl, CACHE_CHECKPOINT.into());
        attrs.insert(Attribute::ContentType, "text/plain; charset=utf-8".into());
        let opts = PutOptions {
            mode: match &etag {
                None => PutMode::Create,
                Some(e) => PutMode::Update(UpdateVersion {
                    e_tag: Some(e.clone()),
                    version: None,
                }),
            },
            attributes: attrs,
            ..Default::default()
        };
        let store = self.store.clone();
        let path = join(&self.prefix, "checkpoint");
        let body = new.to_vec();
        let r = self.block(async move {
            store
                .put_opts(&path, PutPayload::from(body), opts)
                .await
                .map_err(|e| map_err("swapping the checkpoint", e))
        });
        match r {
            Ok(put) => {
                self.lock().checkpoint = Some((new.to_vec(), put.e_tag));
                Ok(())
            }
            Err(StorageError::Conflict(m)) => {
                self.after_failure();
                // A retried PUT whose first attempt took effect (its answer
                // lost) fails its precondition against our own note: that
                // is a success, not another writer. A note is unique (its
                // timestamp only grows), so equality means it is ours.
                if self.checkpoint()?.as_deref() == Some(new) {
                    return Ok(());
                }
                let why = format!(
                    "another sequencer has written this log's checkpoint (the conditional write failed: {m}); this sequencer stops"
                );
                self.fenced.set(why.clone());
                Err(StorageError::Conflict(why))
            }
            Err(e) => {
                self.after_failure();
                Err(e)
            }
        }
    }

    /// Writes the tiles staged for `head` to their public keys (from
    /// memory, or from the staging object after a crash), then deletes the
    /// staging objects of trees no larger than `head`.
    fn settle(&self, head: &TreeHead) -> Result<(), StorageError> {
        self.check_fence()?;
        let (mem, clean) = {
            let s = self.lock();
            let mem = s
                .staged
                .as_ref()
                .filter(|(h, _)| h == head)
                .map(|(_, t)| t.clone());
            (mem, s.staging_clean && s.staged.is_some())
        };
        let store = self.store.clone();
        let prefix = self.prefix.clone();
        let head = *head;
        let r = self.block(async move {
            let name = staging_name(&head);
            let own = join(&prefix, &format!(".staging/{name}"));
            let tiles = match mem {
                Some(t) => t,
                None => match get_bounded(&*store, &own, MAX_STAGING).await? {
                    Some((bytes, _)) => Arc::new(decode_staging(&bytes)?),
                    None => Arc::new(Vec::new()),
                },
            };
            for (tile, _) in tiles.iter() {
                if tile_at_size(tile.level, tile.index, head.size) != Some(*tile) {
                    return Err(StorageError::Corrupt(format!(
                        "staging object {name} holds {}, which is not a tile of its tree",
                        tile.path()
                    )));
                }
            }
            // Full tiles first (left to right), then the right edge, all
            // concurrently: each is independent and written once.
            let uploads: Vec<_> = tiles
                .iter()
                .map(|(tile, bytes)| {
                    put_tile(store.clone(), tile_key(&prefix, tile), *tile, bytes.clone())
                })
                .collect();
            let mut results =
                futures_util::stream::iter(uploads).buffer_unordered(SETTLE_CONCURRENCY);
            while let Some(r) = results.next().await {
                r?;
            }
            drop(results);
            // Forget staging: ours, or (after a failure or at start-up)
            // every one of a tree no larger than this.
            let mut kept = false;
            let doomed: Vec<ObjectPath> = if clean {
                vec![own]
            } else {
                let dir = join(&prefix, ".staging");
                let mut list = store.list(Some(&dir));
                let mut out = Vec::new();
                while let Some(meta) = list.next().await {
                    let meta = meta.map_err(|e| map_err("listing .staging/", e))?;
                    let size = meta.location.filename().and_then(staging_size);
                    if size.is_none_or(|s| s <= head.size) {
                        out.push(meta.location);
                    } else {
                        kept = true;
                    }
                }
                out
            };
            for path in doomed {
                match store.delete(&path).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(map_err(&format!("deleting {path}"), e)),
                }
            }
            Ok((tiles, kept))
        });
        match r {
            Ok((tiles, kept)) => {
                let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
                for (tile, bytes) in tiles.iter() {
                    cache.put((tile.level, tile.index), Arc::new(bytes.clone()));
                }
                drop(cache);
                let mut s = self.lock();
                s.settled = Some(head.size);
                s.staged = None;
                // Staging objects of a larger tree were left: list again
                // next time, until the tree has grown past them.
                s.staging_clean = !kept;
                Ok(())
            }
            Err(e) => {
                self.after_failure();
                Err(e)
            }
        }
    }
}

/// Tile keys of the whole tree of `size`, for tests and tools that walk a
/// bucket: every hash tile and bundle at its width at `size`.
pub fn tiles_of(size: u64) -> Vec<Tile> {
    let mut out = Vec::new();
    let mut level = TileLevel::Entries;
    loop {
        let mut i = 0;
        while let Some(t) = tile_at_size(level, i, size) {
            out.push(t);
            i += 1;
        }
        let next = match level {
            TileLevel::Entries => 0,
            TileLevel::Hash(l) => l + 1,
        };
        if i == 0 && level != TileLevel::Entries {
            break;
        }
        if next > MAX_TILE_LEVEL {
            break;
        }
        level = TileLevel::Hash(next);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_round_trips_and_rejects_damage() {
        let tiles = vec![
            (
                Tile {
                    level: TileLevel::Hash(0),
                    index: 3,
                    width: 2,
                },
                vec![7u8; 64],
            ),
            (
                Tile {
                    level: TileLevel::Entries,
                    index: 3,
                    width: 1,
                },
                vec![0, 1, 9],
            ),
        ];
        let enc = encode_staging(&tiles).expect("encode");
        assert_eq!(decode_staging(&enc).expect("decode"), tiles);
        for cut in 0..enc.len() {
            assert!(decode_staging(&enc[..cut]).is_err(), "truncated at {cut}");
        }
        let mut long = enc.clone();
        long.push(0);
        assert!(decode_staging(&long).is_err());
        // A huge stated length is refused before allocation.
        let mut huge = enc.clone();
        huge[8 + 4 + 11..8 + 4 + 15].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(decode_staging(&huge).is_err());
    }

    #[test]
    fn locations_parse() {
        let l = S3Location::parse("s3://b/p/q/", Some("http://127.0.0.1:1".into())).expect("ok");
        assert_eq!((l.bucket.as_str(), l.prefix.as_str()), ("b", "p/q"));
        assert_eq!(l.public_url().as_deref(), Some("http://127.0.0.1:1/b/p/q/"));
        let l = S3Location::parse("s3://b", None).expect("ok");
        assert_eq!(l.prefix, "");
        assert!(S3Location::parse("file:///x", None).is_err());
        assert!(S3Location::parse("s3:///x", None).is_err());
        assert!(S3Location::parse("s3://b/../x", None).is_err());
        assert_eq!(staging_size(&format!("12-{}", "ab".repeat(32))), Some(12));
        assert_eq!(staging_size("12-zz"), None);
    }

    #[test]
    fn tiles_of_a_tree() {
        assert!(tiles_of(0).is_empty());
        let t = tiles_of(257);
        assert!(t.contains(&Tile {
            level: TileLevel::Entries,
            index: 1,
            width: 1
        }));
        assert!(t.contains(&Tile {
            level: TileLevel::Hash(1),
            index: 0,
            width: 1
        }));
    }
}
