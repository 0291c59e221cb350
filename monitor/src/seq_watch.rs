//! The per-vendor sequence watch (spec/monitor.md, "Sequence watch";
//! spec/claim.md §3.9): claims that carry `seq` are numbered per vendor key
//! (`provlog submit` takes the numbers from the key's counter), so a
//! repeated number or a number that never appears is worth an alert.
//!
//! - **Repeat**: a claim whose (vendor key, seq) an earlier entry of the log
//!   already carried: alerted at once.
//! - **Gap**: numbers missing between the smallest and the largest a key
//!   has used. Claims of one run are sent concurrently, so a gap may close
//!   a few entries later; one is alerted only if part of it is still
//!   missing once the log has grown by `grace` entries past the entry that
//!   opened it (deterministic: counted in entries, not time). Numbers below
//!   a key's first one are not a gap (the key may have started elsewhere).
//!
//! Cost: per key, the numbers seen as a set of ranges (one range for a
//! vendor numbering densely). Bounded: at most [`MAX_RANGES`] ranges in
//! all and [`MAX_OPEN_GAPS`] gaps waiting; past either the watch stops for
//! this log (in this run) and says so once.

use std::collections::{BTreeMap, HashMap, VecDeque};

/// Ranges of seen numbers kept, over all keys of one log.
pub const MAX_RANGES: usize = 1_000_000;
/// Gaps waiting for their grace to pass.
pub const MAX_OPEN_GAPS: usize = 100_000;
/// Missing ranges listed in one gap alert.
pub const MAX_LISTED: usize = 16;

/// What one claim told the watch.
#[derive(Debug, PartialEq, Eq)]
pub enum Finding {
    /// `seq` was used before by this key.
    Repeat {
        /// The vendor key.
        kid: String,
        /// The number.
        seq: u64,
    },
    /// Numbers still missing `grace` entries after `opened_at`.
    Gap {
        /// The vendor key.
        kid: String,
        /// Missing ranges `[start, end)` (at most [`MAX_LISTED`]).
        missing: Vec<(u64, u64)>,
        /// The entry whose number opened the gap.
        opened_at: u64,
    },
    /// The watch stopped: too many ranges or open gaps.
    Stopped(String),
}

/// Seen numbers of one key: start -> end (exclusive), disjoint, not touching.
#[derive(Default)]
struct Ranges(BTreeMap<u64, u64>);

impl Ranges {
    fn contains(&self, n: u64) -> bool {
        self.0.range(..=n).next_back().is_some_and(|(_, &e)| n < e)
    }

    /// Inserts `n` (not contained); returns the change in range count.
    fn insert(&mut self, n: u64) -> isize {
        let before = self
            .0
            .range(..n)
            .next_back()
            .filter(|&(_, &e)| e == n)
            .map(|(&s, _)| s);
        let after = n.checked_add(1).filter(|a| self.0.contains_key(a));
        match (before, after) {
            (Some(s), Some(a)) => {
                let e = self.0.remove(&a).unwrap_or(a);
                self.0.insert(s, e);
                -1
            }
            (Some(s), None) => {
                self.0.insert(s, n + 1);
                0
            }
            (None, Some(a)) => {
                let e = self.0.remove(&a).unwrap_or(a);
                self.0.insert(n, e);
                0
            }
            (None, None) => {
                self.0.insert(n, n.saturating_add(1));
                1
            }
        }
    }

    fn max_end(&self) -> Option<u64> {
        self.0.values().next_back().copied()
    }

    /// The parts of `[a, b)` not seen.
    fn missing(&self, a: u64, b: u64) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut at = a;
        if let Some((_, &e)) = self.0.range(..=a).next_back() {
            at = at.max(e);
        }
        for (&s, &e) in self.0.range(a..b) {
            if s > at {
                out.push((at, s));
                if out.len() == MAX_LISTED {
                    return out;
                }
            }
            at = at.max(e);
        }
        if at < b {
            out.push((at, b));
        }
        out
    }
}

/// The watch of one log.
pub struct SeqWatch {
    grace: u64,
    keys: HashMap<String, Ranges>,
    ranges: usize,
    /// (entry that opened it, key, [a, b)), in entry order.
    open: VecDeque<(u64, String, u64, u64)>,
    stopped: bool,
}

impl SeqWatch {
    /// A watch alerting gaps still open `grace` entries after they opened.
    pub fn new(grace: u64) -> Self {
        SeqWatch {
            grace,
            keys: HashMap::new(),
            ranges: 0,
            open: VecDeque::new(),
            stopped: false,
        }
    }

