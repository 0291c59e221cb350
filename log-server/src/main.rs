//! `provlog-server`: the provlog transparency log.
//!
//! With no arguments it runs a log on the embedded default: data in
//! `./provlog-data` (fjall), listening on `127.0.0.1:7300`, log key created
//! on first start (Ed25519 `log.key` and ML-DSA-44 `log-mldsa.key`).
//! `provlog-server vkey --data DIR` prints the log's verifier keys.

use std::path::PathBuf;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use clap::{Parser, Subcommand};
use provlog_client::witness::WitnessClient;
use provlog_server::api::{AppState, router};
use provlog_server::appender::Appender;
use provlog_server::backend::{StorageArgs, open_backend};
use provlog_server::config::{Config, DEFAULT_DATA, RunArgs};
use provlog_server::keys::{
    AcceptedKeys, LOG_KEY_FILE, LOG_MLDSA_KEY_FILE, load_or_create_log_signer, load_private_key,
    stored_verifier_keys,
};
use provlog_server::metrics::Metrics;
use provlog_server::node_cache::NodeCache;
use provlog_server::publisher::{Publication, Publisher, WitnessSlot};
use provlog_server::ratelimit::RateLimiter;
use provlog_server::sequencer::{Sequencer, SequencerConfig, now_ms};
use provlog_server::storage::{IndexStorage, LogStorage};
use provlog_server::web;
use provlog_server::witnessing::HttpWitness;
use tracing_subscriber::EnvFilter;

const AFTER_HELP: &str = "\
Related commands:
  provlog-server init --data DIR        make the log key, print its vkey (for monitors and verifiers)
  provlog-server vkey --data DIR        print the log key that `provlog --log-key` pins
  provlog-server check --data DIR       full audit of a stopped log
  provlog-server frontend --sequencer URL   a stateless verifying frontend (--print-vkey: its key)
  provlog submit|verify|lookup|audit    the client side (`provlog --help`)
  provlog-monitor init --log URL=VKEY   a monitor that audits and witnesses this log (`provlog-monitor --help`)

Without --public-url the origin of a new log is derived from the listen address
(127.0.0.1:7300 -> origin 127.0.0.1:7300); it never changes afterwards.
README.md: \"Quick start\", \"Running a log on S3\", \"A log on S3 with two frontends\",
\"Running a log with two witnessing monitors\"; the HTTP API: spec/http-api.md.";

#[derive(Parser)]
#[command(
    name = "provlog-server",
    version,
    about = "provlog transparency log server",
    after_help = AFTER_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    storage: StorageArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Make the log key (if there is none yet) and print its verifier key,
    /// so monitors and policies can be set up before the log first runs.
    Init {
        /// Data directory to hold the log key.
        #[arg(long, default_value = DEFAULT_DATA)]
        data: PathBuf,
        /// Log origin (the key's name). Default: the public URL without its
        /// scheme, else the listen address (`127.0.0.1:7300`).
        #[arg(long)]
        origin: Option<String>,
        /// The URL clients will reach the log at.
        #[arg(long)]
        public_url: Option<String>,
        /// The address the log will listen on: without `--public-url` or
        /// `--origin`, the origin is derived from it (a fixed port is needed).
        #[arg(long, default_value = provlog_server::config::DEFAULT_LISTEN)]
        listen: std::net::SocketAddr,
    },
    /// Print the log's verifier key (C2SP vkey): the Ed25519 key, the one
    /// `--log-key` and policies take. `--all` prints every checkpoint key
    /// (Ed25519, then ML-DSA-44), one per line; `--ml-dsa` only the ML-DSA-44 key.
    Vkey {
        /// Data directory holding the log key.
        #[arg(long, default_value = DEFAULT_DATA)]
        data: PathBuf,
        /// Print every log key, Ed25519 first, one per line.
        #[arg(long, conflicts_with = "ml_dsa")]
        all: bool,
        /// Print only the ML-DSA-44 key.
        #[arg(long)]
        ml_dsa: bool,
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
    /// Run a stateless verifying frontend: serve the write API
    /// (`POST /v1/claims`, `/v1/claims/batch`), check every claim (parse,
    /// schema, accepted keys, vendor signatures), forward the verified
    /// requests to the sequencer signed with this frontend's key
    /// (DATA/frontend.key, made on first start; list its vkey in the
    /// sequencer's `--frontend-keys` file; `--print-vkey` prints it), relay
    /// the sequencer's answers (spec/frontend.md).
    Frontend(FrontendArgs),
    /// Rebuild the S3 backend's local indexes (DATA/s3-index) from the
    /// bucket's entry bundles alone (server stopped).
    Reindex {
        /// Data directory holding the log key and the index.
        #[arg(long, default_value = DEFAULT_DATA)]
        data: PathBuf,
        #[command(flatten)]
        storage: StorageArgs,
    },
}

