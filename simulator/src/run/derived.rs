//! The effects a run derived, two ways: as the live core wrote them to its effect log, and as a
//! read-only replay of the final journal derives them (a fresh machine that collects effects);
//! with the replay, the proof-of-delivery propagation of every applied `shipment.delivered`
//! (ingest time minus event time).

use super::SimError;
use std::hash::{DefaultHasher, Hasher};
use std::path::Path;
use waybill_core::effect::{EffectBuf, EffectKey, EffectType, render};
use waybill_core::engine::{self, CoreError};
use waybill_core::event::EventType;
use waybill_core::journal::JournalReader;
use waybill_core::machine::{Machine, Outcome};
use waybill_core::outbox::{LogReader, effects_dir};
use waybill_core::record::EntryView;

/// One effect as a derivation gave it: what the checks compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Derived {
    pub effect_type: EffectType,
    pub key: EffectKey,
    pub cause_lsn: u64,
    /// The ingest time of its cause.
    pub time_us: i64,
    /// A hash of its CloudEvents JSON (the same derivation gives the same bytes).
    pub json_hash: u64,
}

/// A hash of an effect's JSON, to compare two derivations' bytes without keeping them.
pub(super) fn json_hash(json: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    h.write(json);
    h.finish()
}

/// What the replay derived.
#[derive(Debug, Default)]
pub(super) struct Replayed {
    /// Index `seq - 1`.
    pub effects: Vec<Derived>,
    /// Minutes from each applied `shipment.delivered`'s event time to its ingest time (floored;
    /// negative when an event claims a time after it arrived).
    pub pod_propagation_min: Vec<i64>,
}

/// Replays the journal in `dir` read-only into a machine that collects effects, rendering each
/// as the outbox would store it.
pub(super) fn replay(dir: &Path) -> Result<Replayed, SimError> {
    let reader = JournalReader::open(dir).map_err(CoreError::from)?;
    let mut m = Machine::new();
    m.collect_effects(true);
    let mut buf = EffectBuf::new();
    let mut out = Replayed::default();
    for rec in reader.records() {
        let rec = rec.map_err(CoreError::from)?;
        let entry = engine::access_record(rec.lsn, rec.kind, rec.payload)?;
        let delivered_at = match entry {
            EntryView::Event(ev) if ev.event_type() == EventType::ShipmentDelivered => {
                Some(ev.time_us())
            }
            _ => None,
        };
        let outcome = m.step(rec.lsn, rec.ingest_us, entry);
        if let (Some(t), Outcome::Applied) = (delivered_at, outcome) {
            out.pod_propagation_min
                .push((rec.ingest_us - t).div_euclid(60_000_000));
        }
        m.take_effects(&mut buf);
        for e in buf.effects() {
            let o = render(&buf, e, m.sources());
            debug_assert_eq!(o.seq, out.effects.len() as u64 + 1);
            out.effects.push(Derived {
                effect_type: o.effect_type,
                key: o.key,
                cause_lsn: o.cause_lsn,
                time_us: o.time_us,
                json_hash: json_hash(&o.json),
            });
        }
    }
    Ok(out)
}

/// Every effect of the effect log of the journal in `dir`, from seq 1, as the live core derived
/// it (and, after a crash, derived again what the log had lost).
pub(super) fn logged(dir: &Path) -> Result<Vec<Derived>, SimError> {
    let mut r = LogReader::open(&effects_dir(dir), 1);
    let mut out = Vec::new();
    while let Some(h) = r.peek(u64::MAX)? {
        let json = r.json()?;
        out.push(Derived {
            effect_type: h.effect_type,
            key: h.key,
            cause_lsn: h.cause_lsn,
            time_us: h.time_us,
            json_hash: json_hash(json),
        });
        r.consume();
    }
    Ok(out)
}
