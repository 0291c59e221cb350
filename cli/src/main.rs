//! `provlog`: register assets in a provlog log, verify receipts offline,
//! look assets up, and audit a log's checkpoints.
//!
//! Exit status is 0 only when what was asked succeeded and verified; the
//! other statuses are in `fail.rs` and `provlog --help`.

mod atomic;
mod claim_args;
mod config;
mod evidence;
mod fail;
mod fetch;
mod key_status;
mod keys;
mod load;
mod lookup_seq;
mod lookup_shards;
mod lookup_verify;
mod net;
mod out;
mod refresh;
mod scitt;
mod seq_counter;
mod submit;
mod trust;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::claim_args::ClaimArgs;
use crate::fail::{Fail, Kind};
use crate::out::outln;
use crate::trust::TrustArgs;

/// What `provlog --help` says after the commands.
const AFTER_HELP: &str = "\
Exit status:
  0    ok: everything asked succeeded and verified
  1    does not verify: tampered file, bad proof or signature, wrong log key,
       inconsistent log, no claim found
  2    bad arguments (unknown flag, malformed vkey, hex or URL)
  3    could not check: log unreachable or failing, missing receipt,
       unreadable file or key, other I/O
  4    refused by the log (key not accepted, invalid claim)
  130  interrupted by SIGINT (143: SIGTERM); re-running the same command resumes
With --json, results are JSON lines on stdout and a failure is also printed
there as {\"error\": ..., \"kind\": ..., \"exit\": ...}.

Configuration: $XDG_CONFIG_HOME/provlog/config.toml (else
~/.config/provlog/config.toml; PROVLOG_CONFIG=FILE names another) may set
log, log_key, policy or log_list, and key (the vendor key file). A flag wins
over an environment variable (PROVLOG_LOG, PROVLOG_LOG_KEY), which wins over
the file.

Related commands: provlog-server runs a log (`provlog-server vkey --data DIR`
prints the log key that --log-key wants); provlog-monitor audits and
witnesses a log (`provlog-monitor --help`). `provlog <command> --help` has
the details of each command. README.md: \"Quick start\" and \"Re-running,
interrupting, and what the exit status says\".";

#[derive(Parser)]
#[command(
    name = "provlog",
    version,
    about = "provlog: media provenance transparency log client",
    after_help = AFTER_HELP
)]
struct Cli {
    /// Print results, and errors, as JSON (one object per line on stdout).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make an Ed25519 vendor key (file mode 0600) and print its vkey; or,
    /// with --show, print the vkey of an existing key.
    Keygen {
        /// Where to write the private key.
        #[arg(long, default_value = "vendor.key")]
        out: PathBuf,
        /// Key name, usually the vendor's domain (e.g. `imagegen.example`).
        #[arg(long, default_value = "provlog-vendor")]
        name: String,
        /// Print the vkey of this existing private key file; make nothing.
        #[arg(long, value_name = "KEYFILE")]
        show: Option<PathBuf>,
    },
    /// Build and sign a claim for a file and print it as JSON.
    Claim {
        /// The asset file.
        file: PathBuf,
        /// Vendor private key file.
        #[arg(long)]
        key: PathBuf,
        /// Write the signed claim (COSE_Sign1) here.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        claim: ClaimArgs,
    },
    /// Sign and submit files (directories recursively); write a receipt per file.
    Submit(submit::SubmitArgs),
    /// Check files against their receipts (FILE.provlog, or the receipt
    /// embedded in the C2PA manifest), offline. One file gets the full
    /// verdict; several files or a folder get one line each and a summary.
    Verify {
        /// The asset files, or folders (walked recursively).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Receipt file (default: FILE.provlog, else FILE.tlog-proof).
        #[arg(long)]
        receipt: Option<PathBuf>,
        #[command(flatten)]
        trust: TrustArgs,
        /// PEM bundle of C2PA trust anchors for reading the file's manifest.
        #[arg(long)]
        c2pa_trust_anchors: Option<PathBuf>,
        /// Also prove, from the log's verifiable index, that the claim's
        /// vendor key was accepted at the claim's index (spec/lookup.md §5);
        /// a revoked or never-added key fails the file. Asks the log.
        #[arg(long)]
        check_key_status: bool,
        /// The log to ask for --check-key-status (default: the policy's URL
        /// for the receipt's log).
        #[arg(long, env = "PROVLOG_LOG")]
        log: Option<String>,
    },
    /// Receipts: `provlog receipt fetch FILE` rebuilds a lost receipt from
    /// the log; `provlog receipt refresh FILE` moves one onto the log's
    /// current (cosigned) checkpoint.
    Receipt {
        #[command(subcommand)]
        command: ReceiptCommand,
    },
    /// List every logged claim for an asset or index key, each inclusion
    /// verified; with the log's lookup proof, complete (`VERIFIED: N claims
    /// (complete as of checkpoint S)`) or absent (`VERIFIED ABSENT ...`).
    Lookup(net::LookupArgs),
    /// Fetch, verify and remember the log's latest checkpoint.
    Checkpoint(net::CheckpointArgs),
    /// Prove the log's current checkpoint consistent with the remembered one.
    Audit(net::CheckpointArgs),
    /// Load generator: pre-signs claims, sends them, reports claims/s and latency.
    Load(load::LoadArgs),
    /// Print a shell completion script: `provlog completions bash >
    /// ~/.local/share/bash-completion/completions/provlog` (zsh: into a
    /// directory on $fpath as `_provlog`; fish: ~/.config/fish/completions/provlog.fish).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Check an evidence bundle offline with the accused log's (or witness's) vkey.
    VerifyEvidence {
        /// The evidence file (JSON, as served at a monitor's /v1/evidence).
        file: PathBuf,
        /// The accused log's or witness's verifier key.
        #[arg(long, alias = "log-key")]
        key: String,
    },
}

