//! Log lists: the shards of a temporally sharded deployment (one log per
//! period), as a versioned JSON document. See `spec/log-list.md`.
//!
//! ```json
//! {
//!   "version": "provlog-log-list/v1",
//!   "shards": [
//!     {
//!       "origin": "log.example/2026h1",
//!       "vkey": "log.example/2026h1+4e1b2a7c+AW...",
//!       "url": "https://log.example/2026h1/",
//!       "submission_url": "https://write.log.example/2026h1/",
//!       "period": {"start": "2026-01-01T00:00:00Z", "end": "2026-07-01T00:00:00Z"}
//!     }
//!   ]
//! }
//! ```
//!
//! Parsing is strict and bounded: the input size ([`MAX_LOG_LIST_SIZE`]) is
//! checked before anything is parsed and the shard count ([`MAX_SHARDS`])
//! while the array is read, before any further shard is kept; unknown and
//! duplicate fields are errors; every shard's key must parse and be named
//! by its origin; periods are `[start, end)` in UTC, sorted and
//! non-overlapping (gaps are allowed: no shard covers a time in a gap).
//! This module does no I/O: callers read the file (bounded) and pass bytes.

use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use thiserror::Error;

use crate::note::{NoteError, SIG_ED25519, SIG_ML_DSA_44, VerifierKey};
use crate::policy::Policy;

/// The one `version` string this module reads.
pub const LOG_LIST_VERSION: &str = "provlog-log-list/v1";
/// Largest log list accepted, in bytes (checked before parsing). An
/// ML-DSA-44 vkey is about 1.8 KB, so 1,024 such shards fit.
pub const MAX_LOG_LIST_SIZE: usize = 4 << 20;
/// Most shards in one list.
pub const MAX_SHARDS: usize = 1024;
/// Longest URL, in bytes.
pub const MAX_URL_LEN: usize = 2048;
/// Longest origin, in bytes (the C2SP key-name limit provlog applies to
/// ML-DSA-44 keys; it applies to every origin here).
pub const MAX_ORIGIN_LEN: usize = 255;
/// Longest `description`, in bytes.
pub const MAX_DESCRIPTION_LEN: usize = 1024;

/// What is wrong with one shard.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ShardError {
    /// The origin is empty, too long, or has white space, `+` or control
    /// characters (it must be usable as a C2SP key name).
    #[error(
        "origin {0:?} is not a valid log origin (1 to {MAX_ORIGIN_LEN} bytes, no white space, '+' or control characters)"
    )]
    BadOrigin(String),
    /// The vkey does not parse.
    #[error("vkey does not parse: {0}")]
    BadKey(NoteError),
    /// The vkey's name is not the shard's origin.
    #[error("vkey is named {name:?}, not the shard's origin")]
    KeyNameMismatch {
        /// The key's name.
        name: String,
    },
    /// A key type that does not sign checkpoints.
    #[error("vkey has signature type 0x{0:02x}; a log key is 0x01 (Ed25519) or 0x06 (ML-DSA-44)")]
    WrongKeyType(u8),
    /// A URL that is not an absolute `http`/`https` URL without query or
    /// fragment.
    #[error("{field} {url:?} is not usable: {why}")]
    BadUrl {
        /// `url` or `submission_url`.
        field: &'static str,
        /// The value (cut to 80 characters).
        url: String,
        /// What is wrong.
        why: &'static str,
    },
    /// A time that is not `YYYY-MM-DDTHH:MM:SSZ`.
    #[error("period {field} {value:?}: {why} (write UTC times as 2026-01-01T00:00:00Z)")]
    BadTime {
        /// `start` or `end`.
        field: &'static str,
        /// The value (cut to 80 characters).
        value: String,
        /// What is wrong.
        why: &'static str,
    },
    /// `end` is not after `start`.
    #[error("period end {end} is not after its start {start}")]
    EmptyPeriod {
        /// The start.
        start: String,
        /// The end.
        end: String,
    },
    /// A `description` over [`MAX_DESCRIPTION_LEN`] bytes.
    #[error("description is {0} bytes, more than {MAX_DESCRIPTION_LEN}")]
    DescriptionTooLong(usize),
    /// Another shard has the same origin.
    #[error("origin is also shard {0}'s")]
    DuplicateOrigin(usize),
    /// Another shard has the same public key (whatever its name).
    #[error("public key is also shard {0}'s")]
    DuplicateKey(usize),
    /// Starts before the previous shard.
    #[error(
        "period starts at {start}, before the previous shard's ({previous}): shards must be sorted by period"
    )]
    Unsorted {
        /// This shard's start.
        start: String,
        /// The previous shard's start.
        previous: String,
    },
    /// Starts before the previous shard ends.
    #[error(
        "period starts at {start}, before the previous shard {previous:?} ends ({previous_end}): periods must not overlap"
    )]
    Overlap {
        /// This shard's start.
        start: String,
        /// The previous shard's origin.
        previous: String,
        /// The previous shard's end.
        previous_end: String,
    },
}

