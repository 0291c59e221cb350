//! `provlog-server`: the provlog transparency log.
//!
//! With no arguments it runs a log on the embedded default: data in
//! `./provlog-data` (fjall), listening on `127.0.0.1:7300`, log key created
//! on first start. `provlog-server vkey --data DIR` prints the log's
//! verifier key.

use std::path::PathBuf;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use clap::{Parser, Subcommand};
use provlog_client::witness::WitnessClient;
use provlog_server::api::{AppState, router};
use provlog_server::appender::Appender;
use provlog_server::config::{Config, DEFAULT_DATA, RunArgs};
use provlog_server::keys::{AcceptedKeys, LOG_KEY_FILE, load_or_create_log_key, load_private_key};
use provlog_server::metrics::Metrics;
use provlog_server::node_cache::NodeCache;
use provlog_server::publisher::{Publication, Publisher, WitnessSlot};
use provlog_server::ratelimit::RateLimiter;
use provlog_server::sequencer::{Sequencer, SequencerConfig, now_ms};
use provlog_server::storage::{IndexStorage, LogStorage};
use provlog_server::store::Store;
use provlog_server::web;
use provlog_server::witnessing::HttpWitness;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "provlog-server",
    version,
    about = "provlog transparency log server"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Print the log's verifier key (C2SP vkey).
    Vkey {
        /// Data directory holding the log key.
        #[arg(long, default_value = DEFAULT_DATA)]
        data: PathBuf,
    },
    /// Audit a data directory in full (server stopped): re-hash every entry,
    /// rebuild every hash tile, check the indexes, checkpoint and signature.
    /// Exits non-zero if anything is wrong. O(entries); the start-up
    /// self-check only re-hashes the right edge of the tree.
    Check {
        /// Data directory to audit.
        #[arg(long, default_value = DEFAULT_DATA)]
        data: PathBuf,
    },
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Vkey { data }) => print_vkey(&data),
        Some(Command::Check { data }) => run_check(&data),
        None => run(&cli.run),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("provlog-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn print_vkey(data: &std::path::Path) -> Result<(), String> {
    let key = load_private_key(&data.join(LOG_KEY_FILE)).map_err(|e| e.to_string())?;
    println!("{}", key.verifier_key().to_vkey());
    Ok(())
}

fn run_check(data: &std::path::Path) -> Result<(), String> {
    let report = provlog_server::audit::check(data)?;
    for p in &report.listed {
        println!("PROBLEM {p}");
    }
    if report.ok() {
        println!(
            "ok: {} entries re-hashed, {} hash tiles rebuilt and identical, indexes complete, root matches the signed checkpoint at size {}",
            report.entries, report.tiles, report.size
        );
        Ok(())
    } else {
        Err(format!(
            "{} problems found in {} (size {}); do not serve this data directory",
            report.problems,
            data.display(),
            report.size
        ))
    }
}

