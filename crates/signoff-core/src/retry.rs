//! How Signoff waits between attempts at a remote call (a model endpoint, an upstream hub, an
//! outbound action): exponential backoff with full jitter, a server's `Retry-After` honoured up
//! to a cap, and one rule for which HTTP answers are worth another attempt. Every retry loop
//! uses these, so they all behave alike; the loops themselves (async or blocking, with their
//! own deadlines and cancellation) stay with their callers.

use chrono::{DateTime, Utc};
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// Whether an HTTP status may succeed if asked again: 408, 429 and every 5xx.
pub fn retryable_status(status: u16) -> bool {
    status == 408 || status == 429 || (500..600).contains(&status)
}

/// A `Retry-After` header value as a wait: delay-seconds, or an HTTP date (a date already past
/// is no wait). `None` when it is neither.
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let v = value.trim();
    if let Ok(s) = v.parse::<u64>() {
        return Some(Duration::from_secs(s));
    }
    let at = DateTime::parse_from_rfc2822(v).ok()?;
    let ms = (at.with_timezone(&Utc) - now).num_milliseconds().max(0) as u64;
    // Whole seconds, rounded up: the server named a second, not an instant within it.
    Some(Duration::from_secs(ms.div_ceil(1000)))
}

/// Exponential backoff with full jitter: before retry `n` (the second attempt is retry 1) wait
/// a uniform time in `[0, min(max, base·2^(n-1))]`, or a server's `Retry-After` when that is
/// longer (capped at `max_retry_after`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The bound before the first retry; it doubles with each retry.
    pub base: Duration,
    /// The largest bound.
    pub max: Duration,
    /// The longest wait a server's `Retry-After` may impose (a caller with a deadline may set
    /// this high and give up when the wait would cross the deadline).
    pub max_retry_after: Duration,
}

impl Backoff {
    /// The upper bound of the jittered wait before retry `retry` (≥ 1).
    pub fn bound(&self, retry: u32) -> Duration {
        self.base
            .saturating_mul(1u32 << retry.max(1).saturating_sub(1).min(20))
            .min(self.max)
    }

    /// The wait before retry `retry` (≥ 1).
    pub fn wait(&self, retry: u32, retry_after: Option<Duration>, jitter: &mut Jitter) -> Duration {
        let w = jitter.upto(self.bound(retry));
        match retry_after {
            Some(ra) => w.max(ra.min(self.max_retry_after)),
            None => w,
        }
    }
}

/// A small xorshift generator for spreading waits (jitter needs spread, not secrecy).
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    /// A generator from a seed (tests pass a fixed one).
    pub fn new(seed: u64) -> Self {
        Jitter(seed | 1)
    }

    /// A generator seeded from the standard library's per-process random hash keys, so clients
    /// started together do not retry in step.
    pub fn from_entropy() -> Self {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0x9e37_79b9_7f4a_7c15);
        Jitter::new(h.finish())
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A uniform duration in `[0, bound]` (microsecond steps).
    pub fn upto(&mut self, bound: Duration) -> Duration {
        let b = bound.as_micros().min(u64::MAX as u128 - 1) as u64;
        Duration::from_micros(if b == 0 { 0 } else { self.next() % (b + 1) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Backoff = Backoff {
        base: Duration::from_millis(100),
        max: Duration::from_millis(1000),
        max_retry_after: Duration::from_millis(2500),
    };

    #[test]
    fn waits_stay_within_the_doubling_bound_and_spread_over_it() {
        let mut j = Jitter::new(12345);
        for retry in 1..10 {
            let bound = (100u64 << (retry - 1)).min(1000);
            assert_eq!(B.bound(retry), Duration::from_millis(bound));
            let waits: Vec<u64> = (0..200)
                .map(|_| B.wait(retry, None, &mut j).as_millis() as u64)
                .collect();
            assert!(waits.iter().all(|w| *w <= bound), "retry {retry}");
            assert!(
                waits.iter().any(|w| *w < bound / 2) && waits.iter().any(|w| *w > bound / 2),
                "retry {retry}: {waits:?}"
            );
        }
        assert_eq!(B.bound(0), B.bound(1));
        assert_eq!(B.bound(u32::MAX), B.max);
    }

    #[test]
    fn retry_after_is_a_floor_up_to_its_cap() {
        let mut j = Jitter::new(7);
        let ra = Some(Duration::from_millis(2000));
        assert!(B.wait(1, ra, &mut j) == Duration::from_millis(2000));
        let long = Some(Duration::from_secs(60));
        assert_eq!(B.wait(1, long, &mut j), Duration::from_millis(2500));
    }

    #[test]
    fn generators_from_entropy_differ() {
        let a: Vec<u64> = (0..4).map(|_| Jitter::from_entropy().next()).collect();
        assert!(a.windows(2).any(|w| w[0] != w[1]), "{a:?}");
    }

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        let now: DateTime<Utc> = "2026-11-26T08:00:00Z".parse().unwrap();
        assert_eq!(retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after("Thu, 26 Nov 2026 08:00:03 GMT", now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after("Thu, 26 Nov 2026 07:59:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-3", now), None);
    }

    #[test]
    fn only_transient_answers_are_retried() {
        for s in [408, 429, 500, 502, 503, 599] {
            assert!(retryable_status(s), "{s}");
        }
        for s in [200, 301, 400, 401, 404, 409, 422, 600] {
            assert!(!retryable_status(s), "{s}");
        }
    }
}
