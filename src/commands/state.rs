//! `waybill state`: the summary, one shipment, or every shipment; now or at a point in time.

use super::{check_journal_dir, replay};
use crate::args::{PointInTime, StateArgs};
use crate::error::CliError;
use crate::output::{self, Out, escape};
use serde_json::Value;
use std::process::ExitCode;
use waybill_core::engine::{Replayed, Until};
use waybill_core::machine::Machine;
use waybill_core::time::{format_rfc3339_us, parse_rfc3339_us};

pub fn until(at: &PointInTime) -> Result<Until, CliError> {
    Ok(match (&at.at_lsn, &at.at_time) {
        (Some(n), _) => Until::Lsn(*n),
        (None, Some(t)) => {
            Until::IngestTime(parse_rfc3339_us(t).ok_or_else(|| {
                CliError::Usage(format!("--at-time {t:?} is not an RFC 3339 time"))
            })?)
        }
        (None, None) => Until::End,
    })
}

/// An `--at-lsn` past the journal's last record is an error, never the end in disguise.
pub fn check_reached(until: Until, replayed: &Replayed) -> Result<(), CliError> {
    let last = replayed.machine.lsn();
    match until {
        Until::Lsn(n) if n > last => Err(CliError::Usage(format!(
            "--at-lsn {n} is past the end of the journal (its last lsn is {last})"
        ))),
        _ => Ok(()),
    }
}

pub fn run(a: StateArgs) -> Result<ExitCode, CliError> {
    let dir = &a.journal.journal;
    check_journal_dir(dir)?;
    let until = until(&a.at)?;
    let replayed = replay(dir, until)?;
    check_reached(until, &replayed)?;
    let m = &replayed.machine;
    let mut out = Out::new();
    if let Some(id) = a.shipment {
        let view = m.state().shipment_view(id, m.sources()).ok_or_else(|| {
            CliError::Usage(format!(
                "no shipment {id} in {} at lsn {}",
                dir.display(),
                m.lsn()
            ))
        })?;
        let v = serde_json::to_value(&view).expect("views serialize");
        if a.json {
            out.line(v)?;
        } else {
            output::print_object(&mut out, &v)?;
        }
    } else if a.all {
        print_all(&mut out, m, a.json)?;
    } else if a.json {
        out.line(serde_json::to_string(&m.summary()).expect("summary serializes"))?;
    } else {
        print_summary(&mut out, dir, &replayed)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Every shipment sorted by id: one JSON line each (`--json`), or one table row each.
fn print_all(out: &mut Out, m: &Machine, json: bool) -> Result<(), CliError> {
    if !json {
        out.line(format_args!(
            "{:>10}  {:<10} {:>3}  {:<20}  {:<7} {:<8} {:>14} {:>14}  {:<8}  anomalies",
            "id",
            "status",
            "ver",
            "delivered",
            "on_time",
            "currency",
            "billed_cents",
            "leakage_cents",
            "invoice"
        ))?;
    }
    for id in m.state().shipment_ids() {
        let view = m
            .state()
            .shipment_view(id, m.sources())
            .expect("listed ids exist");
        let v = serde_json::to_value(&view).expect("views serialize");
        if json {
            out.line(v)?;
        } else {
            out.line(table_row(&v))?;
        }
    }
    Ok(())
}

/// One shipment as a row of the human `--all` table.
fn table_row(v: &Value) -> String {
    let text = |v: &Value| match v {
        Value::Null => "-".to_owned(),
        Value::String(s) => escape(s),
        Value::Bool(true) => "yes".to_owned(),
        Value::Bool(false) => "no".to_owned(),
        other => escape(&other.to_string()),
    };
    let anomalies: Vec<String> = v["anomalies"]
        .as_array()
        .map(|a| a.iter().map(text).collect())
        .unwrap_or_default();
    format!(
        "{:>10}  {:<10} {:>3}  {:<20}  {:<7} {:<8} {:>14} {:>14}  {:<8}  {}",
        text(&v["id"]),
        text(&v["status"]),
        text(&v["order_version"]),
        text(&v["delivered"]),
        text(&v["on_time"]),
        text(&v["contract"]["currency"]),
        text(&v["billed_cents"]),
        text(&v["leakage_cents"]),
        text(&v["invoice_status"]),
        if anomalies.is_empty() {
            "-".to_owned()
        } else {
            anomalies.join(",")
        }
    )
}

fn print_summary(out: &mut Out, dir: &std::path::Path, r: &Replayed) -> Result<(), CliError> {
    let m = &r.machine;
    let s = m.summary();
    out.line(format_args!(
        "journal    {}",
        escape(&dir.display().to_string())
    ))?;
    let at = r
        .last_ingest_us
        .map(|t| format!(" (ingested up to {})", format_rfc3339_us(t)))
        .unwrap_or_default();
    out.line(format_args!("lsn        {}{at}", s.lsn))?;
    out.line(format_args!("digest     {}", s.digest))?;
    out.line(format_args!(
        "received   {} = applied {} + duplicates {} + dead-lettered {}",
        s.received, s.applied, s.duplicates, s.dead_lettered
    ))?;
    let reasons = output::reasons_line(&m.counters());
    if !reasons.is_empty() {
        out.line(format_args!("dead       {reasons}"))?;
    }
    out.line(format_args!("missing    {}", s.missing))?;
    for g in &s.gaps {
        let ranges: Vec<String> = g
            .ranges
            .iter()
            .map(|[a, b]| {
                if a == b {
                    a.to_string()
                } else {
                    format!("{a}-{b}")
                }
            })
            .collect();
        out.line(format_args!(
            "  {} missing {}: {}",
            escape(&g.source),
            g.missing,
            ranges.join(", ")
        ))?;
    }
    out.line(format_args!(
        "shipments  {}, vehicles {}, sources {}",
        s.shipments, s.vehicles, s.sources
    ))?;
    let statuses: Vec<String> = s
        .shipments_by_status
        .0
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    if !statuses.is_empty() {
        out.line(format_args!("status     {}", statuses.join(", ")))?;
    }
    out.line(format_args!(
        "billing    {} invoice-ready, {} leaking shipments, {} with anomalies",
        s.invoice_ready, s.leaking_shipments, s.with_anomalies
    ))?;
    // Money per currency, never added across currencies.
    for (currency, t) in &s.totals {
        out.line(format_args!(
            "  {}: billed {} cents, expected detention {} cents, leakage {} cents",
            escape(currency),
            t.billed_cents,
            t.expected_detention_cents,
            t.leakage_cents
        ))?;
    }
    Ok(())
}
