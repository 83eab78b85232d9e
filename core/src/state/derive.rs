//! The derived fields of docs/state.md, computed from a shipment on demand (integer arithmetic,
//! floor division). Money is exact: sums of `i64` cents are `i128`, which no shipment can overflow
//! (see `totals` for the bounds).

use super::extra::{ExtraRef, InvoiceRecord};
use super::shipment::{Milestone, ShipmentRef, flag};
use crate::event::{ChargeKind, Contract};
use crate::time::US_PER_MIN;

/// Lifecycle status, by precedence (docs/state.md, derived fields).
///
/// The first that holds, in the order `cancelled`, `delivered`, `in_transit`, `planned`,
/// `created`, `orphan`, is the status. The declaration order is that of the summary's
/// `shipments_by_status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// `orphan`: no `order.created` was applied (yet).
    Orphan,
    /// `created`: the order exists, nothing else applies.
    Created,
    /// `planned`: routed (a `route.planned`), not picked up.
    Planned,
    /// `in_transit`: picked up (a `shipment.picked_up`), not delivered.
    InTransit,
    /// `delivered`: a `shipment.delivered` was applied (even if also cancelled).
    Delivered,
    /// `cancelled`: cancelled and not delivered.
    Cancelled,
}

impl Status {
    /// Every status, in the order of the summary's `shipments_by_status`.
    pub const ALL: [Status; 6] = [
        Status::Orphan,
        Status::Created,
        Status::Planned,
        Status::InTransit,
        Status::Delivered,
        Status::Cancelled,
    ];

    /// The status as views show it (`orphan`, `created`, `planned`, `in_transit`,
    /// `delivered`, `cancelled`).
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

/// Where a shipment's invoicing stands (docs/state.md, `invoice_status`).
///
/// Only issued invoices count: a settlement of an invoice the shipment was never issued is
/// ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InvoiceStatus {
    /// `none`: no invoice was issued.
    None,
    /// `issued`: invoices were issued, not every one is settled, none is disputed.
    Issued,
    /// `settled`: every issued invoice is settled at its total.
    Settled,
    /// `disputed`: an issued invoice was settled at an amount other than its total.
    Disputed,
}

impl InvoiceStatus {
    /// The status as views show it (`none`, `issued`, `settled`, `disputed`).
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
    /// `currency_mismatch`: the order exists and a live charge is in another currency than
    /// the contract's.
    pub const CURRENCY_MISMATCH: Anomalies = Anomalies(1 << 0);
    /// `delivered_and_cancelled`: the shipment was both delivered and cancelled.
    pub const DELIVERED_AND_CANCELLED: Anomalies = Anomalies(1 << 1);
    /// `invoice_total_mismatch`: an issued invoice's total differs from the sum of the live
    /// charges it lists.
    pub const INVOICE_TOTAL_MISMATCH: Anomalies = Anomalies(1 << 2);
    /// `orphan`: no `order.created` was applied.
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

    /// Whether every flag of `other` is set here.
    pub fn contains(self, other: Anomalies) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no flag is set.
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
///
/// Computed from the state when read, in integer arithmetic with floor division
/// (docs/state.md, derived fields). "Live" charges are those added and not voided. Money is
/// integer cents, exact: sums of 64-bit cents are 128-bit and never wrap. `billed_cents` adds
/// the live charges whatever their currency (a charge in another currency than the contract's
/// is flagged [`Anomalies::CURRENCY_MISMATCH`]). While the shipment is an orphan its contract
/// figures count as 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Derived {
    /// The lifecycle status.
    pub status: Status,
    /// The sum of the live charges' amounts, in cents.
    pub billed_cents: i128,
    /// Minutes at the delivery stop past the contract's free minutes: when both the delivery
    /// arrival and departure are known, max(0, floor((departed - arrived) / 60 s) -
    /// `detention_free_min`); else 0.
    // Valid event times span years 0000-9999, so this fits an `i64` with room to spare.
    pub detention_minutes: i64,
    /// floor(`detention_minutes` x `detention_cents_per_hour` / 60), in cents.
    pub expected_detention_cents: i128,
    /// For a delivered shipment, the money the contract says is due and billing did not
    /// charge, in cents: max(0, `expected_detention_cents` - the live `detention` charges),
    /// plus `base_cents` when there is no live `base` charge. 0 when not delivered.
    pub leakage_cents: i128,
    /// Whether the delivery fell within the window (as amended), bounds included; `None`
    /// unless delivered and the window is known (the order exists).
    pub on_time: Option<bool>,
    /// How many non-voided charges no invoice lists.
    pub unbilled_charges: usize,
    /// Where invoicing stands.
    pub invoice_status: InvoiceStatus,
    /// Delivered, with a proof of delivery, at least one issued invoice, and no unbilled
    /// charge.
    pub invoice_ready: bool,
    /// Whole minutes from the winning `order.created`'s time to `picked_up` (floored, so
    /// negative when the pickup is earlier); `None` without an order or a pickup.
    pub order_to_dispatch_minutes: Option<i64>,
    /// Whole minutes from `delivered` to the earliest winning `invoice.issued` of the
    /// shipment's invoices, at least 0; `None` unless delivered and invoiced.
    pub invoice_cycle_minutes: Option<i64>,
    /// The anomaly flags that hold.
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
