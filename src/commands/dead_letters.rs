//! `waybill dead-letters`: dead-lettered events with reasons and raw bytes.

use super::replay_with;
use crate::args::DeadLettersArgs;
use crate::error::CliError;
use crate::output;
use serde_json::json;
use std::process::ExitCode;
use waybill_core::engine::Until;
use waybill_core::event::ArchivedEntry;
use waybill_core::time::format_rfc3339_us;

/// Characters of raw bytes shown per dead letter in human output (JSON shows all).
const RAW_PREVIEW_CHARS: usize = 240;

pub fn run(a: DeadLettersArgs) -> Result<ExitCode, CliError> {
    let mut count = 0u64;
    replay_with(&a.journal.journal, Until::End, |v| {
        let ArchivedEntry::DeadLetter(dl) = v.entry else {
            return;
        };
        count += 1;
        let raw = dl.raw.as_slice();
        if a.json {
            let row = json!({
                "lsn": v.lsn,
                "ingest_time": format_rfc3339_us(v.ingest_us),
                "reason": dl.reason.native().as_str(),
                "detail": dl.detail.as_str(),
                "raw_len_bytes": dl.raw_len_bytes.to_native(),
                "raw_truncated": (raw.len() as u64) < dl.raw_len_bytes.to_native(),
                "raw": String::from_utf8_lossy(raw),
            });
            println!("{row}");
        } else {
            println!(
                "lsn {}  {}  {}: {} ({} bytes)",
                v.lsn,
                format_rfc3339_us(v.ingest_us),
                dl.reason.native().as_str(),
                dl.detail.as_str(),
                dl.raw_len_bytes.to_native()
            );
            println!("    {}", output::raw_preview(raw, RAW_PREVIEW_CHARS));
        }
    })?;
    if !a.json {
        println!("{count} dead letters");
    }
    Ok(ExitCode::SUCCESS)
}
