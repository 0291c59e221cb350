//! `provlog`: register assets in a provlog log, verify receipts offline,
//! look assets up, and audit a log's checkpoints.
//!
//! Exit status is 0 only when what was asked succeeded and verified.

mod claim_args;
mod evidence;
mod keys;
mod load;
mod lookup_verify;
mod net;
mod out;
mod refresh;
mod submit;
mod trust;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::claim_args::ClaimArgs;
use crate::trust::TrustArgs;

#[derive(Parser)]
#[command(
    name = "provlog",
    version,
    about = "provlog: media provenance transparency log client"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make an Ed25519 vendor key (file mode 0600) and print its vkey.
    Keygen {
        /// Where to write the private key.
        #[arg(long, default_value = "vendor.key")]
        out: PathBuf,
        /// Key name, usually the vendor's domain (e.g. `imagegen.example`).
        #[arg(long, default_value = "provlog-vendor")]
        name: String,
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
    /// Check a file against its receipt (FILE.provlog, or the receipt
    /// embedded in its C2PA manifest), offline.
    Verify {
        /// The asset file.
        file: PathBuf,
        /// Receipt file (default: FILE.provlog, else FILE.tlog-proof).
        #[arg(long)]
        receipt: Option<PathBuf>,
        #[command(flatten)]
        trust: TrustArgs,
        /// Print the verdict as JSON.
        #[arg(long)]
        json: bool,
        /// PEM bundle of C2PA trust anchors for reading the file's manifest.
        #[arg(long)]
        c2pa_trust_anchors: Option<PathBuf>,
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
    /// Receipts: `provlog receipt refresh FILE` moves one onto the log's
    /// current (cosigned) checkpoint.
    #[command(subcommand)]
    Receipt(refresh::ReceiptCommand),
    /// Check an evidence bundle offline with the accused log's (or witness's) vkey.
    VerifyEvidence {
        /// The evidence file (JSON, as served at a monitor's /v1/evidence).
        file: PathBuf,
        /// The accused log's or witness's verifier key.
        #[arg(long, alias = "log-key")]
        key: String,
        /// Print the verdict as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keygen { out, name } => keys::keygen(&out, &name),
        Command::Claim {
            file,
            key,
            out,
            claim,
        } => claim_args::claim_command(&file, &key, out.as_deref(), &claim),
        Command::Submit(args) => run_async(submit::submit(args)),
        Command::Verify {
            file,
            receipt,
            trust,
            json,
            c2pa_trust_anchors,
        } => verify::verify_command(
            &file,
            receipt.as_deref(),
            &trust,
            json,
            c2pa_trust_anchors.as_deref(),
        ),
        Command::Lookup(args) => run_async(lookup_verify::lookup(args)),
        Command::Checkpoint(args) => run_async(net::checkpoint(args, false)),
        Command::Audit(args) => run_async(net::checkpoint(args, true)),
        Command::Load(args) => run_async(load::load(args)),
        Command::Receipt(cmd) => run_async(refresh::run(cmd)),
        Command::VerifyEvidence { file, key, json } => {
            evidence::verify_evidence_command(&file, &key, json)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("provlog: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_async<F: std::future::Future<Output = Result<(), String>>>(f: F) -> Result<(), String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?
        .block_on(f)
}
