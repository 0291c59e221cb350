//! Per-vendor-key token-bucket rate limiting.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Token buckets keyed by vendor vkey.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Most keys tracked before idle full buckets are dropped, so a flood of
/// distinct keys cannot grow the map without bound.
const MAX_TRACKED_KEYS: usize = 100_000;

impl RateLimiter {
    /// `rate` claims per second with `burst` claims of slack; rate 0 disables.
    pub fn new(rate: f64, burst: f64) -> Self {
        RateLimiter {
            rate,
            burst: burst.max(rate).max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Whether limiting is on.
    pub fn enabled(&self) -> bool {
        self.rate > 0.0
    }

    /// Takes `n` tokens for `key`, or says how many seconds until they
    /// would be available. Taking nothing on refusal keeps a refused
    /// request from costing the vendor anything.
    pub fn take(&self, key: &str, n: usize) -> Result<(), u64> {
        if !self.enabled() {
            return Ok(());
        }
        let now = Instant::now();
        let want = n as f64;
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_TRACKED_KEYS && !buckets.contains_key(key) {
            let (rate, burst) = (self.rate, self.burst);
            buckets
                .retain(|_, b| b.tokens + now.duration_since(b.last).as_secs_f64() * rate < burst);
        }
        let b = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: self.burst,
            last: now,
        });
        b.tokens =
            (b.tokens + now.duration_since(b.last).as_secs_f64() * self.rate).min(self.burst);
        b.last = now;
        if want > self.burst {
            // Can never be satisfied in one go: ask for a smaller request.
            return Err(u64::MAX);
        }
        if b.tokens >= want {
            b.tokens -= want;
            Ok(())
        } else {
            Err(((want - b.tokens) / self.rate).ceil().max(1.0) as u64)
        }
    }

    /// Gives back `n` tokens taken for `key` by a request that was refused
    /// after them (pool full, another key refused, shutting down, nothing
    /// logged), so a refused request costs nothing. Never above the burst.
    pub fn refund(&self, key: &str, n: usize) {
        if !self.enabled() || n == 0 {
            return;
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = buckets.get_mut(key) {
            b.tokens = (b.tokens + n as f64).min(self.burst);
        }
    }

    /// Tokens `key` has now (a full bucket if it was never seen).
    pub fn available(&self, key: &str) -> f64 {
        if !self.enabled() {
            return f64::INFINITY;
        }
        let now = Instant::now();
        let buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        buckets.get(key).map_or(self.burst, |b| {
            (b.tokens + now.duration_since(b.last).as_secs_f64() * self.rate).min(self.burst)
        })
    }

    /// The configured burst, in claims.
    pub fn burst(&self) -> f64 {
        self.burst
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refuse_then_other_key_unaffected() {
        let rl = RateLimiter::new(1.0, 5.0);
        for _ in 0..5 {
            assert!(rl.take("a", 1).is_ok());
        }
        let wait = rl.take("a", 1).expect_err("bucket empty");
        assert!(wait >= 1);
        assert!(rl.take("b", 5).is_ok());
        assert_eq!(rl.take("b", 6), Err(u64::MAX));
    }

    #[test]
    fn refunds_restore_tokens_up_to_the_burst() {
        // A rate so low that refilling during the test is negligible.
        let rl = RateLimiter::new(1e-9, 10.0);
        assert!(rl.take("a", 7).is_ok());
        assert!(rl.available("a") < 3.01);
        rl.refund("a", 7);
        assert!(rl.available("a") > 9.99);
        rl.refund("a", 100);
        assert!(rl.available("a") <= 10.0);
        // A key never seen has nothing to refund and a full bucket.
        rl.refund("b", 3);
        assert!(rl.available("b") > 9.99 && rl.available("b") <= 10.0);
    }

    #[test]
    fn disabled_never_refuses() {
        let rl = RateLimiter::new(0.0, 0.0);
        assert!(rl.take("a", 1_000_000).is_ok());
    }
}
