//! Read views of a shipment and a vehicle, with the JSON names of docs/state.md. Field order is
//! fixed, collections are sorted, times are RFC 3339 UTC strings (or null).

use super::State;
use super::derive::{derive, is_invoiced, live_charges};
use super::extra::InvoiceRecord;
use super::shipment::{Milestone, ShipmentRef, flag};
use super::totals::exact_i128;
use super::vehicle::Vehicle;
use crate::event::GeoPoint;
use crate::time::format_rfc3339_us;
use serde::{Serialize, Serializer};

/// A fixed-point decimal printed as an exact JSON number: `value / 10^scale` with up to
/// `scale` decimals (trailing zeros trimmed, at least one decimal kept). No float is involved.
///
/// `Display` prints the same text: `Fixed { value: 52_520_000, scale: 6 }` is `52.52`,
/// `Fixed { value: 0, scale: 6 }` is `0.0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fixed {
    /// The number in units of 10^-`scale` (micro-degrees for coordinates, thousandths of a
    /// km/h for speeds).
    pub value: i64,
    /// Decimal places of `value`: 6 for degrees, 3 for km/h.
    pub scale: u32,
}

impl Fixed {
    /// Micro-degrees as degrees.
    pub fn degrees(micro: i32) -> Fixed {
        Fixed {
            value: i64::from(micro),
            scale: 6,
        }
    }

    /// Thousandths of a km/h as km/h.
    pub fn kph(milli: u32) -> Fixed {
        Fixed {
            value: i64::from(milli),
            scale: 3,
        }
    }

    /// Metres from millimetres.
    pub fn metres(milli: u32) -> Fixed {
        Fixed {
            value: i64::from(milli),
            scale: 3,
        }
    }
}

impl std::fmt::Display for Fixed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = 10u64.pow(self.scale);
        let abs = self.value.unsigned_abs();
        let (int, mut frac) = (abs / unit, abs % unit);
        let sign = if self.value < 0 { "-" } else { "" };
        let mut digits = self.scale as usize;
        while digits > 1 && frac % 10 == 0 {
            frac /= 10;
            digits -= 1;
        }
        write!(f, "{sign}{int}.{frac:0digits$}")
    }
}

impl Serialize for Fixed {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw = serde_json::value::RawValue::from_string(self.to_string())
            .map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

/// A point as views show it: `{"lat": ..., "lon": ...}` in degrees, exact decimals.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct PointView {
    /// Latitude in degrees (scale 6: the stored micro-degrees).
    pub lat: Fixed,
    /// Longitude in degrees (scale 6: the stored micro-degrees).
    pub lon: Fixed,
}

impl PointView {
    fn new(p: GeoPoint) -> PointView {
        PointView {
            lat: Fixed::degrees(p.lat_ud),
            lon: Fixed::degrees(p.lon_ud),
        }
    }
}

/// The contract of the winning `order.created`, as views show it.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct ContractView {
    /// ISO 4217 code, three capital letters.
    pub currency: String,
    /// The base price, in cents of `currency`.
    pub base_cents: i64,
    /// Minutes at the delivery stop before detention is due.
    pub detention_free_min: u32,
    /// The detention rate, in cents of `currency` per hour.
    pub detention_cents_per_hour: i64,
}

/// The route of the winning `route.planned`, as views show it.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct RouteView {
    /// The tour.
    pub route_id: String,
    /// The vehicle that drives the tour.
    pub vehicle_id: u64,
    /// The shipment's stop on the tour.
    pub stop_index: u16,
}

/// The proof of delivery of the winning `shipment.delivered`, as views show it.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct PodView {
    /// Who signed for the goods.
    pub signed_by: String,
    /// The reference to a photo; `None` (JSON null) when the delivery gave none.
    pub photo_ref: Option<String>,
}

/// One charge that was added to the shipment (voided or not), as views show it: the winning
/// `charge.added` of its id.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct ChargeView {
    /// The charge id.
    pub id: String,
    /// The charge kind (`base`, `fuel`, `detention`, `waiting`, `redelivery`, `other`).
    pub kind: &'static str,
    /// The amount, in cents of `currency`.
    pub amount_cents: i64,
    /// ISO 4217 code, three capital letters.
    pub currency: String,
    /// Whether a `charge.voided` withdrew it (a voided charge is not live: it counts for no
    /// derived field).
    pub voided: bool,
}

/// One issued invoice of the shipment, as views show it: the winning `invoice.issued` of its
/// id, and its winning settlement.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct InvoiceView {
    /// The invoice id.
    pub id: String,
    /// The invoice's total, in cents.
    pub total_cents: i64,
    /// As the winning `invoice.issued` lists them.
    pub charge_ids: Vec<String>,
    /// The winning settlement's amount, or null.
    pub settled_cents: Option<i64>,
}

