//! Readers of a journal's records for auditors: a shipment's history and the dead letters,
//! as plain owned values.

use crate::engine::{CoreError, Until, replay_with};
use crate::event::{DeadLetterReason, EventType, SubjectKind};
use crate::machine::Outcome;
use crate::record::EntryView;
use std::path::Path;

/// One journal record that touched a shipment ([`history`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRecord {
    /// The record's LSN.
    pub lsn: u64,
    /// When the core journaled it (microseconds since the Unix epoch).
    pub ingest_us: i64,
    /// What applying it did: applied or duplicate.
    pub outcome: Outcome,
    /// The event's type.
    pub event_type: EventType,
    /// The producing system, `<system>/<name>`.
    pub source: String,
    /// The event's sequence number at its source.
    pub sequence: u64,
    /// The event's id as the source gave it.
    pub id: String,
    /// The event's time at the source (microseconds since the Unix epoch).
    pub time_us: i64,
}

/// One dead-lettered event ([`dead_letters`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterRecord {
    /// The record's LSN.
    pub lsn: u64,
    /// When the core journaled it (microseconds since the Unix epoch).
    pub ingest_us: i64,
    /// Why the event was refused.
    pub reason: DeadLetterReason,
    /// One line saying which check failed.
    pub detail: String,
    /// The bytes as received, cut to the journal's limit when longer.
    pub raw: Vec<u8>,
    /// The length of the event as received, in bytes (more than `raw.len()` when cut).
    pub raw_len_bytes: u64,
}

impl DeadLetterRecord {
    /// The bytes as received, when they are UTF-8 (a malformed event may not be).
    pub fn raw_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.raw).ok()
    }
}

/// Every record of the journal in `dir` that touched shipment `id`, in LSN order. Reads the
/// journal from its first record (on a journal whose first segments were archived, from the
/// newest snapshot); works on a journal another process writes.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// # let mut waybill = waybill_core::Waybill::open(dir.path())?;
/// # waybill.ingest_file("examples/day.jsonl")?;
/// # waybill.close()?;
/// for record in waybill_core::history(dir.path(), 1)? {
///     println!("lsn {} {} {:?}", record.lsn, record.event_type.as_str(), record.outcome);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn history(dir: &Path, id: u64) -> Result<Vec<HistoryRecord>, CoreError> {
    let mut rows = Vec::new();
    replay_with(dir, Until::End, |v| {
        let EntryView::Event(ev) = v.entry else {
            return;
        };
        let event_type = ev.event_type();
        if event_type.subject_kind() != SubjectKind::Shipment || ev.subject() != id {
            return;
        }
        rows.push(HistoryRecord {
            lsn: v.lsn,
            ingest_us: v.ingest_us,
            outcome: v.outcome,
            event_type,
            source: ev.source().to_owned(),
            sequence: ev.sequence(),
            id: ev.id().to_string(),
            time_us: ev.time_us(),
        });
    })?;
    debug_assert!(rows.windows(2).all(|w| w[0].lsn < w[1].lsn));
    Ok(rows)
}

/// Every dead letter of the journal in `dir`, in LSN order (read as [`history`] reads).
pub fn dead_letters(dir: &Path) -> Result<Vec<DeadLetterRecord>, CoreError> {
    let mut rows = Vec::new();
    replay_with(dir, Until::End, |v| {
        let EntryView::DeadLetter(dl) = v.entry else {
            return;
        };
        debug_assert!(matches!(v.outcome, Outcome::DeadLettered(_)));
        rows.push(DeadLetterRecord {
            lsn: v.lsn,
            ingest_us: v.ingest_us,
            reason: dl.reason.native(),
            detail: dl.detail.as_str().to_owned(),
            raw: dl.raw.as_slice().to_vec(),
            raw_len_bytes: dl.raw_len_bytes.to_native(),
        });
    })?;
    Ok(rows)
}
