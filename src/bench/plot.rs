//! The latency chart: HdrHistogram's percentile plot of every latency run as one
//! self-contained SVG (no script, no stylesheet), drawn from the `.hgrm` distributions.
//!
//! The x axis is the percentile on the 1/(1-p) scale (0 %, 90 %, 99 %, 99.9 %, ... equally
//! spaced), the y axis the latency in microseconds on a log scale, so the median and the
//! tails of runs a thousand times apart fit one chart. One colour per offered rate; applied
//! latency is a solid line, durable latency a dashed one.

use super::hgrm::Distribution;
use std::fmt::Write as _;

const W: f64 = 760.0;
const LEFT: f64 = 76.0;
const RIGHT: f64 = 40.0;
const TOP: f64 = 60.0;
const PLOT_H: f64 = 300.0;
const LEGEND_ROW_PX: f64 = 18.0;
/// Okabe–Ito colours (distinguishable with the common colour-vision deficiencies), one per
/// offered rate.
const COLOURS: [&str; 6] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
];
/// The most series one chart draws.
pub const SERIES_MAX: usize = 12;

/// One line of the chart.
pub struct Series<'a> {
    pub label: String,
    pub dashed: bool,
    /// Index into the palette (the same for runs at the same offered rate).
    pub colour: usize,
    pub distribution: &'a Distribution,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// x of a quantile: log10(1/(1-q)); `None` for q = 1 (off the scale).
fn ticks_of(q: f64) -> Option<f64> {
    (q < 1.0).then(|| -(1.0 - q).log10())
}

/// The label of the percentile 1 - 10^-k: 0 %, 90 %, 99 %, 99.9 %, ...
fn percentile_label(k: u32) -> String {
    match k {
        0 => "0%".into(),
        1 => "90%".into(),
        2 => "99%".into(),
        _ => format!("99.{}%", "9".repeat(k as usize - 2)),
    }
}

/// The label of 10^k microseconds.
fn latency_label(k: i32) -> String {
    match k {
        ..=2 => format!("{} µs", 10u64.pow(k.max(0) as u32)),
        3..=5 => format!("{} ms", 10u64.pow(k as u32 - 3)),
        _ => format!("{} s", 10u64.pow(k as u32 - 6)),
    }
}

struct Axes {
    x_decades: u32,
    y_lo: i32,
    y_hi: i32,
    bottom: f64,
}

impl Axes {
    fn of(series: &[Series]) -> Axes {
        let points = series.iter().flat_map(|s| &s.distribution.points);
        let mut x_max: f64 = 1.0;
        let (mut v_lo, mut v_hi) = (f64::INFINITY, 1.0_f64);
        for p in points {
            if let Some(x) = ticks_of(p.quantile) {
                x_max = x_max.max(x);
            }
            v_lo = v_lo.min(p.value_us.max(1.0));
            v_hi = v_hi.max(p.value_us.max(1.0));
        }
        let y_lo = if v_lo.is_finite() {
            v_lo.log10().floor() as i32
        } else {
            0
        };
        let y_hi = (v_hi.log10().ceil() as i32).max(y_lo + 1);
        Axes {
            // 1e-9: 0.9999 gives 4.000000000000001 decades.
            x_decades: ((x_max - 1e-9).ceil() as u32).clamp(1, 9),
            y_lo,
            y_hi,
            bottom: TOP + PLOT_H,
        }
    }

    fn px(&self, x: f64) -> f64 {
        let x = x.clamp(0.0, f64::from(self.x_decades));
        LEFT + x / f64::from(self.x_decades) * (W - LEFT - RIGHT)
    }

    fn py(&self, value_us: f64) -> f64 {
        let v = value_us
            .max(1.0)
            .log10()
            .clamp(self.y_lo.into(), self.y_hi.into());
        self.bottom - (v - f64::from(self.y_lo)) / f64::from(self.y_hi - self.y_lo) * PLOT_H
    }
}

/// The chart of `series` under `title` and a line of `subtitle`.
pub fn svg(title: &str, subtitle: &str, series: &[Series]) -> String {
    assert!(series.len() <= SERIES_MAX, "at most {SERIES_MAX} series");
    let a = Axes::of(series);
    let legend_rows = series.len().div_ceil(2);
    let h = a.bottom + 48.0 + legend_rows as f64 * LEGEND_ROW_PX + 8.0;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {h}" width="{W}" height="{h}" font-family="sans-serif" font-size="12" role="img" aria-label="{t}">"#,
        t = esc(title)
    );
    let _ = write!(
        out,
        r##"<title>{t}</title><rect width="100%" height="100%" fill="#ffffff"/><text x="{x}" y="22" font-size="14" font-weight="bold" fill="#222">{t}</text><text x="{x}" y="40" fill="#444">{s}</text>"##,
        x = LEFT,
        t = esc(title),
        s = esc(subtitle)
    );
    grid(&mut out, &a);
    for s in series {
        line(&mut out, &a, s);
    }
    legend(&mut out, &a, series);
    out.push_str("</svg>\n");
    out
}

