//! Effects while `waybill ingest` runs: the core keeps every batch's effects in the outbox,
//! and with `--config` they are delivered to its sinks as their records become durable; at the
//! end ingest waits a bounded time for what is deliverable, and what stays (a sink down, no
//! sink configured) waits for `waybill effects deliver`.

use crate::config::Config;
use crate::error::CliError;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use waybill_core::engine::Core;
use waybill_core::outbox::inspect::{self, EffectState};
use waybill_core::outbox::{
    BreakerState, Delivery, DeliveryOptions, EffectLog, LaneId, LaneStatus, durable_from_atomic,
    sink,
};

/// Delivery running beside the writer, and where the effects stood when ingest began.
pub struct LiveEffects {
    delivery: Option<Delivery>,
    /// `effect_seq` when this ingest began.
    pub first_seq: u64,
}

impl LiveEffects {
    /// Brings the outbox in line with the journal, journals the SLA targets of `config` (if it
    /// has some and they differ) and starts delivery to its sinks (if any is configured).
    pub fn start(core: &mut Core, config: Option<&Config>, now_us: i64) -> Result<Self, CliError> {
        let started = core.start_effects()?;
        if started.rederived > 0 || started.cut > 0 {
            eprintln!(
                "waybill: effects: {} derived again from the journal, {} cut (their records were lost)",
                started.rederived, started.cut
            );
        }
        if let Some(sla) = config.and_then(|c| c.sla) {
            core.set_settings(sla.targets(), now_us)?;
        }
        let delivery = match config {
            Some(c) if c.sinks.any_configured() => {
                let durable = durable_from_atomic(core.journal().durable_handle());
                let sinks = sink::build(&c.sinks)?;
                let dir = core.journal().dir();
                Some(Delivery::start_with(
                    dir,
                    &c.sinks,
                    sinks,
                    durable,
                    DeliveryOptions::default(),
                )?)
            }
            _ => None,
        };
        Ok(LiveEffects {
            delivery,
            first_seq: started.effect_seq,
        })
    }

    /// After the last batch is durable: waits up to `wait` for every lane to deliver what it
    /// can (a lane whose breaker is open, or without a sink, is not waited for), stops
    /// delivery and says where the effects stand.
    pub fn finish(self, core: &Core, wait: Duration) -> Result<Value, CliError> {
        let last_seq = core.machine().effect_seq();
        let mut v = json!({
            "derived": last_seq - self.first_seq,
            "last_seq": last_seq,
        });
        let Some(delivery) = self.delivery else {
            return Ok(v);
        };
        delivery.wake();
        // A lane is done once its cursor passed the last effect (a lane's cursor moves over
        // the other lanes' effects as it reads past them), or when it cannot go on.
        let settled = |s: &[LaneStatus]| {
            s.iter()
                .all(|l| l.parked || l.cursor_seq >= last_seq || l.breaker != BreakerState::Closed)
        };
        delivery.wait_until(Instant::now() + wait, settled);
        let lanes = delivery.stop();
        let delivered: u64 = lanes.iter().map(|l| l.delivered).sum();
        v["delivered"] = delivered.into();
        // Where every effect stands, from the outbox's files now that delivery stopped (a
        // lane's own status is as of its last poll, and a lane without a sink is not polled).
        let (pending, dead) = core.effect_log().map_or(Ok((0, 0)), standing)?;
        v["pending"] = pending.into();
        v["dead"] = dead.into();
        Ok(v)
    }
}

/// Effects of `log` pending and dead-lettered, by the lanes' persisted cursors and dead letters.
fn standing(log: &EffectLog) -> Result<(u64, u64), CliError> {
    let states = inspect::States::read(log.dir())?;
    let lanes = LaneId::all();
    let dead = lanes
        .iter()
        .map(|l| states.dead(*l) + states.redriving(*l))
        .sum();
    let from = lanes.iter().map(|l| states.cursor(*l)).min().unwrap_or(0) + 1;
    let mut pending = 0u64;
    for e in log.iter_from(from) {
        let e = e?;
        pending += u64::from(states.state(e.seq, e.effect_type) == EffectState::Pending);
    }
    Ok((pending, dead))
}
