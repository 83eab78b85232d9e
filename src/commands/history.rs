//! `waybill history`: every journal record that touched a shipment.

use super::replay_with;
use crate::args::HistoryArgs;
use crate::error::CliError;
use serde_json::json;
use std::process::ExitCode;
use waybill_core::engine::Until;
use waybill_core::event::{ArchivedEntry, SubjectKind};
use waybill_core::time::format_rfc3339_us;

pub fn run(a: HistoryArgs) -> Result<ExitCode, CliError> {
    let mut rows = Vec::new();
    replay_with(&a.journal.journal, Until::End, |v| {
        let ArchivedEntry::Event(ev) = v.entry else {
            return;
        };
        let ty = ev.event_type();
        if ty.subject_kind() != SubjectKind::Shipment || ev.subject.to_native() != a.shipment {
            return;
        }
        rows.push(json!({
            "lsn": v.lsn,
            "ingest_time": format_rfc3339_us(v.ingest_us),
            "outcome": v.outcome.as_str(),
            "type": ty.as_str(),
            "source": ev.source.as_str(),
            "sequence": ev.sequence.to_native(),
            "id": ev.id.as_str(),
            "time": format_rfc3339_us(ev.time_us.to_native()),
        }));
    })?;
    if rows.is_empty() {
        return Err(CliError::Usage(format!(
            "no record touched shipment {}",
            a.shipment
        )));
    }
    for r in &rows {
        if a.json {
            println!("{r}");
        } else {
            println!(
                "lsn {:<8} {}  {:<10} {:<20} {}#{}  time {}",
                r["lsn"],
                r["ingest_time"].as_str().unwrap_or(""),
                r["outcome"].as_str().unwrap_or(""),
                r["type"].as_str().unwrap_or(""),
                r["source"].as_str().unwrap_or(""),
                r["sequence"],
                r["time"].as_str().unwrap_or(""),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
