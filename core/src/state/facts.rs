//! What the effect rules (`crate::effect::derive`) read of one shipment: its facts before and
//! after a record are compared, and an effect is derived where a rule's facts changed. Only
//! plain values, so two facts compare with `==`; strings (the pod, invoice ids) are compared by
//! a hash here and copied out only when an effect carries them.

use super::State;
use super::derive::{self, Anomalies};
use super::extra::InvoiceRecord;
use super::shipment::{ShipmentRef, flag};
use crate::event::GeoPoint;

/// One shipment's facts as the effect rules read them (`Default`: a shipment no event named).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Facts {
    pub exists: bool,
    pub routed: bool,
    pub vehicle_id: u64,
    pub cancelled: bool,
    pub delivered_us: Option<i64>,
    pub window_start_us: Option<i64>,
    pub window_end_us: Option<i64>,
    pub destination: Option<GeoPoint>,
    /// The proof of delivery's reference in the text store (0: none). Equal references mean
    /// equal pods; different ones are compared by their bytes ([`State::same_pod`]).
    pub pod_ref: u32,
    pub detention_minutes: i64,
    pub invoice_ready: bool,
    pub on_time: Option<bool>,
    pub anomalies: Anomalies,
    pub leakage_cents: i128,
    pub billed_cents: i128,
    pub currency: Option<[u8; 3]>,
    pub order_to_dispatch_minutes: Option<i64>,
    pub invoice_cycle_minutes: Option<i64>,
}

fn facts_of(s: &ShipmentRef<'_>) -> Facts {
    let d = derive::derive(s);
    Facts {
        exists: true,
        routed: s.has(flag::ROUTED),
        vehicle_id: s.progress.vehicle_id,
        cancelled: s.has(flag::CANCELLED),
        delivered_us: s.delivered_us(),
        window_start_us: s.window_start_us(),
        window_end_us: s.window_end_us(),
        destination: s.destination(),
        pod_ref: s.extra.map_or(0, |e| e.rec.pod),
        detention_minutes: d.detention_minutes,
        invoice_ready: d.invoice_ready,
        on_time: d.on_time,
        anomalies: d.anomalies,
        leakage_cents: d.leakage_cents,
        billed_cents: d.billed_cents,
        currency: s.contract().map(|c| c.currency),
        order_to_dispatch_minutes: d.order_to_dispatch_minutes,
        invoice_cycle_minutes: d.invoice_cycle_minutes,
    }
}

impl State {
    /// The facts of the shipment at `slot` (the default for none).
    #[inline]
    pub(crate) fn effect_facts(&self, slot: Option<u32>) -> Facts {
        slot.map_or(Facts::default(), |slot| {
            facts_of(&self.parts(self.shipments.get(slot)))
        })
    }

    /// Whether two pod references (of [`Facts::pod_ref`]) hold the same pod.
    pub(crate) fn same_pod(&self, a: u32, b: u32) -> bool {
        a == b || (a != 0 && b != 0 && self.extras.pod_bytes(a) == self.extras.pod_bytes(b))
    }

    /// The proof of delivery of shipment `id`: who signed, and the photo reference.
    pub(crate) fn pod_text(&self, id: u64) -> Option<(&str, Option<&str>)> {
        let pod = self.shipment(id)?.extra?.pod()?;
        Some((pod.signed_by, pod.photo_ref))
    }

    /// The ids of shipment `id`'s issued invoices, sorted.
    pub(crate) fn issued_invoice_ids(&self, id: u64) -> Vec<&str> {
        let Some(e) = self.shipment(id).and_then(|s| s.extra) else {
            return Vec::new();
        };
        let mut ids: Vec<&str> = e
            .invoices()
            .filter(|inv| inv.has(InvoiceRecord::ISSUED))
            .map(|inv| e.id(inv.id))
            .collect();
        ids.sort_unstable();
        ids
    }
}
