//! Exports every full tile (hash tiles and entry bundles) of a stopped log
//! to a directory, laid out as the tlog-tiles paths the server serves
//! (`OUT/tile/0/x001/234`, `OUT/tile/entries/000`, ...), so a static web
//! server (nginx in `bench/run.sh`) can serve byte-identical tiles as the
//! anchor for the server's tile-serving rate:
//!
//! `cargo run --release -p provlog-server --example export_tiles -- DATA OUT`
//!
//! Prints the tree size and the number of tiles written. Partial tiles are
//! left out (they change as the log grows; the benchmark reads full ones).
#![allow(missing_docs)]

use std::path::PathBuf;

use provlog_core::tiles::{TILE_WIDTH, TileLevel, tile_at_size};
use provlog_server::storage::{LogStorage, tile_prefix};
use provlog_server::store::Store;

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: export_tiles DATA OUT";
    let data = PathBuf::from(args.next().ok_or(usage)?);
    let out = PathBuf::from(args.next().ok_or(usage)?);
    let store = Store::open(&data).map_err(|e| e.to_string())?;
    let note = store
        .checkpoint()
        .map_err(|e| e.to_string())?
        .ok_or("the log has no checkpoint yet")?;
    // Checkpoint body: origin line, then the tree size (tlog-checkpoint).
    let text = String::from_utf8_lossy(&note);
    let size: u64 = text
        .lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .ok_or("checkpoint has no size line")?;
    let mut written = 0u64;
    let levels = std::iter::once(TileLevel::Entries).chain((0..=5u8).map(TileLevel::Hash));
    for level in levels {
        let span = match level {
            TileLevel::Entries => TILE_WIDTH,
            TileLevel::Hash(l) => TILE_WIDTH.pow(u32::from(l) + 1),
        };
        for index in 0..size / span {
            let Some(tile) = tile_at_size(level, index, size).filter(|t| t.is_full()) else {
                continue;
            };
            let raw = store
                .tile(level, index)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("{} is not stored", tile.path()))?;
            let bytes = tile_prefix(&tile, raw)?;
            let path = out.join(tile.path());
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
            }
            std::fs::write(&path, bytes).map_err(|e| e.to_string())?;
            written += 1;
        }
    }
    println!("tree_size {size} tiles {written}");
    Ok(())
}
