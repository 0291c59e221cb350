//! Choosing the storage backend: `--storage` (fjall by default, or
//! `s3://BUCKET/PREFIX` with `--s3-endpoint`), opening it with its start-up
//! recovery, and `provlog-server reindex`.
//!
//! With S3, the log's tiles and checkpoint are in the bucket
//! ([`crate::s3`]) and its indexes in `DATA/s3-index`, a local fjall
//! database of derived state ([`crate::local_index`]); `DATA` also holds
//! the log key.

use std::path::Path;
use std::sync::Arc;

use clap::Args;
use provlog_core::checkpoint::verify_checkpoint;
use provlog_core::note::VerifierKey;

use crate::local_index::LocalIndex;
use crate::s3::{S3Location, S3Storage};
use crate::storage::{IndexStorage, LogStorage, TreeHead};
use crate::store::Store;

/// Directory of the S3 backend's local index, inside the data directory.
pub const S3_INDEX_DIR: &str = "s3-index";

/// Where the log is stored.
#[derive(Args, Debug, Default, Clone)]
pub struct StorageArgs {
    /// Storage: `fjall` (the default: the embedded database in --data) or
    /// `s3://BUCKET/PREFIX` (tiles and checkpoint in an S3-compatible
    /// bucket; credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY,
    /// unsigned requests without them; indexes in DATA/s3-index).
    #[arg(long, value_name = "fjall|s3://BUCKET/PREFIX")]
    pub storage: Option<String>,
    /// S3 endpoint URL, e.g. http://127.0.0.1:8333 (default: AWS).
    #[arg(long, value_name = "URL")]
    pub s3_endpoint: Option<String>,
}

impl StorageArgs {
    /// The S3 location, if `--storage` names one.
    pub fn s3(&self) -> Result<Option<S3Location>, String> {
        match self.storage.as_deref() {
            None | Some("fjall") => {
                if self.s3_endpoint.is_some() {
                    return Err("--s3-endpoint needs --storage s3://BUCKET/PREFIX".into());
                }
                Ok(None)
            }
            Some(url) => S3Location::parse(url, self.s3_endpoint.clone()).map(Some),
        }
    }
}

enum Kind {
    Fjall(Store),
    S3(LocalIndex),
}

/// An opened backend: the two seams and what shutdown flushes.
pub struct Backend {
    /// Tiles, bundles and checkpoint.
    pub log: Arc<dyn LogStorage>,
    /// Dedup and lookup indexes.
    pub index: Arc<dyn IndexStorage>,
    kind: Kind,
}

impl Backend {
    /// Writes memtables out at shutdown (everything needed is durable
    /// already; this spares the next start a journal replay).
    pub fn flush(&self) -> Result<(), String> {
        match &self.kind {
            Kind::Fjall(s) => s.flush().map_err(|e| e.to_string()),
            Kind::S3(i) => i.flush().map_err(|e| e.to_string()),
        }
    }
}

/// The verified head of the bucket's checkpoint, if one is stored.
fn stored_head(log: &dyn LogStorage, key: &VerifierKey) -> Result<Option<TreeHead>, String> {
    let Some(note) = log
        .checkpoint()
        .map_err(|e| format!("cannot read the checkpoint: {e}"))?
    else {
        return Ok(None);
    };
    let cp = verify_checkpoint(&note, key)
        .map_err(|e| {
            format!(
                "the stored checkpoint does not verify with this log's key, refusing to serve: {e}"
            )
        })?
        .checkpoint;
    Ok(Some(TreeHead {
        size: cp.size,
        root: cp.root,
    }))
}

