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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fixed {
    pub value: i64,
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

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct PointView {
    pub lat: Fixed,
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

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct ContractView {
    pub currency: String,
    pub base_cents: i64,
    pub detention_free_min: u32,
    pub detention_cents_per_hour: i64,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct RouteView {
    pub route_id: String,
    pub vehicle_id: u64,
    pub stop_index: u16,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct PodView {
    pub signed_by: String,
    pub photo_ref: Option<String>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct ChargeView {
    pub id: String,
    pub kind: &'static str,
    pub amount_cents: i64,
    pub currency: String,
    pub voided: bool,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct InvoiceView {
    pub id: String,
    pub total_cents: i64,
    /// As the winning `invoice.issued` lists them.
    pub charge_ids: Vec<String>,
    /// The winning settlement's amount, or null.
    pub settled_cents: Option<i64>,
}

/// One shipment as users see it (the names of docs/state.md first, then what the shipment carries).
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct ShipmentView {
    pub id: u64,
    pub status: &'static str,
    pub order_version: u32,
    pub cancelled: bool,
    pub window_start: Option<String>,
    pub window_end: Option<String>,
    pub delivered: Option<String>,
    pub on_time: Option<bool>,
    /// Exact sums (see `Derived`): JSON numbers up to 64 bits, strings of digits past that.
    #[serde(serialize_with = "exact_i128")]
    pub billed_cents: i128,
    pub detention_minutes: i64,
    #[serde(serialize_with = "exact_i128")]
    pub expected_detention_cents: i128,
    #[serde(serialize_with = "exact_i128")]
    pub leakage_cents: i128,
    pub unbilled_charge_ids: Vec<String>,
    pub invoice_status: &'static str,
    pub invoice_ready: bool,
    pub order_to_dispatch_minutes: Option<i64>,
    pub invoice_cycle_minutes: Option<i64>,
    pub failed_attempts: u32,
    pub anomalies: Vec<&'static str>,
    pub customer_id: Option<String>,
    pub origin: Option<PointView>,
    pub destination: Option<PointView>,
    pub weight_kg: Option<u32>,
    pub contract: Option<ContractView>,
    pub route: Option<RouteView>,
    pub eta: Option<String>,
    pub pickup_arrived: Option<String>,
    pub pickup_departed: Option<String>,
    pub picked_up: Option<String>,
    pub delivery_arrived: Option<String>,
    pub delivery_departed: Option<String>,
    pub pod: Option<PodView>,
    pub charges: Vec<ChargeView>,
    pub invoices: Vec<InvoiceView>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct VehicleView {
    pub id: u64,
    pub lat: Fixed,
    pub lon: Fixed,
    pub speed_kph: Fixed,
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
        time: format_rfc3339_us(v.key.time_us()),
    }
}
