//! Crash faults: when the core dies, what it takes with it, how it comes back, and what the
//! producers send again.
//!
//! A crash is taken before the first delivery that arrives at or after the fault's time. The
//! core dies without shutdown, and the effect lanes with it; a power crash then cuts the power
//! on the journal's files and on the effect log. The core is reopened from its journal (and
//! brings its effect log in line with it: cut past the journal, derived again where it lacks
//! effects), the ledger learns which records the journal lost, new lanes start from their
//! persisted cursors, and every delivery the core had not acknowledged is submitted again (at
//! the crash's simulated time), as producers that resend until acknowledged would.

use super::ingest::{Driver, Ready};
use super::{SimError, open_core};
use crate::report::{CrashReport, PowerCutReport};
use crate::rng::Rng;
use crate::scenario::{CrashMode, Fault, Scenario};
use std::collections::VecDeque;
use waybill_core::engine::CoreError;
use waybill_core::journal::Durability;
use waybill_core::journal::storage::PowerLoss;
use waybill_core::time::format_rfc3339_us;

/// One crash of the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Crash {
    pub at_us: i64,
    pub mode: CrashMode,
    /// Decides which pages a power cut keeps; drawn from the run's seed.
    pub power_seed: u64,
}

/// The crash faults of a scenario, in time order.
pub(super) struct CrashSchedule {
    crashes: VecDeque<Crash>,
}

impl CrashSchedule {
    /// The scenario's crashes. Each draws its power seed from the `fault/crash` stream, in
    /// the order of the file, so a seed reproduces every power cut.
    pub fn new(scenario: &Scenario, seed: u64) -> CrashSchedule {
        let mut rng = Rng::stream(seed, "fault/crash");
        let mut v: Vec<Crash> = scenario
            .faults
            .iter()
            .filter_map(|f| match *f {
                Fault::Crash { at_us, mode } => Some(Crash {
                    at_us: scenario.world.start_us + at_us,
                    mode,
                    power_seed: rng.next_u64(),
                }),
                _ => None,
            })
            .collect();
        v.sort_by_key(|c| c.at_us);
        CrashSchedule { crashes: v.into() }
    }

    /// The next crash, when a delivery arriving at `arrival_us` comes after it (one crash per
    /// delivery at most).
    pub fn due(&mut self, arrival_us: i64) -> Option<Crash> {
        if self.crashes.front().is_some_and(|c| arrival_us >= c.at_us) {
            self.crashes.pop_front()
        } else {
            None
        }
    }
}

impl Driver<'_> {
    /// The core dies here without shutdown (nothing more is flushed; a power crash then cuts
    /// the power on the journal's files), reopens from its journal, and what it had not
    /// acknowledged is delivered again.
    pub fn crash(&mut self, crash: Crash) -> Result<(), SimError> {
        // The producers hold every acknowledgement published until this instant (under
        // `group` the flusher raises the durable LSN between commits).
        if self.scenario.run.durability != Durability::None {
            let durable = self.core().journal().durable_lsn();
            self.acknowledge(durable)?;
        }
        self.out.effects.crash();
        self.core.take().expect("the core is open").crash();
        let power_cut = match crash.mode {
            CrashMode::Process => None,
            CrashMode::Power => Some(self.cut_power(crash.power_seed)?),
        };
        if let Some(files) = self.lying_disk.take() {
            files.restore(self.dir)?;
        }
        self.core = Some(open_core(self.dir, self.scenario, self.disk.clone())?);
        let lsn_after_reopen = self.core().machine().lsn();
        let cut = self.out.ledger.crash(lsn_after_reopen);
        let started = self.start_effects(crash.at_us)?;
        let lsn = self.core().machine().lsn();
        self.release.durable_through(lsn);
        self.out
            .effects
            .reopen(crash.at_us, lsn, started.effect_seq + 1)?;
        let again: Vec<Ready> = self.unacked.drain(..).map(|(_, r)| r).collect();
        self.out.crashes.push(CrashReport {
            at: format_rfc3339_us(crash.at_us),
            mode: crash.mode.as_str().to_string(),
            lsn_after_reopen,
            lost_acknowledged: cut.lost_acknowledged,
            lost_unacknowledged: cut.lost_unacknowledged,
            redelivered: again.len() as u64,
            power_cut,
            effects_cut: started.cut,
            effects_rederived: started.rederived,
        });
        for r in again {
            self.out.redelivered.push(r.index);
            self.submit(r, crash.at_us)?;
        }
        Ok(())
    }

    /// Rewrites the journal's files to what a power cut leaves: everything made durable, and
    /// of the rest a random choice of pages (by `seed`), one of them possibly torn; and the
    /// effect log's to what it had synced and a random prefix of the rest.
    fn cut_power(&self, seed: u64) -> Result<PowerCutReport, SimError> {
        let cut = self
            .disk
            .cut_power(self.dir, PowerLoss::Arbitrary { seed })
            .map_err(CoreError::from)?;
        let effects = self.out.effects.cut_power(seed)?;
        Ok(PowerCutReport {
            effect_log_bytes_unsynced: effects.bytes_unsynced,
            effect_log_bytes_lost: effects.bytes_lost,
            seed,
            pages_unflushed: cut.pages_unflushed,
            pages_kept: cut.pages_kept,
            pages_lost: cut.pages_lost,
            torn_at: cut.torn_at.map(|(file, offset)| format!("{file}+{offset}")),
        })
    }
}
