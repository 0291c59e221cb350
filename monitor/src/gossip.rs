//! Gossip with peer monitors: on every interval, and as soon as there is
//! news (a new audited checkpoint, new evidence), POST our view to each
//! peer's `/v1/gossip` and ingest the view it answers with. Push and pull in
//! one exchange; peers also pull with `GET /v1/gossip`.
//!
//! Gossip is unauthenticated input, so its cost is bounded before any
//! signature is checked ([`sanitize`]): at most [`MAX_CHECKPOINTS`] notes
//! and [`MAX_EVIDENCE`] bundles per message, duplicate notes and duplicate
//! signature lines dropped, a note with more than [`MAX_NOTE_SIGNATURES`]
//! distinct signature lines dropped, and at most [`MAX_REQUEST_SIGNATURES`]
//! signature lines per message in total (so at most that many signature
//! checks). Parsing and verification run on blocking threads, never on the
//! reactor; incoming requests are rate-limited per peer address
//! ([`PeerLimiter`]); bodies in both directions are bounded while they
//! stream ([`MAX_GOSSIP_BODY`]).

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use provlog_client::bounded::{BodyError, read_limited};
use provlog_core::evidence::Evidence;
use provlog_core::note::Note;
use serde::{Deserialize, Serialize};

use crate::monitor::Monitor;

/// Largest gossip body accepted or read, in bytes.
pub const MAX_GOSSIP_BODY: usize = 8 << 20;
/// Most checkpoint notes taken from one message.
pub const MAX_CHECKPOINTS: usize = 256;
/// Most evidence bundles taken from one message.
pub const MAX_EVIDENCE: usize = 1000;
/// Most distinct signature lines a gossiped note may carry.
pub const MAX_NOTE_SIGNATURES: usize = 16;
/// Most signature lines taken from one message, over all its notes.
pub const MAX_REQUEST_SIGNATURES: usize = 1024;
/// Time allowed for one exchange with a peer.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);
/// Most peer addresses tracked by the rate limiter.
const MAX_TRACKED_PEERS: usize = 4096;

/// A gossip message: signed checkpoints and evidence (spec/monitor.md).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Gossip {
    /// Signed checkpoint notes (at most [`MAX_CHECKPOINTS`] are kept while
    /// parsing; the rest are skipped without being allocated).
    #[serde(default, deserialize_with = "first_n::<_, MAX_CHECKPOINTS, _>")]
    pub checkpoints: Vec<String>,
    /// Evidence bundles (at most [`MAX_EVIDENCE`] kept while parsing).
    #[serde(default, deserialize_with = "first_n::<_, MAX_EVIDENCE, _>")]
    pub evidence: Vec<Evidence>,
}

/// Deserializes a JSON array keeping only its first `N` items; the others
/// are parsed as [`serde::de::IgnoredAny`], so a message of millions of tiny
/// items costs no memory beyond the `N` kept.
fn first_n<'de, T, const N: usize, D>(d: D) -> Result<Vec<T>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    struct FirstN<T, const N: usize>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>, const N: usize> serde::de::Visitor<'de> for FirstN<T, N> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "an array")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::new();
            while out.len() < N {
                match seq.next_element()? {
                    Some(v) => out.push(v),
                    None => return Ok(out),
                }
            }
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(out)
        }
    }
    d.deserialize_seq(FirstN::<T, N>(std::marker::PhantomData))
}

/// A gossip message within the bounds, ready to verify.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sanitized {
    /// Distinct checkpoint notes, duplicate signature lines removed.
    pub checkpoints: Vec<Vec<u8>>,
    /// Evidence bundles, duplicate signature lines removed from their notes.
    pub evidence: Vec<Evidence>,
    /// Items dropped by the bounds.
    pub dropped: usize,
}

/// Removes duplicate signature lines from `note`; returns it with its
/// number of distinct lines, or `None` if it does not parse or has more
/// than [`MAX_NOTE_SIGNATURES`] distinct lines.
fn clean_note(note: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut parsed = Note::parse(note).ok()?;
    let mut seen = HashSet::new();
    parsed
        .signatures
        .retain(|s| seen.insert((s.name.clone(), s.key_id, s.signature.clone())));
    let n = parsed.signatures.len();
    (n <= MAX_NOTE_SIGNATURES).then(|| (parsed.to_bytes(), n))
}

