//! The figures the benchmark aims at, and the run they are for: the full-size workload
//! (10,000,000 events over 1,000,000 shipments; latency at 1,000,000 events/s offered). Any
//! other run is a smoke test whose figures are not comparable with them (a small state fits
//! in the caches, a small journal in the page cache).

use waybill_sim::report::thousands_f;

pub const FULL_SIZE_EVENTS: u64 = 10_000_000;
pub const FULL_SIZE_SHIPMENTS: u64 = 1_000_000;
/// The offered rate the latency targets are for.
pub const TARGET_RATE_EPS: u64 = 1_000_000;

/// Whether a run of this workload is the one the targets are for.
pub fn is_full_size(events: u64, shipments: u64) -> bool {
    events == FULL_SIZE_EVENTS && shipments == FULL_SIZE_SHIPMENTS
}

/// What a figure must reach.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    /// At least this.
    Floor(f64),
    /// At most this.
    Ceiling(f64),
    /// At least this many times another figure of the same run.
    FloorTimes(&'static str, f64),
    /// At most another figure of the same run.
    CeilingOf(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    /// The report's field path.
    pub figure: &'static str,
    pub bound: Bound,
    /// A latency target: only for the runs offered [`TARGET_RATE_EPS`].
    pub at_target_rate: bool,
}

const fn t(figure: &'static str, bound: Bound) -> Target {
    Target {
        figure,
        bound,
        at_target_rate: false,
    }
}

const fn at_rate(figure: &'static str, bound: Bound) -> Target {
    Target {
        figure,
        bound,
        at_target_rate: true,
    }
}

/// Every target, in the report's order.
pub const TARGETS: [Target; 13] = [
    t("pipeline_eps", Bound::Floor(3_500_000.0)),
    t("pipeline_group_eps", Bound::Floor(3_000_000.0)),
    t("replay_eps", Bound::FloorTimes("pipeline_eps", 2.0)),
    t("jsonl_ingest_eps", Bound::Floor(1_000_000.0)),
    t("ratios.pipeline_vs_limit", Bound::Floor(0.5)),
    t("ratios.pipeline_vs_sqlite", Bound::Floor(50.0)),
    at_rate("latency_us.p99", Bound::Ceiling(1_000.0)),
    at_rate("durable_latency_us.p99", Bound::Ceiling(3_000.0)),
    // Background snapshots do not stall the writer: the 25 % run with them has the tail of
    // the run without them, and no event waits 10 ms.
    t(
        "snapshot_stall_us.p99",
        Bound::CeilingOf("latency_at_25pct_us.p99"),
    ),
    t("snapshot_stall_us.max", Bound::Ceiling(10_000.0)),
    t("journal_bytes_per_record", Bound::Ceiling(100.0)),
    t("state_bytes_per_shipment", Bound::Ceiling(256.0)),
    t("restart_ms", Bound::Ceiling(1_000.0)),
];

/// The target of a figure, if it has one.
pub fn of(figure: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.figure == figure)
}

/// How a figure stands against its target.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Met,
    /// Missed by this factor (how many times short, or over).
    Missed(f64),
    /// The run is not the one the target is for: a smoke test (no reason given), or the
    /// reason.
    NotComparable(String),
    NotRun,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Met => f.write_str("met"),
            Verdict::Missed(x) => write!(f, "missed ({x:.1}x)"),
            Verdict::NotComparable(why) if why.is_empty() => f.write_str("not comparable"),
            Verdict::NotComparable(why) => write!(f, "not comparable ({why})"),
            Verdict::NotRun => f.write_str("not run"),
        }
    }
}

/// The run a report describes, as far as the targets care.
#[derive(Debug, Clone, Copy)]
pub struct RunKind {
    pub full_size: bool,
    pub offered_rate_eps: u64,
}

impl Target {
    /// The target as text: `>= 3,500,000`, `<= 1,000`, `>= 2 x pipeline_eps`,
    /// `<= latency_at_25pct_us.p99`.
    pub fn describe(&self) -> String {
        match self.bound {
            Bound::Floor(v) => format!(">= {}", number(v)),
            Bound::Ceiling(v) => format!("<= {}", number(v)),
            Bound::FloorTimes(other, k) => format!(">= {} x {other}", number(k)),
            Bound::CeilingOf(other) => format!("<= {other}"),
        }
    }

    /// Judges `value` (`None`: not measured); `lookup` finds the other figures of the run.
    pub fn judge(
        &self,
        value: Option<f64>,
        run: RunKind,
        lookup: impl Fn(&str) -> Option<f64>,
    ) -> Verdict {
        let Some(v) = value else {
            return Verdict::NotRun;
        };
        if !run.full_size {
            return Verdict::NotComparable(String::new());
        }
        if self.at_target_rate && run.offered_rate_eps != TARGET_RATE_EPS {
            return Verdict::NotComparable(format!(
                "offered {}/s",
                thousands_f(run.offered_rate_eps as f64, 0)
            ));
        }
        let (at_least, bound) = match self.bound {
            Bound::Floor(b) => (true, b),
            Bound::Ceiling(b) => (false, b),
            Bound::FloorTimes(other, k) => match lookup(other) {
                Some(o) => (true, o * k),
                None => return Verdict::NotComparable(format!("{other} not run")),
            },
            Bound::CeilingOf(other) => match lookup(other) {
                Some(o) => (false, o),
                None => return Verdict::NotComparable(format!("{other} not run")),
            },
        };
        let met = if at_least { v >= bound } else { v <= bound };
        match (met, at_least) {
            (true, _) => Verdict::Met,
            (false, true) if v > 0.0 => Verdict::Missed(bound / v),
            (false, true) => Verdict::Missed(f64::INFINITY),
            (false, false) => Verdict::Missed(if bound > 0.0 {
                v / bound
            } else {
                f64::INFINITY
            }),
        }
    }
}

