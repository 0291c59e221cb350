//! The `provlog-monitor` subcommands other than serving: `init` (write a
//! config and the witness key), `vkey`, and `evidence list|show|verify`
//! (spec/monitor.md, "Command line").

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use provlog_client::bounded::read_limited;
use provlog_core::evidence::{Evidence, MAX_EVIDENCE_SIZE};
use provlog_core::note::VerifierKey;

use crate::config::Config;
use crate::keys;
use crate::store::{EvidenceMeta, Store};

/// The config file `init` writes, and `serve` reads without `--config`,
/// inside the data directory.
pub const DEFAULT_CONFIG: &str = "config.toml";
/// Default monitor address for the evidence commands.
const DEFAULT_MONITOR: &str = "http://127.0.0.1:7400";
/// Largest evidence listing read from a monitor.
const MAX_LIST_RESPONSE: usize = 4 << 20;

/// `provlog-monitor init`.
#[derive(Args, Debug)]
pub struct InitArgs {
    /// Name of the witness key (how logs and verifiers name this witness),
    /// e.g. monitor-a.example.
    #[arg(long)]
    pub name: String,
    /// A log to follow and witness: its URL and its verifier key (repeatable).
    #[arg(long = "log", value_name = "URL=VKEY", required = true)]
    pub logs: Vec<String>,
    /// A peer monitor to gossip with, optionally with its witness vkey (repeatable).
    #[arg(long = "peer", value_name = "URL[=VKEY]")]
    pub peers: Vec<String>,
    /// Data directory (the witness key is created in it).
    #[arg(long, default_value = "./provlog-monitor-data")]
    pub data: PathBuf,
    /// Where to write the configuration (default: DATA/config.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// This monitor's public base URL (used in alert links).
    #[arg(long)]
    pub public_url: Option<String>,
    /// Overwrite an existing configuration file (the witness key is never
    /// overwritten).
    #[arg(long)]
    pub force: bool,
    /// Also create an ML-DSA-44 witness key (subtree/v1 cosignatures, as
    /// tlog-witness recommends) and write `witness_ml_dsa_44 = true`.
    #[arg(long)]
    pub ml_dsa_44: bool,
}

/// Where the evidence commands read from.
#[derive(Args, Debug, Clone)]
pub struct Source {
    /// A running monitor's base URL.
    #[arg(long, default_value = DEFAULT_MONITOR, conflicts_with = "data")]
    pub monitor: String,
    /// Read a stopped monitor's data directory instead.
    #[arg(long)]
    pub data: Option<PathBuf>,
}

