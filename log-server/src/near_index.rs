//! Near-match index over 64-bit perceptual hashes: **multi-index hashing**
//! (Norouzi, Punjani and Fleet, "Fast search in Hamming space with
//! multi-index hashing", CVPR 2012) with four 16-bit substrings.
//!
//! Each hash is split into four 16-bit chunks; table `k` maps the value of
//! chunk `k` to the hashes that have it. By the pigeonhole principle, a hash
//! within Hamming distance `r` of the query has at least one chunk within
//! distance `floor(r / 4)` of the query's chunk, so a search probes, in each
//! table, every chunk value within that distance (1, 17, 137, 697 or 2,517
//! values for a chunk radius of 0 to 4) and checks the full distance of the
//! hashes found there. The answer is exact: every stored hash within `r`,
//! nothing farther (the property tests compare it with a brute-force scan).
//!
//! Before chunking, every hash goes through a fixed bit permutation
//! ([`spread`]) that deals the high 40 bits out evenly, 10 to each chunk:
//! provlog's perceptual hash has 40 meaningful bits in the high bits and
//! zeros below, which unspread would leave one table with a single bucket.
//! A permutation of bit positions preserves Hamming distance, so the
//! answer stays exact for any 64-bit values.
//!
//! Cost: memory is 8 bytes per entry (its log index) plus 12 bytes per entry
//! in each of the four tables (hash and dense id, stored inline so a probe
//! scans contiguous memory), 56 bytes per entry in all. A search at radius
//! `r` scans about `4 * probes(r / 4) * n / 65,536` stored hashes for
//! uniformly distributed hashes (see BENCHMARKS.md for measured latency at
//! 10 million entries). Insertion is O(1) amortised.

/// Largest search radius accepted (chunk radius 4).
pub const MAX_RADIUS: u32 = 19;

const CHUNKS: usize = 4;
const CHUNK_BITS: u32 = 16;
const BUCKETS: usize = 1 << CHUNK_BITS;

/// One bucket: the hashes whose chunk has this value, and their dense ids.
#[derive(Default, Clone)]
struct Bucket {
    hashes: Vec<u64>,
    ids: Vec<u32>,
}

/// A match: the log entry whose hash is within the radius, and how far.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct NearMatch {
    /// Hamming distance from the query.
    pub distance: u32,
    /// Log entry index of the stored hash.
    pub entry: u64,
    /// The stored hash.
    pub hash: u64,
}

/// The index. Not internally synchronised: wrap it in a lock to share it.
pub struct NearIndex {
    /// Dense id -> log entry index.
    entries: Vec<u64>,
    /// `tables[k][chunk value]`.
    tables: Vec<Vec<Bucket>>,
}

impl Default for NearIndex {
    fn default() -> Self {
        Self::new()
    }
}

fn chunk(hash: u64, k: usize) -> u16 {
    (hash >> (k as u32 * CHUNK_BITS)) as u16
}

/// Where bit `p` of a hash goes: of the high 40 bits (`p` >= 24), bit
/// `j = p - 24` goes to chunk `j % 4`, slot `j / 4` (0-9); of the low 24
/// bits, bit `p` goes to chunk `p % 4`, slot `10 + p / 4` (10-15).
const fn spread_position(p: u32) -> u32 {
    if p >= 24 {
        let j = p - 24;
        (j % 4) * CHUNK_BITS + j / 4
    } else {
        (p % 4) * CHUNK_BITS + 10 + p / 4
    }
}

/// `SPREAD[byte][value]`: the spread bits of `value` in byte `byte` (0 =
/// least significant) of a hash.
static SPREAD: [[u64; 256]; 8] = {
    let mut t = [[0u64; 256]; 8];
    let mut byte = 0;
    while byte < 8 {
        let mut v = 0;
        while v < 256 {
            let mut out = 0u64;
            let mut bit = 0;
            while bit < 8 {
                if v & (1 << bit) != 0 {
                    out |= 1 << spread_position(byte as u32 * 8 + bit);
                }
                bit += 1;
            }
            t[byte][v] = out;
            v += 1;
        }
        byte += 1;
    }
    t
};

