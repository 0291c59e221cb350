//! The async client a log uses to ask a C2SP tlog-witness for a
//! cosignature (`POST <prefix>/add-checkpoint`). Formats are in
//! [`provlog_core::witness`].

use provlog_core::witness::{
    AddCheckpointRequest, AddOutcome, WitnessError, parse_cosignature_response, parse_size_body,
};

use crate::bounded::{BodyError, read_limited};
use crate::cause::{check_url, describe};
use crate::limits;

/// Why an add-checkpoint call failed.
#[derive(Debug, thiserror::Error)]
pub enum WitnessCallError {
    /// The witness URL cannot be used (no scheme, no host...).
    #[error("bad witness URL {url:?}: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The witness could not be reached, the connection failed, or the call
    /// timed out.
    #[error("witness {url}: {}", describe(.source))]
    Transport {
        /// The add-checkpoint URL.
        url: String,
        /// Why.
        source: reqwest::Error,
    },
    /// The answer is larger than any honest answer; reading stopped at the limit.
    #[error("witness {url}: the response is larger than the {limit}-byte limit")]
    TooLarge {
        /// The add-checkpoint URL.
        url: String,
        /// The limit ([`limits::COSIGNATURE`]).
        limit: usize,
    },
    /// The witness answered, but not with a valid answer.
    #[error(transparent)]
    Witness(#[from] WitnessError),
}

/// An async client for one witness's submission prefix.
#[derive(Clone, Debug)]
pub struct WitnessClient {
    url: String,
    http: reqwest::Client,
}

impl WitnessClient {
    /// A client for the witness whose submission prefix is `prefix`, with a
    /// per-request `timeout` (connect, request and the whole answer: it is
    /// what bounds a witness that trickles its answer).
    pub fn new(prefix: &str, timeout: std::time::Duration) -> Result<Self, WitnessCallError> {
        check_url(prefix).map_err(|reason| WitnessCallError::BadUrl {
            url: prefix.to_string(),
            reason,
        })?;
        let url = format!("{}/add-checkpoint", prefix.trim_end_matches('/'));
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|source| WitnessCallError::Transport {
                url: url.clone(),
                source,
            })?;
        Ok(Self { url, http })
    }

    /// The add-checkpoint URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends one add-checkpoint request. The answer is read up to
    /// [`limits::COSIGNATURE`] bytes, cut off while it streams.
    pub async fn add_checkpoint(
        &self,
        req: &AddCheckpointRequest,
    ) -> Result<AddOutcome, WitnessCallError> {
        let transport = |source| WitnessCallError::Transport {
            url: self.url.clone(),
            source,
        };
        let resp = self
            .http
            .post(&self.url)
            .body(req.to_bytes())
            .send()
            .await
            .map_err(transport)?;
        let status = resp.status().as_u16();
        let body = read_limited(resp, limits::COSIGNATURE)
            .await
            .map_err(|e| match e {
                BodyError::TooLarge { limit } => WitnessCallError::TooLarge {
                    url: self.url.clone(),
                    limit,
                },
                BodyError::Transport(source) => transport(source),
            })?;
        match status {
            200 => Ok(AddOutcome::Cosigned(parse_cosignature_response(&body)?)),
            409 => match parse_size_body(&body) {
                Ok(size) => Ok(AddOutcome::Conflict(size)),
                // A 409 for a same-size root mismatch may carry no size.
                Err(_) => Err(WitnessError::Status {
                    url: self.url.clone(),
                    status,
                    body: String::from_utf8_lossy(&body).chars().take(200).collect(),
                }
                .into()),
            },
            _ => Err(WitnessError::Status {
                url: self.url.clone(),
                status,
                body: String::from_utf8_lossy(&body).chars().take(200).collect(),
            }
            .into()),
        }
    }
}
