//! Money in the checks and the report: the summary's totals per currency against the ground
//! truth's sums, and the leakage of each currency (forgotten, expected, found). Cents of two
//! currencies are never added.

use super::Prepared;
use super::observe::Observed;
use crate::checks;
use crate::oracle::{Expected, UNKNOWN_CURRENCY, currency_key};
use crate::report::{Check, CurrencyLeakage, Leakage};
use std::collections::{BTreeMap, BTreeSet};
use waybill_core::event::Body;

/// The summary's money per currency (billed, expected detention, leakage) against the
/// ground truth's sums: exact, and never added across currencies.
pub(super) fn totals_check(expected: &Expected, obs: &Observed) -> Check {
    let fields = |b: i128, d: i128, l: i128| {
        [
            ("billed_cents", b),
            ("expected_detention_cents", d),
            ("leakage_cents", l),
        ]
    };
    let mut diffs = Vec::new();
    let currencies: BTreeSet<&String> = (expected.by_currency.keys())
        .chain(obs.summary.totals.keys())
        .collect();
    for currency in &currencies {
        let want = expected
            .by_currency
            .get(*currency)
            .copied()
            .unwrap_or_default();
        let got = obs
            .summary
            .totals
            .get(*currency)
            .copied()
            .unwrap_or_default();
        let want = fields(
            want.billed_cents,
            want.expected_detention_cents,
            want.leakage_cents,
        );
        let got = fields(
            got.billed_cents,
            got.expected_detention_cents,
            got.leakage_cents,
        );
        for ((name, w), (_, g)) in want.iter().zip(got) {
            if *w != g {
                diffs.push(format!("{currency} {name}: expected {w}, the core has {g}"));
            }
        }
    }
    let names: Vec<&str> = currencies.iter().map(|c| c.as_str()).collect();
    checks::check(
        "totals_match_ground_truth",
        diffs.is_empty(),
        format!("{} equal", names.join(", ")),
        format!("{} differ", diffs.len()),
        diffs.join("\n"),
    )
}

/// Largest leaks listed per currency.
const TOP_LEAKS: usize = 10;

/// The true contract currency of each shipment, from the world's `order.created` events
/// (whether or not they were delivered).
fn contract_currencies(p: &Prepared) -> BTreeMap<u64, [u8; 3]> {
    let mut out = BTreeMap::new();
    for e in &p.world.events {
        if let Body::OrderCreated { contract, .. } = &e.event.body {
            out.entry(e.event.subject).or_insert(contract.currency);
        }
    }
    out
}

/// What billing forgot, what the ground truth expects and what the core found, per currency.
pub(super) fn leakage(p: &Prepared, expected: &Expected, obs: &Observed) -> Leakage {
    let currencies = contract_currencies(p);
    let mut by = BTreeMap::<String, CurrencyLeakage>::new();
    for o in &p.world.facts.detention_omissions {
        let c = get(&mut by, currency_key(currencies.get(&o.shipment).copied()));
        c.omitted_detention_charges += 1;
        c.omitted_detention_cents += i128::from(o.cents);
    }
    for (currency, sums) in &expected.by_currency {
        let c = get(&mut by, currency.clone());
        c.expected_cents = sums.leakage_cents;
        c.expected_leaking_shipments = sums.leaking_shipments;
    }
    for (currency, t) in &obs.summary.totals {
        get(&mut by, currency.clone()).found_cents = t.leakage_cents;
    }
    for v in obs.views.iter().filter(|v| v.leakage_cents > 0) {
        let currency = v
            .contract
            .as_ref()
            .map_or_else(|| UNKNOWN_CURRENCY.to_string(), |k| k.currency.clone());
        let c = get(&mut by, currency);
        c.leaking_shipments += 1;
        c.top.push((v.id, v.leakage_cents));
    }
    let mut currencies: Vec<CurrencyLeakage> = by
        .into_values()
        .filter(|c| c.omitted_detention_cents != 0 || c.expected_cents != 0 || c.found_cents != 0)
        .collect();
    for c in &mut currencies {
        c.top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        c.top.truncate(TOP_LEAKS);
    }
    Leakage {
        omitted_detention_charges: p.world.facts.detention_omitted,
        expected_leaking_shipments: expected.leaking_shipments,
        leaking_shipments: obs.summary.leaking_shipments,
        currencies,
    }
}

/// The entry of `currency`, made when missing.
fn get(by: &mut BTreeMap<String, CurrencyLeakage>, currency: String) -> &mut CurrencyLeakage {
    by.entry(currency.clone())
        .or_insert_with(|| CurrencyLeakage {
            currency,
            ..CurrencyLeakage::default()
        })
}