/// `provlog-monitor evidence ...`.
#[derive(Subcommand, Debug)]
pub enum EvidenceCmd {
    /// List bundles: id, kind, log, sizes, time (newest first).
    List {
        /// Where the bundles are.
        #[command(flatten)]
        from: Source,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Print one bundle (JSON, as `provlog verify-evidence` reads it).
    Show {
        /// The bundle id.
        id: String,
        /// Where the bundles are.
        #[command(flatten)]
        from: Source,
    },
    /// Verify a bundle (an id, or a file) offline.
    Verify {
        /// A bundle id, or the path of a bundle file.
        bundle: String,
        /// The key you trust for the accused log or witness. Without it the
        /// bundle is checked against the key it names, which only shows it is
        /// well-formed: compare that key with the one you pin.
        #[arg(long)]
        key: Option<String>,
        /// Where the bundles are.
        #[command(flatten)]
        from: Source,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Splits `URL=VKEY` at the first `=` after which the rest is a vkey (a URL
/// may hold `=` in its query, and an ML-DSA-44 vkey ends in `=` padding).
/// With `optional_key`, a spec whose tail is not a vkey is all URL.
fn split_spec(spec: &str, optional_key: bool) -> Result<(String, Option<String>), String> {
    for (at, _) in spec.match_indices('=') {
        let (url, key) = (&spec[..at], &spec[at + 1..]);
        if VerifierKey::parse(key).is_ok() {
            return Ok((url.to_owned(), Some(key.to_owned())));
        }
    }
    if optional_key {
        Ok((spec.to_owned(), None))
    } else {
        Err(format!(
            "{spec:?} is not URL=VKEY (the log's URL, '=', and its verifier key, e.g. from `provlog-server vkey`)"
        ))
    }
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// The configuration text `init` writes for `args`.
pub fn init_config(args: &InitArgs) -> Result<String, String> {
    let mut out =
        String::from("# Written by `provlog-monitor init`; every setting is in spec/monitor.md.\n");
    out.push_str(&format!("witness_name = {}\n", toml_str(&args.name)));
    if args.ml_dsa_44 {
        out.push_str("witness_ml_dsa_44 = true\n");
    }
    if let Some(u) = &args.public_url {
        out.push_str(&format!("public_url = {}\n", toml_str(u)));
    }
    for spec in &args.logs {
        let (url, key) = split_spec(spec, false)?;
        out.push_str(&format!(
            "\n[[log]]\nurl = {}\nvkey = {}\n",
            toml_str(&url),
            toml_str(&key.unwrap_or_default())
        ));
    }
    for spec in &args.peers {
        let (url, key) = split_spec(spec, true)?;
        out.push_str(&format!("\n[[peer]]\nurl = {}\n", toml_str(&url)));
        if let Some(k) = key {
            out.push_str(&format!("vkey = {}\n", toml_str(&k)));
        }
    }
    // Refuse now what the monitor would refuse at start.
    Config::parse(&out).map_err(|e| format!("the configuration would be invalid: {e}"))?;
    Ok(out)
}

/// Writes `text` to `path` atomically (temporary file, fsync, rename).
fn write_atomic(path: &Path, text: &str) -> Result<(), String> {
    let show = |e: std::io::Error| format!("{}: {e}", path.display());
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(show)?;
    let tmp = path.with_extension("toml.tmp");
    let mut f = fs::File::create(&tmp).map_err(show)?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(show)?;
    fs::rename(&tmp, path).map_err(show)?;
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// `init`: writes the config, creates (or keeps) the witness key, prints
/// the witness vkey on stdout and what to do next on stderr.
pub fn init(args: &InitArgs) -> Result<(), String> {
    let text = init_config(args)?;
    let path = args
        .config
        .clone()
        .unwrap_or_else(|| args.data.join(DEFAULT_CONFIG));
    if path.exists() && !args.force {
        return Err(format!(
            "{} exists; pass --force to overwrite it (the witness key is kept)",
            path.display()
        ));
    }
    let (keys, created) = keys::load_or_create_all(&args.data, Some(&args.name), args.ml_dsa_44)?;
    write_atomic(&path, &text)?;
    // One vkey per line, cosignature/v1 first (what scripts capture).
    for k in keys.verifier_keys() {
        println!("{}", k.to_vkey());
    }
    let config_flag = if args.config.is_some() {
        format!(" --config {}", path.display())
    } else {
        String::new()
    };
    let ml = match (&keys.ml_dsa_44, created.ml_dsa_44) {
        (None, _) => String::new(),
        (Some(_), c) => format!(
            "; {} ML-DSA-44 witness key in {}",
            if c { "created the" } else { "kept the" },
            args.data.join(keys::ML_DSA_WITNESS_KEY_FILE).display()
        ),
    };
    eprintln!(
        "wrote {}; {} witness key {} in {}{ml}\nnext: provlog-monitor --data {}{config_flag} --listen 127.0.0.1:7400",
        path.display(),
        if created.cosigner {
            "created"
        } else {
            "kept the"
        },
        keys.cosigner.name(),
        args.data.join(keys::WITNESS_KEY_FILE).display(),
        args.data.display(),
    );
    Ok(())
}

/// `vkey`: prints the witness vkeys stored in `data`, one per line
/// (cosignature/v1, then ML-DSA-44 if there is one).
pub fn vkey(data: &Path) -> Result<(), String> {
    match keys::load(data)? {
        Some(k) => {
            println!("{}", k.verifier_key().to_vkey());
            if let Some(ml) = keys::load_ml_dsa(data)? {
                println!("{}", ml.verifier_key().to_vkey());
            }
            Ok(())
        }
        None => Err(format!(
            "no witness key in {} (create one with `provlog-monitor init --name NAME --log URL=VKEY --data {}`)",
            data.display(),
            data.display()
        )),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

/// GETs `url` with a body limit; `Ok(None)` on 404.
fn get(url: &str, limit: usize) -> Result<Option<Vec<u8>>, String> {
    runtime()?.block_on(async {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?;
        let resp = http
            .get(url)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let status = resp.status();
        let body = read_limited(resp, limit)
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        if status.as_u16() == 404 {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(format!(
                "{url}: HTTP {status}: {}",
                String::from_utf8_lossy(&body)
            ));
        }
        Ok(Some(body))
    })
}

fn open_store(data: &Path) -> Result<Store, String> {
    // Reading must not create a database where there is none (a typo).
    if !data.join("db").is_dir() {
        return Err(format!("no monitor database in {}", data.display()));
    }
    Store::open(data).map_err(|e| match e {
        crate::store::StoreError::InUse { .. } => {
            format!("{e}; while the monitor runs, ask it instead: --monitor http://ADDR")
        }
        e => e.to_string(),
    })
}

fn list(from: &Source) -> Result<Vec<EvidenceMeta>, String> {
    if let Some(data) = &from.data {
        return open_store(data)?
            .evidence_list(crate::monitor::MAX_EVIDENCE_LIST)
            .map_err(|e| e.to_string());
    }
    let url = format!("{}/v1/evidence", from.monitor.trim_end_matches('/'));
    let body = get(&url, MAX_LIST_RESPONSE)?.ok_or_else(|| format!("{url}: not found"))?;
    let v: serde_json::Value = serde_json::from_slice(&body).map_err(|e| format!("{url}: {e}"))?;
    serde_json::from_value(v["evidence"].clone()).map_err(|e| format!("{url}: {e}"))
}

fn fetch(id: &str, from: &Source) -> Result<Vec<u8>, String> {
    if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "{id:?} is neither a bundle file nor an evidence id (64 hex digits)"
        ));
    }
    let found = if let Some(data) = &from.data {
        open_store(data)?.evidence(id).map_err(|e| e.to_string())?
    } else {
        let url = format!("{}/v1/evidence/{id}", from.monitor.trim_end_matches('/'));
        get(&url, MAX_EVIDENCE_SIZE)?
    };
    found.ok_or_else(|| format!("no evidence {id}"))
}

fn time_text(ms: u64) -> String {
    // RFC 3339 in UTC without a date library: days since the epoch to a
    // civil date (Howard Hinnant's algorithm).
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `evidence ...`. Errors carry an exit code: 1 for a bundle that does not
/// verify, 2 for anything that kept the command from checking.
pub fn evidence(cmd: &EvidenceCmd) -> Result<(), (u8, String)> {
    let fail = |e: String| (2u8, e);
    match cmd {
        EvidenceCmd::List { from, json } => {
            let items = list(from).map_err(fail)?;
            if *json {
                for m in &items {
                    println!("{}", serde_json::to_string(m).unwrap_or_default());
                }
            } else if items.is_empty() {
                eprintln!("no evidence");
            } else {
                for m in &items {
                    println!(
                        "{}  {}  {}  sizes {} {}  {}",
                        m.id,
                        m.kind,
                        m.origin,
                        m.sizes[0],
                        m.sizes[1],
                        time_text(m.time_ms)
                    );
                }
            }
            Ok(())
        }
        EvidenceCmd::Show { id, from } => {
            let bytes = fetch(id, from).map_err(fail)?;
            println!("{}", String::from_utf8_lossy(&bytes).trim_end());
            Ok(())
        }
        EvidenceCmd::Verify {
            bundle,
            key,
            from,
            json,
        } => {
            let path = Path::new(bundle);
            let bytes = if path.is_file() {
                let len = fs::metadata(path).map_err(|e| fail(e.to_string()))?.len();
                if len > MAX_EVIDENCE_SIZE as u64 {
                    return Err(fail(format!(
                        "{bundle}: {len} bytes is over the evidence size limit"
                    )));
                }
                fs::read(path).map_err(|e| fail(format!("{bundle}: {e}")))?
            } else {
                fetch(bundle, from).map_err(fail)?
            };
            let ev =
                Evidence::from_json(&bytes).map_err(|e| (1, format!("NOT valid evidence: {e}")))?;
            let (trusted, named_only) = match key {
                Some(k) => (
                    VerifierKey::parse(k.trim()).map_err(|e| fail(format!("--key: {e}")))?,
                    false,
                ),
                None => (
                    VerifierKey::parse(&ev.signer)
                        .map_err(|e| (1, format!("NOT valid evidence: signer: {e}")))?,
                    true,
                ),
            };
            let v = ev
                .verify(&trusted)
                .map_err(|e| (1, format!("NOT valid evidence: {e}")))?;
            if *json {
                println!(
                    "{}",
                    serde_json::json!({
                        "valid": true,
                        "id": v.id(),
                        "kind": v.kind.as_str(),
                        "signer": v.signer.to_vkey(),
                        "origin": v.smaller.origin,
                        "smaller_size": v.smaller.size,
                        "larger_size": v.larger.size,
                        "checked_against": if named_only { "the key the bundle names" } else { "--key" },
                    })
                );
            } else {
                println!(
                    "VALID evidence {} ({}): {} signed two checkpoints of {} that cannot both be true (sizes {} and {})",
                    v.id(),
                    v.kind.as_str(),
                    v.signer.to_vkey(),
                    v.smaller.origin,
                    v.smaller.size,
                    v.larger.size
                );
                if named_only {
                    eprintln!(
                        "checked against the key the bundle names; it proves misbehaviour only if that is the key you trust for {} (pass --key VKEY)",
                        v.smaller.origin
                    );
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use provlog_core::note::NoteSigner;

    fn args(logs: Vec<String>, peers: Vec<String>) -> InitArgs {
        InitArgs {
            name: "monitor-a.example".into(),
            logs,
            peers,
            data: PathBuf::from("unused"),
            config: None,
            public_url: Some("http://127.0.0.1:7401".into()),
            force: false,
            ml_dsa_44: false,
        }
    }

    #[test]
    fn init_writes_a_config_the_monitor_accepts() {
        let log = NoteSigner::generate("localhost/provlog")
            .unwrap()
            .verifier_key();
        let peer = NoteSigner::generate_cosigner("monitor-b.example")
            .unwrap()
            .verifier_key();
        let text = init_config(&args(
            vec![format!("http://127.0.0.1:7300={log}")],
            vec![
                format!("http://127.0.0.1:7402={peer}"),
                "http://127.0.0.1:7403/?a=b".into(),
            ],
        ))
        .unwrap();
        let cfg = Config::parse(&text).unwrap();
        assert_eq!(cfg.witness_name.as_deref(), Some("monitor-a.example"));
        assert_eq!(cfg.logs[0].url, "http://127.0.0.1:7300");
        assert_eq!(cfg.logs[0].key, log);
        assert_eq!(cfg.peers[0].key.as_ref(), Some(&peer));
        assert_eq!(cfg.peers[1].url, "http://127.0.0.1:7403/?a=b");
        assert!(cfg.peers[1].key.is_none());
        // A log without a key, or with the witness's key type, is refused.
        assert!(init_config(&args(vec!["http://127.0.0.1:7300".into()], vec![])).is_err());
        assert!(init_config(&args(vec![format!("http://127.0.0.1:7300={peer}")], vec![])).is_err());
        assert!(init_config(&args(vec![format!("ftp://x={log}")], vec![])).is_err());
    }

    #[test]
    fn ml_dsa_44_vkeys_end_in_padding_and_still_split() {
        use provlog_core::note::MlDsa44NoteSigner;
        let log = MlDsa44NoteSigner::generate("pq.example/log")
            .unwrap()
            .verifier_key();
        let peer = MlDsa44NoteSigner::generate("peer.example")
            .unwrap()
            .verifier_key();
        assert!(log.to_vkey().ends_with('='));
        let mut a = args(
            vec![format!("http://127.0.0.1:7300/?x=1={log}")],
            vec![format!("http://127.0.0.1:7402={peer}")],
        );
        a.ml_dsa_44 = true;
        let cfg = Config::parse(&init_config(&a).unwrap()).unwrap();
        assert!(cfg.witness_ml_dsa_44);
        assert_eq!(cfg.logs[0].url, "http://127.0.0.1:7300/?x=1");
        assert_eq!(cfg.logs[0].key, log);
        assert_eq!(cfg.peers[0].key.as_ref(), Some(&peer));
    }

    #[test]
    fn times_are_rfc3339() {
        assert_eq!(time_text(0), "1970-01-01T00:00:00Z");
        assert_eq!(time_text(1_795_322_845_852), "2026-11-22T04:47:25Z");
        assert_eq!(time_text(951_782_400_000), "2000-02-29T00:00:00Z");
    }
}
