//! The effect rules (docs/effects.md, derivation), from a shipment's facts before and after a
//! record, plus gaps from dedupe. Pure: the machine calls these while it steps, and only the
//! effect count (`effect_seq`) is machine state; keys, data and texts are built only while the
//! machine collects.

use super::{
    Effect, EffectBuf, EffectData, EffectSubject, EffectType, KeyHasher, SlaMeasure, SlaTargets,
    TextRef,
};
use crate::event::EventType;
use crate::record::EventView;
use crate::source::{SourceId, Sources};
use crate::state::{Anomalies, Facts, State};
use crate::time::US_PER_MIN;

/// The record being stepped, as effects cite it.
#[derive(Clone, Copy)]
pub(crate) struct Cause<'a> {
    pub lsn: u64,
    pub ingest_us: i64,
    /// The event, unless the record is a notice (a gap a cluster's sequencer saw).
    pub event: Option<CauseEvent<'a>>,
}

/// The event a record carries, as the rules read it.
#[derive(Clone, Copy)]
pub(crate) struct CauseEvent<'a> {
    pub event_type: EventType,
    pub time_us: i64,
    /// Its tracing attributes are read only when an effect is built.
    pub view: EventView<'a>,
}

/// Numbers effects and, while collecting, builds them into a buffer.
pub(crate) struct Emitter<'m, 'c> {
    pub seq: &'m mut u64,
    /// `None` while not collecting: effects are only counted.
    pub buf: Option<&'m mut EffectBuf>,
    pub cause: &'m Cause<'c>,
}

impl Emitter<'_, '_> {
    /// Derives one effect: `build` gives its key and data (and may add texts to the buffer);
    /// it runs only while collecting.
    fn emit(
        &mut self,
        t: EffectType,
        subject: EffectSubject,
        build: impl FnOnce(&mut EffectBuf) -> (KeyHasher, EffectData),
    ) {
        *self.seq += 1;
        let Some(buf) = self.buf.as_deref_mut() else {
            return;
        };
        let (key, data) = build(buf);
        let c = self.cause;
        let event = c.event.map(|e| e.view);
        let correlation_id = event
            .and_then(|e| e.correlation_id())
            .map(|s| buf.push_text(s.as_bytes()));
        let traceparent = event
            .and_then(|e| e.traceparent())
            .map(|s| buf.push_text(s.as_bytes()));
        buf.push(Effect {
            seq: *self.seq,
            effect_type: t,
            subject,
            cause_lsn: c.lsn,
            time_us: c.ingest_us,
            key: key.finish(),
            data,
            correlation_id,
            traceparent,
        });
    }
}

/// Whether applying an event of type `t` can change a fact an effect rule reads (events that
/// cannot are not compared at all: positions, eta revisions, route plans).
#[inline]
pub(crate) fn may_derive(t: EventType) -> bool {
    !matches!(
        t,
        EventType::VehiclePosition | EventType::EtaRevised | EventType::RoutePlanned
    )
}

/// `alert.gap`: the source's missing sequences grew by the range `first..=last`.
pub(crate) fn gap(
    em: &mut Emitter<'_, '_>,
    source: SourceId,
    sources: &Sources,
    first: u64,
    last: u64,
) {
    debug_assert!(first >= 1 && first <= last);
    em.emit(EffectType::AlertGap, EffectSubject::Source(source), |_| {
        let mut k = KeyHasher::new(EffectType::AlertGap, sources.name(source).as_bytes());
        k.i64(first as i64).i64(last as i64);
        (k, EffectData::Gap { first, last })
    });
}

fn subject_key(t: EffectType, id: u64) -> KeyHasher {
    KeyHasher::new(t, format!("shipment/{id}").as_bytes())
}

fn opt(k: &mut KeyHasher, v: Option<i64>) {
    k.i64(i64::from(v.is_some())).i64(v.unwrap_or(0));
}