    /// Feeds entry `index` (every entry, in log order; `claim` is `(kid,
    /// seq)` of a valid claim that carries one) and returns what it found:
    /// a repeat of this claim, and gaps whose grace ended at this entry.
    pub fn entry(&mut self, index: u64, claim: Option<(&str, u64)>) -> Vec<Finding> {
        let mut found = Vec::new();
        if self.stopped {
            return found;
        }
        if let Some((kid, seq)) = claim {
            let ranges = self.keys.entry(kid.to_string()).or_default();
            if ranges.contains(seq) {
                found.push(Finding::Repeat {
                    kid: kid.to_string(),
                    seq,
                });
            } else {
                if let Some(end) = ranges.max_end().filter(|&e| seq > e) {
                    self.open.push_back((index, kid.to_string(), end, seq));
                }
                let delta = ranges.insert(seq);
                self.ranges = self.ranges.saturating_add_signed(delta);
            }
        }
        while let Some((opened, ..)) = self.open.front() {
            if opened.saturating_add(self.grace) > index {
                break;
            }
            let Some((opened, kid, a, b)) = self.open.pop_front() else {
                break;
            };
            let missing = self
                .keys
                .get(&kid)
                .map(|r| r.missing(a, b))
                .unwrap_or_default();
            if !missing.is_empty() {
                found.push(Finding::Gap {
                    kid,
                    missing,
                    opened_at: opened,
                });
            }
        }
        if self.ranges > MAX_RANGES || self.open.len() > MAX_OPEN_GAPS {
            self.stopped = true;
            self.keys.clear();
            self.open.clear();
            found.push(Finding::Stopped(format!(
                "more than {MAX_RANGES} sequence ranges or {MAX_OPEN_GAPS} open gaps: \
                 the sequence watch of this log stops until the monitor restarts"
            )));
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn repeats_at_once_gaps_after_the_grace() {
        let mut w = SeqWatch::new(3);
        assert!(w.entry(0, Some(("k", 0))).is_empty());
        assert!(w.entry(1, Some(("k", 2))).is_empty()); // opens [1, 2)
        assert!(w.entry(2, None).is_empty());
        assert!(w.entry(3, Some(("j", 7))).is_empty()); // another key
        assert_eq!(
            w.entry(4, Some(("k", 0))),
            vec![
                Finding::Repeat {
                    kid: "k".into(),
                    seq: 0
                },
                Finding::Gap {
                    kid: "k".into(),
                    missing: vec![(1, 2)],
                    opened_at: 1
                }
            ]
        );
        // A gap filled within its grace is no finding.
        assert!(w.entry(5, Some(("k", 5))).is_empty()); // opens [3, 5)
        assert!(w.entry(6, Some(("k", 3))).is_empty());
        assert!(w.entry(7, Some(("k", 4))).is_empty());
        assert!(w.entry(8, None).is_empty());
        assert!(w.entry(100, None).is_empty());
    }

    proptest! {
        /// Against a plain model: repeats are exactly the numbers seen
        /// before; with an unbounded grace nothing is a gap, with grace 0
        /// the reported missing numbers are exactly those between a key's
        /// previous maximum and the number that jumped past it.
        #[test]
        fn agrees_with_a_model(claims in proptest::collection::vec((0u8..3, 0u64..40), 0..200)) {
            let mut w = SeqWatch::new(u64::MAX);
            let mut now = SeqWatch::new(0);
            let mut seen: HashMap<u8, std::collections::BTreeSet<u64>> = HashMap::new();
            for (i, (k, s)) in claims.iter().enumerate() {
                let kid = format!("k{k}");
                let set = seen.entry(*k).or_default();
                let max_end = set.iter().next_back().map(|m| m + 1);
                let repeat = !set.insert(*s);
                let got = w.entry(i as u64, Some((&kid, *s)));
                let want: Vec<Finding> = if repeat {
                    vec![Finding::Repeat { kid: kid.clone(), seq: *s }]
                } else {
                    vec![]
                };
                prop_assert_eq!(got, want);
                let got_now = now.entry(i as u64, Some((&kid, *s)));
                let gaps: Vec<&Finding> = got_now.iter().filter(|f| matches!(f, Finding::Gap { .. })).collect();
                match max_end.filter(|&e| !repeat && *s > e) {
                    Some(e) => {
                        let want = Finding::Gap { kid: kid.clone(), missing: vec![(e, *s)], opened_at: i as u64 };
                        prop_assert_eq!(gaps, vec![&want]);
                    }
                    None => prop_assert!(gaps.is_empty()),
                }
            }
        }
    }

    #[test]
    fn a_hostile_numbering_is_bounded() {
        let mut w = SeqWatch::new(u64::MAX);
        let mut stopped = 0;
        // Every other number: one range each, and a gap each.
        for i in 0..(MAX_OPEN_GAPS as u64 + 2) {
            for f in w.entry(i, Some(("k", i * 2))) {
                assert!(matches!(f, Finding::Stopped(_)), "{f:?}");
                stopped += 1;
            }
        }
        assert_eq!(stopped, 1);
        assert!(w.entry(u64::MAX - 1, Some(("k", 1))).is_empty(), "stopped");
    }
}
