//! The pure apply of docs/state.md (merge rules): one accepted event folded into shipment or
//! vehicle state.
//!
//! Every register keeps the winner under a total order that does not depend on arrival order
//! (event key, or order version then key), and every other change is a commutative count or a
//! tombstone, so any permutation of the same set of events gives the same stored state.

use super::extra::{Amended, ChargeAdd, InvoiceRecord, Pod};
use super::register::{Key, version_beats};
use super::shipment::{Milestone, Progress, Shipment, flag};
use super::store::Chunked;
use super::vehicle::{Bearing, Vehicle};
use super::{MAX_SHIPMENTS, State};
use crate::event::{
    ArchivedBody, ArchivedChargeKind, ArchivedEvent, ArchivedStop, ChargeKind, GeoPoint,
};
use crate::source::{EventKey, Sources};
use std::num::NonZeroU32;

fn charge_kind(k: &ArchivedChargeKind) -> ChargeKind {
    match k {
        ArchivedChargeKind::Base => ChargeKind::Base,
        ArchivedChargeKind::Fuel => ChargeKind::Fuel,
        ArchivedChargeKind::Detention => ChargeKind::Detention,
        ArchivedChargeKind::Waiting => ChargeKind::Waiting,
        ArchivedChargeKind::Redelivery => ChargeKind::Redelivery,
        ArchivedChargeKind::Other => ChargeKind::Other,
    }
}

/// Keeps the amendment with the greatest (version, key) in `slot`.
#[inline]
fn amend_field<T>(
    slot: &mut Option<Amended<T>>,
    version: NonZeroU32,
    key: Key,
    value: T,
    sources: &Sources,
) {
    let wins = match slot {
        None => true,
        Some(cur) => version_beats(version.get(), key, cur.version.get(), cur.key, sources),
    };
    if wins {
        *slot = Some(Amended {
            version,
            key,
            value,
        });
    }
}

impl State {
    pub(super) fn apply_event(&mut self, event: &ArchivedEvent, key: EventKey, sources: &Sources) {
        debug_assert_eq!(
            key.time_us,
            event.time_us.to_native(),
            "key time is event time"
        );
        debug_assert_eq!(key.sequence, event.sequence.to_native(), "key sequence");
        debug_assert!(
            (key.source.0 as usize) < sources.len()
                && sources.name(key.source) == event.source.as_str(),
            "key source is the event's source"
        );
        self.apply_subject_body(event.subject.to_native(), &event.body, key, sources);
    }

