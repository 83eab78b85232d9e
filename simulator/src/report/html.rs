//! The HTML report: one self-contained file (inline CSS and SVG, no scripts, no network).

use std::fmt::Write;

use super::format::{
    US_PER_S, absolute_us, clock, esc, money_in, money_with_code, rfc_time_of_day, si, span,
    start_us, sum, thousands, thousands_f, thousands_u128, time_of_day, wall,
};
use super::svg::{Bar, CRASH_COLOR, Marker, SYSTEM_COLORS, TimePlot, hbars, nice_scale};
use super::{CurrencyLeakage, Report};

mod effects;

const SYSTEMS: [&str; 4] = ["erp", "route", "fleet", "billing"];
/// More buckets than this are merged for drawing (the JSON keeps them all).
const MAX_BINS: usize = 720;
const WIDE: f64 = 1120.0;
const HALF: f64 = 540.0;

const CSS: &str = r#"
:root{--bg:#f4f6f9;--card:#fff;--ink:#1c2430;--muted:#5d6b7e;--line:#e3e8ef;--pass:#0b7a3e;--pass-bg:#e3f5ea;--fail:#b42318;--fail-bg:#fde8e6;--accent:#0072B2}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1200px;margin:0 auto;padding:24px 24px 48px}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:13px}
header.top{border-radius:14px;padding:22px 26px;color:#fff;display:flex;gap:24px;align-items:center;justify-content:space-between}
header.top>div:first-child{flex:1 1 auto;min-width:0}
header.top.pass{background:linear-gradient(120deg,#0b6e3a,#15925a)}
header.top.fail{background:linear-gradient(120deg,#9b1c13,#c8412f)}
header.top h1{margin:0 0 2px;font-size:26px;letter-spacing:.2px;word-break:break-word}
header.top .kicker{opacity:.8;font-size:12px;text-transform:uppercase;letter-spacing:1.2px}
header.top .desc{margin:4px 0 10px;opacity:.95;max-width:720px}
.chips{display:flex;flex-wrap:wrap;gap:6px}
.chip{background:rgba(255,255,255,.16);border:1px solid rgba(255,255,255,.28);border-radius:999px;padding:2px 10px;font-size:12.5px}
.verdict{text-align:right;flex:0 1 400px}
.verdict .big{font-size:34px;font-weight:800;letter-spacing:1px}
.verdict .line{font-size:13.5px;opacity:.95;max-width:420px}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;margin:18px 0}
.tile{background:var(--card);border-radius:12px;padding:14px 16px;border:1px solid var(--line);border-top:4px solid var(--accent)}
.tile .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.8px}
.tile .v{font-size:26px;font-weight:700;margin:2px 0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.tile .s{color:var(--muted);font-size:12.5px}
.tile.warn{border-top-color:#D55E00}
.tile.good{border-top-color:var(--pass)}
.tile.bad{border-top-color:var(--fail)}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:16px 18px;margin-bottom:16px;min-width:0}
.card h2{font-size:16px;margin:0 0 2px}
.card h3.currency{font-size:14px;margin:14px 0 4px}.card h3.currency .sub{font-weight:400;color:var(--muted)}
.card .sub{color:var(--muted);font-size:12.5px;margin:0 0 10px}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:16px}
.grid2 .card{margin-bottom:0}
.row{margin-bottom:16px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:7px 10px;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:anywhere}
th{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.6px;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr.fail td{background:#fff8f7}
tr.detail td{border-bottom:1px solid var(--line);padding-top:0}
pre.detail{margin:0;padding:8px 12px;background:var(--fail-bg);border-left:3px solid var(--fail);border-radius:4px;white-space:pre-wrap;word-break:break-word;font-size:12.5px}
.badge{display:inline-block;border-radius:999px;padding:1px 9px;font-size:11.5px;font-weight:700;letter-spacing:.6px}
.badge.pass{background:var(--pass-bg);color:var(--pass)}
.badge.fail{background:var(--fail-bg);color:var(--fail)}
.legend{display:flex;flex-wrap:wrap;gap:6px 16px;margin:2px 0 6px;font-size:12.5px;color:var(--ink)}
.legend span{display:inline-flex;align-items:center;gap:6px}
.sw{display:inline-block;width:12px;height:12px;border-radius:3px}
.sw.hatch{background:repeating-linear-gradient(135deg,#c9d1dc 0 2px,#eef1f5 2px 5px);border:1px solid #aab4c2}
.sw.crash{width:3px;height:14px;border-radius:0;background:#D55E00}
.sw.ref{width:16px;height:0;border-top:2px dashed #5d6b7e;border-radius:0}
.sw.under{height:5px;background:#8a96a8}
.empty{color:var(--muted);padding:26px 0;text-align:center;border:1px dashed var(--line);border-radius:8px}
.kv td{padding:4px 10px}
.kv td:first-child{color:var(--muted)}
td.nowrap{white-space:nowrap}
.kv td.sub1{padding-left:26px}
.kv td.sub2{padding-left:42px}
.kv tr.zero td{color:#9aa5b4}
.digest{word-break:break-all}
footer{color:var(--muted);font-size:12px;margin-top:20px;text-align:center}
svg.chart{display:block;overflow:visible}
svg.chart text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
.grid{stroke:#e8ecf2;stroke-width:1}
.axis{stroke:#8a96a8;stroke-width:1}
.tick{fill:#5d6b7e;font-size:11.5px}
.unit{fill:#8a96a8;font-size:11px}
.band{fill:url(#hatch);stroke:none}
.band-edge{stroke:#8a96a8;stroke-width:1;stroke-dasharray:2 2}
.marker{fill:#3b4656;font-size:11.5px;font-weight:600}
.crash-label{fill:#D55E00}
.crash{stroke:#D55E00;stroke-width:2;stroke-dasharray:5 3}
.crash-head{fill:#D55E00}
.area{fill-opacity:.82;stroke-width:.6;stroke-opacity:.9}
.area-soft{fill-opacity:.28;stroke-width:1.4}
.series-line{stroke-width:1.8;stroke-linejoin:round}
.ref{stroke:#5d6b7e;stroke-width:1.2;stroke-dasharray:6 4}
.ref-label{fill:#5d6b7e;font-size:11px}
.track{fill:#f1f4f8}
.under{fill:#8a96a8}
.bar-label{fill:#1c2430;font-size:12.5px;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.bar-value{fill:#3b4656;font-size:12px;font-variant-numeric:tabular-nums}
@media (max-width:900px){header.top{flex-wrap:wrap}.tiles{grid-template-columns:repeat(3,1fr)}.grid2{grid-template-columns:1fr}}
@media print{body{background:#fff}.card,.tile{break-inside:avoid}}
"#;

/// Buckets as drawn: possibly several merged into one.
struct Bin {
    from: i64,
    to: i64,
    arrivals: [u64; 4],
    backlog: u64,
    p99: Option<u64>,
}

fn bins(r: &Report, start: i64) -> Vec<Bin> {
    let buckets = &r.timeline.buckets;
    let width = r.timeline.bucket_seconds.max(1) as i64 * US_PER_S;
    let merge = buckets.len().div_ceil(MAX_BINS).max(1);
    buckets
        .chunks(merge)
        .enumerate()
        .map(|(i, chunk)| {
            let from = start + (i * merge) as i64 * width;
            let mut bin = Bin {
                from,
                to: from + chunk.len() as i64 * width,
                arrivals: [0; 4],
                backlog: 0,
                p99: None,
            };
            for b in chunk {
                for k in 0..4 {
                    bin.arrivals[k] = bin.arrivals[k].saturating_add(b.arrivals_by_system[k]);
                }
                bin.backlog = bin.backlog.max(b.backlog);
                bin.p99 = match (bin.p99, b.latency_p99_us) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
            }
            bin
        })
        .collect()
}

fn markers(r: &Report, start: i64) -> Vec<Marker> {
    let mut out = Vec::new();
    for o in &r.outages {
        let (from, to) = (absolute_us(o.from_us, start), absolute_us(o.to_us, start));
        let who = if o.source == "*" {
            "all systems".to_string()
        } else {
            o.source.clone()
        };
        out.push(Marker {
            from_us: from,
            to_us: to.max(from),
            label: format!(
                "{who} outage {}–{}",
                clock(from, start, false),
                clock(to, start, false)
            ),
            crash: false,
        });
    }
    for c in &r.crashes {
        if let Some(at) = waybill_core::time::parse_rfc3339_us(&c.at) {
            out.push(Marker {
                from_us: at,
                to_us: at,
                label: format!("crash {}", clock(at, start, false)),
                crash: true,
            });
        }
    }
    out
}

/// The markers that fall inside the drawn timeline (the tables list them all).
fn visible(markers: Vec<Marker>, bins: &[Bin]) -> Vec<Marker> {
    if bins.is_empty() {
        return Vec::new();
    }
    let (t0, t1) = plot_span(bins);
    markers
        .into_iter()
        .filter(|m| {
            if m.crash {
                (t0..=t1).contains(&m.from_us)
            } else {
                m.from_us < t1 && m.to_us > t0
            }
        })
        .collect()
}

pub(super) fn render(r: &Report) -> String {
    let ok = r.ok();
    let start = start_us(&r.timeline.start);
    let bins = bins(r, start);
    let markers = visible(markers(r, start), &bins);
    let mut o = String::with_capacity(64 * 1024);

    let _ = write!(
        o,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="color-scheme" content="light"><title>{verdict} · {name} · Waybill scenario report</title><style>{CSS}</style></head><body>"#,
        verdict = if ok { "PASSED" } else { "FAILED" },
        name = esc(&r.scenario),
    );
    // Shared SVG definitions (the hatch of outage bands).
    o.push_str(r##"<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#eef1f5"/><rect width="2.2" height="6" fill="#c9d1dc"/></pattern></defs></svg>"##);
    o.push_str("<main>");

    header(r, ok, start, &mut o);
    tiles(r, &mut o);
    checklist(r, &mut o);
    traffic_chart(r, &bins, &markers, start, &mut o);
    o.push_str(r#"<div class="grid2 row">"#);
    backlog_chart(&bins, &markers, start, &mut o);
    latency_chart(r, &bins, &markers, start, &mut o);
    o.push_str("</div>");
    o.push_str(r#"<div class="grid2 row">"#);
    dead_letter_chart(r, &mut o);
    leakage_chart(r, &mut o);
    o.push_str("</div>");
    effects::render(&r.effects, &r.crashes, &mut o);
    tables(r, start, &mut o);

    let _ = write!(
        o,
        r#"<footer>Waybill scenario simulator · {name} · seed {seed} · journal <span class="mono">{journal}</span></footer></main></body></html>"#,
        name = esc(&r.scenario),
        seed = r.seed,
        journal = esc(&r.journal),
    );
    o
}

fn header(r: &Report, ok: bool, start: i64, o: &mut String) {
    let class = if ok { "pass" } else { "fail" };
    let _ = write!(
        o,
        r#"<header class="top {class}"><div><div class="kicker">Waybill scenario report</div><h1>{name}</h1>"#,
        name = esc(&r.scenario)
    );
    if !r.description.trim().is_empty() {
        let _ = write!(o, r#"<p class="desc">{}</p>"#, esc(r.description.trim()));
    }
    let mut chips = vec![
        format!("seed {}", r.seed),
        format!("pace {}", r.throughput.pace),
        format!("durability {}", r.throughput.durability),
        format!("{} shipments", thousands(r.world.shipments)),
        format!("{} vehicles", thousands(r.world.vehicles)),
    ];
    if !r.timeline.start.is_empty() {
        let date = waybill_core::time::format_rfc3339_us(start);
        chips.push(format!(
            "{} from {}",
            span(r.throughput.simulated_seconds.round() as i64),
            date.replace('T', " ").trim_end_matches('Z')
        ));
    }
    o.push_str(r#"<div class="chips">"#);
    for c in chips {
        let _ = write!(o, r#"<span class="chip">{}</span>"#, esc(&c));
    }
    let passed = r.checks.iter().filter(|c| c.passed).count();
    let _ = write!(
        o,
        r#"</div></div><div class="verdict"><div class="big">{big}</div><div class="line">{line}</div><div class="line">{passed} of {n} checks passed</div></div></header>"#,
        big = if ok { "✓ PASSED" } else { "✗ FAILED" },
        line = esc(&r.verdict()),
        n = r.checks.len(),
    );
}

fn tile(o: &mut String, class: &str, key: &str, value: &str, sub: &str) {
    let _ = write!(
        o,
        r#"<div class="tile {class}"><div class="k">{k}</div><div class="v" title="{v}">{v}</div><div class="s">{s}</div></div>"#,
        k = esc(key),
        v = esc(value),
        s = esc(sub)
    );
}

fn tiles(r: &Report, o: &mut String) {
    let t = &r.throughput;
    let c = &r.counters;
    o.push_str(r#"<section class="tiles" aria-label="key figures">"#);
    tile(
        o,
        "",
        "events",
        &thousands(t.events),
        &format!(
            "{} received · {} simulated",
            thousands(c.received),
            span(t.simulated_seconds.round() as i64)
        ),
    );
    tile(
        o,
        "",
        "events / s",
        &thousands_f(t.events_per_second, 0),
        &format!("ingest wall time {}", wall(t.wall_seconds)),
    );
    match &r.latency_us {
        Some(p) => tile(
            o,
            "",
            "p99 latency",
            &format!("{} µs", thousands(p.p99)),
            &format!("p50 {} · max {} µs", thousands(p.p50), thousands(p.max)),
        ),
        None => tile(
            o,
            "",
            "p99 latency",
            "—",
            if t.pace == "max" {
                "not measured (pace = max)"
            } else {
                "not measured"
            },
        ),
    }
    let reasons = c.dead_letter_reasons.iter().filter(|(_, n)| *n > 0).count();
    tile(
        o,
        if c.dead_lettered > 0 { "warn" } else { "good" },
        "dead letters",
        &thousands(c.dead_lettered),
        &if reasons == 0 {
            "none".to_string()
        } else {
            format!(
                "{reasons} reason{} · {} injected",
                if reasons == 1 { "" } else { "s" },
                thousands(sum(r.injected.malformed.iter().map(|(_, n)| n)))
            )
        },
    );
    tile(
        o,
        if c.missing > 0 { "warn" } else { "good" },
        "missing",
        &thousands_u128(c.missing),
        &format!(
            "{} dropped · {} detectable",
            thousands(r.injected.dropped),
            thousands(r.injected.dropped_detectable)
        ),
    );
    acknowledgements_tile(r, o);
    leakage_tile(r, o);
    effects::effects_tile(&r.effects, o);
    o.push_str("</section>");
}

/// What the producers saw acknowledged and what crashes lost (runs with crashes only).
fn acknowledgements_tile(r: &Report, o: &mut String) {
    if r.crashes.is_empty() {
        return;
    }
    let a = &r.acknowledgements;
    tile(
        o,
        if a.lost_acknowledged == 0 {
            "good"
        } else {
            "bad"
        },
        "acknowledged",
        &thousands(a.acknowledged),
        &format!(
            "{} lost · {} redelivered · {} crash{}",
            thousands(a.lost_acknowledged),
            thousands(a.redelivered),
            r.crashes.len(),
            if r.crashes.len() == 1 { "" } else { "es" }
        ),
    );
}

/// The leakage the core found, per currency: the currency with the most leaking shipments
/// first, the others after it (never added together).
fn leakage_tile(r: &Report, o: &mut String) {
    let l = &r.leakage;
    let class = if l.all_found() { "good" } else { "warn" };
    let mut order: Vec<&CurrencyLeakage> = l.currencies.iter().collect();
    order.sort_by(|a, b| {
        (b.expected_leaking_shipments, b.leaking_shipments)
            .cmp(&(a.expected_leaking_shipments, a.leaking_shipments))
            .then(a.currency.cmp(&b.currency))
    });
    let Some((first, rest)) = order.split_first() else {
        tile(
            o,
            class,
            "leakage found",
            "none",
            "no leakage expected or found",
        );
        return;
    };
    let mut sub = format!(
        "of {} expected · {} shipments",
        money_in(&first.currency, first.expected_cents),
        thousands(l.leaking_shipments)
    );
    for c in rest {
        sub.push_str(&format!(
            " · {}",
            money_with_code(&c.currency, c.found_cents)
        ));
    }
    tile(
        o,
        class,
        "leakage found",
        &money_with_code(&first.currency, first.found_cents),
        &sub,
    );
}

fn checklist(r: &Report, o: &mut String) {
    let failed = r.checks.iter().filter(|c| !c.passed).count();
    let _ = write!(
        o,
        r#"<section class="card row"><h2>Checks</h2><p class="sub">{} passed, {} failed</p>"#,
        r.checks.len() - failed,
        failed
    );
    if r.checks.is_empty() {
        o.push_str(r#"<div class="empty">No checks ran.</div></section>"#);
        return;
    }
    o.push_str(r#"<table><thead><tr><th style="width:84px">result</th><th>check</th><th>expected</th><th>actual</th></tr></thead><tbody>"#);
    for c in &r.checks {
        let (class, badge) = if c.passed {
            ("pass", "PASS")
        } else {
            ("fail", "FAIL")
        };
        let _ = write!(
            o,
            r#"<tr class="{class}"><td><span class="badge {class}">{badge}</span></td><td><code>{name}</code></td><td>{exp}</td><td>{act}</td></tr>"#,
            name = esc(&c.name),
            exp = esc(&c.expected),
            act = esc(&c.actual),
        );
        if !c.passed && !c.detail.trim().is_empty() {
            let _ = write!(
                o,
                r#"<tr class="detail"><td></td><td colspan="3"><pre class="detail">{}</pre></td></tr>"#,
                esc(c.detail.trim_end())
            );
        }
    }
    o.push_str("</tbody></table></section>");
}

fn legend_markers(o: &mut String, markers: &[Marker]) {
    if markers.iter().any(|m| !m.crash) {
        o.push_str(r#"<span><i class="sw hatch"></i>outage (source held back)</span>"#);
    }
    if markers.iter().any(|m| m.crash) {
        o.push_str(r#"<span><i class="sw crash"></i>crash and reopen</span>"#);
    }
}

fn empty(o: &mut String, text: &str) {
    let _ = write!(o, r#"<div class="empty">{}</div>"#, esc(text));
}

fn plot_span(bins: &[Bin]) -> (i64, i64) {
    (bins[0].from, bins[bins.len() - 1].to)
}

fn traffic_chart(r: &Report, bins: &[Bin], markers: &[Marker], start: i64, o: &mut String) {
    let width_note = if r.timeline.bucket_seconds > 0 {
        format!(
            "{}-wide buckets",
            span(r.timeline.bucket_seconds as i64).replace(' ', "")
        )
    } else {
        String::new()
    };
    let _ = write!(
        o,
        r#"<section class="card row"><h2>Arrivals by source system</h2><p class="sub">Deliveries reaching the core per second of simulated time, stacked by system{}.</p>"#,
        if width_note.is_empty() {
            String::new()
        } else {
            format!(" · {width_note}")
        }
    );
    let mut totals = [0u64; 4];
    for b in bins {
        for (total, n) in totals.iter_mut().zip(b.arrivals) {
            *total = total.saturating_add(n);
        }
    }
    o.push_str(r#"<div class="legend">"#);
    for k in 0..4 {
        let _ = write!(
            o,
            r#"<span><i class="sw" style="background:{c}"></i>{name} <span class="mono">{n}</span></span>"#,
            c = SYSTEM_COLORS[k],
            name = SYSTEMS[k],
            n = thousands(totals[k])
        );
    }
    legend_markers(o, markers);
    o.push_str("</div>");
    if bins.is_empty() {
        empty(o, "No timeline: the run recorded no buckets.");
        o.push_str("</section>");
        return;
    }
    let rate = |b: &Bin, n: u64| n as f64 / ((b.to - b.from) as f64 / US_PER_S as f64);
    let peak = bins
        .iter()
        .map(|b| rate(b, sum(&b.arrivals)))
        .fold(0.0, f64::max);
    let (t0, t1) = plot_span(bins);
    let mut plot = TimePlot::new(WIDE, 330.0, t0, t1, start, nice_scale(peak * 1.04, 5));
    plot.place_markers(markers);
    plot.open(
        o,
        "Deliveries per second by source system over simulated time",
    );
    plot.bands(o, markers);
    plot.y_axis(o, "events/s", &si);
    let spans: Vec<(i64, i64)> = bins.iter().map(|b| (b.from, b.to)).collect();
    let mut lower = vec![0.0; bins.len()];
    for k in 0..4 {
        let upper: Vec<f64> = bins
            .iter()
            .zip(&lower)
            .map(|(b, l)| l + rate(b, b.arrivals[k]))
            .collect();
        if totals[k] > 0 {
            plot.step_area(o, &spans, &lower, &upper, "area", SYSTEM_COLORS[k]);
        }
        lower = upper;
    }
    plot.x_axis(o);
    plot.markers(o, markers);
    TimePlot::close(o);
    o.push_str("</section>");
}

fn backlog_chart(bins: &[Bin], markers: &[Marker], start: i64, o: &mut String) {
    o.push_str(r#"<section class="card"><h2>Backlog</h2><p class="sub">Events emitted by the world but not yet delivered (held by outages and delays), end of bucket.</p><div class="legend"><span><i class="sw" style="background:#56B4E9"></i>backlog</span>"#);
    legend_markers(o, markers);
    o.push_str("</div>");
    if bins.is_empty() {
        empty(o, "No timeline.");
        o.push_str("</section>");
        return;
    }
    let peak = bins.iter().map(|b| b.backlog).max().unwrap_or(0) as f64;
    let (t0, t1) = plot_span(bins);
    let mut plot = TimePlot::new(HALF, 280.0, t0, t1, start, nice_scale(peak * 1.04, 4));
    plot.place_markers(markers);
    plot.open(o, "Backlog of undelivered events over simulated time");
    plot.bands(o, markers);
    plot.y_axis(o, "events", &si);
    let spans: Vec<(i64, i64)> = bins.iter().map(|b| (b.from, b.to)).collect();
    let upper: Vec<f64> = bins.iter().map(|b| b.backlog as f64).collect();
    plot.step_area(o, &spans, &vec![0.0; bins.len()], &upper, "area", "#56B4E9");
    plot.x_axis(o);
    plot.markers(o, markers);
    TimePlot::close(o);
    o.push_str("</section>");
}

fn latency_chart(r: &Report, bins: &[Bin], markers: &[Marker], start: i64, o: &mut String) {
    o.push_str(r#"<section class="card"><h2>Latency p99</h2><p class="sub">From intended submission to applied, p99 of the batches applied in each bucket.</p>"#);
    let has = bins.iter().any(|b| b.p99.is_some());
    if !has {
        o.push_str(r#"<div class="legend">&nbsp;</div>"#);
        let why = match (&r.latency_us, r.throughput.pace.as_str()) {
            (None, "max") => "Not measured (pace = max): the run went as fast as it could, so there is no intended submission time to measure from.".to_string(),
            (Some(p), _) => format!("No per-bucket latency recorded. Whole run: p50 {} µs, p99 {} µs, max {} µs.", thousands(p.p50), thousands(p.p99), thousands(p.max)),
            (None, _) => "Not measured.".to_string(),
        };
        empty(o, &why);
        o.push_str("</section>");
        return;
    }
    o.push_str(r#"<div class="legend"><span><i class="sw" style="background:#0072B2"></i>p99 per bucket</span>"#);
    if r.latency_us.is_some() {
        o.push_str(r#"<span><i class="sw ref"></i>whole-run p99</span>"#);
    }
    legend_markers(o, markers);
    o.push_str("</div>");
    let peak = bins
        .iter()
        .filter_map(|b| b.p99)
        .max()
        .unwrap_or(0)
        .max(r.latency_us.as_ref().map(|p| p.p99).unwrap_or(0)) as f64;
    let (t0, t1) = plot_span(bins);
    let mut plot = TimePlot::new(HALF, 280.0, t0, t1, start, nice_scale(peak * 1.04, 4));
    plot.place_markers(markers);
    plot.open(o, "Latency p99 per bucket over simulated time");
    plot.bands(o, markers);
    plot.y_axis(o, "µs", &si);
    let spans: Vec<(i64, i64)> = bins.iter().map(|b| (b.from, b.to)).collect();
    let values: Vec<Option<f64>> = bins.iter().map(|b| b.p99.map(|v| v as f64)).collect();
    if let Some(p) = &r.latency_us {
        plot.reference(o, p.p99 as f64, &format!("run p99 {} µs", thousands(p.p99)));
    }
    plot.line(o, &spans, &values, "#0072B2");
    plot.x_axis(o);
    plot.markers(o, markers);
    TimePlot::close(o);
    o.push_str("</section>");
}

fn dead_letter_chart(r: &Report, o: &mut String) {
    let c = &r.counters;
    let _ = write!(
        o,
        r#"<section class="card"><h2>Dead letters by reason</h2><p class="sub">{} dead-lettered by the core; the thin bar under each is what was injected.</p>"#,
        thousands(c.dead_lettered)
    );
    if c.dead_letter_reasons.is_empty() && r.injected.malformed.is_empty() {
        empty(o, "No dead letters.");
        o.push_str("</section>");
        return;
    }
    o.push_str(r#"<div class="legend"><span><i class="sw" style="background:#D55E00"></i>dead-lettered</span><span><i class="sw under"></i>injected</span></div>"#);
    let mut reasons: Vec<String> = c
        .dead_letter_reasons
        .iter()
        .map(|(k, _)| k.clone())
        .collect();
    for (k, _) in &r.injected.malformed {
        if !reasons.contains(k) {
            reasons.push(k.clone());
        }
    }
    let lookup = |list: &[(String, u64)], k: &str| {
        list.iter()
            .find(|(name, _)| name == k)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    let bars: Vec<Bar> = reasons
        .iter()
        .map(|k| {
            let got = lookup(&c.dead_letter_reasons, k);
            let injected = lookup(&r.injected.malformed, k);
            Bar {
                label: k.clone(),
                value: got as f64,
                text: if got == injected {
                    thousands(got)
                } else {
                    format!("{} (injected {})", thousands(got), thousands(injected))
                },
                color: if got == injected {
                    "#D55E00".to_string()
                } else {
                    "#b42318".to_string()
                },
                under: Some(injected as f64),
            }
        })
        .collect();
    hbars(o, HALF, &bars, "Dead letters by reason", "injected");
    o.push_str("</section>");
}

fn leakage_chart(r: &Report, o: &mut String) {
    let l = &r.leakage;
    o.push_str(r#"<section class="card"><h2>Revenue leakage</h2><p class="sub">Per currency (never added across currencies): detention billing forgot, the leakage the ground truth expects (forgotten charges plus deliveries not yet billed at the end), and what the core flagged.</p>"#);
    if l.currencies.is_empty() {
        empty(o, "No leakage expected or found.");
    }
    for c in &l.currencies {
        currency_leakage(c, o);
    }
    o.push_str("</section>");
}

/// The bars of one currency and its largest leaks.
fn currency_leakage(c: &CurrencyLeakage, o: &mut String) {
    let cur = c.currency.as_str();
    let coverage = if c.expected_cents != 0 {
        format!(
            " — the core found {:.1}% of the expected leakage",
            c.found_cents as f64 * 100.0 / c.expected_cents as f64
        )
    } else {
        String::new()
    };
    let _ = write!(
        o,
        r#"<h3 class="currency">{}<span class="sub">{}</span></h3>"#,
        esc(cur),
        esc(&coverage)
    );
    let bar = |label: &str, cents: i128, note: String, color: &str| Bar {
        label: label.to_string(),
        value: cents as f64,
        text: format!("{} · {note}", money_with_code(cur, cents)),
        color: color.to_string(),
        under: None,
    };
    let bars = [
        bar(
            "omitted by billing",
            c.omitted_detention_cents,
            format!("{} charges", thousands(c.omitted_detention_charges)),
            "#8a96a8",
        ),
        bar(
            "expected (ground truth)",
            c.expected_cents,
            format!("{} shipments", thousands(c.expected_leaking_shipments)),
            "#E69F00",
        ),
        bar(
            "found by the core",
            c.found_cents,
            format!("{} shipments", thousands(c.leaking_shipments)),
            "#009E73",
        ),
    ];
    hbars(o, HALF, &bars, &format!("Leakage in {cur}"), "");
    if c.top.is_empty() {
        return;
    }
    let _ = write!(
        o,
        r#"<p class="sub" style="margin-top:12px">Top leaking shipments ({})</p>"#,
        esc(cur)
    );
    let top: Vec<Bar> = c
        .top
        .iter()
        .map(|(id, cents)| Bar {
            label: format!("#{id}"),
            value: *cents as f64,
            text: money_in(cur, *cents),
            color: "#CC79A7".to_string(),
            under: None,
        })
        .collect();
    hbars(
        o,
        HALF,
        &top,
        &format!("Top leaking shipments in {cur}"),
        "",
    );
}

/// (depth, label, value) rows.
fn kv(o: &mut String, title: &str, rows: &[(usize, String, String)]) {
    let _ = write!(
        o,
        r#"<section class="card"><h2>{}</h2><table class="kv"><tbody>"#,
        esc(title)
    );
    for (depth, k, v) in rows {
        let zero = if v == "0" { " class=\"zero\"" } else { "" };
        let _ = write!(
            o,
            r#"<tr{zero}><td class="sub{depth}">{k}</td><td class="num">{v}</td></tr>"#,
            k = esc(k),
            v = esc(v)
        );
    }
    o.push_str("</tbody></table></section>");
}

fn tables(r: &Report, start: i64, o: &mut String) {
    counter_tables(r, o);
    o.push_str(r#"<div class="grid2 row">"#);
    kv(o, "Throughput and latency", &performance_rows(r));
    outages_crashes_and_journal(r, start, o);
    o.push_str("</div>");
    world_table(r, o);
}

/// The core's counters beside what was injected and what the producers saw acknowledged.
fn counter_tables(r: &Report, o: &mut String) {
    let c = &r.counters;
    let mut counters = vec![
        (0, "received".to_string(), thousands(c.received)),
        (1, "applied".to_string(), thousands(c.applied)),
        (1, "duplicates".to_string(), thousands(c.duplicates)),
        (1, "dead_lettered".to_string(), thousands(c.dead_lettered)),
    ];
    counters.extend(
        c.dead_letter_reasons
            .iter()
            .map(|(k, v)| (2, k.clone(), thousands(*v))),
    );
    counters.push((0, "missing".to_string(), thousands_u128(c.missing)));
    counters.push((0, "shipments".to_string(), thousands(c.shipments)));
    counters.push((0, "vehicles".to_string(), thousands(c.vehicles)));

    let i = &r.injected;
    let mut injected = vec![
        (
            0,
            "events generated".to_string(),
            thousands(i.events_generated),
        ),
        (0, "deliveries".to_string(), thousands(i.deliveries)),
        (0, "duplicates".to_string(), thousands(i.duplicates)),
        (0, "dropped".to_string(), thousands(i.dropped)),
        (1, "detectable".to_string(), thousands(i.dropped_detectable)),
        (0, "reordered".to_string(), thousands(i.reordered)),
        (0, "held by outage".to_string(), thousands(i.held_by_outage)),
        (
            0,
            "malformed".to_string(),
            thousands(sum(i.malformed.iter().map(|(_, n)| n))),
        ),
    ];
    injected.extend(
        i.malformed
            .iter()
            .map(|(k, v)| (1, k.clone(), thousands(*v))),
    );
    let a = &r.acknowledgements;
    injected.extend([
        (0, "sent to the core".to_string(), thousands(a.sent)),
        (1, "acknowledged".to_string(), thousands(a.acknowledged)),
        (
            2,
            "lost after acknowledgement".to_string(),
            thousands(a.lost_acknowledged),
        ),
        (
            1,
            "lost unacknowledged".to_string(),
            thousands(a.lost_unacknowledged),
        ),
        (
            1,
            "redelivered after crash".to_string(),
            thousands(a.redelivered),
        ),
    ]);

    o.push_str(r#"<div class="grid2 row">"#);
    kv(o, "Core counters", &counters);
    kv(o, "Injected faults", &injected);
    o.push_str("</div>");
}

fn performance_rows(r: &Report) -> Vec<(usize, String, String)> {
    let t = &r.throughput;
    let mut perf = vec![
        (0, "events".to_string(), thousands(t.events)),
        (0, "ingest wall time".to_string(), wall(t.wall_seconds)),
        (
            0,
            "events/s".to_string(),
            thousands_f(t.events_per_second, 0),
        ),
        (0, "generate".to_string(), wall(t.generate_seconds)),
        (0, "check".to_string(), wall(t.check_seconds)),
        (
            0,
            "simulated span".to_string(),
            span(t.simulated_seconds.round() as i64),
        ),
    ];
    match &r.latency_us {
        Some(p) => {
            for (k, v) in [
                ("latency p50", p.p50),
                ("latency p90", p.p90),
                ("latency p99", p.p99),
                ("latency p99.9", p.p999),
                ("latency max", p.max),
            ] {
                perf.push((0, k.to_string(), format!("{} µs", thousands(v))));
            }
            perf.push((1, "samples".to_string(), thousands(p.count)));
        }
        None => perf.push((
            0,
            "latency".to_string(),
            if t.pace == "max" {
                "not measured (pace = max)".to_string()
            } else {
                "not measured".to_string()
            },
        )),
    }
    perf
}

/// The outage windows and crashes of the run, and where its journal is.
fn outages_crashes_and_journal(r: &Report, start: i64, o: &mut String) {
    o.push_str(r#"<section class="card"><h2>Outages and crashes</h2>"#);
    if r.outages.is_empty() && r.crashes.is_empty() {
        empty(o, "None in this scenario.");
    } else {
        o.push_str(r#"<table><thead><tr><th>what</th><th>when (simulated)</th><th class="num">effect</th></tr></thead><tbody>"#);
        for w in &r.outages {
            let (from, to) = (absolute_us(w.from_us, start), absolute_us(w.to_us, start));
            let _ = write!(
                o,
                r#"<tr><td class="nowrap">{src} outage</td><td class="mono nowrap">{a} → {b} <span style="color:var(--muted)">({len})</span></td><td class="num">{held} held</td></tr>"#,
                src = esc(&w.source),
                a = time_of_day(from),
                b = time_of_day(to),
                len = span((to - from) / US_PER_S),
                held = thousands(w.held)
            );
        }
        for c in &r.crashes {
            let mut effect = format!(
                "reopened at LSN {} · lost {} acknowledged, {} unacknowledged · {} redelivered",
                thousands(c.lsn_after_reopen),
                thousands(c.lost_acknowledged),
                thousands(c.lost_unacknowledged),
                thousands(c.redelivered)
            );
            if let Some(p) = &c.power_cut {
                effect.push_str(&format!(
                    " · power cut kept {} of {} unflushed pages",
                    thousands(p.pages_kept),
                    thousands(p.pages_unflushed)
                ));
                if let Some(t) = &p.torn_at {
                    effect.push_str(&format!(", tore {t}"));
                }
                effect.push_str(&format!(
                    " · cut {} of {} unsynced effect log bytes",
                    thousands(p.effect_log_bytes_lost),
                    thousands(p.effect_log_bytes_unsynced)
                ));
            }
            if c.effects_cut + c.effects_rederived > 0 {
                effect.push_str(&format!(
                    " · effects cut {}, derived again {}",
                    thousands(c.effects_cut),
                    thousands(c.effects_rederived)
                ));
            }
            let _ = write!(
                o,
                r#"<tr><td style="color:{CRASH_COLOR}" class="nowrap">{mode} crash</td><td class="mono nowrap">{at}</td><td class="num">{effect}</td></tr>"#,
                mode = esc(&c.mode),
                at = esc(&rfc_time_of_day(&c.at)),
                effect = esc(&effect),
            );
        }
        o.push_str("</tbody></table>");
    }
    let _ = write!(
        o,
        r#"<h2 style="margin-top:18px">Journal</h2><table class="kv"><tbody><tr><td>path</td><td class="mono">{path}</td></tr><tr><td>LSN</td><td class="mono">{lsn}</td></tr><tr><td>digest</td><td class="mono digest">{digest}</td></tr></tbody></table></section>"#,
        path = esc(&r.journal),
        lsn = thousands(r.lsn),
        digest = esc(&r.digest)
    );
}

/// The ground truth of the world, in a table.
fn world_table(r: &Report, o: &mut String) {
    let w = &r.world;
    let facts = [
        ("shipments", w.shipments),
        ("vehicles", w.vehicles),
        ("pings", w.pings),
        ("amendments", w.amendments),
        ("cancellations", w.cancellations),
        ("failed deliveries", w.failed_deliveries),
        ("deliveries", w.deliveries),
        ("detention due", w.detention_due),
        ("detention omitted", w.detention_omitted),
        ("voided charges", w.voided_charges),
        ("invoices", w.invoices),
        ("disputed settlements", w.disputed_settlements),
    ];
    o.push_str(r#"<section class="card row"><h2>The world (ground truth)</h2><table><tbody><tr>"#);
    for (n, (k, v)) in facts.iter().enumerate() {
        if n > 0 && n % 4 == 0 {
            o.push_str("</tr><tr>");
        }
        let _ = write!(
            o,
            r#"<td style="color:var(--muted)">{k}</td><td class="num">{v}</td>"#,
            v = thousands(*v)
        );
    }
    o.push_str("</tr></tbody></table></section>");
}
