//! gzip for entry bundles: the compression and the `Accept-Encoding` test.
//!
//! tlog-tiles: entry bundles SHOULD be served compressed to clients that
//! accept it. Full bundles are compressed once and kept by
//! [`crate::tile_cache::TileCache`]; partial bundles are served raw.

use std::io::Write as _;

use axum::http::{HeaderMap, header};
use flate2::Compression;
use flate2::write::GzEncoder;

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
}