#[derive(clap::Args)]
struct FrontendArgs {
    /// Base URL of the sequencer (`provlog-server --frontend-keys FILE`).
    #[arg(long, required_unless_present = "print_vkey")]
    sequencer: Option<String>,
    /// Print this frontend's vkey (making DATA/frontend.key if needed) and
    /// exit: the line to add to the sequencer's --frontend-keys file.
    #[arg(long)]
    print_vkey: bool,
    /// Directory holding the frontend key (`frontend.key`).
    #[arg(long, default_value = "./provlog-frontend")]
    data: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7301")]
    listen: std::net::SocketAddr,
    /// Name of the frontend key when it is made.
    #[arg(long, default_value = provlog_server::frontend::DEFAULT_FRONTEND_NAME)]
    name: String,
    /// Accept claims only from the vendor keys in FILE (the same file and
    /// policy as the log's `--accept-keys`).
    #[arg(long)]
    accept_keys: Option<PathBuf>,
    /// Largest batch body in bytes (as the log's `--max-batch-body`).
    #[arg(long, default_value_t = 8 << 20)]
    max_batch_body: usize,
    /// Most claims per batch request (as the log's `--max-batch-claims`).
    #[arg(long, default_value_t = 1024)]
    max_batch_claims: usize,
}

/// Longest the shutdown waits for the storage engine's final flush.
const SHUTDOWN_FLUSH_WAIT: Duration = Duration::from_secs(30);

fn main() -> std::process::ExitCode {
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(
            // The storage engine's own chatter only at debug level.
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,fjall=warn,lsm_tree=warn")),
        )
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Init {
            data,
            origin,
            public_url,
            listen,
        }) => init(data, origin, public_url, listen),
        Some(Command::Vkey { data, all, ml_dsa }) => print_vkey(&data, all, ml_dsa),
        Some(Command::Check { data }) => run_check(&data),
        Some(Command::Reindex { data, storage }) => run_reindex(&data, &storage),
        Some(Command::Frontend(args)) => run_frontend(args),
        None => run(&cli.run, &cli.storage),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("provlog-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init(
    data: PathBuf,
    origin: Option<String>,
    public_url: Option<String>,
    listen: std::net::SocketAddr,
) -> Result<(), String> {
    let cfg = Config::resolve(&RunArgs {
        data: Some(data),
        origin,
        public_url,
        ..Default::default()
    })
    .map_err(|e| e.to_string())?;
    if cfg.origin.is_none() && listen.port() == 0 {
        return Err(
            "--listen with port 0 cannot name the log: give a fixed port, --public-url or --origin"
                .into(),
        );
    }
    let (origin, derived) = cfg.new_log_origin(listen).map_err(|e| e.to_string())?;
    let (_, created, _) =
        load_or_create_log_signer(&cfg.data, &origin).map_err(|e| e.to_string())?;
    let keys = stored_verifier_keys(&cfg.data).map_err(|e| e.to_string())?;
    let Some(ed25519) = keys.first() else {
        return Err("no log key was stored".into());
    };
    if created {
        eprintln!(
            "made the log keys (Ed25519 and ML-DSA-44, mode 0600) in {}, origin {origin}; start the log with `provlog-server --data {}`; `provlog-server vkey --all` prints both",
            cfg.data.display(),
            cfg.data.display()
        );
        if derived {
            eprintln!(
                "the origin was derived from --listen {listen}; a log others reach under a public URL is made with --public-url URL (an origin never changes)"
            );
        }
    } else if ed25519.name() != origin {
        eprintln!(
            "the log key in {} already exists, with origin {} (kept)",
            cfg.data.display(),
            ed25519.name()
        );
    }
    println!("{}", ed25519.to_vkey());
    Ok(())
}

