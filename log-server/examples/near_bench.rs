//! Near-match lookup latency of the multi-index-hashing index
//! (`provlog_server::near_index::NearIndex`, four 16-bit substrings) at
//! N entries, and the time to rebuild it at start from the persisted
//! `phash` keyspace.
//!
//! ```sh
//! cargo run --release -p provlog-server --example near_bench -- 10000000 8
//! cargo run --release -p provlog-server --example near_bench -- 10000000 8 --bits 64
//! cargo run --release -p provlog-server --example near_bench -- 10000000 8 --persisted DIR
//! ```
//!
//! Arguments: entries, search radius (Hamming distance), `--bits 40` (the
//! default: provlog's perceptual hash has 40 meaningful bits, the high ones)
//! or `--bits 64`, and optionally `--persisted DIR` to also write the hashes
//! into a `BindingIndex` in DIR and time `load_near` (the restart path).
//! Hashes are uniformly random over the meaningful bits, with 1%
//! near-duplicates (a few bits flipped) so queries find matches.
//! Queries: 20,000, half a stored hash with 0-`radius` bits flipped, half
//! random. Prints p50/p90/p99/p99.9/max latency of `search`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Instant;

use provlog_server::near_index::NearIndex;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Flips `bits` distinct bits among the low `width` bits of `h`.
    fn flip(&mut self, h: u64, bits: u32, width: u32) -> u64 {
        let mut out = h;
        let mut n = 0;
        while n < bits.min(width) {
            let b = 1u64 << (self.next() % u64::from(width));
            if (out ^ h) & b == 0 {
                out ^= b;
                n += 1;
            }
        }
        out
    }
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let radius: u32 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10);
    let persisted = args
        .iter()
        .position(|a| a == "--persisted")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let bits: u32 = args
        .iter()
        .position(|a| a == "--bits")
        .and_then(|i| args.get(i + 1))
        .and_then(|b| b.parse().ok())
        .unwrap_or(40);
    let bits = bits.clamp(1, 64);
    let shift = 64 - bits;
    let mut rng = Rng(42);
    let mut hashes = Vec::with_capacity(n as usize);
    for i in 0..n {
        let h = if i > 0 && i % 100 == 0 {
            let prev = hashes[(rng.next() % i) as usize];
            {
                let k = (rng.next() % 6) as u32;
                rng.flip(prev >> shift, k, bits) << shift
            }
        } else {
            rng.next() << shift
        };
        hashes.push(h);
    }
    let rss0 = rss_mib();
    let t = Instant::now();
    let mut idx = NearIndex::new();
    for (i, &h) in hashes.iter().enumerate() {
        idx.insert(h, i as u64);
    }
    println!(
        "NearIndex (multi-index hashing, 4 x 16-bit, spread): {} {bits}-bit hashes built in {:.2} s, +{:.0} MiB RSS",
        idx.len(),
        t.elapsed().as_secs_f64(),
        rss_mib() - rss0
    );
    let queries = 20_000;
    let mut lat = Vec::with_capacity(queries);
    let mut found = 0usize;
    for q in 0..queries {
        let query = if q % 2 == 0 {
            let h = hashes[(rng.next() % n) as usize];
            {
                let k = (rng.next() % u64::from(radius + 1)) as u32;
                rng.flip(h >> shift, k, bits) << shift
            }
        } else {
            rng.next() << shift
        };
        let t = Instant::now();
        let r = idx.search(query, radius, 10);
        lat.push(t.elapsed().as_secs_f64() * 1e6);
        found += r.len();
    }
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let p = |q: f64| lat[((lat.len() as f64 - 1.0) * q) as usize];
    println!(
        "search radius {radius}, {queries} queries (half near a stored hash): p50 {:.0} us, p90 {:.0} us, \
         p99 {:.0} us, p99.9 {:.0} us, max {:.0} us; {} matches",
        p(0.5),
        p(0.9),
        p(0.99),
        p(0.999),
        lat[lat.len() - 1],
        found
    );
    if let Some(dir) = persisted {
        let dir = std::path::Path::new(&dir);
        drop(idx);
        let t = Instant::now();
        provlog_server::binding_index::fill_phash_for_bench(dir, &hashes).unwrap();
        println!(
            "wrote {} phash records in {:.1} s",
            n,
            t.elapsed().as_secs_f64()
        );
        let t = Instant::now();
        let bi = provlog_server::binding_index::BindingIndex::open(dir).unwrap();
        let opened = t.elapsed().as_secs_f64();
        let loaded = bi.load_near().unwrap();
        println!(
            "restart: BindingIndex::open {:.3} s (the log serves from here), load_near {} hashes in {:.2} s (byContent 503 until then)",
            opened,
            loaded,
            t.elapsed().as_secs_f64() - opened
        );
    }
}
