//! Check 6: the effects whose final word does not depend on arrival order, against the
//! simulator's own ground truth (the oracle's shipments, never the core's):
//!
//! - every delivered shipment was confirmed to billing, and its last confirmation carries the
//!   ground truth's delivered time and detention minutes;
//! - every invoice-ready shipment was announced to the ERP;
//! - every delivered shipment with positive leakage was alerted, the last alert carrying its
//!   final `leakage_cents`;
//! - with an SLA target, every shipment whose final minutes pass it was alerted for that
//!   measure (order to dispatch, invoice cycle).

use super::downstream::{Receipt, ReceivedData, Receiver, Subject};
use super::effect_checks::note;
use crate::checks;
use crate::oracle::{Expected, ExpectedShipment};
use crate::report::Check;
use crate::scenario::SlaSpec;
use std::collections::BTreeMap;
use waybill_core::effect::Downstream;
use waybill_core::effect::{EffectType, SlaMeasure};
use waybill_core::time::format_rfc3339_us;

/// What the receivers got about one shipment.
#[derive(Default)]
struct Heard<'a> {
    /// The confirmation and the leakage alert with the highest seq.
    last_confirmed: Option<&'a Receipt>,
    last_leakage: Option<&'a Receipt>,
    invoice_ready: bool,
    /// Breach alerts by [`SlaMeasure`], in `SlaMeasure::ALL` order.
    breached: [bool; 3],
}

fn later<'a>(slot: &mut Option<&'a Receipt>, rc: &'a Receipt) {
    if slot.is_none_or(|p| rc.seq >= p.seq) {
        *slot = Some(rc);
    }
}

/// Per shipment, what the receivers heard.
fn heard(receivers: &[Receiver]) -> BTreeMap<u64, Heard<'_>> {
    let mut out: BTreeMap<u64, Heard<'_>> = BTreeMap::new();
    for rc in receivers.iter().flat_map(|r| &r.receipts) {
        let Subject::Shipment(id) = rc.subject else {
            continue;
        };
        let h = out.entry(id).or_default();
        match (rc.effect_type, rc.data) {
            (EffectType::BillingDeliveryConfirmed, _) => later(&mut h.last_confirmed, rc),
            (EffectType::AlertLeakage, _) => later(&mut h.last_leakage, rc),
            (EffectType::ErpInvoiceReady, _) => h.invoice_ready = true,
            (EffectType::AlertSlaBreached, ReceivedData::SlaBreached { measure }) => {
                h.breached[measure as usize] = true;
            }
            _ => {}
        }
    }
    out
}

/// What the ground truth expects of one shipment's effects that its receipts do not show.
/// What shipment `e` was owed and did not hear; `[billing, erp, ops]` say which sinks were up
/// at the end (a sink down to the end is owed nothing).
fn shipment_diffs(
    e: &ExpectedShipment,
    h: Option<&Heard<'_>>,
    sla: &SlaSpec,
    [billing, erp, ops]: [bool; 3],
) -> Vec<String> {
    let none = Heard::default();
    let h = h.unwrap_or(&none);
    let mut out = Vec::new();
    if let Some(delivered_us) = e.delivered_us.filter(|_| billing) {
        let want = ReceivedData::DeliveryConfirmed {
            delivered_us,
            detention_minutes: e.detention_minutes,
        };
        match h.last_confirmed {
            None => out.push("delivered, never confirmed to billing".to_string()),
            Some(rc) if rc.data != want => out.push(format!(
                "last confirmation (effect {}) says {}, the ground truth delivered at {} with {} detention minutes",
                rc.seq,
                confirmation(rc.data),
                format_rfc3339_us(delivered_us),
                e.detention_minutes
            )),
            Some(_) => {}
        }
    }
    if erp && e.invoice_ready && !h.invoice_ready {
        out.push("invoice-ready, never announced to the ERP".to_string());
    }
    if !ops {
        return out;
    }
    if e.delivered_us.is_some() && e.leakage_cents > 0 {
        let want = ReceivedData::Leakage {
            leakage_cents: e.leakage_cents,
        };
        match h.last_leakage {
            None => out.push(format!("leaks {} cents, never alerted", e.leakage_cents)),
            Some(rc) if rc.data != want => out.push(format!(
                "last leakage alert (effect {}) says {:?}, the ground truth leaks {} cents",
                rc.seq, rc.data, e.leakage_cents
            )),
            Some(_) => {}
        }
    }
    for (measure, minutes) in [
        (SlaMeasure::OrderToDispatch, e.order_to_dispatch_minutes),
        (SlaMeasure::InvoiceCycle, e.invoice_cycle_minutes),
    ] {
        let target = sla.targets().get(measure);
        if let (Some(t), Some(m)) = (target, minutes)
            && m > i64::from(t)
            && !h.breached[measure as usize]
        {
            out.push(format!(
                "{} of {m} minutes passes its target of {t}, never alerted",
                measure.as_str()
            ));
        }
    }
    out
}

fn confirmation(d: ReceivedData) -> String {
    match d {
        ReceivedData::DeliveryConfirmed {
            delivered_us,
            detention_minutes,
        } => format!(
            "delivered at {} with {detention_minutes} detention minutes",
            format_rfc3339_us(delivered_us)
        ),
        other => format!("{other:?}"),
    }
}

