//! The billing engine and the ERP's settlement: after a delivery, a base charge, a fuel
//! surcharge, a detention charge when the dock dwell went past the free minutes (unless
//! billing forgets it), a redelivery charge after a failed attempt; some charges voided and
//! re-issued under a new id; an invoice of the charges that stand; a settlement later, some
//! at a different amount (disputes).

use super::emit::Outbox;
use super::orders::Order;
use crate::rng::Rng;
use crate::scenario::BillingSpec;
use waybill_core::event::{Body, ChargeKind, Contract};

const S_US: i64 = 1_000_000;
const MIN_US: i64 = 60 * S_US;

/// Detention per docs/state.md: whole minutes of dwell past the free minutes, and its price.
pub fn detention(contract: &Contract, arrived_us: i64, departed_us: i64) -> (i64, i64) {
    let minutes = ((departed_us - arrived_us).div_euclid(MIN_US)
        - i64::from(contract.detention_free_min))
    .max(0);
    let cents = (minutes as i128 * contract.detention_cents_per_hour as i128).div_euclid(60);
    (minutes, cents as i64)
}

/// What billing did about one delivered shipment, for the facts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Billed {
    /// Detention was due (minutes, cents) ...
    pub detention_due: Option<(i64, i64)>,
    /// ... and billing forgot it.
    pub detention_omitted: bool,
}

/// The delivery as billing sees it.
pub struct Delivery {
    pub arrived_us: i64,
    pub departed_us: i64,
    pub redelivered: bool,
}

/// The billing stream of shipment `id` (independent of the order deliveries happen in).
pub fn shipment_rng(billing_seed: u64, id: u64) -> Rng {
    Rng::new(billing_seed ^ id.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Bills one delivered shipment: charges, voids and re-issues, invoice, settlement.
pub fn bill(
    out: &mut Outbox,
    rng: &mut Rng,
    spec: &BillingSpec,
    order: &Order,
    d: &Delivery,
) -> Billed {
    let c = &order.contract;
    let id = order.id;
    let mut charges: Vec<(String, ChargeKind, i64)> = Vec::with_capacity(4);
    let mut n = 0u32;
    let next_id = |n: &mut u32| {
        *n += 1;
        format!("CH-{id}-{n}")
    };
    charges.push((next_id(&mut n), ChargeKind::Base, c.base_cents));
    let fuel = (c.base_cents * rng.range_i64(800, 1600) / 10_000).max(1);
    charges.push((next_id(&mut n), ChargeKind::Fuel, fuel));
    let (minutes, cents) = detention(c, d.arrived_us, d.departed_us);
    let mut billed = Billed::default();
    if minutes > 0 {
        billed.detention_due = Some((minutes, cents));
        billed.detention_omitted = rng.chance(spec.detention_omission);
        if !billed.detention_omitted && cents > 0 {
            charges.push((next_id(&mut n), ChargeKind::Detention, cents));
        }
    }
    if d.redelivered {
        let fee = (c.base_cents / 4).clamp(2500, 9000);
        charges.push((next_id(&mut n), ChargeKind::Redelivery, fee));
    }
    // The engine runs a few minutes after the delivery departs.
    let mut t = d.departed_us + rng.range_i64(2 * MIN_US, 10 * MIN_US);
    let mut last = t;
    let mut standing = Vec::with_capacity(charges.len());
    for (charge_id, kind, amount) in charges {
        t += rng.range_i64(S_US / 10, 3 * S_US);
        let add = |out: &mut Outbox, t: i64, charge_id: String| {
            out.push(
                Outbox::BILLING,
                t,
                id,
                Body::ChargeAdded {
                    charge_id,
                    kind,
                    amount_cents: amount,
                    currency: c.currency,
                },
            );
        };
        if rng.chance(spec.void_share) {
            // Voided (a wrong reference, a rate fix) and re-issued under a new id.
            add(out, t, charge_id.clone());
            let tv = t + rng.range_i64(5 * MIN_US, 90 * MIN_US);
            out.push(Outbox::BILLING, tv, id, Body::ChargeVoided { charge_id });
            let tr = tv + rng.range_i64(10 * S_US, 120 * S_US);
            let new_id = next_id(&mut n);
            add(out, tr, new_id.clone());
            standing.push((new_id, amount));
            last = last.max(tr);
        } else {
            add(out, t, charge_id.clone());
            standing.push((charge_id, amount));
            last = last.max(t);
        }
    }
    // The invoice after the charges settle down.
    let ti = last + rng.range_i64(10 * MIN_US, 90 * MIN_US);
    let total: i64 = standing.iter().map(|(_, a)| a).sum();
    let invoice_id = format!("INV-{id}");
    out.push(
        Outbox::BILLING,
        ti,
        id,
        Body::InvoiceIssued {
            invoice_id: invoice_id.clone(),
            total_cents: total,
            charge_ids: standing.into_iter().map(|(c, _)| c).collect(),
        },
    );
    // The ERP settles it some hours later; some customers pay a different amount.
    let ts = ti + (rng.lognormal(3.0, 0.7) * 3600.0 * S_US as f64) as i64;
    let amount_cents = if rng.chance(spec.dispute_share) {
        let cut = (total as f64 * (0.03 + 0.2 * rng.f64())).round() as i64;
        if rng.chance(0.8) {
            (total - cut.max(1)).max(1)
        } else {
            total + cut.max(1)
        }
    } else {
        total
    };
    out.push(
        Outbox::ERP,
        ts,
        id,
        Body::InvoiceSettled {
            invoice_id,
            amount_cents,
        },
    );
    billed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detention_follows_the_contract() {
        let c = Contract {
            currency: *b"EUR",
            base_cents: 100,
            detention_free_min: 30,
            detention_cents_per_hour: 6000,
        };
        let m = 60_000_000;
        assert_eq!(detention(&c, 0, 30 * m + 59_999_999), (0, 0));
        assert_eq!(detention(&c, 0, 31 * m), (1, 100));
        assert_eq!(detention(&c, 0, 95 * m + 1), (65, 6500));
        assert_eq!(detention(&c, 10 * m, 0), (0, 0));
        let c7 = Contract {
            detention_cents_per_hour: 4250,
            ..c
        };
        assert_eq!(detention(&c7, 0, 37 * m), (7, 7 * 4250 / 60));
    }
}