/// Why a log list is rejected.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum LogListError {
    /// Over [`MAX_LOG_LIST_SIZE`].
    #[error("log list is {size} bytes, more than the limit of {max}")]
    TooLarge {
        /// Input size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Not JSON of the expected shape (bad syntax, wrong type, unknown,
    /// missing or duplicate field, more than [`MAX_SHARDS`] shards).
    #[error("log list: {0}")]
    Json(String),
    /// A `version` other than [`LOG_LIST_VERSION`].
    #[error("log list version {0:?} is not supported (expected \"{LOG_LIST_VERSION}\")")]
    Version(String),
    /// `shards` is empty.
    #[error("log list has no shards")]
    NoShards,
    /// One shard is invalid.
    #[error("log list shard {index} ({origin:?}): {error}")]
    Shard {
        /// 0-based position in `shards`.
        index: usize,
        /// Its origin as written.
        origin: String,
        /// What is wrong.
        error: ShardError,
    },
}

/// One shard: a log and the period whose claims it takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shard {
    /// The log's origin (its checkpoints' first line, its key's name).
    pub origin: String,
    /// The log's checkpoint key.
    pub key: VerifierKey,
    /// Base URL of the log's read API (`URL/checkpoint`, `URL/tile/...`).
    pub url: String,
    /// Base URL for `POST /v1/claims`, if not `url`.
    pub submission_url: Option<String>,
    /// First second of the period (Unix seconds, inclusive).
    pub start: u64,
    /// End of the period (Unix seconds, exclusive).
    pub end: u64,
    /// Free text for people.
    pub description: Option<String>,
}

impl Shard {
    /// Where to submit claims: `submission_url`, else `url`.
    pub fn submit_url(&self) -> &str {
        self.submission_url.as_deref().unwrap_or(&self.url)
    }

    /// Whether `t` (Unix seconds) is in `[start, end)`.
    pub fn covers(&self, t: u64) -> bool {
        self.start <= t && t < self.end
    }

    /// `[start, end)` as RFC 3339 text.
    pub fn period_text(&self) -> String {
        format!("[{}, {})", format_time(self.start), format_time(self.end))
    }
}

/// A validated log list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogList {
    description: Option<String>,
    shards: Vec<Shard>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawList {
    version: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(deserialize_with = "bounded_shards")]
    shards: Vec<RawShard>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShard {
    origin: String,
    vkey: String,
    url: String,
    #[serde(default)]
    submission_url: Option<String>,
    period: RawPeriod,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPeriod {
    start: String,
    end: String,
}

/// Reads the `shards` array, refusing element `MAX_SHARDS + 1` before it
/// is read (and not trusting any size hint for the allocation).
fn bounded_shards<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RawShard>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<RawShard>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "an array of at most {MAX_SHARDS} shards")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            loop {
                if out.len() == MAX_SHARDS {
                    // One more element is an error; the end of the array is not.
                    return match seq.next_element::<de::IgnoredAny>()? {
                        None => Ok(out),
                        Some(_) => Err(de::Error::custom(format!("more than {MAX_SHARDS} shards"))),
                    };
                }
                match seq.next_element::<RawShard>()? {
                    Some(s) => out.push(s),
                    None => return Ok(out),
                }
            }
        }
    }
    d.deserialize_seq(V)
}

/// The first 80 characters of `s`, for error messages.
fn cut(s: &str) -> String {
    s.chars().take(80).collect()
}

