//! `waybill snapshot`: a snapshot of the state at the journal's last record.

use super::{check_journal_dir, warn_skipped};
use crate::args::SnapshotArgs;
use crate::error::CliError;
use crate::output::Out;
use serde_json::json;
use std::process::ExitCode;
use std::time::Instant;
use waybill_core::engine::{self, Until};

pub fn run(a: SnapshotArgs) -> Result<ExitCode, CliError> {
    let dir = &a.journal.journal;
    check_journal_dir(dir)?;
    let started = Instant::now();
    let (path, header, replayed) = engine::snapshot_journal(dir, Until::End, a.keep as usize)?;
    let took_ms = started.elapsed().as_millis() as u64;
    warn_skipped(&replayed.snapshots.skipped);
    let m = &replayed.machine;
    let from = replayed.snapshots.loaded.as_ref().map_or(0, |l| l.1);
    let mut out = Out::new();
    if a.json {
        out.line(json!({
            "path": path.display().to_string(),
            "lsn": header.lsn,
            "bytes": header.file_bytes,
            "shipments": m.state().shipment_count(),
            "vehicles": m.state().vehicle_count(),
            "from_snapshot_lsn": from,
            "records_replayed": replayed.snapshots.replayed,
            "took_ms": took_ms,
        }))?;
    } else {
        out.line(format_args!(
            "snapshot at lsn {}: {} ({} bytes)",
            header.lsn,
            path.display(),
            header.file_bytes
        ))?;
        out.line(format_args!(
            "{} shipments, {} vehicles; built from lsn {from} + {} records in {took_ms} ms",
            m.state().shipment_count(),
            m.state().vehicle_count(),
            replayed.snapshots.replayed
        ))?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
