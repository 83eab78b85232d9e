//! The SLA figures of a run: the distributions of order-to-dispatch and invoice-cycle minutes
//! over the live core's shipment views, of proof-of-delivery propagation over the applied
//! `shipment.delivered` events, their histograms, and the breaches the sinks received.

use super::downstream::{ReceivedData, Receiver};
use crate::checks::quantile;
use crate::report::{Distribution, HistogramBin, SlaMeasureReport, SlaReport};
use crate::scenario::SlaSpec;
use std::collections::BTreeSet;
use waybill_core::effect::SlaMeasure;
use waybill_core::state::ShipmentView;

/// Bin edges of the histograms, minutes: below 0, then `[edge, next edge)`, the last open.
const EDGES_MIN: [i64; 11] = [0, 1, 5, 15, 30, 60, 120, 240, 480, 1440, 2880];

fn label(from: Option<i64>, to: Option<i64>) -> String {
    let m = |v: i64| match v {
        v if v >= 1440 && v % 1440 == 0 => format!("{}d", v / 1440),
        v if v >= 60 && v % 60 == 0 => format!("{}h", v / 60),
        v => format!("{v}m"),
    };
    match (from, to) {
        (None, Some(t)) => format!("< {}", m(t)),
        (Some(f), Some(t)) => format!("{}–{}", m(f), m(t)),
        (Some(f), None) => format!(">= {}", m(f)),
        (None, None) => "all".to_string(),
    }
}

pub(super) fn histogram(values: &[i64]) -> Vec<HistogramBin> {
    let mut bins: Vec<HistogramBin> = std::iter::once((None, Some(EDGES_MIN[0])))
        .chain(EDGES_MIN.windows(2).map(|w| (Some(w[0]), Some(w[1]))))
        .chain(std::iter::once((EDGES_MIN.last().copied(), None)))
        .map(|(from, to)| HistogramBin {
            label: label(from, to),
            from,
            to,
            count: 0,
        })
        .collect();
    for &v in values {
        let k = EDGES_MIN.partition_point(|&e| e <= v);
        bins[k].count += 1;
    }
    bins
}

pub(super) fn distribution(values: &[i64]) -> Option<Distribution> {
    let mut v = values.to_vec();
    let p50 = quantile(&mut v, 0.5)?;
    Some(Distribution {
        count: v.len() as u64,
        min: v[0],
        p50,
        p90: quantile(&mut v, 0.9)?,
        p99: quantile(&mut v, 0.99)?,
        max: v[v.len() - 1],
    })
}

/// The breaches the sinks received (each effect once), per measure in `SlaMeasure::ALL` order.
fn breaches(receivers: &[Receiver]) -> [u64; 3] {
    let mut seen: BTreeSet<u64> = BTreeSet::new();
    let mut out = [0u64; 3];
    for rc in receivers.iter().flat_map(|r| &r.receipts) {
        if let ReceivedData::SlaBreached { measure } = rc.data
            && seen.insert(rc.seq)
        {
            out[measure as usize] += 1;
        }
    }
    out
}

pub(super) fn sla_report(
    spec: &SlaSpec,
    views: &[ShipmentView],
    pod_propagation_min: &[i64],
    receivers: &[Receiver],
) -> SlaReport {
    let breached = breaches(receivers);
    let of_views =
        |f: fn(&ShipmentView) -> Option<i64>| -> Vec<i64> { views.iter().filter_map(f).collect() };
    let measures = SlaMeasure::ALL
        .into_iter()
        .map(|m| {
            let values = match m {
                SlaMeasure::OrderToDispatch => of_views(|v| v.order_to_dispatch_minutes),
                SlaMeasure::InvoiceCycle => of_views(|v| v.invoice_cycle_minutes),
                SlaMeasure::PodPropagation => pod_propagation_min.to_vec(),
            };
            SlaMeasureReport {
                measure: m.as_str().to_string(),
                target_minutes: spec.targets().get(m),
                minutes: distribution(&values),
                histogram: histogram(&values),
                breaches: breached[m as usize],
            }
        })
        .collect();
    SlaReport { measures }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_bin_by_minutes_and_distributions_take_nearest_ranks() {
        let values = [-3, 0, 0, 4, 5, 59, 60, 3000];
        let h = histogram(&values);
        let counts: Vec<(&str, u64)> = h.iter().map(|b| (b.label.as_str(), b.count)).collect();
        assert_eq!(
            counts,
            [
                ("< 0m", 1),
                ("0m–1m", 2),
                ("1m–5m", 1),
                ("5m–15m", 1),
                ("15m–30m", 0),
                ("30m–1h", 1),
                ("1h–2h", 1),
                ("2h–4h", 0),
                ("4h–8h", 0),
                ("8h–1d", 0),
                ("1d–2d", 0),
                (">= 2d", 1),
            ]
        );
        assert_eq!(h.iter().map(|b| b.count).sum::<u64>(), values.len() as u64);
        let d = distribution(&values).unwrap();
        assert_eq!((d.count, d.min, d.p50, d.max), (8, -3, 4, 3000));
        assert_eq!(distribution(&[]), None);
    }
}
