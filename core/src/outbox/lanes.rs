//! [`Outbox`]: the eight lanes of a journal's effects, opened together under the delivery lock,
//! for a driver that polls them itself (the simulator, single-threaded in simulated time; the
//! threaded [`super::Delivery`] takes them apart into one thread each).

use super::config::SinksConfig;
use super::lane::{Lane, LaneConfig};
use super::lock::{self, Lock};
use super::retention::{self, Retained};
use super::status::LaneStatus;
use super::{LaneId, OutboxError, effects_dir};
use crate::effect::{Class, Downstream};
use std::path::{Path, PathBuf};

/// The eight lanes of a journal's effects, opened together under the delivery lock, for a
/// driver that polls them itself ([`Lane::poll`]) instead of running [`super::Delivery`].
///
/// Only one deliverer per journal: opening fails with [`OutboxError::Locked`] while another
/// holds the lock, which is held until the `Outbox` is dropped. The driver calls
/// [`Outbox::persist`] when it stops and [`Outbox::retain`] now and then to delete the log
/// segments every lane has passed.
pub struct Outbox {
    dir: PathBuf,
    lanes: Vec<Lane>,
    lock: Lock,
}

impl Outbox {
    /// Opens the lanes of the journal in `journal_dir`, each configured as its sink is in
    /// `config` (a sink not configured gets the defaults; its lanes are polled without a sink).
    /// Takes the delivery lock: one deliverer per journal.
    pub fn open(
        journal_dir: &Path,
        config: &SinksConfig,
        seed: u64,
    ) -> Result<Outbox, OutboxError> {
        config.validate()?;
        let configs = LaneId::all().map(|l| {
            config
                .slot(l.sink)
                .as_ref()
                .map(LaneConfig::from_sink)
                .unwrap_or_default()
        });
        Outbox::open_with(journal_dir, configs, seed)
    }

    /// [`Self::open`] with a configuration per lane, in [`LaneId::index`] order.
    pub fn open_with(
        journal_dir: &Path,
        configs: [LaneConfig; LaneId::COUNT],
        seed: u64,
    ) -> Result<Outbox, OutboxError> {
        let dir = effects_dir(journal_dir);
        let lock = lock::delivery_lock(&dir)?;
        let mut lanes = Vec::with_capacity(LaneId::COUNT);
        for (id, cfg) in LaneId::all().into_iter().zip(configs) {
            lanes.push(Lane::open(&dir, id, cfg, seed)?);
        }
        Ok(Outbox { dir, lanes, lock })
    }

    /// `<journal>/effects`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Lane `id`.
    pub fn lane(&self, id: LaneId) -> &Lane {
        &self.lanes[id.index()]
    }

    /// Lane `id`, to poll it.
    pub fn lane_mut(&mut self, id: LaneId) -> &mut Lane {
        &mut self.lanes[id.index()]
    }

    /// Every lane, in [`LaneId::index`] order.
    pub fn lanes_mut(&mut self) -> &mut [Lane] {
        &mut self.lanes
    }

    /// Makes the dead letters of both lanes of `sink` pending again. Returns how many.
    pub fn redrive(&mut self, sink: Downstream) -> Result<u64, OutboxError> {
        let mut n = 0;
        for class in Class::ALL {
            n += self.lane_mut(LaneId::new(sink, class)).redrive()?;
        }
        Ok(n)
    }

    /// Persists every lane's position that changed.
    pub fn persist(&mut self, now_us: i64) -> Result<(), OutboxError> {
        for lane in &mut self.lanes {
            lane.persist(now_us)?;
        }
        Ok(())
    }

    /// Deletes the log segments every lane's persisted cursor has passed (lanes no effect
    /// type travels in do not count).
    pub fn retain(&self) -> Result<Retained, OutboxError> {
        let through = LaneId::in_use()
            .iter()
            .map(|l| self.lane(*l).persisted_position().cursor_seq)
            .min()
            .expect("lanes in use");
        retention::delete_acknowledged(&self.dir, through)
    }

    /// Every lane's status at `now_us`, in [`LaneId::index`] order.
    pub fn status(&self, now_us: i64) -> Vec<LaneStatus> {
        self.lanes.iter().map(|l| l.status(now_us)).collect()
    }

    pub(crate) fn into_parts(self) -> (PathBuf, Vec<Lane>, Lock) {
        (self.dir, self.lanes, self.lock)
    }
}
