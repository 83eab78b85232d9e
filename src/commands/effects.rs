//! `waybill effects`: the effects for the downstream systems and where each stands;
//! `effects redrive` (dead letters pending again) and `effects deliver` (drain to the sinks of
//! a configuration file). docs/effects.md and docs/cli.md.

use super::check_journal_dir;
use crate::args::{
    EffectsArgs, EffectsCommand, EffectsDeliverArgs, EffectsListArgs, EffectsRedriveArgs,
};
use crate::error::CliError;
use crate::output::{self, Out, escape};
use serde_json::{Map, Value, json};
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use waybill_core::effect::{Downstream, EffectOut};
use waybill_core::outbox::inspect::{self, EffectState, States};
use waybill_core::outbox::{
    BreakerState, Delivery, DeliveryOptions, LaneId, LaneStatus, LogReader, OutboxError, SinkKind,
    SinksConfig, effects_dir, journal_durable_lsn, parse_duration_us, sink,
};
use waybill_core::time::format_rfc3339_us;

pub fn run(a: EffectsArgs) -> Result<ExitCode, CliError> {
    match a.command {
        None => list(a.list),
        Some(EffectsCommand::Redrive(r)) => redrive(r),
        Some(EffectsCommand::Deliver(d)) => deliver(d),
    }
}

/// The journal's durable LSN; also how a command finds that `dir` holds a journal.
fn durable_lsn(dir: &Path) -> Result<u64, CliError> {
    check_journal_dir(dir)?;
    Ok(journal_durable_lsn(dir)?)
}

fn lanes_of(sink: Option<&str>) -> Vec<LaneId> {
    let sink = sink.map(|s| Downstream::parse(s).expect("clap checks the sink names"));
    LaneId::in_use()
        .into_iter()
        .filter(|l| sink.is_none_or(|s| s == l.sink))
        .collect()
}

/// Per lane, what the listing counted in the log.
#[derive(Clone, Copy, Default)]
struct Counted {
    pending: u64,
    not_durable: u64,
}

fn list(a: EffectsListArgs) -> Result<ExitCode, CliError> {
    let Some(dir) = &a.journal else {
        return Err(CliError::Usage(
            "effects: --journal DIR is required (usage: waybill effects --journal DIR [--sink SINK] [--pending | --dead] [--json]; see --help)".into(),
        ));
    };
    let durable = durable_lsn(dir)?;
    let edir = effects_dir(dir);
    let lanes = lanes_of(a.sink.as_deref());
    let states = States::read(&edir)?;
    let mut out = Out::new();
    let what = if a.dead { "dead_letters" } else { "effects" };
    if a.json {
        let head = json!({ "journal": dir.display().to_string(), "durable_lsn": durable });
        let head = head.to_string();
        out.line(format_args!("{},\"{what}\":[", &head[..head.len() - 1]))?;
    }
    let mut rows = Rows {
        out: &mut out,
        json: a.json,
        first: true,
    };
    let counted = scan_log(
        &edir,
        &lanes,
        durable,
        &states,
        (!a.dead).then_some(&a),
        &mut rows,
    )?;
    if a.dead {
        list_dead(&edir, &lanes, &mut rows)?;
    }
    let printed = !rows.first;
    lane_summary(&mut out, &edir, &lanes, &states, &counted, a.json, printed)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Rows of a listing: human lines, or the elements of a JSON array.
struct Rows<'a> {
    out: &'a mut Out,
    json: bool,
    first: bool,
}

impl Rows<'_> {
    fn row(
        &mut self,
        json_row: impl FnOnce() -> String,
        human: impl FnOnce() -> String,
    ) -> Result<(), CliError> {
        let first = std::mem::replace(&mut self.first, false);
        match self.json {
            true => self.out.line(format_args!(
                "{}{}",
                if first { "" } else { "," },
                json_row()
            )),
            false => self.out.line(human()),
        }
    }
}

