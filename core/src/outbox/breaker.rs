//! A lane's circuit breaker: stop calling a sink that keeps failing, and probe it after a
//! cool-down.
//!
//! - **Closed**: calls go out; `failure_threshold` consecutive failed calls open it.
//! - **Open**: no call goes out until `cool_down` has passed since it opened.
//! - **Half-open**: after the cool-down, one probe (a batch of one effect) goes out: success
//!   closes the breaker, failure opens it again for another cool-down.
//!
//! Only calls made while closed use up an effect's attempts (`lane.rs`): a sink that is down
//! for an hour makes its lanes wait, probing once per cool-down, and catch up when it returns,
//! instead of dead-lettering everything. A permanent refusal is an answer, not an outage: it
//! counts as a success here.

/// Where a lane's circuit breaker stands (docs/effects.md, the circuit breaker).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Every batch goes out; `failure_threshold` consecutive failed deliveries open it.
    Closed,
    /// Nothing goes out until `cool_down` has passed since it opened.
    Open,
    /// The cool-down passed: one probe (a batch of one effect) goes out; its success closes
    /// the breaker, its failure opens it for another cool-down.
    HalfOpen,
}

impl BreakerState {
    /// The state's name: `closed`, `open` or `half-open`.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
        }
    }

    /// The inverse of [`Self::as_str`].
    pub fn parse(s: &str) -> Option<BreakerState> {
        [
            BreakerState::Closed,
            BreakerState::Open,
            BreakerState::HalfOpen,
        ]
        .into_iter()
        .find(|b| b.as_str() == s)
    }
}

/// A lane's circuit breaker: counts consecutive failures and says whether calls may go out.
#[doc(hidden)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Breaker {
    failure_threshold: u32,
    cool_down_us: i64,
    consecutive_failures: u32,
    /// While open (or half-open): when the cool-down ends.
    open_until_us: Option<i64>,
    /// Times it opened (from closed).
    trips: u64,
}

impl Breaker {
    pub fn new(failure_threshold: u32, cool_down_us: i64) -> Breaker {
        assert!(failure_threshold >= 1 && cool_down_us >= 1);
        Breaker {
            failure_threshold,
            cool_down_us,
            consecutive_failures: 0,
            open_until_us: None,
            trips: 0,
        }
    }

    pub fn state(&self, now_us: i64) -> BreakerState {
        match self.open_until_us {
            None => BreakerState::Closed,
            Some(t) if now_us < t => BreakerState::Open,
            Some(_) => BreakerState::HalfOpen,
        }
    }

    /// While open: when the next probe may go out.
    pub fn open_until_us(&self) -> Option<i64> {
        self.open_until_us
    }

    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    /// How many times it opened from closed.
    pub fn trips(&self) -> u64 {
        self.trips
    }

    /// A call (or probe) succeeded, or the sink answered with a refusal: closed.
    pub fn on_success(&mut self) {
        self.consecutive_failures = 0;
        self.open_until_us = None;
    }

    /// A call failed at `now_us`. Returns whether the breaker is open now.
    pub fn on_failure(&mut self, now_us: i64) -> bool {
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        let was_closed = self.open_until_us.is_none();
        if !was_closed || self.consecutive_failures >= self.failure_threshold {
            self.trips += u64::from(was_closed);
            self.open_until_us = Some(now_us.saturating_add(self.cool_down_us));
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_the_threshold_probes_after_the_cool_down_and_closes_on_success() {
        let mut b = Breaker::new(3, 1_000);
        assert!(!b.on_failure(0));
        assert!(!b.on_failure(1));
        assert_eq!(b.state(1), BreakerState::Closed);
        assert!(b.on_failure(2));
        assert_eq!(b.state(2), BreakerState::Open);
        assert_eq!(b.state(1_001), BreakerState::Open);
        assert_eq!(b.state(1_002), BreakerState::HalfOpen);
        // A failed probe opens it again for a whole cool-down.
        assert!(b.on_failure(1_500));
        assert_eq!(b.state(2_499), BreakerState::Open);
        assert_eq!(b.state(2_500), BreakerState::HalfOpen);
        b.on_success();
        assert_eq!(b.state(2_500), BreakerState::Closed);
        assert_eq!(b.trips(), 1);
        // A success in between resets the count.
        b.on_failure(3_000);
        b.on_failure(3_001);
        b.on_success();
        assert!(!b.on_failure(3_002));
    }
}
