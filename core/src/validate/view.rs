//! A borrowed view of an event's checked fields, built from an [`Event`] or from its archived
//! form as it sits in the journal, so the rules are written once for both. Building it copies
//! a few numbers and borrows the strings: nothing is allocated.

use crate::compact::CompactEvent;
use crate::event::{ArchivedBody, ArchivedEvent, Body, Contract, Event, EventType, GeoPoint};
use rkyv::string::ArchivedString;

/// The envelope of an event and its payload.
pub(super) struct EventRef<'a> {
    /// The id's length in bytes (the only thing its rule reads; a compact event keeps the id
    /// in two parts).
    pub id_bytes: usize,
    pub source: &'a str,
    pub sequence: u64,
    pub time_us: i64,
    pub correlation_id: Option<&'a str>,
    pub traceparent: Option<&'a str>,
    pub ty: EventType,
    pub body: BodyRef<'a>,
}

/// What the rules read of each payload (only the fields that have a rule).
#[derive(Clone, Copy)]
pub(super) enum BodyRef<'a> {
    OrderCreated {
        customer_id: &'a str,
        origin: GeoPoint,
        destination: GeoPoint,
        window_start_us: i64,
        window_end_us: i64,
        contract: Contract,
    },
    OrderAmended {
        order_version: u32,
        window_start_us: Option<i64>,
        window_end_us: Option<i64>,
        destination: Option<GeoPoint>,
    },
    /// `order.cancelled` and `delivery.failed`.
    Reason(&'a str),
    InvoiceSettled {
        invoice_id: &'a str,
        amount_cents: i64,
    },
    RoutePlanned {
        route_id: &'a str,
        eta_us: i64,
    },
    EtaRevised {
        eta_us: i64,
    },
    VehiclePosition {
        position: GeoPoint,
        heading_deg: Option<u16>,
    },
    /// Types whose payload has nothing to check (stops, `shipment.picked_up`).
    NoData,
    ShipmentDelivered {
        /// `signed_by`, `photo_ref`.
        pod: Option<(&'a str, Option<&'a str>)>,
    },
    ChargeAdded {
        charge_id: &'a str,
        amount_cents: i64,
        currency: [u8; 3],
    },
    ChargeVoided {
        charge_id: &'a str,
    },
    InvoiceIssued {
        invoice_id: &'a str,
        total_cents: i64,
        charge_ids: Ids<'a>,
    },
}

/// A list of ids, owned or archived.
#[derive(Clone, Copy)]
pub(super) enum Ids<'a> {
    Owned(&'a [String]),
    Archived(&'a [ArchivedString]),
}

impl<'a> Ids<'a> {
    pub fn len(&self) -> usize {
        match self {
            Ids::Owned(v) => v.len(),
            Ids::Archived(v) => v.len(),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a str> + 'a {
        let (owned, archived) = match *self {
            Ids::Owned(v) => (v, &[][..]),
            Ids::Archived(v) => (&[][..], v),
        };
        owned
            .iter()
            .map(String::as_str)
            .chain(archived.iter().map(ArchivedString::as_str))
    }
}

impl<'a> From<&'a Event> for EventRef<'a> {
    fn from(e: &'a Event) -> Self {
        EventRef {
            id_bytes: e.id.len(),
            source: &e.source,
            sequence: e.sequence,
            time_us: e.time_us,
            correlation_id: e.correlation_id.as_deref(),
            traceparent: e.traceparent.as_deref(),
            ty: e.event_type(),
            body: BodyRef::from(&e.body),
        }
    }
}

impl<'a> From<&'a ArchivedEvent> for EventRef<'a> {
    fn from(e: &'a ArchivedEvent) -> Self {
        EventRef {
            id_bytes: e.id.len(),
            source: e.source.as_str(),
            sequence: e.sequence.to_native(),
            time_us: e.time_us.to_native(),
            correlation_id: e.correlation_id.as_ref().map(|s| s.as_str()),
            traceparent: e.traceparent.as_ref().map(|s| s.as_str()),
            ty: e.event_type(),
            body: BodyRef::from(&e.body),
        }
    }
}

impl<'a> From<&CompactEvent<'a>> for EventRef<'a> {
    fn from(c: &CompactEvent<'a>) -> Self {
        let ty = c.event_type();
        let body = match c.body() {
            Body::VehiclePosition {
                position,
                heading_deg,
                ..
            } => BodyRef::VehiclePosition {
                position,
                heading_deg,
            },
            Body::EtaRevised { eta_us } => BodyRef::EtaRevised { eta_us },
            _ => BodyRef::NoData,
        };
        EventRef {
            id_bytes: c.id().len(),
            source: c.source(),
            sequence: c.sequence(),
            time_us: c.time_us(),
            correlation_id: None,
            traceparent: None,
            ty,
            body,
        }
    }
}