fn run(args: &RunArgs) -> Result<(), String> {
    let cfg = Config::resolve(args).map_err(|e| e.to_string())?;
    let (signer, created) =
        load_or_create_log_key(&cfg.data, &cfg.origin).map_err(|e| e.to_string())?;
    if created {
        tracing::info!(path = %cfg.data.join(LOG_KEY_FILE).display(), "created a new log key");
    } else if args.origin.is_some() && signer.name() != cfg.origin {
        return Err(format!(
            "--origin {} differs from the existing log key's name {}; a log's origin cannot change",
            cfg.origin,
            signer.name()
        ));
    }
    let accepted = match &cfg.accept_keys {
        Some(path) => {
            let keys = AcceptedKeys::load(path).map_err(|e| e.to_string())?;
            tracing::info!(count = keys.len(), file = %path.display(), "accepting claims only from listed vendor keys");
            Some(keys)
        }
        None => {
            tracing::warn!(
                "no --accept-keys file: this log is OPEN and accepts any validly signed claim"
            );
            None
        }
    };
    let store = Store::open(&cfg.data).map_err(|e| e.to_string())?;
    let log: Arc<dyn LogStorage> = Arc::new(store.clone());
    let index: Arc<dyn IndexStorage> = Arc::new(store.clone());
    let metrics = Arc::new(Metrics::new());
    let mut seq = Sequencer::open(
        log.clone(),
        index.clone(),
        signer.clone(),
        metrics.clone(),
        now_ms(),
    )
    .map_err(|e| e.to_string())?;
    let vindex = if args.verifiable_index {
        let v = Arc::new(provlog_server::vindex::VIndex::new(
            args.unsafe_test_index_omit
                .map(|entry| provlog_server::vindex::OmitFault { entry }),
        ));
        seq.set_vindex(v.clone()).map_err(|e| e.to_string())?;
        Some(v)
    } else {
        None
    };
    let committed = seq
        .committed()
        .ok_or("the log was opened but its checkpoint is unknown")?;
    // An exchange may be retried once after a 409; a round may start after
    // the one already running: receipts wait at most this for the quorum.
    let witness_wait = cfg.witness_timeout * 2 + Duration::from_secs(1);
    let targets: Vec<_> = cfg
        .witnesses
        .iter()
        .map(|w| (w.key.clone(), w.url.clone()))
        .collect();
    let publication = Publication::new(committed, &targets, cfg.witness_quorum, witness_wait);
    seq.set_publication(publication.clone());
    let mut slots = Vec::new();
    for w in &cfg.witnesses {
        let client = WitnessClient::new(&w.url, cfg.witness_timeout).map_err(|e| e.to_string())?;
        slots.push(WitnessSlot::new(
            w.key.clone(),
            w.url.clone(),
            Arc::new(HttpWitness(client)),
        ));
    }
    if !slots.is_empty() {
        tracing::info!(
            witnesses = slots.len(),
            quorum = cfg.witness_quorum,
            "asking witnesses to cosign every checkpoint, off the sequencer"
        );
    }
    let size = publication.current().checkpoint.size;
    let (tx, rx) = mpsc::channel();
    let seq_cfg = SequencerConfig {
        batch_interval: cfg.batch_interval,
        max_batch: cfg.max_batch,
        checkpoint_refresh: cfg.checkpoint_refresh,
    };
    let seq_thread = std::thread::Builder::new()
        .name("sequencer".into())
        .spawn(move || seq.run(rx, seq_cfg))
        .map_err(|e| format!("cannot start the sequencer: {e}"))?;
    // 4096 full tiles (~64 MiB) cover every level-0 tile of a 1M-entry log.
    let nodes = Arc::new(NodeCache::new(4096));
    let appender = Arc::new(Appender::new(
        RateLimiter::new(cfg.rate_limit, cfg.rate_burst),
        cfg.pool_size,
        tx,
        publication.clone(),
        log.clone(),
        nodes.clone(),
        metrics.clone(),
    ));
    let state = Arc::new(AppState {
        log: log.clone(),
        index,
        publication: publication.clone(),
        appender: appender.clone(),
        accepted,
        metrics: metrics.clone(),
        max_batch_body: cfg.max_batch_body,
        max_batch_claims: cfg.max_batch_claims,
        nodes,
        vindex,
    });

    // C2PA binding indexes: derived state in DATA/bindings, kept up to date
    // by a follower thread (the near-match index is rebuilt in memory first,
    // off the start-up path).
    let index: provlog_server::sbr::IndexSlot = Arc::new(std::sync::OnceLock::new());
    spawn_index_follower(index.clone(), state.clone(), cfg.data.clone());

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let served = runtime.block_on(async {
        if !slots.is_empty() {
            let publisher = Publisher::new(
                publication.clone(),
                slots,
                cfg.witness_timeout,
                log.clone(),
                metrics.clone(),
            );
            tokio::spawn(publisher.run());
        }
        let listener = tokio::net::TcpListener::bind(cfg.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", cfg.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        tracing::info!(
            listen = %addr,
            origin = signer.name(),
            vkey = %signer.verifier_key().to_vkey(),
            tree_size = size,
            data = %cfg.data.display(),
            "provlog log serving"
        );
        // Machine-readable line for scripts and tests that use port 0.
        println!("listening on http://{addr}");
        println!("vkey {}", signer.verifier_key().to_vkey());
        let witness_keys: Vec<_> = cfg.witnesses.iter().map(|w| w.key.clone()).collect();
        let info = web::LogInfo::new(&signer.verifier_key(), &witness_keys, cfg.witness_quorum);
        let app = router(state.clone())
            .merge(web::router(info))
            .merge(provlog_server::sbr::router(state.clone(), index.clone()));
        let closing = appender.clone();
        provlog_serve::serve(listener, app, cfg.conn, async move {
            shutdown_signal().await;
            // Ordered shutdown: stop admitting first; the sequencer then
            // commits what is pooled and answers it, and the requests in
            // flight finish before the server stops.
            tracing::info!("shutting down: committing pooled claims");
            closing.close();
        })
        .await
        .map_err(|e| format!("server error: {e}"))
    });
    // Also when serving failed: the sequencer must drain and stop.
    appender.close();
    drop(state);
    drop(appender);
    runtime.shutdown_timeout(Duration::from_secs(5));
    seq_thread
        .join()
        .map_err(|_| "the sequencer thread panicked".to_string())?;
    served?;
    // Everything is already durable in the journal; writing the memtables
    // out now spares the next start from replaying it (restart time).
    if let Err(e) = store.flush() {
        tracing::warn!(error = %e, "flushing memtables at shutdown failed; the next start replays the journal");
    }
    tracing::info!("stopped");
    Ok(())
}

