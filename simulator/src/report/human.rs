//! The end-of-run summary for a terminal: header, checklist, figures, verdict.

use super::format::{
    absolute_us, money_in, printable, rfc_time_of_day, span, start_us, sum, thousands, thousands_f,
    thousands_u128, time_of_day, wall,
};
use super::{CrashReport, Report};

mod effects;

const SYSTEMS: [&str; 4] = ["erp", "route", "fleet", "billing"];
/// Where values start in the figure sections (label, dot leaders, then the value).
const LABEL_WIDTH: usize = 38;

/// ANSI styling that disappears when colour is off.
struct Style {
    color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color && !s.is_empty() {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn green(&self, s: &str) -> String {
        self.paint("32", s)
    }
    fn red(&self, s: &str) -> String {
        self.paint("31", s)
    }
    fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
    fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    fn verdict(&self, ok: bool, s: &str) -> String {
        self.paint(if ok { "1;32" } else { "1;31" }, s)
    }
}

/// One figure: `label ........ value  note`.
struct Row {
    depth: usize,
    label: String,
    value: String,
    note: String,
    /// Secondary (zero counts and the like): drawn dim.
    quiet: bool,
    /// Text (a path, a digest): left-aligned, not part of the number column.
    text: bool,
    /// A heading inside the section: the label alone, no leaders, no value.
    heading: bool,
}

fn row(depth: usize, label: impl Into<String>, value: impl Into<String>) -> Row {
    Row {
        depth,
        label: label.into(),
        value: value.into(),
        note: String::new(),
        quiet: false,
        text: false,
        heading: false,
    }
}

impl Row {
    fn note(mut self, note: impl Into<String>) -> Row {
        self.note = note.into();
        self
    }
    fn quiet(mut self, quiet: bool) -> Row {
        self.quiet = quiet;
        self
    }
    fn text(mut self) -> Row {
        self.text = true;
        self
    }
    fn heading(mut self) -> Row {
        self.heading = true;
        self
    }
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn pad(s: &str, w: usize) -> String {
    format!("{s}{}", " ".repeat(w.saturating_sub(width(s))))
}

fn pad_left(s: &str, w: usize) -> String {
    format!("{}{s}", " ".repeat(w.saturating_sub(width(s))))
}

fn section(out: &mut String, st: &Style, title: &str, rows: &[Row]) {
    out.push('\n');
    out.push_str(&format!("  {}\n", st.bold(title)));
    let value_width = rows
        .iter()
        .filter(|r| !r.text)
        .map(|r| width(&r.value))
        .max()
        .unwrap_or(0);
    let label_width = rows
        .iter()
        .map(|r| 4 + 2 * r.depth + width(&r.label) + 4)
        .max()
        .unwrap_or(0)
        .max(LABEL_WIDTH);
    for r in rows {
        let indent = 4 + 2 * r.depth;
        if r.heading {
            out.push_str(&" ".repeat(indent));
            out.push_str(&r.label);
            out.push('\n');
            continue;
        }
        let label = format!("{} ", r.label);
        let dots = ".".repeat(label_width - indent - width(&label));
        let value = if r.text {
            r.value.clone()
        } else {
            pad_left(&r.value, value_width)
        };
        let mut line = if r.quiet {
            st.dim(&format!("{label}{dots} {value}"))
        } else {
            format!("{label}{} {value}", st.dim(&dots))
        };
        if !r.note.is_empty() {
            line.push_str("  ");
            line.push_str(&st.dim(&r.note));
        }
        out.push_str(&" ".repeat(indent));
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

fn count_rows(depth: usize, pairs: &[(String, u64)]) -> Vec<Row> {
    pairs
        .iter()
        .map(|(k, v)| row(depth, k.clone(), thousands(*v)).quiet(*v == 0))
        .collect()
}

/// What a crash did: the reopened LSN, the records it cut, the redeliveries, the power cut.
fn crash_note(cr: &CrashReport) -> String {
    let mut note = format!(
        "LSN after reopen {}, lost {} acknowledged + {} unacknowledged, redelivered {}",
        thousands(cr.lsn_after_reopen),
        thousands(cr.lost_acknowledged),
        thousands(cr.lost_unacknowledged),
        thousands(cr.redelivered)
    );
    if let Some(p) = &cr.power_cut {
        note.push_str(&format!(
            "; power cut kept {} of {} unflushed pages",
            thousands(p.pages_kept),
            thousands(p.pages_unflushed)
        ));
        if let Some(t) = &p.torn_at {
            note.push_str(&format!(", tore {t}"));
        }
        note.push_str(&format!(
            ", cut {} of {} unsynced effect log bytes",
            thousands(p.effect_log_bytes_lost),
            thousands(p.effect_log_bytes_unsynced)
        ));
    }
    if cr.effects_cut + cr.effects_rederived > 0 {
        note.push_str(&format!(
            "; effects cut {}, derived again {}",
            thousands(cr.effects_cut),
            thousands(cr.effects_rederived)
        ));
    }
    note
}

/// Leakage per currency: what billing forgot, what the ground truth expects, what the core
/// found, and the largest leaks. Cents of different currencies are never added.
fn leakage(out: &mut String, st: &Style, r: &Report) {
    let l = &r.leakage;
    let mut rows = Vec::new();
    for c in &l.currencies {
        let cur = c.currency.as_str();
        let coverage = if c.expected_cents != 0 {
            format!(
                "  {:.1}% of expected",
                c.found_cents as f64 * 100.0 / c.expected_cents as f64
            )
        } else {
            String::new()
        };
        rows.push(row(0, printable(cur), "").heading());
        rows.push(
            row(
                1,
                "omitted by billing",
                money_in(cur, c.omitted_detention_cents),
            )
            .note(format!(
                "{} detention charges",
                thousands(c.omitted_detention_charges)
            )),
        );
        rows.push(
            row(
                1,
                "expected (ground truth)",
                money_in(cur, c.expected_cents),
            )
            .note(format!(
                "{} shipments, incl. deliveries not yet billed at the end",
                thousands(c.expected_leaking_shipments)
            )),
        );
        rows.push(
            row(1, "found by the core", money_in(cur, c.found_cents)).note(format!(
                "{} shipments{coverage}",
                thousands(c.leaking_shipments)
            )),
        );
        rows.extend(
            c.top
                .iter()
                .map(|(id, cents)| row(2, format!("shipment {id}"), money_in(cur, *cents))),
        );
    }
    if rows.is_empty() {
        rows.push(row(0, "none", "").quiet(true));
    }
    section(out, st, "leakage (per currency)", &rows);
}

/// The producers' account: acknowledged, lost and redelivered.
fn acknowledgements(out: &mut String, st: &Style, r: &Report) {
    let a = &r.acknowledgements;
    let promise = if r.throughput.durability == "none" {
        "durability none promises nothing"
    } else {
        "must be 0"
    };
    let rows = [
        row(0, "sent", thousands(a.sent)).note("redeliveries included"),
        row(0, "acknowledged", thousands(a.acknowledged)),
        row(
            1,
            "lost after acknowledgement",
            thousands(a.lost_acknowledged),
        )
        .note(promise)
        .quiet(a.lost_acknowledged == 0),
        row(0, "lost unacknowledged", thousands(a.lost_unacknowledged))
            .note("cut by a crash before acknowledgement")
            .quiet(a.lost_unacknowledged == 0),
        row(0, "redelivered after crash", thousands(a.redelivered)).quiet(a.redelivered == 0),
    ];
    section(out, st, "acknowledgements", &rows);
}

/// Scenario name, description and the run's settings.
fn header(out: &mut String, st: &Style, r: &Report) {
    out.push('\n');
    out.push_str(&format!(
        "  {}  {}\n",
        st.dim("waybill sim"),
        st.bold(&printable(&r.scenario))
    ));
    for line in r.description.lines().filter(|l| !l.trim().is_empty()) {
        out.push_str(&format!("  {}\n", st.dim(&printable(line.trim()))));
    }
    let sep = st.dim(" · ");
    out.push_str(&format!(
        "  seed {}{sep}pace {}{sep}durability {}{sep}{} shipments{sep}{} vehicles\n",
        r.seed,
        r.throughput.pace,
        r.throughput.durability,
        thousands(r.world.shipments),
        thousands(r.world.vehicles),
    ));
}

/// One line per check; a failed one with its detail under it.
fn checklist(out: &mut String, st: &Style, r: &Report) {
    out.push('\n');
    out.push_str(&format!("  {}\n", st.bold("checks")));
    let name_w = r.checks.iter().map(|c| width(&c.name)).max().unwrap_or(0);
    let exp_w = r
        .checks
        .iter()
        .map(|c| width(&c.expected))
        .max()
        .unwrap_or(0)
        .min(40);
    if r.checks.is_empty() {
        out.push_str(&format!("    {}\n", st.dim("no checks ran")));
    }
    for c in &r.checks {
        let mark = if c.passed {
            st.green("✓")
        } else {
            st.red("✗")
        };
        let name = pad(&c.name, name_w);
        let name = if c.passed { name } else { st.red(&name) };
        let line = format!(
            "    {mark} {name}  {} {}  {} {}",
            st.dim("expected"),
            pad(&c.expected, exp_w),
            st.dim("actual"),
            c.actual
        );
        out.push_str(line.trim_end());
        out.push('\n');
        if !c.passed {
            for d in c.detail.lines().filter(|l| !l.trim().is_empty()) {
                out.push_str(&format!("        {}\n", d.trim_end()));
            }
        }
    }
}

/// The core's counters, with the conservation law.
fn counters(out: &mut String, st: &Style, r: &Report) {
    let c = &r.counters;
    let total = sum(&[c.applied, c.duplicates, c.dead_lettered]);
    let law = if total == c.received {
        "= applied + duplicates + dead_lettered".to_string()
    } else {
        format!(
            "≠ applied + duplicates + dead_lettered ({})",
            thousands(total)
        )
    };
    let mut rows = vec![
        row(0, "received", thousands(c.received)).note(law),
        row(1, "applied", thousands(c.applied)),
        row(1, "duplicates", thousands(c.duplicates)).quiet(c.duplicates == 0),
        row(1, "dead_lettered", thousands(c.dead_lettered)).quiet(c.dead_lettered == 0),
    ];
    rows.extend(count_rows(2, &c.dead_letter_reasons));
    rows.push(row(0, "missing", thousands_u128(c.missing)).note("gaps the core can see"));
    rows.push(row(0, "shipments", thousands(c.shipments)));
    rows.push(row(0, "vehicles", thousands(c.vehicles)));
    section(out, st, "counters", &rows);
}

/// What the network and the world injected.
fn injected(out: &mut String, st: &Style, r: &Report) {
    let i = &r.injected;
    let malformed = sum(i.malformed.iter().map(|(_, n)| n));
    let mut rows = vec![
        row(0, "events generated", thousands(i.events_generated)),
        row(0, "deliveries", thousands(i.deliveries)),
        row(0, "duplicates", thousands(i.duplicates)).quiet(i.duplicates == 0),
        row(0, "dropped", thousands(i.dropped))
            .note(format!("{} detectable", thousands(i.dropped_detectable)))
            .quiet(i.dropped == 0),
        row(0, "reordered", thousands(i.reordered)).quiet(i.reordered == 0),
        row(0, "held by outage", thousands(i.held_by_outage)).quiet(i.held_by_outage == 0),
        row(0, "malformed", thousands(malformed)).quiet(malformed == 0),
    ];
    rows.extend(count_rows(1, &i.malformed));
    section(out, st, "injected faults", &rows);
}

/// Outage windows and crashes, in simulated time of day.
fn outages_and_crashes(out: &mut String, st: &Style, r: &Report, start: i64) {
    out.push('\n');
    out.push_str(&format!("  {}\n", st.bold("outages and crashes")));
    if r.outages.is_empty() && r.crashes.is_empty() {
        out.push_str(&format!("    {}\n", st.dim("none")));
    }
    let src_w = r
        .outages
        .iter()
        .map(|o| width(&o.source))
        .max()
        .unwrap_or(0)
        .max(5);
    for o in &r.outages {
        let (from, to) = (absolute_us(o.from_us, start), absolute_us(o.to_us, start));
        out.push_str(&format!(
            "    outage {}  {} → {}  {}  {}\n",
            pad(&o.source, src_w),
            time_of_day(from),
            time_of_day(to),
            pad(&span((to - from) / 1_000_000), 8),
            st.dim(&format!("held {}", thousands(o.held))),
        ));
    }
    for cr in &r.crashes {
        out.push_str(&format!(
            "    crash  {}  {}  {}\n",
            pad(&cr.mode, src_w),
            rfc_time_of_day(&cr.at),
            st.dim(&crash_note(cr)),
        ));
    }
}

/// Events and wall time of each phase.
fn throughput(out: &mut String, st: &Style, r: &Report) {
    let t = &r.throughput;
    section(
        out,
        st,
        "throughput",
        &[
            row(0, "events", thousands(t.events)),
            row(0, "ingest wall time", wall(t.wall_seconds)),
            row(0, "events/s", thousands_f(t.events_per_second, 0)),
            row(0, "generate", wall(t.generate_seconds)),
            row(0, "check", wall(t.check_seconds)),
            row(
                0,
                "simulated span",
                span(t.simulated_seconds.round() as i64),
            ),
        ],
    );
}

/// Latency percentiles, or why there are none.
fn latency(out: &mut String, st: &Style, r: &Report) {
    match &r.latency_us {
        Some(p) => section(
            out,
            st,
            "latency (submission → applied)",
            &[
                row(0, "p50", format!("{} µs", thousands(p.p50))),
                row(0, "p90", format!("{} µs", thousands(p.p90))),
                row(0, "p99", format!("{} µs", thousands(p.p99))),
                row(0, "p99.9", format!("{} µs", thousands(p.p999))),
                row(0, "max", format!("{} µs", thousands(p.max))),
                row(0, "samples", thousands(p.count)).quiet(true),
            ],
        ),
        None => {
            out.push('\n');
            out.push_str(&format!("  {}\n", st.bold("latency")));
            let why = if r.throughput.pace == "max" {
                "not measured (pace = max)".to_string()
            } else {
                "not measured".to_string()
            };
            out.push_str(&format!("    {}\n", st.dim(&why)));
        }
    }
}

/// Where the journal is, its LSN and digest.
fn journal(out: &mut String, st: &Style, r: &Report) {
    section(
        out,
        st,
        "journal",
        &[
            row(0, "path", r.journal.clone()).text(),
            row(0, "lsn", thousands(r.lsn)).text(),
            row(0, "digest", r.digest.clone()).text(),
        ],
    );
}

/// The arrival mix by system, when the timeline has one.
fn arrivals(out: &mut String, st: &Style, r: &Report) {
    let mut by_system = [0u64; 4];
    for b in &r.timeline.buckets {
        for (k, v) in b.arrivals_by_system.iter().enumerate() {
            by_system[k] = by_system[k].saturating_add(*v);
        }
    }
    let total = sum(&by_system);
    if total > 0 {
        let rows: Vec<Row> = SYSTEMS
            .iter()
            .zip(by_system)
            .map(|(name, v)| {
                row(0, *name, thousands(v))
                    .note(format!("{:>5.1}%", v as f64 * 100.0 / total as f64))
                    .quiet(v == 0)
            })
            .collect();
        section(out, st, "arrivals by system", &rows);
    }
}

pub(super) fn render(r: &Report, color: bool) -> String {
    let st = Style { color };
    let mut out = String::new();
    let start = start_us(&r.timeline.start);
    header(&mut out, &st, r);
    checklist(&mut out, &st, r);
    counters(&mut out, &st, r);
    injected(&mut out, &st, r);
    acknowledgements(&mut out, &st, r);
    outages_and_crashes(&mut out, &st, r, start);
    throughput(&mut out, &st, r);
    latency(&mut out, &st, r);
    leakage(&mut out, &st, r);
    effects::effects(&mut out, &st, &r.effects);
    effects::sla(&mut out, &st, &r.effects);
    journal(&mut out, &st, r);
    arrivals(&mut out, &st, r);
    out.push('\n');
    out.push_str(&format!("  {}\n", st.verdict(r.ok(), &r.verdict())));
    out
}
