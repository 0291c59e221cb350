//! Writes the lookup requests of the lookup benchmark (`bench/lookup.sh`)
//! for a stopped log, one request path per line, half for assets the log
//! holds and half for assets it does not (absence proofs):
//!
//! `cargo run --release -p provlog-server --example lookup_keys -- DATA N`
//!
//! The present assets are spread evenly over the log's claims (every
//! k-th claim, read from the entry bundles); the absent ones are
//! SHA-256("absent i"). Each line is `/v1/lookup?key=asset:<hex>`, which
//! asks for the proof bundle (spec/http-api.md).
#![allow(missing_docs)]

use std::io::Write;
use std::path::PathBuf;

use provlog_core::index::entry::LogEntry;
use provlog_core::tiles::TILE_WIDTH;
use provlog_server::storage::read_bundle;
use provlog_server::store::Store;

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: lookup_keys DATA N";
    let data = PathBuf::from(args.next().ok_or(usage)?);
    let n: u64 = args
        .next()
        .ok_or(usage)?
        .parse()
        .map_err(|_| "N is a count")?;
    let store = Store::open(&data).map_err(|e| e.to_string())?;
    let size = store
        .tree_state()
        .map_err(|e| e.to_string())?
        .ok_or("the log is empty")?
        .size;
    // Every k-th bundle, and up to `per` claims from each.
    let bundles = size.div_ceil(TILE_WIDTH);
    let step = (bundles / n.max(1)).max(1);
    let per = n.div_ceil(bundles.div_ceil(step)).max(1) as usize;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut present = 0u64;
    let mut b = 0;
    while b < bundles && present < n {
        let entries = read_bundle(&store, b, size).map_err(|e| e.to_string())?;
        let claims = entries.iter().filter_map(|e| match LogEntry::classify(e) {
            LogEntry::Claim(c) => Some(c),
            _ => None,
        });
        for claim in claims.take(per) {
            if present == n {
                break;
            }
            let asset = claim.claim().asset.sha256;
            writeln!(out, "/v1/lookup?key=asset:{}", hex::encode(asset))
                .map_err(|e| e.to_string())?;
            present += 1;
        }
        b += step;
    }
    for i in 0..present {
        let absent = provlog_core::hash::sha256(format!("absent {i}").as_bytes());
        writeln!(out, "/v1/lookup?key=asset:{}", hex::encode(absent)).map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())?;
    eprintln!("tree_size {size} present {present} absent {present}");
    Ok(())
}
