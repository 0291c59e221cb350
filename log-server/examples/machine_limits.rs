//! Measures this machine's own limits, to compare provlog's figures with:
//! raw Ed25519 `verify_strict` per second (one core and all cores), the
//! claim rule's (ZIP-215, `provlog_core::ed25519_zip215`) single and batch
//! rates per signature (one core and all cores), SHA-256 node hashes per second, and fsyncs
//! per second in a directory (the data directory's file system).
//!
//! `cargo run --release -p provlog-server --example machine_limits -- [DIR]`
//! prints one JSON object.
#![allow(missing_docs)]

use std::io::Write;
use std::time::{Duration, Instant};

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use provlog_core::ed25519_zip215::{Item, verify_batch, verify_item};
use provlog_core::hash::node_hash;

const RUN: Duration = Duration::from_secs(3);

/// Runs `f` repeatedly for about `RUN` on each of `threads` threads; returns ops/s.
fn rate(threads: usize, f: impl Fn() + Sync) -> f64 {
    let start = Instant::now();
    let total: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0u64;
                    while start.elapsed() < RUN {
                        for _ in 0..64 {
                            f();
                        }
                        n += 64;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    total as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| std::env::temp_dir().display().to_string());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let keys: Vec<SigningKey> = (0..256u16)
        .map(|i| {
            let mut seed = [7u8; 32];
            seed[..2].copy_from_slice(&i.to_be_bytes());
            SigningKey::from_bytes(&seed)
        })
        .collect();
    let msgs: Vec<Vec<u8>> = (0..256).map(|i| vec![i as u8; 420]).collect();
    let sigs: Vec<Signature> = keys.iter().zip(&msgs).map(|(k, m)| k.sign(m)).collect();
    let vks: Vec<VerifyingKey> = keys.iter().map(SigningKey::verifying_key).collect();
    let counter = std::sync::atomic::AtomicUsize::new(0);
    let verify_one = || {
        let i = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 256;
        assert!(vks[i].verify_strict(&msgs[i], &sigs[i]).is_ok());
    };
    let verify_1 = rate(1, verify_one);
    let verify_all = rate(cores, verify_one);
    let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
    let batch_start = Instant::now();
    let mut batches = 0u64;
    while batch_start.elapsed() < RUN {
        assert!(ed25519_dalek::verify_batch(&refs, &sigs, &vks).is_ok());
        batches += 1;
    }
    let batch_per_sig_1 = batches as f64 * 256.0 / batch_start.elapsed().as_secs_f64();
    // The claim rule: ZIP-215 single, and batches of 256 on every core.
    let items: Vec<Item<'_>> = msgs
        .iter()
        .zip(&sigs)
        .zip(&vks)
        .map(|((m, s), k)| Item {
            key: k.to_bytes(),
            msg: m,
            sig: s.to_bytes(),
        })
        .collect();
    let zcounter = std::sync::atomic::AtomicUsize::new(0);
    let zip215_one = || {
        let i = zcounter.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 256;
        assert!(verify_item(&items[i]));
    };
    let zip215_1 = rate(1, zip215_one);
    let zip215_all = rate(cores, zip215_one);
    // `rate` counts calls; a call here is a whole batch of 256.
    let zip215_batch = |threads| rate(threads, || assert!(verify_batch(&items).is_ok())) * 256.0;
    let zip215_batch_1 = zip215_batch(1);
    let zip215_batch_all = zip215_batch(cores);
    let h = [1u8; 32];
    let hash_1 = rate(1, || {
        std::hint::black_box(node_hash(std::hint::black_box(&h), &h));
    });
    let hash_all = rate(cores, || {
        std::hint::black_box(node_hash(std::hint::black_box(&h), &h));
    });
    // fsync rate: append 4 KiB and fdatasync, like a small journal commit.
    let path = std::path::Path::new(&dir).join(format!("fsync-probe-{}", std::process::id()));
    let mut f = std::fs::File::create(&path).expect("create probe file");
    let block = vec![0xabu8; 4096];
    let fs_start = Instant::now();
    let mut syncs = 0u64;
    while fs_start.elapsed() < RUN {
        f.write_all(&block).expect("write");
        f.sync_data().expect("fsync");
        syncs += 1;
    }
    let fsync = syncs as f64 / fs_start.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&path);
    println!(
        "{}",
        serde_json::json!({
            "cores": cores,
            "ed25519_verify_strict_per_sec_1core": verify_1.round(),
            "ed25519_verify_strict_per_sec_all_cores": verify_all.round(),
            "ed25519_verify_batch256_sigs_per_sec_1core": batch_per_sig_1.round(),
            "zip215_verify_per_sec_1core": zip215_1.round(),
            "zip215_verify_per_sec_all_cores": zip215_all.round(),
            "zip215_batch256_sigs_per_sec_1core": zip215_batch_1.round(),
            "zip215_batch256_sigs_per_sec_all_cores": zip215_batch_all.round(),
            "sha256_node_hashes_per_sec_1core": hash_1.round(),
            "sha256_node_hashes_per_sec_all_cores": hash_all.round(),
            "fsyncs_per_sec": fsync.round(),
            "fsync_dir": dir,
        })
    );
}