fn clamp(v: i128) -> i64 {
    v.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// Every effect of shipment `id` whose facts went from `b` to `a` when `em.cause` was applied,
/// in a fixed order: urgent first (replan, late delivery, anomalies, SLA breaches), then
/// financial (delivery confirmed, invoice ready, leakage).
pub(crate) fn shipment(
    em: &mut Emitter<'_, '_>,
    id: u64,
    b: &Facts,
    a: &Facts,
    state: &State,
    targets: &SlaTargets,
) {
    debug_assert!(a.exists, "an applied event names its shipment");
    let subject = EffectSubject::Shipment(id);
    replan(em, id, b, a);
    if a.on_time == Some(false) && b.on_time != Some(false) {
        let t = EffectType::AlertLateDelivery;
        let (d, ws, we) = (
            a.delivered_us.unwrap_or(0),
            a.window_start_us.unwrap_or(0),
            a.window_end_us.unwrap_or(0),
        );
        em.emit(t, subject, |_| {
            let mut k = subject_key(t, id);
            k.i64(d).i64(ws).i64(we);
            (
                k,
                EffectData::LateDelivery {
                    delivered_us: d,
                    window_start_us: ws,
                    window_end_us: we,
                },
            )
        });
    }
    let new_flags = Anomalies(a.anomalies.0 & !b.anomalies.0);
    for (flag, name) in Anomalies::NAMED {
        if new_flags.contains(flag) {
            let t = EffectType::AlertAnomaly;
            em.emit(t, subject, |_| {
                let mut k = subject_key(t, id);
                k.bytes(name.as_bytes());
                (k, EffectData::Anomaly { flag })
            });
        }
    }
    sla(em, id, b, a, targets);
    financial(em, id, b, a, state);
}

/// `route.replan_requested`: a routed, undelivered shipment's window or destination changed,
/// or it was cancelled.
fn replan(em: &mut Emitter<'_, '_>, id: u64, b: &Facts, a: &Facts) {
    let live = b.routed && a.routed && a.delivered_us.is_none();
    let cancelled_now = a.cancelled && !b.cancelled;
    let moved = !a.cancelled
        && (b.window_start_us != a.window_start_us
            || b.window_end_us != a.window_end_us
            || b.destination != a.destination);
    if !(live && (cancelled_now || moved)) {
        return;
    }
    let t = EffectType::RouteReplanRequested;
    let a = *a;
    em.emit(t, EffectSubject::Shipment(id), |_| {
        let mut k = subject_key(t, id);
        k.i64(i64::from(a.cancelled));
        opt(&mut k, a.window_start_us);
        opt(&mut k, a.window_end_us);
        let d = a
            .destination
            .map(|d| (i64::from(d.lat_ud) << 32) | i64::from(d.lon_ud as u32));
        opt(&mut k, d);
        let data = EffectData::Replan {
            cancelled: a.cancelled,
            window_start_us: a.window_start_us,
            window_end_us: a.window_end_us,
            destination: a.destination,
            vehicle_id: a.vehicle_id,
        };
        (k, data)
    });
}

/// `alert.sla_breached`: a measure passed its target.
fn sla(em: &mut Emitter<'_, '_>, id: u64, b: &Facts, a: &Facts, targets: &SlaTargets) {
    let c = *em.cause;
    // Proof-of-delivery propagation: how long after the delivery the core received it.
    let pod_minutes = c
        .event
        .filter(|e| {
            e.event_type == EventType::ShipmentDelivered
                && b.delivered_us.is_none()
                && a.delivered_us.is_some()
        })
        .map(|e| (c.ingest_us as i128 - e.time_us as i128).div_euclid(US_PER_MIN as i128));
    let measures = [
        (
            SlaMeasure::OrderToDispatch,
            b.order_to_dispatch_minutes,
            a.order_to_dispatch_minutes,
        ),
        (
            SlaMeasure::InvoiceCycle,
            b.invoice_cycle_minutes,
            a.invoice_cycle_minutes,
        ),
        (SlaMeasure::PodPropagation, None, pod_minutes.map(clamp)),
    ];
    for (measure, before, after) in measures {
        let Some(target) = targets.get(measure) else {
            continue;
        };
        let over = |v: Option<i64>| v.is_some_and(|m| m > i64::from(target));
        if over(after) && !over(before) {
            let t = EffectType::AlertSlaBreached;
            let minutes = after.unwrap_or(0);
            em.emit(t, EffectSubject::Shipment(id), |_| {
                let mut k = subject_key(t, id);
                k.bytes(measure.as_str().as_bytes());
                (
                    k,
                    EffectData::SlaBreached {
                        measure,
                        minutes,
                        target_min: target,
                    },
                )
            });
        }
    }
}

/// The financial effects: delivery confirmed, invoice ready, leakage.
fn financial(em: &mut Emitter<'_, '_>, id: u64, b: &Facts, a: &Facts, state: &State) {
    let subject = EffectSubject::Shipment(id);
    if let Some(delivered_us) = a.delivered_us
        && (b.delivered_us != a.delivered_us
            || !state.same_pod(b.pod_ref, a.pod_ref)
            || b.detention_minutes != a.detention_minutes)
    {
        let t = EffectType::BillingDeliveryConfirmed;
        em.emit(t, subject, |buf| {
            let pod = state.pod_text(id);
            let mut k = subject_key(t, id);
            k.i64(delivered_us).i64(a.detention_minutes);
            k.bytes(pod.map_or(&[][..], |p| p.0.as_bytes()));
            k.bytes(pod.and_then(|p| p.1).map_or(&[][..], |r| r.as_bytes()));
            let data = EffectData::DeliveryConfirmed {
                delivered_us,
                detention_minutes: a.detention_minutes,
                pod_signed_by: pod.map(|p| buf.push_text(p.0.as_bytes())),
                pod_photo_ref: pod.and_then(|p| p.1).map(|r| buf.push_text(r.as_bytes())),
                currency: a.currency,
                billed_cents: clamp(a.billed_cents),
            };
            (k, data)
        });
    }
    if a.invoice_ready && !b.invoice_ready {
        let t = EffectType::ErpInvoiceReady;
        em.emit(t, subject, |buf| {
            let mut k = subject_key(t, id);
            let mut ids = TextRef { start: 0, len: 0 };
            for (i, inv) in state.issued_invoice_ids(id).into_iter().enumerate() {
                k.bytes(inv.as_bytes());
                if i == 0 {
                    ids = buf.push_text(inv.as_bytes());
                } else {
                    buf.extend_text(&mut ids, inv.as_bytes());
                }
                buf.extend_text(&mut ids, &[0]);
            }
            let data = EffectData::InvoiceReady {
                invoice_ids: ids,
                currency: a.currency,
                billed_cents: clamp(a.billed_cents),
            };
            (k, data)
        });
    }
    if a.delivered_us.is_some() && a.leakage_cents > 0 && a.leakage_cents != b.leakage_cents {
        let t = EffectType::AlertLeakage;
        let leakage_cents = clamp(a.leakage_cents);
        em.emit(t, subject, |_| {
            let mut k = subject_key(t, id);
            k.i64(leakage_cents);
            k.bytes(a.currency.as_ref().map_or(&[][..], |c| &c[..]));
            (
                k,
                EffectData::Leakage {
                    leakage_cents,
                    currency: a.currency,
                },
            )
        });
    }
}
