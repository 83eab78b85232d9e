//! `waybill history`: every journal record that touched a shipment.

use super::{check_journal_dir, replay_with};
use crate::args::HistoryArgs;
use crate::error::CliError;
use crate::output::{Out, escape};
use serde_json::{Value, json};
use std::process::ExitCode;
use waybill_core::engine::Until;
use waybill_core::event::SubjectKind;
use waybill_core::record::EntryView;
use waybill_core::time::format_rfc3339_us;

pub fn run(a: HistoryArgs) -> Result<ExitCode, CliError> {
    check_journal_dir(&a.journal.journal)?;
    let mut rows = Vec::new();
    replay_with(&a.journal.journal, Until::End, |v| {
        let EntryView::Event(ev) = v.entry else {
            return;
        };
        let ty = ev.event_type();
        if ty.subject_kind() != SubjectKind::Shipment || ev.subject() != a.shipment {
            return;
        }
        rows.push(json!({
            "lsn": v.lsn,
            "ingest_time": format_rfc3339_us(v.ingest_us),
            "outcome": v.outcome.as_str(),
            "type": ty.as_str(),
            "source": ev.source(),
            "sequence": ev.sequence(),
            "id": ev.id().to_string(),
            "time": format_rfc3339_us(ev.time_us()),
        }));
    })?;
    if rows.is_empty() {
        return Err(CliError::Usage(format!(
            "no record touched shipment {}",
            a.shipment
        )));
    }
    let mut out = Out::new();
    for r in &rows {
        if a.json {
            out.line(r)?;
        } else {
            out.line(human_row(r))?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// One record for people; the event's id and source come from input and are escaped.
fn human_row(r: &Value) -> String {
    let s = |k: &str| escape(r[k].as_str().unwrap_or(""));
    format!(
        "lsn {:<8} {}  {:<10} {:<20} {}#{}  id {}  time {}",
        r["lsn"],
        s("ingest_time"),
        s("outcome"),
        s("type"),
        s("source"),
        r["sequence"],
        s("id"),
        s("time"),
    )
}