fn check_origin(origin: &str) -> Result<(), ShardError> {
    if origin.len() > MAX_ORIGIN_LEN || !crate::note::is_valid_key_name(origin) {
        return Err(ShardError::BadOrigin(cut(origin)));
    }
    Ok(())
}

fn check_url(field: &'static str, url: &str) -> Result<(), ShardError> {
    let bad = |why| ShardError::BadUrl {
        field,
        url: cut(url),
        why,
    };
    if url.len() > MAX_URL_LEN {
        return Err(bad("longer than 2048 bytes"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("contains white space or control characters"));
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| bad("not an absolute http:// or https:// URL"))?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || host.contains('@') {
        return Err(bad("no host, or user information before the host"));
    }
    if url.contains('?') || url.contains('#') {
        return Err(bad("a base URL has no query or fragment"));
    }
    Ok(())
}

fn check_description(d: &Option<String>) -> Result<(), ShardError> {
    match d {
        Some(d) if d.len() > MAX_DESCRIPTION_LEN => Err(ShardError::DescriptionTooLong(d.len())),
        _ => Ok(()),
    }
}

/// Parses the one time form a log list uses, `YYYY-MM-DDTHH:MM:SSZ` (an
/// RFC 3339 profile: UTC, whole seconds, no leap second), to Unix seconds.
/// Years 1970 to 9999.
pub fn parse_time(s: &str) -> Result<u64, &'static str> {
    let b = s.as_bytes();
    if b.len() != 20 {
        return Err("not of the form YYYY-MM-DDTHH:MM:SSZ");
    }
    let shape_ok = b.iter().enumerate().all(|(i, &c)| match i {
        4 | 7 => c == b'-',
        10 => c == b'T',
        13 | 16 => c == b':',
        19 => c == b'Z',
        _ => c.is_ascii_digit(),
    });
    if !shape_ok {
        return Err("not of the form YYYY-MM-DDTHH:MM:SSZ");
    }
    let num =
        |r: std::ops::Range<usize>| b[r].iter().fold(0u64, |n, &c| n * 10 + u64::from(c - b'0'));
    let (y, mo, d) = (num(0..4), num(5..7), num(8..10));
    let (h, mi, sec) = (num(11..13), num(14..16), num(17..19));
    if y < 1970 {
        return Err("before 1970");
    }
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) {
        return Err("no such date");
    }
    if h > 23 || mi > 59 || sec > 59 {
        return Err("no such time of day");
    }
    Ok(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec)
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_time(secs: u64) -> String {
    let (y, m, d) = civil_from_days(secs / 86_400);
    let rem = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn is_leap(y: u64) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(y: u64, m: u64) -> u64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date, year >= 1970
/// (H. Hinnant's algorithm).
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + u64::from(m <= 2), m, d)
}

fn shard_of(raw: RawShard) -> Result<Shard, ShardError> {
    check_origin(&raw.origin)?;
    let key = VerifierKey::parse(&raw.vkey).map_err(ShardError::BadKey)?;
    if key.name() != raw.origin {
        return Err(ShardError::KeyNameMismatch {
            name: cut(key.name()),
        });
    }
    match key.key_type() {
        SIG_ED25519 | SIG_ML_DSA_44 => {}
        t => return Err(ShardError::WrongKeyType(t)),
    }
    check_url("url", &raw.url)?;
    if let Some(u) = &raw.submission_url {
        check_url("submission_url", u)?;
    }
    check_description(&raw.description)?;
    let time = |field, value: &str| {
        parse_time(value).map_err(|why| ShardError::BadTime {
            field,
            value: cut(value),
            why,
        })
    };
    let start = time("start", &raw.period.start)?;
    let end = time("end", &raw.period.end)?;
    if end <= start {
        return Err(ShardError::EmptyPeriod {
            start: raw.period.start,
            end: raw.period.end,
        });
    }
    Ok(Shard {
        origin: raw.origin,
        key,
        url: raw.url,
        submission_url: raw.submission_url,
        start,
        end,
        description: raw.description,
    })
}