/// Reads the whole log: counts pending effects per lane and, given `show`, lists the effects.
fn scan_log(
    edir: &Path,
    lanes: &[LaneId],
    durable: u64,
    states: &States,
    show: Option<&EffectsListArgs>,
    rows: &mut Rows<'_>,
) -> Result<Vec<Counted>, CliError> {
    let mut counted = vec![Counted::default(); LaneId::COUNT];
    let mut r = LogReader::open_first(edir)?;
    if show.is_some() && !rows.json {
        rows.out.line(format_args!(
            "{:>8}  {:<18} {:<27} {:>9}  {:<27}  {:<32}  state",
            "seq", "lane", "type", "cause_lsn", "time", "key"
        ))?;
    }
    while let Some(e) = r.next_effect(u64::MAX)? {
        let lane = LaneId::of(e.effect_type);
        if !lanes.contains(&lane) {
            continue;
        }
        let state = states.state(e.seq, e.effect_type);
        let is_durable = e.cause_lsn <= durable;
        if state == EffectState::Pending {
            let c = &mut counted[lane.index()];
            if is_durable {
                c.pending += 1
            } else {
                c.not_durable += 1
            }
        }
        let Some(a) = show else { continue };
        if a.pending && !matches!(state, EffectState::Pending | EffectState::Redriving) {
            continue;
        }
        rows.row(
            || effect_json(&e, state, is_durable),
            || effect_human(&e, state, is_durable),
        )?;
    }
    Ok(counted)
}

fn effect_json(e: &EffectOut, state: EffectState, durable: bool) -> String {
    let lane = LaneId::of(e.effect_type);
    let mut row = Map::new();
    row.insert("seq".into(), e.seq.into());
    row.insert("sink".into(), lane.sink.as_str().into());
    row.insert("class".into(), lane.class.as_str().into());
    row.insert("type".into(), e.effect_type.as_str().into());
    row.insert("key".into(), e.key.to_hex().into());
    row.insert("cause_lsn".into(), e.cause_lsn.into());
    row.insert("time".into(), format_rfc3339_us(e.time_us).into());
    row.insert("durable".into(), durable.into());
    row.insert("state".into(), state.as_str().into());
    with_event(row, &e.json)
}

/// `row` with the effect's CloudEvent as it is stored, byte for byte (`event`); bytes that
/// are not a JSON document (never written by the core) as `raw` or `raw_base64`.
fn with_event(mut row: Map<String, Value>, event: &[u8]) -> String {
    let text = std::str::from_utf8(event)
        .ok()
        .filter(|t| serde_json::from_str::<serde::de::IgnoredAny>(t).is_ok());
    match text {
        Some(t) => {
            let head = Value::Object(row).to_string();
            format!("{},\"event\":{t}}}", &head[..head.len() - 1])
        }
        None => {
            output::raw_fields(&mut row, event);
            Value::Object(row).to_string()
        }
    }
}

fn effect_human(e: &EffectOut, state: EffectState, durable: bool) -> String {
    let state = match (state, durable) {
        (EffectState::Pending, false) => "pending (record not durable yet)",
        (s, _) => s.as_str(),
    };
    format!(
        "{:>8}  {:<18} {:<27} {:>9}  {:<27}  {}  {state}",
        e.seq,
        LaneId::of(e.effect_type).to_string(),
        e.effect_type.as_str(),
        e.cause_lsn,
        format_rfc3339_us(e.time_us),
        e.key
    )
}

fn list_dead(edir: &Path, lanes: &[LaneId], rows: &mut Rows<'_>) -> Result<(), CliError> {
    for &lane in lanes {
        for r in inspect::dead_letters(edir, lane)? {
            let (d, state) = r?;
            let json_row = || {
                let mut row = Map::new();
                row.insert("seq".into(), d.seq.into());
                row.insert("sink".into(), lane.sink.as_str().into());
                row.insert("class".into(), lane.class.as_str().into());
                row.insert("type".into(), d.effect_type.as_str().into());
                row.insert("key".into(), d.key.to_hex().into());
                row.insert("cause_lsn".into(), d.cause_lsn.into());
                row.insert("time".into(), format_rfc3339_us(d.time_us).into());
                row.insert("state".into(), state.as_str().into());
                row.insert("attempts".into(), d.attempts.into());
                row.insert("error".into(), d.error.clone().into());
                row.insert("dead_time".into(), format_rfc3339_us(d.dead_us).into());
                with_event(row, &d.json)
            };
            let human = || {
                format!(
                    "{lane}  seq {}  {}  key {}  attempts {}  dead at {}{}\n    last error: {}",
                    d.seq,
                    d.effect_type,
                    d.key,
                    d.attempts,
                    format_rfc3339_us(d.dead_us),
                    if state == EffectState::Redriving {
                        "  (redriving)"
                    } else {
                        ""
                    },
                    escape(&d.error)
                )
            };
            rows.row(json_row, human)?;
        }
    }
    Ok(())
}