/// The fixed bit permutation applied before chunking (see the module docs).
pub fn spread(hash: u64) -> u64 {
    let b = hash.to_le_bytes();
    let mut out = 0;
    for (i, &v) in b.iter().enumerate() {
        out |= SPREAD[i][usize::from(v)];
    }
    out
}

/// Calls `f` with every 16-bit value within Hamming distance `radius` of `v`.
fn for_each_within(v: u16, radius: u32, f: &mut impl FnMut(u16)) {
    fn flip(v: u16, from_bit: u32, left: u32, f: &mut impl FnMut(u16)) {
        f(v);
        if left == 0 {
            return;
        }
        for bit in from_bit..CHUNK_BITS {
            flip(v ^ (1 << bit), bit + 1, left - 1, f);
        }
    }
    flip(v, 0, radius, f);
}

impl NearIndex {
    /// An empty index.
    pub fn new() -> Self {
        NearIndex {
            entries: Vec::new(),
            tables: (0..CHUNKS)
                .map(|_| vec![Bucket::default(); BUCKETS])
                .collect(),
        }
    }

    /// Number of stored hashes.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds `hash` for log entry `entry`. The same entry may be added with
    /// several hashes (a claim with several perceptual soft bindings).
    ///
    /// Panics only past 2^32 stored hashes (the dense ids are 32-bit).
    pub fn insert(&mut self, hash: u64, entry: u64) {
        let id = u32::try_from(self.entries.len()).unwrap_or_else(|_| {
            // 4 billion perceptual hashes is far beyond one log shard.
            panic!("near index is full (2^32 hashes)")
        });
        self.entries.push(entry);
        let s = spread(hash);
        for (k, table) in self.tables.iter_mut().enumerate() {
            let b = &mut table[usize::from(chunk(s, k))];
            b.hashes.push(s);
            b.ids.push(id);
        }
    }

    /// Every stored hash within Hamming distance `radius` (capped at
    /// [`MAX_RADIUS`]) of `query`, nearest first (ties by entry index), at
    /// most `limit` of them.
    pub fn search(&self, query: u64, radius: u32, limit: usize) -> Vec<NearMatch> {
        let radius = radius.min(MAX_RADIUS);
        let sub = radius / CHUNKS as u32;
        let original = query;
        let query = spread(query);
        let q_chunks: Vec<u16> = (0..CHUNKS).map(|k| chunk(query, k)).collect();
        let mut found = Vec::new();
        for (k, table) in self.tables.iter().enumerate() {
            for_each_within(q_chunks[k], sub, &mut |v| {
                let b = &table[usize::from(v)];
                for (i, &h) in b.hashes.iter().enumerate() {
                    let d = (h ^ query).count_ones();
                    if d > radius {
                        continue;
                    }
                    // Report each hash once: from the first table in which
                    // its chunk is within the chunk radius (it is probed
                    // there too, so it was found there).
                    let first =
                        (0..k).all(|j| (u32::from(chunk(h, j) ^ q_chunks[j]).count_ones()) > sub);
                    if first {
                        let id = b.ids[i] as usize;
                        found.push(NearMatch {
                            distance: d,
                            entry: self.entries[id],
                            hash: unspread(h),
                        });
                    }
                }
            });
        }
        found.sort_unstable();
        found.dedup();
        found.truncate(limit);
        debug_assert!(
            found
                .iter()
                .all(|m| (m.hash ^ original).count_ones() == m.distance)
        );
        found
    }
}