impl LogList {
    /// Parses and validates a log list (`spec/log-list.md`).
    pub fn parse(bytes: &[u8]) -> Result<Self, LogListError> {
        if bytes.len() > MAX_LOG_LIST_SIZE {
            return Err(LogListError::TooLarge {
                size: bytes.len(),
                max: MAX_LOG_LIST_SIZE,
            });
        }
        let raw: RawList =
            serde_json::from_slice(bytes).map_err(|e| LogListError::Json(e.to_string()))?;
        if raw.version != LOG_LIST_VERSION {
            return Err(LogListError::Version(cut(&raw.version)));
        }
        if let Some(d) = &raw.description
            && d.len() > MAX_DESCRIPTION_LEN
        {
            return Err(LogListError::Json(format!(
                "description is {} bytes, more than {MAX_DESCRIPTION_LEN}",
                d.len()
            )));
        }
        if raw.shards.is_empty() {
            return Err(LogListError::NoShards);
        }
        let mut shards: Vec<Shard> = Vec::with_capacity(raw.shards.len());
        let mut origins: HashMap<String, usize> = HashMap::new();
        let mut keys: HashMap<Vec<u8>, usize> = HashMap::new();
        for (index, r) in raw.shards.into_iter().enumerate() {
            let origin = cut(&r.origin);
            let fail = |error| LogListError::Shard {
                index,
                origin: origin.clone(),
                error,
            };
            let s = shard_of(r).map_err(fail)?;
            if let Some(&other) = origins.get(&s.origin) {
                return Err(fail(ShardError::DuplicateOrigin(other)));
            }
            if let Some(&other) = keys.get(s.key.public_key_bytes()) {
                return Err(fail(ShardError::DuplicateKey(other)));
            }
            if let Some(prev) = shards.last() {
                if s.start < prev.start {
                    return Err(fail(ShardError::Unsorted {
                        start: format_time(s.start),
                        previous: format_time(prev.start),
                    }));
                }
                if s.start < prev.end {
                    return Err(fail(ShardError::Overlap {
                        start: format_time(s.start),
                        previous: prev.origin.clone(),
                        previous_end: format_time(prev.end),
                    }));
                }
            }
            origins.insert(s.origin.clone(), index);
            keys.insert(s.key.public_key_bytes().to_vec(), index);
            shards.push(s);
        }
        Ok(LogList {
            description: raw.description,
            shards,
        })
    }

    /// The shards, sorted by period.
    pub fn shards(&self) -> &[Shard] {
        &self.shards
    }

    /// The list's description, if it has one.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The shard whose period covers `t` (Unix seconds), if any.
    pub fn shard_at(&self, t: u64) -> Option<&Shard> {
        // Periods are sorted and disjoint: the last shard starting at or
        // before t is the only candidate.
        let after = self.shards.partition_point(|s| s.start <= t);
        after
            .checked_sub(1)
            .and_then(|i| self.shards.get(i))
            .filter(|s| s.covers(t))
    }

    /// The shard with this origin, if any.
    pub fn by_origin(&self, origin: &str) -> Option<&Shard> {
        self.shards.iter().find(|s| s.origin == origin)
    }

    /// A trust policy with every shard's key (and read URL), quorum none:
    /// a checkpoint or receipt of any shard verifies under it, one of a
    /// log not in the list does not.
    pub fn policy(&self) -> Policy {
        let mut p = Policy::new();
        for s in &self.shards {
            // Validation already ruled out what add_log refuses (key type,
            // duplicate key, URL words, more than its 1,024 logs).
            let _ = p.add_log(s.key.clone(), Some(s.url.clone()));
        }
        p
    }

