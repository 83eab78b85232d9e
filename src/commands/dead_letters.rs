//! `waybill dead-letters`: dead-lettered events with reasons and raw bytes.

use super::{check_journal_dir, replay_with};
use crate::args::DeadLettersArgs;
use crate::error::CliError;
use crate::output::{self, Out, escape};
use serde_json::{Map, Value};
use std::process::ExitCode;
use waybill_core::engine::{Until, Visit};
use waybill_core::event::ArchivedDeadLetter;
use waybill_core::record::EntryView;
use waybill_core::time::format_rfc3339_us;

/// Characters of raw bytes shown per dead letter in human output (JSON shows all).
const RAW_PREVIEW_CHARS: usize = 240;

pub fn run(a: DeadLettersArgs) -> Result<ExitCode, CliError> {
    check_journal_dir(&a.journal.journal)?;
    let mut count = 0u64;
    let mut out = Out::new();
    let mut failed = None;
    replay_with(&a.journal.journal, Until::End, |v| {
        let EntryView::DeadLetter(dl) = v.entry else {
            return;
        };
        if failed.is_some() {
            return;
        }
        count += 1;
        let written = if a.json {
            out.line(json_row(v, dl))
        } else {
            print_human(&mut out, v, dl)
        };
        if let Err(e) = written {
            failed = Some(e);
        }
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    if !a.json {
        out.line(format_args!("{count} dead letters"))?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// One dead letter as JSON, lossless: `raw` when the kept bytes are UTF-8, else `raw_base64`.
fn json_row(v: &Visit<'_>, dl: &ArchivedDeadLetter) -> Value {
    let raw = dl.raw.as_slice();
    let mut row = Map::new();
    row.insert("lsn".into(), v.lsn.into());
    row.insert("ingest_time".into(), format_rfc3339_us(v.ingest_us).into());
    row.insert("reason".into(), dl.reason.native().as_str().into());
    row.insert("detail".into(), dl.detail.as_str().into());
    row.insert("raw_len_bytes".into(), dl.raw_len_bytes.to_native().into());
    row.insert(
        "raw_truncated".into(),
        ((raw.len() as u64) < dl.raw_len_bytes.to_native()).into(),
    );
    output::raw_fields(&mut row, raw);
    Value::Object(row)
}

fn print_human(out: &mut Out, v: &Visit<'_>, dl: &ArchivedDeadLetter) -> Result<(), CliError> {
    out.line(format_args!(
        "lsn {}  {}  {}: {} ({} bytes)",
        v.lsn,
        format_rfc3339_us(v.ingest_us),
        dl.reason.native().as_str(),
        escape(dl.detail.as_str()),
        dl.raw_len_bytes.to_native()
    ))?;
    out.line(format_args!(
        "    {}",
        output::raw_preview(dl.raw.as_slice(), RAW_PREVIEW_CHARS)
    ))
}
