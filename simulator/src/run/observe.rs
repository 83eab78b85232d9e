//! Reading the live core after the run: its summary, digest and every shipment view (what
//! the checks compare); and the digest of the journal's applied events applied again in a
//! shuffled order.

use super::{Sabotage, SimError};
use crate::rng::Rng;
use std::path::Path;
use waybill_core::engine::{self, Core, CoreError, Until};
use waybill_core::journal::{JournalReader, RecordKind};
use waybill_core::machine::{Machine, Outcome, Summary};
use waybill_core::record::EntryView;
use waybill_core::state::ShipmentView;

/// Everything the checks compare, read from the core after the run.
pub(super) struct Observed {
    pub summary: Summary,
    pub digest: String,
    pub views: Vec<ShipmentView>,
}

/// Every shipment of `m`, by id.
fn views_of(m: &Machine) -> Vec<ShipmentView> {
    m.state()
        .shipment_ids()
        .into_iter()
        .map(|id| {
            m.state()
                .shipment_view(id, m.sources())
                .expect("listed ids exist")
        })
        .collect()
}

/// What the live core reports at the end of the run (falsified by the run's sabotage, if
/// any): the machine that ingested the stream, not a replay of its journal.
pub(super) fn observe(live: &Core, sabotage: Sabotage) -> Observed {
    let m = live.machine();
    let mut summary = m.summary();
    let mut views = views_of(m);
    sabotage.falsify(&mut summary, &mut views);
    let digest = summary.digest.clone();
    Observed {
        summary,
        digest,
        views,
    }
}

/// The applied events of the journal, applied again in a shuffled order to a fresh machine.
pub(super) fn shuffled_digest(dir: &Path, seed: u64) -> Result<String, SimError> {
    let mut applied_lsns = Vec::new();
    engine::replay_with(dir, Until::End, |v| {
        if v.outcome == Outcome::Applied {
            applied_lsns.push(v.lsn);
        }
    })?;
    let reader = JournalReader::open(dir).map_err(CoreError::from)?;
    let mut payloads: Vec<(RecordKind, &[u8])> = Vec::with_capacity(applied_lsns.len());
    let mut want = applied_lsns.iter().peekable();
    for rec in reader.records() {
        let rec = rec.map_err(CoreError::from)?;
        if want.peek() == Some(&&rec.lsn) {
            payloads.push((rec.kind, rec.payload));
            want.next();
        }
    }
    let mut rng = Rng::stream(seed, "check/shuffle");
    for i in (1..payloads.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        payloads.swap(i, j);
    }
    let mut m = Machine::new();
    for (k, &(kind, payload)) in payloads.iter().enumerate() {
        let entry = engine::access_record(k as u64 + 1, kind, payload)?;
        debug_assert!(matches!(entry, EntryView::Event(_)));
        m.step(k as u64 + 1, 0, entry);
    }
    Ok(m.digest().to_string())
}
