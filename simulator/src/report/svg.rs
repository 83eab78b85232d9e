//! Hand-written SVG charts: time series over simulated time and horizontal bars.
//!
//! Everything is drawn in a `viewBox` of fixed user units and scales with the page. Text is
//! escaped here; styling comes from the page's CSS classes (`axis`, `grid`, `tick`, ...).

use std::fmt::Write;

use super::format::{clock, esc, si};

/// Palette that stays distinguishable with the common colour-vision deficiencies
/// (Okabe–Ito), one colour per source system: erp, route, fleet, billing.
pub(crate) const SYSTEM_COLORS: [&str; 4] = ["#0072B2", "#E69F00", "#009E73", "#CC79A7"];
pub(crate) const CRASH_COLOR: &str = "#D55E00";
const CHAR_PX: f64 = 6.6;
const LANE_PX: f64 = 15.0;
const MAX_LANES: usize = 4;

/// A linear value axis from 0 to `max`, ticks every `step`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Scale {
    pub max: f64,
    pub step: f64,
}

/// A "nice" axis covering `0..=max` with about `target` ticks (steps of 1, 2, 2.5 or 5 × 10ⁿ).
pub(crate) fn nice_scale(max: f64, target: usize) -> Scale {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let raw = max / target.max(1) as f64;
    // libm, not the platform's maths library: the same axes (and HTML) on every platform.
    let mag = libm::pow(10.0, libm::log10(raw).floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw * (1.0 - 1e-12))
        .unwrap_or(10.0 * mag);
    let max = (max / step - 1e-9).ceil().max(1.0) * step;
    Scale { max, step }
}

/// Tick positions (µs) for a time axis from `t0` to `t1`: whole seconds, minutes, hours or
/// days, aligned to the clock, at most about `target` of them.
pub(crate) fn time_ticks(t0: i64, t1: i64, target: usize) -> (Vec<i64>, i64) {
    const STEPS_S: [i64; 22] = [
        1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200,
        86_400, 172_800, 604_800, 2_592_000, 31_536_000,
    ];
    let span = (t1 - t0).max(1);
    let mut step = STEPS_S[STEPS_S.len() - 1] * 1_000_000;
    for s in STEPS_S {
        let us = s * 1_000_000;
        if span / us <= target as i64 {
            step = us;
            break;
        }
    }
    while span / step > 1000 {
        step *= 10;
    }
    let mut t = t0.div_euclid(step) * step;
    if t < t0 {
        t += step;
    }
    let mut ticks = Vec::new();
    while t <= t1 {
        ticks.push(t);
        t += step;
    }
    (ticks, step)
}

/// A label above the plot, for an outage band or a crash line.
pub(crate) struct Marker {
    pub from_us: i64,
    /// Equal to `from_us` for a moment (a crash).
    pub to_us: i64,
    pub label: String,
    pub crash: bool,
}

/// A chart over simulated time: plot area, value scale and the markers above it.
pub(crate) struct TimePlot {
    pub w: f64,
    pub h: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
    pub t0: i64,
    pub t1: i64,
    pub origin_us: i64,
    pub y: Scale,
    /// Lane of each marker (labels placed so they do not overlap).
    lanes: Vec<usize>,
    /// Labels drawn to the left of their line (they would run off the right edge).
    flipped: Vec<bool>,
}

impl TimePlot {
    pub fn new(w: f64, h: f64, t0: i64, t1: i64, origin_us: i64, y: Scale) -> TimePlot {
        let t1 = if t1 > t0 { t1 } else { t0 + 1_000_000 };
        TimePlot {
            w,
            h,
            left: 64.0,
            right: 18.0,
            top: 24.0,
            bottom: 40.0,
            t0,
            t1,
            origin_us,
            y,
            lanes: Vec::new(),
            flipped: Vec::new(),
        }
    }

