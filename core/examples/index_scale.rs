//! Verifiable-index measurements for BENCHMARKS.md (not a test).
//!
//! ```text
//! cargo run --release -p provlog-core --example index_scale -- build N MIX [BATCH]
//! cargo run --release -p provlog-core --example index_scale -- stream KEYS [TARGETS]
//! ```
//!
//! `build`: builds an in-memory index for N log entries whose keys are
//! those of real claims (MIX `minimal`: asset + vendor + seq bucket, like
//! the load generator's claims; `rich`: also a C2PA hard binding and one
//! soft binding), committing every BATCH entries (default 4096), on one
//! thread; prints the build rate (key derivation from the claim fields
//! included, claim parsing not), memory, and the sizes of lookup proofs
//! for sampled present and absent keys.
//!
//! `stream`: the prefix tree over KEYS uniformly random keys, built in one
//! pass from the sorted key set (`index::stream`), recording the proof path
//! of TARGETS present keys (each given a 4-entry list) and TARGETS absent
//! keys; every path is verified against the streamed root, and the
//! distribution of proof sizes is printed.

use std::collections::HashSet;
use std::time::Instant;

use provlog_core::hash::{Hash, sha256};
use provlog_core::index::entry::IndexCommit;
use provlog_core::index::hashing::leaf_hash;
use provlog_core::index::key::{IndexKey, KeyHash};
use provlog_core::index::list::ListState;
use provlog_core::index::proof::{FoundList, LookupProof, LookupResult};
use provlog_core::index::store::MemoryStore;
use provlog_core::index::stream::{StreamTerminal, Target, stream_root};
use provlog_core::index::tree::{Batch, Index, PathTerminal, Terminal, path_root};