/// The inverse of [`spread`].
fn unspread(s: u64) -> u64 {
    let mut out = 0;
    for p in 0..64 {
        if s & (1 << spread_position(p)) != 0 {
            out |= 1 << p;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn brute(stored: &[(u64, u64)], q: u64, r: u32, limit: usize) -> Vec<NearMatch> {
        let r = r.min(MAX_RADIUS);
        let mut v: Vec<NearMatch> = stored
            .iter()
            .filter(|(h, _)| (h ^ q).count_ones() <= r)
            .map(|&(h, e)| NearMatch {
                distance: (h ^ q).count_ones(),
                entry: e,
                hash: h,
            })
            .collect();
        v.sort_unstable();
        v.dedup();
        v.truncate(limit);
        v
    }

    #[test]
    fn probe_counts_match_binomial_sums() {
        for (r, want) in [(0, 1), (1, 17), (2, 137), (3, 697), (4, 2517)] {
            let mut n = 0;
            let mut seen = std::collections::HashSet::new();
            for_each_within(0xbeef, r, &mut |v| {
                n += 1;
                seen.insert(v);
            });
            assert_eq!(n, want);
            assert_eq!(seen.len(), want, "no value probed twice");
        }
    }

    #[test]
    fn spread_is_a_distance_preserving_permutation() {
        let mut seen = std::collections::HashSet::new();
        for p in 0..64 {
            assert!(spread_position(p) < 64);
            assert!(seen.insert(spread_position(p)), "bit {p} collides");
        }
        // The high 40 bits land 10 per chunk.
        for k in 0..CHUNKS as u32 {
            let n = (24..64)
                .filter(|&p| spread_position(p) / CHUNK_BITS == k)
                .count();
            assert_eq!(n, 10);
        }
        let mut x = 0x0123_4567_89ab_cdefu64;
        for _ in 0..1000 {
            x = x.rotate_left(7) ^ x.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let y = x ^ x.rotate_right(13);
            assert_eq!(unspread(spread(x)), x);
            assert_eq!((spread(x) ^ spread(y)).count_ones(), (x ^ y).count_ones());
        }
    }

    #[test]
    fn empty_index_finds_nothing() {
        let idx = NearIndex::new();
        assert!(idx.search(0, MAX_RADIUS, 10).is_empty());
    }

    /// Flips `flips` distinct bits of `h` chosen by `seed`.
    fn perturb(h: u64, flips: u32, seed: u64) -> u64 {
        let mut out = h;
        let mut s = seed | 1;
        let mut done = 0;
        while done < flips {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let bit = 1u64 << (s % 64);
            if (out ^ h) & bit == 0 {
                out ^= bit;
                done += 1;
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The index answers exactly what a brute-force scan answers, for
        /// random hashes (full 64-bit, and 40-bit ones like provlog's
        /// perceptual hash), clusters of near hashes (including duplicates
        /// and one entry with several hashes), every radius and limit.
        #[test]
        fn search_equals_brute_force(
            base in proptest::collection::vec(
                prop_oneof![any::<u64>(), any::<u64>().prop_map(|h| h << 24)], 0..64),
            near in proptest::collection::vec((0usize..64, 0u32..24, any::<u64>()), 0..192),
            queries in proptest::collection::vec((any::<u64>(), 0usize..64, 0u32..24, any::<u64>()), 1..16),
            radius in 0u32..=24,
            limit in 1usize..300,
        ) {
            let mut stored: Vec<(u64, u64)> = Vec::new();
            for (i, &h) in base.iter().enumerate() {
                stored.push((h, i as u64));
            }
            if !base.is_empty() {
                for (j, &(which, flips, seed)) in near.iter().enumerate() {
                    let h = perturb(base[which % base.len()], flips, seed);
                    // Every 7th near hash belongs to an existing entry.
                    let entry = if j % 7 == 0 { (which % base.len()) as u64 } else { 1000 + j as u64 };
                    stored.push((h, entry));
                }
            }
            let mut idx = NearIndex::new();
            for &(h, e) in &stored {
                idx.insert(h, e);
            }
            prop_assert_eq!(idx.len(), stored.len());
            for &(rand_q, which, flips, seed) in &queries {
                // Half the queries are near a stored hash, half random.
                let q = if base.is_empty() || seed % 2 == 0 {
                    rand_q
                } else {
                    perturb(base[which % base.len()], flips, seed)
                };
                prop_assert_eq!(idx.search(q, radius, limit), brute(&stored, q, radius, limit));
            }
        }
    }
}
