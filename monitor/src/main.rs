//! `provlog-monitor`: follows provlog logs and re-derives their trees,
//! cosigns their checkpoints as a C2SP tlog-witness, gossips with peer
//! monitors, turns contradictory checkpoints into evidence anyone can
//! verify, and raises watch-list alerts. See spec/monitor.md.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use provlog_monitor::config::Config;
use provlog_monitor::monitor::Monitor;
use provlog_monitor::store::Store;
use provlog_monitor::{api, commands, follower, gossip, keys};

const RELATED: &str = "\
Related commands:
  provlog-monitor init --name NAME --log URL=VKEY   write a config and the witness key
  provlog-monitor vkey --data DIR                   print the witness key(s)
  provlog-monitor evidence list|show|verify         evidence this monitor holds
  provlog verify-evidence FILE --key VKEY           check a bundle offline
  provlog-server --witness VKEY=URL                 make a log ask this monitor to cosign

README.md: \"Running a log with two witnessing monitors\".
Specification: spec/monitor.md (config, endpoints, alerts), spec/witness.md, spec/evidence.md";

/// Command line.
#[derive(Parser)]
#[command(
    name = "provlog-monitor",
    version,
    about = "provlog monitor: auditor, witness, gossip, evidence",
    long_about = "provlog monitor: follows logs and re-derives their trees, cosigns their checkpoints as a C2SP tlog-witness, gossips with peer monitors and turns contradictory checkpoints into evidence.\n\nWithout a subcommand it serves; the first start creates the witness key in the data directory.",
    after_help = RELATED,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Args)]
struct ServeArgs {
    /// Data directory (fjall state and the witness key).
    #[arg(long, default_value = "./provlog-monitor-data")]
    data: PathBuf,
    /// Address to serve the witness, gossip and evidence API on.
    #[arg(long, default_value = "127.0.0.1:7400")]
    listen: SocketAddr,
    /// TOML configuration (logs, peers, witness name, watch rules,
    /// alerts). Default: DATA/config.toml if it exists.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Connection limits (also the `[connections]` table of the config).
    #[command(flatten)]
    conn: provlog_serve::ConnArgs,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write a configuration and create the witness key; prints the witness vkey.
    #[command(after_help = RELATED)]
    Init(commands::InitArgs),
    /// Print the witness vkey of a data directory.
    #[command(after_help = RELATED)]
    Vkey {
        /// Data directory.
        #[arg(long, default_value = "./provlog-monitor-data")]
        data: PathBuf,
    },
    /// List, show or verify the evidence a monitor holds.
    #[command(after_help = RELATED)]
    Evidence {
        #[command(subcommand)]
        cmd: commands::EvidenceCmd,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            // The storage engine's chatter (database creation, recovery)
            // only when asked for (RUST_LOG=debug).
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,fjall=warn,lsm_tree=warn")),
        )
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.cmd {
        None => serve(&cli.serve).map_err(|e| (2, e)),
        Some(Cmd::Init(args)) => commands::init(&args).map_err(|e| (2, e)),
        Some(Cmd::Vkey { data }) => commands::vkey(&data).map_err(|e| (2, e)),
        Some(Cmd::Evidence { cmd }) => commands::evidence(&cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, e)) => {
            eprintln!("provlog-monitor: {e}");
            ExitCode::from(code)
        }
    }
}

/// The config file to use: `--config`, else `DATA/config.toml` if present.
fn config_path(args: &ServeArgs) -> Option<PathBuf> {
    args.config.clone().or_else(|| {
        let p = args.data.join(commands::DEFAULT_CONFIG);
        p.exists().then_some(p)
    })
}

fn serve(cli: &ServeArgs) -> Result<(), String> {
    let cfg_path = config_path(cli);
    let cfg = Config::load(cfg_path.as_deref()).map_err(|e| e.to_string())?;
    let conn = provlog_serve::ConnLimits::resolve(&cli.conn, cfg.connections.as_ref())?;
    let (witness, created) = keys::load_or_create_all(
        &cli.data,
        cfg.witness_name.as_deref(),
        cfg.witness_ml_dsa_44,
    )?;
    if created.cosigner {
        tracing::info!(vkey = %witness.cosigner.verifier_key(), "created a new witness key");
    }
    if let Some(ml) = witness.ml_dsa_44.as_ref().filter(|_| created.ml_dsa_44) {
        tracing::info!(vkey = %ml.verifier_key(), "created a new ML-DSA-44 witness key");
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
        let vkey = mon.witness().verifier_key().to_vkey();
        // Machine-readable lines (spec/monitor.md), then what a person needs.
        println!("listening on http://{addr}");
        println!("witness-vkey {vkey}");
        for k in mon.witness().verifier_keys().iter().skip(1) {
            println!("witness-vkey-ml-dsa-44 {}", k.to_vkey());
        }
        eprint!("{}", banner(&mon, &cli.data, cfg_path.as_deref(), addr));
        for log in mon.logs() {
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

/// The start-up lines: what runs, where, its key, what to try next.
fn banner(mon: &Monitor, data: &Path, cfg: Option<&Path>, addr: SocketAddr) -> String {
    let logs: Vec<String> = mon
        .logs()
        .map(|l| format!("{} at {}", l.origin(), l.config().url))
        .collect();
    let peers = mon.peers().len();
    let what = if logs.is_empty() {
        "following no log yet (add [[log]] sections: provlog-monitor init --log URL=VKEY)"
            .to_owned()
    } else {
        format!(
            "auditing and witnessing {} log{} ({})",
            logs.len(),
            if logs.len() == 1 { "" } else { "s" },
            logs.join(", ")
        )
    };
    let config = cfg.map_or("no config file".to_owned(), |p| {
        format!("config {}", p.display())
    });
    format!(
        "provlog-monitor {}: {what}, gossiping with {peers} peer{}; data in {}, {config}\n\
         witness key {}{}; a log asks it to cosign with --witness \"<this key>=http://{addr}\"\n\
         try: curl -s http://{addr}/healthz   or   provlog-monitor evidence list --monitor http://{addr}\n",
        env!("CARGO_PKG_VERSION"),
        if peers == 1 { "" } else { "s" },
        data.display(),
        mon.witness().verifier_key().to_vkey(),
        match mon.witness().verifier_keys().get(1) {
            Some(k) => format!(" (and ML-DSA-44 key {})", k.to_vkey()),
            None => String::new(),
        },
    )
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