fn grid(out: &mut String, a: &Axes) {
    for k in a.y_lo..=a.y_hi {
        let y = a.py(10f64.powi(k));
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" x2="{x2}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{tx}" y="{ty:.1}" text-anchor="end" fill="#444">{l}</text>"##,
            x2 = W - RIGHT,
            tx = LEFT - 6.0,
            ty = y + 4.0,
            l = esc(&latency_label(k))
        );
    }
    for k in 0..=a.x_decades {
        let x = a.px(f64::from(k));
        let _ = write!(
            out,
            r##"<line x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{b}" stroke="#ddd"/><text x="{x:.1}" y="{ty}" text-anchor="middle" fill="#444">{l}</text>"##,
            b = a.bottom,
            ty = a.bottom + 16.0,
            l = percentile_label(k)
        );
    }
    let _ = write!(
        out,
        r##"<rect x="{LEFT}" y="{TOP}" width="{w}" height="{PLOT_H}" fill="none" stroke="#888"/><text x="{cx}" y="{ly}" text-anchor="middle" fill="#222">percentile</text><text x="14" y="{my}" text-anchor="middle" fill="#222" transform="rotate(-90 14 {my})">latency (log scale)</text>"##,
        w = W - LEFT - RIGHT,
        cx = (LEFT + W - RIGHT) / 2.0,
        ly = a.bottom + 34.0,
        my = TOP + PLOT_H / 2.0
    );
}

fn line(out: &mut String, a: &Axes, s: &Series) {
    let mut d = String::new();
    for p in &s.distribution.points {
        let Some(x) = ticks_of(p.quantile) else {
            continue;
        };
        let cmd = if d.is_empty() { 'M' } else { 'L' };
        let _ = write!(d, "{cmd}{:.1} {:.1}", a.px(x), a.py(p.value_us));
    }
    if d.is_empty() {
        return;
    }
    let dash = if s.dashed {
        r#" stroke-dasharray="7 4""#
    } else {
        ""
    };
    let _ = write!(
        out,
        r#"<path d="{d}" fill="none" stroke="{c}" stroke-width="2"{dash}><title>{t}</title></path>"#,
        c = COLOURS[s.colour % COLOURS.len()],
        t = esc(&s.label)
    );
}

fn legend(out: &mut String, a: &Axes, series: &[Series]) {
    let col_w = (W - LEFT - RIGHT) / 2.0;
    for (i, s) in series.iter().enumerate() {
        let x = LEFT + (i % 2) as f64 * col_w;
        let y = a.bottom + 56.0 + (i / 2) as f64 * LEGEND_ROW_PX;
        let dash = if s.dashed {
            r#" stroke-dasharray="7 4""#
        } else {
            ""
        };
        let _ = write!(
            out,
            r##"<line x1="{x}" x2="{x2}" y1="{y:.1}" y2="{y:.1}" stroke="{c}" stroke-width="2"{dash}/><text x="{tx}" y="{ty:.1}" fill="#222">{t}</text>"##,
            x2 = x + 28.0,
            c = COLOURS[s.colour % COLOURS.len()],
            tx = x + 34.0,
            ty = y + 4.0,
            t = esc(&s.label)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::hgrm::Point;

    fn dist(values: &[(f64, f64)]) -> Distribution {
        Distribution {
            points: values
                .iter()
                .enumerate()
                .map(|(i, &(value_us, quantile))| Point {
                    value_us,
                    quantile,
                    total_count: i as u64 + 1,
                })
                .collect(),
            max_us: values.last().map_or(0.0, |v| v.0),
            total_count: values.len() as u64,
            about: None,
        }
    }

    #[test]
    fn labels_of_the_axes() {
        let cases = [
            (0, "0%"),
            (1, "90%"),
            (2, "99%"),
            (3, "99.9%"),
            (5, "99.999%"),
        ];
        for (k, want) in cases {
            assert_eq!(percentile_label(k), want);
        }
        let cases = [
            (0, "1 µs"),
            (2, "100 µs"),
            (3, "1 ms"),
            (5, "100 ms"),
            (7, "10 s"),
        ];
        for (k, want) in cases {
            assert_eq!(latency_label(k), want);
        }
    }

    #[test]
    fn the_chart_has_a_line_per_series_and_axes_that_cover_them() {
        let fast = dist(&[
            (8.0, 0.0),
            (10.0, 0.5),
            (40.0, 0.99),
            (900.0, 0.9999),
            (950.0, 1.0),
        ]);
        let slow = dist(&[
            (2_000.0, 0.0),
            (3_000.0, 0.5),
            (64_000.0, 0.999),
            (80_000.0, 1.0),
        ]);
        let series = [
            Series {
                label: "applied, 1,000,000/s".into(),
                dashed: false,
                colour: 0,
                distribution: &fast,
            },
            Series {
                label: "durable <group>, 1,000,000/s".into(),
                dashed: true,
                colour: 0,
                distribution: &slow,
            },
        ];
        let svg = svg("latency & more", "a <subtitle>", &series);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<path ").count(), 2);
        assert_eq!(
            svg.matches("stroke-dasharray").count(),
            2,
            "line and legend"
        );
        assert!(svg.contains("latency &amp; more"));
        assert!(svg.contains(">a &lt;subtitle&gt;<"));
        assert!(svg.contains("durable &lt;group&gt;"));
        // 1 µs .. 100 ms on y, 0 % .. 99.99 % on x.
        assert!(svg.contains(">1 µs<") && svg.contains(">100 ms<"));
        assert!(!svg.contains(">1 s<"));
        assert!(svg.contains(">99.99%<") && !svg.contains(">99.999%<"));
        // Every coordinate inside the plot.
        let a = Axes::of(&series);
        for s in &series {
            for p in &s.distribution.points {
                let y = a.py(p.value_us);
                assert!((TOP..=a.bottom).contains(&y), "{p:?}");
            }
        }
        assert!(a.py(8.0) > a.py(10.0), "larger latencies are higher up");
    }
}
