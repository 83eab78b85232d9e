//! The effects part of the HTML report: delivered and pending over simulated time per sink,
//! the breakers' open spans, the sinks' figures, latency per class and the SLA measures.

use std::fmt::Write;

use super::super::format::{clock, esc, si, span, thousands};
use super::super::svg::{Bar, Marker, Scale, TimePlot, hbars, nice_scale};
use super::super::{CrashReport, EffectBucket, EffectsReport, SlaMeasureReport};
use super::{HALF, MAX_BINS, WIDE, empty, kv, tile};
use crate::checks::duration;
use waybill_core::time::parse_rfc3339_us;

const SINKS: [&str; 4] = ["route", "billing", "erp", "ops"];
/// One colour per sink, those of the source systems of the same name (ops: the fleet's).
const SINK_COLORS: [&str; 4] = ["#E69F00", "#CC79A7", "#0072B2", "#009E73"];
const BREAKER_COLOR: &str = "#D55E00";
/// The height of a lane's row in the breaker chart.
const ROW_PX: f64 = 26.0;

/// Buckets as drawn: several merged into one when there are many.
struct Bin {
    from: i64,
    to: i64,
    delivered: [u64; 4],
    /// At the end of the bin.
    pending: [u64; 4],
}

fn bins(e: &EffectsReport) -> Vec<Bin> {
    let t = &e.timeline;
    let width = t.bucket_seconds.max(1) as i64 * 1_000_000;
    let merge = t.buckets.len().div_ceil(MAX_BINS).max(1);
    t.buckets
        .chunks(merge)
        .enumerate()
        .map(|(i, chunk)| {
            let from = t.start_us + (i * merge) as i64 * width;
            let mut delivered = [0u64; 4];
            for b in chunk {
                for (d, n) in delivered.iter_mut().zip(b.delivered) {
                    *d = d.saturating_add(n);
                }
            }
            let last: &EffectBucket = chunk.last().expect("chunks are not empty");
            Bin {
                from,
                to: from + chunk.len() as i64 * width,
                delivered,
                pending: last.pending,
            }
        })
        .collect()
}

/// Sink outage bands and crash lines, those inside the drawn span.
fn markers(
    e: &EffectsReport,
    crashes: &[CrashReport],
    origin: i64,
    (t0, t1): (i64, i64),
) -> Vec<Marker> {
    let mut out: Vec<Marker> = e
        .sink_outages
        .iter()
        .map(|o| Marker {
            from_us: o.from_us,
            to_us: o.to_us,
            label: format!(
                "{} down {}–{}",
                if o.sink == "*" { "every sink" } else { &o.sink },
                clock(o.from_us, origin, false),
                clock(o.to_us, origin, false)
            ),
            crash: false,
        })
        .collect();
    out.extend(crashes.iter().filter_map(|c| {
        let at = parse_rfc3339_us(&c.at)?;
        Some(Marker {
            from_us: at,
            to_us: at,
            label: format!("crash {}", clock(at, origin, false)),
            crash: true,
        })
    }));
    out.retain(|m| m.from_us <= t1 && m.to_us >= t0);
    out
}

