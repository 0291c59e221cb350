//! Gossip with peer monitors: on every interval, and as soon as there is
//! news (a new audited checkpoint, new evidence), POST our view to each
//! peer's `/v1/gossip` and ingest the view it answers with. Push and pull in
//! one exchange; peers also pull with `GET /v1/gossip`.

use std::sync::Arc;
use std::time::Duration;

use crate::api::MAX_GOSSIP_BODY;
use crate::monitor::{Gossip, Monitor};

/// Runs the gossip loop forever.
pub async fn run(mon: Arc<Monitor>) {
    if mon.cfg.peers.is_empty() {
        return;
    }
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the gossip client");
            return;
        }
    };
    loop {
        tokio::select! {
            () = tokio::time::sleep(mon.cfg.gossip_interval) => {}
            () = mon.news.notified() => {}
        }
        round(&mon, &http).await;
    }
}

/// One exchange with every peer.
pub async fn round(mon: &Monitor, http: &reqwest::Client) {
    let view = mon.gossip_view().await;
    for peer in &mon.cfg.peers {
        let url = format!("{}/v1/gossip", peer.url);
        match exchange(http, &url, &view).await {
            Ok(theirs) => mon.ingest(&theirs).await,
            Err(e) => {
                mon.metrics.gossip_failures.inc();
                tracing::info!(peer = url, error = e, "gossip exchange failed");
            }
        }
    }
}

async fn exchange(http: &reqwest::Client, url: &str, view: &Gossip) -> Result<Gossip, String> {
    let resp = http
        .post(url)
        .json(view)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("HTTP {}", resp.status()));
    }
    if resp
        .content_length()
        .is_some_and(|l| l > MAX_GOSSIP_BODY as u64)
    {
        return Err("answer over the size limit".into());
    }
    let body = resp.bytes().await.map_err(|e| e.to_string())?;
    if body.len() > MAX_GOSSIP_BODY {
        return Err("answer over the size limit".into());
    }
    serde_json::from_slice(&body).map_err(|e| format!("bad gossip answer: {e}"))
}
