//! The async client a log uses to ask a C2SP tlog-witness for a
//! cosignature (`POST <prefix>/add-checkpoint`). Formats are in
//! [`provlog_core::witness`].

use provlog_core::witness::{
    AddCheckpointRequest, AddOutcome, MAX_RESPONSE_SIZE, WitnessError, parse_cosignature_response,
    parse_size_body,
};

/// Why an add-checkpoint call failed.
#[derive(Debug, thiserror::Error)]
pub enum WitnessCallError {
    /// The witness could not be reached.
    #[error("cannot reach witness {url}: {source}")]
    Transport {
        /// The add-checkpoint URL.
        url: String,
        /// Why.
        source: reqwest::Error,
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
    /// per-request `timeout`.
    pub fn new(prefix: &str, timeout: std::time::Duration) -> Result<Self, WitnessCallError> {
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

    /// Sends one add-checkpoint request.
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
        if resp
            .content_length()
            .is_some_and(|l| l > MAX_RESPONSE_SIZE as u64)
        {
            return Err(WitnessCallError::Witness(WitnessError::MalformedResponse(
                "response over the size limit".into(),
            )));
        }
        let body = resp.bytes().await.map_err(transport)?;
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
