//! The derived fields of docs/state.md, computed from a shipment on demand (integer arithmetic,
//! floor division). Money is exact: sums of `i64` cents are `i128`, which no shipment can overflow
//! (see `totals` for the bounds).

use super::extra::{ExtraRef, InvoiceRecord};
use super::shipment::{Milestone, ShipmentRef, flag};
use crate::event::{ChargeKind, Contract};
use crate::time::US_PER_MIN;

/// Lifecycle status, by precedence (docs/state.md, derived fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Orphan,
    Created,
    Planned,
    InTransit,
    Delivered,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Orphan,
        Status::Created,
        Status::Planned,
        Status::InTransit,
        Status::Delivered,
        Status::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Orphan => "orphan",
            Status::Created => "created",
            Status::Planned => "planned",
            Status::InTransit => "in_transit",
            Status::Delivered => "delivered",
            Status::Cancelled => "cancelled",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InvoiceStatus {
    None,
    Issued,
    Settled,
    Disputed,
}

impl InvoiceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::None => "none",
            InvoiceStatus::Issued => "issued",
            InvoiceStatus::Settled => "settled",
            InvoiceStatus::Disputed => "disputed",
        }
    }
}

/// The anomaly flags of a shipment, as a bit set; [`Anomalies::names`] lists them sorted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Anomalies(pub u8);

impl Anomalies {
    pub const CURRENCY_MISMATCH: Anomalies = Anomalies(1 << 0);
    pub const DELIVERED_AND_CANCELLED: Anomalies = Anomalies(1 << 1);
    pub const INVOICE_TOTAL_MISMATCH: Anomalies = Anomalies(1 << 2);
    pub const ORPHAN: Anomalies = Anomalies(1 << 3);

    /// Every flag with its name, in the sorted order of the names.
    pub const NAMED: [(Anomalies, &'static str); 4] = [
        (Anomalies::CURRENCY_MISMATCH, "currency_mismatch"),
        (
            Anomalies::DELIVERED_AND_CANCELLED,
            "delivered_and_cancelled",
        ),
        (Anomalies::INVOICE_TOTAL_MISMATCH, "invoice_total_mismatch"),
        (Anomalies::ORPHAN, "orphan"),
    ];

    pub fn contains(self, other: Anomalies) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    fn set(&mut self, other: Anomalies, on: bool) {
        if on {
            self.0 |= other.0;
        }
    }

    /// The names of the flags that are set, sorted.
    pub fn names(self) -> Vec<&'static str> {
        Anomalies::NAMED
            .iter()
            .filter(|(a, _)| self.contains(*a))
            .map(|(_, n)| *n)
            .collect()
    }
}

/// The derived fields of one shipment that do not need strings (cheap to compute; the view adds
/// `unbilled_charge_ids`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Derived {
    pub status: Status,
    pub billed_cents: i128,
    /// Valid event times span years 0000-9999, so this fits an `i64` with room to spare.
    pub detention_minutes: i64,
    pub expected_detention_cents: i128,
    pub leakage_cents: i128,
    pub on_time: Option<bool>,
    /// How many non-voided charges no invoice lists.
    pub unbilled_charges: usize,
    pub invoice_status: InvoiceStatus,
    pub invoice_ready: bool,
    /// Whole minutes from the winning `order.created`'s time to `picked_up` (floored, so
    /// negative when the pickup is earlier); `None` without an order or a pickup.
    pub order_to_dispatch_minutes: Option<i64>,
    /// Whole minutes from `delivered` to the earliest winning `invoice.issued` of the
    /// shipment's invoices, at least 0; `None` unless delivered and invoiced.
    pub invoice_cycle_minutes: Option<i64>,
    pub anomalies: Anomalies,
}

fn clamp_i64(v: i128) -> i64 {
    v.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// Contract figures as they count: the order's, or all 0 while orphan.
fn terms(s: &ShipmentRef<'_>) -> Contract {
    s.contract().unwrap_or_default()
}

/// Slots of the charges that count (added, not voided), in record order.
pub(crate) fn live_charges<'a>(e: &ExtraRef<'a>) -> impl Iterator<Item = u32> + 'a {
    e.charges()
        .filter(|(_, c)| c.live().is_some())
        .map(|(slot, _)| slot)
}

/// True when some issued invoice lists the charge at `slot`.
pub(crate) fn is_invoiced(e: &ExtraRef<'_>, slot: u32) -> bool {
    e.invoices().any(|inv| e.listed(inv).any(|l| l == slot))
}

