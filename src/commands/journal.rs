//! `waybill journal verify` and `waybill journal dump`.

use super::replay_with;
use crate::args::{DumpArgs, VerifyArgs};
use crate::error::CliError;
use serde_json::{Value, json};
use std::io::{BufWriter, Write};
use std::process::ExitCode;
use waybill_core::encode::event_to_json;
use waybill_core::engine::Until;
use waybill_core::event::{ArchivedEntry, ArchivedEvent, Event};
use waybill_core::journal;
use waybill_core::time::format_rfc3339_us;

pub fn verify(a: VerifyArgs) -> Result<ExitCode, CliError> {
    let dir = &a.journal.journal;
    let mut check = |_kind, payload: &[u8]| {
        rkyv::access::<ArchivedEntry, rkyv::rancor::Error>(payload)
            .map(|_| ())
            .map_err(|e| format!("payload is not a valid entry: {e}"))
    };
    let report = journal::verify_at(dir, a.at_lsn, &mut check)?;
    let head = hex(&report.head_link);
    let content = hex(&report.content_digest);
    let durable_head = hex(&report.durable.link);
    if a.json {
        let v = json!({
            "ok": true,
            "records": report.records,
            "segments": report.segments,
            "last_lsn": report.last_lsn,
            "head_link": head,
            "content_digest": content,
            "content_lsn": report.content_lsn,
            "durable_lsn": report.durable.lsn,
            "durable_head_link": durable_head,
            "torn_tail": report.torn_tail.as_ref().map(|t| t.to_string()),
        });
        println!("{v}");
    } else {
        println!(
            "ok: {} records in {} segments, lsn 1..{}, chain head {}",
            report.records, report.segments, report.last_lsn, head
        );
        println!(
            "durable to lsn {}, chain head there {durable_head}",
            report.durable.lsn
        );
        println!("content digest {content} (lsn 1..{})", report.content_lsn);
        if let Some(t) = &report.torn_tail {
            println!("note: {t} (cut when a writer next opens the journal)");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn dump(a: DumpArgs) -> Result<ExitCode, CliError> {
    let limit = a.limit.unwrap_or(u64::MAX);
    let until = match a.from_lsn.checked_add(limit) {
        Some(end) => Until::Lsn(end - 1),
        None => Until::End,
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut broken = false;
    replay_with(&a.journal.journal, until, |v| {
        if v.lsn < a.from_lsn || broken {
            return;
        }
        let mut row = json!({
            "lsn": v.lsn,
            "ingest_time": format_rfc3339_us(v.ingest_us),
            "segment": v.segment,
            "offset": v.offset,
            "outcome": v.outcome.as_str(),
        });
        match v.entry {
            ArchivedEntry::Event(ev) => {
                row["event"] = event_json(ev);
            }
            ArchivedEntry::DeadLetter(dl) => {
                row["reason"] = dl.reason.native().as_str().into();
                row["detail"] = dl.detail.as_str().into();
                row["raw_len_bytes"] = dl.raw_len_bytes.to_native().into();
                row["raw"] = String::from_utf8_lossy(dl.raw.as_slice()).into();
            }
        }
        let line = if a.json {
            row.to_string()
        } else {
            let what = match v.entry {
                ArchivedEntry::Event(_) => row["event"].to_string(),
                ArchivedEntry::DeadLetter(_) => format!(
                    "{}: {} | {}",
                    row["reason"].as_str().unwrap_or(""),
                    row["detail"].as_str().unwrap_or(""),
                    row["raw"].as_str().unwrap_or("")
                ),
            };
            format!(
                "lsn {} seg {} off {} ingest {} {} {}",
                v.lsn,
                v.segment,
                v.offset,
                row["ingest_time"].as_str().unwrap_or(""),
                v.outcome.as_str(),
                what
            )
        };
        broken = writeln!(out, "{line}").is_err();
    })?;
    let _ = out.flush();
    Ok(ExitCode::SUCCESS)
}

/// The event as the CloudEvent it was received as (re-encoded from the journal).
fn event_json(ev: &ArchivedEvent) -> Value {
    let owned: Event = rkyv::deserialize::<Event, rkyv::rancor::Error>(ev)
        .expect("validated archived events deserialize");
    serde_json::from_str(&event_to_json(&owned)).expect("the encoder writes JSON")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
