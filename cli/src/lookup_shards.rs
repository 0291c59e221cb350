//! `provlog lookup --log-list FILE`: the lookup proof of one index key
//! from every shard of a log list (spec/log-list.md §5), each verified
//! under that shard's own key, at most [`SHARD_CONCURRENCY`] shards asked
//! at once. One line per shard, then the overall verdict: `VERIFIED: N
//! claims in M shards` or `VERIFIED ABSENT in all M shards`, only when
//! every shard's answer verified. A shard that cannot be asked, or whose
//! answer does not verify, fails the lookup (it is never skipped).

use std::sync::Arc;

use provlog_client::http::LogClient;
use provlog_core::index::IndexKey;
use provlog_core::index::proof::{LookupOutcome, VerifiedLookup};
use provlog_core::log_list::{LogList, Shard};
use tokio::sync::Semaphore;

use crate::fail::{Fail, Kind, usage};
use crate::net::LookupArgs;
use crate::out::outln;

/// Shards asked at once.
pub const SHARD_CONCURRENCY: usize = 4;

/// One shard's answer.
struct ShardAnswer {
    shard: Shard,
    result: Result<VerifiedLookup, Fail>,
}

/// Asks one shard and verifies its answer under its own key.
async fn ask(shard: &Shard, key: &IndexKey) -> Result<VerifiedLookup, Fail> {
    let client = LogClient::new(&shard.url)?;
    let bytes = crate::lookup_verify::fetch(&client, key, 0)
        .await?
        .ok_or_else(|| {
            Fail::new(
                Kind::CouldNotCheck,
                format!(
                    "{} keeps no verifiable index: it cannot prove lookups",
                    shard.url
                ),
            )
        })?;
    let policy = LogList::shard_policy(shard);
    let key = key.clone();
    tokio::task::spawn_blocking(move || {
        crate::lookup_verify::verify_bundle(&bytes, &policy, Some(&key))
    })
    .await
    .map_err(|e| format!("internal: {e}"))?
}

/// The index key asked for: `--key`, `--sha256` or the FILE's SHA-256.
fn asked_key(args: &LookupArgs) -> Result<IndexKey, Fail> {
    if let Some(k) = &args.proof.key {
        return crate::lookup_verify::parse_key(k);
    }
    match (&args.sha256, &args.file) {
        (Some(h), None) => {
            let mut a = [0u8; 32];
            hex::decode_to_slice(h.trim(), &mut a)
                .map_err(|_| usage(format!("--sha256 {h:?} is not 64 hex digits")))?;
            Ok(IndexKey::Asset(a))
        }
        (None, Some(f)) => Ok(IndexKey::Asset(crate::claim_args::hash_file(f)?.0)),
        _ => Err(usage(
            "give a FILE, --sha256 HEX or --key KEY (or --bundle FILE to verify a saved proof)",
        )),
    }
}

/// `provlog lookup --log-list FILE`.
pub async fn lookup(args: &LookupArgs, list: LogList) -> Result<(), Fail> {
    if args.similar || args.proof.vendor.is_some() || args.proof.save.is_some() {
        return Err(usage(
            "with --log-list, lookup proves one key in every shard (FILE, --sha256 or --key); \
             --similar, --vendor --seq and --save ask one log: give that shard's --log and \
             --log-key",
        ));
    }
    if args.proof.from != 0 {
        return Err(usage(
            "--from is a position in one log's list; with --log-list give 0",
        ));
    }
    let key = asked_key(args)?;
    let sem = Arc::new(Semaphore::new(SHARD_CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, shard) in list.shards().iter().cloned().enumerate() {
        let (sem, key) = (sem.clone(), key.clone());
        tasks.spawn(async move {
            let result = match sem.acquire_owned().await {
                Ok(_permit) => ask(&shard, &key).await,
                Err(e) => Err(Fail::from(format!("internal: {e}"))),
            };
            (i, ShardAnswer { shard, result })
        });
    }
    let mut answers: Vec<Option<ShardAnswer>> = (0..list.shards().len()).map(|_| None).collect();
    while let Some(done) = tasks.join_next().await {
        let (i, answer) = done.map_err(|e| format!("internal: a shard lookup failed: {e}"))?;
        if let Some(slot) = answers.get_mut(i) {
            *slot = Some(answer);
        }
    }
    let answers: Vec<ShardAnswer> = answers.into_iter().flatten().collect();
    report(&key, &answers, args.json)
}

/// Claims a verified answer lists.
fn count(v: &VerifiedLookup) -> u64 {
    match &v.outcome {
        LookupOutcome::Found { count, .. } => *count,
        LookupOutcome::Absent => 0,
    }
}

/// Prints each shard's verdict and the overall one.
fn report(key: &IndexKey, answers: &[ShardAnswer], json: bool) -> Result<(), Fail> {
    let total = answers.len();
    let failed: Vec<&ShardAnswer> = answers.iter().filter(|a| a.result.is_err()).collect();
    let claims: u64 = answers
        .iter()
        .filter_map(|a| a.result.as_ref().ok())
        .map(count)
        .sum();
    let found_in = answers
        .iter()
        .filter(|a| a.result.as_ref().is_ok_and(|v| count(v) > 0))
        .count();
    let overall = if !failed.is_empty() {
        format!(
            "NOT VERIFIED: {} of {total} shards did not answer with a verified proof; \
             the lookup is not complete",
            failed.len()
        )
    } else if claims == 0 {
        format!("VERIFIED ABSENT in all {total} shards (as of each shard's checkpoint)")
    } else {
        format!(
            "VERIFIED: {claims} claims in {found_in} of {total} shards (complete as of each \
             shard's checkpoint)"
        )
    };
    if json {
        let shards: Vec<serde_json::Value> = answers
            .iter()
            .map(|a| {
                let mut j = match &a.result {
                    Ok(v) => crate::lookup_verify::json_of(v),
                    Err(e) => serde_json::json!({"verified": false, "error": e.message,
                        "kind": e.kind.as_str()}),
                };
                j["origin"] = serde_json::json!(a.shard.origin);
                j["url"] = serde_json::json!(a.shard.url);
                j["period"] = serde_json::json!({
                    "start": provlog_core::log_list::format_time(a.shard.start),
                    "end": provlog_core::log_list::format_time(a.shard.end),
                });
                j
            })
            .collect();
        let outcome = if !failed.is_empty() {
            "failed"
        } else if claims == 0 {
            "absent"
        } else {
            "found"
        };
        outln!(
            "{}",
            serde_json::json!({"key": key.describe(), "log_list": true,
                "verified": failed.is_empty(), "outcome": outcome, "count": claims,
                "shards": shards})
        );
    } else {
        for a in answers {
            let name = format!("shard {} {}", a.shard.origin, a.shard.period_text());
            match &a.result {
                Ok(v) => {
                    outln!("{name}: {}", v.summary());
                    crate::lookup_verify::print_entries(v);
                }
                Err(e) => {
                    let word = if e.kind == Kind::NotVerified {
                        ""
                    } else {
                        "COULD NOT CHECK: "
                    };
                    outln!("{name}: {word}{}", e.message);
                }
            }
        }
        outln!("{overall}");
    }
    if failed.is_empty() {
        return Ok(());
    }
    let kind = failed
        .iter()
        .filter_map(|a| a.result.as_ref().err())
        .fold(Kind::CouldNotCheck, |k, e| k.worst(e.kind));
    let which: Vec<&str> = failed.iter().map(|a| a.shard.origin.as_str()).collect();
    Err(Fail::new(kind, format!("{overall} (failed: {})", which.join(", "))).reported())
}