    /// Places marker labels in lanes above the plot and makes room for them.
    pub fn place_markers(&mut self, markers: &[Marker]) {
        let mut lane_end: Vec<f64> = Vec::new();
        let mut order: Vec<usize> = (0..markers.len()).collect();
        order.sort_by_key(|&i| markers[i].from_us);
        self.lanes = vec![0; markers.len()];
        self.flipped = vec![false; markers.len()];
        for i in order {
            let x = self.px(markers[i].from_us.max(self.t0));
            let len = 4.0 + markers[i].label.chars().count() as f64 * CHAR_PX;
            let flip = x + len > self.w;
            let (begin, end) = if flip { (x - len, x) } else { (x, x + len) };
            self.flipped[i] = flip;
            let lane = match lane_end.iter().position(|e| *e + 6.0 < begin) {
                Some(l) => l,
                None if lane_end.len() < MAX_LANES => {
                    lane_end.push(f64::MIN);
                    lane_end.len() - 1
                }
                None => {
                    // Every lane is busy: reuse the one that frees up first.
                    let mut best = 0;
                    for (l, e) in lane_end.iter().enumerate() {
                        if *e < lane_end[best] {
                            best = l;
                        }
                    }
                    best
                }
            };
            lane_end[lane] = end;
            self.lanes[i] = lane;
        }
        self.top = 24.0 + LANE_PX * lane_end.len() as f64;
    }

    pub fn px(&self, t: i64) -> f64 {
        let t = t.clamp(self.t0, self.t1);
        self.left + (t - self.t0) as f64 / (self.t1 - self.t0) as f64 * self.plot_w()
    }

    pub fn py(&self, v: f64) -> f64 {
        let v = v.clamp(0.0, self.y.max);
        self.h - self.bottom - v / self.y.max * self.plot_h()
    }

    pub fn plot_w(&self) -> f64 {
        self.w - self.left - self.right
    }

    pub fn plot_h(&self) -> f64 {
        self.h - self.top - self.bottom
    }

    pub fn open(&self, out: &mut String, aria: &str) {
        let _ = write!(
            out,
            r#"<svg class="chart" viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="{a}" preserveAspectRatio="xMidYMid meet">"#,
            w = self.w,
            h = self.h,
            a = esc(aria)
        );
        let _ = write!(out, "<title>{}</title>", esc(aria));
    }

    /// Outage bands behind the data.
    pub fn bands(&self, out: &mut String, markers: &[Marker]) {
        for m in markers.iter().filter(|m| !m.crash) {
            let (x0, x1) = (self.px(m.from_us), self.px(m.to_us));
            let _ = write!(
                out,
                r#"<rect class="band" x="{x0:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}"/>"#,
                y = self.top - 2.0,
                w = (x1 - x0).max(1.5),
                h = self.plot_h() + 2.0
            );
        }
    }

    /// Horizontal grid lines and value labels.
    pub fn y_axis(&self, out: &mut String, unit: &str, fmt: &dyn Fn(f64) -> String) {
        let n = (self.y.max / self.y.step).round() as usize;
        for i in 0..=n {
            let v = i as f64 * self.y.step;
            let y = self.py(v);
            let _ = write!(
                out,
                r#"<line class="grid" x1="{l:.1}" x2="{r:.1}" y1="{y:.1}" y2="{y:.1}"/><text class="tick" x="{tx:.1}" y="{ty:.1}" text-anchor="end">{label}</text>"#,
                l = self.left,
                r = self.w - self.right,
                tx = self.left - 8.0,
                ty = y + 4.0,
                label = esc(&fmt(v))
            );
        }
        let _ = write!(
            out,
            r#"<text class="unit" x="{x:.1}" y="{y:.1}" text-anchor="end">{u}</text>"#,
            x = self.left - 8.0,
            y = self.top - 10.0,
            u = esc(unit)
        );
    }

    /// Time-of-day ticks along the bottom.
    pub fn x_axis(&self, out: &mut String) {
        let target = (self.plot_w() / 80.0).max(2.0) as usize;
        let (ticks, step) = time_ticks(self.t0, self.t1, target);
        let base = self.h - self.bottom;
        let _ = write!(
            out,
            r#"<line class="axis" x1="{l:.1}" x2="{r:.1}" y1="{base:.1}" y2="{base:.1}"/>"#,
            l = self.left,
            r = self.w - self.right
        );
        for t in ticks {
            let x = self.px(t);
            let label = clock(t, self.origin_us, step < 60_000_000);
            let _ = write!(
                out,
                r#"<line class="axis" x1="{x:.1}" x2="{x:.1}" y1="{base:.1}" y2="{b2:.1}"/><text class="tick" x="{x:.1}" y="{ty:.1}" text-anchor="middle">{label}</text>"#,
                b2 = base + 5.0,
                ty = base + 18.0,
                label = esc(&label)
            );
        }
        let _ = write!(
            out,
            r#"<text class="unit" x="{x:.1}" y="{y:.1}" text-anchor="end">simulated time (UTC)</text>"#,
            x = self.w - self.right,
            y = base + 34.0
        );
    }