    /// A policy trusting one shard only.
    pub fn shard_policy(shard: &Shard) -> Policy {
        let mut p = Policy::new();
        let _ = p.add_log(shard.key.clone(), Some(shard.url.clone()));
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::NoteSigner;
    use proptest::prelude::*;

    fn key(name: &str) -> String {
        let seed = crate::hash::sha256(name.as_bytes());
        NoteSigner::from_seed(name, SIG_ED25519, seed)
            .expect("test key")
            .verifier_key()
            .to_vkey()
    }

    fn shard(origin: &str, start: &str, end: &str) -> serde_json::Value {
        serde_json::json!({
            "origin": origin,
            "vkey": key(origin),
            "url": format!("https://{origin}/"),
            "period": {"start": start, "end": end},
        })
    }

    fn list(shards: Vec<serde_json::Value>) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"version": LOG_LIST_VERSION, "shards": shards}))
            .expect("json")
    }

    fn two() -> Vec<serde_json::Value> {
        vec![
            shard("a.example", "2026-01-01T00:00:00Z", "2026-07-01T00:00:00Z"),
            shard("b.example", "2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z"),
        ]
    }

    fn shard_error(bytes: &[u8]) -> (usize, ShardError) {
        match LogList::parse(bytes) {
            Err(LogListError::Shard { index, error, .. }) => (index, error),
            other => panic!("expected a shard error, got {other:?}"),
        }
    }

    #[test]
    fn times_round_trip() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_time("2000-02-29T00:00:00Z"), Ok(951_782_400));
        assert_eq!(parse_time("2023-11-14T22:13:20Z"), Ok(1_700_000_000));
        assert_eq!(parse_time("2100-02-28T23:59:59Z"), Ok(4_107_542_399));
        for t in [
            0,
            951_782_400,
            1_700_000_000,
            4_107_542_399,
            253_402_300_799,
        ] {
            assert_eq!(parse_time(&format_time(t)), Ok(t));
        }
        for bad in [
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00+00:00",
            "2026-01-01T00:00:00.5Z",
            "2026-01-01t00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-01-00T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:00:60Z",
            "1969-12-31T23:59:59Z",
            "२०२६-01-01T00:00:00Z",
            "",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_valid_list_parses_and_picks_shards() {
        let mut shards = two();
        shards[1]["submission_url"] = "https://write.b.example/".into();
        shards[1]["description"] = "second half".into();
        let l = LogList::parse(&list(shards)).expect("valid");
        assert_eq!(l.shards().len(), 2);
        let (a, b) = (&l.shards()[0], &l.shards()[1]);
        assert_eq!(a.submit_url(), "https://a.example/");
        assert_eq!(b.submit_url(), "https://write.b.example/");
        assert_eq!(b.description.as_deref(), Some("second half"));
        let t = |s| parse_time(s).expect("time");
        assert_eq!(l.shard_at(t("2025-12-31T23:59:59Z")), None);
        assert_eq!(l.shard_at(t("2026-01-01T00:00:00Z")), Some(a));
        assert_eq!(l.shard_at(t("2026-06-30T23:59:59Z")), Some(a));
        // The end is exclusive: the boundary second is the next shard's.
        assert_eq!(l.shard_at(t("2026-07-01T00:00:00Z")), Some(b));
        assert_eq!(l.shard_at(t("2027-01-01T00:00:00Z")), None);
        assert_eq!(l.by_origin("b.example"), Some(b));
        assert_eq!(l.by_origin("c.example"), None);
        let p = l.policy();
        assert_eq!(p.logs().len(), 2);
        assert_eq!(p.logs()[1].url.as_deref(), Some("https://b.example/"));
        assert_eq!(
            a.period_text(),
            "[2026-01-01T00:00:00Z, 2026-07-01T00:00:00Z)"
        );
    }

    #[test]
    fn a_gap_is_allowed_and_covered_by_no_shard() {
        let l = LogList::parse(&list(vec![
            shard("a.example", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"),
            shard("b.example", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"),
        ]))
        .expect("a gap is valid");
        let t = |s| parse_time(s).expect("time");
        assert_eq!(l.shard_at(t("2026-02-15T00:00:00Z")), None);
        assert_eq!(
            l.shard_at(t("2026-03-01T00:00:00Z"))
                .map(|s| s.origin.as_str()),
            Some("b.example")
        );
    }

    #[test]
    fn overlapping_periods_are_rejected() {
        let bytes = list(vec![
            shard("a.example", "2026-01-01T00:00:00Z", "2026-07-01T00:00:01Z"),
            shard("b.example", "2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z"),
        ]);
        let (i, e) = shard_error(&bytes);
        assert_eq!(i, 1);
        assert!(matches!(e, ShardError::Overlap { ref previous, .. } if previous == "a.example"));
        assert!(e.to_string().contains("must not overlap"), "{e}");
    }

    #[test]
    fn unsorted_periods_are_rejected() {
        let mut shards = two();
        shards.reverse();
        let (i, e) = shard_error(&list(shards));
        assert_eq!(i, 1);
        assert!(matches!(e, ShardError::Unsorted { .. }), "{e}");
    }

    #[test]
    fn empty_and_inverted_periods_are_rejected() {
        for (s, e) in [
            ("2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"),
            ("2026-02-01T00:00:00Z", "2026-01-01T00:00:00Z"),
        ] {
            let (_, err) = shard_error(&list(vec![shard("a.example", s, e)]));
            assert!(matches!(err, ShardError::EmptyPeriod { .. }), "{err}");
        }
        let (_, err) = shard_error(&list(vec![shard(
            "a.example",
            "2026-01-01",
            "2026-02-01T00:00:00Z",
        )]));
        assert!(
            matches!(err, ShardError::BadTime { field: "start", .. }),
            "{err}"
        );
    }

    #[test]
    fn duplicate_origins_and_keys_are_rejected() {
        let mut shards = two();
        shards[1] = shard("a.example", "2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z");
        assert_eq!(
            shard_error(&list(shards)),
            (1, ShardError::DuplicateOrigin(0))
        );
        // The same public key under another name: a vkey named b.example
        // with a.example's public key.
        let a = VerifierKey::parse(&key("a.example")).expect("key");
        let same = VerifierKey::new(
            "b.example",
            SIG_ED25519,
            *a.ed25519_public_key().expect("ed25519"),
        )
        .expect("key");
        let mut shards = two();
        shards[1]["vkey"] = same.to_vkey().into();
        assert_eq!(shard_error(&list(shards)), (1, ShardError::DuplicateKey(0)));
    }

    #[test]
    fn bad_keys_are_rejected() {
        let mut shards = two();
        shards[0]["vkey"] = "a.example+00000000+AAAA".into();
        assert!(matches!(
            shard_error(&list(shards)),
            (0, ShardError::BadKey(_))
        ));
        let mut shards = two();
        shards[0]["vkey"] = key("other.example").into();
        assert!(matches!(
            shard_error(&list(shards)),
            (0, ShardError::KeyNameMismatch { .. })
        ));
        // A witness (cosignature/v1) key does not sign checkpoints.
        let w = NoteSigner::generate_cosigner("a.example").expect("key");
        let mut shards = two();
        shards[0]["vkey"] = w.verifier_key().to_vkey().into();
        assert_eq!(
            shard_error(&list(shards)),
            (0, ShardError::WrongKeyType(0x04))
        );
        let mut shards = two();
        shards[0]["origin"] = "a example".into();
        assert!(matches!(
            shard_error(&list(shards)),
            (0, ShardError::BadOrigin(_))
        ));
    }

    #[test]
    fn bad_urls_are_rejected() {
        for url in [
            "ftp://a.example/",
            "a.example",
            "https://",
            "https://a.example/?x=1",
            "https://a.example/#f",
            "https://a .example/",
            "https://user@a.example/",
        ] {
            let mut shards = two();
            shards[0]["url"] = url.into();
            assert!(
                matches!(
                    shard_error(&list(shards)),
                    (0, ShardError::BadUrl { field: "url", .. })
                ),
                "{url}"
            );
        }
        let mut shards = two();
        shards[1]["submission_url"] = "mailto:x".into();
        assert!(matches!(
            shard_error(&list(shards)),
            (
                1,
                ShardError::BadUrl {
                    field: "submission_url",
                    ..
                }
            )
        ));
    }

    #[test]
    fn shape_errors() {
        let v = |j: serde_json::Value| serde_json::to_vec(&j).expect("json");
        assert!(matches!(
            LogList::parse(&v(
                serde_json::json!({"version": "provlog-log-list/v2", "shards": two()})
            )),
            Err(LogListError::Version(_))
        ));
        assert_eq!(LogList::parse(&list(vec![])), Err(LogListError::NoShards));
        // Unknown fields, at the top and in a shard and period.
        let mut top = serde_json::json!({"version": LOG_LIST_VERSION, "shards": two()});
        top["operators"] = serde_json::json!([]);
        assert!(
            matches!(LogList::parse(&v(top)), Err(LogListError::Json(e)) if e.contains("unknown field"))
        );
        let mut shards = two();
        shards[0]["state"] = "usable".into();
        assert!(matches!(
            LogList::parse(&list(shards)),
            Err(LogListError::Json(_))
        ));
        let mut shards = two();
        shards[0]["period"]["end_inclusive"] = "x".into();
        assert!(matches!(
            LogList::parse(&list(shards)),
            Err(LogListError::Json(_))
        ));
        // A field given twice.
        let twice =
            br#"{"version":"provlog-log-list/v1","version":"provlog-log-list/v1","shards":[]}"#;
        assert!(
            matches!(LogList::parse(twice), Err(LogListError::Json(e)) if e.contains("duplicate"))
        );
        // Missing fields, wrong types, trailing data.
        let mut shards = two();
        shards[0].as_object_mut().expect("object").remove("url");
        assert!(matches!(
            LogList::parse(&list(shards)),
            Err(LogListError::Json(_))
        ));
        let mut shards = two();
        shards[0]["url"] = 7.into();
        assert!(matches!(
            LogList::parse(&list(shards)),
            Err(LogListError::Json(_))
        ));
        let mut bytes = list(two());
        bytes.extend_from_slice(b" {}");
        assert!(matches!(LogList::parse(&bytes), Err(LogListError::Json(_))));
        let mut shards = two();
        shards[0]["description"] = "x".repeat(MAX_DESCRIPTION_LEN + 1).into();
        assert!(matches!(
            shard_error(&list(shards)),
            (0, ShardError::DescriptionTooLong(_))
        ));
    }

    #[test]
    fn oversized_input_is_rejected_before_parsing() {
        // Not even JSON: the size is checked first.
        let bytes = vec![b'x'; MAX_LOG_LIST_SIZE + 1];
        assert_eq!(
            LogList::parse(&bytes),
            Err(LogListError::TooLarge {
                size: MAX_LOG_LIST_SIZE + 1,
                max: MAX_LOG_LIST_SIZE
            })
        );
    }

    #[test]
    fn too_many_shards_are_rejected() {
        // MAX_SHARDS + 1 tiny (invalid) shards: the count is refused while
        // the array is read, before any shard is validated.
        let one = r#"{"origin":"a","vkey":"a","url":"a","period":{"start":"a","end":"a"}}"#;
        let body = vec![one; MAX_SHARDS + 1].join(",");
        let text = format!(r#"{{"version":"{LOG_LIST_VERSION}","shards":[{body}]}}"#);
        match LogList::parse(text.as_bytes()) {
            Err(LogListError::Json(e)) => assert!(e.contains("more than 1024 shards"), "{e}"),
            other => panic!("{other:?}"),
        }
        // Exactly MAX_SHARDS valid shards is fine.
        let day = 86_400;
        let shards = (0..MAX_SHARDS as u64)
            .map(|i| {
                shard(
                    &format!("s{i}.example"),
                    &format_time(i * day),
                    &format_time((i + 1) * day),
                )
            })
            .collect();
        let l = LogList::parse(&list(shards)).expect("1024 shards");
        assert_eq!(l.shards().len(), MAX_SHARDS);
        assert_eq!(l.policy().logs().len(), MAX_SHARDS);
        assert_eq!(
            l.shard_at(500 * day + 7).map(|s| s.origin.as_str()),
            Some("s500.example")
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = LogList::parse(&bytes);
        }

        #[test]
        fn corrupted_lists_never_panic(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
            let mut bytes = list(two());
            for (at, b) in flips {
                let n = bytes.len();
                bytes[at % n] = b;
            }
            let _ = LogList::parse(&bytes);
        }

        #[test]
        fn random_strings_as_times_never_panic(s in "\\PC{0,24}") {
            let _ = parse_time(&s);
        }

        #[test]
        fn shard_at_agrees_with_a_scan(t in 0u64..(3 * 86_400 * 400)) {
            let l = LogList::parse(&list(vec![
                shard("a.example", &format_time(86_400), &format_time(86_400 * 300)),
                shard("b.example", &format_time(86_400 * 300), &format_time(86_400 * 301)),
                shard("c.example", &format_time(86_400 * 500), &format_time(86_400 * 900)),
            ])).expect("valid");
            let scan = l.shards().iter().find(|s| s.covers(t));
            prop_assert_eq!(l.shard_at(t), scan);
        }
    }
}
