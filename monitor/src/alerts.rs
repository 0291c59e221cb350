//! Alerts: JSON objects written as lines on stdout and handed to the
//! configured webhook (HTTP POST) and command (alert on stdin).

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::config::AlertConfig;

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
                let r = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await;
                if let Err(e) = r {
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
