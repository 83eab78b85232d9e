//! The effects path of `waybill bench`: the pipeline again with effects kept (each batch's
//! effects rendered and appended to the outbox), then every effect of that run delivered to
//! file sinks by the outbox's own lanes on one thread.

use super::{eps, paths};
use std::path::Path;
use std::time::Instant;
use waybill_core::effect::Downstream;
use waybill_core::engine::Core;
use waybill_core::event::Entry;
use waybill_core::journal::JournalOptions;
use waybill_core::outbox::{LaneId, NEVER, Outbox, Sink, SinksConfig, sink};

/// What the effects path measured.
pub struct EffectsRun {
    /// `pipeline_eps` with effects kept in the outbox.
    pub pipeline_eps: f64,
    /// Effects the run derived.
    pub derived: u64,
    /// Effects delivered per second to file sinks (read from the log, batched, written).
    pub deliver_eps: f64,
}

/// Most effects per sink call: the largest batch a configuration allows, as a busy sink gets.
const DELIVER_BATCH: usize = 10_000;

pub fn run(entries: &[Entry], dir: &Path, opts: JournalOptions) -> EffectsRun {
    let mut core = Core::open(dir, opts).expect("open journal");
    core.start_effects().expect("start effects");
    let t0 = Instant::now();
    let mut core = paths::feed(core, entries, 0);
    core.flush().expect("flush");
    let pipeline_eps = eps(entries.len(), t0.elapsed().as_secs_f64());
    let derived = core.machine().effect_seq();
    let lsn = core.machine().lsn();
    core.close().expect("close");
    let deliver_eps = deliver(dir, derived, lsn);
    EffectsRun {
        pipeline_eps,
        derived,
        deliver_eps,
    }
}

/// Delivers every effect of the journal in `dir` (its last seq `derived`) to one file per
/// sink, polling the lanes on this thread with a clock that only moves forward.
fn deliver(dir: &Path, derived: u64, lsn: u64) -> f64 {
    let mut text = String::new();
    for s in Downstream::ALL {
        let path = dir.join(format!("{s}.jsonl"));
        text += &format!(
            "[{s}]\nkind = \"file\"\npath = {:?}\nfsync = false\nbatch_max = {DELIVER_BATCH}\n",
            path.display().to_string()
        );
    }
    let config: SinksConfig = toml::from_str(&text).expect("a valid sinks table");
    let mut sinks = sink::build(&config).expect("file sinks open");
    let mut outbox = Outbox::open(dir, &config, 1).expect("open the outbox");
    let t0 = Instant::now();
    let mut now_us = 0i64;
    loop {
        let mut due = NEVER;
        for l in LaneId::all() {
            let s = sinks[l.index()]
                .as_mut()
                .map(|b| b.as_mut() as &mut dyn Sink);
            let next = outbox.lane_mut(l).poll(now_us, lsn, s).expect("deliver");
            due = due.min(next);
        }
        let delivered: u64 = LaneId::all()
            .iter()
            .map(|l| outbox.lane(*l).position().delivered)
            .sum();
        let done = delivered >= derived;
        if done || due == NEVER {
            break;
        }
        now_us = due.max(now_us + 1);
    }
    outbox.persist(now_us).expect("persist the cursors");
    let delivered: u64 = LaneId::all()
        .iter()
        .map(|l| outbox.lane(*l).position().delivered)
        .sum();
    assert_eq!(delivered, derived, "every effect delivered once");
    eps(delivered as usize, t0.elapsed().as_secs_f64())
}