#[derive(Subcommand)]
enum ReceiptCommand {
    /// Rebuild FILE.provlog from the log: the claim an interrupted submit
    /// left pending is sent again (the log deduplicates it), else the log's
    /// claims on the file's SHA-256 are looked up and verified.
    Fetch(fetch::FetchArgs),
    /// Move a receipt onto the log's current (cosigned) checkpoint: verify
    /// it, a consistency proof from the receipt's checkpoint and a fresh
    /// inclusion proof, then rewrite the file.
    Refresh(refresh::RefreshArgs),
}

/// Whether `--json` is among the raw arguments (for errors clap reports
/// before the arguments are parsed).
fn json_requested() -> bool {
    std::env::args_os().any(|a| a == "--json")
}

fn main() -> ExitCode {
    let config = match config::load() {
        Ok(c) => c,
        Err(f) => {
            if json_requested() {
                outln!("{}", f.to_json());
            }
            eprintln!("provlog: {f}");
            return ExitCode::from(f.kind.exit_code());
        }
    };
    let parsed = config::apply(Cli::command(), &config)
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind as K;
            if !matches!(e.kind(), K::DisplayHelp | K::DisplayVersion) && json_requested() {
                let rendered = e.to_string();
                let first = rendered.lines().next().unwrap_or("bad arguments");
                let fail = fail::usage(first.trim_start_matches("error: "));
                outln!("{}", fail.to_json());
                let _ = e.print();
                return ExitCode::from(Kind::Usage.exit_code());
            }
            // Help and version exit 0; errors print the usage and exit 2.
            e.exit()
        }
    };
    let json = cli.json;
    match run(cli.command, json) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            if json && !f.reported {
                outln!("{}", f.to_json());
            }
            eprintln!("provlog: {f}");
            ExitCode::from(f.kind.exit_code())
        }
    }
}

fn run(command: Command, json: bool) -> Result<(), Fail> {
    match command {
        Command::Keygen {
            show: Some(file), ..
        } => keys::show(&file, json),
        Command::Keygen { out, name, .. } => keys::keygen(&out, &name, json),
        Command::Claim {
            file,
            key,
            out,
            claim,
        } => claim_args::claim_command(&file, &key, out.as_deref(), &claim),
        Command::Submit(args) => run_async(submit::submit(args, json)),
        Command::Verify {
            files,
            receipt,
            trust,
            c2pa_trust_anchors,
            check_key_status,
            log,
        } => {
            let key_status = if check_key_status {
                Some(verify::KeyStatusCheck::new(log)?)
            } else {
                None
            };
            verify::verify_command(
                &files,
                receipt.as_deref(),
                &trust,
                json,
                c2pa_trust_anchors.as_deref(),
                key_status.as_ref(),
            )
        }
        Command::Receipt {
            command: ReceiptCommand::Fetch(args),
        } => run_async(fetch::fetch(args, json)),
        Command::Receipt {
            command: ReceiptCommand::Refresh(args),
        } => run_async(async move {
            refresh::run(refresh::ReceiptCommand::Refresh(args))
                .await
                .map_err(Fail::from)
        }),
        Command::Lookup(mut args) => {
            args.json = json;
            run_async(lookup_verify::lookup(args))
        }
        Command::Checkpoint(args) => run_async(net::checkpoint(args, false, json)),
        Command::Audit(args) => run_async(net::checkpoint(args, true, json)),
        Command::Load(mut args) => {
            args.json = json;
            // A bad URL is a usage error, before anything starts.
            provlog_client::http::LogClient::new(&args.log)?;
            run_async(async move { load::load(args).await.map_err(Fail::from) })
        }
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd, "provlog", &mut out);
            use std::io::Write as _;
            std::io::stdout()
                .write_all(&out)
                .map_err(|e| format!("cannot write the completion script: {e}"))?;
            Ok(())
        }
        Command::VerifyEvidence { file, key } => {
            evidence::verify_evidence_command(&file, &key, json)
        }
    }
}

fn run_async<F: std::future::Future<Output = Result<(), Fail>>>(f: F) -> Result<(), Fail> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?
        .block_on(f)
}