/// The lanes: where each stands, from its files (and the last status a delivery wrote).
fn lane_summary(
    out: &mut Out,
    edir: &Path,
    lanes: &[LaneId],
    states: &States,
    counted: &[Counted],
    json: bool,
    printed: bool,
) -> Result<(), CliError> {
    let positions = inspect::positions(edir)?;
    let mut rows = Vec::new();
    if !json {
        if printed {
            out.line("")?;
        }
        out.line(format_args!(
            "{:<18} {:>8} {:>8} {:>12} {:>6} {:>10} {:>10}  breaker",
            "lane", "cursor", "pending", "not durable", "dead", "redriving", "delivered"
        ))?;
    }
    for &lane in lanes {
        let c = counted[lane.index()];
        let pos = positions[lane.index()];
        let status = inspect::read_status(edir, lane);
        if json {
            rows.push(json!({
                "sink": lane.sink.as_str(),
                "class": lane.class.as_str(),
                "cursor": pos.cursor_seq,
                "pending": c.pending,
                "pending_not_durable": c.not_durable,
                "dead": states.dead(lane),
                "redriving": states.redriving(lane),
                "delivered_total": pos.delivered,
                "status": status.map(|(s, at)| {
                    let mut v = s.to_json();
                    v["as_of"] = format_rfc3339_us(at).into();
                    v
                }),
            }));
            continue;
        }
        out.line(format_args!(
            "{:<18} {:>8} {:>8} {:>12} {:>6} {:>10} {:>10}  {}",
            lane.to_string(),
            pos.cursor_seq,
            c.pending,
            c.not_durable,
            states.dead(lane),
            states.redriving(lane),
            pos.delivered,
            breaker_text(status.as_ref())
        ))?;
    }
    if json {
        out.line(format_args!("],\"lanes\":{}}}", Value::Array(rows)))?;
    }
    Ok(())
}

fn breaker_text(status: Option<&(LaneStatus, i64)>) -> String {
    let Some((s, at)) = status else {
        return "unknown (no delivery has run)".into();
    };
    let mut t = format!("{} (as of {})", s.breaker.as_str(), format_rfc3339_us(*at));
    if s.breaker != BreakerState::Closed
        && let Some(e) = &s.last_error
    {
        t.push_str(&format!(", last error: {}", escape(e)));
    }
    t
}

