//! `waybill journal verify` and `waybill journal dump`.

use super::{check_journal_dir, replay_with};
use crate::args::{ArchiveArgs, DumpArgs, VerifyArgs};
use crate::error::CliError;
use crate::output::{self, Out, escape, escape_bytes};
use serde_json::{Map, Value, json};
use std::process::ExitCode;
use waybill_core::archive::ArchiveTo;
use waybill_core::encode::event_to_json;
use waybill_core::engine::{self, Until, Visit};
use waybill_core::event::{Event, Notice, Settings};
use waybill_core::journal;
use waybill_core::record::{self, EntryView};
use waybill_core::time::format_rfc3339_us;

pub fn verify(a: VerifyArgs) -> Result<ExitCode, CliError> {
    let dir = &a.journal.journal;
    check_journal_dir(dir)?;
    let check = |kind, payload: &[u8]| {
        record::read(kind, payload)
            .map(|_| ())
            .map_err(|e| format!("payload is not a valid entry: {e}"))
    };
    let report = journal::verify_at(dir, a.at_lsn, &check)?;
    let snapshots = match a.snapshots {
        true => Some(engine::verify_snapshots(dir)?),
        false => None,
    };
    let head = hex(&report.head_link);
    let content = hex(&report.content_digest);
    let durable_head = hex(&report.durable.link);
    let mut out = Out::new();
    if a.json {
        let v = json!({
            "ok": true,
            "first_lsn": report.first_lsn,
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
        let mut v = v;
        if let Some(checks) = &snapshots {
            v["snapshots"] = checks
                .iter()
                .map(|c| {
                    json!({
                        "path": c.path.display().to_string(),
                        "lsn": c.lsn,
                        "ok": c.problem.is_none(),
                        "base": c.base,
                        "problem": c.problem,
                    })
                })
                .collect();
            v["ok"] = json!(checks.iter().all(|c| c.problem.is_none()));
        }
        out.line(v)?;
    } else {
        out.line(format_args!(
            "ok: {} records in {} segments, lsn {}..{}, chain head {}",
            report.records, report.segments, report.first_lsn, report.last_lsn, head
        ))?;
        if report.first_lsn > 1 {
            out.line(format_args!(
                "the records before lsn {} were archived: the chain is checked from the link in the header of the first segment kept (--snapshots ties it to a snapshot)",
                report.first_lsn
            ))?;
        }
        out.line(format_args!(
            "durable to lsn {}, chain head there {durable_head}",
            report.durable.lsn
        ))?;
        out.line(format_args!(
            "content digest {content} (lsn {}..{})",
            report.first_lsn, report.content_lsn
        ))?;
        if let Some(t) = &report.torn_tail {
            out.line(format_args!(
                "note: {t} (cut when a writer next opens the journal)"
            ))?;
        }
        for c in snapshots.iter().flatten() {
            match &c.problem {
                None if c.base => out.line(format_args!(
                    "snapshot {}: ok (the base: the records before it are archived, so its checksums and its chain link at lsn {} are checked; later snapshots are checked against a replay from it)",
                    c.path.display(),
                    c.lsn
                ))?,
                None => out.line(format_args!(
                    "snapshot {}: ok (equals a replay to lsn {})",
                    c.path.display(),
                    c.lsn
                ))?,
                Some(p) => out.line(format_args!("snapshot {}: BAD: {p}", c.path.display()))?,
            }
        }
        if snapshots.as_ref().is_some_and(Vec::is_empty) {
            out.line("no snapshots")?;
        }
    }
    out.flush()?;
    let bad = snapshots.iter().flatten().find(|c| c.problem.is_some());
    if let Some(c) = bad {
        return Err(CliError::Check(format!(
            "snapshot {} does not match its journal: {}",
            c.path.display(),
            c.problem.as_deref().unwrap_or_default()
        )));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn archive(a: ArchiveArgs) -> Result<ExitCode, CliError> {
    let dir = &a.journal.journal;
    check_journal_dir(dir)?;
    let to = match &a.to {
        Some(to) if to == dir => {
            return Err(CliError::Usage(format!(
                "--to {} is the journal itself",
                to.display()
            )));
        }
        Some(to) => ArchiveTo::Dir(to),
        None => ArchiveTo::Delete,
    };
    let done = waybill_core::archive::archive(dir, to)?;
    let verb = if a.delete { "deleted" } else { "moved" };
    let mut out = Out::new();
    if a.json {
        out.line(json!({
            "snapshot_lsn": done.snapshot_lsn,
            "first_lsn": done.first_lsn,
            "segments": done.segments.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "segment_bytes": done.segment_bytes,
            "snapshots": done.snapshots.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "deleted": a.delete,
        }))?;
    } else if done.segments.is_empty() {
        out.line(format_args!(
            "nothing to archive: the newest snapshot (lsn {}) is in the first segment kept",
            done.snapshot_lsn
        ))?;
    } else {
        out.line(format_args!(
            "{verb} {} segments ({} bytes) and {} snapshots covered by the snapshot at lsn {}{}",
            done.segments.len(),
            done.segment_bytes,
            done.snapshots.len(),
            done.snapshot_lsn,
            a.to.as_ref()
                .map(|t| format!(" to {}", t.display()))
                .unwrap_or_default()
        ))?;
        out.line(format_args!(
            "the journal holds records from lsn {} on",
            done.first_lsn
        ))?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub fn dump(a: DumpArgs) -> Result<ExitCode, CliError> {
    let dir = &a.journal.journal;
    check_journal_dir(dir)?;
    // LSNs start at 1: `--from-lsn 0` starts at the first record like `--from-lsn 1`.
    let from = a.from_lsn.max(1);
    let until = match a.limit {
        // Nothing to show; the replay still checks that the journal is there.
        Some(0) => Until::Lsn(0),
        Some(k) => from.checked_add(k - 1).map_or(Until::End, Until::Lsn),
        None => Until::End,
    };
    let mut out = Out::new();
    let mut failed = None;
    replay_with(dir, until, |v| {
        if v.lsn < from || until == Until::Lsn(0) || failed.is_some() {
            return;
        }
        let line = if a.json {
            dump_json(v).to_string()
        } else {
            dump_human(v)
        };
        if let Err(e) = out.line(line) {
            failed = Some(e);
        }
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// A record as JSON: lossless (raw bytes that are not UTF-8 in base64).
fn dump_json(v: &Visit<'_>) -> Value {
    let mut row = Map::new();
    row.insert("lsn".into(), v.lsn.into());
    row.insert("ingest_time".into(), format_rfc3339_us(v.ingest_us).into());
    row.insert("segment".into(), v.segment.into());
    row.insert("offset".into(), v.offset.into());
    row.insert("outcome".into(), v.outcome.as_str().into());
    match v.entry {
        EntryView::Event(ev) => {
            row.insert("event".into(), event_json(&ev.to_event()));
        }
        EntryView::DeadLetter(dl) => {
            row.insert("reason".into(), dl.reason.native().as_str().into());
            row.insert("detail".into(), dl.detail.as_str().into());
            row.insert("raw_len_bytes".into(), dl.raw_len_bytes.to_native().into());
            output::raw_fields(&mut row, dl.raw.as_slice());
        }
        EntryView::Settings(st) => {
            row.insert("settings".into(), settings_json(&record::settings(st)));
        }
        EntryView::Notice(n) => {
            row.insert("notice".into(), notice_json(&record::notice(n)));
        }
    }
    Value::Object(row)
}

/// A record on one line for people, every text from input escaped.
fn dump_human(v: &Visit<'_>) -> String {
    let what = match v.entry {
        EntryView::Event(ev) => escape(&event_json(&ev.to_event()).to_string()),
        EntryView::DeadLetter(dl) => format!(
            "{}: {} | {}",
            dl.reason.native().as_str(),
            escape(dl.detail.as_str()),
            escape_bytes(dl.raw.as_slice())
        ),
        EntryView::Settings(st) => settings_json(&record::settings(st)).to_string(),
        EntryView::Notice(n) => escape(&notice_json(&record::notice(n)).to_string()),
    };
    format!(
        "lsn {} seg {} off {} ingest {} {} {}",
        v.lsn,
        v.segment,
        v.offset,
        format_rfc3339_us(v.ingest_us),
        v.outcome.as_str(),
        what
    )
}

/// A settings record's SLA targets, in minutes (null: no target).
fn settings_json(s: &Settings) -> Value {
    json!({ "sla": {
        "order_to_dispatch": s.order_to_dispatch_min,
        "invoice_cycle": s.invoice_cycle_min,
        "pod_propagation": s.pod_propagation_min,
    }})
}

/// A cluster's notice (docs/cluster.md): the key group the journal holds, or a gap its
/// sequencer saw.
fn notice_json(n: &Notice) -> Value {
    match n {
        Notice::KeyGroup(k) => json!({ "key_group": k.group, "key_groups": k.groups }),
        Notice::Gap(g) => {
            json!({ "gap": { "source": g.source, "first": g.first, "last": g.last } })
        }
    }
}

/// The event as the CloudEvent it was received as (re-encoded from the journal).
fn event_json(ev: &Event) -> Value {
    serde_json::from_str(&event_to_json(ev)).expect("the encoder writes JSON")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
