//! Retry timing: exponential backoff with jitter, from a seeded RNG of our own so the same seed
//! gives the same delays on every platform and with every dependency version.
//!
//! The delay before attempt `n + 1` (after `n` failed attempts) is
//! `base = min(backoff_initial * 2^(n-1), backoff_max)`, less a random share of it:
//! `base - base * jitter * u`, `u` uniform in [0, 1). So `jitter = 0` is plain exponential
//! backoff, `jitter = 1` is "full jitter" (uniform in (0, base]); a delay never exceeds
//! `backoff_max`. Jitter spreads the retries of many lanes (and of many Waybill instances) so a
//! recovering receiver is not hit by all of them at the same instant.

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, fast, well-mixed 64-bit generator.
#[doc(hidden)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Parts per million in which jitter is held (integer arithmetic: no float in the delays).
const PPM: u64 = 1_000_000;

/// How often and how patiently a lane retries (docs/effects.md, retries): the
/// [`RetryConfig`](super::RetryConfig) of a sink in integer units.
///
/// After `n` failed attempts the lane waits `base = min(backoff_initial_us x 2^(n-1),
/// backoff_max_us)` less a random share of it, at most `base x jitter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts (while the breaker is closed) after which an effect is dead-lettered; >= 1.
    pub max_attempts: u32,
    /// The wait after the first failure, in µs; >= 1.
    pub backoff_initial_us: i64,
    /// The longest wait, in µs; at least `backoff_initial_us`.
    pub backoff_max_us: i64,
    /// The share of a delay that may be taken off at random, in parts per million (0 to
    /// 1,000,000).
    pub jitter_ppm: u32,
}

impl RetryPolicy {
    /// The delay after `failed_attempts` (>= 1) failed attempts, in µs (>= 1).
    #[doc(hidden)]
    pub fn delay_us(&self, failed_attempts: u32, rng: &mut SplitMix64) -> i64 {
        debug_assert!(failed_attempts >= 1);
        debug_assert!(
            0 < self.backoff_initial_us && self.backoff_initial_us <= self.backoff_max_us
        );
        debug_assert!(u64::from(self.jitter_ppm) <= PPM);
        let doublings = failed_attempts.saturating_sub(1).min(62);
        let base = (self.backoff_initial_us as u64)
            .checked_shl(doublings)
            .filter(|b| b >> doublings == self.backoff_initial_us as u64)
            .unwrap_or(u64::MAX)
            .min(self.backoff_max_us as u64);
        let u = rng.next_u64() >> 32; // uniform in [0, 2^32)
        let off = (u128::from(base) * u128::from(self.jitter_ppm) * u128::from(u)
            / (u128::from(PPM) << 32)) as u64;
        debug_assert!(off <= base);
        (base - off).max(1) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(jitter_ppm: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts: 10,
            backoff_initial_us: 100_000,
            backoff_max_us: 1_000_000,
            jitter_ppm,
        }
    }

    #[test]
    fn without_jitter_the_delay_doubles_up_to_the_maximum() {
        let mut rng = SplitMix64::new(1);
        let delays: Vec<i64> = (1..=7).map(|n| policy(0).delay_us(n, &mut rng)).collect();
        assert_eq!(
            delays,
            [
                100_000, 200_000, 400_000, 800_000, 1_000_000, 1_000_000, 1_000_000
            ]
        );
        assert_eq!(policy(0).delay_us(u32::MAX, &mut rng), 1_000_000);
    }

    #[test]
    fn jitter_stays_within_its_share_and_follows_the_seed() {
        let p = policy(250_000);
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        let mut seen = std::collections::BTreeSet::new();
        for n in 1..200 {
            let d = p.delay_us(n % 6 + 1, &mut a);
            assert_eq!(d, p.delay_us(n % 6 + 1, &mut b), "same seed, same delays");
            let base = (100_000i64 << (n % 6)).min(1_000_000);
            assert!(d <= base && d >= base * 3 / 4, "{d} of {base}");
            seen.insert(d);
        }
        assert!(seen.len() > 100, "jitter varies the delays");
        let full = policy(1_000_000).delay_us(1, &mut a);
        assert!((1..=100_000).contains(&full));
    }

    #[test]
    fn splitmix_matches_its_reference_outputs() {
        // The first outputs for seed 0 of the reference implementation.
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(r.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    }
}