fn rss_mib() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            / 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// CPU seconds used by this process (user + system), from /proc/self/stat:
/// the machine is shared, so rates are per CPU second, not per wall second.
fn cpu_secs() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime); the first field after the name is field 3.
    let field = |i: usize| {
        f.get(i - 3)
            .and_then(|x| x.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (field(14) + field(15)) as f64 / 100.0
}

/// A deterministic 64-bit mixer (splitmix64), for synthetic data.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

const VENDORS: u64 = 100;

fn vendor(v: u64) -> String {
    // A vkey-shaped string; the index only hashes it.
    format!(
        "vendor{v}.example+{:08x}+AQ{}",
        mix(v) as u32,
        "A".repeat(42)
    )
}

/// The keys of synthetic entry `i` (what `claim_keys` derives from a claim).
fn entry_keys(i: u64, rich: bool, vendors: &[String], seqs: &mut [u64]) -> Vec<IndexKey> {
    let v = (mix(i) % VENDORS) as usize;
    let seq = seqs[v];
    seqs[v] += 1;
    let mut keys = vec![IndexKey::Asset(sha256(&i.to_be_bytes()))];
    if rich {
        keys.push(IndexKey::HardBinding {
            alg: provlog_core::claim::HashAlg::Sha256,
            hash: sha256(&(i ^ 0x5555).to_be_bytes()).to_vec(),
        });
        keys.push(IndexKey::SoftBinding {
            alg: "org.example.phash".into(),
            value: mix(i ^ 0xaaaa).to_be_bytes().to_vec(),
        });
    }
    keys.push(IndexKey::Vendor(vendors[v].clone()));
    keys.push(IndexKey::vendor_seq(&vendors[v], seq));
    keys
}

fn pct(sorted: &[usize], p: f64) -> usize {
    sorted[((sorted.len() - 1) as f64 * p) as usize]
}

fn dist(name: &str, mut v: Vec<usize>) {
    v.sort_unstable();
    let mean = v.iter().sum::<usize>() as f64 / v.len() as f64;
    println!(
        "  {name}: n={} mean={mean:.1} p50={} p99={} p99.9={} max={}",
        v.len(),
        pct(&v, 0.5),
        pct(&v, 0.99),
        pct(&v, 0.999),
        v[v.len() - 1]
    );
}

/// Sizes of a lookup bundle: (index part, whole bundle). The index part is
/// everything but the commit entry, its inclusion proof and the checkpoint
/// (which every lookup against that checkpoint shares); the whole bundle
/// has a real commit entry, a real single-signature checkpoint note and an
/// inclusion proof of the length a log of `log_size` entries gives the
/// commit (its last entry: popcount(log_size - 1) hashes). No entries.
fn sizes(
    key: &IndexKey,
    path: Vec<Option<Hash>>,
    result: LookupResult,
    log_size: u64,
) -> (usize, usize) {
    let mut p = LookupProof {
        key: key.material(),
        path,
        result,
        commit: vec![],
        commit_proof: vec![],
        checkpoint: vec![],
        entries: vec![],
    };
    // "commit" h'', "proof" [], "checkpoint" h'' with their keys: 27 bytes.
    let index_part = p.to_cbor().len() - 27;
    p.commit = IndexCommit {
        size: log_size - 1,
        root: [7; 32],
        keys: log_size * 3,
    }
    .to_bytes();
    p.commit_proof = vec![[5; 32]; (log_size - 1).count_ones() as usize];
    let signer = provlog_core::note::NoteSigner::from_seed("log.example.com/provlog", 1, [1; 32])
        .expect("key");
    p.checkpoint = provlog_core::checkpoint::sign_checkpoint(
        &provlog_core::checkpoint::Checkpoint::new("log.example.com/provlog", log_size, [9; 32])
            .with_timestamp(1_790_000_000_000),
        &signer,
    )
    .expect("sign");
    (index_part, p.to_cbor().len())
}

fn build(n: u64, rich: bool, batch_size: u64) {
    let vendors: Vec<String> = (0..VENDORS).map(vendor).collect();
    let mut seqs = vec![0u64; VENDORS as usize];
    let mut idx = Index::new(MemoryStore::new());
    let t0 = Instant::now();
    let mut batch = Batch::new();
    // Key derivation alone, on the same entries, to split the cost.
    let cd = cpu_secs();
    let mut sink = 0u8;
    let mut seqs2 = seqs.clone();
    for i in 0..n {
        for k in entry_keys(i, rich, &vendors, &mut seqs2) {
            sink ^= k.hash()[0];
        }
    }
    let derive_cpu = cpu_secs() - cd;
    std::hint::black_box(sink);
    let c0 = cpu_secs();
    let mut derive = std::time::Duration::ZERO;
    let mut next = 0u64;
    while next < n {
        let end = (next + batch_size).min(n);
        let td = Instant::now();
        for i in next..end {
            let keys: Vec<KeyHash> = entry_keys(i, rich, &vendors, &mut seqs)
                .iter()
                .map(IndexKey::hash)
                .collect();
            batch.add(i, &keys);
        }
        derive += td.elapsed();
        // The commit entry sits at index `end`: one more entry, no keys.
        idx.commit_batch(std::mem::take(&mut batch), end)
            .expect("commit");
        next = end;
        if next % (1 << 20) < batch_size {
            let (rss, _) = rss_mib();
            eprintln!(
                "  {next} entries, {} keys, {:.1} s, RSS {rss} MiB",
                idx.key_count(),
                t0.elapsed().as_secs_f64()
            );
        }
    }
    let wall = t0.elapsed().as_secs_f64();
    let secs = cpu_secs() - c0;
    let (rss, hwm) = rss_mib();
    let (ni, nl) = idx.store().node_counts();
    println!(
        "build {n} entries ({}) batch {batch_size}: {secs:.2} CPU s ({wall:.2} s wall) = {:.0} entries per CPU second, one thread; key derivation alone {derive_cpu:.2} CPU s, so the tree part runs at {:.0} entries per CPU second ({:.2} s wall in derivation)",
        if rich { "rich" } else { "minimal" },
        n as f64 / secs,
        n as f64 / (secs - derive_cpu),
        derive.as_secs_f64()
    );
    println!(
        "  keys {} interior {ni} leaves {nl}; store ~{} MiB; RSS {rss} MiB (peak {hwm} MiB)",
        idx.key_count(),
        idx.store().approx_bytes() >> 20
    );
    // Proofs: sampled present asset keys (1 entry) and absent keys.
    let log_size = n + n.div_ceil(batch_size);
    let (mut present, mut absent, mut depth) = (Vec::new(), Vec::new(), Vec::new());
    let (mut present_all, mut absent_all) = (Vec::new(), Vec::new());
    for s in 0..2000u64 {
        let i = mix(s) % n;
        let key = IndexKey::Asset(sha256(&i.to_be_bytes()));
        let p = idx.prove(&key.hash()).expect("prove");
        assert!(matches!(p.terminal, Terminal::Found(_)));
        assert_eq!(
            path_root(&key.hash(), &p.siblings, &p.terminal.to_path_terminal()).expect("path"),
            idx.root()
        );
        depth.push(p.siblings.len());
        let (a, b) = sizes(
            &key,
            p.siblings,
            LookupResult::Found(FoundList {
                from: 0,
                peaks: vec![],
                indexes: vec![i],
            }),
            log_size,
        );
        present.push(a);
        present_all.push(b);
        let key = IndexKey::Asset(sha256(&(n + 1 + s).to_be_bytes()));
        let p = idx.prove(&key.hash()).expect("prove");
        let result = match &p.terminal {
            Terminal::Other(l) => LookupResult::OtherLeaf {
                key: l.key,
                count: l.list.count,
                list_root: l.list.root(),
            },
            Terminal::Empty => LookupResult::Empty,
            Terminal::Found(_) => unreachable!("absent key found"),
        };
        let (a, b) = sizes(&key, p.siblings, result, log_size);
        absent.push(a);
        absent_all.push(b);
    }
    dist("path depth (present)", depth);
    dist("index proof bytes, present, 1 entry", present);
    dist("index proof bytes, absent", absent);
    dist("whole bundle bytes, present, 1 entry", present_all);
    dist("whole bundle bytes, absent", absent_all);
}

fn stream(n: u64, targets: usize) {
    let t0 = Instant::now();
    let mut keys: Vec<KeyHash> = (0..n).map(|i| sha256(&i.to_be_bytes())).collect();
    let tgen = t0.elapsed().as_secs_f64();
    keys.sort_unstable();
    let tsort = t0.elapsed().as_secs_f64() - tgen;
    let present: Vec<KeyHash> = (0..targets as u64)
        .map(|s| sha256(&(mix(s) % n).to_be_bytes()))
        .collect();
    let four: HashSet<KeyHash> = present.iter().copied().collect();
    let list4 = ListState::new(&[n / 7, n / 5, n / 3, n / 2]);
    let list_of = |k: &KeyHash| {
        if four.contains(k) {
            list4.clone()
        } else {
            // Any one-entry list; its index is irrelevant to the shape.
            ListState::new(&[u64::from_be_bytes(k[..8].try_into().unwrap_or_default()) % n])
        }
    };
    let leaf = |i: usize| {
        let l = list_of(&keys[i]);
        leaf_hash(&keys[i], l.count, &l.root())
    };
    let mut ts: Vec<Target> = present
        .iter()
        .copied()
        .chain((0..targets as u64).map(|s| sha256(&(n + s).to_be_bytes())))
        .map(Target::new)
        .collect();
    ts.sort_by_key(|t| t.key);
    ts.dedup_by(|a, b| a.key == b.key);
    let t1 = Instant::now();
    let c1 = cpu_secs();
    let root = stream_root(&keys, &leaf, &mut ts);
    let thash = cpu_secs() - c1;
    let twall = t1.elapsed().as_secs_f64();
    let (rss, hwm) = rss_mib();
    println!(
        "stream {n} keys: generate {tgen:.1} s, sort {tsort:.1} s, hash {thash:.1} CPU s ({twall:.1} s wall; {:.0} keys per CPU second); RSS {rss} MiB (peak {hwm} MiB)",
        n as f64 / thash
    );
    let log_size = n / 3 + n / 3 / 4096;
    let (mut pd, mut ad, mut ps, mut asz) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut ps_all, mut asz_all) = (Vec::new(), Vec::new());
    let mut empty_siblings = Vec::new();
    for t in &ts {
        let StreamTerminal::Leaf(i) = t.terminal else {
            // Empty terminal: absent.
            let term = PathTerminal::Empty;
            assert_eq!(path_root(&t.key, &t.siblings, &term).expect("path"), root);
            ad.push(t.siblings.len());
            let (a, b) = sizes(
                &IndexKey::Asset([0; 32]),
                t.siblings.clone(),
                LookupResult::Empty,
                log_size,
            );
            asz.push(a);
            asz_all.push(b);
            continue;
        };
        empty_siblings.push(t.siblings.iter().filter(|s| s.is_none()).count());
        let l = list_of(&keys[i]);
        if keys[i] == t.key {
            let term = PathTerminal::Found {
                count: l.count,
                list_root: l.root(),
            };
            assert_eq!(path_root(&t.key, &t.siblings, &term).expect("path"), root);
            pd.push(t.siblings.len());
            let (a, b) = sizes(
                &IndexKey::Asset([0; 32]),
                t.siblings.clone(),
                LookupResult::Found(FoundList {
                    from: 0,
                    peaks: vec![],
                    indexes: vec![n / 7, n / 5, n / 3, n / 2],
                }),
                log_size,
            );
            ps.push(a);
            ps_all.push(b);
        } else {
            let term = PathTerminal::Other {
                key: keys[i],
                count: l.count,
                list_root: l.root(),
            };
            assert_eq!(path_root(&t.key, &t.siblings, &term).expect("path"), root);
            ad.push(t.siblings.len());
            let (a, b) = sizes(
                &IndexKey::Asset([0; 32]),
                t.siblings.clone(),
                LookupResult::OtherLeaf {
                    key: keys[i],
                    count: l.count,
                    list_root: l.root(),
                },
                log_size,
            );
            asz.push(a);
            asz_all.push(b);
        }
    }
    println!("  all {} target paths verify against the root", ts.len());
    dist("path depth, present", pd);
    dist("path depth, absent", ad);
    dist("empty siblings on a path", empty_siblings);
    dist("index proof bytes, present with 4 entries", ps);
    dist("index proof bytes, absent", asz);
    println!(
        "  whole bundles for a log of {log_size} entries (3 keys per entry, commits every 4096):"
    );
    dist("whole bundle bytes, present with 4 entries", ps_all);
    dist("whole bundle bytes, absent", asz_all);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, d: u64| {
        args.get(i)
            .and_then(|s| s.parse::<f64>().ok())
            .map_or(d, |f| f as u64)
    };
    match args.first().map(String::as_str) {
        Some("build") => build(
            num(1, 1_000_000),
            args.get(2).is_some_and(|m| m == "rich"),
            num(3, 4096),
        ),
        Some("stream") => stream(num(1, 1_000_000), num(2, 5000) as usize),
        _ => eprintln!("usage: index_scale build N [minimal|rich] [BATCH] | stream KEYS [TARGETS]"),
    }
}