/// Opens the binding index and loads the near-match index, off the
/// start-up path (the log serves meanwhile; the binding endpoints answer
/// 503 until each part is ready), then keeps the indexes caught up with the
/// published tree (polling its size; lookups also catch up themselves
/// before answering, so polling only bounds the lag).
fn spawn_index_follower(
    slot: provlog_server::sbr::IndexSlot,
    state: Arc<AppState>,
    data: std::path::PathBuf,
) {
    let spawned = std::thread::Builder::new()
        .name("binding-index".into())
        .spawn(move || {
            let started = std::time::Instant::now();
            // The index is derived state: if it cannot be opened (damaged
            // files; fjall may also panic on some damage), it is deleted and
            // rebuilt from the log's entry bundles.
            let open = || {
                std::panic::catch_unwind(|| provlog_server::binding_index::BindingIndex::open(&data))
                    .map_err(|_| "fjall panicked while opening it".to_string())
                    .and_then(|r| r.map_err(|e| e.to_string()))
            };
            let opened = match open() {
                Ok(i) => i,
                Err(e) => {
                    let dir = data.join(provlog_server::binding_index::INDEX_DIR);
                    tracing::error!(error = %e, dir = %dir.display(), "cannot open the binding index; deleting it to rebuild it from the log");
                    let reopened = std::fs::remove_dir_all(&dir)
                        .map_err(|e| e.to_string())
                        .and_then(|()| open());
                    match reopened {
                        Ok(i) => i,
                        Err(e) => {
                            tracing::error!(error = %e, "cannot rebuild the binding index; the C2PA lookup endpoints stay unavailable");
                            return;
                        }
                    }
                }
            };
            let index = slot.get_or_init(|| opened);
            match index.load_near() {
                Ok(n) => tracing::info!(
                    hashes = n,
                    seconds = started.elapsed().as_secs_f64(),
                    "near-match index loaded"
                ),
                Err(e) => {
                    tracing::error!(error = %e, "cannot load the near-match index; /matches/byContent stays unavailable");
                }
            }
            loop {
                let size = state.publication.current().checkpoint.size;
                if let Err(e) = index.catch_up(&*state.log, size) {
                    tracing::warn!(error = %e, "binding index catch-up failed; retrying");
                }
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the binding-index thread");
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
