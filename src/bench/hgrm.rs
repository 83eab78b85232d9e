//! Percentile distributions as text, in HdrHistogram's classic `.hgrm` layout (the output of
//! `outputPercentileDistribution`, read by HdrHistogram's plotter): the value at each
//! percentile, stepping in ticks that halve the distance to 100 %, with the cumulative count
//! and 1/(1-percentile), then the mean, maximum and count. Values are microseconds.
//!
//! After the standard footer, one line says what was measured:
//! `#[waybill figure=latency_us measure=applied durability=none offered_eps=1000000 runs=1
//! events=2000000 shipments=200000]` (one line), so the chart can label its series.

use hdrhistogram::Histogram;
use std::fmt::Write as _;

/// Percentile ticks per halving of the distance to 100 % (HdrHistogram's default is 5).
const TICKS_PER_HALF_DISTANCE: u32 = 5;
/// Most points a distribution file may hold when read back (a 1-minute range at 3 digits
/// gives a few hundred).
const POINTS_MAX: usize = 100_000;

/// What a distribution measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct About {
    /// The report's field (`latency_us`, `durable_latency_at_25pct_us`, ...).
    pub figure: String,
    /// `applied`, `durable`, or `applied+snapshots` (the stall run).
    pub measure: String,
    pub durability: String,
    pub offered_eps: u64,
    /// Runs pooled into the distribution (`--repeat`).
    pub runs: u32,
    /// The benchmark's workload.
    pub events: u64,
    pub shipments: u64,
}

/// One point of a distribution: the latency at a percentile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub value_us: f64,
    /// 0.0 ..= 1.0.
    pub quantile: f64,
    pub total_count: u64,
}

/// A distribution read back from its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Distribution {
    pub points: Vec<Point>,
    pub max_us: f64,
    pub total_count: u64,
    pub about: Option<About>,
}

/// Sub-buckets per bucket of a histogram with this precision (as HdrHistogram sizes them).
fn sub_buckets(sigfig: u8) -> u64 {
    (2 * 10u64.pow(u32::from(sigfig))).next_power_of_two()
}

/// The `.hgrm` text of `h`.
pub fn write(h: &Histogram<u64>, about: &About) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "{:>12} {:>14} {:>10} {:>14}\n\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    let mut total: u64 = 0;
    for v in h.iter_quantiles(TICKS_PER_HALF_DISTANCE) {
        total += v.count_since_last_iteration();
        let q = v.quantile_iterated_to();
        let value = v.value_iterated_to() as f64;
        if q < 1.0 {
            let _ = writeln!(
                out,
                "{value:12.3} {q:2.12} {total:10} {:14.2}",
                1.0 / (1.0 - q)
            );
        } else {
            let _ = writeln!(out, "{value:12.3} {q:2.12} {total:10}");
        }
    }
    debug_assert_eq!(total, h.len());
    let _ = writeln!(
        out,
        "#[Mean    = {:12.3}, StdDeviation   = {:12.3}]",
        h.mean(),
        h.stdev()
    );
    let max = if h.is_empty() { 0 } else { h.max() };
    let _ = writeln!(
        out,
        "#[Max     = {:12.3}, Total count    = {:12}]",
        max as f64,
        h.len()
    );
    let _ = writeln!(
        out,
        "#[Buckets = {:12}, SubBuckets     = {:12}]",
        h.buckets(),
        sub_buckets(h.sigfig())
    );
    let _ = writeln!(
        out,
        "#[waybill figure={} measure={} durability={} offered_eps={} runs={} events={} shipments={}]",
        about.figure,
        about.measure,
        about.durability,
        about.offered_eps,
        about.runs,
        about.events,
        about.shipments
    );
    out
}

/// Reads a distribution written by [`write`] (or by HdrHistogram itself). Errors name the
/// line.
pub fn parse(text: &str) -> Result<Distribution, String> {
    let mut d = Distribution {
        points: Vec::new(),
        max_us: 0.0,
        total_count: 0,
        about: None,
    };
    for (i, line) in text.lines().enumerate() {
        let at = |what: &str| format!("line {}: {what}", i + 1);
        let line = line.trim();
        if line.is_empty() || line.starts_with("Value") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("#[Max") {
            let (max, count) = footer_max(rest).ok_or_else(|| at("unreadable #[Max line"))?;
            d.max_us = max;
            d.total_count = count;
        } else if let Some(rest) = line.strip_prefix("#[waybill ") {
            d.about = Some(about(rest.trim_end_matches(']')).map_err(|e| at(&e))?);
        } else if !line.starts_with('#') {
            let p = point(line).ok_or_else(|| at("expected value, percentile, count"))?;
            if let Some(last) = d.points.last()
                && (p.quantile < last.quantile || p.value_us < last.value_us)
            {
                return Err(at("percentiles and values must not decrease"));
            }
            if d.points.len() == POINTS_MAX {
                return Err(at(&format!("more than {POINTS_MAX} points")));
            }
            d.points.push(p);
        }
    }
    if d.points.is_empty() {
        return Err("no percentile lines".into());
    }
    Ok(d)
}

