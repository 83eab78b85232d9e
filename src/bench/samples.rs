//! The figures of repeated runs: every measurement of a figure (by its JSON field path, such
//! as `pipeline_eps` or `latency_us.p99`), and its median and spread.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The most repetitions `waybill bench --repeat` accepts.
pub const REPEAT_MAX: u32 = 100;

/// How a figure varied over the repetitions. With one repetition all three are the value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

/// The median of `values` (the mean of the two middle values when their number is even).
pub fn median(values: &[f64]) -> f64 {
    assert!(!values.is_empty(), "a median needs a value");
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// Every measurement of every figure measured, in the order of the repetitions.
#[derive(Debug, Default, Clone)]
pub struct Samples {
    by_figure: BTreeMap<String, Vec<f64>>,
}

impl Samples {
    pub fn push(&mut self, figure: &str, value: f64) {
        assert!(value.is_finite(), "{figure} = {value}");
        let v = self.by_figure.entry(figure.to_owned()).or_default();
        assert!(
            v.len() < REPEAT_MAX as usize,
            "{figure}: more measurements than repetitions"
        );
        v.push(value);
    }

    /// The `index`th measurement of a figure, if there is one.
    pub fn get(&self, figure: &str, index: u32) -> Option<f64> {
        self.by_figure.get(figure)?.get(index as usize).copied()
    }

    /// The median of a figure; `None` when it was not measured.
    pub fn median(&self, figure: &str) -> Option<f64> {
        self.by_figure.get(figure).map(|v| median(v))
    }

    /// The median of a figure, 0 when it was not measured (the report's convention for a path
    /// that did not run).
    pub fn median_or_zero(&self, figure: &str) -> f64 {
        self.median(figure).unwrap_or(0.0)
    }

    /// The spread of every figure measured. Figures held as whole numbers in the report
    /// (latencies in microseconds) are rounded in `median` as in the report itself.
    pub fn spread(&self, whole: impl Fn(&str) -> bool) -> BTreeMap<String, Spread> {
        self.by_figure
            .iter()
            .map(|(name, v)| {
                let min = v.iter().copied().fold(f64::INFINITY, f64::min);
                let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let m = median(v);
                let median = if whole(name) { m.round() } else { m };
                debug_assert!(min <= median && median <= max);
                (name.clone(), Spread { min, median, max })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        let cases: &[(&[f64], f64)] = &[
            (&[5.0], 5.0),
            (&[3.0, 1.0, 2.0], 2.0),
            (&[4.0, 1.0, 3.0, 2.0], 2.5),
            (&[7.0, 7.0], 7.0),
            (&[10.0, 1.0, 1000.0, 2.0, 3.0], 3.0),
        ];
        for (values, want) in cases {
            assert_eq!(median(values), *want, "{values:?}");
        }
    }

    #[test]
    fn spread_keeps_min_median_max_per_figure() {
        let mut s = Samples::default();
        for v in [30.0, 10.0, 20.0, 25.0] {
            s.push("pipeline_eps", v);
        }
        for v in [101.0, 102.0] {
            s.push("latency_us.p99", v);
        }
        let spread = s.spread(|name| name.starts_with("latency"));
        assert_eq!(
            spread["pipeline_eps"],
            Spread {
                min: 10.0,
                median: 22.5,
                max: 30.0
            }
        );
        // 101.5 rounded, as the report holds whole microseconds.
        assert_eq!(spread["latency_us.p99"].median, 102.0);
        assert_eq!(s.median("replay_eps"), None);
        assert_eq!(s.median_or_zero("replay_eps"), 0.0);
        assert_eq!(spread.len(), 2, "only what was measured");
    }
}
