//! The effects and SLA sections of the human summary: per sink what was derived, received
//! and left, latency per class, the breakers, and the SLA measures.

use super::super::format::{thousands, time_of_day};
use super::super::{EffectsReport, SlaMeasureReport};
use super::{Row, Style, row, section};
use crate::checks::duration;

fn sink_rows(e: &EffectsReport) -> Vec<Row> {
    let mut rows = vec![row(0, "derived", thousands(e.derived))];
    for s in &e.sinks {
        let mut note = format!(
            "{} pending · {} calls",
            thousands(s.pending),
            thousands(s.calls)
        );
        for (n, what) in [
            (s.repeats, "repeats"),
            (s.refused_down, "refused (down)"),
            (s.failed_flaky + s.lost_answers, "failed (flaky)"),
            (s.breaker_trips, "breaker trips"),
            (s.dead_lettered, "dead-lettered"),
        ] {
            if n > 0 {
                note.push_str(&format!(" · {} {what}", thousands(n)));
            }
        }
        let value = format!("{} / {}", thousands(s.delivered), thousands(s.derived));
        rows.push(
            row(1, s.sink.clone(), value)
                .note(note)
                .quiet(s.derived == 0),
        );
    }
    rows
}

fn latency_rows(e: &EffectsReport) -> Vec<Row> {
    e.latency
        .iter()
        .map(|l| {
            let value = if l.count == 0 {
                "none".to_string()
            } else {
                format!("p99 {}", duration(l.p99_us))
            };
            row(0, format!("latency {}", l.class), value)
                .note(format!(
                    "p50 {} · max {} · {} effects",
                    duration(l.p50_us),
                    duration(l.max_us),
                    thousands(l.count)
                ))
                .quiet(l.count == 0)
        })
        .collect()
}

fn breaker_rows(e: &EffectsReport) -> Vec<Row> {
    let mut rows: Vec<Row> = e
        .breaker_spans
        .iter()
        .map(|b| {
            let until = b.to_us.map_or("still open".to_string(), time_of_day);
            let open = b.to_us.map_or(String::new(), |t| duration(t - b.from_us));
            row(1, format!("{}/{}", b.sink, b.class), open)
                .note(format!("open {} → {until}", time_of_day(b.from_us)))
        })
        .collect();
    let label = if rows.is_empty() {
        "breakers: none opened"
    } else {
        "breakers"
    };
    rows.insert(0, row(0, label, "").heading());
    rows
}

pub(super) fn effects(out: &mut String, st: &Style, e: &EffectsReport) {
    let mut rows = sink_rows(e);
    rows.extend(latency_rows(e));
    rows.extend(breaker_rows(e));
    let drained = match (e.drained, e.drained_at_us) {
        (true, Some(t)) => format!("at {}", time_of_day(t)),
        (true, None) => "nothing to deliver".to_string(),
        (false, _) => "no: effects left in the lanes".to_string(),
    };
    rows.push(row(0, "drained", drained).text());
    section(
        out,
        st,
        "effects (delivered / derived, simulated time)",
        &rows,
    );
}

fn measure_row(m: &SlaMeasureReport) -> Row {
    let target = m
        .target_minutes
        .map_or("no target".to_string(), |t| format!("target {t}"));
    match &m.minutes {
        Some(d) => row(0, m.measure.clone(), format!("p99 {}", d.p99)).note(format!(
            "p50 {} · p90 {} · max {} · {} values · {target} · {} breaches",
            d.p50,
            d.p90,
            d.max,
            thousands(d.count),
            thousands(m.breaches)
        )),
        None => row(0, m.measure.clone(), "none").note(target).quiet(true),
    }
}

pub(super) fn sla(out: &mut String, st: &Style, e: &EffectsReport) {
    let rows: Vec<Row> = e.sla.measures.iter().map(measure_row).collect();
    if !rows.is_empty() {
        section(out, st, "SLA (minutes)", &rows);
    }
}