/// Applies the bounds of the module docs to a message (no signature is
/// checked here; cost is linear in the message size).
pub fn sanitize(msg: Gossip) -> Sanitized {
    let mut out = Sanitized::default();
    let mut budget = MAX_REQUEST_SIGNATURES;
    let mut notes = HashSet::new();
    let total = msg.checkpoints.len() + msg.evidence.len();
    for note in msg.checkpoints.into_iter().take(MAX_CHECKPOINTS) {
        let Some((clean, n)) = clean_note(note.as_bytes()) else {
            continue;
        };
        if n > budget || !notes.insert(clean.clone()) {
            continue;
        }
        budget -= n;
        out.checkpoints.push(clean);
    }
    let mut bundles = HashSet::new();
    for mut ev in msg.evidence.into_iter().take(MAX_EVIDENCE) {
        let (Some((a, na)), Some((b, nb))) = (
            clean_note(ev.smaller.as_bytes()),
            clean_note(ev.larger.as_bytes()),
        ) else {
            continue;
        };
        if na + nb > budget || !bundles.insert(ev.id()) {
            continue;
        }
        budget -= na + nb;
        ev.smaller = String::from_utf8_lossy(&a).into_owned();
        ev.larger = String::from_utf8_lossy(&b).into_owned();
        out.evidence.push(ev);
    }
    out.dropped = total - out.checkpoints.len() - out.evidence.len();
    out
}

/// Parses a gossip body (JSON) and sanitises it, on a blocking thread.
pub async fn parse_blocking(body: Vec<u8>) -> Result<Sanitized, String> {
    tokio::task::spawn_blocking(move || {
        serde_json::from_slice::<Gossip>(&body)
            .map(sanitize)
            .map_err(|e| format!("bad gossip: {e}"))
    })
    .await
    .map_err(|e| format!("gossip task: {e}"))?
}

/// Ingests a sanitised message on a blocking thread.
pub async fn ingest_blocking(mon: &Arc<Monitor>, msg: Sanitized) {
    if msg.dropped > 0 {
        mon.metrics().gossip_dropped.inc_by(msg.dropped as u64);
    }
    let m = mon.clone();
    if let Err(e) = tokio::task::spawn_blocking(move || m.ingest(&msg)).await {
        tracing::error!(error = %e, "gossip ingest task failed");
    }
}

/// A token bucket per peer address: `rate` requests per second, bursts of
/// `burst`. Tracks at most [`MAX_TRACKED_PEERS`] addresses; past that,
/// buckets that have refilled are forgotten, and new addresses share one
/// overflow bucket until room is made.
pub struct PeerLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<Option<IpAddr>, (f64, Instant)>>,
}

impl PeerLimiter {
    /// A limiter of `rate` requests per second per peer, bursts of `burst`.
    pub fn new(rate: f64, burst: f64) -> Self {
        PeerLimiter {
            rate,
            burst: burst.max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `peer` at `now`; if none is left, says how long
    /// until one is.
    pub fn allow(&self, peer: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut b = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let (rate, burst) = (self.rate, self.burst);
        let level = |(tokens, at): (f64, Instant)| {
            (tokens + now.saturating_duration_since(at).as_secs_f64() * rate).min(burst)
        };
        let mut key = Some(peer);
        if !b.contains_key(&key) && b.len() >= MAX_TRACKED_PEERS {
            b.retain(|_, v| level(*v) < burst);
            if b.len() >= MAX_TRACKED_PEERS {
                key = None;
            }
        }
        let entry = b.entry(key).or_insert((burst, now));
        let tokens = level(*entry);
        if tokens >= 1.0 {
            *entry = (tokens - 1.0, now);
            Ok(())
        } else {
            *entry = (tokens, now);
            let wait = if rate > 0.0 {
                (1.0 - tokens) / rate
            } else {
                3600.0
            };
            Err(Duration::from_secs_f64(wait.min(3600.0)))
        }
    }
}

/// Why an exchange with a peer failed.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// The request could not be sent or timed out.
    #[error("sending: {0}")]
    Send(#[from] reqwest::Error),
    /// The peer answered with an error status.
    #[error("the peer answered HTTP {0}")]
    Status(u16),
    /// The answer was too large or broke off.
    #[error(transparent)]
    Body(#[from] BodyError),
    /// The answer is not a gossip message.
    #[error("{0}")]
    Parse(String),
}

/// The HTTP client gossip uses.
pub fn client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder().timeout(EXCHANGE_TIMEOUT).build()
}

/// Runs the gossip loop forever.
pub async fn run(mon: Arc<Monitor>) {
    if mon.peers().is_empty() {
        return;
    }
    let http = match client() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the gossip client");
            return;
        }
    };
    loop {
        tokio::select! {
            () = tokio::time::sleep(mon.gossip_interval()) => {}
            () = mon.news().notified() => {}
        }
        round(&mon, &http).await;
    }
}