/// A number as the targets are written: thousands separated, decimals only when it has them.
fn number(v: f64) -> String {
    if v.fract() == 0.0 {
        thousands_f(v, 0)
    } else {
        thousands_f(v, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: RunKind = RunKind {
        full_size: true,
        offered_rate_eps: TARGET_RATE_EPS,
    };

    fn judge(figure: &str, value: Option<f64>, run: RunKind) -> Verdict {
        of(figure).unwrap().judge(value, run, |f| match f {
            "pipeline_eps" => Some(2_000_000.0),
            "latency_at_25pct_us.p99" => Some(400.0),
            _ => None,
        })
    }

    #[test]
    fn verdicts_against_the_targets() {
        let smoke = RunKind {
            full_size: false,
            ..FULL
        };
        let slow_rate = RunKind {
            offered_rate_eps: 500_000,
            ..FULL
        };
        let cases: &[(&str, Option<f64>, RunKind, Verdict)] = &[
            ("pipeline_eps", Some(3_500_000.0), FULL, Verdict::Met),
            (
                "pipeline_eps",
                Some(1_750_000.0),
                FULL,
                Verdict::Missed(2.0),
            ),
            (
                "pipeline_eps",
                Some(0.0),
                FULL,
                Verdict::Missed(f64::INFINITY),
            ),
            ("pipeline_eps", None, FULL, Verdict::NotRun),
            ("replay_eps", Some(4_000_000.0), FULL, Verdict::Met),
            ("replay_eps", Some(2_000_000.0), FULL, Verdict::Missed(2.0)),
            ("latency_us.p99", Some(1_000.0), FULL, Verdict::Met),
            (
                "latency_us.p99",
                Some(16_000.0),
                FULL,
                Verdict::Missed(16.0),
            ),
            ("durable_latency_us.p99", Some(2_999.0), FULL, Verdict::Met),
            (
                "journal_bytes_per_record",
                Some(185.0),
                FULL,
                Verdict::Missed(1.85),
            ),
            ("state_bytes_per_shipment", Some(250.6), FULL, Verdict::Met),
            (
                "pipeline_eps",
                Some(9e9),
                smoke,
                Verdict::NotComparable(String::new()),
            ),
            (
                "latency_us.p99",
                Some(10.0),
                slow_rate,
                Verdict::NotComparable("offered 500,000/s".into()),
            ),
            ("pipeline_eps", Some(1e7), slow_rate, Verdict::Met),
        ];
        for (figure, value, run, want) in cases {
            assert_eq!(
                &judge(figure, *value, *run),
                want,
                "{figure} {value:?} {run:?}"
            );
        }
    }

    #[test]
    fn snapshot_targets_restart_and_stall() {
        let smoke = RunKind {
            full_size: false,
            ..FULL
        };
        let slow_rate = RunKind {
            offered_rate_eps: 500_000,
            ..FULL
        };
        let cases: &[(&str, Option<f64>, RunKind, Verdict)] = &[
            ("restart_ms", Some(999.0), FULL, Verdict::Met),
            ("restart_ms", Some(3_000.0), FULL, Verdict::Missed(3.0)),
            ("snapshot_stall_us.p99", Some(400.0), FULL, Verdict::Met),
            (
                "snapshot_stall_us.p99",
                Some(1_000.0),
                FULL,
                Verdict::Missed(2.5),
            ),
            ("snapshot_stall_us.max", Some(10_000.0), FULL, Verdict::Met),
            (
                "snapshot_stall_us.max",
                Some(50_000.0),
                FULL,
                Verdict::Missed(5.0),
            ),
            // A latency target of its own: not tied to the fixed rate.
            (
                "snapshot_stall_us.p99",
                Some(300.0),
                slow_rate,
                Verdict::Met,
            ),
            (
                "snapshot_stall_us.p99",
                Some(300.0),
                smoke,
                Verdict::NotComparable(String::new()),
            ),
        ];
        for (figure, value, run, want) in cases {
            assert_eq!(
                &judge(figure, *value, *run),
                want,
                "{figure} {value:?} {run:?}"
            );
        }
    }

    #[test]
    fn the_relative_target_needs_its_other_figure() {
        let t = of("replay_eps").unwrap();
        assert_eq!(
            t.judge(Some(1.0), FULL, |_| None),
            Verdict::NotComparable("pipeline_eps not run".into())
        );
        assert_eq!(t.describe(), ">= 2 x pipeline_eps");
        let t = of("snapshot_stall_us.p99").unwrap();
        assert_eq!(
            t.judge(Some(1.0), FULL, |_| None),
            Verdict::NotComparable("latency_at_25pct_us.p99 not run".into())
        );
        assert_eq!(t.describe(), "<= latency_at_25pct_us.p99");
        assert_eq!(t.judge(Some(0.0), FULL, |_| Some(0.0)), Verdict::Met);
        assert_eq!(
            t.judge(Some(5.0), FULL, |_| Some(0.0)),
            Verdict::Missed(f64::INFINITY)
        );
        assert_eq!(of("restart_ms").unwrap().describe(), "<= 1,000");
        assert_eq!(of("pipeline_eps").unwrap().describe(), ">= 3,500,000");
        assert_eq!(of("ratios.pipeline_vs_limit").unwrap().describe(), ">= 0.5");
    }

    #[test]
    fn only_the_full_size_workload_is_full_size() {
        assert!(is_full_size(10_000_000, 1_000_000));
        for (e, s) in [
            (2_000_000, 200_000),
            (10_000_000, 200_000),
            (20_000_000, 1_000_000),
        ] {
            assert!(!is_full_size(e, s), "{e} over {s}");
        }
    }
}
