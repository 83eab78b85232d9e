//! Crash faults: when the core dies, how it comes back, and what the producers send again.
//!
//! A crash is taken before the first delivery that arrives at or after the fault's time. The
//! core dies without shutdown, is reopened from its journal, and every delivery it had not
//! acknowledged is submitted again (at the crash's simulated time), as producers that resend
//! until acknowledged would.

use super::ingest::{Driver, Ready};
use super::{SimError, journal_options};
use crate::report::CrashReport;
use crate::scenario::{Fault, Scenario};
use std::collections::VecDeque;
use waybill_core::engine::Core;
use waybill_core::time::format_rfc3339_us;

/// The crash faults of a scenario, in time order.
pub(super) struct CrashSchedule {
    at_us: VecDeque<i64>,
}

impl CrashSchedule {
    pub fn new(scenario: &Scenario) -> CrashSchedule {
        let mut v: Vec<i64> = scenario
            .faults
            .iter()
            .filter_map(|f| match f {
                Fault::Crash { at_us } => Some(scenario.world.start_us + at_us),
                _ => None,
            })
            .collect();
        v.sort_unstable();
        CrashSchedule { at_us: v.into() }
    }

    /// The next crash, when a delivery arriving at `arrival_us` comes after it (one crash per
    /// delivery at most).
    pub fn due(&mut self, arrival_us: i64) -> Option<i64> {
        if self.at_us.front().is_some_and(|&t| arrival_us >= t) {
            self.at_us.pop_front()
        } else {
            None
        }
    }
}

impl Driver<'_> {
    /// The core dies here without shutdown (no commit, no flush), reopens from its journal,
    /// and what it had not acknowledged is delivered again.
    pub fn crash(&mut self, at_us: i64) -> Result<(), SimError> {
        drop(self.core.take());
        self.core = Some(Core::open(self.dir, journal_options(self.scenario))?);
        let lsn_after_reopen = self.core().machine().lsn;
        let again: Vec<Ready> = self.unacked.drain(..).map(|(_, r)| r).collect();
        self.out.crashes.push(CrashReport {
            at: format_rfc3339_us(at_us),
            lsn_after_reopen,
            redelivered: again.len() as u64,
        });
        for r in again {
            self.out.redelivered.push(r.index);
            self.submit(r, at_us)?;
        }
        Ok(())
    }
}
