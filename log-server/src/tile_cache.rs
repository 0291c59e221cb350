//! Full tiles and bundles kept in memory, raw and gzip-compressed.
//!
//! A full tile (256 hashes) or full entry bundle (256 entries) never
//! changes once the tree has grown past it, so its bytes can be served to
//! every later reader without reading storage again: a hit costs one LRU
//! lookup under a mutex and a reference-count increment (`Bytes::clone`),
//! with no copy of the tile. Partial tiles change as the tree grows and are
//! never cached here.
//!
//! Budget: raw bytes are bounded by a byte budget (a full hash tile is
//! 8 KiB, a full bundle of typical claims ~110 KiB); compressed bundles
//! (tlog-tiles: entry bundles SHOULD be served compressed to clients that
//! accept it) by a count, compressed once per bundle while cached, off the
//! async reactor. Hash tiles are not compressed (hashes do not compress).

use std::num::NonZeroUsize;
use std::sync::Mutex;

use bytes::Bytes;
use provlog_core::tiles::TileLevel;

/// Raw bytes of full tiles kept (64 MiB: every level-0 hash tile of an
/// 2-million-entry log, or ~600 full bundles).
pub const DEFAULT_RAW_BUDGET: usize = 64 << 20;
/// Compressed full bundles kept (a few tens of KiB each).
pub const DEFAULT_GZIP_CAPACITY: usize = 512;

/// The cache key: a tile level and an index within it.
type Key = (TileLevel, u64);

struct Raw {
    lru: lru::LruCache<Key, Bytes>,
    bytes: usize,
    budget: usize,
}

/// Full tiles' raw bytes and full bundles' gzip bytes.
pub struct TileCache {
    raw: Mutex<Raw>,
    gzip: Mutex<lru::LruCache<u64, Bytes>>,
}

impl TileCache {
    /// A cache holding at most `raw_budget` bytes of raw full tiles and
    /// `gzip_capacity` (at least 1) compressed bundles.
    pub fn new(raw_budget: usize, gzip_capacity: usize) -> Self {
        TileCache {
            raw: Mutex::new(Raw {
                lru: lru::LruCache::unbounded(),
                bytes: 0,
                budget: raw_budget,
            }),
            gzip: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(gzip_capacity).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }

    /// The defaults above.
    pub fn with_defaults() -> Self {
        Self::new(DEFAULT_RAW_BUDGET, DEFAULT_GZIP_CAPACITY)
    }

    /// The raw bytes of full tile `(level, index)`, reading them with
    /// `read` on a miss. The caller guarantees the tile is full (it never
    /// changes); a failed read is returned and nothing is cached.
    pub fn full<E>(
        &self,
        level: TileLevel,
        index: u64,
        read: impl FnOnce() -> Result<Vec<u8>, E>,
    ) -> Result<Bytes, E> {
        if let Some(hit) = lock(&self.raw).lru.get(&(level, index)) {
            return Ok(hit.clone());
        }
        let bytes = Bytes::from(read()?);
        let mut raw = lock(&self.raw);
        if bytes.len() <= raw.budget && raw.lru.put((level, index), bytes.clone()).is_none() {
            raw.bytes += bytes.len();
            while raw.bytes > raw.budget {
                match raw.lru.pop_lru() {
                    Some((_, old)) => raw.bytes -= old.len(),
                    None => break,
                }
            }
        }
        Ok(bytes)
    }

    /// The gzip bytes of full bundle `index`, whose raw bytes `raw` gives
    /// (called only on a miss). Compresses at most once per miss.
    pub fn full_bundle_gzip(
        &self,
        index: u64,
        raw: impl FnOnce() -> Result<Bytes, String>,
    ) -> Result<Bytes, String> {
        if let Some(hit) = lock(&self.gzip).get(&index) {
            return Ok(hit.clone());
        }
        let gz = Bytes::from(crate::bundle_gzip::gzip(&raw()?)?);
        lock(&self.gzip).put(index, gz.clone());
        Ok(gz)
    }

    /// Raw bytes held now (for tests and metrics).
    pub fn raw_bytes(&self) -> usize {
        lock(&self.raw).bytes
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_tile_is_read_once_while_cached() {
        let c = TileCache::new(1 << 20, 4);
        let mut reads = 0;
        for _ in 0..3 {
            let b = c
                .full(TileLevel::Hash(0), 7, || {
                    reads += 1;
                    Ok::<_, ()>(vec![1u8; 8192])
                })
                .expect("read");
            assert_eq!(b.len(), 8192);
        }
        assert_eq!(reads, 1);
        // Another level, same index: another tile.
        c.full(TileLevel::Entries, 7, || Ok::<_, ()>(vec![2u8; 10]))
            .expect("read");
        assert_eq!(c.raw_bytes(), 8192 + 10);
    }

    #[test]
    fn the_byte_budget_evicts_the_least_recently_used() {
        let c = TileCache::new(3 * 8192, 4);
        for i in 0..10u64 {
            c.full(TileLevel::Hash(0), i, || Ok::<_, ()>(vec![0u8; 8192]))
                .expect("read");
            assert!(c.raw_bytes() <= 3 * 8192);
        }
        // 9 is cached, 0 was evicted.
        let mut reread = Vec::new();
        for i in [9u64, 0] {
            c.full(TileLevel::Hash(0), i, || {
                reread.push(i);
                Ok::<_, ()>(vec![0u8; 8192])
            })
            .expect("read");
        }
        assert_eq!(reread, vec![0]);
        // A tile larger than the whole budget is served, not kept.
        c.full(TileLevel::Entries, 1, || Ok::<_, ()>(vec![0u8; 4 * 8192]))
            .expect("read");
        assert!(c.raw_bytes() <= 3 * 8192);
    }

    #[test]
    fn a_failed_read_caches_nothing() {
        let c = TileCache::new(1 << 20, 4);
        assert!(
            c.full(TileLevel::Hash(1), 0, || Err::<Vec<u8>, _>("down"))
                .is_err()
        );
        let b = c
            .full(TileLevel::Hash(1), 0, || Ok::<_, &str>(vec![3u8; 4]))
            .expect("read");
        assert_eq!(&b[..], &[3u8; 4]);
    }

    #[test]
    fn compresses_once_per_bundle() {
        let c = TileCache::new(1 << 20, 2);
        let mut reads = 0;
        for _ in 0..3 {
            c.full_bundle_gzip(5, || {
                reads += 1;
                Ok(Bytes::from(vec![7u8; 1000]))
            })
            .expect("compress");
        }
        assert_eq!(reads, 1);
    }
}