/// Computes the derived fields.
pub(crate) fn derive(s: &ShipmentRef<'_>) -> Derived {
    let c = terms(s);
    let has_order = s.has(flag::HAS_ORDER);
    let delivered = s.delivered_us();
    let cancelled = s.has(flag::CANCELLED);

    let status = if cancelled && delivered.is_none() {
        Status::Cancelled
    } else if delivered.is_some() {
        Status::Delivered
    } else if s.milestone(Milestone::PickedUp).is_some() {
        Status::InTransit
    } else if s.has(flag::ROUTED) {
        Status::Planned
    } else if has_order {
        Status::Created
    } else {
        Status::Orphan
    };

    let detention_minutes = match (
        s.milestone(Milestone::DeliveryArrived),
        s.milestone(Milestone::DeliveryDeparted),
    ) {
        (Some(arrived), Some(departed)) => {
            let minutes =
                (i128::from(departed) - i128::from(arrived)).div_euclid(US_PER_MIN as i128);
            clamp_i64((minutes - i128::from(c.detention_free_min)).max(0))
        }
        _ => 0,
    };
    let expected_detention_cents =
        (i128::from(detention_minutes) * i128::from(c.detention_cents_per_hour)).div_euclid(60);

    let mut billed: i128 = 0;
    let mut detention_billed: i128 = 0;
    let mut has_base = false;
    let mut currency_mismatch = false;
    let mut unbilled_charges = 0usize;
    let mut invoice_total_mismatch = false;
    let mut invoices = 0usize;
    let mut first_issued: Option<i64> = None;
    let mut all_settled = true;
    let mut disputed = false;
    if let Some(e) = s.extra {
        for (slot, rec) in e.charges() {
            let Some(ch) = rec.live() else { continue };
            billed += i128::from(ch.amount_cents);
            match ch.kind {
                ChargeKind::Detention => detention_billed += i128::from(ch.amount_cents),
                ChargeKind::Base => has_base = true,
                _ => {}
            }
            currency_mismatch |= has_order && ch.currency != c.currency;
            if !is_invoiced(&e, slot) {
                unbilled_charges += 1;
            }
        }
        for inv in e.invoices() {
            if !inv.has(InvoiceRecord::ISSUED) {
                continue; // a settlement naming no invoice of the shipment is ignored
            }
            invoices += 1;
            let issued_us = inv.issued_key.time_us();
            first_issued = Some(first_issued.map_or(issued_us, |t| t.min(issued_us)));
            let listed: i128 = e
                .listed(inv)
                .filter_map(|slot| e.charge(slot).live())
                .map(|ch| i128::from(ch.amount_cents))
                .sum();
            invoice_total_mismatch |= listed != i128::from(inv.total_cents);
            match inv.settled() {
                Some(amount) if amount == inv.total_cents => {}
                Some(_) => {
                    disputed = true;
                    all_settled = false;
                }
                None => all_settled = false,
            }
        }
    }

    let leakage_cents = if delivered.is_some() {
        let detention_gap = (expected_detention_cents - detention_billed).max(0);
        let base_gap = if has_base {
            0
        } else {
            i128::from(c.base_cents)
        };
        detention_gap + base_gap
    } else {
        0
    };

    let on_time = match (delivered, s.window_start_us(), s.window_end_us()) {
        (Some(d), Some(start), Some(end)) => Some(start <= d && d <= end),
        _ => None,
    };

    let invoice_status = if invoices == 0 {
        InvoiceStatus::None
    } else if disputed {
        InvoiceStatus::Disputed
    } else if all_settled {
        InvoiceStatus::Settled
    } else {
        InvoiceStatus::Issued
    };

    // Whole minutes from `from` to `to`, floored (toward minus infinity).
    let minutes = |from: i64, to: i64| {
        clamp_i64((i128::from(to) - i128::from(from)).div_euclid(i128::from(US_PER_MIN)))
    };
    let order_to_dispatch_minutes = match (has_order, s.milestone(Milestone::PickedUp)) {
        (true, Some(picked_up)) => {
            let created_key = s.rec.created_key;
            Some(minutes(created_key.time_us(), picked_up))
        }
        _ => None,
    };
    let invoice_cycle_minutes = match (delivered, first_issued) {
        (Some(d), Some(issued)) => Some(minutes(d, issued).max(0)),
        _ => None,
    };

    let has_pod = s.extra.is_some_and(|e| e.rec.pod != 0);
    let invoice_ready = delivered.is_some() && has_pod && invoices > 0 && unbilled_charges == 0;

    let mut anomalies = Anomalies::default();
    anomalies.set(Anomalies::CURRENCY_MISMATCH, currency_mismatch);
    anomalies.set(
        Anomalies::DELIVERED_AND_CANCELLED,
        delivered.is_some() && cancelled,
    );
    anomalies.set(Anomalies::INVOICE_TOTAL_MISMATCH, invoice_total_mismatch);
    anomalies.set(Anomalies::ORPHAN, !has_order);

    Derived {
        status,
        billed_cents: billed,
        detention_minutes,
        expected_detention_cents,
        leakage_cents,
        on_time,
        unbilled_charges,
        invoice_status,
        invoice_ready,
        order_to_dispatch_minutes,
        invoice_cycle_minutes,
        anomalies,
    }
}