fn point(line: &str) -> Option<Point> {
    let mut cols = line.split_whitespace();
    let value_us: f64 = cols.next()?.parse().ok()?;
    let quantile: f64 = cols.next()?.parse().ok()?;
    let total_count: u64 = cols.next()?.parse().ok()?;
    let ok = value_us.is_finite() && value_us >= 0.0 && (0.0..=1.0).contains(&quantile);
    ok.then_some(Point {
        value_us,
        quantile,
        total_count,
    })
}

/// `     = 21327.000, Total count    =      2000000]` -> (21327.0, 2000000).
fn footer_max(rest: &str) -> Option<(f64, u64)> {
    let (max, count) = rest.split_once(',')?;
    let max = max.trim().strip_prefix('=')?.trim().parse().ok()?;
    let count = count.trim().strip_prefix("Total count")?.trim();
    let count = count.strip_prefix('=')?.trim().trim_end_matches(']').trim();
    Some((max, count.parse().ok()?))
}

fn about(fields: &str) -> Result<About, String> {
    let mut a = About {
        figure: String::new(),
        measure: String::new(),
        durability: String::new(),
        offered_eps: 0,
        runs: 0,
        events: 0,
        shipments: 0,
    };
    for kv in fields.split_whitespace() {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("expected key=value, found {kv:?}"))?;
        let num = || v.parse::<u64>().map_err(|_| format!("{k}: not a number"));
        match k {
            "figure" => a.figure = v.to_owned(),
            "measure" => a.measure = v.to_owned(),
            "durability" => a.durability = v.to_owned(),
            "offered_eps" => a.offered_eps = num()?,
            "runs" => a.runs = u32::try_from(num()?).map_err(|_| "runs: too large")?,
            "events" => a.events = num()?,
            "shipments" => a.shipments = num()?,
            _ => {} // later versions may say more
        }
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn about() -> About {
        About {
            figure: "latency_at_25pct_us".into(),
            measure: "durable".into(),
            durability: "group".into(),
            offered_eps: 410_978,
            runs: 3,
            events: 2_000_000,
            shipments: 200_000,
        }
    }

    fn histogram(values: impl IntoIterator<Item = u64>) -> Histogram<u64> {
        let mut h = super::super::latency::histogram();
        for v in values {
            h.record(v).unwrap();
        }
        h
    }

    #[test]
    fn written_distributions_read_back_with_their_percentiles() {
        let h = histogram((1..=10_000).map(|i| i * 7 % 5_000 + 1));
        let text = write(&h, &about());
        assert!(text.starts_with("       Value     Percentile TotalCount 1/(1-Percentile)\n\n"));
        let d = parse(&text).unwrap();
        assert_eq!(d.about, Some(about()));
        assert_eq!(d.total_count, 10_000);
        assert_eq!(d.max_us, h.max() as f64);
        let first = d.points[0];
        let last = *d.points.last().unwrap();
        assert_eq!(first.quantile, 0.0, "the first tick is the minimum");
        assert_eq!(first.value_us, h.min() as f64);
        assert_eq!(last.quantile, 1.0);
        assert_eq!(last.total_count, 10_000);
        assert_eq!(last.value_us, h.max() as f64);
        // Every value is the histogram's value at that percentile.
        for p in &d.points {
            let want = h.value_at_quantile(p.quantile) as f64;
            assert!(
                (p.value_us - want).abs() <= want * 1e-3 + 1.0,
                "{p:?} against {want}"
            );
        }
        // Ticks halve the distance to 100 %: there are points past 99.9 %.
        assert!(
            d.points
                .iter()
                .any(|p| p.quantile > 0.999 && p.quantile < 1.0)
        );
    }

    #[test]
    fn the_footer_is_hdrhistogram_s() {
        let h = histogram([10, 20, 30]);
        let text = write(&h, &about());
        let footer: Vec<&str> = text.lines().filter(|l| l.starts_with("#[")).collect();
        assert_eq!(footer.len(), 4, "{text}");
        assert!(footer[0].starts_with("#[Mean    =       20.000, StdDeviation   ="));
        assert_eq!(
            footer[1],
            "#[Max     =       30.000, Total count    =            3]"
        );
        assert!(
            footer[2].ends_with("SubBuckets     =         2048]"),
            "{}",
            footer[2]
        );
    }

    #[test]
    fn bad_text_is_an_error_naming_the_line() {
        let good = write(&histogram([10, 20, 30]), &about());
        let cases: &[(&str, &str)] = &[
            ("", "no percentile lines"),
            ("Value Percentile\n\n", "no percentile lines"),
            ("10.0 0.5 1 2.0\nnot a number\n", "line 2"),
            ("10.0 1.5 1\n", "line 1"),
            (
                "20.0 0.5 1 2.0\n10.0 0.9 2 10.0\n",
                "line 2: percentiles and values",
            ),
            (
                "20.0 0.5 1 2.0\n#[Max = x, Total count = 3]\n",
                "line 2: unreadable",
            ),
            ("20.0 0.5 1 2.0\n#[waybill runs=many]\n", "line 2: runs"),
        ];
        for (text, want) in cases {
            let e = parse(text).unwrap_err();
            assert!(e.contains(want), "{text:?}: {e}");
        }
        assert!(parse(&good).is_ok());
    }
}
