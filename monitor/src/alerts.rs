//! Alerts: JSON objects written as lines on stdout and handed to the
//! configured webhook (HTTP POST) and command (alert on stdin).

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use provlog_client::bounded::{BodyError, read_limited};
use serde_json::Value;

use crate::config::AlertConfig;

/// Most bytes of a webhook's answer read (it is only drained and logged).
pub const MAX_WEBHOOK_RESPONSE: usize = 64 * 1024;

/// Why a webhook delivery failed.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The request could not be sent or timed out.
    #[error("sending: {0}")]
    Send(#[from] reqwest::Error),
    /// The hook answered with an error status.
    #[error("the webhook answered HTTP {0}")]
    Status(u16),
    /// Its answer was too large or broke off.
    #[error(transparent)]
    Body(#[from] BodyError),
}

/// POSTs one alert to `url` and reads the answer with a
/// [`MAX_WEBHOOK_RESPONSE`] limit while it streams.
pub async fn deliver(http: &reqwest::Client, url: &str, body: String) -> Result<(), WebhookError> {
    let resp = http
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?;
    let status = resp.status();
    read_limited(resp, MAX_WEBHOOK_RESPONSE).await?;
    if !status.is_success() {
        return Err(WebhookError::Status(status.as_u16()));
    }
    Ok(())
}

/// Delivers alerts. Hooks run in the background and never block auditing;
/// their failures are logged.
#[derive(Clone)]
pub struct Alerter {
    cfg: AlertConfig,
    http: reqwest::Client,
}

impl Alerter {
    /// An alerter for `cfg`.
    pub fn new(cfg: AlertConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Alerter { cfg, http }
    }

    /// Sends one alert (an object with at least an `alert` field).
    pub fn send(&self, mut alert: Value) {
        if let Value::Object(m) = &mut alert {
            m.insert("time_ms".into(), Value::from(crate::now_ms()));
        }
        let line = alert.to_string();
        if self.cfg.stdout {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
        tracing::warn!(alert = %line, "alert");
        if let Some(url) = self.cfg.webhook.clone() {
            let http = self.http.clone();
            let body = line.clone();
            tokio::spawn(async move {
                if let Err(e) = deliver(&http, &url, body).await {
                    tracing::error!(error = %e, url, "alert webhook failed");
                }
            });
        }
        if let Some(cmd) = self.cfg.command.clone() {
            tokio::task::spawn_blocking(move || {
                let child = std::process::Command::new(&cmd)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::null())
                    .spawn();
                match child {
                    Ok(mut c) => {
                        if let Some(mut stdin) = c.stdin.take() {
                            let _ = stdin.write_all(line.as_bytes());
                            let _ = stdin.write_all(b"\n");
                        }
                        let _ = c.wait();
                    }
                    Err(e) => tracing::error!(error = %e, cmd, "alert command failed"),
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_endless_webhook_answer_is_cut_off() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 16 * 1024];
            let _ = sock.read(&mut buf).await;
            let _ = sock
                .write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
                .await;
            let frame = format!("4000\r\n{}\r\n", "x".repeat(0x4000));
            while sock.write_all(frame.as_bytes()).await.is_ok() {}
        });
        let http = reqwest::Client::new();
        let err = deliver(&http, &url, "{}".into()).await.unwrap_err();
        assert!(
            matches!(err, WebhookError::Body(BodyError::TooLarge { limit }) if limit == MAX_WEBHOOK_RESPONSE),
            "{err}"
        );
    }
}