impl<'a> From<&'a Body> for BodyRef<'a> {
    fn from(b: &'a Body) -> Self {
        match b {
            Body::OrderCreated {
                customer_id,
                origin,
                destination,
                window_start_us,
                window_end_us,
                weight_kg: _,
                contract,
            } => BodyRef::OrderCreated {
                customer_id,
                origin: *origin,
                destination: *destination,
                window_start_us: *window_start_us,
                window_end_us: *window_end_us,
                contract: *contract,
            },
            Body::OrderAmended {
                order_version,
                window_start_us,
                window_end_us,
                destination,
            } => BodyRef::OrderAmended {
                order_version: *order_version,
                window_start_us: *window_start_us,
                window_end_us: *window_end_us,
                destination: *destination,
            },
            Body::OrderCancelled { reason } | Body::DeliveryFailed { reason } => {
                BodyRef::Reason(reason)
            }
            Body::InvoiceSettled {
                invoice_id,
                amount_cents,
            } => BodyRef::InvoiceSettled {
                invoice_id,
                amount_cents: *amount_cents,
            },
            Body::RoutePlanned {
                route_id, eta_us, ..
            } => BodyRef::RoutePlanned {
                route_id,
                eta_us: *eta_us,
            },
            Body::EtaRevised { eta_us } => BodyRef::EtaRevised { eta_us: *eta_us },
            Body::VehiclePosition {
                position,
                heading_deg,
                ..
            } => BodyRef::VehiclePosition {
                position: *position,
                heading_deg: *heading_deg,
            },
            Body::StopArrived { .. } | Body::StopDeparted { .. } | Body::ShipmentPickedUp => {
                BodyRef::NoData
            }
            Body::ShipmentDelivered { pod } => BodyRef::ShipmentDelivered {
                pod: pod
                    .as_ref()
                    .map(|p| (p.signed_by.as_str(), p.photo_ref.as_deref())),
            },
            Body::ChargeAdded {
                charge_id,
                amount_cents,
                currency,
                ..
            } => BodyRef::ChargeAdded {
                charge_id,
                amount_cents: *amount_cents,
                currency: *currency,
            },
            Body::ChargeVoided { charge_id } => BodyRef::ChargeVoided { charge_id },
            Body::InvoiceIssued {
                invoice_id,
                total_cents,
                charge_ids,
            } => BodyRef::InvoiceIssued {
                invoice_id,
                total_cents: *total_cents,
                charge_ids: Ids::Owned(charge_ids),
            },
        }
    }
}

impl<'a> From<&'a ArchivedBody> for BodyRef<'a> {
    fn from(b: &'a ArchivedBody) -> Self {
        match b {
            ArchivedBody::OrderCreated {
                customer_id,
                origin,
                destination,
                window_start_us,
                window_end_us,
                weight_kg: _,
                contract: c,
            } => BodyRef::OrderCreated {
                customer_id: customer_id.as_str(),
                origin: origin.to_native(),
                destination: destination.to_native(),
                window_start_us: window_start_us.to_native(),
                window_end_us: window_end_us.to_native(),
                contract: c.to_native(),
            },
            ArchivedBody::OrderAmended {
                order_version,
                window_start_us,
                window_end_us,
                destination,
            } => BodyRef::OrderAmended {
                order_version: order_version.to_native(),
                window_start_us: window_start_us.as_ref().map(|v| v.to_native()),
                window_end_us: window_end_us.as_ref().map(|v| v.to_native()),
                destination: destination.as_ref().map(|p| p.to_native()),
            },
            ArchivedBody::OrderCancelled { reason } | ArchivedBody::DeliveryFailed { reason } => {
                BodyRef::Reason(reason.as_str())
            }
            ArchivedBody::InvoiceSettled {
                invoice_id,
                amount_cents,
            } => BodyRef::InvoiceSettled {
                invoice_id: invoice_id.as_str(),
                amount_cents: amount_cents.to_native(),
            },
            ArchivedBody::RoutePlanned {
                route_id, eta_us, ..
            } => BodyRef::RoutePlanned {
                route_id: route_id.as_str(),
                eta_us: eta_us.to_native(),
            },
            ArchivedBody::EtaRevised { eta_us } => BodyRef::EtaRevised {
                eta_us: eta_us.to_native(),
            },
            ArchivedBody::VehiclePosition {
                position,
                heading_deg,
                ..
            } => BodyRef::VehiclePosition {
                position: position.to_native(),
                heading_deg: heading_deg.as_ref().map(|h| h.to_native()),
            },
            ArchivedBody::StopArrived { .. }
            | ArchivedBody::StopDeparted { .. }
            | ArchivedBody::ShipmentPickedUp => BodyRef::NoData,
            ArchivedBody::ShipmentDelivered { pod } => BodyRef::ShipmentDelivered {
                pod: pod.as_ref().map(|p| {
                    (
                        p.signed_by.as_str(),
                        p.photo_ref.as_ref().map(|r| r.as_str()),
                    )
                }),
            },
            ArchivedBody::ChargeAdded {
                charge_id,
                amount_cents,
                currency,
                ..
            } => BodyRef::ChargeAdded {
                charge_id: charge_id.as_str(),
                amount_cents: amount_cents.to_native(),
                currency: *currency,
            },
            ArchivedBody::ChargeVoided { charge_id } => BodyRef::ChargeVoided {
                charge_id: charge_id.as_str(),
            },
            ArchivedBody::InvoiceIssued {
                invoice_id,
                total_cents,
                charge_ids,
            } => BodyRef::InvoiceIssued {
                invoice_id: invoice_id.as_str(),
                total_cents: total_cents.to_native(),
                charge_ids: Ids::Archived(charge_ids.as_slice()),
            },
        }
    }
}