    /// [`Self::apply_event`] for an event given by its subject and payload.
    pub(super) fn apply_subject_body(
        &mut self,
        subject: u64,
        body: &ArchivedBody,
        key: EventKey,
        sources: &Sources,
    ) {
        let k = Key::new(key);

        if let ArchivedBody::VehiclePosition {
            position,
            speed_kph_milli,
            heading_deg,
            accuracy_mm,
        } = body
        {
            let bearing = Bearing::new(
                heading_deg.as_ref().map(|h| h.to_native()),
                accuracy_mm.as_ref().map(|a| a.to_native()),
            );
            self.apply_position(
                subject,
                k,
                (position.to_native(), speed_kph_milli.to_native(), bearing),
                sources,
            );
            return;
        }

        let slot = self.shipment_slot(subject);
        // A slot created just now is new to a running summary: marking it does nothing.
        self.touched.shipments.mark(slot);
        let State {
            shipments,
            progress,
            extras,
            customers,
            detention_terms,
            routes,
            max_failed_attempts,
            ..
        } = self;
        let s: &mut Shipment = shipments.get_mut(slot);
        debug_assert_eq!({ s.id }, subject);

        match body {
            ArchivedBody::VehiclePosition { .. } => unreachable!("handled above"),
            ArchivedBody::OrderCreated {
                customer_id,
                origin,
                destination,
                window_start_us,
                window_end_us,
                weight_kg,
                contract: terms,
            } => {
                if !s.has(flag::HAS_ORDER) || k.beats(s.created_key, sources) {
                    s.created_key = k;
                    s.customer = customers.intern_str(customer_id.as_str());
                    s.set_contract(terms.to_native(), detention_terms);
                    s.origin = origin.to_native();
                    s.destination = destination.to_native();
                    s.window_start_us = window_start_us.to_native();
                    s.window_end_us = window_end_us.to_native();
                    s.weight_kg = weight_kg.to_native();
                    s.flags |= flag::HAS_ORDER;
                }
            }
            ArchivedBody::OrderAmended {
                order_version,
                window_start_us,
                window_end_us,
                destination,
            } => {
                let version = order_version.to_native();
                debug_assert!(version >= 2, "validated: order_version >= 2");
                let e = extras.slot_of(&mut s.extra);
                let a = extras.amendments_mut(e);
                a.version = a.version.max(version);
                let version = NonZeroU32::new(version).expect("validated: >= 2");
                if let Some(v) = window_start_us.as_ref() {
                    amend_field(&mut a.window_start, version, k, v.to_native(), sources);
                }
                if let Some(v) = window_end_us.as_ref() {
                    amend_field(&mut a.window_end, version, k, v.to_native(), sources);
                }
                if let Some(p) = destination.as_ref() {
                    amend_field(&mut a.destination, version, k, p.to_native(), sources);
                }
            }
            ArchivedBody::OrderCancelled { .. } => s.flags |= flag::CANCELLED,
            ArchivedBody::InvoiceSettled {
                invoice_id,
                amount_cents,
            } => {
                let e = extras.slot_of(&mut s.extra);
                let inv = extras.invoice_mut(e, invoice_id.as_str());
                if !inv.has(InvoiceRecord::SETTLED) || k.beats(inv.settled_key, sources) {
                    inv.set_settled(k, amount_cents.to_native());
                }
            }
            ArchivedBody::RoutePlanned {
                route_id,
                vehicle_id,
                stop_index,
                eta_us,
            } => {
                let p = progress_of(s, progress);
                if !s.has(flag::ROUTED) || k.beats(p.route_key, sources) {
                    p.route_key = k;
                    p.route = routes.intern_str(route_id.as_str());
                    p.vehicle_id = vehicle_id.to_native();
                    p.stop_index = stop_index.to_native();
                    s.flags |= flag::ROUTED;
                }
                set_eta(s, p, k, eta_us.to_native(), sources);
            }
            ArchivedBody::EtaRevised { eta_us } => {
                let p = progress_of(s, progress);
                set_eta(s, p, k, eta_us.to_native(), sources);
            }
            ArchivedBody::StopArrived { stop } => {
                let m = match stop {
                    ArchivedStop::Pickup => Milestone::PickupArrived,
                    ArchivedStop::Delivery => Milestone::DeliveryArrived,
                };
                set_milestone(progress_of(s, progress), m, k);
            }
            ArchivedBody::StopDeparted { stop } => {
                let m = match stop {
                    ArchivedStop::Pickup => Milestone::PickupDeparted,
                    ArchivedStop::Delivery => Milestone::DeliveryDeparted,
                };
                set_milestone(progress_of(s, progress), m, k);
            }
            ArchivedBody::ShipmentPickedUp => {
                set_milestone(progress_of(s, progress), Milestone::PickedUp, k);
            }
            ArchivedBody::ShipmentDelivered { pod } => {
                let p = progress_of(s, progress);
                if !s.has(flag::DELIVERED) || k.beats(p.delivered_key, sources) {
                    p.delivered_key = k;
                    s.flags |= flag::DELIVERED;
                    match pod.as_ref() {
                        Some(pod) => {
                            let e = extras.slot_of(&mut s.extra);
                            let pod = Pod {
                                signed_by: pod.signed_by.as_str(),
                                photo_ref: pod.photo_ref.as_ref().map(|r| r.as_str()),
                            };
                            extras.set_pod(e, Some(pod));
                        }
                        None => {
                            if s.extra != 0 {
                                extras.set_pod(s.extra - 1, None);
                            }
                        }
                    }
                }
            }
            ArchivedBody::DeliveryFailed { .. } => {
                let p = progress_of(s, progress);
                // Admission keeps it below the limit (at most u32::MAX): never saturates.
                debug_assert!(p.failed_attempts < u32::MAX);
                p.failed_attempts = p.failed_attempts.saturating_add(1);
                *max_failed_attempts = (*max_failed_attempts).max(p.failed_attempts);
            }
            ArchivedBody::ChargeAdded {
                charge_id,
                kind,
                amount_cents,
                currency,
            } => {
                let e = extras.slot_of(&mut s.extra);
                let slot = extras.charge_slot(e, charge_id.as_str());
                let rec = extras.charge_mut(slot);
                if rec.added().is_none_or(|cur| k.beats(cur.key, sources)) {
                    rec.set_added(ChargeAdd {
                        key: k,
                        amount_cents: amount_cents.to_native(),
                        currency: *currency,
                        kind: charge_kind(kind),
                    });
                }
            }
            ArchivedBody::ChargeVoided { charge_id } => {
                let e = extras.slot_of(&mut s.extra);
                let slot = extras.charge_slot(e, charge_id.as_str());
                extras.charge_mut(slot).void();
            }
            ArchivedBody::InvoiceIssued {
                invoice_id,
                total_cents,
                charge_ids,
            } => {
                let e = extras.slot_of(&mut s.extra);
                let wins = extras
                    .find_invoice(e, invoice_id.as_str())
                    .map(|slot| extras.invoice(slot))
                    .filter(|r| r.has(InvoiceRecord::ISSUED))
                    .is_none_or(|r| k.beats(r.issued_key, sources));
                if wins {
                    extras.issue_invoice(
                        e,
                        invoice_id.as_str(),
                        k,
                        total_cents.to_native(),
                        charge_ids.iter().map(|c| c.as_str()),
                    );
                }
            }
        }
        if cfg!(debug_assertions) {
            self.parts(self.shipments.get(slot)).debug_check();
        }
    }

