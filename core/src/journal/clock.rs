//! The clock group commit reads to decide when a flush is due. The journal never stores what
//! it reads (segment files hold no wall-clock time); it only paces flushes. Tests inject a
//! [`ManualClock`] so that "the interval has not passed yet" is a fact of the test, not a race
//! with the machine's speed.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A monotonic clock in microseconds from an arbitrary origin.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    fn now_us(&self) -> u64;

    /// The longest the flusher sleeps before it reads this clock again, however far the next
    /// flush is: a clock that moves by itself needs no extra look, a manual one does.
    fn recheck_after(&self) -> Option<Duration> {
        None
    }
}

/// The machine's monotonic clock.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock {
            origin: Instant::now(),
        }
    }
}

impl Clock for SystemClock {
    fn now_us(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_micros()).unwrap_or(u64::MAX)
    }
}

/// A clock that moves only when told to ([`ManualClock::advance`]), for tests.
#[derive(Debug, Default)]
pub struct ManualClock {
    now_us: AtomicU64,
}

impl ManualClock {
    pub fn new() -> ManualClock {
        ManualClock::default()
    }

    /// Moves the clock forward by `us` microseconds.
    pub fn advance(&self, us: u64) {
        self.now_us.fetch_add(us, Ordering::AcqRel);
    }
}

/// How often a flusher waiting on a [`ManualClock`] looks at it again.
const MANUAL_RECHECK: Duration = Duration::from_millis(1);

impl Clock for ManualClock {
    fn now_us(&self) -> u64 {
        self.now_us.load(Ordering::Acquire)
    }

    fn recheck_after(&self) -> Option<Duration> {
        Some(MANUAL_RECHECK)
    }
}