/// One exchange with every peer.
pub async fn round(mon: &Arc<Monitor>, http: &reqwest::Client) {
    let m = mon.clone();
    let Ok(view) = tokio::task::spawn_blocking(move || m.gossip_view()).await else {
        return;
    };
    for peer in mon.peers() {
        let url = format!("{}/v1/gossip", peer.url);
        match exchange(http, &url, &view).await {
            Ok(theirs) => ingest_blocking(mon, theirs).await,
            Err(e) => {
                mon.metrics().gossip_failures.inc();
                tracing::info!(peer = url, error = %e, "gossip exchange failed");
            }
        }
    }
}

/// Sends `view` to the peer at `url` and returns its (sanitised) answer,
/// read with a [`MAX_GOSSIP_BODY`] limit while it streams.
pub async fn exchange(
    http: &reqwest::Client,
    url: &str,
    view: &Gossip,
) -> Result<Sanitized, ExchangeError> {
    let resp = http.post(url).json(view).send().await?;
    if !resp.status().is_success() {
        return Err(ExchangeError::Status(resp.status().as_u16()));
    }
    let body = read_limited(resp, MAX_GOSSIP_BODY).await?;
    parse_blocking(body).await.map_err(ExchangeError::Parse)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use provlog_core::checkpoint::{Checkpoint, sign_checkpoint};
    use provlog_core::note::NoteSigner;
    use std::net::Ipv4Addr;

    fn note() -> (NoteSigner, Vec<u8>) {
        let log = NoteSigner::generate("gossip.example/log").unwrap();
        let cp = Checkpoint::new(log.name(), 3, [1; 32]).with_timestamp(5);
        let n = sign_checkpoint(&cp, &log).unwrap();
        (log, n)
    }

    fn strangers() -> &'static [NoteSigner] {
        static KEYS: std::sync::OnceLock<Vec<NoteSigner>> = std::sync::OnceLock::new();
        KEYS.get_or_init(|| {
            (0..MAX_NOTE_SIGNATURES)
                .map(|i| NoteSigner::generate(&format!("s{i}.example")).unwrap())
                .collect()
        })
    }

    /// `note` with its first signature line repeated `n` more times and
    /// `strangers` extra lines by unknown keys.
    fn padded(note: &[u8], repeats: usize, strangers: usize) -> String {
        let mut n = Note::parse(note).unwrap();
        let first = n.signatures[0].clone();
        for _ in 0..repeats {
            n.signatures.push(first.clone());
        }
        for k in &self::tests::strangers()[..strangers] {
            n.signatures.push(Note::sign(&n.text, k, 0).unwrap());
        }
        String::from_utf8(n.to_bytes()).unwrap()
    }

    #[test]
    fn duplicates_are_dropped_and_lines_are_bounded() {
        let (_, n) = note();
        let text = String::from_utf8(n.clone()).unwrap();
        // Repeated lines collapse to one; the same note twice is taken once.
        let s = sanitize(Gossip {
            checkpoints: vec![padded(&n, 90, 0), text.clone(), text.clone()],
            evidence: vec![],
        });
        assert_eq!(s.checkpoints, vec![n.clone()]);
        // Too many distinct lines: dropped unverified.
        let s = sanitize(Gossip {
            checkpoints: vec![padded(&n, 0, MAX_NOTE_SIGNATURES)],
            evidence: vec![],
        });
        assert!(s.checkpoints.is_empty());
        assert_eq!(s.dropped, 1);
        // Per request: distinct notes of MAX_NOTE_SIGNATURES lines each stop
        // at the budget.
        let log = NoteSigner::generate("gossip.example/log").unwrap();
        let many: Vec<String> = (0..MAX_REQUEST_SIGNATURES / MAX_NOTE_SIGNATURES + 10)
            .map(|i| {
                let cp = Checkpoint::new(log.name(), i as u64, [1; 32]);
                padded(
                    &sign_checkpoint(&cp, &log).unwrap(),
                    0,
                    MAX_NOTE_SIGNATURES - 1,
                )
            })
            .collect();
        let s = sanitize(Gossip {
            checkpoints: many,
            evidence: vec![],
        });
        let lines: usize = s
            .checkpoints
            .iter()
            .map(|c| Note::parse(c).unwrap().signatures.len())
            .sum();
        assert!(lines <= MAX_REQUEST_SIGNATURES, "{lines}");
        assert_eq!(
            s.checkpoints.len(),
            MAX_REQUEST_SIGNATURES / MAX_NOTE_SIGNATURES
        );
        // Over the item counts: the rest is not even parsed.
        let s = sanitize(Gossip {
            checkpoints: vec!["junk".into(); MAX_CHECKPOINTS + 10],
            evidence: vec![],
        });
        assert_eq!(s.dropped, MAX_CHECKPOINTS + 10);
    }

    #[test]
    fn evidence_with_padded_notes_is_one_bundle() {
        let (log, a) = note();
        let cp = Checkpoint::new(log.name(), 3, [2; 32]).with_timestamp(5);
        let b = sign_checkpoint(&cp, &log).unwrap();
        let key = log.verifier_key();
        let plain = Evidence::same_size(&key, log.name(), &a, &b);
        let spam: Vec<Evidence> = (0..50)
            .map(|i| Evidence {
                larger: padded(&b, i, i % 3),
                ..plain.clone()
            })
            .collect();
        let s = sanitize(Gossip {
            checkpoints: vec![],
            evidence: spam,
        });
        assert_eq!(s.evidence.len(), 1);
        s.evidence[0].verify(&key).unwrap();
    }

    #[test]
    fn the_rate_limit_is_per_peer_and_refills() {
        let l = PeerLimiter::new(2.0, 3.0);
        let t0 = Instant::now();
        let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let b = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        for _ in 0..3 {
            l.allow(a, t0).unwrap();
        }
        let wait = l.allow(a, t0).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(500),
            "{wait:?}"
        );
        // Another peer is not affected.
        l.allow(b, t0).unwrap();
        // Half a second later one token is back.
        let t1 = t0 + Duration::from_millis(500);
        l.allow(a, t1).unwrap();
        assert!(l.allow(a, t1).is_err());
    }

    #[test]
    fn the_limiter_stays_bounded_under_many_addresses() {
        let l = PeerLimiter::new(1.0, 1.0);
        let t0 = Instant::now();
        for i in 0..(MAX_TRACKED_PEERS as u32 + 100) {
            let _ = l.allow(IpAddr::V4(Ipv4Addr::from(i)), t0);
        }
        assert!(l.buckets.lock().unwrap().len() <= MAX_TRACKED_PEERS + 1);
    }

    /// A peer that answers every request with an endless chunked body.
    async fn endless_peer() -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    let _ = sock.read(&mut buf).await;
                    let head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                    if sock.write_all(head).await.is_err() {
                        return;
                    }
                    let chunk = vec![b' '; 64 * 1024];
                    let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
                    frame.extend_from_slice(&chunk);
                    frame.extend_from_slice(b"\r\n");
                    // Until the monitor hangs up.
                    while sock.write_all(&frame).await.is_ok() {}
                });
            }
        });
        format!("http://{addr}")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_endless_answer_fails_with_a_size_error() {
        let url = endless_peer().await;
        let err = exchange(
            &client().unwrap(),
            &format!("{url}/v1/gossip"),
            &Gossip::default(),
        )
        .await
        .expect_err("an endless body is refused");
        assert!(
            matches!(err, ExchangeError::Body(BodyError::TooLarge { limit }) if limit == MAX_GOSSIP_BODY),
            "{err}"
        );
    }
}