fn print_vkey(data: &std::path::Path, all: bool, ml_dsa: bool) -> Result<(), String> {
    let keys = stored_verifier_keys(data).map_err(|e| e.to_string())?;
    let chosen: Vec<_> = match (all, ml_dsa) {
        (true, _) => keys.iter().collect(),
        (false, true) => keys.iter().skip(1).collect(),
        (false, false) => keys.iter().take(1).collect(),
    };
    if chosen.is_empty() {
        return Err(format!(
            "{} has no ML-DSA-44 key yet (the server creates it at its next start)",
            data.display()
        ));
    }
    for key in chosen {
        println!("{}", key.to_vkey());
    }
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

fn run_reindex(data: &std::path::Path, storage: &StorageArgs) -> Result<(), String> {
    let key = load_private_key(&data.join(LOG_KEY_FILE)).map_err(|e| e.to_string())?;
    let n = provlog_server::backend::reindex(storage, data, &key.verifier_key())?;
    println!("ok: {n} entries reindexed from the bucket");
    Ok(())
}

fn run_frontend(args: FrontendArgs) -> Result<(), String> {
    use provlog_server::frontend::{
        Frontend, frontend_router, load_or_create_frontend_key, sequencer_client, sequencer_origin,
    };
    let (signer, created) =
        load_or_create_frontend_key(&args.data, &args.name).map_err(|e| e.to_string())?;
    let vkey = signer.verifier_key().to_vkey();
    if args.print_vkey {
        if created {
            eprintln!(
                "made the frontend key {} (mode 0600); add the vkey below to the sequencer's --frontend-keys file",
                args.data
                    .join(provlog_server::frontend::FRONTEND_KEY_FILE)
                    .display()
            );
        }
        println!("{vkey}");
        return Ok(());
    }
    if created {
        tracing::info!(path = %args.data.join(provlog_server::frontend::FRONTEND_KEY_FILE).display(), %vkey, "created a new frontend key; add its vkey to the sequencer's --frontend-keys file");
    }
    let accepted = match &args.accept_keys {
        Some(path) => Some(AcceptedKeys::load(path).map_err(|e| e.to_string())?),
        None => {
            tracing::warn!(
                "no --accept-keys file: this frontend forwards any validly signed claim"
            );
            None
        }
    };
    let std_listener = std::net::TcpListener::bind(args.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = std_listener.local_addr().map_err(|e| e.to_string())?;
    let sequencer = args
        .sequencer
        .as_deref()
        .ok_or("--sequencer URL is required")?
        .trim_end_matches('/')
        .to_string();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        let client = sequencer_client().map_err(|e| e.to_string())?;
        let origin = sequencer_origin(&client, &sequencer)
            .await
            .map_err(|e| e.to_string())?;
        let state = Arc::new(Frontend {
            sequencer: sequencer.clone(),
            origin: origin.clone(),
            signer,
            vkey: vkey.clone(),
            accepted,
            max_batch_body: args.max_batch_body,
            max_batch_claims: args.max_batch_claims,
            client,
            metrics: Arc::new(Metrics::new()),
        });
        std_listener
            .set_nonblocking(true)
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let listener = tokio::net::TcpListener::from_std(std_listener)
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let signals = Signals::install().map_err(|e| format!("cannot handle signals: {e}"))?;
        tracing::info!(listen = %addr, %sequencer, %origin, %vkey, "provlog frontend serving");
        println!("listening on http://{addr}");
        println!("vkey {vkey}");
        let app = frontend_router(state).layer(axum::middleware::from_fn(
            provlog_server::problem::error_bodies,
        ));
        provlog_serve::serve(
            listener,
            app,
            provlog_serve::ConnLimits::resolve(&provlog_serve::ConnArgs::default(), None)?,
            signals.wait(),
        )
        .await
        .map_err(|e| format!("server error: {e}"))
    })
}