    /// Crash lines over the data and every marker's label above the plot.
    pub fn markers(&self, out: &mut String, markers: &[Marker]) {
        for (i, m) in markers.iter().enumerate() {
            let x = self.px(m.from_us);
            let lane = self.lanes.get(i).copied().unwrap_or(0);
            let ly = 12.0 + LANE_PX * lane as f64;
            if m.crash {
                let _ = write!(
                    out,
                    r#"<line class="crash" x1="{x:.1}" x2="{x:.1}" y1="{y0:.1}" y2="{y1:.1}"/><path class="crash-head" d="M{x:.1} {y0:.1} l-4 -6 h8 z"/>"#,
                    y0 = ly + 6.0,
                    y1 = self.h - self.bottom
                );
            } else {
                let _ = write!(
                    out,
                    r#"<line class="band-edge" x1="{x:.1}" x2="{x:.1}" y1="{y0:.1}" y2="{y1:.1}"/>"#,
                    y0 = ly + 3.0,
                    y1 = self.top - 2.0
                );
            }
            let class = if m.crash {
                "marker crash-label"
            } else {
                "marker"
            };
            let flip = self.flipped.get(i).copied().unwrap_or(false);
            let _ = write!(
                out,
                r#"<text class="{class}" x="{tx:.1}" y="{ly:.1}" text-anchor="{anchor}">{label}</text>"#,
                tx = if flip { x - 4.0 } else { x + 4.0 },
                anchor = if flip { "end" } else { "start" },
                label = esc(&m.label)
            );
        }
    }

    /// A filled step area between `lower` and `upper`, one step per bin `[from, to)`.
    pub fn step_area(
        &self,
        out: &mut String,
        bins: &[(i64, i64)],
        lower: &[f64],
        upper: &[f64],
        class: &str,
        color: &str,
    ) {
        if bins.is_empty() {
            return;
        }
        let mut d = String::new();
        for (i, (from, to)) in bins.iter().enumerate() {
            let y = self.py(upper[i]);
            let cmd = if i == 0 { 'M' } else { 'L' };
            let _ = write!(
                d,
                "{cmd}{:.1} {y:.1}L{:.1} {y:.1}",
                self.px(*from),
                self.px(*to)
            );
        }
        for (i, (from, to)) in bins.iter().enumerate().rev() {
            let y = self.py(lower[i]);
            let _ = write!(
                d,
                "L{:.1} {y:.1}L{:.1} {y:.1}",
                self.px(*to),
                self.px(*from)
            );
        }
        d.push('Z');
        let _ = write!(
            out,
            r#"<path class="{class}" d="{d}" fill="{color}" stroke="{color}"/>"#
        );
    }

    /// A polyline through bin centres, broken where a value is missing, with dots.
    pub fn line(&self, out: &mut String, bins: &[(i64, i64)], values: &[Option<f64>], color: &str) {
        let mut d = String::new();
        let mut pen_down = false;
        let mut dots = String::new();
        let sparse = bins.len() <= 120;
        for (i, (from, to)) in bins.iter().enumerate() {
            match values[i] {
                Some(v) => {
                    let x = (self.px(*from) + self.px(*to)) / 2.0;
                    let y = self.py(v);
                    let _ = write!(d, "{}{x:.1} {y:.1}", if pen_down { 'L' } else { 'M' });
                    pen_down = true;
                    let lonely = (i == 0 || values[i - 1].is_none())
                        && values.get(i + 1).is_none_or(|n| n.is_none());
                    if sparse || lonely {
                        let _ = write!(
                            dots,
                            r#"<circle cx="{x:.1}" cy="{y:.1}" r="2.6" fill="{color}"/>"#
                        );
                    }
                }
                None => pen_down = false,
            }
        }
        if !d.is_empty() {
            let _ = write!(
                out,
                r#"<path class="series-line" d="{d}" stroke="{color}" fill="none"/>"#
            );
        }
        out.push_str(&dots);
    }