/// One shipment as users see it (the names of docs/state.md first, then what the shipment carries).
///
/// Serializes to the JSON of docs/state.md (the shipment view), fields in this order. Times are
/// RFC 3339 UTC strings (six fraction digits only when they are not all zero); an optional
/// field is `None` (JSON null) when nothing set it. While the shipment is an orphan (no
/// `order.created` applied) every order field is `None`. Derived fields follow
/// [`Derived`](super::Derived).
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct ShipmentView {
    /// The shipment id (the number of `shipment/<id>`).
    pub id: u64,
    /// The lifecycle status ([`super::Status::as_str`]).
    pub status: &'static str,
    /// 1 once `order.created` is applied, or the greatest applied `order.amended` version
    /// (counted before the order arrives too); 0 when none.
    pub order_version: u32,
    /// Whether any `order.cancelled` was applied.
    pub cancelled: bool,
    /// When the delivery window opens (as amended); `None` while orphan.
    pub window_start: Option<String>,
    /// When the delivery window closes (as amended); `None` while orphan.
    pub window_end: Option<String>,
    /// The winning delivery's event time; `None` until delivered.
    pub delivered: Option<String>,
    /// Whether the delivery fell within the window; `None` unless delivered and the window is
    /// known.
    pub on_time: Option<bool>,
    /// The sum of the live charges' amounts, in cents.
    // Exact sums (see `Derived`): JSON numbers up to 64 bits, strings of digits past that.
    #[serde(serialize_with = "exact_i128")]
    pub billed_cents: i128,
    /// Minutes at the delivery stop past the contract's free minutes (0 until both the
    /// delivery arrival and departure are known).
    pub detention_minutes: i64,
    /// The detention due, in cents: floor(`detention_minutes` x rate per hour / 60).
    #[serde(serialize_with = "exact_i128")]
    pub expected_detention_cents: i128,
    /// The money due that billing did not charge, in cents (0 until delivered).
    #[serde(serialize_with = "exact_i128")]
    pub leakage_cents: i128,
    /// The live charges that no issued invoice lists, sorted.
    pub unbilled_charge_ids: Vec<String>,
    /// Where invoicing stands ([`super::InvoiceStatus::as_str`]).
    pub invoice_status: &'static str,
    /// Delivered, with a proof of delivery, at least one issued invoice, and no unbilled
    /// charge.
    pub invoice_ready: bool,
    /// Whole minutes from the winning `order.created`'s time to the pickup (floored, negative
    /// when the pickup is earlier); `None` without an order or a `shipment.picked_up`.
    pub order_to_dispatch_minutes: Option<i64>,
    /// Whole minutes from the delivery to the earliest issued invoice, at least 0; `None`
    /// unless delivered and invoiced.
    pub invoice_cycle_minutes: Option<i64>,
    /// The number of applied `delivery.failed` events.
    pub failed_attempts: u32,
    /// The anomaly flags' names, sorted (`currency_mismatch`, `delivered_and_cancelled`,
    /// `invoice_total_mismatch`, `orphan`).
    pub anomalies: Vec<&'static str>,
    /// The customer of the winning `order.created`; `None` while orphan.
    pub customer_id: Option<String>,
    /// The pickup point; `None` while orphan.
    pub origin: Option<PointView>,
    /// The delivery point (as amended); `None` while orphan.
    pub destination: Option<PointView>,
    /// The weight of the goods, in kilograms; `None` while orphan.
    pub weight_kg: Option<u32>,
    /// The commercial terms; `None` while orphan.
    pub contract: Option<ContractView>,
    /// The route of the winning `route.planned`; `None` until one is applied.
    pub route: Option<RouteView>,
    /// The estimated arrival (the greatest key among `route.planned` and `eta.revised`);
    /// `None` until one is applied.
    pub eta: Option<String>,
    /// The latest applied arrival at the pickup stop; `None` until one is applied.
    pub pickup_arrived: Option<String>,
    /// The latest applied departure from the pickup stop; `None` until one is applied.
    pub pickup_departed: Option<String>,
    /// The latest applied `shipment.picked_up`; `None` until one is applied.
    pub picked_up: Option<String>,
    /// The latest applied arrival at the delivery stop; `None` until one is applied.
    pub delivery_arrived: Option<String>,
    /// The latest applied departure from the delivery stop; `None` until one is applied.
    pub delivery_departed: Option<String>,
    /// The proof of delivery of the winning delivery; `None` when it carried none (or the
    /// shipment is not delivered).
    pub pod: Option<PodView>,
    /// Every charge that was added, voided or not, sorted by id.
    pub charges: Vec<ChargeView>,
    /// Every issued invoice, sorted by id.
    pub invoices: Vec<InvoiceView>,
}

/// One vehicle as users see it: the winning `vehicle.position` (the greatest key).
///
/// Serializes to `{"id", "lat", "lon", "speed_kph", "time"}` with exact decimals, and
/// `heading_deg` and `accuracy_m` when the winning ping carried them (version 2).
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct VehicleView {
    /// The vehicle id (the number of `vehicle/<id>`).
    pub id: u64,
    /// Latitude in degrees (scale 6).
    pub lat: Fixed,
    /// Longitude in degrees (scale 6).
    pub lon: Fixed,
    /// Speed in km/h (scale 3).
    pub speed_kph: Fixed,
    /// Heading in whole degrees clockwise from north, when the winning ping gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heading_deg: Option<u16>,
    /// Horizontal accuracy in metres (scale 3), when the winning ping gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accuracy_m: Option<Fixed>,
    /// The winning ping's event time, RFC 3339 UTC.
    pub time: String,
}

