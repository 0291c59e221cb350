//! gzip-compressed full entry bundles, compressed once and cached.
//!
//! tlog-tiles: entry bundles SHOULD be served compressed to clients that
//! accept it. A full bundle never changes, so its gzip bytes are made on
//! its first compressed read and kept in an LRU (cost: one compression per
//! bundle while it stays cached, off the async reactor); partial bundles
//! are served raw. Hash tiles are not compressed (hashes do not compress).

use std::io::Write as _;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, header};
use flate2::Compression;
use flate2::write::GzEncoder;

/// Full bundles whose gzip bytes are kept (a full bundle of 256 typical
/// claims is ~150 KiB raw, a few tens of KiB compressed).
pub const DEFAULT_CAPACITY: usize = 512;

/// The LRU of compressed full bundles, by bundle index.
pub struct BundleGzip {
    cache: Mutex<lru::LruCache<u64, Arc<Vec<u8>>>>,
}

impl BundleGzip {
    /// A cache of at most `capacity` compressed bundles (at least 1).
    pub fn new(capacity: usize) -> Self {
        BundleGzip {
            cache: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }

    /// The gzip bytes of full bundle `index`, whose raw bytes are `raw`
    /// (read only on a cache miss). Compresses at most once per miss.
    pub fn get_or_compress(
        &self,
        index: u64,
        raw: impl FnOnce() -> Result<Vec<u8>, String>,
    ) -> Result<Arc<Vec<u8>>, String> {
        if let Some(hit) = self.lock().get(&index) {
            return Ok(hit.clone());
        }
        let gz = Arc::new(gzip(&raw()?)?);
        self.lock().put(index, gz.clone());
        Ok(gz)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, lru::LruCache<u64, Arc<Vec<u8>>>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// gzip (RFC 1952) of `raw` at the default level.
pub fn gzip(raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut enc = GzEncoder::new(Vec::with_capacity(raw.len() / 2), Compression::default());
    enc.write_all(raw)
        .and_then(|()| enc.finish())
        .map_err(|e| format!("gzip failed: {e}"))
}

/// Whether the request's `Accept-Encoding` allows `gzip` (RFC 9110
/// §12.5.3): `gzip` (or `x-gzip`) with a non-zero q, or `*` with a non-zero
/// q when gzip is not listed. No header: identity only.
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut star = None;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(v) = value.to_str() else { continue };
        for item in v.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| {
                    let (k, v) = p.split_once('=')?;
                    k.trim()
                        .eq_ignore_ascii_case("q")
                        .then(|| v.trim().parse::<f32>().ok())
                        .flatten()
                })
                .next()
                .unwrap_or(1.0);
            match coding.as_str() {
                "gzip" | "x-gzip" => return q > 0.0,
                "*" => star = Some(q > 0.0),
                _ => {}
            }
        }
    }
    star.unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn h(v: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(v).expect("header value"),
        );
        m
    }

    #[test]
    fn accept_encoding_forms() {
        assert!(!accepts_gzip(&HeaderMap::new()));
        assert!(accepts_gzip(&h("gzip")));
        assert!(accepts_gzip(&h("br, GZIP;q=0.5")));
        assert!(!accepts_gzip(&h("gzip;q=0")));
        assert!(!accepts_gzip(&h("identity")));
        assert!(accepts_gzip(&h("*")));
        assert!(!accepts_gzip(&h("*, gzip;q=0")));
        assert!(!accepts_gzip(&h("*;q=0")));
        assert!(!accepts_gzip(&h("deflate, br")));
    }

    #[test]
    fn compresses_once_per_bundle() {
        let c = BundleGzip::new(2);
        let mut reads = 0;
        for _ in 0..3 {
            c.get_or_compress(5, || {
                reads += 1;
                Ok(vec![7u8; 1000])
            })
            .expect("compress");
        }
        assert_eq!(reads, 1);
    }
}
