//! SCITT SCRAPI registration (spec/scitt.md §6): `POST /entries` with a
//! signed statement, then the entry's receipts from
//! `GET /entries/<id>/receipts` (one per log key, Ed25519 first), waiting
//! as the log says (`303`/`302` + `Retry-After`) up to a deadline. The
//! receipts are returned unverified: the caller builds the transparent
//! statement and verifies it with the log keys it trusts.

use std::time::{Duration, Instant};

use provlog_core::cbor::{Cbor, decode, decode_bytes_array};
use provlog_core::scitt::{MAX_COSE_RECEIPT_SIZE, MAX_RECEIPTS};

use super::{HttpError, LogClient};
use crate::bounded::{BodyError, read_limited};
use crate::cause::describe;
use crate::limits;

/// Longest wait between two polls, whatever `Retry-After` says.
const MAX_POLL_WAIT: Duration = Duration::from_secs(10);

/// The receipts array: at most [`MAX_RECEIPTS`] receipts with their heads.
const RECEIPTS_LIMIT: usize = MAX_RECEIPTS * (MAX_COSE_RECEIPT_SIZE + 9) + 9;

/// An RFC 9290 concise problem (`{-1: title, -2: detail}`) as one line, or
/// the start of the body as text.
fn concise_problem(body: &[u8]) -> String {
    let text = |k: i64| match decode(body, 2) {
        Ok(Cbor::Map(m)) => m.iter().find_map(|(key, v)| match (key, v) {
            (Cbor::Nint(n), Cbor::Text(t)) if -1 - (*n as i128) == i128::from(k) => {
                Some((*t).to_owned())
            }
            _ => None,
        }),
        _ => None,
    };
    match (text(-1), text(-2)) {
        (Some(t), Some(d)) => format!("{t}: {d}"),
        (Some(t), None) => t,
        (None, Some(d)) => d,
        (None, None) => String::from_utf8_lossy(body).chars().take(300).collect(),
    }
}

fn retry_after(resp: &reqwest::Response) -> Option<u64> {
    resp.headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

fn location(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The error of a non-success answer (its concise problem body read within
/// [`limits::ERROR_BODY`]).
async fn status_error(resp: reqwest::Response, url: &str) -> HttpError {
    let status = resp.status().as_u16();
    let retry_after = retry_after(&resp);
    let detail = match read_limited(resp, limits::ERROR_BODY).await {
        Ok(body) => concise_problem(&body),
        Err(BodyError::TooLarge { limit }) => format!("(error body over {limit} bytes, not read)"),
        Err(BodyError::Transport(e)) => format!("(error body unreadable: {})", describe(&e)),
    };
    HttpError::Status {
        url: url.to_owned(),
        status,
        detail,
        kind: None,
        retry_after,
    }
}

impl LogClient {
    /// Registers a signed statement over SCRAPI and returns its receipts
    /// (unverified, Ed25519 first), waiting for the commit at most
    /// `max_wait`: each `303`/`302` is polled again after its `Retry-After`
    /// (at most 10 s, 1 s if absent). Redirects are followed by hand, only
    /// to paths on this log.
    pub async fn register_statement(
        &self,
        statement: &[u8],
        max_wait: Duration,
    ) -> Result<Vec<Vec<u8>>, HttpError> {
        let deadline = Instant::now() + max_wait;
        let url = self.url("entries");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(super::DEFAULT_TIMEOUT)
            .connect_timeout(super::CONNECT_TIMEOUT)
            .build()
            .map_err(|source| HttpError::Transport {
                url: url.clone(),
                source,
            })?;
        let transport = |url: &str| {
            let url = url.to_owned();
            move |source| HttpError::Transport { url, source }
        };
        let bad = |url: &str, detail: String| HttpError::BadResponse {
            url: url.to_owned(),
            detail,
        };
        let resp = http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/cose")
            .body(statement.to_vec())
            .send()
            .await
            .map_err(transport(&url))?;
        let (entry, mut wait) = match resp.status().as_u16() {
            201 | 303 => {
                let wait = retry_after(&resp);
                let loc =
                    location(&resp).ok_or_else(|| bad(&url, "no Location for the entry".into()))?;
                (loc, wait)
            }
            _ => return Err(status_error(resp, &url).await),
        };
        if !entry.starts_with("/entries/") || entry.contains("..") || entry.contains('?') {
            return Err(bad(&url, format!("unexpected entry location {entry:?}")));
        }
        let receipts_url = self.url(&format!("{entry}/receipts"));
        // 201: the receipts are ready; 303: wait first.
        let mut first = true;
        loop {
            if !first || wait.is_some() {
                let pause = Duration::from_secs(wait.unwrap_or(1)).min(MAX_POLL_WAIT);
                if Instant::now() + pause > deadline {
                    return Err(bad(
                        &receipts_url,
                        format!(
                            "the statement is registered but not committed within {} s; fetch \
                             its receipts later from {receipts_url}",
                            max_wait.as_secs()
                        ),
                    ));
                }
                tokio::time::sleep(pause).await;
            }
            first = false;
            let resp = http
                .get(&receipts_url)
                .send()
                .await
                .map_err(transport(&receipts_url))?;
            match resp.status().as_u16() {
                200 => {
                    let body = read_limited(resp, RECEIPTS_LIMIT)
                        .await
                        .map_err(|e| match e {
                            BodyError::TooLarge { limit } => HttpError::TooLarge {
                                url: receipts_url.clone(),
                                limit,
                            },
                            BodyError::Transport(source) => HttpError::Transport {
                                url: receipts_url.clone(),
                                source,
                            },
                        })?;
                    let list = decode_bytes_array(&body, MAX_RECEIPTS)
                        .map_err(|e| bad(&receipts_url, format!("receipts: {e}")))?;
                    if list.is_empty() {
                        return Err(bad(&receipts_url, "no receipt".into()));
                    }
                    return Ok(list.into_iter().map(<[u8]>::to_vec).collect());
                }
                302 => wait = retry_after(&resp).or(Some(1)),
                _ => return Err(status_error(resp, &receipts_url).await),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::concise_problem;
    use provlog_core::cbor::Item;

    #[test]
    fn concise_problems_read_as_one_line() {
        let body = Item::Map(vec![
            (Item::Int(-1), Item::Text("Bad Signature")),
            (Item::Int(-2), Item::Text("the signature does not verify")),
        ])
        .to_vec();
        assert_eq!(
            concise_problem(&body),
            "Bad Signature: the signature does not verify"
        );
        assert_eq!(concise_problem(b"plain text"), "plain text");
    }
}