    fn apply_position(
        &mut self,
        id: u64,
        k: Key,
        (position, speed_kph_milli, bearing): (GeoPoint, u32, Bearing),
        sources: &Sources,
    ) {
        let vehicles = &mut self.vehicles;
        match self.vehicle_index.find(id, |i| vehicles.get(i).id) {
            Some(slot) => {
                let v = vehicles.get_mut(slot);
                if k.beats(v.key, sources) {
                    v.key = k;
                    v.position = position;
                    v.speed_kph_milli = speed_kph_milli;
                    v.bearing = bearing;
                    self.touched.vehicles.mark(slot);
                }
            }
            None => {
                assert!(
                    vehicles.len() < MAX_SHIPMENTS,
                    "too many vehicles: at most {MAX_SHIPMENTS}"
                );
                let slot = vehicles.push(Vehicle {
                    id,
                    key: k,
                    position,
                    speed_kph_milli,
                    bearing,
                });
                let vehicles = &self.vehicles;
                self.vehicle_index.insert(id, slot, |i| vehicles.get(i).id);
            }
        }
    }

    /// The slot of shipment `id`, creating the shipment on its first event.
    #[inline]
    fn shipment_slot(&mut self, id: u64) -> u32 {
        if let Some(slot) = self.shipment_slot_of(id) {
            return slot;
        }
        assert!(
            self.shipments.len() < MAX_SHIPMENTS,
            "too many shipments: at most {MAX_SHIPMENTS}"
        );
        let slot = self.shipments.push(Shipment::new(id));
        let shipments = &self.shipments;
        self.shipment_index
            .insert(id, slot, |i| shipments.get(i).id);
        debug_assert_eq!(self.shipment_index.len(), self.shipments.len());
        slot
    }
}

/// The progress part of `s`, allocated on first need.
#[inline]
fn progress_of<'a>(s: &mut Shipment, store: &'a mut Chunked<Progress>) -> &'a mut Progress {
    if s.progress == 0 {
        s.progress = store.push(Progress::EMPTY) + 1;
    }
    store.get_mut(s.progress - 1)
}

#[inline]
fn set_eta(s: &mut Shipment, p: &mut Progress, k: Key, eta_us: i64, sources: &Sources) {
    if !s.has(flag::HAS_ETA) || k.beats(p.eta_key, sources) {
        p.eta_key = k;
        p.eta_us = eta_us;
        s.flags |= flag::HAS_ETA;
    }
}

/// A time-only milestone keeps the greatest event time: the greatest key has it.
#[inline]
fn set_milestone(p: &mut Progress, m: Milestone, k: Key) {
    let slot = &mut p.milestones_us[m as usize];
    *slot = (*slot).max(k.time_us());
}
