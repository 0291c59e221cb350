//! Lookups by C2PA binding: the hard-binding lookup and the C2PA Soft
//! Binding Resolution API (`/matches/byBinding`, `/matches/byContent`).
//! Answers are unverified here; the caller checks the checkpoint, each
//! inclusion proof and each claim (see `provlog lookup`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use provlog_core::claim::HardBinding;
use serde::Deserialize;

use super::{HttpError, LogClient, Lookup, LookupBody, LookupEntry, decode_hashes};
use crate::limits;

/// One soft-binding match (unverified).
#[derive(Debug, Clone)]
pub struct SoftMatch {
    /// The C2PA manifest id the log reports for the entry.
    pub manifest_id: String,
    /// 0-100 (100: exact).
    pub similarity_score: u32,
    /// Hamming distance of the perceptual hashes (byContent only).
    pub distance: Option<u32>,
    /// The entry, with its inclusion proof.
    pub entry: LookupEntry,
}

/// The answer to a soft-binding query (unverified).
#[derive(Debug, Clone)]
pub struct SoftMatches {
    /// The signed checkpoint the proofs are against.
    pub checkpoint: Vec<u8>,
    /// Matches, nearest first.
    pub matches: Vec<SoftMatch>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MatchBody {
    manifest_id: String,
    similarity_score: Option<u32>,
    distance: Option<u32>,
    entry_index: u64,
    entry: String,
    proof: Vec<String>,
}

#[derive(Deserialize)]
struct MatchesBody {
    checkpoint: String,
    matches: Vec<MatchBody>,
}

impl LogClient {
    /// `GET /v1/lookup/hard-binding?kind=&alg=&hash=`: every logged claim
    /// with this C2PA hard binding (unverified).
    pub async fn lookup_hard_binding(&self, hb: &HardBinding) -> Result<Lookup, HttpError> {
        let path = format!(
            "v1/lookup/hard-binding?kind={}&alg={}&hash={}",
            hb.kind,
            hb.alg,
            hex::encode(&hb.hash)
        );
        let url = self.url(&path);
        let body = self.get(&path, limits::LOOKUP).await?;
        let parsed: LookupBody =
            serde_json::from_slice(&body).map_err(|e| HttpError::BadResponse {
                url: url.clone(),
                detail: format!("hard-binding lookup response: {e}"),
            })?;
        let entries = parsed
            .entries
            .into_iter()
            .map(|e| {
                Ok(LookupEntry {
                    index: e.index,
                    entry: B64.decode(&e.entry).map_err(|_| HttpError::BadResponse {
                        url: url.clone(),
                        detail: "entry is not base64".into(),
                    })?,
                    proof: decode_hashes(&e.proof, &url)?,
                })
            })
            .collect::<Result<Vec<_>, HttpError>>()?;
        Ok(Lookup {
            checkpoint: parsed.checkpoint.into_bytes(),
            entries,
        })
    }

    fn parse_matches(url: &str, body: &[u8]) -> Result<SoftMatches, HttpError> {
        let parsed: MatchesBody =
            serde_json::from_slice(body).map_err(|e| HttpError::BadResponse {
                url: url.to_string(),
                detail: format!("matches response: {e}"),
            })?;
        let matches = parsed
            .matches
            .into_iter()
            .map(|m| {
                Ok(SoftMatch {
                    manifest_id: m.manifest_id,
                    similarity_score: m.similarity_score.unwrap_or(0),
                    distance: m.distance,
                    entry: LookupEntry {
                        index: m.entry_index,
                        entry: B64.decode(&m.entry).map_err(|_| HttpError::BadResponse {
                            url: url.to_string(),
                            detail: "entry is not base64".into(),
                        })?,
                        proof: decode_hashes(&m.proof, url)?,
                    },
                })
            })
            .collect::<Result<Vec<_>, HttpError>>()?;
        Ok(SoftMatches {
            checkpoint: parsed.checkpoint.into_bytes(),
            matches,
        })
    }

    /// `POST /matches/byContent`: entries whose perceptual hash is near the
    /// uploaded image's (unverified).
    pub async fn matches_by_content(
        &self,
        image: Vec<u8>,
        media_type: &str,
        max_results: usize,
        max_distance: Option<u32>,
    ) -> Result<SoftMatches, HttpError> {
        let mut path = format!("matches/byContent?maxResults={max_results}");
        if let Some(d) = max_distance {
            path.push_str(&format!("&maxDistance={d}"));
        }
        let url = self.url(&path);
        let req = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, media_type)
            .body(image);
        let body = self.send(req, &url, limits::MATCHES).await?;
        Self::parse_matches(&url, &body)
    }

    /// `GET /matches/byBinding?alg=&value=`: entries with exactly this soft
    /// binding (unverified).
    pub async fn matches_by_binding(
        &self,
        alg: &str,
        value: &[u8],
        max_results: usize,
    ) -> Result<SoftMatches, HttpError> {
        let path = format!(
            "matches/byBinding?alg={}&value={}&maxResults={max_results}",
            pct(alg),
            pct(&B64.encode(value))
        );
        let url = self.url(&path);
        let body = self.get(&path, limits::MATCHES).await?;
        Self::parse_matches(&url, &body)
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