fn redrive(a: EffectsRedriveArgs) -> Result<ExitCode, CliError> {
    let dir = &a.journal.journal;
    durable_lsn(dir)?;
    let mut results = Vec::new();
    for sink in Downstream::ALL {
        if a.sink.as_deref().is_some_and(|s| s != sink.as_str()) {
            continue;
        }
        let n = inspect::redrive_offline(dir, sink).map_err(|e| match e {
            OutboxError::Locked(p) => CliError::Env(format!(
                "{} is locked: a delivery is running (stop it first, or redrive through the service)",
                p.display()
            )),
            e => e.into(),
        })?;
        results.push((sink, n));
    }
    let total: u64 = results.iter().map(|(_, n)| n[0] + n[1]).sum();
    let mut out = Out::new();
    if a.json {
        let mut by_sink = Map::new();
        for (sink, n) in &results {
            by_sink.insert(
                sink.as_str().into(),
                json!({ "urgent": n[0], "financial": n[1] }),
            );
        }
        out.line(json!({ "redriven": total, "sinks": by_sink }))?;
    } else {
        for (sink, n) in &results {
            out.line(format_args!(
                "{sink}: {} dead letters pending again (urgent {}, financial {})",
                n[0] + n[1],
                n[0],
                n[1]
            ))?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The sinks of `--config` (its `[sla]` table, if any, is for `ingest`).
fn read_config(path: &Path) -> Result<SinksConfig, CliError> {
    Ok(crate::config::read(path)?.sinks)
}

/// The journal's durable LSN as the journal's marker says, read again at most every few
/// milliseconds (a writer may be raising it); a failed read keeps the last value.
fn marker_reader(dir: &Path, first: u64) -> waybill_core::outbox::DurableLsn {
    const REREAD_AFTER: Duration = Duration::from_millis(20);
    let dir = dir.to_owned();
    let last = Mutex::new((Instant::now(), first));
    Arc::new(move || {
        let mut l = last.lock().unwrap_or_else(|p| p.into_inner());
        if l.0.elapsed() >= REREAD_AFTER {
            l.0 = Instant::now();
            l.1 = journal_durable_lsn(&dir).map_or(l.1, |lsn| lsn.max(l.1));
        }
        l.1
    })
}

fn deliver(a: EffectsDeliverArgs) -> Result<ExitCode, CliError> {
    let dir = &a.journal.journal;
    let durable = durable_lsn(dir)?;
    let timeout_us = parse_duration_us(&a.timeout)
        .filter(|us| *us > 0)
        .ok_or_else(|| {
            CliError::Usage(format!(
                "--timeout {:?} is not a duration (like \"30s\", \"10m\")",
                a.timeout
            ))
        })?;
    let config = read_config(&a.config)?;
    let report_to_stderr = Downstream::ALL
        .iter()
        .any(|s| config.get(*s).is_some_and(|c| c.kind == SinkKind::Stdout));
    let sinks = sink::build(&config)?;
    let opts = DeliveryOptions {
        idle_poll_us: 50_000,
        ..DeliveryOptions::default()
    };
    let delivery = Delivery::start_with(dir, &config, sinks, marker_reader(dir, durable), opts)
        .map_err(|e| match e {
            OutboxError::Locked(p) => CliError::Env(format!(
                "{} is locked: another delivery is running",
                p.display()
            )),
            e => e.into(),
        })?;
    let deadline = Instant::now() + Duration::from_micros(timeout_us as u64);
    let once = a.once;
    let settled = move |s: &[LaneStatus]| {
        s.iter().all(|l| {
            l.parked || l.idle || l.breaker != BreakerState::Closed || (once && l.failures > 0)
        })
    };
    let in_time = delivery.wait_until(deadline, settled);
    let last = delivery.stop();
    report(&last, in_time, &a, report_to_stderr)
}

fn report(
    lanes: &[LaneStatus],
    in_time: bool,
    a: &EffectsDeliverArgs,
    to_stderr: bool,
) -> Result<ExitCode, CliError> {
    let delivered: u64 = lanes.iter().map(|l| l.delivered).sum();
    let dead: u64 = lanes.iter().map(|l| l.dead).sum();
    let stuck: Vec<&LaneStatus> = lanes
        .iter()
        .filter(|l| !l.parked && (l.pending > 0 || l.redriving > 0))
        .collect();
    let left: u64 = stuck.iter().map(|l| l.pending + l.redriving).sum();
    let unconfigured: u64 = lanes.iter().filter(|l| l.parked).map(|l| l.pending).sum();
    let text = if a.json {
        json!({
            "delivered": delivered,
            "pending": left,
            "pending_unconfigured": unconfigured,
            "dead": dead,
            "timed_out": !in_time,
            "lanes": lanes.iter().map(LaneStatus::to_json).collect::<Vec<_>>(),
        })
        .to_string()
    } else {
        human_report(lanes, delivered, left, unconfigured, dead)
    };
    if to_stderr {
        eprintln!("{text}");
    } else {
        let mut out = Out::new();
        out.line(text)?;
        out.flush()?;
    }
    if left == 0 {
        return Ok(ExitCode::SUCCESS);
    }
    let why: Vec<String> = stuck
        .iter()
        .map(|l| {
            format!(
                "{} {} ({})",
                l.lane,
                l.pending + l.redriving,
                stuck_reason(l)
            )
        })
        .collect();
    let timed_out = if in_time { "" } else { " (timed out)" };
    Err(CliError::Check(format!(
        "{left} effects stayed pending{timed_out}: {}",
        why.join(", ")
    )))
}

fn stuck_reason(l: &LaneStatus) -> String {
    let state = format!("breaker {}", l.breaker.as_str());
    match &l.last_error {
        Some(e) => format!("{state}, last error: {}", escape(e)),
        None => state,
    }
}

fn human_report(
    lanes: &[LaneStatus],
    delivered: u64,
    left: u64,
    unconfigured: u64,
    dead: u64,
) -> String {
    let mut lines = Vec::new();
    for l in lanes {
        let busy =
            l.delivered > 0 || l.pending > 0 || l.dead > 0 || l.failures > 0 || l.redriving > 0;
        if !busy {
            continue;
        }
        if l.parked {
            lines.push(format!(
                "{}: no sink configured, {} pending",
                l.lane, l.pending
            ));
            continue;
        }
        let mut line = format!(
            "{}: delivered {}, pending {}, dead {}, breaker {}",
            l.lane,
            l.delivered,
            l.pending + l.redriving,
            l.dead,
            l.breaker.as_str()
        );
        if let Some(e) = l.last_error.as_ref().filter(|_| l.failures > 0) {
            line.push_str(&format!(", last error: {}", escape(e)));
        }
        lines.push(line);
    }
    lines.push(format!(
        "delivered {delivered} effects; {left} pending on configured sinks, {unconfigured} on sinks not configured; {dead} dead letters"
    ));
    lines.join("\n")
}