fn run(args: &RunArgs, storage: &StorageArgs) -> Result<(), String> {
    let cfg = Config::resolve(args).map_err(|e| e.to_string())?;
    // Bound first: a new log's default origin is derived from the address
    // actually bound (port 0 included). Handed to tokio once it runs.
    let std_listener = std::net::TcpListener::bind(cfg.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", cfg.listen))?;
    let addr = std_listener.local_addr().map_err(|e| e.to_string())?;
    let (origin, derived) = cfg.new_log_origin(addr).map_err(|e| e.to_string())?;
    let (log_signer, created, pq_created) =
        load_or_create_log_signer(&cfg.data, &origin).map_err(|e| e.to_string())?;
    let signer = log_signer.ed25519().clone();
    if pq_created {
        tracing::info!(path = %cfg.data.join(LOG_MLDSA_KEY_FILE).display(), "created a new ML-DSA-44 log key");
    }
    if created {
        tracing::info!(path = %cfg.data.join(LOG_KEY_FILE).display(), origin = %origin, "created a new log key");
        if derived {
            tracing::info!(
                "origin {origin} was derived from the listen address; a log others reach under a public URL is created with --public-url URL (an origin never changes)"
            );
        }
    } else if args.origin.is_some() && signer.name() != origin {
        return Err(format!(
            "--origin {} differs from the existing log key's name {}; a log's origin cannot change",
            origin,
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
    let frontends = match &args.frontend_keys {
        Some(path) => {
            let trust = provlog_server::frontend::FrontendTrust::load(path, signer.name())
                .map_err(|e| e.to_string())?;
            tracing::info!(count = trust.len(), file = %path.display(), "accepting signed batches from these frontends at {}", provlog_server::frontend::FORWARD_PATH);
            Some(Arc::new(trust))
        }
        None => None,
    };
    let backend = open_backend(storage, &cfg.data, &signer.verifier_key())?;
    let log: Arc<dyn LogStorage> = backend.log.clone();
    let index: Arc<dyn IndexStorage> = backend.index.clone();
    let metrics = Arc::new(Metrics::new());
    let mut seq = Sequencer::open(
        log.clone(),
        index.clone(),
        log_signer.clone(),
        metrics.clone(),
        now_ms(),
    )
    .map_err(|e| e.to_string())?;
    spawn_dedup_filter(&mut seq, index.clone());
    let vindex = if args.verifiable_index {
        let v = Arc::new(provlog_server::vindex::VIndex::new(
            args.unsafe_test_index_omit
                .map(|entry| provlog_server::vindex::OmitFault { entry }),
        ));
        seq.set_vindex(v.clone()).map_err(|e| e.to_string())?;
        // The accepted-keys file, issued into the log as vendor-key entries
        // before any claim is taken (spec/lookup.md §9.1).
        if let Some(keys) = &accepted {
            let issued = provlog_server::vendor_keys::issue(&mut seq, &v, &signer, keys, now_ms())
                .map_err(|e| e.to_string())?;
            for (c, index) in &issued {
                tracing::info!(op = c.op.as_str(), key = %c.key, index, "vendor-key entry logged");
            }
            if issued.is_empty() {
                tracing::info!("the log's vendor-key entries already match --accept-keys");
            }
        }
        Some(v)
    } else {
        if accepted.is_some() {
            tracing::info!(
                "without --verifiable-index the accepted keys are not recorded in the log (no vendor-key entries)"
            );
        }
        None
    };
    let committed = seq
        .committed()
        .ok_or("the log was opened but its checkpoint is unknown")?;
    // An exchange may be retried once after a 409; a round may start after
    // the one already running: receipts wait at most this for the quorum.
    let witness_wait = cfg.witness_timeout * 2 + Duration::from_secs(1);
    // The keys configured with one URL are one witness (asked once; each
    // key's cosignature counts toward the quorum).
    let groups = provlog_server::witnessing::group_targets(&cfg.witnesses)?;
    let targets: Vec<_> = groups
        .iter()
        .filter_map(|g| Some((g.keys.first()?.clone(), g.url.clone())))
        .collect();
    let publication = Publication::new(committed, &targets, cfg.witness_quorum, witness_wait);
    seq.set_publication(publication.clone());
    // Admission derives each claim's binding records from its parse (or a
    // frontend sends them); the sequencer hands them to the binding index,
    // which then neither reads those entries back nor parses them again.
    let binding_hints = Arc::new(provlog_server::binding_index::BindingHints::new());
    seq.set_binding_hints(binding_hints.clone());
    let mut slots = Vec::new();
    for g in &groups {
        let client = WitnessClient::new(&g.url, cfg.witness_timeout).map_err(|e| e.to_string())?;
        slots.push(WitnessSlot::with_keys(
            g.keys.clone(),
            g.url.clone(),
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
    // The server also stops when the sequencer does on its own (storage that
    // cannot recover in-process): nothing would be logged any more.
    let seq_stopped = Arc::new(tokio::sync::Notify::new());
    let seq_done = seq_stopped.clone();
    let seq_thread = std::thread::Builder::new()
        .name("sequencer".into())
        .spawn(move || {
            seq.run(rx, seq_cfg);
            seq_done.notify_one();
        })
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
        tiles: Arc::new(provlog_server::tile_cache::TileCache::with_defaults()),
    });
    let scitt = provlog_server::scrapi::Scitt::new(
        log_signer.clone(),
        provlog_server::scrapi::REGISTER_WAIT,
    );

    // C2PA binding indexes: derived state in DATA/bindings, kept up to date
    // by a follower thread (the near-match index is rebuilt in memory first,
    // off the start-up path).
    let index: provlog_server::sbr::IndexSlot = Arc::new(std::sync::OnceLock::new());
    spawn_index_follower(
        index.clone(),
        state.clone(),
        cfg.data.clone(),
        binding_hints,
    );

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
        std_listener
            .set_nonblocking(true)
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let listener = tokio::net::TcpListener::from_std(std_listener)
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        // Installed before the server says it is listening, so a SIGTERM
        // right after start is an ordered shutdown, not the default kill.
        let signals = Signals::install().map_err(|e| format!("cannot handle signals: {e}"))?;
        let base = cfg.public_url_for(addr);
        tracing::info!(
            listen = %addr,
            public_url = %base,
            origin = signer.name(),
            vkey = %signer.verifier_key().to_vkey(),
            tree_size = size,
            data = %cfg.data.display(),
            "provlog log serving"
        );
        tracing::info!(
            "try: provlog submit --log {base} --log-key {} FILE  (the verifier page is at {base}/)",
            signer.verifier_key().to_vkey()
        );
        // Machine-readable line for scripts and tests that use port 0.
        println!("listening on http://{addr}");
        println!("vkey {}", signer.verifier_key().to_vkey());
        if let Some(pq) = log_signer.ml_dsa_44() {
            println!("vkey-mldsa {}", pq.verifier_key().to_vkey());
        }
        let witness_keys: Vec<_> = cfg.witnesses.iter().map(|w| w.key.clone()).collect();
        let info = web::LogInfo::new(&signer.verifier_key(), &witness_keys, cfg.witness_quorum)
            .with_keys(&log_signer.verifier_keys());
        let mut app = router(state.clone());
        if let Some(trust) = &frontends {
            app = app.merge(provlog_server::frontend::sequencer_router(
                state.clone(),
                trust.clone(),
            ));
        }
        let app = app
            .merge(web::router(info))
            .merge(provlog_server::sbr::router(state.clone(), index.clone()))
            .merge(provlog_server::scrapi::router(state.clone(), scitt))
            .layer(axum::middleware::from_fn(
                provlog_server::problem::error_bodies,
            ));
        let closing = appender.clone();
        provlog_serve::serve(listener, app, cfg.conn, async move {
            tokio::select! {
                () = signals.wait() => {},
                () = seq_stopped.notified() => {},
            }
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
    if let Some(f) = metrics.storage.fault() {
        // Do not touch the engine again (a poisoned fjall never finishes a
        // flush); everything acknowledged is already durable.
        return Err(format!(
            "stopping with a storage fault: {}; nothing acknowledged is lost (every receipt was issued after its batch was durable). Fix the cause (disk space, a read-only file system, the data directory) and start the log again{}",
            f.error,
            if f.unrecoverable {
                "; this process cannot recover from it"
            } else {
                ""
            }
        ));
    }
    // Everything is already durable in the journal; writing the memtables
    // out now spares the next start from replaying it (restart time). The
    // wait is bounded: a storage engine that cannot write must not keep the
    // process from exiting.
    let (flushed_tx, flushed_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = flushed_tx.send(backend.flush());
    });
    match flushed_rx.recv_timeout(SHUTDOWN_FLUSH_WAIT) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            return Err(format!(
                "flushing the log's storage at shutdown failed: {e}; nothing acknowledged is lost (the journal holds it)"
            ));
        }
        Err(_) => {
            return Err(format!(
                "flushing the log's storage at shutdown did not finish within {} s; nothing acknowledged is lost (the journal holds it)",
                SHUTDOWN_FLUSH_WAIT.as_secs()
            ));
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// Attaches a dedup filter to the sequencer, then fills it from the dedup
/// index on its own thread (until it is full, every claim is looked up as
/// before; `provlog_server::dedup_filter` has the rule that keeps it from
/// ever hiding a logged claim).
fn spawn_dedup_filter(seq: &mut Sequencer, index: Arc<dyn IndexStorage>) {
    let size = seq.committed().map(|c| c.checkpoint.size).unwrap_or(0);
    let Some(filter) = provlog_server::dedup_filter::DedupFilter::for_leaves(size) else {
        tracing::info!(
            size,
            "the log is too large for an in-memory dedup filter; every claim is looked up"
        );
        return;
    };
    let filter = Arc::new(filter);
    seq.set_dedup_filter(filter.clone());
    let spawned = std::thread::Builder::new()
        .name("dedup-filter".into())
        .spawn(move || {
            let started = std::time::Instant::now();
            match filter.fill(&*index) {
                Ok(Some(n)) => tracing::info!(
                    leaves = n,
                    bytes = filter.bytes(),
                    seconds = started.elapsed().as_secs_f64(),
                    "dedup filter ready"
                ),
                Ok(None) => tracing::info!("this backend lists no leaves; every claim is looked up"),
                Err(e) => tracing::warn!(error = %e, "cannot fill the dedup filter; every claim is looked up"),
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the dedup-filter thread; every claim is looked up");
    }
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
    hints: Arc<provlog_server::binding_index::BindingHints>,
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
            let index = slot.get_or_init(|| opened.with_hints(hints));
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

/// SIGINT and SIGTERM, installed once at start.
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }

    /// Resolves at the first SIGINT or SIGTERM.
    async fn wait(mut self) {
        tokio::select! {
            _ = self.int.recv() => {},
            _ = self.term.recv() => {},
        }
    }
}
