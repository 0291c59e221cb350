//! `provlog-monitor`: follows provlog logs and re-derives their trees,
//! cosigns their checkpoints as a C2SP tlog-witness, gossips with peer
//! monitors, turns contradictory checkpoints into evidence anyone can
//! verify, and raises watch-list alerts. See spec/monitor.md.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use provlog_monitor::config::Config;
use provlog_monitor::monitor::Monitor;
use provlog_monitor::store::Store;
use provlog_monitor::{api, follower, gossip, keys};

/// Command-line flags.
#[derive(Parser)]
#[command(
    name = "provlog-monitor",
    version,
    about = "provlog monitor: auditor, witness, gossip, evidence"
)]
struct Cli {
    /// Data directory (fjall state and the witness key).
    #[arg(long, default_value = "./provlog-monitor-data")]
    data: PathBuf,
    /// Address to serve the witness, gossip and evidence API on.
    #[arg(long, default_value = "127.0.0.1:7400")]
    listen: SocketAddr,
    /// TOML configuration (logs, peers, witness name, watch rules, alerts).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Connection limits (also the `[connections]` table of the config).
    #[command(flatten)]
    conn: provlog_serve::ConnArgs,
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("provlog-monitor: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> Result<(), String> {
    let cfg = Config::load(cli.config.as_deref()).map_err(|e| e.to_string())?;
    let conn = provlog_serve::ConnLimits::resolve(&cli.conn, cfg.connections.as_ref())?;
    let (witness, created) = keys::load_or_create(&cli.data, &cfg.witness_name)?;
    if created {
        tracing::info!(vkey = %witness.verifier_key(), "created a new witness key");
    }
    let store = Store::open(&cli.data).map_err(|e| e.to_string())?;
    let mon = Arc::new(Monitor::new(cfg, store, witness).map_err(|e| e.to_string())?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(cli.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", cli.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let vkey = mon.witness.verifier_key().to_vkey();
        tracing::info!(listen = %addr, witness = %vkey, logs = mon.logs.len(), peers = mon.cfg.peers.len(), "provlog monitor serving");
        println!("listening on http://{addr}");
        println!("witness-vkey {vkey}");
        for log in mon.logs.values() {
            tokio::spawn(follower::run(mon.clone(), log.clone()));
        }
        tokio::spawn(gossip::run(mon.clone()));
        provlog_serve::serve(listener, api::router(mon.clone()), conn, shutdown_signal())
            .await
            .map_err(|e| format!("server error: {e}"))
    })?;
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    Ok(())
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        () = term => {},
    }
}
