//! The pure apply of SPEC §4: one accepted event folded into shipment or vehicle state.
//!
//! Every register keeps the winner under a total order that does not depend on arrival order
//! (event key, or order version then key), and every other change is a commutative count or a
//! tombstone, so any permutation of the same set of events gives the same stored state.

use super::State;
use super::register::{Key, version_beats};
use super::shipment::{Amended, ChargeAdd, Issued, Milestone, PodValue, Settled, Shipment, flag};
use super::vehicle::Vehicle;
use crate::event::{
    ArchivedBody, ArchivedChargeKind, ArchivedContract, ArchivedEvent, ArchivedGeoPoint,
    ArchivedStop, ChargeKind, Contract, GeoPoint,
};
use crate::source::{EventKey, Sources};
use std::collections::hash_map::Entry;

#[inline]
fn geo(p: &ArchivedGeoPoint) -> GeoPoint {
    GeoPoint {
        lat_ud: p.lat_ud.to_native(),
        lon_ud: p.lon_ud.to_native(),
    }
}

fn contract(c: &ArchivedContract) -> Contract {
    Contract {
        currency: c.currency,
        base_cents: c.base_cents.to_native(),
        detention_free_min: c.detention_free_min.to_native(),
        detention_cents_per_hour: c.detention_cents_per_hour.to_native(),
    }
}

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
    version: u32,
    key: Key,
    value: T,
    sources: &Sources,
) {
    let wins = match slot {
        None => true,
        Some(cur) => version_beats(version, key, cur.version, cur.key, sources),
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
        let subject = event.subject.to_native();
        let k = Key::new(key);

        if let ArchivedBody::VehiclePosition {
            position,
            speed_kph_milli,
        } = &event.body
        {
            self.apply_position(
                subject,
                k,
                geo(position),
                speed_kph_milli.to_native(),
                sources,
            );
            return;
        }

        let slot = self.shipment_slot(subject);
        let State {
            shipments,
            customers,
            routes,
            contracts,
            ..
        } = self;
        let s: &mut Shipment = &mut shipments[slot];
        debug_assert_eq!(s.id, subject);

        match &event.body {
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
                    s.contract = contracts.intern(contract(terms));
                    s.origin = geo(origin);
                    s.destination = geo(destination);
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
                s.amend_version = s.amend_version.max(version);
                let any =
                    window_start_us.is_some() || window_end_us.is_some() || destination.is_some();
                if any {
                    let a = s.amend.get_or_insert_with(Default::default);
                    if let Some(v) = window_start_us.as_ref() {
                        amend_field(&mut a.window_start, version, k, v.to_native(), sources);
                    }
                    if let Some(v) = window_end_us.as_ref() {
                        amend_field(&mut a.window_end, version, k, v.to_native(), sources);
                    }
                    if let Some(p) = destination.as_ref() {
                        amend_field(&mut a.destination, version, k, geo(p), sources);
                    }
                }
            }
            ArchivedBody::OrderCancelled { .. } => s.flags |= flag::CANCELLED,
            ArchivedBody::InvoiceSettled {
                invoice_id,
                amount_cents,
            } => {
                let inv = s.extra_mut().invoice_mut(invoice_id.as_str());
                if inv.settled.is_none_or(|cur| k.beats(cur.key, sources)) {
                    inv.settled = Some(Settled {
                        key: k,
                        amount_cents: amount_cents.to_native(),
                    });
                }
            }
            ArchivedBody::RoutePlanned {
                route_id,
                vehicle_id,
                stop_index,
                eta_us,
            } => {
                if !s.has(flag::ROUTED) || k.beats(s.route_key, sources) {
                    s.route_key = k;
                    s.route = routes.intern_str(route_id.as_str());
                    s.vehicle_id = vehicle_id.to_native();
                    s.stop_index = stop_index.to_native();
                    s.flags |= flag::ROUTED;
                }
                set_eta(s, k, eta_us.to_native(), sources);
            }
            ArchivedBody::EtaRevised { eta_us } => set_eta(s, k, eta_us.to_native(), sources),
            ArchivedBody::StopArrived { stop } => {
                let m = match stop {
                    ArchivedStop::Pickup => Milestone::PickupArrived,
                    ArchivedStop::Delivery => Milestone::DeliveryArrived,
                };
                set_milestone(s, m, k);
            }
            ArchivedBody::StopDeparted { stop } => {
                let m = match stop {
                    ArchivedStop::Pickup => Milestone::PickupDeparted,
                    ArchivedStop::Delivery => Milestone::DeliveryDeparted,
                };
                set_milestone(s, m, k);
            }
            ArchivedBody::ShipmentPickedUp => set_milestone(s, Milestone::PickedUp, k),
            ArchivedBody::ShipmentDelivered { pod } => {
                if !s.has(flag::DELIVERED) || k.beats(s.delivered_key, sources) {
                    s.delivered_key = k;
                    s.flags |= flag::DELIVERED;
                    match pod.as_ref() {
                        Some(p) => {
                            s.extra_mut().pod = Some(PodValue {
                                signed_by: p.signed_by.as_str().into(),
                                photo_ref: p.photo_ref.as_ref().map(|r| r.as_str().into()),
                            });
                        }
                        None => {
                            if let Some(e) = s.extra.as_mut() {
                                e.pod = None;
                            }
                        }
                    }
                }
            }
            ArchivedBody::DeliveryFailed { .. } => {
                s.failed_attempts = s.failed_attempts.saturating_add(1);
            }
            ArchivedBody::ChargeAdded {
                charge_id,
                kind,
                amount_cents,
                currency,
            } => {
                let e = s.extra_mut();
                let i = e.charge_index(charge_id.as_str());
                let rec = &mut e.charges[i as usize];
                if rec.added.is_none_or(|cur| k.beats(cur.key, sources)) {
                    rec.added = Some(ChargeAdd {
                        key: k,
                        amount_cents: amount_cents.to_native(),
                        currency: *currency,
                        kind: charge_kind(kind),
                    });
                }
            }
            ArchivedBody::ChargeVoided { charge_id } => {
                let e = s.extra_mut();
                let i = e.charge_index(charge_id.as_str());
                e.charges[i as usize].voided = true;
            }
            ArchivedBody::InvoiceIssued {
                invoice_id,
                total_cents,
                charge_ids,
            } => {
                let e = s.extra_mut();
                let wins = e
                    .invoices
                    .iter()
                    .find(|r| &*r.id == invoice_id.as_str())
                    .and_then(|r| r.issued.as_ref())
                    .is_none_or(|cur| k.beats(cur.key, sources));
                if wins {
                    let charges: Box<[u32]> = charge_ids
                        .iter()
                        .map(|c| e.charge_index(c.as_str()))
                        .collect();
                    e.invoice_mut(invoice_id.as_str()).issued = Some(Issued {
                        key: k,
                        total_cents: total_cents.to_native(),
                        charges,
                    });
                }
            }
        }
        if cfg!(debug_assertions) {
            s.debug_check();
        }
    }

    fn apply_position(
        &mut self,
        id: u64,
        k: Key,
        position: GeoPoint,
        speed_kph_milli: u32,
        sources: &Sources,
    ) {
        match self.vehicle_slots.entry(id) {
            Entry::Occupied(o) => {
                let v = &mut self.vehicles[*o.get() as usize];
                debug_assert_eq!(v.id, id);
                if k.beats(v.key, sources) {
                    v.key = k;
                    v.position = position;
                    v.speed_kph_milli = speed_kph_milli;
                }
            }
            Entry::Vacant(slot) => {
                assert!(self.vehicles.len() < u32::MAX as usize, "too many vehicles");
                slot.insert(self.vehicles.len() as u32);
                self.vehicles.push(Vehicle {
                    id,
                    key: k,
                    position,
                    speed_kph_milli,
                });
            }
        }
    }

    /// The slot of shipment `id`, creating the shipment on its first event.
    #[inline]
    fn shipment_slot(&mut self, id: u64) -> usize {
        match self.shipment_slots.entry(id) {
            Entry::Occupied(o) => *o.get() as usize,
            Entry::Vacant(slot) => {
                assert!(
                    self.shipments.len() < u32::MAX as usize,
                    "too many shipments"
                );
                let i = self.shipments.len();
                slot.insert(i as u32);
                self.shipments.push(Shipment::new(id));
                i
            }
        }
    }
}

#[inline]
fn set_eta(s: &mut Shipment, k: Key, eta_us: i64, sources: &Sources) {
    if !s.has(flag::HAS_ETA) || k.beats(s.eta_key, sources) {
        s.eta_key = k;
        s.eta_us = eta_us;
        s.flags |= flag::HAS_ETA;
    }
}

/// A time-only milestone keeps the greatest event time: the greatest key has it.
#[inline]
fn set_milestone(s: &mut Shipment, m: Milestone, k: Key) {
    let slot = &mut s.milestones_us[m as usize];
    *slot = (*slot).max(k.time_us());
}