pub(super) fn effects_match_ground_truth(
    expected: &Expected,
    receivers: &[Receiver],
    sla: &SlaSpec,
    down_at_end: impl Fn(Downstream) -> bool,
) -> Check {
    let heard = heard(receivers);
    // A sink down to the end heard nothing it was owed after it went down: not expected.
    let up = [Downstream::Billing, Downstream::Erp, Downstream::Ops].map(|s| !down_at_end(s));
    let mut lines = Vec::new();
    let mut wrong = 0u64;
    let mut watched = 0u64;
    for e in expected.shipments.values() {
        watched += u64::from(e.delivered_us.is_some() || e.invoice_ready);
        let diffs = shipment_diffs(e, heard.get(&e.id), sla, up);
        if !diffs.is_empty() {
            wrong += 1;
            note(&mut lines, || {
                format!("shipment {}: {}", e.id, diffs.join("; "))
            });
        }
    }
    checks::check(
        "effects_match_ground_truth",
        wrong == 0,
        format!("{watched} delivered or invoice-ready shipments as the ground truth says"),
        format!("{wrong} differ"),
        lines.join("\n"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use waybill_core::effect::EffectKey;

    fn receipt(seq: u64, id: u64, effect_type: EffectType, data: ReceivedData) -> Receipt {
        Receipt {
            seq,
            key: EffectKey([seq as u8; 16]),
            effect_type,
            subject: Subject::Shipment(id),
            data,
            received_us: 0,
        }
    }

    fn confirmed(seq: u64, delivered_us: i64, detention_minutes: i64) -> Receipt {
        let data = ReceivedData::DeliveryConfirmed {
            delivered_us,
            detention_minutes,
        };
        receipt(seq, 1, EffectType::BillingDeliveryConfirmed, data)
    }

    fn leak(seq: u64, leakage_cents: i64) -> Receipt {
        let data = ReceivedData::Leakage { leakage_cents };
        receipt(seq, 1, EffectType::AlertLeakage, data)
    }

    /// Shipment 1 delivered at 100 with 20 detention minutes, leaking 700 cents, invoice-ready,
    /// 400 minutes from order to dispatch.
    fn truth() -> ExpectedShipment {
        ExpectedShipment {
            delivered_us: Some(100),
            detention_minutes: 20,
            leakage_cents: 700,
            invoice_ready: true,
            order_to_dispatch_minutes: Some(400),
            ..crate::oracle::shipment(1, &[])
        }
    }

    #[test]
    fn the_last_word_of_each_effect_must_carry_the_final_facts() {
        let ready = receipt(9, 1, EffectType::ErpInvoiceReady, ReceivedData::Other);
        let breach = receipt(
            10,
            1,
            EffectType::AlertSlaBreached,
            ReceivedData::SlaBreached {
                measure: SlaMeasure::OrderToDispatch,
            },
        );
        let all = || {
            vec![
                confirmed(3, 90, 0),
                confirmed(5, 100, 20),
                leak(6, 700),
                ready.clone(),
                breach.clone(),
            ]
        };
        let sla = SlaSpec {
            order_to_dispatch_min: Some(360),
            ..SlaSpec::default()
        };
        let cases: Vec<(&str, Vec<Receipt>, SlaSpec, &[&str])> = vec![
            ("everything heard", all(), sla, &[]),
            (
                "no target, no breach needed",
                all()[..4].to_vec(),
                SlaSpec::default(),
                &[],
            ),
            (
                "a stale confirmation last",
                vec![
                    confirmed(7, 90, 0),
                    confirmed(5, 100, 20),
                    leak(6, 700),
                    ready.clone(),
                    breach.clone(),
                ],
                sla,
                &["last confirmation (effect 7)"],
            ),
            (
                "never confirmed",
                all()[2..].to_vec(),
                sla,
                &["never confirmed to billing"],
            ),
            (
                "leakage alert stale",
                vec![
                    confirmed(5, 100, 20),
                    leak(6, 500),
                    ready.clone(),
                    breach.clone(),
                ],
                sla,
                &["last leakage alert (effect 6)"],
            ),
            (
                "never announced",
                vec![confirmed(5, 100, 20), leak(6, 700), breach.clone()],
                sla,
                &["never announced to the ERP"],
            ),
            (
                "breach not alerted",
                all()[..4].to_vec(),
                sla,
                &["order_to_dispatch of 400 minutes passes its target of 360"],
            ),
        ];
        for (what, receipts, sla, want) in cases {
            let mut rs = Receiver::all(
                &crate::scenario::Scenario::from_toml(
                    "name = \"t\"\n[world]\nshipments = 1\nvehicles = 1\nstart = \"2026-11-27T00:00:00Z\"\nhorizon = \"1h\"\n",
                )
                .unwrap(),
                1,
                crate::run::Sabotage::None,
            );
            rs[0].receipts = receipts;
            let heard = heard(&rs);
            let diffs = shipment_diffs(&truth(), heard.get(&1), &sla, [true; 3]);
            assert_eq!(diffs.len(), want.len(), "{what}: {diffs:?}");
            for (d, w) in diffs.iter().zip(want) {
                assert!(d.contains(w), "{what}: {d:?} lacks {w:?}");
            }
            // Sinks down to the end are owed nothing.
            let owed_nothing = shipment_diffs(&truth(), heard.get(&1), &sla, [false; 3]);
            assert!(owed_nothing.is_empty(), "{what}: {owed_nothing:?}");
        }
    }
}