fn time(us: Option<i64>) -> Option<String> {
    us.map(format_rfc3339_us)
}

fn currency(c: [u8; 3]) -> String {
    String::from_utf8_lossy(&c).into_owned()
}

pub(crate) fn shipment_view(state: &State, s: &ShipmentRef<'_>) -> ShipmentView {
    let has_order = s.has(flag::HAS_ORDER);
    let contract = s.contract();
    let d = derive(s);
    let (rec, p) = (s.rec, s.progress);

    let mut unbilled_charge_ids = Vec::new();
    let mut charges = Vec::new();
    let mut invoices = Vec::new();
    if let Some(e) = s.extra {
        let charge_id = |slot| e.id(e.charge(slot).id).to_string();
        unbilled_charge_ids = live_charges(&e)
            .filter(|&slot| !is_invoiced(&e, slot))
            .map(charge_id)
            .collect();
        unbilled_charge_ids.sort_unstable();
        charges = e
            .charges()
            .filter_map(|(_, c)| {
                c.added().map(|a| ChargeView {
                    id: e.id(c.id).to_string(),
                    kind: a.kind.as_str(),
                    amount_cents: a.amount_cents,
                    currency: currency(a.currency),
                    voided: c.voided(),
                })
            })
            .collect();
        charges.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        invoices = e
            .invoices()
            .filter(|r| r.has(InvoiceRecord::ISSUED))
            .map(|r| InvoiceView {
                id: e.id(r.id).to_string(),
                total_cents: r.total_cents,
                charge_ids: e.listed(r).map(charge_id).collect(),
                settled_cents: r.settled(),
            })
            .collect();
        invoices.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    }
    debug_assert_eq!(unbilled_charge_ids.len(), d.unbilled_charges);

    ShipmentView {
        id: rec.id,
        status: d.status.as_str(),
        order_version: s.order_version(),
        cancelled: s.has(flag::CANCELLED),
        window_start: time(s.window_start_us()),
        window_end: time(s.window_end_us()),
        delivered: time(s.delivered_us()),
        on_time: d.on_time,
        billed_cents: d.billed_cents,
        detention_minutes: d.detention_minutes,
        expected_detention_cents: d.expected_detention_cents,
        leakage_cents: d.leakage_cents,
        unbilled_charge_ids,
        invoice_status: d.invoice_status.as_str(),
        invoice_ready: d.invoice_ready,
        order_to_dispatch_minutes: d.order_to_dispatch_minutes,
        invoice_cycle_minutes: d.invoice_cycle_minutes,
        failed_attempts: p.failed_attempts,
        anomalies: d.anomalies.names(),
        customer_id: has_order.then(|| state.customers.get(rec.customer).to_string()),
        origin: has_order.then(|| PointView::new(rec.origin)),
        destination: s.destination().map(PointView::new),
        weight_kg: has_order.then_some(rec.weight_kg),
        contract: contract.map(|c| ContractView {
            currency: currency(c.currency),
            base_cents: c.base_cents,
            detention_free_min: c.detention_free_min,
            detention_cents_per_hour: c.detention_cents_per_hour,
        }),
        route: s.has(flag::ROUTED).then(|| RouteView {
            route_id: state.routes.get(p.route).to_string(),
            vehicle_id: p.vehicle_id,
            stop_index: p.stop_index,
        }),
        eta: time(s.has(flag::HAS_ETA).then_some(p.eta_us)),
        pickup_arrived: time(s.milestone(Milestone::PickupArrived)),
        pickup_departed: time(s.milestone(Milestone::PickupDeparted)),
        picked_up: time(s.milestone(Milestone::PickedUp)),
        delivery_arrived: time(s.milestone(Milestone::DeliveryArrived)),
        delivery_departed: time(s.milestone(Milestone::DeliveryDeparted)),
        pod: s.extra.and_then(|e| e.pod()).map(|p| PodView {
            signed_by: p.signed_by.to_string(),
            photo_ref: p.photo_ref.map(str::to_string),
        }),
        charges,
        invoices,
    }
}

pub(crate) fn vehicle_view(v: &Vehicle) -> VehicleView {
    VehicleView {
        id: v.id,
        lat: Fixed::degrees(v.position.lat_ud),
        lon: Fixed::degrees(v.position.lon_ud),
        speed_kph: Fixed::kph(v.speed_kph_milli),
        heading_deg: v.bearing.heading_deg(),
        accuracy_m: v.bearing.accuracy_mm().map(Fixed::metres),
        time: format_rfc3339_us(v.key.time_us()),
    }
}