/// Opens the backend `args` selects. For S3, also the start-up recovery
/// the sequencer's own needs before it: settles the bucket on its
/// checkpoint (finishing or discarding a staged batch), brings the local
/// index up to that tree from the entry bundles, and starts a watchdog
/// that stops the process with a clear message if another sequencer writes
/// the checkpoint (the backend is fenced).
pub fn open_backend(args: &StorageArgs, data: &Path, key: &VerifierKey) -> Result<Backend, String> {
    let Some(loc) = args.s3()? else {
        let store = Store::open(data).map_err(|e| e.to_string())?;
        return Ok(Backend {
            log: Arc::new(store.clone()),
            index: Arc::new(store.clone()),
            kind: Kind::Fjall(store),
        });
    };
    let s3 = Arc::new(S3Storage::open(&loc).map_err(|e| e.to_string())?);
    let index = LocalIndex::open(&data.join(S3_INDEX_DIR)).map_err(|e| e.to_string())?;
    prepare_s3(&s3, &index, key)?;
    let fence = s3.fenced();
    std::thread::Builder::new()
        .name("s3-fence".into())
        .spawn(move || {
            let why = fence.wait();
            tracing::error!(reason = %why, "stopping: two sequencers must never both publish");
            eprintln!("provlog-server: stopping: {why}");
            // Nothing after the conflict was acknowledged: every write
            // since fails. Exiting drops the claims in flight unanswered.
            std::process::exit(3);
        })
        .map_err(|e| format!("cannot start the fence watchdog: {e}"))?;
    tracing::info!(
        bucket = %loc.bucket,
        prefix = %loc.prefix,
        endpoint = loc.endpoint.as_deref().unwrap_or("AWS"),
        "log storage: S3"
    );
    Ok(Backend {
        log: s3,
        index: Arc::new(index.clone()),
        kind: Kind::S3(index),
    })
}

/// The S3 backend's start-up step, before the sequencer opens: settles
/// the bucket on its (verified) checkpoint, finishing a batch whose swap
/// took effect or discarding one whose swap did not, then brings `index`
/// up to that tree from the entry bundles. Nothing to do on an empty
/// bucket (the sequencer creates the first checkpoint).
pub fn prepare_s3(s3: &S3Storage, index: &LocalIndex, key: &VerifierKey) -> Result<(), String> {
    let Some(head) = stored_head(s3, key)? else {
        return Ok(());
    };
    s3.settle(&head)
        .map_err(|e| format!("cannot settle the bucket on its checkpoint: {e}"))?;
    let n = index
        .catch_up(s3, &head, &mut |_, _| {})
        .map_err(|e| format!("cannot bring the local index up to date: {e}"))?;
    if n > 0 {
        tracing::info!(
            entries = n,
            size = head.size,
            "indexed entries the local index was missing"
        );
    }
    Ok(())
}

/// `provlog-server reindex`: deletes the S3 backend's local index and
/// rebuilds it from the bucket's entry bundles alone (server stopped).
pub fn reindex(args: &StorageArgs, data: &Path, key: &VerifierKey) -> Result<u64, String> {
    let Some(loc) = args.s3()? else {
        return Err(
            "reindex rebuilds the S3 backend's local index (--storage s3://...); the fjall backend writes its indexes in the same atomic batch as the tiles (audit them with `provlog-server check`)".into(),
        );
    };
    let s3 = S3Storage::open(&loc).map_err(|e| e.to_string())?;
    let dir = data.join(S3_INDEX_DIR);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .map_err(|e| format!("cannot delete the old index {}: {e}", dir.display()))?;
    }
    let index = LocalIndex::open(&dir).map_err(|e| e.to_string())?;
    let Some(head) = stored_head(&s3, key)? else {
        return Ok(0);
    };
    s3.settle(&head)
        .map_err(|e| format!("cannot settle the bucket on its checkpoint: {e}"))?;
    let mut last_report = 0;
    let n = index
        .catch_up(&s3, &head, &mut |done, total| {
            if done - last_report >= 65_536 || done == total {
                last_report = done;
                tracing::info!(done, total, "reindexing");
            }
        })
        .map_err(|e| format!("reindexing failed: {e}"))?;
    index.flush().map_err(|e| e.to_string())?;
    Ok(n)
}