fn legend(o: &mut String, totals: &[u64; 4], markers: &[Marker]) {
    o.push_str(r#"<div class="legend">"#);
    for k in 0..4 {
        let _ = write!(
            o,
            r#"<span><i class="sw" style="background:{c}"></i>{name} <span class="mono">{n}</span></span>"#,
            c = SINK_COLORS[k],
            name = SINKS[k],
            n = thousands(totals[k])
        );
    }
    if markers.iter().any(|m| !m.crash) {
        o.push_str(r#"<span><i class="sw hatch"></i>sink down</span>"#);
    }
    if markers.iter().any(|m| m.crash) {
        o.push_str(r#"<span><i class="sw crash"></i>crash and reopen</span>"#);
    }
    o.push_str("</div>");
}

fn delivered_chart(bins: &[Bin], markers: &[Marker], origin: i64, o: &mut String) {
    let mut totals = [0u64; 4];
    for b in bins {
        for (t, n) in totals.iter_mut().zip(b.delivered) {
            *t = t.saturating_add(n);
        }
    }
    let bin_s = (bins[0].to - bins[0].from) / 1_000_000;
    let _ = write!(
        o,
        r#"<section class="card row"><h2>Effects delivered</h2><p class="sub">Effects first received by each downstream system per {}-wide bucket, stacked by sink, simulated time.</p>"#,
        span(bin_s).replace(' ', "")
    );
    legend(o, &totals, markers);
    let peak = bins
        .iter()
        .map(|b| b.delivered.iter().sum::<u64>())
        .max()
        .unwrap_or(0) as f64;
    let mut plot = time_plot(WIDE, 300.0, bins, origin, nice_scale(peak * 1.04, 5));
    plot.place_markers(markers);
    plot.open(
        o,
        "Effects first received per bucket by sink over simulated time",
    );
    plot.bands(o, markers);
    plot.y_axis(o, "effects", &si);
    let spans: Vec<(i64, i64)> = bins.iter().map(|b| (b.from, b.to)).collect();
    let mut lower = vec![0.0; bins.len()];
    for k in 0..4 {
        let upper: Vec<f64> = bins
            .iter()
            .zip(&lower)
            .map(|(b, l)| l + b.delivered[k] as f64)
            .collect();
        if totals[k] > 0 {
            plot.step_area(o, &spans, &lower, &upper, "area", SINK_COLORS[k]);
        }
        lower = upper;
    }
    plot.x_axis(o);
    plot.markers(o, markers);
    TimePlot::close(o);
    o.push_str("</section>");
}

fn time_plot(w: f64, h: f64, bins: &[Bin], origin: i64, y: Scale) -> TimePlot {
    TimePlot::new(w, h, bins[0].from, bins[bins.len() - 1].to, origin, y)
}

fn pending_chart(bins: &[Bin], markers: &[Marker], origin: i64, o: &mut String) {
    o.push_str(r#"<section class="card"><h2>Effects pending</h2><p class="sub">Derived and not yet received at the end of each bucket, per sink.</p>"#);
    let peaks: [u64; 4] =
        std::array::from_fn(|k| bins.iter().map(|b| b.pending[k]).max().unwrap_or(0));
    legend(o, &peaks, markers);
    let peak = peaks.iter().copied().max().unwrap_or(0) as f64;
    let mut plot = time_plot(HALF, 280.0, bins, origin, nice_scale(peak * 1.04, 4));
    plot.place_markers(markers);
    plot.open(o, "Effects pending per sink over simulated time");
    plot.bands(o, markers);
    plot.y_axis(o, "effects", &si);
    let spans: Vec<(i64, i64)> = bins.iter().map(|b| (b.from, b.to)).collect();
    for k in 0..4 {
        let values: Vec<Option<f64>> = bins.iter().map(|b| Some(b.pending[k] as f64)).collect();
        if peaks[k] > 0 {
            plot.line(o, &spans, &values, SINK_COLORS[k]);
        }
    }
    plot.x_axis(o);
    plot.markers(o, markers);
    TimePlot::close(o);
    o.push_str("</section>");
}

/// The lanes whose breaker opened, `sink/class`, sorted.
fn breaker_lanes(e: &EffectsReport) -> Vec<(String, String)> {
    let mut lanes: Vec<(String, String)> = e
        .breaker_spans
        .iter()
        .map(|b| (b.sink.clone(), b.class.clone()))
        .collect();
    lanes.sort();
    lanes.dedup();
    lanes
}

/// One lane's row: its label and a bar per span its breaker was not closed.
fn breaker_row(
    e: &EffectsReport,
    plot: &TimePlot,
    lane: &(String, String),
    y: f64,
    o: &mut String,
) {
    let (sink, class) = lane;
    let _ = write!(
        o,
        r#"<text class="tick" x="{x:.1}" y="{ty:.1}" text-anchor="end">{label}</text>"#,
        x = plot.left - 8.0,
        ty = y + 12.0,
        label = esc(&format!("{sink}/{class}"))
    );
    for b in e
        .breaker_spans
        .iter()
        .filter(|b| &b.sink == sink && &b.class == class)
    {
        let to = b.to_us.unwrap_or(plot.t1).clamp(plot.t0, plot.t1);
        let (x0, x1) = (plot.px(b.from_us), plot.px(to));
        let open_for = b
            .to_us
            .map_or("the rest of the run".into(), |t| duration(t - b.from_us));
        let _ = write!(
            o,
            r#"<rect x="{x0:.1}" y="{y:.1}" width="{w:.1}" height="16" rx="2" fill="{BREAKER_COLOR}"><title>{t}</title></rect>"#,
            w = (x1 - x0).max(1.5),
            t = esc(&format!(
                "{sink}/{class} open {} for {open_for}",
                clock(b.from_us, plot.origin_us, true)
            ))
        );
    }
}

/// One row per lane whose breaker opened, a bar per span it was not closed.
fn breaker_chart(e: &EffectsReport, bins: &[Bin], markers: &[Marker], origin: i64, o: &mut String) {
    o.push_str(r#"<section class="card"><h2>Breakers</h2><p class="sub">When each lane's circuit breaker was open (or half-open, probing), per sink and class.</p>"#);
    let lanes = breaker_lanes(e);
    if lanes.is_empty() {
        o.push_str(r#"<div class="legend">&nbsp;</div>"#);
        empty(o, "No breaker opened.");
        o.push_str("</section>");
        return;
    }
    let _ = write!(
        o,
        r#"<div class="legend"><span><i class="sw" style="background:{BREAKER_COLOR}"></i>open</span></div>"#
    );
    let rows = lanes.len() as f64;
    let mut plot = time_plot(
        HALF,
        ROW_PX * rows,
        bins,
        origin,
        Scale {
            max: rows,
            step: 1.0,
        },
    );
    plot.left = 110.0;
    plot.place_markers(markers);
    // Room for the rows below the marker labels.
    plot.h = plot.top + plot.bottom + ROW_PX * rows;
    plot.open(o, "Breaker open spans per lane over simulated time");
    plot.bands(o, markers);
    for (i, lane) in lanes.iter().enumerate() {
        breaker_row(e, &plot, lane, plot.py(rows - i as f64) + 4.0, o);
    }
    plot.x_axis(o);
    plot.markers(o, markers);
    TimePlot::close(o);
    o.push_str("</section>");
}

fn figures(e: &EffectsReport, o: &mut String) {
    let mut rows = vec![(0, "derived".to_string(), thousands(e.derived))];
    for s in &e.sinks {
        rows.push((
            0,
            s.sink.clone(),
            format!("{} / {}", thousands(s.delivered), thousands(s.derived)),
        ));
        for (k, v) in [
            ("pending", s.pending),
            ("repeats", s.repeats),
            ("calls", s.calls),
            ("refused (down)", s.refused_down),
            ("failed (flaky)", s.failed_flaky + s.lost_answers),
            ("breaker trips", s.breaker_trips),
            ("dead-lettered", s.dead_lettered),
        ] {
            rows.push((1, k.to_string(), thousands(v)));
        }
    }
    kv(o, "Effects per sink (received / derived)", &rows);
    let mut lat = Vec::new();
    for l in &e.latency {
        lat.push((0, format!("{} effects", l.class), thousands(l.count)));
        for (k, v) in [("p50", l.p50_us), ("p99", l.p99_us), ("max", l.max_us)] {
            lat.push((
                1,
                k.to_string(),
                if l.count == 0 {
                    "—".into()
                } else {
                    duration(v)
                },
            ));
        }
    }
    lat.push((
        0,
        "drained".to_string(),
        match (e.drained, e.drained_at_us) {
            (true, Some(t)) => clock(t, e.timeline.start_us, true),
            (true, None) => "nothing to deliver".into(),
            (false, _) => "no".into(),
        },
    ));
    kv(
        o,
        "Effect latency (derivation to first receipt, simulated)",
        &lat,
    );
}

fn sla(e: &EffectsReport, o: &mut String) {
    o.push_str(r#"<section class="card row"><h2>SLA measures</h2><p class="sub">Minutes: order to dispatch and invoice cycle over the shipment views, proof-of-delivery propagation (ingest time minus event time) over the applied deliveries; breaches are the <code>alert.sla_breached</code> effects received.</p>"#);
    o.push_str(r#"<table><thead><tr><th>measure</th><th class="num">target</th><th class="num">values</th><th class="num">p50</th><th class="num">p90</th><th class="num">p99</th><th class="num">max</th><th class="num">breaches</th></tr></thead><tbody>"#);
    for m in &e.sla.measures {
        let cell = |f: fn(&super::super::Distribution) -> i64| {
            m.minutes
                .as_ref()
                .map_or("—".to_string(), |d| f(d).to_string())
        };
        let _ = write!(
            o,
            r#"<tr><td><code>{}</code></td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td></tr>"#,
            esc(&m.measure),
            m.target_minutes.map_or("—".to_string(), |t| t.to_string()),
            thousands(m.minutes.as_ref().map_or(0, |d| d.count)),
            cell(|d| d.p50),
            cell(|d| d.p90),
            cell(|d| d.p99),
            cell(|d| d.max),
            thousands(m.breaches)
        );
    }
    o.push_str("</tbody></table>");
    o.push_str(r#"<div class="grid2" style="margin-top:12px">"#);
    for m in e.sla.measures.iter().filter(|m| m.minutes.is_some()) {
        histogram(m, o);
    }
    o.push_str("</div></section>");
}

fn histogram(m: &SlaMeasureReport, o: &mut String) {
    let _ = write!(
        o,
        r#"<div><p class="sub">{} (minutes)</p>"#,
        esc(&m.measure)
    );
    let bars: Vec<Bar> = m
        .histogram
        .iter()
        .map(|b| {
            let over = m
                .target_minutes
                .is_some_and(|t| b.from.is_some_and(|f| f > i64::from(t)));
            Bar {
                label: b.label.clone(),
                value: b.count as f64,
                text: thousands(b.count),
                color: if over { "#D55E00" } else { "#56B4E9" }.to_string(),
                under: None,
            }
        })
        .collect();
    hbars(o, HALF, &bars, &format!("{} histogram", m.measure), "");
    o.push_str("</div>");
}

/// The key figure: effects received of those derived, and what is left.
pub(super) fn effects_tile(e: &EffectsReport, o: &mut String) {
    let received: u64 = e.sinks.iter().map(|s| s.delivered).sum();
    let pending: u64 = e.sinks.iter().map(|s| s.pending).sum();
    let urgent = e
        .latency
        .iter()
        .find(|l| l.class == "urgent" && l.count > 0);
    let mut sub = format!("{} pending", thousands(pending));
    if let Some(l) = urgent {
        sub.push_str(&format!(" · urgent p99 {}", duration(l.p99_us)));
    }
    tile(
        o,
        if pending == 0 { "good" } else { "bad" },
        "effects received",
        &format!("{} / {}", thousands(received), thousands(e.derived)),
        &sub,
    );
}

/// The effects part of the report.
pub(super) fn render(e: &EffectsReport, crashes: &[CrashReport], o: &mut String) {
    let bins = bins(e);
    if bins.is_empty() || e.derived == 0 {
        o.push_str(r#"<section class="card row"><h2>Effects</h2>"#);
        empty(o, "The core derived no effects.");
        o.push_str("</section>");
        sla(e, o);
        return;
    }
    let origin = e.timeline.start_us;
    let span = (bins[0].from, bins[bins.len() - 1].to);
    let markers = markers(e, crashes, origin, span);
    delivered_chart(&bins, &markers, origin, o);
    o.push_str(r#"<div class="grid2 row">"#);
    pending_chart(&bins, &markers, origin, o);
    breaker_chart(e, &bins, &markers, origin, o);
    o.push_str("</div>");
    o.push_str(r#"<div class="grid2 row">"#);
    figures(e, o);
    o.push_str("</div>");
    sla(e, o);
}