    /// A dashed horizontal reference line with a label at its right end.
    pub fn reference(&self, out: &mut String, v: f64, label: &str) {
        let y = self.py(v);
        let _ = write!(
            out,
            r#"<line class="ref" x1="{l:.1}" x2="{r:.1}" y1="{y:.1}" y2="{y:.1}"/><text class="ref-label" x="{r:.1}" y="{ty:.1}" text-anchor="end">{label}</text>"#,
            l = self.left,
            r = self.w - self.right,
            ty = y - 5.0,
            label = esc(label)
        );
    }

    pub fn close(out: &mut String) {
        out.push_str("</svg>");
    }
}

/// One bar of a horizontal bar chart.
pub(crate) struct Bar {
    pub label: String,
    pub value: f64,
    /// Printed after the bar.
    pub text: String,
    pub color: String,
    /// A second, thin bar under the main one (for example what was injected).
    pub under: Option<f64>,
}

/// Horizontal bars with labels on the left and values on the right.
pub(crate) fn hbars(out: &mut String, w: f64, bars: &[Bar], aria: &str, under_label: &str) {
    let label_w = bars
        .iter()
        .map(|b| b.label.chars().count())
        .max()
        .unwrap_or(0) as f64
        * 7.2
        + 16.0;
    let text_w = bars
        .iter()
        .map(|b| b.text.chars().count())
        .max()
        .unwrap_or(0) as f64
        * 7.0
        + 14.0;
    let has_under = bars.iter().any(|b| b.under.is_some());
    let row_h = if has_under { 30.0 } else { 24.0 };
    let top = 6.0;
    let h = top + row_h * bars.len() as f64 + 6.0;
    let max = bars
        .iter()
        .flat_map(|b| [b.value, b.under.unwrap_or(0.0)])
        .fold(0.0, f64::max);
    let max = if max > 0.0 { max } else { 1.0 };
    let plot_w = (w - label_w - text_w).max(40.0);
    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="{a}"><title>{a}</title>"#,
        a = esc(aria)
    );
    for (i, b) in bars.iter().enumerate() {
        let y = top + row_h * i as f64;
        let bw = (b.value.max(0.0) / max * plot_w).max(if b.value > 0.0 { 2.0 } else { 0.0 });
        let bar_h = 16.0;
        let _ = write!(
            out,
            r#"<text class="bar-label" x="{lx:.1}" y="{ty:.1}" text-anchor="end">{label}</text><rect class="track" x="{x:.1}" y="{y:.1}" width="{pw:.1}" height="{bar_h}" rx="3"/><rect x="{x:.1}" y="{y:.1}" width="{bw:.1}" height="{bar_h}" rx="3" fill="{color}"><title>{label}: {text}</title></rect><text class="bar-value" x="{vx:.1}" y="{ty:.1}">{text}</text>"#,
            lx = label_w - 10.0,
            ty = y + 12.5,
            x = label_w,
            pw = plot_w,
            vx = label_w + bw + 6.0,
            label = esc(&b.label),
            text = esc(&b.text),
            color = esc(&b.color),
        );
        if let Some(u) = b.under {
            let uw = (u.max(0.0) / max * plot_w).max(if u > 0.0 { 2.0 } else { 0.0 });
            let _ = write!(
                out,
                r#"<rect class="under" x="{x:.1}" y="{uy:.1}" width="{uw:.1}" height="5" rx="1.5"><title>{ul}: {uv}</title></rect>"#,
                x = label_w,
                uy = y + bar_h + 2.0,
                ul = esc(under_label),
                uv = esc(&si(u)),
            );
        }
    }
    out.push_str("</svg>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_are_nice() {
        assert_eq!(
            nice_scale(0.0, 5),
            Scale {
                max: 1.0,
                step: 0.2
            }
        );
        assert_eq!(
            nice_scale(97.0, 5),
            Scale {
                max: 100.0,
                step: 20.0
            }
        );
        let s = nice_scale(1.2e15, 5);
        assert!(s.max >= 1.2e15 && s.max <= 1.6e15, "{s:?}");
        let s = nice_scale(7.0, 4);
        assert_eq!(s.step, 2.0);
        assert_eq!(s.max, 8.0);
    }

    #[test]
    fn time_ticks_align_to_the_clock() {
        let h = 3_600_000_000i64;
        let (ticks, step) = time_ticks(0, 24 * h, 8);
        assert_eq!(step, 3 * h);
        assert_eq!(ticks.len(), 9);
        let (ticks, _) = time_ticks(90_000_000, 10 * 60_000_000, 10);
        assert_eq!(ticks[0], 120_000_000);
    }
}
